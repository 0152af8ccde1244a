"""The audit filters: thin wrappers whose errors reach the playbook as filter errors."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.kubernetes.plugins.filter import audit

CLUSTER = {"cluster": {"now": "2026-12-01T10:00:00Z", "api_server": {"git_version": "v1.34.4"},
                       "nodes": [{"name": "w1", "kubelet_version": "v1.34.4", "ready": True, "lease_age_seconds": 2.0,
                                  "lease_duration_seconds": 40, "unschedulable": False}],
                       "kubelet_config": {"name": "kubelet-config", "present": True, "cgroup_driver": "systemd"},
                       "kube_proxy": {"mode": "iptables", "source": "ConfigMap"}, "blocking_pdbs": [], "problems": []},
           "docker_cluster": {"findings": []}, "csrs": {}, "nodelocaldns": {"daemonset": None}}
RUNTIME = {"container_runtime": "containerd", "cgroup_version": 2,
           "kubelet": {"cgroup_driver_effective": "systemd", "server_tls_bootstrap": True},
           "containerd": {"systemd_cgroup": {"runc": True}}}


def test_entry_report_and_render_chain_as_the_role_uses_them():
    filters = audit.FilterModule().filters()
    entry = filters["audit_node_entry"]({"runtime": RUNTIME}, "host-w1", "w1", CLUSTER, 30,
                                        {"start": 1.0, "end": 2.0}, True)
    assert entry["node"] == "w1" and entry["host"] == "host-w1" and entry["action"] == "audited"
    report = filters["audit_report"]({"host-w1": entry}, ["host-w1"], CLUSTER, {"w1": RUNTIME},
                                     "2026-12-01T10:00:00Z", 1.0, 1796119200)
    assert report["details"]["worst"] == "info"
    assert report["details"]["action_items"] == []
    assert filters["audit_render"](report, "markdown").startswith("# Fleet audit")


def test_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="unknown format"):
        audit.audit_render({"operation": "audit"}, "pdf")
    with pytest.raises(AnsibleFilterError, match="not a audit node entry|not a audit"):
        audit.audit_report({"h": {"operation": "audit", "node": "h"}}, ["h"], CLUSTER)

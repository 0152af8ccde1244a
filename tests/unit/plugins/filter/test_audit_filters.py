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


def test_the_fleet_report_makes_every_entry_in_one_call_as_the_per_node_filters_do():
    filters = audit.FilterModule().filters()
    cluster = dict(CLUSTER, cluster=dict(CLUSTER["cluster"], nodes=CLUSTER["cluster"]["nodes"] + [
        dict(CLUSTER["cluster"]["nodes"][0], name="w2")]))
    cgroupfs = dict(RUNTIME, kubelet={"cgroup_driver_effective": "cgroupfs", "server_tls_bootstrap": True},
                    containerd={"systemd_cgroup": {"runc": False}})
    reads = [{"node": "w1", "read_at": 2.0, "runtime_facts": RUNTIME, "certificates": None},
             # a read that failed: its parts are still used, with the failure's error
             {"node": "w2", "read_at": 3.5, "runtime_facts": cgroupfs, "failed": True},
             # an unreachable host: no entry
             {"unreachable": True, "msg": "ssh: connect to host w3 port 22: No route to host"}]
    unread = [None, {"node": "w2", "error": "nodeops.kubernetes.node_audit_facts: node w2 could not be read "
                                            "completely: docker_node: bad daemon.json", "at": 3.6}, None]
    report = filters["audit_fleet_report"](["host-w1", "host-w2", "host-w3"], reads, unread, cluster,
                                           control_plane=[], threshold_days=30, start=1.0, check_mode=False,
                                           dns_server="169.254.20.10", generated_at="2026-12-01T10:00:00Z",
                                           seconds=4.0, generated_epoch=1796119200)
    by_host = dict((n["host"], n) for n in report["nodes"])
    assert [by_host[h]["action"] for h in ("host-w1", "host-w2", "host-w3")] == ["audited", "audited", "not_reached"]
    assert by_host["host-w1"]["durations"]["total"] == 1.0 and by_host["host-w2"]["durations"]["total"] == 2.5
    same = filters["audit_node_entry"]({"runtime": RUNTIME, "nodelocaldns_answer": {"server": "169.254.20.10"},
                                        "docker_node": {}, "certificates": None, "control_plane": False},
                                       "host-w1", "w1", cluster, 30, {"start": 1.0, "end": 2.0}, False)
    assert by_host["host-w1"] == same
    w2 = dict((f["check"], f) for f in by_host["host-w2"]["details"]["findings"])
    assert w2["node-facts"]["severity"] == "action" and "bad daemon.json" in w2["node-facts"]["reason"]
    assert w2["cgroup-driver"]["value"]["kubelet"] == "cgroupfs"
    # the ConfigMap says systemd: w2's cgroupfs is a cluster-wide finding too, from the same reads
    configmap = [f for f in report["details"]["cluster_findings"] if f["check"] == "kubelet-configmap"][0]
    assert "w2" in configmap["reason"], configmap


def test_the_fleet_report_wants_one_read_and_one_failure_per_host():
    with pytest.raises(AnsibleFilterError, match=r"reads \(1\) and unread \(2\) must have one item per host \(2\)"):
        audit.audit_fleet_report(["a", "b"], [{}], [None, None], CLUSTER)

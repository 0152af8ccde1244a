"""Every operation reports the same shape, made by the same shared code.

For each operation the test renders the role's own ``tasks/record.yml`` (the task that sets
``<operation>_report``) with Ansible's templating, as the role does at the end of a node, and
checks the entry and the run report built from it against the one schema of
``plugins/module_utils/_report.py``.
"""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _audit_report, _report

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# What each role knows at the end of a node whose change worked, per operation.
NODE_VARS = {
    "cgroup_driver": {
        "cgroup_driver_node": "w1", "cgroup_driver_result": "migrated", "cgroup_driver_message": "migrated",
        "cgroup_driver_plan": {"action": "migrate", "cordoned_before": False, "notes": [], "reasons": []},
        "cgroup_driver_marks": {"start": 0, "drain_start": 1, "drain_end": 3, "change_start": 3, "change_end": 6,
                                "verify_end": 9, "uncordon_start": 9, "uncordon_end": 10, "end": 10},
        "cgroup_driver_kubelet_edit": {"backup_file": "/var/lib/kubelet/config.yaml.bak"},
        "cgroup_driver_uncordoned": True,
    },
    "containerd_switch": {
        "containerd_switch_node": "w1", "containerd_switch_action": "changed", "containerd_switch_reason": "switched",
        "containerd_switch_marks": {"start": 0, "drain_start": 1, "drain_end": 3, "change_start": 3, "change_end": 6,
                                    "verify_end": 9, "uncordon_start": 9, "uncordon_end": 10, "end": 10},
        "containerd_switch_flags_result": {"backup_file": "/var/lib/kubelet/kubeadm-flags.env.bak"},
        "containerd_switch_uncordoned": True,
    },
    "node_maintenance": {
        "node_maintenance_node": "w1", "node_maintenance_action": "changed", "node_maintenance_reason": "drained",
        "node_maintenance_marks": {"start": 0, "drain_start": 1, "drain_end": 3, "uncordon_start": 9,
                                   "uncordon_end": 10, "end": 10},
        "node_maintenance_work_tasks": "", "node_maintenance_uncordoned": True,
        "node_maintenance_drain_result": {"evicted": [{"namespace": "a", "name": "p"}], "node_left_cordoned": True},
    },
    "cert_renewal": {
        "cert_renewal_node": "w1", "cert_renewal_result": "changed", "cert_renewal_message": "renewed apiserver",
        "cert_renewal_plan": {"action": "renew", "renew": ["apiserver"], "static_pods": ["kube-apiserver"],
                              "due": ["apiserver"], "before": {}, "reasons": ["due"]},
        "cert_renewal_marks": {"start": 0, "change_start": 3, "change_end": 6, "verify_end": 9, "end": 10},
        "cert_renewal_backup": "/var/backups/nodeops-cert-renewal/w1-20261130T000000Z",
        "cert_renewal_threshold_days": 30,
    },
    "nodelocaldns": {
        "nodelocaldns_node": "w1", "nodelocaldns_result": "changed", "nodelocaldns_state": "present",
        "nodelocaldns_message": "kubelet clusterDNS 10.96.0.10 -> 169.254.20.10",
        "nodelocaldns_marks": {"start": 0, "drain_start": 1, "drain_end": 3, "change_start": 3, "change_end": 6,
                               "verify_end": 9, "uncordon_start": 9, "uncordon_end": 10, "end": 10},
        "nodelocaldns_kubelet_edit": {"backup_file": "/var/lib/kubelet/config.yaml.bak"},
        "nodelocaldns_local_ip": "169.254.20.10",
        "nodelocaldns_cluster": {"proxy_mode": "ipvs", "plan": {"bind_ips": ["169.254.20.10"], "notes": []}},
        "nodelocaldns_node_plan": {"cluster_dns_before": ["10.96.0.10"], "cluster_dns_target": ["169.254.20.10"],
                                   "notes": []},
    },
    "kubelet_serving": {
        "kubelet_serving_node": "w1", "kubelet_serving_result": "changed",
        "kubelet_serving_message": "serverTLSBootstrap set, kubelet restarted, CSR csr-a approved",
        "kubelet_serving_marks": {"start": 0, "drain_start": 1, "drain_end": 3, "change_start": 3, "change_end": 6,
                                  "verify_end": 9, "uncordon_start": 9, "uncordon_end": 10, "end": 10},
        "kubelet_serving_plan": {"action": "change", "server_tls_bootstrap_before": None, "addresses": ["10.0.0.21"],
                                 "serving_before": {"serial": "1a", "signed_by_ca": False}},
        "kubelet_serving_kubelet_edit": {"backup_file": "/var/lib/kubelet/config.yaml.bak"},
        "kubelet_serving_backup": "/var/backups/nodeops-kubelet-serving/w1-20261130T000000Z",
        "kubelet_serving_moved": {"stdout": "/var/lib/kubelet/pki/kubelet-server-current.pem"},
        "kubelet_serving_drained": False, "kubelet_serving_ca": "/etc/kubernetes/pki/ca.crt",
        "kubelet_serving_new_csrs": [{"name": "csr-a", "approved": True, "certificate": "-----BEGIN CERTIFICATE-----"}],
        "kubelet_serving_approval": {"approved": [{"name": "csr-a", "node": "w1"}]},
        "kubelet_serving_served_after": {"endpoints": [{"name": "kubelet", "served": {"serial": "2b"},
                                                        "proof": "matches_expected", "signed_by_ca": True, "ok": True,
                                                        "error": None}]},
    },
    "windows_node": {
        "windows_node_node": "w1", "windows_node_result": "changed", "windows_node_operation": "upgrade",
        "windows_node_message": "kubelet v1.34.3 -> v1.34.4", "windows_node_version": "v1.34.4",
        "windows_node_kubelet_exe": "C:\\k\\kubelet.exe", "windows_node_kubelet_before": "v1.34.3",
        "windows_node_marks": {"start": 0, "drain_start": 1, "drain_end": 3, "change_start": 3, "change_end": 6,
                               "verify_end": 9, "uncordon_start": 9, "uncordon_end": 10, "end": 10},
        "windows_node_drained": False, "windows_node_binaries_touched": True,
        "windows_node_backups": [{"path": "C:\\k\\kubelet.exe", "backup": "C:\\k\\kubelet.exe.v1.34.3.bak"}],
        "windows_node_material": {"token_id": "abcdef", "token": "abcdef.0123456789abcdef", "expires": "x"},
    },
    # The audit builds every node's entry at once, in report.yml (read from hostvars), not in a record.yml per host.
    "audit": {
        "_tasks": "report.yml", "_key": "audit_run_report",
        "audit_report_for": ["lab-worker1"], "audit_report_started": 0, "audit_threshold_days": 30,
        "audit_nodelocaldns_local_ip": "169.254.20.10", "audit_control_plane_group": "kube_control_plane",
        "groups": {"kube_control_plane": []},
        "hostvars": {"lab-worker1": {
            "audit_marks": {"start": 0},
            "audit_node_facts": {"node": "w1", "read_at": 5.0, "runtime_facts": {
                "container_runtime": "containerd", "cgroup_version": 2, "kubelet": {"cgroup_driver_effective": "systemd"},
                "containerd": {"systemd_cgroup": {"runc": True}}}}}},
        "audit_report_cluster": {"cluster": {"api_server": {"git_version": "v1.34.4"}, "nodes": [
            {"name": "w1", "kubelet_version": "v1.34.4", "ready": True, "lease_age_seconds": 1.0}]},
            "nodelocaldns": {"daemonset": None}},
    },
}
OPERATIONS = sorted(NODE_VARS)
# The read-only operations: every node is "audited", in check mode too; nothing drains or changes.
READ_ONLY = ("audit",)
CHANGING = [op for op in OPERATIONS if op not in READ_ONLY]
# Operations that never drain their nodes (cert_renewal restarts static pods only).
NO_DRAIN = ("cert_renewal",)


# Rendered in a fresh interpreter: Ansible's collection loader must own the ansible_collections
# package before anything imports it, which the other unit tests have already done here.
RENDER = """
import json, os, sys, yaml
collections, root, node_vars = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, collections)
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([collections])
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
out = {}
for operation, values in node_vars.items():
    with open(os.path.join(root, "roles", operation, "tasks", values.pop("_tasks", "record.yml"))) as handle:
        tasks = yaml.safe_load(handle)
    key = values.pop("_key", operation + "_report")
    task = [t for t in tasks if key in (t.get("ansible.builtin.set_fact") or {})][0]
    for check_mode in (False, True):
        variables = dict(values, inventory_hostname="lab-worker1", ansible_check_mode=check_mode)
        for name, value in (task.get("vars") or {}).items():
            variables[name] = trust_as_template(value)
        templar = Templar(loader=DataLoader(), variables=variables)
        out["%s/%s" % (operation, check_mode)] = templar.template(trust_as_template(task["ansible.builtin.set_fact"][key]))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def entries():
    collections = [p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "nodeops"))][0]
    proc = subprocess.run([sys.executable, "-c", RENDER, collections, ROOT, json.dumps(NODE_VARS)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_playbook_operation_is_covered():
    operations = set()
    for name in os.listdir(os.path.join(ROOT, "playbooks")):
        with open(os.path.join(ROOT, "playbooks", name)) as handle:
            text = handle.read()
        operations.update(line.split(":", 1)[1].strip() for line in text.splitlines()
                          if line.strip().startswith("rollout_operation:"))
    assert operations == set(OPERATIONS)


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_the_audit_reports_the_same_schema(entries, check_mode):
    [entry] = entries["audit/%s" % check_mode]["nodes"]
    assert tuple(sorted(entry)) == tuple(sorted(_report.NODE_KEYS))
    assert entry["operation"] == "audit" and entry["node"] == "w1" and entry["host"] == "lab-worker1"
    assert entry["action"] == "audited" and entry["check_mode"] is check_mode
    assert tuple(entry["durations"]) == _report.DURATION_KEYS and entry["durations"]["drain"] is None
    assert entry["durations"]["total"] == 5
    assert entry["backups"] == [] and entry["left_as_is"] == {"cordoned": None, "services_stopped": []}
    assert {"worst", "counts", "findings"} <= set(entry["details"])
    report = _audit_report.audit_report({"lab-worker1": entry}, ["lab-cp1", "lab-worker1"], [])
    assert tuple(sorted(report)) == tuple(sorted(_report.REPORT_KEYS))
    assert set(report["totals"]) == set(_report.ALL_ACTIONS) | {"nodes"}
    assert [n["action"] for n in report["nodes"]] == ["not_reached", "audited"]


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
@pytest.mark.parametrize("operation", CHANGING)
def test_every_operation_reports_the_same_schema(entries, operation, check_mode):
    entry = entries["%s/%s" % (operation, check_mode)]
    assert tuple(sorted(entry)) == tuple(sorted(_report.NODE_KEYS))
    assert entry["operation"] == operation and entry["node"] == "w1" and entry["host"] == "lab-worker1"
    assert entry["action"] == ("would_change" if check_mode else "changed")
    assert entry["check_mode"] is check_mode and entry["reason"]
    assert tuple(entry["durations"]) == _report.DURATION_KEYS
    assert entry["durations"]["drain"] == (None if operation in NO_DRAIN else 2)
    assert entry["durations"]["total"] == 10
    assert all(isinstance(path, str) for path in entry["backups"])
    assert tuple(sorted(entry["left_as_is"])) == tuple(sorted(_report.LEFT_AS_IS_KEYS))
    assert entry["left_as_is"]["cordoned"] is False and entry["left_as_is"]["services_stopped"] == []
    assert isinstance(entry["details"], dict)

    report = _report.run_report(operation, {"lab-worker1": entry}, ["lab-cp1", "lab-worker1"])
    assert tuple(sorted(report)) == tuple(sorted(_report.REPORT_KEYS))
    assert report["totals"]["nodes"] == 2 and report["totals"]["not_reached"] == 1
    assert report["totals"]["would_change" if check_mode else "changed"] == 1
    assert set(report["totals"]) == set(_report.ALL_ACTIONS) | {"nodes"}
    assert [n["action"] for n in report["nodes"]] == ["not_reached", entry["action"]]
    assert tuple(sorted(report["nodes"][0])) == tuple(sorted(_report.NODE_KEYS))


def test_the_kubelet_serving_report_names_the_csr_and_the_proof_without_the_certificate(entries):
    entry = entries["kubelet_serving/False"]
    assert entry["details"]["csrs"] == ["csr-a"] and entry["details"]["approved"] == ["csr-a"]
    assert entry["details"]["served"] == {"served": {"serial": "2b"}, "proof": "matches_expected",
                                          "signed_by_ca": True, "ok": True}
    assert entry["details"]["server_tls_bootstrap"] == {"before": None, "after": True}
    assert entry["backups"] == ["/var/lib/kubelet/config.yaml.bak",
                                "/var/backups/nodeops-kubelet-serving/w1-20261130T000000Z"]
    assert "BEGIN CERTIFICATE" not in json.dumps(entry)
    assert entries["kubelet_serving/True"]["backups"] == []


def test_the_windows_node_report_never_carries_the_token_secret(entries):
    for check_mode in (False, True):
        entry = entries["windows_node/%s" % check_mode]
        assert entry["details"]["token_id"] == "abcdef"
        assert "0123456789abcdef" not in json.dumps(entry)

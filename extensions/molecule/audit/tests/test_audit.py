"""After converge: the clean lab has no action finding, each planted problem is found with its
severity and fix, a normal and a --check run of the planted lab agree, and the renderings are right."""

import json
import os
import re

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _audit_report

OUT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "audit")
NODES = ["lab-cp1", "lab-worker1", "lab-worker2"]
WORKERS = ["lab-worker1", "lab-worker2"]
# Every node gets these checks, whatever it runs.
NODE_CHECKS = {"node-ready", "node-schedulable", "kubelet-version", "container-runtime", "cgroup-driver",
               "cgroup-version", "serving-csr", "docker-dependency", "nodelocaldns", "kubelet-client-certificate",
               "kubelet-serving-certificate"}


def load(name):
    with open(os.path.join(OUT, name)) as fh:
        return json.load(fh)


def read(name):
    with open(os.path.join(OUT, name)) as fh:
        return fh.read()


@pytest.fixture(scope="module")
def clean():
    return load("clean.json")


@pytest.fixture(scope="module")
def planted():
    return load("planted.json")


def node_findings(report, node):
    entry = [n for n in report["nodes"] if n["node"] == node][0]
    return entry["details"]["findings"]


def find(report, check, node=None):
    if node is None:
        items = report["details"]["cluster_findings"]
    else:
        items = node_findings(report, node)
    return [f for f in items if f["check"] == check]


def test_every_node_is_audited_control_plane_first(clean):
    assert [n["node"] for n in clean["nodes"]] == NODES
    assert [n["action"] for n in clean["nodes"]] == ["audited"] * 3
    assert clean["ok"] is True
    for node in NODES:
        assert NODE_CHECKS <= set(f["check"] for f in node_findings(clean, node)), node
    assert find(clean, "certificates", "lab-cp1")[0]["severity"] == "ok"
    assert not find(clean, "certificates", "lab-worker1")


def test_the_clean_lab_has_no_action_finding(clean):
    actions = [f for f in clean["details"]["cluster_findings"] if f["severity"] == "action"]
    for node in NODES:
        actions += [f for f in node_findings(clean, node) if f["severity"] == "action"]
    assert actions == []
    assert clean["details"]["action_items"] == []
    # the lab's real state, read from the real nodes
    for node in NODES:
        assert find(clean, "node-ready", node)[0]["severity"] == "ok"
        assert find(clean, "cgroup-driver", node)[0]["value"] == {"kubelet": "cgroupfs", "runtime": "cgroupfs",
                                                                  "configmap": "cgroupfs"}
        assert find(clean, "cgroup-version", node)[0]["value"]["cgroup_version"] in (1, 2)
        assert find(clean, "container-runtime", node)[0]["value"]["runtime"] == "containerd"
    assert find(clean, "kube-proxy-mode")[0]["value"] == {"mode": "iptables"}


def test_planted_configmap_against_cgroupfs_nodes_is_an_action_with_the_migration(planted):
    item = find(planted, "kubelet-configmap")[0]
    assert item["severity"] == "action"
    assert item["value"]["disagreeing"] == NODES
    assert "migrate_cgroup_driver -e cgroup_driver_hosts=lab-cp1,lab-worker1,lab-worker2" in item["fix"]
    for node in NODES:
        node_item = find(planted, "cgroup-driver", node)[0]
        assert node_item["severity"] == "action"
        assert "ConfigMap says systemd" in node_item["reason"]
        assert node_item["fix"].endswith("cgroup_driver_hosts=%s" % node)


def test_planted_docker_socket_daemonset_is_an_action_on_each_containerd_worker(planted):
    for node in WORKERS:
        items = [f for f in find(planted, "docker-dependency", node) if "audit-plant/docker-agent" in f["id"]]
        assert len(items) == 1, find(planted, "docker-dependency", node)
        assert items[0]["severity"] == "action"
        assert "runs no Docker daemon" in items[0]["reason"]
        assert items[0]["fix"]
    assert not [f for f in find(planted, "docker-dependency", "lab-cp1") if "docker-agent" in f["id"]]


def test_planted_budget_allowing_no_disruption_is_a_warning_naming_its_node(planted):
    items = [f for f in find(planted, "pdb-blocks-drain") if f["id"] == "pdb-blocks-drain:audit-plant/single"]
    assert len(items) == 1
    assert items[0]["severity"] == "warn"
    assert len(items[0]["value"]["nodes"]) == 1 and items[0]["value"]["nodes"][0] in WORKERS
    assert "0 disruptions allowed" in items[0]["reason"]


def test_planted_pending_serving_csr_is_a_warning_with_the_approver(planted):
    item = find(planted, "serving-csr", "lab-worker1")[0]
    assert item["severity"] == "warn"
    assert "audit-plant-serving" in item["reason"]
    assert "kubelet_csr_approve" in item["fix"]
    assert find(planted, "serving-csr", "lab-worker2")[0]["severity"] == "info"


def test_planted_certificates_inside_the_threshold_are_an_action_with_their_date(planted):
    item = find(planted, "certificates", "lab-cp1")[0]
    assert item["severity"] == "action"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", item["due"])
    assert item["value"]["threshold_days"] == 400
    assert "apiserver" in item["value"]["due"]
    assert item["fix"].endswith("renew_certificates -e cert_renewal_hosts=lab-cp1")
    assert "certificates:node/lab-cp1" in planted["details"]["action_items"]


def test_the_check_run_gives_the_same_report(planted):
    checked = load("planted-check.json")
    assert all(n["check_mode"] for n in checked["nodes"])
    assert not any(n["check_mode"] for n in planted["nodes"])

    def without_mode(report):
        report = _audit_report.comparable(report)
        report.pop("check_mode")
        for entry in report["nodes"]:
            entry.pop("check_mode")
        return report

    assert without_mode(checked) == without_mode(planted)


def test_the_printed_report_lists_actions_with_fixes_and_the_time(planted):
    out = read("planted.out")
    assert re.search(r"Fleet audit: 3 node\(s\) in \d+\.\ds: \d+ action", out)
    assert "[ACTION] lab-cp1 certificates:" in out
    assert "fix: ansible-playbook -i <inventory> nodeops.kubernetes.renew_certificates -e cert_renewal_hosts=lab-cp1" \
        in out


def test_the_renderings(planted):
    markdown = read("planted.md")
    assert markdown.startswith("# Fleet audit\n")
    assert "| action | lab-cp1 | certificates |" in markdown
    html = read("planted.html")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "lab-worker1" in html
    prom = read("planted.prom")
    assert 'nodeops_audit_cgroup_driver_mismatch{node="lab-worker1"} 1' in prom
    assert re.search(r'nodeops_audit_certificate_expiry_seconds\{certificate="apiserver",node="lab-cp1"\} \d+', prom)
    assert re.search(r'nodeops_audit_findings\{node="cluster",severity="action"\} [1-9]', prom)

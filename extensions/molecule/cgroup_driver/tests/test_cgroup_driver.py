"""Verify the cgroup driver migration (cgroupfs -> systemd) on the lab's real kubelets.

The reports of the three runs that went to their end (prepare's run on the control plane and lab-worker1,
converge over k8s_cluster, which resumed lab-worker2 after the killed run, then idempotence) are read
from the scenario's ephemeral directory; the nodes are checked inside their containers (testinfra over
podman) and through the real kube-apiserver. What the killed run left is checked in test_interrupted.py.
"""

import glob
import json
import os
import re

import pytest
import testinfra
import yaml

from kubernetes import client, config
from nodeops_lab import node_checks

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(EPHEMERAL, "lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
NODES = ["lab-cp1", "lab-worker1", "lab-worker2"]
# A kubelet renews its Lease every 10 s (a quarter of the 40 s lease duration).
# A pod container's memory cgroup under the systemd driver, inside the node container.
SYSTEMD_POD_CGROUP = re.compile(
    r"^/kubepods\.slice(/kubepods-(burstable|besteffort)\.slice)?"
    r"/kubepods(-(burstable|besteffort))?-pod[0-9a-f_]+\.slice/cri-containerd-[0-9a-f]{64}\.scope$")
_NODES = {}


def reports():
    paths = sorted(glob.glob(os.path.join(EPHEMERAL, "cgroup-driver-report-*.json")))
    out = []
    for path in paths:
        with open(path) as fh:
            out.append(json.load(fh))
    return out


@pytest.fixture(scope="module")
def prepare_report():
    runs = reports()
    assert len(runs) >= 3, "expected the reports of prepare, converge and idempotence, found %d" % len(runs)
    return runs[0]


@pytest.fixture(scope="module")
def converge_report():
    return reports()[1]


@pytest.fixture(scope="module")
def migrations(prepare_report, converge_report):
    """Each node's entry of the run that migrated it: prepare's for the control plane and lab-worker1,
    converge's (the resumed migration) for lab-worker2."""
    return dict([(e["node"], e) for e in prepare_report["nodes"]] +
                [(e["node"], e) for e in converge_report["nodes"] if e["action"] == "changed"])


@pytest.fixture(scope="module")
def idempotence_report():
    return reports()[-1]


@pytest.fixture(scope="module")
def api():
    api_client = config.new_client_from_config(KUBECONFIG)
    return client.CoreV1Api(api_client), client.CoordinationV1Api(api_client)


class Node(object):
    def __init__(self, host):
        variables = host.ansible.get_variables()
        self.run = testinfra.get_host("podman://" + variables["ansible_host"])
        self.name = variables["kube_node_name"]


@pytest.fixture
def node(host):
    """The node container reached directly with podman (one exec per command)."""
    name = host.backend.get_hostname()
    if name not in _NODES:
        _NODES[name] = Node(host)
    return _NODES[name]


def entry_of(report, name):
    return [e for e in report["nodes"] if e["node"] == name][0]


# --------------------------------------------------------------------------- the reports

def test_prepare_migrated_the_control_plane_first_then_lab_worker1(prepare_report):
    assert prepare_report["ok"], prepare_report["lines"]
    assert prepare_report["operation"] == "cgroup_driver"
    assert [e["node"] for e in prepare_report["nodes"]] == NODES[:2]
    for entry in prepare_report["nodes"]:
        assert entry["action"] == "changed", entry
        assert entry["details"]["before"]["kubelet"] == "cgroupfs"
        assert entry["details"]["before"]["runtime_driver"] == "cgroupfs"


def test_converge_skipped_the_migrated_nodes_and_finished_lab_worker2(converge_report):
    assert converge_report["ok"], converge_report["lines"]
    assert [(e["node"], e["action"]) for e in converge_report["nodes"]] == [
        ("lab-cp1", "skipped"), ("lab-worker1", "skipped"), ("lab-worker2", "changed")]
    for entry in converge_report["nodes"][:2]:
        assert entry["details"]["drain"] is None and entry["durations"]["drain"] is None, entry


def test_every_node_was_migrated_and_verified(migrations):
    assert sorted(migrations) == NODES
    for entry in migrations.values():
        assert entry["action"] == "changed", entry
        assert entry["details"]["result"] == "migrated"
        assert entry["details"]["after"]["kubelet"] == "systemd"
        assert entry["details"]["after"]["runtime_driver"] == "systemd"
        assert entry["left_as_is"] == {"cordoned": False, "services_stopped": []}
        assert sorted(re.sub(r"\.\d+\..*~$", "", path) for path in entry["backups"]) == [
            "/etc/containerd/config.toml", "/var/lib/kubelet/config.yaml"], entry["backups"]
        for step in ("drain", "change", "verify", "uncordon", "total"):
            assert entry["durations"][step] is not None, (entry["node"], step)


def test_the_drain_evicted_lab_worker1s_pods(prepare_report):
    """lab-worker2's pods were evicted by the killed run, which wrote no report (test_interrupted.py)."""
    assert entry_of(prepare_report, "lab-worker1")["details"]["drain"]["evicted"]


def test_idempotence_skipped_every_node_and_drained_nothing(idempotence_report):
    assert idempotence_report["ok"], idempotence_report["lines"]
    assert [e["action"] for e in idempotence_report["nodes"]] == ["skipped"] * 3
    assert [e["details"]["drain"] for e in idempotence_report["nodes"]] == [None] * 3
    assert all(e["durations"]["drain"] is None for e in idempotence_report["nodes"])


# --------------------------------------------------------------------------- the nodes

def test_files_name_the_systemd_driver(node):
    conf = yaml.safe_load(node.run.file("/var/lib/kubelet/config.yaml").content_string)
    assert conf["cgroupDriver"] == "systemd"
    assert node.run.file("/etc/containerd/config.toml").contains(r"^\s*SystemdCgroup = true")
    assert not node.run.file("/etc/containerd/config.toml").contains(r"^\s*SystemdCgroup = false")
    dump = node.run.run("containerd config dump")
    assert dump.rc == 0, dump.stderr
    assert re.findall(r"SystemdCgroup = (\w+)", dump.stdout) and \
        set(re.findall(r"SystemdCgroup = (\w+)", dump.stdout)) == {"true"}


@pytest.mark.parametrize("unit", ["containerd", "kubelet"])
def test_services_are_active(node, unit):
    assert node.run.service(unit).is_running


def test_the_real_kubelet_is_healthy(node):
    healthz = node.run.run("curl -fsS --max-time 5 http://127.0.0.1:10248/healthz")
    assert healthz.rc == 0 and healthz.stdout.strip() == "ok", healthz.stderr
    assert node.run.run("kubelet --version").stdout.startswith("Kubernetes v")


def test_the_kubelet_uses_the_systemd_hierarchy(node):
    """kubepods.slice under systemd; no pod container is left in the cgroupfs /kubepods tree."""
    assert node.run.file("/sys/fs/cgroup/memory/kubepods.slice").is_directory
    units = node.run.run("systemctl list-units --no-legend --plain kubepods*").stdout
    assert "kubepods.slice" in units, units
    tasks = node.run.run("ctr -n k8s.io tasks ls")
    pids = [int(line.split()[1]) for line in tasks.stdout.splitlines()[1:] if line.split()[2] == "RUNNING"]
    assert pids, tasks.stdout
    paths = {}
    for pid in pids:
        cgroup = node.run.file("/proc/%d/cgroup" % pid).content_string
        paths[pid] = [line.split(":", 2)[2] for line in cgroup.splitlines() if line.split(":", 2)[1] == "memory"][0]
    wrong = dict((pid, path) for pid, path in paths.items() if not SYSTEMD_POD_CGROUP.match(path))
    assert not wrong, wrong


def test_kubelet_stopped_only_after_the_drain(node, migrations):
    """systemd's own record of the kubelet stop is later than the end of the drain; lab-worker2's kubelet was
    stopped by the killed run, after its drain, so before the resuming run began."""
    marks = migrations[node.name]["details"]["marks"]
    shown = node.run.run("systemctl show kubelet.service -p InactiveEnterTimestamp --timestamp=unix").stdout
    stopped_at = float(shown.strip().split("@")[-1])
    if node.name == "lab-worker2":
        assert stopped_at < marks["start"], (marks, stopped_at)
    else:
        assert marks["drain_end"] <= stopped_at <= marks["kubelet_stopped"] + 1, (marks, stopped_at)


def test_no_progress_record_is_left(node):
    assert not node.run.file("/var/lib/nodeops/cgroup_driver.json").exists


# --------------------------------------------------------------------------- the cluster

def test_node_ready_schedulable_with_a_fresh_lease(node, api):
    node_checks.assert_ready_with_a_fresh_lease(api[0], api[1], node.name)


def test_the_nodes_pods_run_in_its_containerd(node, api):
    """Every pod the API shows Running on the node has a running sandbox in the node's containerd."""
    pods = node_checks.assert_pods_run_in_containerd(api[0], node.run.run, node.name)
    for pod in pods:
        assert all(s.ready for s in pod.status.container_statuses or []), pod.metadata.name


def test_cluster_configmap_and_workloads(api, prepare_report, converge_report):
    core = api[0]
    configmap = core.read_namespaced_config_map("kubelet-config", "kube-system")
    assert yaml.safe_load(configmap.data["kubelet"])["cgroupDriver"] == "systemd"
    pods = core.list_pod_for_all_namespaces().items
    uids = set(p.metadata.uid for p in pods)
    evicted = [u for report in (prepare_report, converge_report) for e in report["nodes"]
               for u in (e["details"]["drain"] or {}).get("evicted_uids", [])]
    assert evicted and not set(evicted) & uids
    not_running = ["%s/%s=%s" % (p.metadata.namespace, p.metadata.name, p.status.phase) for p in pods
                   if p.metadata.namespace in ("lab-apps", "kube-system") and p.status.phase != "Running"]
    assert not not_running, not_running

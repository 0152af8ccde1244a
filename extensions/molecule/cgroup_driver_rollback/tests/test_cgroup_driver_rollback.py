"""Verify the rolled back migration of the workers (kube_node): lab-worker1 back on cgroupfs and
healthy, lab-worker2 never touched, lab-cp1 outside the run, on real kubelets.

lab-worker1 runs its pods under cgroupRoot /nodeops (prepare.yml), which the real kubelet on the
systemd driver looks for as nodeops.slice and refuses to start without; the role restored its
backups and proved it healthy on cgroupfs.
"""

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
REPORT = os.path.join(EPHEMERAL, "cgroup-driver-report.json")
RESTORED = ["/etc/containerd/config.toml", "/var/lib/kubelet/config.yaml"]
CGROUP = {
    "cgroupfs": re.compile(r"^(/nodeops)?/kubepods(/(burstable|besteffort))?/pod[0-9a-f-]+/[0-9a-f]{64}$"),
    "systemd": re.compile(r"^/kubepods\.slice(/kubepods-(burstable|besteffort)\.slice)?"
                          r"/kubepods(-(burstable|besteffort))?-pod[0-9a-f_]+\.slice/cri-containerd-[0-9a-f]{64}\.scope$"),
}
DRIVER = {"lab-cp1": "cgroupfs", "lab-worker1": "cgroupfs", "lab-worker2": "cgroupfs"}
_NODES = {}


class Node(object):
    def __init__(self, host):
        variables = host.ansible.get_variables()
        self.run = testinfra.get_host("podman://" + variables["ansible_host"])
        self.name = variables["kube_node_name"]
        self.driver = DRIVER[self.name]


@pytest.fixture
def node(host):
    """The node container reached directly with podman (one exec per command)."""
    name = host.backend.get_hostname()
    if name not in _NODES:
        _NODES[name] = Node(host)
    return _NODES[name]


@pytest.fixture(scope="module")
def report():
    with open(REPORT) as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def run_start():
    with open(os.path.join(EPHEMERAL, "migration-start.txt")) as fh:
        return float(fh.read())


@pytest.fixture(scope="module")
def api():
    api_client = config.new_client_from_config(KUBECONFIG)
    return client.CoreV1Api(api_client), client.CoordinationV1Api(api_client)


def entry_of(report, name):
    return [e for e in report["nodes"] if e["node"] == name][0]


# --------------------------------------------------------------------------- the report

def test_report_worker1_rolled_back_worker2_not_reached(report):
    assert not report["ok"]
    assert [(e["node"], e["action"]) for e in report["nodes"]] == [
        ("lab-worker1", "rolled_back"), ("lab-worker2", "not_reached")], report["lines"]


def test_report_worker1_restored_healthy_and_uncordoned(report):
    entry = entry_of(report, "lab-worker1")
    details = entry["details"]
    rollback = details["rollback"]
    assert rollback["healthy"], rollback["problems"]
    assert rollback["uncordoned"]
    assert sorted(rollback["files_restored"]) == RESTORED
    assert details["after"]["kubelet"] == "cgroupfs"
    assert details["after"]["runtime_driver"] == "cgroupfs"
    assert details["drain"]["evicted"]
    assert "health check" in details["failed_step"], details["failed_step"]
    assert entry["left_as_is"] == {"cordoned": False, "services_stopped": []}
    for step in ("drain", "change", "uncordon", "total"):
        assert entry["durations"][step] is not None, step


# --------------------------------------------------------------------------- the nodes

def test_drivers_in_the_files(node):
    conf = yaml.safe_load(node.run.file("/var/lib/kubelet/config.yaml").content_string)
    assert conf["cgroupDriver"] == node.driver
    dump = node.run.run("containerd config dump")
    assert dump.rc == 0, dump.stderr
    values = set(re.findall(r"SystemdCgroup = (\w+)", dump.stdout))
    assert values == {"true" if node.driver == "systemd" else "false"}, values


def test_the_real_kubelet_is_healthy(node):
    assert node.run.service("kubelet").is_running
    assert node.run.service("containerd").is_running
    healthz = node.run.run("curl -fsS --max-time 5 http://127.0.0.1:10248/healthz")
    assert healthz.rc == 0 and healthz.stdout.strip() == "ok", healthz.stderr


def test_pod_containers_are_in_the_hierarchy_of_the_nodes_driver(node):
    tasks = node.run.run("ctr -n k8s.io tasks ls")
    pids = [int(line.split()[1]) for line in tasks.stdout.splitlines()[1:] if line.split()[2] == "RUNNING"]
    assert pids, tasks.stdout
    wrong = {}
    for pid in pids:
        cgroup = node.run.file("/proc/%d/cgroup" % pid).content_string
        path = [line.split(":", 2)[2] for line in cgroup.splitlines() if line.split(":", 2)[1] == "memory"][0]
        if not CGROUP[node.driver].match(path):
            wrong[pid] = path
    assert not wrong, wrong


def test_the_worker1_kubelet_refused_the_systemd_driver_and_runs_on_its_root_again(node, run_start):
    """The real kubelet's own words, from the journal of the run; its pods under /nodeops again."""
    if node.name != "lab-worker1":
        pytest.skip("the fault is on lab-worker1")
    journal = node.run.run("journalctl -u kubelet --no-pager -o cat --since @%d" % int(run_start)).stdout
    assert re.search(r'failed to run Kubelet: invalid configuration: cgroup \[\\?"nodeops\\?"\] has some missing '
                     r'paths: [^ ]*/nodeops\.slice', journal), journal[-3000:]
    conf = yaml.safe_load(node.run.file("/var/lib/kubelet/config.yaml").content_string)
    assert conf["cgroupRoot"] == "/nodeops"
    tasks = node.run.run("ctr -n k8s.io tasks ls").stdout.splitlines()[1:]
    pids = [int(line.split()[1]) for line in tasks if line.split()[2] == "RUNNING"]
    assert any(":memory:/nodeops/kubepods/" in node.run.file("/proc/%d/cgroup" % pid).content_string
               for pid in pids), tasks


def test_kubelets_outside_the_run_or_not_reached_were_neither_stopped_nor_started(node, run_start):
    if node.name == "lab-worker1":
        pytest.skip("lab-worker1 was changed and rolled back")
    shown = node.run.run("systemctl show kubelet.service -p ActiveEnterTimestamp -p InactiveEnterTimestamp "
                         "--timestamp=unix").stdout
    times = dict(line.split("=", 1) for line in shown.splitlines())
    assert float(times["ActiveEnterTimestamp"].lstrip("@")) < run_start
    assert float((times.get("InactiveEnterTimestamp") or "0").lstrip("@") or 0) < run_start


# --------------------------------------------------------------------------- the cluster

def test_node_ready_schedulable_with_a_fresh_lease(node, api):
    node_checks.assert_ready_with_a_fresh_lease(api[0], api[1], node.name)


def test_the_nodes_pods_run_in_its_containerd(node, api):
    """Every pod the API shows Running on the node has a running sandbox in the node's containerd."""
    node_checks.assert_pods_run_in_containerd(api[0], node.run.run, node.name)

"""Verify the lab's node containers: real systemd, containerd and kubelet, and their Node objects."""

import json
import os
import re
import time

import pytest
import testinfra
import yaml

from kubernetes import client, config
from nodeops_lab import node_checks

LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
# A kubelet renews its Lease every 10 s (a quarter of the 40 s lease duration).
_NODES = {}


@pytest.fixture
def node(host):
    """The node container reached directly with podman (one exec per command)."""
    name = host.backend.get_hostname()
    if name not in _NODES:
        variables = host.ansible.get_variables()
        _NODES[name] = (testinfra.get_host("podman://" + variables["ansible_host"]), variables["kube_node_name"])
    return _NODES[name][0]


@pytest.fixture
def node_name(host, node):
    return _NODES[host.backend.get_hostname()][1]


@pytest.fixture(scope="module")
def api():
    api_client = config.new_client_from_config(KUBECONFIG)
    return client.CoreV1Api(api_client), client.CoordinationV1Api(api_client)


def lab_version():
    with open(os.path.join(LAB_DIR, "lab.json")) as fh:
        return json.load(fh)["kubernetes_version"]


def test_systemd_runs_as_pid_1(node):
    assert node.process.get(pid=1).comm == "systemd"
    state = node.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


@pytest.mark.parametrize("unit", ["containerd", "kubelet"])
def test_node_services_are_active(node, unit):
    assert node.service(unit).is_running
    assert node.service(unit).is_enabled


def test_containerd_answers_with_the_cri_plugin(node):
    version = node.run("ctr version")
    assert version.rc == 0, version.stderr
    assert "Server:" in version.stdout
    plugins = node.run("ctr plugins ls")
    cri = [line for line in plugins.stdout.splitlines() if "io.containerd.grpc.v1" in line and " cri " in line]
    assert cri and cri[0].split()[-1] == "ok", plugins.stdout


def test_the_real_kubelet_is_the_lab_build(node):
    out = node.run("kubelet --version")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "Kubernetes " + lab_version()
    # The kubelet stand-in is gone: the unit runs the kubelet binary.
    assert node.process.filter(comm="kubelet"), "no kubelet process"
    assert not node.file("/etc/nodeops-lab/kubelet-version").exists


def test_the_real_kubelet_answers_healthz(node):
    out = node.run("curl -fsS --max-time 5 http://127.0.0.1:10248/healthz")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_kubelet_runs_on_the_kubeadm_files(node):
    conf = yaml.safe_load(node.file("/var/lib/kubelet/config.yaml").content_string)
    assert conf["kind"] == "KubeletConfiguration"
    # The lab's starting state, which the cgroup driver migration changes.
    assert conf["cgroupDriver"] == "cgroupfs"
    assert node.file("/etc/kubernetes/kubelet.conf").exists
    assert node.file("/etc/kubernetes/pki/ca.crt").exists
    assert node.file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf").contains("KUBELET_KUBEADM_ARGS")
    assert node.file("/etc/containerd/config.toml").contains(r"SystemdCgroup = false")


def test_pod_containers_run_under_the_cgroupfs_hierarchy(node):
    """containerd tasks run, and the kubelet on cgroupfs puts them under /kubepods, not kubepods.slice."""
    tasks = node.run("ctr -n k8s.io tasks ls")
    assert tasks.rc == 0, tasks.stderr
    pids = [int(line.split()[1]) for line in tasks.stdout.splitlines()[1:] if line.split()[2] == "RUNNING"]
    assert pids, tasks.stdout
    for pid in pids:
        cgroup = node.file("/proc/%d/cgroup" % pid).content_string
        memory = [line.split(":", 2)[2] for line in cgroup.splitlines() if line.split(":", 2)[1] == "memory"][0]
        assert re.match(r"^/kubepods(/(burstable|besteffort))?/pod[0-9a-f-]+/[0-9a-f]{64}$", memory), memory
    assert node.file("/sys/fs/cgroup/memory/kubepods").is_directory
    assert not node.file("/sys/fs/cgroup/memory/kubepods.slice").exists


def test_node_is_ready_with_a_fresh_lease_and_the_real_runtime_version(node, node_name, api):
    core, coordination = api
    deadline = time.time() + 60
    while True:
        obj = core.read_node(node_name)
        ready = [c for c in obj.status.conditions or [] if c.type == "Ready"]
        if ready and ready[0].status == "True" or time.time() > deadline:
            break
        time.sleep(2)
    assert ready and ready[0].status == "True", ready
    assert obj.status.node_info.kubelet_version == lab_version()
    runtime = obj.status.node_info.container_runtime_version
    server = node.run("ctr version").stdout.split("Server:")[1]
    real_version = [line.split()[-1] for line in server.splitlines() if line.strip().startswith("Version:")][0]
    # The real kubelet reports the semantic version of the runtime's CRI answer: Debian's
    # "1.6.20~ds1" becomes "containerd://1.6.20".
    assert runtime == "containerd://" + re.split(r"[~+-]", real_version.lstrip("v"), maxsplit=1)[0]
    node_checks.assert_ready_with_a_fresh_lease(core, coordination, node_name, schedulable=None)


def test_the_nodes_pods_run_in_its_containerd(node, node_name, api):
    """Every Running pod the API places on this node has its sandbox running in the node's containerd."""
    node_checks.assert_pods_run_in_containerd(api[0], node.run, node_name)


def test_control_plane_runs_as_static_pods(node, node_name, api):
    core = api[0]
    if not node.file("/etc/kubernetes/manifests/kube-apiserver.yaml").exists:
        pytest.skip("%s is a worker" % node_name)
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        pod = core.read_namespaced_pod("%s-%s" % (component, node_name), "kube-system")
        assert pod.status.phase == "Running", (component, pod.status.phase)
        assert pod.metadata.annotations.get("kubernetes.io/config.source") == "file", component

"""Verify the lab workers after the Docker (cri-dockerd) -> containerd switch (and the untouched control plane)."""

import os
import shlex

import pytest
import testinfra
import yaml

from kubernetes import client, config

LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
ENDPOINT = "unix:///run/containerd/containerd.sock"
CRI_ANNOTATION = "kubeadm.alpha.kubernetes.io/cri-socket"
_NODES = {}


class Node(object):
    def __init__(self, host):
        variables = host.ansible.get_variables()
        self.run = testinfra.get_host("podman://" + variables["ansible_host"])
        self.name = variables["kube_node_name"]
        self.worker = "kube_node" in variables.get("group_names", [])
        self.cgroup_driver = variables.get("lab_cgroup_driver")


@pytest.fixture
def node(host):
    """The node container reached directly with podman (one exec per command)."""
    name = host.backend.get_hostname()
    if name not in _NODES:
        _NODES[name] = Node(host)
    return _NODES[name]


@pytest.fixture
def worker(node):
    if not node.worker:
        pytest.skip("the switch runs on the workers only")
    return node


@pytest.fixture(scope="module")
def api():
    return client.CoreV1Api(config.new_client_from_config(KUBECONFIG))


def kubelet_args(node):
    content = node.run.file("/var/lib/kubelet/kubeadm-flags.env").content_string
    line = [x for x in content.splitlines() if x.startswith("KUBELET_KUBEADM_ARGS=")][0]
    return shlex.split(line.split("=", 1)[1])[0].split()


def test_node_is_ready_and_schedulable_on_containerd(worker, api):
    obj = api.read_node(worker.name)
    assert obj.status.node_info.container_runtime_version.startswith("containerd://")
    ready = [c for c in obj.status.conditions if c.type == "Ready"]
    assert ready and ready[0].status == "True", ready
    assert not obj.spec.unschedulable
    # kubeadm 1.34 keeps the CRI socket in the kubelet's files, not in this annotation: none is added
    assert CRI_ANNOTATION not in (obj.metadata.annotations or {})


def test_kubelet_points_at_containerd(worker):
    """kubeadm 1.27+ writes the endpoint into config.yaml and instance-config.yaml; both must follow."""
    config = yaml.safe_load(worker.run.file("/var/lib/kubelet/config.yaml").content_string)
    assert config["containerRuntimeEndpoint"] == ENDPOINT
    instance = yaml.safe_load(worker.run.file("/var/lib/kubelet/instance-config.yaml").content_string)
    assert instance["containerRuntimeEndpoint"] == ENDPOINT
    args = kubelet_args(worker)
    assert not [a for a in args if a.startswith("--container-runtime")], args
    assert not [a for a in args if a.startswith("--network-plugin")], args
    assert "--pod-infra-container-image=localhost/nodeops-lab/pause:3.10.1" in args


def test_kubelet_runs(worker):
    assert worker.run.service("kubelet").is_running


def test_containerd_runs_with_the_cri_plugin(worker):
    assert worker.run.service("containerd").is_running
    assert worker.run.service("containerd").is_enabled
    plugins = worker.run.run("ctr plugins ls").stdout
    cri = [line for line in plugins.splitlines() if "io.containerd.grpc.v1" in line and " cri " in line]
    assert cri and cri[0].split()[-1] == "ok", plugins


def test_containerd_config_matches_the_kubelet(worker):
    dump = worker.run.run("containerd config dump").stdout
    assert 'config_path = "/etc/containerd/certs.d"' in dump
    assert 'sandbox_image = "localhost/nodeops-lab/pause:3.10.1"' in dump
    systemd = "SystemdCgroup = true" in dump
    assert systemd == (worker.cgroup_driver == "systemd"), dump


def test_docker_hub_mirrors_are_carried_over(worker):
    hosts = worker.run.file("/etc/containerd/certs.d/docker.io/hosts.toml").content_string
    assert 'server = "https://registry-1.docker.io"' in hosts
    assert hosts.index('[host."https://mirror.lab.example"]') < hosts.index('[host."http://mirror2.lab.example:5000"]')
    assert hosts.count('capabilities = ["pull", "resolve"]') == 2


def test_insecure_registries_are_carried_over(worker):
    hosts = worker.run.file("/etc/containerd/certs.d/registry.lab.example:5000/hosts.toml").content_string
    assert 'server = "https://registry.lab.example:5000"' in hosts
    https = hosts.index('[host."https://registry.lab.example:5000"]')
    plain = hosts.index('[host."http://registry.lab.example:5000"]')
    assert https < plain
    assert "skip_verify = true" in hosts[https:plain]
    hosts = worker.run.file("/etc/containerd/certs.d/plain.lab.example:5001/hosts.toml").content_string
    assert 'server = "http://plain.lab.example:5001"' in hosts
    assert '[host."http://plain.lab.example:5001"]' in hosts


@pytest.mark.parametrize("unit", ["docker.service", "docker.socket", "cri-docker.service", "cri-docker.socket"])
def test_docker_is_stopped_and_disabled(worker, unit):
    assert not worker.run.service(unit).is_running
    assert not worker.run.service(unit).is_enabled


def test_control_plane_is_untouched(node, api):
    if node.worker:
        pytest.skip("control plane only")
    assert "--network-plugin" not in " ".join(kubelet_args(node))
    obj = api.read_node(node.name)
    assert CRI_ANNOTATION not in (obj.metadata.annotations or {})
    assert not obj.spec.unschedulable


def test_workloads_are_running_again(node, api):
    if node.worker:
        pytest.skip("checked once, from the control plane host")
    pods = api.list_namespaced_pod("lab-apps").items
    not_running = ["%s=%s" % (p.metadata.name, p.status.phase) for p in pods if p.status.phase != "Running"]
    assert not not_running
    agents = {p.spec.node_name for p in pods if p.metadata.name.startswith("node-agent-")}
    assert {"lab-worker1", "lab-worker2"} <= agents


def test_pods_of_the_node_run_in_containerd(worker, api):
    pods = [p for p in api.list_pod_for_all_namespaces(field_selector="spec.nodeName=" + worker.name).items
            if p.status.phase == "Running"]
    assert pods, "no running pods on %s" % worker.name
    sandboxes = worker.run.run("ctr -n k8s.io containers ls").stdout
    assert sandboxes.count("localhost/nodeops-lab/pause:3.10.1") >= len(pods), sandboxes

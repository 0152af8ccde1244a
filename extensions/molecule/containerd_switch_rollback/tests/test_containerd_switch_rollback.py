"""After the failed switch: lab-worker1 back on Docker (healthy, so uncordoned); lab-worker2 switched by a run whose
uncordon the API server refused (verified, so not rolled back), then finished by a rerun: on containerd, uncordoned."""

import os
import time

import pytest
import testinfra
import yaml

from kubernetes import client, config

LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
CRI_ANNOTATION = "kubeadm.alpha.kubernetes.io/cri-socket"
# lab-worker1 failed and was rolled back; Ready on Docker again, it is uncordoned (the default
# containerd_switch_uncordon_after_rollback: true); lab-worker2 was switched, then uncordoned by the rerun
CORDONED = {"lab-worker1": False, "lab-worker2": False}
RUNTIME = {"lab-worker1": "docker://", "lab-worker2": "containerd://"}
PROGRESS_RECORD = "/var/lib/nodeops/containerd_switch.json"


@pytest.fixture
def node(host):
    variables = host.ansible.get_variables()
    if variables["kube_node_name"] not in CORDONED:
        pytest.skip("workers only")
    return testinfra.get_host("podman://" + variables["ansible_host"]), variables["kube_node_name"]


@pytest.fixture
def docker_node(node):
    """lab-worker1, rolled back to Docker."""
    if node[1] != "lab-worker1":
        pytest.skip("lab-worker2 is on containerd")
    return node


@pytest.fixture(scope="module")
def api():
    return client.CoreV1Api(config.new_client_from_config(KUBECONFIG))


def test_node_is_ready_on_its_runtime(node, api):
    name = node[1]
    deadline = time.time() + 30
    while True:
        obj = api.read_node(name)
        ready = [c for c in obj.status.conditions if c.type == "Ready"]
        if ready and ready[0].status == "True" or time.time() > deadline:
            break
        time.sleep(2)
    assert ready and ready[0].status == "True", ready
    assert obj.status.node_info.container_runtime_version.startswith(RUNTIME[name])
    assert bool(obj.spec.unschedulable) == CORDONED[name]
    if name == "lab-worker1":
        assert CRI_ANNOTATION not in (obj.metadata.annotations or {})


def test_the_finished_switch_left_no_progress_record(node):
    assert not node[0].file(PROGRESS_RECORD).exists


def test_kubelet_files_point_at_cri_dockerd_again(docker_node):
    host = docker_node[0]
    config_yaml = yaml.safe_load(host.file("/var/lib/kubelet/config.yaml").content_string)
    assert config_yaml["containerRuntimeEndpoint"] == "unix:///run/cri-dockerd.sock"
    instance = yaml.safe_load(host.file("/var/lib/kubelet/instance-config.yaml").content_string)
    assert instance["containerRuntimeEndpoint"] == "unix:///run/cri-dockerd.sock"
    flags = host.file("/var/lib/kubelet/kubeadm-flags.env").content_string
    assert "containerd.sock" not in flags


def test_services_run_as_before(docker_node):
    host = docker_node[0]
    for unit in ("docker.service", "cri-docker.service", "containerd.service", "kubelet.service"):
        assert host.service(unit).is_running, unit
        assert host.service(unit).is_enabled, unit


def test_containerd_config_is_docker_s_again(docker_node):
    host = docker_node[0]
    config_toml = host.file("/etc/containerd/config.toml").content_string
    assert 'disabled_plugins = ["cri"]' in config_toml
    assert "/etc/containerd/certs.d" not in config_toml

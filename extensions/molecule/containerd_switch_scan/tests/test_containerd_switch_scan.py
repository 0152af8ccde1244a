"""After converge: lab-worker1 switched with the finding acknowledged, lab-worker2 untouched on Docker."""

import os

import pytest
import testinfra
import yaml

from kubernetes import client, config

LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
EXPECTED = {"lab-worker1": "containerd://", "lab-worker2": "docker://"}


@pytest.fixture
def node(host):
    variables = host.ansible.get_variables()
    if variables["kube_node_name"] not in EXPECTED:
        pytest.skip("workers only")
    return testinfra.get_host("podman://" + variables["ansible_host"]), variables["kube_node_name"]


@pytest.fixture(scope="module")
def api():
    return client.CoreV1Api(config.new_client_from_config(KUBECONFIG))


def test_runtime_and_schedulable(node, api):
    name = node[1]
    obj = api.read_node(name)
    assert obj.status.node_info.container_runtime_version.startswith(EXPECTED[name])
    assert not obj.spec.unschedulable
    ready = [c for c in obj.status.conditions if c.type == "Ready"]
    assert ready and ready[0].status == "True"


def test_docker_state(node):
    host, name = node
    on_docker = EXPECTED[name] == "docker://"
    assert host.service("docker.service").is_running == on_docker
    # kubeadm 1.27+ keeps the CRI endpoint in the kubelet's configuration file
    config_yaml = yaml.safe_load(host.file("/var/lib/kubelet/config.yaml").content_string)
    wanted = "unix:///run/cri-dockerd.sock" if on_docker else "unix:///run/containerd/containerd.sock"
    assert config_yaml["containerRuntimeEndpoint"] == wanted

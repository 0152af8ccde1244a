"""Verify the lab's node containers and their Node objects."""

import os
import time

import pytest
import testinfra
import yaml

from kubernetes import client, config

LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
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


def test_kubelet_standin_is_healthy(node):
    out = node.run("python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:10248/healthz').read().decode())\"")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_kubelet_reads_the_kubeadm_files(node):
    conf = yaml.safe_load(node.file("/var/lib/kubelet/config.yaml").content_string)
    assert conf["kind"] == "KubeletConfiguration"
    assert node.file("/etc/kubernetes/kubelet.conf").exists
    assert node.file("/etc/kubernetes/pki/ca.crt").exists
    assert node.file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf").contains("KUBELET_KUBEADM_ARGS")


def test_node_is_ready_in_the_api_with_the_real_runtime_version(node, node_name):
    api = client.CoreV1Api(config.new_client_from_config(KUBECONFIG))
    deadline = time.time() + 60
    while True:
        obj = api.read_node(node_name)
        ready = [c for c in obj.status.conditions or [] if c.type == "Ready"]
        if ready and ready[0].status == "True" or time.time() > deadline:
            break
        time.sleep(2)
    assert ready and ready[0].status == "True", ready
    runtime = obj.status.node_info.container_runtime_version
    server = node.run("ctr version").stdout.split("Server:")[1]
    real_version = [line.split()[-1] for line in server.splitlines() if line.strip().startswith("Version:")][0]
    assert runtime == "containerd://" + real_version.lstrip("v")

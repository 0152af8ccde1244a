"""Verify the lab's node containers and their Node objects."""

import os
import time

import pytest
import yaml

from kubernetes import client, config

KUBECONFIG = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".lab", "kubeconfig")


def test_systemd_runs_as_pid_1(host):
    assert host.process.get(pid=1).comm == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


@pytest.mark.parametrize("unit", ["containerd", "kubelet"])
def test_node_services_are_active(host, unit):
    assert host.service(unit).is_running
    assert host.service(unit).is_enabled


def test_containerd_answers_with_the_cri_plugin(host):
    version = host.run("ctr version")
    assert version.rc == 0, version.stderr
    assert "Server:" in version.stdout
    plugins = host.run("ctr plugins ls")
    cri = [line for line in plugins.stdout.splitlines() if "io.containerd.grpc.v1" in line and " cri " in line]
    assert cri and cri[0].split()[-1] == "ok", plugins.stdout


def test_kubelet_standin_is_healthy(host):
    out = host.run("python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:10248/healthz').read().decode())\"")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_kubelet_reads_the_kubeadm_files(host):
    conf = yaml.safe_load(host.file("/var/lib/kubelet/config.yaml").content_string)
    assert conf["kind"] == "KubeletConfiguration"
    assert host.file("/etc/kubernetes/kubelet.conf").exists
    assert host.file("/etc/kubernetes/pki/ca.crt").exists
    assert host.file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf").contains("KUBELET_KUBEADM_ARGS")


def test_node_is_ready_in_the_api_with_the_real_runtime_version(host):
    node_name = host.ansible.get_variables()["kube_node_name"]
    api = client.CoreV1Api(config.new_client_from_config(KUBECONFIG))
    deadline = time.time() + 60
    while True:
        node = api.read_node(node_name)
        ready = [c for c in node.status.conditions or [] if c.type == "Ready"]
        if ready and ready[0].status == "True" or time.time() > deadline:
            break
        time.sleep(2)
    assert ready and ready[0].status == "True", ready
    runtime = node.status.node_info.container_runtime_version
    server = host.run("ctr version").stdout.split("Server:")[1]
    real_version = [l.split()[-1] for l in server.splitlines() if l.strip().startswith("Version:")][0]
    assert runtime == "containerd://" + real_version.lstrip("v")

"""The node image and a joined node: systemd, containerd, the kubelet simulation, the Node."""

import tomllib

import pytest
import yaml

from nodes_fixtures import LAB_NODES, lab  # noqa: F401  (fixture)

pytestmark = [LAB_NODES]

NODES = [("cp1", "lab-cp1"), ("w1", "lab-worker1"), ("w2", "lab-worker2")]


@pytest.mark.parametrize("short,node", NODES)
def test_systemd_and_services(lab, short, node):
    c = lab.container(short)
    state = lab.sh(c, "systemctl is-system-running", check=False).stdout.strip()
    assert state in ("running", "degraded"), state
    active = lab.sh(c, "systemctl is-active containerd kubelet").stdout.split()
    assert active == ["active", "active"]
    assert lab.sh(c, "hostname").stdout.strip() == node


def test_containerd_answers_with_cri(lab):
    c = lab.container("w1")
    out = lab.sh(c, "ctr --address /run/containerd/containerd.sock version").stdout
    assert "Server:" in out
    plugins = lab.sh(c, "ctr plugins ls").stdout
    assert any(line.split()[:2] == ["io.containerd.grpc.v1", "cri"] and line.split()[-1] == "ok"
               for line in plugins.splitlines())


def test_starting_state_files(lab):
    c = lab.container("w1")
    config = yaml.safe_load(lab.sh(c, "cat /var/lib/kubelet/config.yaml").stdout)
    assert config["kind"] == "KubeletConfiguration"
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["containerRuntimeEndpoint"] == "unix:///run/containerd/containerd.sock"
    containerd = tomllib.loads(lab.sh(c, "cat /etc/containerd/config.toml").stdout)
    cri = containerd["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert "io.containerd.grpc.v1.cri" not in containerd.get("disabled_plugins", [])
    flags = lab.sh(c, "cat /var/lib/kubelet/kubeadm-flags.env").stdout
    assert "--container-runtime-endpoint=unix:///run/containerd/containerd.sock" in flags
    dropin = lab.sh(c, "systemctl cat kubelet").stdout
    assert "KUBELET_KUBEADM_ARGS" in dropin and "ExecStart=/usr/bin/kubelet" in dropin
    assert lab.sh(c, "cat /etc/nodeops-lab/kubelet-version").stdout.strip().startswith("v1.")
    assert "SIMULATION" in lab.sh(c, "head -5 /usr/bin/kubelet").stdout
    assert lab.sh(c, "test -s /etc/kubernetes/pki/ca.crt && test -s /etc/kubernetes/kubelet.conf && "
                     "test -L /var/lib/kubelet/pki/kubelet-client-current.pem", check=False).returncode == 0


@pytest.mark.parametrize("short", ["cp1", "w1"])
def test_kubelet_healthz(lab, short):
    out = lab.sh(lab.container(short), "curl -s -m 5 http://127.0.0.1:10248/healthz").stdout
    assert out == "ok"


@pytest.mark.parametrize("short,node", NODES)
def test_node_ready_in_api(lab, short, node):
    n = lab.core().read_node(node)
    ready = [c for c in n.status.conditions if c.type == "Ready"][0]
    assert (ready.status, ready.reason, ready.message) == ("True", "KubeletReady", "kubelet is posting ready status")
    assert n.status.node_info.container_runtime_version.startswith("containerd://")
    assert n.status.node_info.kubelet_version.startswith("v1.")
    assert n.status.node_info.os_image.startswith("Debian GNU/Linux 12")
    addresses = {a.type: a.address for a in n.status.addresses}
    assert addresses["Hostname"] == node
    assert addresses["InternalIP"].startswith("10.")
    assert n.metadata.labels["kubernetes.io/hostname"] == node


def test_control_plane_label_and_taint(lab):
    n = lab.core().read_node("lab-cp1")
    assert "node-role.kubernetes.io/control-plane" in n.metadata.labels
    assert any(t.key == "node-role.kubernetes.io/control-plane" and t.effect == "NoSchedule"
               for t in n.spec.taints or [])
    w = lab.core().read_node("lab-worker1")
    assert not w.spec.unschedulable


def test_node_lease_renewed(lab):
    from kubernetes import client, config
    api = client.CoordinationV1Api(config.new_client_from_config(config_file=lab.kubeconfig))
    lease = api.read_namespaced_lease("lab-worker1", "kube-node-lease")
    assert lease.spec.holder_identity == "lab-worker1"
    assert lease.spec.renew_time is not None

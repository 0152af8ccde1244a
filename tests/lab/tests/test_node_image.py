"""The node image and the joined nodes: systemd, containerd, the real kubelet, kubeadm's files, the Node."""

import re
import time
import tomllib

import pytest
import yaml
from kubernetes import client, config

from nodeops_lab import node_checks

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
    assert cri["sandbox_image"] == "localhost/nodeops-lab/pause:3.10.1"
    flags = lab.sh(c, "cat /var/lib/kubelet/kubeadm-flags.env").stdout
    assert flags.startswith("KUBELET_KUBEADM_ARGS=")
    dropin = lab.sh(c, "systemctl cat kubelet").stdout
    assert "KUBELET_KUBEADM_ARGS" in dropin and "ExecStart=/usr/bin/kubelet" in dropin
    assert lab.sh(c, "kubelet --version").stdout.strip().startswith("Kubernetes v1.")
    # written by kubeadm join's TLS bootstrap, not by the lab
    assert lab.sh(c, "test -s /etc/kubernetes/pki/ca.crt && test -s /etc/kubernetes/kubelet.conf && "
                     "test -L /var/lib/kubelet/pki/kubelet-client-current.pem", check=False).returncode == 0


def test_kubeadm_made_the_control_plane(lab):
    c = lab.container("cp1")
    manifests = lab.sh(c, "ls /etc/kubernetes/manifests").stdout.split()
    assert sorted(manifests) == ["etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml",
                                 "kube-scheduler.yaml"]
    pki = lab.sh(c, "ls /etc/kubernetes/pki /etc/kubernetes/pki/etcd").stdout.split()
    assert {"apiserver.crt", "ca.crt", "front-proxy-ca.crt", "sa.pub", "healthcheck-client.crt"} <= set(pki)
    expiry = lab.sh(c, "kubeadm certs check-expiration -o json").stdout
    assert '"name": "apiserver"' in expiry.replace('":"', '": "') or '"apiserver"' in expiry
    pods = lab.kubectl("-n", "kube-system", "get", "pods", "-o", "json").stdout
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        pod = [p for p in yaml.safe_load(pods)["items"] if p["metadata"]["name"] == component + "-lab-cp1"]
        assert pod and pod[0]["status"]["phase"] == "Running", component
        # a static pod seen through its mirror pod
        assert pod[0]["metadata"]["annotations"].get("kubernetes.io/config.mirror")
    for name in ("kubeadm-config", "kubelet-config", "kube-proxy"):
        lab.kubectl("-n", "kube-system", "get", "configmap", name)
    lab.kubectl("-n", "kube-public", "get", "configmap", "cluster-info")


def test_kubectl_logs_and_exec_on_a_workload_pod(lab):
    out = lab.kubectl("-n", "lab-apps", "exec", "standalone", "--", "sh", "-c", "echo from-$(hostname)").stdout
    assert out.strip() == "from-standalone"
    lab.kubectl("-n", "lab-apps", "logs", "standalone")


def test_pods_reach_pods_on_the_other_worker(lab):
    pods = yaml.safe_load(lab.kubectl("-n", "lab-apps", "get", "pods", "-l", "app=web", "-o", "json").stdout)
    standalone = yaml.safe_load(lab.kubectl("-n", "lab-apps", "get", "pod", "standalone", "-o", "json").stdout)
    other = [p for p in pods["items"] if p["spec"]["nodeName"] != standalone["spec"]["nodeName"]]
    assert other, "no web pod on the other worker"
    ip = other[0]["status"]["podIP"]
    proc = lab.kubectl("-n", "lab-apps", "exec", "standalone", "--", "sh", "-c",
                       "echo | nc -w 3 %s 80 >/dev/null && echo reached" % ip, check=False)
    assert "reached" in proc.stdout, proc.stderr


@pytest.mark.parametrize("short", ["cp1", "w1"])
def test_kubelet_healthz(lab, short):
    out = lab.sh(lab.container(short), "curl -s -m 5 http://127.0.0.1:10248/healthz").stdout
    assert out == "ok"


@pytest.mark.parametrize("short,node", NODES)
def test_node_ready_in_api(lab, short, node):
    n = lab.core().read_node(node)
    ready = [c for c in n.status.conditions if c.type == "Ready"][0]
    assert (ready.status, ready.reason) == ("True", "KubeletReady")
    assert n.status.node_info.container_runtime_version.startswith("containerd://1.")
    version = lab.sh(lab.container(short), "kubelet --version").stdout.split()[-1]
    assert n.status.node_info.kubelet_version == version
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


def _read_lease(api, name, timeout):
    """The node's Lease, waiting for it: a kubelet that has just registered creates it on its next renewal."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return api.read_namespaced_lease(name, "kube-node-lease")
        except client.exceptions.ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(2)


def test_node_lease_renewed(lab):
    """The kubelet holds its Lease and renews it (every 10 s with the default 40 s lease duration)."""
    api = client.CoordinationV1Api(config.new_client_from_config(config_file=lab.kubeconfig))
    first = _read_lease(api, "lab-worker1", timeout=90)
    assert first.spec.holder_identity == "lab-worker1"
    assert first.spec.renew_time is not None
    deadline = time.monotonic() + 60
    while True:
        later = _read_lease(api, "lab-worker1", timeout=30)
        if later.spec.renew_time > first.spec.renew_time:
            break
        assert time.monotonic() < deadline, "lease of lab-worker1 not renewed since %s" % first.spec.renew_time
        time.sleep(2)


def test_pod_containers_run_under_the_cgroupfs_hierarchy(lab):
    """containerd tasks run, and the kubelet on cgroupfs puts them under /kubepods, not kubepods.slice."""
    c = lab.container("w1")
    tasks = lab.sh(c, "ctr -n k8s.io tasks ls").stdout
    pids = [int(line.split()[1]) for line in tasks.splitlines()[1:] if line.split()[2] == "RUNNING"]
    assert pids, tasks
    for pid in pids:
        cgroup = lab.sh(c, "cat /proc/%d/cgroup" % pid).stdout
        memory = [line.split(":", 2)[2] for line in cgroup.splitlines() if line.split(":", 2)[1] == "memory"][0]
        assert re.match(r"^/kubepods(/(burstable|besteffort))?/pod[0-9a-f-]+/[0-9a-f]{64}$", memory), memory
    assert lab.sh(c, "test -d /sys/fs/cgroup/memory/kubepods", check=False).returncode == 0
    assert lab.sh(c, "test -e /sys/fs/cgroup/memory/kubepods.slice", check=False).returncode != 0


@pytest.mark.parametrize("short,node", NODES)
def test_the_nodes_pods_run_in_its_containerd(lab, short, node):
    """Every Running pod the API places on the node has its sandbox running in the node's containerd."""
    core = client.CoreV1Api(config.new_client_from_config(lab.kubeconfig))
    c = lab.container(short)
    node_checks.assert_pods_run_in_containerd(core, lambda script: lab.sh(c, script), node)

"""Misconfigurations the kubelet simulation must refuse or report like the real kubelet.

Each test breaks lab-worker2 and restores it (waiting until it is Ready again).
"""

import pytest

from nodes_fixtures import LAB_NODES, lab  # noqa: F401  (fixture)

pytestmark = [LAB_NODES]

NODE = "lab-worker2"
SHORT = "w2"


@pytest.fixture
def worker(lab):
    c = lab.container(SHORT)
    lab.sh(c, "cp -a /var/lib/kubelet/config.yaml /root/config.yaml.orig && "
              "cp -a /var/lib/kubelet/kubeadm-flags.env /root/kubeadm-flags.env.orig")
    try:
        yield c
    finally:
        lab.sh(c, "cp -a /root/config.yaml.orig /var/lib/kubelet/config.yaml && "
                  "cp -a /root/kubeadm-flags.env.orig /var/lib/kubelet/kubeadm-flags.env && "
                  "systemctl start containerd && systemctl restart kubelet", check=False)
        lab.wait_ready(NODE, "True", timeout=60)


def test_cgroup_driver_mismatch_refused(lab, worker):
    since = lab.container_time(worker)
    lab.sh(worker, "sed -i 's/^cgroupDriver: cgroupfs$/cgroupDriver: systemd/' /var/lib/kubelet/config.yaml && "
                   "systemctl restart kubelet")
    journal = lab.wait_journal(worker, 'kubelet cgroup driver: \\"systemd\\" is different from containerd '
                                       'cgroup driver: \\"cgroupfs\\"', since)
    assert '"command failed" err="failed to run Kubelet: misconfiguration:' in journal
    # systemd keeps restarting it (Restart=always); /healthz is never served
    assert lab.sh(worker, "curl -s -m 2 http://127.0.0.1:10248/healthz", check=False).returncode != 0
    # no more heartbeats: the simulated node lifecycle controller gives up on the node
    cond = lab.wait_ready(NODE, "Unknown", timeout=90)
    assert cond.reason == "NodeStatusUnknown"


def test_cgroup_driver_migration_consistent(lab, worker):
    """systemd on both sides (the migration's end state) is accepted."""
    lab.sh(worker, "cp -a /etc/containerd/config.toml /root/config.toml.orig")
    try:
        since = lab.container_time(worker)
        lab.sh(worker, "sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml && "
                       "sed -i 's/^cgroupDriver: cgroupfs$/cgroupDriver: systemd/' /var/lib/kubelet/config.yaml && "
                       "systemctl restart containerd && systemctl restart kubelet")
        lab.wait_journal(worker, 'cgroupDriver=\"systemd\"', since)
        lab.wait_ready(NODE, "True", timeout=60)
        assert lab.sh(worker, "systemctl is-active kubelet").stdout.strip() == "active"
    finally:
        lab.sh(worker, "cp -a /root/config.toml.orig /etc/containerd/config.toml && systemctl restart containerd")


def test_containerd_down_marks_node_not_ready(lab, worker):
    lab.sh(worker, "systemctl stop containerd")
    cond = lab.wait_ready(NODE, "False", timeout=60, message="container runtime is down")
    assert cond.reason == "KubeletNotReady"
    # like the real kubelet, the process keeps running and /healthz still answers
    assert lab.sh(worker, "systemctl is-active kubelet").stdout.strip() == "active"
    assert lab.sh(worker, "curl -s -m 5 http://127.0.0.1:10248/healthz").stdout == "ok"
    lab.sh(worker, "systemctl start containerd")
    lab.wait_ready(NODE, "True", timeout=60)


def test_kubelet_refuses_to_start_without_containerd(lab, worker):
    since = lab.container_time(worker)
    lab.sh(worker, "systemctl stop containerd && systemctl restart kubelet")
    lab.wait_journal(worker, 'validate service connection: validate CRI v1 runtime API for endpoint '
                             '\\"unix:///run/containerd/containerd.sock\\": rpc error: code = Unavailable', since)


def test_cri_plugin_disabled_refused(lab, worker):
    lab.sh(worker, "cp -a /etc/containerd/config.toml /root/config.toml.orig")
    try:
        since = lab.container_time(worker)
        lab.sh(worker, "sed -i 's/^disabled_plugins = \\[\\]$/disabled_plugins = [\"io.containerd.grpc.v1.cri\"]/' "
                       "/etc/containerd/config.toml && systemctl restart containerd && systemctl restart kubelet")
        lab.wait_journal(worker, "rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService",
                         since)
    finally:
        lab.sh(worker, "cp -a /root/config.toml.orig /etc/containerd/config.toml && systemctl restart containerd")


def test_removed_flag_refused(lab, worker):
    since = lab.container_time(worker)
    lab.sh(worker, "sed -i 's|^KUBELET_KUBEADM_ARGS=\"|KUBELET_KUBEADM_ARGS=\"--network-plugin=cni |' "
                   "/var/lib/kubelet/kubeadm-flags.env && systemctl restart kubelet")
    journal = lab.wait_journal(worker, "failed to parse kubelet flag: unknown flag: --network-plugin", since)
    assert 'run.go:74] "command failed"' in journal

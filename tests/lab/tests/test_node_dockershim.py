"""`lab join` on a container created outside `lab up` (as Molecule does), in the
dockershim era: kubelet simulation v1.23 with --container-runtime=docker."""

import pytest

from nodes_fixtures import CONTAINER_PREFIX, LAB_NODES, lab  # noqa: F401  (fixture)

pytestmark = [LAB_NODES]

CONTAINER = CONTAINER_PREFIX + "old1"
NODE = "lab-old1"


@pytest.fixture
def old_node(lab):
    lab.podman("rm", "-f", CONTAINER, check=False)
    lab.podman("run", "-d", "--name", CONTAINER, "--hostname", NODE, "--privileged", "--systemd=always",
               "--label", "nodeops-lab.dir=" + lab.lab_dir, "localhost/nodeops-lab-node:latest")
    try:
        yield CONTAINER
    finally:
        lab.podman("rm", "-f", "-t", "2", CONTAINER, check=False)
        try:
            lab.core().delete_node(NODE)
        except Exception:
            pass


def test_dockershim_era_join(lab, old_node):
    lab.cli("join", "--container", old_node, "--node-name", NODE, "--era", "dockershim")
    node = lab.core().read_node(NODE)
    assert node.status.node_info.kubelet_version == "v1.23.17"
    assert node.status.node_info.container_runtime_version.startswith("docker://")
    flags = lab.sh(old_node, "cat /var/lib/kubelet/kubeadm-flags.env").stdout
    assert "--container-runtime=docker --network-plugin=cni" in flags

    # docker switched to the systemd cgroup driver, kubelet still on cgroupfs
    since = lab.container_time(old_node)
    lab.sh(old_node, "mkdir -p /etc/docker && "
                     "echo '{\"exec-opts\": [\"native.cgroupdriver=systemd\"]}' > /etc/docker/daemon.json && "
                     "systemctl restart docker && systemctl restart kubelet")
    journal = lab.wait_journal(old_node, 'misconfiguration: kubelet cgroup driver: \\"cgroupfs\\" is different '
                                         'from docker cgroup driver: \\"systemd\\"', since)
    assert '"Failed to run kubelet"' in journal

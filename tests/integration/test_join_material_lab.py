"""The join material of nodeops.kubernetes.join_material, used by the real kubeadm join of a fresh node.

The module runs through ansible-playbook against the lab's real kube-apiserver: it creates a
bootstrap token Secret, waits for kube-controller-manager's bootstrap signer to sign the
``cluster-info`` ConfigMap with it, verifies that signature and computes the CA hash. A new lab
node container that is not in the cluster then runs the real ``kubeadm join`` with exactly that
token and hash and must become a Ready Node: the same cluster-side path a Windows host takes.
The node, its container and the token are removed afterwards. Before it, the
Windows preflight reads the same cluster and names what Windows nodes would lack
(the lab runs no Flannel), with the fix.
"""

import json
import os
import subprocess
import textwrap

import pytest

from conftest import ANSIBLE_PLAYBOOK, COLLECTIONS, wait_for
from nodeops_lab import lab as lab_cli

NEW_NODE = "lab-worker9"
NEW_SHORT = "w9"

PLAYBOOK = textwrap.dedent("""\
    - name: Make the join material of a new node
      hosts: localhost
      gather_facts: false
      module_defaults:
        group/nodeops.kubernetes.k8s:
          kubeconfig: "{{ kubeconfig }}"
      tasks:
        - name: Create a bootstrap token and verify cluster-info with it
          nodeops.kubernetes.join_material:
            state: "{{ material_state }}"
            token_id: "{{ token_id | default(omit) }}"
            description: nodeops integration test join
            ttl: 20m
          register: material
          no_log: true

        - name: Keep the material for the test (mode 0600)
          ansible.builtin.copy:
            content: "{{ material | to_json }}"
            dest: "{{ out }}"
            mode: "0600"
          no_log: true
    """)


def run_module(cluster, tmp_path, state, **extra):
    playbook = tmp_path / "join.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / ("material-%s.json" % state)
    extravars = dict(kubeconfig=cluster.kubeconfig, material_state=state, out=str(out), **extra)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1")
    # the implicit localhost: the controller's own Python, which has the kubernetes client
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(playbook), "-e", json.dumps(extravars)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    # the token never reaches the output, even on success
    material = json.loads(out.read_text())
    if material.get("token"):
        assert material["token"] not in proc.stdout
    return material


PREFLIGHT_PLAYBOOK = textwrap.dedent("""\
    - name: Check the cluster side before a Windows node joins
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Run the Windows preflight against the lab (problems as warnings)
          nodeops.kubernetes.windows_cluster_preflight:
            kubeconfig: "{{ kubeconfig }}"
            on_problem: warn
          register: preflight

        - name: Keep the preflight's result for the test
          ansible.builtin.copy:
            content: "{{ preflight | to_json }}"
            dest: "{{ out }}"
            mode: "0600"
    """)


def run_preflight(cluster, tmp_path):
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(PREFLIGHT_PLAYBOOK)
    out = tmp_path / "preflight.json"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1")
    extravars = json.dumps(dict(kubeconfig=cluster.kubeconfig, out=str(out)))
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(playbook), "-e", extravars], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads(out.read_text())


def test_the_preflight_reads_the_cluster_and_names_what_windows_nodes_lack(cluster, tmp_path):
    """The lab runs no Flannel: the preflight says so, with the fix, and still reads what the join needs."""
    found = run_preflight(cluster, tmp_path)
    from kubernetes import client  # pylint: disable=import-outside-toplevel
    assert found["cluster_version"] == client.VersionApi(cluster.core.api_client).get_code().git_version
    assert found["service_cidr"] == lab_cli.SERVICE_SUBNET
    errors = [f for f in found["findings"] if f["status"] == "error"]
    assert errors and all(f["message"] and f["fix"] for f in errors), found["findings"]
    assert any("flannel" in f["message"].lower() for f in errors), errors
    assert len(found["problems"]) == len(errors), found["problems"]


@pytest.fixture
def fresh_node(cluster):
    """A lab node container that is not in the cluster; removed with its Node afterwards."""
    paths = cluster.paths
    container = lab_cli.CONTAINER_PREFIX + NEW_SHORT
    port = lab_cli.read_state(paths).get("port") or lab_cli.DEFAULT_PORT
    lab_cli.ensure_container(cluster.podman, paths, container, NEW_NODE, False, port)
    try:
        lab_cli.wait_systemd(cluster.podman, container)
        lab_cli.import_images(cluster.podman, container)
        yield container
    finally:
        subprocess.run([cluster.kubectl_bin, "--kubeconfig", cluster.kubeconfig, "delete", "node", NEW_NODE,
                        "--ignore-not-found", "--wait=false"], check=False, capture_output=True)
        cluster.podman.run("rm", "-f", "-v", container, check=False)
        cluster.podman.run("volume", "rm", "-f", container + "-containerd", container + "-docker", check=False)


def test_kubeadm_join_with_the_module_material_makes_a_ready_node(cluster, tmp_path, fresh_node):
    material = run_module(cluster, tmp_path, "present")
    assert material["created"] is True and material["token_id"] and material["ca_cert_hash"].startswith("sha256:")
    # the hash kubeadm itself prints for this cluster
    printed = cluster.podman.exec(lab_cli.CONTAINER_PREFIX + "cp1", "kubeadm", "token", "create", "--ttl", "10m",
                                  "--print-join-command").stdout.split()
    assert printed[printed.index("--discovery-token-ca-cert-hash") + 1] == material["ca_cert_hash"]
    words = material["join_command"].split()
    assert words[:2] == ["kubeadm", "join"]
    endpoint, token = words[2], words[words.index("--token") + 1]
    assert token.split(".")[0] == material["token_id"]

    lab_cli.kubeadm_join(cluster.podman, fresh_node, NEW_NODE, (endpoint, token, material["ca_cert_hash"]))
    specs = lab_cli.node_specs(lab_cli.read_state(cluster.paths).get("workers", 2)) + [(fresh_node, NEW_NODE, False)]
    names = [name for _container, name, _cp in specs]
    # kubeadm join returns once the kubelet has its client certificate; the kubelet registers the Node after
    # that, seconds later on a loaded machine.
    wait_for(lambda: subprocess.run([cluster.kubectl_bin, "--kubeconfig", cluster.kubeconfig, "get", "node", NEW_NODE],
                                    check=False, capture_output=True).returncode == 0,
             timeout=180, interval=1, what="the kubelet of %s to register its Node" % NEW_NODE)
    # keep the test's node free of other tests' pods while it is in the cluster
    cordon = subprocess.run([cluster.kubectl_bin, "--kubeconfig", cluster.kubeconfig, "cordon", NEW_NODE],
                            check=False, capture_output=True, universal_newlines=True)
    assert cordon.returncode == 0, cordon.stderr
    lab_cli.configure_pod_network(cluster.podman, specs,
                                  lab_cli.pod_cidrs(cluster.kubectl_bin, cluster.kubeconfig, names))
    lab_cli.wait_nodes_ready(cluster.kubectl_bin, cluster.kubeconfig, [NEW_NODE], timeout=180)
    node = cluster.core.read_node(NEW_NODE)
    assert node.metadata.name == NEW_NODE

    removed = run_module(cluster, tmp_path, "absent", token_id=material["token_id"])
    assert removed["changed"] is True
    secret = "bootstrap-token-" + material["token_id"]
    wait_for(lambda: secret not in [s.metadata.name for s in cluster.core.list_namespaced_secret("kube-system").items],
             timeout=30, what="the token Secret to be deleted")

"""`python -m nodeops_lab.lab up|down|status`: idempotence, inventory, seed workloads."""

import json

import yaml

from nodes_fixtures import LAB_NODES, lab  # noqa: F401  (fixture)

pytestmark = [LAB_NODES]


def _container_ids(lab):
    out = lab.podman("ps", "-a", "--filter", "label=nodeops-lab.dir=" + lab.lab_dir, "--format", "json").stdout
    return {c["Names"][0]: c["Id"] for c in json.loads(out or "[]")}


def test_up_output(lab):
    assert "lab up in" in lab.up_output
    for node in ("lab-cp1", "lab-worker1", "lab-worker2"):
        assert "%s" % node in lab.up_output
    print("first lab up took %.1fs" % lab.up_seconds)


def test_seed_workloads_running(lab):
    pods = lab.core().list_namespaced_pod("lab-apps").items
    assert pods and all(p.status.phase == "Running" for p in pods)
    names = {p.metadata.name for p in pods}
    assert "standalone" in names
    owners = {(p.metadata.owner_references or [None])[0].kind if p.metadata.owner_references else None
              for p in pods}
    assert {"ReplicaSet", "StatefulSet", "DaemonSet", None} <= owners
    workers = {p.spec.node_name for p in pods if p.spec.node_name != "lab-cp1"}
    assert workers == {"lab-worker1", "lab-worker2"}, "seed pods should be spread over both workers"
    from kubernetes import client, config
    policy = client.PolicyV1Api(config.new_client_from_config(config_file=lab.kubeconfig))
    pdbs = {p.metadata.name: p.spec for p in policy.list_namespaced_pod_disruption_budget("lab-apps").items}
    assert pdbs["web"].min_available == 2 and pdbs["api"].max_unavailable == 1


def test_inventory(lab):
    with open(lab.inventory) as fh:
        inv = yaml.safe_load(fh)
    group = inv["all"]["children"]["k8s_cluster"]
    assert group["vars"]["nodeops_kubeconfig"] == lab.kubeconfig
    # the NodeLocal DNSCache role takes the lab's stand-in image and busybox from here
    assert {k: v for k, v in group["vars"].items() if k.startswith("nodelocaldns_")} == {
        "nodelocaldns_image_registry": "localhost/nodeops-lab",
        "nodelocaldns_image_name": "k8s-dns-node-cache",
        "nodelocaldns_image_tag": "1.26.4-sim",
        "nodelocaldns_probe_image": "localhost/nodeops-lab/busybox:1.37",
    }
    cp = group["children"]["kube_control_plane"]["hosts"]
    workers = group["children"]["kube_node"]["hosts"]
    assert list(cp) == ["lab-cp1"] and sorted(workers) == ["lab-worker1", "lab-worker2"]
    host = workers["lab-worker1"]
    assert host["ansible_connection"] == "nodeops_lab.lab.nsenter"
    assert host["ansible_host"] == lab.container("w1")
    assert host["ansible_python_interpreter"] == "/usr/bin/python3"
    assert host["kube_node_name"] == "lab-worker1"


def test_inventory_works_with_ansible(lab):
    import os
    import subprocess
    import sys
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    env = dict(lab.env, CONTAINERS_CONF=lab.containers_conf, ANSIBLE_HOST_KEY_CHECKING="False")
    proc = subprocess.run([ansible, "-i", lab.inventory, "kube_node", "-m", "ansible.builtin.command",
                           "-a", "kubelet --version"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count("CHANGED") == 2 and proc.stdout.count("Kubernetes v1.") == 2


def test_up_again_is_idempotent(lab):
    before = _container_ids(lab)
    proc = lab.cli("up")
    assert "creating container" not in proc.stdout
    assert "build skipped" in proc.stdout
    assert "kubeadm init" not in proc.stdout and "kubeadm join" not in proc.stdout
    assert _container_ids(lab) == before
    assert proc.stdout.count("Ready=True") == 3


def test_status(lab):
    out = lab.cli("status").stdout
    assert lab.container("cp1") in out
    rows = [line.split() for line in out.splitlines() if line.startswith("lab-")]
    assert sorted(r[0] for r in rows) == ["lab-cp1", "lab-worker1", "lab-worker2"]
    assert all(r[1] == "Ready" for r in rows), out


def test_down_twice_then_up(lab):
    lab.cli("down")
    assert _container_ids(lab) == {}
    second = lab.cli("down")
    assert second.returncode == 0
    # bring it back for any test that runs later in the session
    proc = lab.cli("up")
    assert proc.stdout.count("Ready=True") == 3


def test_the_connection_follows_recreated_containers_and_keeps_the_controller_env_out(lab):
    """After down and up (new containers, same names, new init PIDs), nodeops_lab.lab.nsenter reads the
    new init process instead of its cached one; the command runs in the node with the node's environment."""
    import os
    import subprocess
    import sys
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    env = dict(lab.env, CONTAINERS_CONF=lab.containers_conf, PYTHONPATH="/controller-only")
    proc = subprocess.run([ansible, "-i", lab.inventory, "kube_node", "-m", "ansible.builtin.command",
                           "-a", "sh -c 'hostname; echo PYTHONPATH=${PYTHONPATH-unset}; systemctl is-active kubelet'"],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    for node in ("lab-worker1", "lab-worker2"):
        assert "\n%s\nPYTHONPATH=unset\nactive" % node in proc.stdout, proc.stdout

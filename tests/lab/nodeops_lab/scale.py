"""The API-only scale lab: many Nodes and their pods on the lab's real control plane, no containers.

    PYTHONPATH=tests/lab python -m nodeops_lab.scale up [--nodes 100] [--pods-per-node 4]
    PYTHONPATH=tests/lab python -m nodeops_lab.scale status
    PYTHONPATH=tests/lab python -m nodeops_lab.scale down

A control-plane-only kubeadm lab (``nodeops_lab.lab``, in ``$NODEOPS_LAB_DIR``,
default ``<repo>/.lab-scale``, containers ``nodeops-scale-*``, port 16700)
serves the real kube-apiserver, controller manager and scheduler. kwok
(built from ``sigs.k8s.io/kwok``, tests/lab/kwok) runs on this machine
against it and plays the kubelet of the Nodes the lab creates, named
``scale-node-NNN`` and annotated ``kwok.x-k8s.io/node=fake``: Ready, Leases
renewed, pods Running and Ready, deletions completed (tests/lab/kwok/stages.yaml).

Workloads: one Deployment per ten nodes, ``pods-per-node`` replicas per node
on average, each under a PodDisruptionBudget (maxUnavailable 1 for every
other one, 25% for the rest), placed on the fake nodes only (nodeSelector,
toleration of the kwok taint). Nothing here runs a container.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

import yaml

from nodeops_lab import lab

STAGES = os.path.join(lab.LAB_ROOT, "kwok", "stages.yaml")
FAKE_ANNOTATION = "kwok.x-k8s.io/node"
FAKE_TAINT = {"key": FAKE_ANNOTATION, "value": "fake", "effect": "NoSchedule"}
NAMESPACE = "scale-apps"
DEFAULT_DIR = os.path.join(lab.REPO_ROOT, ".lab-scale")
DEFAULT_PORT = 16700


def paths():
    os.environ.setdefault("NODEOPS_LAB_DIR", DEFAULT_DIR)
    return lab.Paths()


def kwok_pid(p):
    try:
        with open(os.path.join(p.lab_dir, "kwok.pid")) as fh:
            pid = int(fh.read().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    with open("/proc/%d/cmdline" % pid, "rb") as fh:
        return pid if b"kwok" in fh.read() else None


def start_kwok(p, k8s_dir):
    pid = kwok_pid(p)
    if pid:
        return pid
    # the default build leaves kwok out: only this lab needs it
    subprocess.run([os.path.join(lab.K8S_DIR, "build.sh"), "kwok"], check=True)
    log_path = os.path.join(p.lab_dir, "kwok.log")
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(
            [os.path.join(k8s_dir, "kwok"), "--kubeconfig", p.kubeconfig, "--config", STAGES,
             "--manage-all-nodes=false",
             "--manage-nodes-with-annotation-selector=%s=fake" % FAKE_ANNOTATION,
             "--node-lease-duration-seconds=40", "--cidr=10.250.0.0/16", "--node-ip=10.251.0.1"],
            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    with open(os.path.join(p.lab_dir, "kwok.pid"), "w") as fh:
        fh.write("%d\n" % proc.pid)
    lab.log("started kwok pid %d (log %s)" % (proc.pid, log_path))
    return proc.pid


def stop_kwok(p):
    pid = kwok_pid(p)
    if pid:
        os.kill(pid, signal.SIGTERM)
        lab.log("stopped kwok (pid %d)" % pid)


def node_names(count):
    return ["scale-node-%03d" % i for i in range(1, count + 1)]


def manifests(nodes, pods_per_node):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
    for name in nodes:
        docs.append({"apiVersion": "v1", "kind": "Node",
                     "metadata": {"name": name, "annotations": {FAKE_ANNOTATION: "fake"},
                                  "labels": {"kubernetes.io/hostname": name, "nodeops.lab/scale": "true",
                                             "kubernetes.io/os": "linux"}},
                     "spec": {"taints": [FAKE_TAINT]}})
    groups = max(1, len(nodes) // 10)
    replicas = max(1, len(nodes) * pods_per_node // groups)
    for i in range(groups):
        app = "app-%02d" % i
        docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": app, "namespace": NAMESPACE},
                     "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                              "template": {"metadata": {"labels": {"app": app}},
                                           "spec": {"nodeSelector": {"nodeops.lab/scale": "true"},
                                                    "tolerations": [dict(FAKE_TAINT, operator="Equal")],
                                                    "terminationGracePeriodSeconds": 1,
                                                    "containers": [{"name": "main",
                                                                    "image": "localhost/nodeops-lab/busybox:1.37"}]}}}})
        budget = {"maxUnavailable": 1} if i % 2 == 0 else {"maxUnavailable": "25%"}
        docs.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                     "metadata": {"name": app, "namespace": NAMESPACE},
                     "spec": dict(budget, selector={"matchLabels": {"app": app}})})
    return docs, groups * replicas


def wait_scale(kubectl, kubeconfig, nodes, pods, timeout):
    deadline = time.time() + timeout
    while True:
        ready_nodes = sum(1 for n in lab.kubectl_json(kubectl, kubeconfig, "get", "nodes", "-l",
                                                      "nodeops.lab/scale=true")["items"]
                          if lab.node_ready(n) == "True")
        running = sum(1 for pod in lab.kubectl_json(kubectl, kubeconfig, "-n", NAMESPACE, "get", "pods")["items"]
                      if pod["status"].get("phase") == "Running")
        if ready_nodes >= nodes and running >= pods:
            return ready_nodes, running
        if time.time() > deadline:
            raise lab.LabError("scale lab: %d of %d nodes Ready, %d of %d pods Running after %ds"
                               % (ready_nodes, nodes, running, pods, timeout))
        time.sleep(3)


def cmd_up(args):
    started = time.time()
    p = paths()
    os.environ.setdefault("NODEOPS_LAB_CONTAINER_PREFIX", "nodeops-scale-")
    lab.CONTAINER_PREFIX = os.environ["NODEOPS_LAB_CONTAINER_PREFIX"]
    port = args.port or lab.read_state(p).get("port") or DEFAULT_PORT
    lab.bring_up(p, workers=0, port=port, seed=False)
    k8s_dir = lab.k8s_binaries()
    kubectl = lab.kubectl_path(k8s_dir)
    start_kwok(p, k8s_dir)
    nodes = node_names(args.nodes)
    docs, pods = manifests(nodes, args.pods_per_node)
    lab.kubectl_run(kubectl, p.kubeconfig, "apply", "--server-side", "--field-manager", "nodeops-lab",
                    "-f", "-", input=yaml.safe_dump_all(docs), timeout=600)
    ready, running = wait_scale(kubectl, p.kubeconfig, len(nodes), pods, args.timeout)
    lab.log("scale lab up in %.1fs: %d fake nodes Ready, %d pods Running (kubeconfig %s)"
            % (time.time() - started, ready, running, p.kubeconfig))
    return 0


def cmd_status(args):
    p = paths()
    print("kwok: %s" % ("pid %d" % kwok_pid(p) if kwok_pid(p) else "not running"))
    return lab.cmd_status(args)


def cmd_down(args):
    p = paths()
    os.environ.setdefault("NODEOPS_LAB_CONTAINER_PREFIX", "nodeops-scale-")
    stop_kwok(p)
    return lab.cmd_down(args)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nodeops_lab.scale", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="control plane, kwok, fake nodes and their workloads")
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--pods-per-node", type=int, default=4)
    p.add_argument("--port", type=int, default=None, help="API server port (default %d)" % DEFAULT_PORT)
    p.add_argument("--timeout", type=int, default=600)
    p.set_defaults(func=cmd_up)
    sub.add_parser("status").set_defaults(func=cmd_status)
    sub.add_parser("down").set_defaults(func=cmd_down)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

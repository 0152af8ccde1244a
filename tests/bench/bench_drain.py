"""Benchmark: drain one worker of the simulated cluster three ways and compare.

    make bench-drain            # or: python tests/bench/bench_drain.py [--time-scale 0.05] [--timeout 300]

A private simulated API server gets three nodes; ~60 pods of several
Deployments, each under a PodDisruptionBudget, plus a DaemonSet, run on w1.
w1 is then drained by

  1. nodeops.kubernetes.drain (ansible-playbook),
  2. kubectl drain --ignore-daemonsets --delete-emptydir-data --force --timeout ...,
  3. kubernetes.core.k8s_drain (ansible-playbook) with the equivalent options,

and the cluster is put back between the runs (w1 uncordoned, the pods back on it).
Prints the wall time of each run, whether it completed, and ours/kubectl.
Not a test: it reports, it does not assert.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from conftest import (ANSIBLE_PLAYBOOK, COLLECTIONS, PYTHON, Lab, daemonset,  # noqa: E402
                      deployment, node, pdb)

KUBECTL = "/usr/bin/kubectl"
WORKLOADS = [  # name, replicas, budget
    ("shop", 12, dict(max_unavailable=2)),
    ("cart", 10, dict(min_available="80%")),
    ("search", 10, dict(max_unavailable="20%")),
    ("auth", 8, dict(min_available=6)),
    ("feed", 10, dict(max_unavailable=1)),
    ("media", 10, dict(max_unavailable=3)),
]
TOTAL = sum(w[1] for w in WORKLOADS)


def seed():
    docs = [node("w1"), node("w2", unschedulable=True, cpu="16", memory="32Gi"),
            node("w3", unschedulable=True, cpu="16", memory="32Gi"), daemonset("agent")]
    for name, replicas, budget in WORKLOADS:
        docs.append(deployment(name, replicas, emptydir=(name == "media")))
        docs.append(pdb(name, name, **budget))
    return docs


def workload_pods(lab, node_name=None):
    apps = set(w[0] for w in WORKLOADS)
    return [p for p in lab.pods(node_name) if (p["metadata"].get("labels") or {}).get("app") in apps]


def put_back(lab):
    """All workload pods running on w1 again, w1 schedulable, w2 and w3 schedulable."""
    lab.set_unschedulable("w2", True)
    lab.set_unschedulable("w3", True)
    lab.set_unschedulable("w1", False)
    for pod in workload_pods(lab):
        if pod["spec"].get("nodeName") != "w1":
            lab.client.delete_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], 0)
    lab.wait_for(lambda: len([p for p in workload_pods(lab, "w1") if not p["metadata"].get("deletionTimestamp")
                              and p["status"].get("phase") == "Running"]) == TOTAL
                 and not [p for p in workload_pods(lab) if p["spec"].get("nodeName") != "w1"],
                 timeout=120, interval=0.3, what="the %d workload pods back on w1" % TOTAL)
    lab.wait_running(TOTAL + 1, "w1", timeout=120)
    # Let the budgets see every pod healthy before the next drain.
    lab.wait_for(lambda: all((lab.pdb_status("default", w[0]) or {}).get("currentHealthy") == w[1]
                             for w in WORKLOADS), timeout=60, what="budgets up to date")
    lab.set_unschedulable("w2", False)
    lab.set_unschedulable("w3", False)


def run_playbook(lab, task, workdir):
    path = os.path.join(workdir, "bench-%d.yml" % time.time_ns())
    with open(path, "w") as handle:
        handle.write(textwrap.dedent("""\
            - hosts: localhost
              gather_facts: false
              tasks:
            """) + textwrap.indent(textwrap.dedent(task), "    "))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS + os.pathsep + os.path.join(
        os.path.dirname(PYTHON), "..", "lib"), ANSIBLE_PYTHON_INTERPRETER=PYTHON, ANSIBLE_NOCOLOR="1",
        K8S_AUTH_KUBECONFIG=lab.kubeconfig, ANSIBLE_LOCALHOST_WARNING="0")
    started = time.monotonic()
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", path], env=env, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return time.monotonic() - started, proc.returncode == 0, proc.stdout


def last_error(output):
    for line in output.splitlines():
        if "msg" in line or line.startswith("fatal") or "[ERROR]" in line:
            return line.strip()[:220]
    return ""


def bench_ours(lab, timeout, workdir):
    return run_playbook(lab, """\
        - name: Drain w1 with nodeops.kubernetes.drain
          nodeops.kubernetes.drain:
            name: w1
            state: drain
            ignore_daemonsets: true
            delete_emptydir_data: true
            force: true
            timeout: %d
        """ % timeout, workdir)


def bench_kubectl(lab, timeout, workdir):
    started = time.monotonic()
    proc = subprocess.run([KUBECTL, "--kubeconfig", lab.kubeconfig, "drain", "w1", "--ignore-daemonsets",
                           "--delete-emptydir-data", "--force", "--timeout=%ds" % timeout], check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return time.monotonic() - started, proc.returncode == 0, proc.stdout


def bench_k8s_drain(lab, timeout, workdir):
    return run_playbook(lab, """\
        - name: Drain w1 with kubernetes.core.k8s_drain
          kubernetes.core.k8s_drain:
            name: w1
            state: drain
            delete_options:
              ignore_daemonsets: true
              delete_emptydir_data: true
              force: true
              wait_timeout: %d
        """ % timeout, workdir)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="simulated-time multiplier of the API server (grace periods, pod start-up)")
    parser.add_argument("--timeout", type=int, default=300, help="drain timeout given to every tool, seconds")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="nodeops-bench-drain-")
    print("starting the simulated API server (time scale %s) in %s" % (args.time_scale, workdir), flush=True)
    lab = Lab(seed(), time_scale=args.time_scale, state_dir=workdir)
    rows = []
    try:
        lab.wait_running(TOTAL + 1, "w1", timeout=120)
        lab.set_unschedulable("w2", False)
        lab.set_unschedulable("w3", False)
        runs = [("nodeops.kubernetes.drain", bench_ours), ("kubectl drain", bench_kubectl),
                ("kubernetes.core.k8s_drain", bench_k8s_drain)]
        for index, (label, runner) in enumerate(runs):
            if index:
                put_back(lab)
            print("draining w1 (%d workload pods under budgets + 1 DaemonSet pod) with %s ..."
                  % (TOTAL, label), flush=True)
            seconds, ok, output = runner(lab, args.timeout, workdir)
            left = len(list(workload_pods(lab, "w1")))
            rows.append((label, seconds, ok, left, "" if ok else last_error(output)))
            with open(os.path.join(workdir, "%d-output.txt" % index), "w") as handle:
                handle.write(output)
    finally:
        lab.stop()
    print()
    print("%-28s %10s  %-9s %-14s %s" % ("tool", "wall (s)", "completed", "pods left on w1", "note"))
    for label, seconds, ok, left, note in rows:
        print("%-28s %10.1f  %-9s %-14d %s" % (label, seconds, "yes" if ok else "no", left, note))
    ours = rows[0][1]
    kubectl = rows[1][1] if len(rows) > 1 else None
    if kubectl:
        print("\nratio ours/kubectl: %.2f" % (ours / kubectl))
    print("outputs kept in %s" % workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

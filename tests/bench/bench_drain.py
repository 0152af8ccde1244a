"""Benchmark: drain lab-worker1 of the real kubeadm lab four ways and compare.

    make bench-drain        # or: PYTHONPATH=tests/lab .venv/bin/python tests/bench/bench_drain.py [--runs 5]
                            #     [--case pdb] [--case plain] [--case mixed]

Uses the lab of $NODEOPS_LAB_DIR (default <repo>/.lab; brought up when it does
not answer). Each case (CASES) runs its Deployments plus a DaemonSet on
lab-worker1 in namespace drain-bench (the seed workloads are moved to
lab-worker2 first):

  pdb    20 pods in 2 Deployments, each under a budget of maxUnavailable 1
         (PodDisruptionBudget-serialised: a replacement must be Ready before
         the next pod of its Deployment may go);
  plain  20 pods in 4 Deployments, no budget;
  mixed  28 pods under budgets of several shapes, one serialised, emptyDir.

lab-worker1 is drained by

  1. nodeops.kubernetes.drain (ansible-playbook; its own durations.total is
     printed too, the time inside the module),
  2. kubectl drain --ignore-daemonsets --delete-emptydir-data --force --timeout ...
     (the lab's kubectl, same build as the cluster),
  3. kubernetes.core.k8s_drain (ansible-playbook) with the equivalent options,
  4. the same kubectl drain as a task of a playbook (ansible.builtin.command):
     what an Ansible user runs without a drain module, with the same
     ansible-playbook start as 1 and 3,

and the cluster is put back between the runs (lab-worker1 uncordoned, the pods
running on it again, every budget healthy). Each round runs the four once
(each goes first in turn); the table shows every run, then the medians and
the ratios of ours to each of the others (per round, median).
Not a test: it reports, it does not assert.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from conftest import (ANSIBLE_PLAYBOOK, COLLECTIONS, PYTHON, W1, W2, Cluster, daemonset,  # noqa: E402
                      deployment, is_ready, pdb, wait_for)

# Benchmarks time what users run: no test-run bytecode cache (tests/lab/nodeops_lab/bytecode_cache.py)
# in the Ansible runs they start.
os.environ.pop("NODEOPS_LAB_BYTECODE_CACHE", None)

NAMESPACE = "drain-bench"
MODULE_TOTAL = re.compile(r"BENCH_MODULE_TOTAL=([0-9.]+)")
# kubectl drain run by ansible-playbook (ansible.builtin.command): the same Ansible start as ours
KUBECTL_PLAYBOOK = "kubectl drain from a playbook"
BENCH_LABEL = "drain-bench.nodeops.io/owner"
# The cases: name -> workloads (name, replicas, budget or None). Every case adds a DaemonSet.
CASES = {
    # PodDisruptionBudget-serialised: every budget lets one pod go at a time, so each pod waits for the
    # replacement of the one before it to be Ready. kubectl retries a refused pod every 5 s; ours reads the
    # budgets and sends the next pod as soon as its budget has room.
    "pdb": [("feed", 10, dict(max_unavailable=1)), ("cart", 10, dict(max_unavailable=1))],
    # Everything else: no budget refuses anything; the drain is the evictions and the wait for the pods to go.
    "plain": [("feed", 5, None), ("cart", 5, None), ("search", 5, None), ("media", 5, None)],
    # The mix of earlier runs: budgets of several shapes, one serialised, and emptyDir pods.
    "mixed": [("shop", 8, dict(max_unavailable=2)), ("cart", 5, dict(min_available="80%")),
              ("search", 5, dict(max_unavailable="20%")), ("feed", 6, dict(max_unavailable=1)),
              ("media", 4, dict(max_unavailable=2))],
}
APPS = set(w[0] for workloads in CASES.values() for w in workloads)


def docs(workloads):
    items = [daemonset("agent")]
    for name, replicas, budget in workloads:
        items.append(deployment(name, replicas, emptydir=(name == "media")))
        if budget:
            items.append(pdb(name, name, **budget))
    return items


class Bench(object):
    def __init__(self, cluster, workdir, workloads):
        self.cluster = cluster
        self.workdir = workdir
        self.workloads = workloads
        self.total = sum(w[1] for w in workloads)
        self.budgets = len([w for w in workloads if w[2]])
        self.last_inside = None

    # -- the workloads -----------------------------------------------------

    def pods(self):
        return self.cluster.kubectl_json("-n", NAMESPACE, "get", "pods")["items"]

    def workload_pods(self, node_name=None):
        return [p for p in self.pods() if (p["metadata"].get("labels") or {}).get("app") in APPS
                and (node_name is None or p["spec"].get("nodeName") == node_name)]

    def delete_namespace(self):
        self.cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false")
        self.cluster.kubectl("-n", NAMESPACE, "delete", "pods", "--all", "--grace-period=0", "--force",
                             "--ignore-not-found", "--wait=false", check=False)
        wait_for(lambda: not self.cluster.kubectl("get", "namespace", NAMESPACE, "--ignore-not-found", "-o",
                                                  "name").strip(),
                 timeout=180, interval=1, what="namespace %s gone" % NAMESPACE)

    def create(self):
        self.cluster.kubectl("create", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": {BENCH_LABEL: "bench"}}}))
        wait_for(lambda: self.cluster.kubectl("-n", NAMESPACE, "get", "serviceaccount", "default",
                                              "--ignore-not-found", "-o", "name").strip(),
                 timeout=60, what="the default ServiceAccount")
        items = []
        for doc in docs(self.workloads):
            doc["metadata"]["namespace"] = NAMESPACE
            items.append(doc)
        self.cluster.set_unschedulable(W2, True)
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
        self.cluster.kubectl("create", "-f", "-", input=body)
        self.settle()

    def settle(self):
        """Every workload pod Ready on lab-worker1, none elsewhere, budgets computed and healthy;
        then lab-worker2 schedulable again."""
        def placed():
            pods = self.workload_pods()
            on_w1 = [p for p in pods if p["spec"].get("nodeName") == W1 and not p["metadata"].get("deletionTimestamp")
                     and is_ready(p)]
            return len(on_w1) == self.total and len(pods) == self.total
        wait_for(placed, timeout=300, interval=1, what="the %d workload pods Ready on %s" % (self.total, W1))

        def budgets():
            items = self.cluster.kubectl_json("-n", NAMESPACE, "get", "poddisruptionbudgets")["items"]
            return len(items) == self.budgets and all(
                (i.get("status") or {}).get("observedGeneration") == i["metadata"].get("generation")
                and (i.get("status") or {}).get("currentHealthy") == (i.get("status") or {}).get("expectedPods")
                and (i.get("status") or {}).get("expectedPods", 0) > 0 for i in items)
        if self.budgets:
            wait_for(budgets, timeout=120, interval=1, what="budgets up to date")
        wait_for(lambda: [p for p in self.pods() if p["spec"].get("nodeName") == W1
                          and (p["metadata"].get("labels") or {}).get("app") == "agent" and is_ready(p)],
                 timeout=60, interval=1, what="the DaemonSet pod on " + W1)
        self.cluster.set_unschedulable(W2, False)

    def put_back(self):
        """lab-worker1 schedulable, lab-worker2 cordoned, the pods elsewhere deleted (recreated on lab-worker1)."""
        self.cluster.set_unschedulable(W2, True)
        self.cluster.set_unschedulable(W1, False)
        away = [p["metadata"]["name"] for p in self.workload_pods() if p["spec"].get("nodeName") != W1]
        if away:
            self.cluster.kubectl("-n", NAMESPACE, "delete", "pods", "--grace-period=0", "--force", "--wait=false",
                                 *away, check=False)
        self.settle()

    # -- the four tools ---------------------------------------------------

    def run_playbook(self, task):
        path = os.path.join(self.workdir, "bench-%d.yml" % time.time_ns())
        with open(path, "w") as handle:
            handle.write(textwrap.dedent("""\
                - hosts: localhost
                  gather_facts: false
                  tasks:
                """) + textwrap.indent(textwrap.dedent(task), "    "))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS + os.pathsep + os.path.join(
            os.path.dirname(PYTHON), "..", "lib"), ANSIBLE_PYTHON_INTERPRETER=PYTHON, ANSIBLE_NOCOLOR="1",
            K8S_AUTH_KUBECONFIG=self.cluster.kubeconfig, ANSIBLE_LOCALHOST_WARNING="0")
        started = time.monotonic()
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", path], env=env, check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        return time.monotonic() - started, proc.returncode == 0, proc.stdout

    def ours(self, timeout):
        # The module's own time is printed by a debug task (no module process, unlike a copy to a file,
        # which added a module run to our wall time and to no other tool's).
        seconds, ok, output = self.run_playbook("""\
            - name: Drain lab-worker1 with nodeops.kubernetes.drain
              nodeops.kubernetes.drain:
                name: %s
                kubeconfig: %s
                state: drain
                ignore_daemonsets: true
                delete_emptydir_data: true
                force: true
                timeout: %d
              register: drained
            - name: Show the module's own time
              ansible.builtin.debug:
                msg: "BENCH_MODULE_TOTAL={{ drained.durations.total }}"
            """ % (W1, self.cluster.kubeconfig, timeout))
        found = MODULE_TOTAL.search(output)
        self.last_inside = float(found.group(1)) if found else None
        return seconds, ok, output

    def kubectl(self, timeout):
        started = time.monotonic()
        proc = subprocess.run([self.cluster.kubectl_bin, "--kubeconfig", self.cluster.kubeconfig, "drain", W1,
                               "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                               "--timeout=%ds" % timeout], check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        return time.monotonic() - started, proc.returncode == 0, proc.stdout

    def kubectl_playbook(self, timeout):
        """kubectl drain as a task of a playbook: what an Ansible user runs without a drain module."""
        return self.run_playbook("""\
            - name: Drain lab-worker1 with kubectl drain from a playbook
              ansible.builtin.command:
                argv: [%s, --kubeconfig, %s, drain, %s, --ignore-daemonsets, --delete-emptydir-data, --force,
                       --timeout=%ds]
              changed_when: true
            """ % (self.cluster.kubectl_bin, self.cluster.kubeconfig, W1, timeout))

    def k8s_drain(self, timeout):
        return self.run_playbook("""\
            - name: Drain lab-worker1 with kubernetes.core.k8s_drain
              kubernetes.core.k8s_drain:
                name: %s
                state: drain
                delete_options:
                  ignore_daemonsets: true
                  delete_emptydir_data: true
                  force: true
                  wait_timeout: %d
            """ % (W1, timeout))


def last_error(output):
    for line in output.splitlines():
        if line.startswith("fatal") or "[ERROR]" in line or line.startswith("error"):
            return line.strip()[:200]
    return ""


def ratio_line(label, pairs):
    ratios = [a / b for a, b in pairs if b]
    if not ratios:
        return "%s: n/a" % label
    rounds = ", ".join("%.2f" % r for r in ratios)
    return "%s: median %.2f  (per round: %s)" % (label, statistics.median(ratios), rounds)


def run_case(cluster, case, runs, timeout):
    """The paired rounds of one case; returns the rows."""
    workdir = tempfile.mkdtemp(prefix="nodeops-bench-drain-%s-" % case)
    bench = Bench(cluster, workdir, CASES[case])
    tools = [("nodeops.kubernetes.drain", bench.ours), ("kubectl drain", bench.kubectl),
             ("kubernetes.core.k8s_drain", bench.k8s_drain), (KUBECTL_PLAYBOOK, bench.kubectl_playbook)]
    rows = []
    try:
        bench.delete_namespace()
        cluster.clear_worker1()
        print("[%s] creating %d workload pods (%d Deployments, %d budgets) + a DaemonSet on %s ..."
              % (case, bench.total, len(CASES[case]), bench.budgets, W1), flush=True)
        bench.create()
        first = True
        for round_no in range(1, runs + 1):
            # each tool in turn goes first, so that none always drains right after the put-back
            shift = (round_no - 1) % len(tools)
            order = tools[shift:] + tools[:shift]
            for label, runner in order:
                if not first:
                    bench.put_back()
                first = False
                print("[%s] round %d: draining %s with %s ..." % (case, round_no, W1, label), flush=True)
                bench.last_inside = None
                seconds, ok, output = runner(timeout)
                left = len([p for p in bench.workload_pods(W1) if not p["metadata"].get("deletionTimestamp")])
                inside = bench.last_inside if label == tools[0][0] else None
                rows.append(dict(case=case, round=round_no, tool=label, wall=seconds, ok=ok, left=left,
                                 inside=inside, note="" if ok else last_error(output)))
                print("  %.1f s%s, completed: %s, pods left on %s: %d"
                      % (seconds, "" if inside is None else " (module %.1f s)" % inside, "yes" if ok else "no",
                         W1, left), flush=True)
                with open(os.path.join(workdir, "%d-%s.txt" % (round_no, label.replace(" ", "_"))), "w") as handle:
                    handle.write(output)
    finally:
        for name in (W1, W2):
            cluster.set_unschedulable(name, False)
        bench.delete_namespace()
    print("[%s] outputs kept in %s" % (case, workdir), flush=True)
    return rows, bench.total


def report(case, rows, total):
    tools = ["nodeops.kubernetes.drain", "kubectl drain", "kubernetes.core.k8s_drain", KUBECTL_PLAYBOOK]
    print()
    print("case %s: %d workload pods" % (case, total))
    header = ("round", "tool", "wall (s)", "module (s)", "completed", "pods left on w1", "note")
    print("%-5s %-29s %9s %11s  %-9s %-15s %s" % header)
    for row in rows:
        inside = "" if row["inside"] is None else "%.1f" % row["inside"]
        values = (row["round"], row["tool"], row["wall"], inside, "yes" if row["ok"] else "no", row["left"],
                  row["note"])
        print("%-5d %-29s %9.1f %11s  %-9s %-15d %s" % values)
    walls = {}
    for row in rows:
        walls.setdefault(row["tool"], {})[row["round"]] = row["wall"]
    for label in tools:
        values = list(walls.get(label, {}).values())
        if values:
            print("median wall %-29s %6.1f s" % (label, statistics.median(values)))
    inside = [r["inside"] for r in rows if r["inside"] is not None]
    if inside:
        print("median module time of ours (durations.total)  %6.1f s" % statistics.median(inside))
    ours = walls.get(tools[0], {})
    for label in tools[1:]:
        other = walls.get(label, {})
        print(ratio_line("ratio ours/%s" % label, [(ours[r], other[r]) for r in sorted(ours) if r in other]))
    kubectl = walls.get(tools[1], {})
    module = dict((r["round"], r["inside"]) for r in rows if r["inside"] is not None)
    print(ratio_line("ratio ours (module time)/kubectl drain",
                     [(module[r], kubectl[r]) for r in sorted(module) if r in kubectl]))
    print("(a run that did not complete is timed to its failure)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="paired rounds per case (each drains once with every tool)")
    parser.add_argument("--timeout", type=int, default=240, help="drain timeout given to every tool, seconds")
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="case to run (repeatable; default: pdb and plain)")
    args = parser.parse_args(argv)
    cluster = Cluster.connect()
    print("lab: %s (kubectl %s)" % (cluster.paths.lab_dir, cluster.kubectl_bin), flush=True)
    results = []
    for case in args.case or ["pdb", "plain"]:
        rows, total = run_case(cluster, case, args.runs, args.timeout)
        results.append((case, rows, total))
    for case, rows, total in results:
        report(case, rows, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the rolling node maintenance (cordon, drain, Ready wait, uncordon) on 10, 50 and 100 API-only nodes.

    make bench-rollout-scale   # or: PYTHONPATH=tests/lab .venv/bin/python tests/bench/bench_rollout_scale.py
                               #     [--sizes 10,50,100] [--serials 1,10%] [--runs 1] [--port 16740] [--down]

The question it answers: does the time per node of a rolling operation stay flat as the fleet grows (the
target: within 20 % between 10 and 100 nodes), and how many API requests does one node cost?

Uses the API-only scale lab of $NODEOPS_LAB_DIR (``nodeops_lab.scale``, default <repo>/.lab-scale): a real
kube-apiserver, controller manager and scheduler, and 100 Nodes scale-node-NNN whose kubelets kwok plays
(Ready, Leases renewed, pods Running, deletions completed), with 400 pods in 10 Deployments, each under a
PodDisruptionBudget. ``scale up --nodes <largest size>`` is run first (it reuses a lab that is up; ``--no-up``
skips it; ``--port`` is handed to it).

Each run writes an inventory with the first N kwok nodes as hosts of kube_node (group k8s_cluster, children
kube_control_plane, empty, and kube_node; ``kube_node_name``, ``ansible_connection: local``, this python) and
runs ``playbooks/node_maintenance.yml`` over them with ``node_maintenance_hosts=kube_node``, the serial of the
run (``node_maintenance_serial``) and the role's default drain settings. Every module talks to the API server
through the proxy of tests/faults/proxy.py with no fault rule (``nodeops_kubeconfig`` is the proxy's
kubeconfig): the proxy only counts the requests, by verb and resource, and a small callback notes when each
play starts, so the requests of the preflight (play 2, a dry-run drain of every node) and of the rollout
(play 3) are counted apart. Ansible's forks are fixed (``--forks``, default 10, the largest batch of serial
10% at 100 nodes), so that only N and the serial change between runs.

Before every run the cluster is put back: every scale node uncordoned, the pods of the Deployments deleted so
that the scheduler spreads them again over all the nodes (about 4 per node, as after ``scale up``), every pod
Running and Ready, every budget up to date and allowing a disruption.

Per run it prints N, the serial, the wall time and the time per node (wall / N, and the rollout play's time /
N), the per-node durations of the run's report (drain, uncordon, total), the pods evicted, the API requests in
all, per node and by verb and resource, and the load average at the start. Then, per serial, the time per
node at each size and the ratio max / min (the "flat within 20 %" figure). It fails only when a run does not
complete with every node ``changed``; it asserts nothing about the times.

kwok is not a kubelet: the node-side part of the wait for Ready is the API server's view of a node that kwok
keeps Ready, and evicted pods end as soon as kwok completes their deletion.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LAB_PATH = os.path.join(REPO_ROOT, "tests", "lab")
TESTS_PATH = os.path.join(REPO_ROOT, "tests")
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "node_maintenance.yml")
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(PYTHON), "ansible-playbook")
for _path in (LAB_PATH, TESTS_PATH):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from nodeops_lab import lab, scale  # noqa: E402
from faults.proxy import FaultProxy  # noqa: E402
# The scale lab and the collection path as the audit benchmark (same directory) sets them up.
from bench_audit import collection_path, scale_up  # noqa: E402

# The plays of playbooks/node_maintenance.yml, in order, as the callback below notes their start.
PLAYS = ("targets", "preflight", "rollout", "report")

# An Ansible callback, written into the bench's work directory: the time each play starts, one JSON line each.
CALLBACK = '''
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

# Benchmarks time what users run: no test-run bytecode cache (tests/lab/nodeops_lab/bytecode_cache.py)
# in the Ansible runs they start.
os.environ.pop("NODEOPS_LAB_BYTECODE_CACHE", None)

DOCUMENTATION = """
name: bench_play_times
type: aggregate
short_description: the start time of each play, for bench_rollout_scale.py
description: [Appends one JSON line per play start (and one at the end) to $BENCH_PLAY_TIMES.]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_play_times"
    CALLBACK_NEEDS_ENABLED = True

    def _note(self, name):
        with open(os.environ["BENCH_PLAY_TIMES"], "a") as handle:
            handle.write(json.dumps({"play": name, "time": time.time()}) + "\\n")

    def v2_playbook_on_play_start(self, play):
        self._note(play.get_name())

    def v2_playbook_on_stats(self, stats):
        self._note("end")
'''


class BenchError(SystemExit):
    pass


def load():
    return " ".join("%.1f" % value for value in os.getloadavg())


def say(message):
    print(message, flush=True)


# ---------------------------------------------------------------- the lab

class Cluster(object):
    """The scale lab, read and put back with the lab's kubectl and admin kubeconfig (not through the proxy)."""

    def __init__(self, kubeconfig):
        self.kubeconfig = kubeconfig
        self.kubectl = lab.kubectl_path(lab.k8s_binaries())

    def json(self, *args):
        return lab.kubectl_json(self.kubectl, self.kubeconfig, *args)

    def run(self, *args, **options):
        return lab.kubectl_run(self.kubectl, self.kubeconfig, *args, **options)

    def nodes(self):
        return self.json("get", "nodes", "-l", "nodeops.lab/scale=true")["items"]

    def ready_nodes(self):
        return sorted(n["metadata"]["name"] for n in self.nodes() if lab.node_ready(n) == "True")

    def pods(self):
        return self.json("-n", scale.NAMESPACE, "get", "pods")["items"]

    def pods_per_node(self):
        counts = {}
        for pod in self.pods():
            node = pod["spec"].get("nodeName")
            if node and not pod["metadata"].get("deletionTimestamp"):
                counts[node] = counts.get(node, 0) + 1
        return counts

    def put_back(self, timeout=600):
        """Every scale node uncordoned, the pods spread again over all of them, every budget healthy.

        Returns the seconds it took."""
        started = time.monotonic()
        cordoned = [n["metadata"]["name"] for n in self.nodes() if (n.get("spec") or {}).get("unschedulable")]
        if cordoned:
            self.run("uncordon", *cordoned, timeout=300)
        # Deleted, not evicted: the Deployments make new pods at once, which the scheduler spreads over every
        # node, as after `scale up`; the budgets do not apply to a delete.
        self.run("-n", scale.NAMESPACE, "delete", "pods", "--all", "--wait=false", timeout=300)
        self.wait_settled(started + timeout)
        return time.monotonic() - started

    def wait_settled(self, deadline):
        problem = "not checked yet"
        while time.monotonic() < deadline:
            problem = self.unsettled()
            if problem is None:
                return
            time.sleep(2)
        raise BenchError("bench-rollout-scale: FAILED: the cluster did not settle: %s" % problem)

    def unsettled(self):
        """None when every Deployment has all its pods Ready and every budget allows a disruption; else why not."""
        if any((n.get("spec") or {}).get("unschedulable") for n in self.nodes()):
            return "a scale node is cordoned"
        deployments = self.json("-n", scale.NAMESPACE, "get", "deployments")["items"]
        wanted = sum(d["spec"].get("replicas", 1) for d in deployments)
        for d in deployments:
            status = d.get("status") or {}
            if (status.get("observedGeneration") != d["metadata"]["generation"]
                    or status.get("readyReplicas", 0) != d["spec"].get("replicas", 1)
                    or status.get("replicas", 0) != d["spec"].get("replicas", 1)):
                return "Deployment %s: %s of %s ready" % (d["metadata"]["name"], status.get("readyReplicas", 0),
                                                          d["spec"].get("replicas", 1))
        pods = self.pods()
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        running = [p for p in live if (p.get("status") or {}).get("phase") == "Running"]
        if len(pods) != wanted or len(running) != wanted:
            counts = (len(pods), len(running), len(pods) - len(live), wanted)
            return "%d pods (%d Running, %d terminating), %d wanted" % counts
        for budget in self.json("-n", scale.NAMESPACE, "get", "poddisruptionbudgets")["items"]:
            status = budget.get("status") or {}
            if (status.get("observedGeneration") != budget["metadata"]["generation"]
                    or status.get("currentHealthy", 0) < status.get("expectedPods", 1)
                    or status.get("disruptionsAllowed", 0) < 1):
                return "budget %s: %s of %s healthy, %s disruption(s) allowed" % (
                    budget["metadata"]["name"], status.get("currentHealthy"), status.get("expectedPods"),
                    status.get("disruptionsAllowed"))
        return None


def write_inventory(path, names, kubeconfig):
    hosts = dict((name, {"kube_node_name": name}) for name in names)
    inventory = {"all": {"children": {"k8s_cluster": {
        "vars": {
            "nodeops_kubeconfig": kubeconfig,
            # Every task of node_maintenance is cluster-side (delegated to localhost); local hosts need no SSH.
            "ansible_connection": "local",
            "ansible_python_interpreter": PYTHON,
        },
        "children": {"kube_control_plane": {"hosts": {}}, "kube_node": {"hosts": hosts}}}}}}
    with open(path, "w") as handle:
        handle.write("# bench_rollout_scale.py: the first %d kwok nodes of the scale lab\n" % len(names))
        yaml.safe_dump(inventory, handle, default_flow_style=False, sort_keys=False)
    return path


# ---------------------------------------------------------------- one run

class Run(object):
    """One ansible-playbook run of node_maintenance over N nodes and what it cost."""

    def __init__(self, size, serial, round_no):
        self.size, self.serial, self.round = size, serial, round_no
        self.load = ""
        self.wall = None
        self.plays = {}
        self.nodes = []
        self.pods_before = 0
        self.counts = {}
        self.total_requests = 0
        self.output_path = None

    @property
    def tag(self):
        return "n%d-serial%s-round%d" % (self.size, self.serial.replace("%", "pct"), self.round)

    def play_seconds(self, play):
        """Seconds from the start of ``play`` to the start of the next one (or the end)."""
        names = PLAYS + ("end",)
        index = names.index(play)
        start, end = self.plays.get(play), self.plays.get(names[index + 1])
        return end - start if start is not None and end is not None else None

    def per_node(self, value):
        return value / self.size if value is not None else None


def read_play_times(path):
    """{play: start time} from the callback's lines, plus "end" and "batches" (the start of each batch of play 3).

    Ansible announces a play with serial once per batch: the plays are told apart by their names, in the order
    in which they first appear (PLAYS)."""
    times = {"batches": []}
    if not os.path.exists(path):
        return times
    with open(path) as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    names = []
    for line in lines:
        if line["play"] == "end":
            times["end"] = line["time"]
            continue
        if line["play"] not in names:
            names.append(line["play"])
            if len(names) <= len(PLAYS):
                times[PLAYS[len(names) - 1]] = line["time"]
        if len(names) == PLAYS.index("rollout") + 1 and line["play"] == names[-1]:
            times["batches"].append(line["time"])
    return times


def count_requests(records, plays):
    """{phase: Counter-like dict of verb+resource} for the preflight, the rollout and the whole run."""
    phases = {"all": {}, "preflight": {}, "rollout": {}, "other": {}}
    bounds = [(name, plays.get(name)) for name in PLAYS + ("end",)]
    for record in records:
        phase = "other"
        for (name, start), (_next_name, end) in zip(bounds, bounds[1:]):
            if start is not None and end is not None and start <= record.started < end and name in phases:
                phase = name
        for key in ("all", phase):
            phases[key][record.key] = phases[key].get(record.key, 0) + 1
    return phases


def run_playbook(workdir, cluster, proxy, run, names, forks, extra_vars):
    inventory = write_inventory(os.path.join(workdir, "inventory-%d.yml" % run.size), names, proxy.kubeconfig)
    report_path = os.path.join(workdir, run.tag + ".json")
    times_path = os.path.join(workdir, run.tag + ".plays")
    for path in (report_path, times_path):
        if os.path.exists(path):
            os.unlink(path)
    argv = [ANSIBLE_PLAYBOOK, "-i", inventory, PLAYBOOK, "-e", "node_maintenance_hosts=kube_node",
            "-e", "node_maintenance_serial=%s" % run.serial, "-e", "node_maintenance_report_path=" + report_path]
    for extra in extra_vars:
        argv += ["-e", extra]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_FORKS=str(forks), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_CALLBACK_PLUGINS=workdir,
               ANSIBLE_CALLBACKS_ENABLED="bench_play_times", BENCH_PLAY_TIMES=times_path)
    per_node = cluster.pods_per_node()
    run.pods_before = sum(per_node.get(name, 0) for name in names)
    proxy.reset_counts()
    run.load = load()
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    run.wall = time.monotonic() - started
    proxy.settle()
    run.output_path = os.path.join(workdir, run.tag + ".txt")
    with open(run.output_path, "w") as handle:
        handle.write(proc.stdout)
    if proc.returncode != 0:
        raise BenchError("bench-rollout-scale: FAILED: node_maintenance over %d nodes, serial %s exited with %d; "
                         "output in %s" % (run.size, run.serial, proc.returncode, run.output_path))
    run.plays = read_play_times(times_path)
    records = proxy.records
    run.total_requests = len(records)
    run.counts = count_requests(records, run.plays)
    check_report(run, report_path, names)
    return run


def check_report(run, report_path, names):
    """The report holds exactly the run's nodes, each changed; else the bench fails."""
    try:
        with open(report_path) as handle:
            report = json.load(handle)
    except (OSError, ValueError) as err:
        raise BenchError("bench-rollout-scale: FAILED: no readable report from the run %s: %s; output in %s"
                         % (run.tag, err, run.output_path))
    run.nodes = report.get("nodes") or []
    reported = sorted(entry.get("node") for entry in run.nodes)
    changed = [entry for entry in run.nodes if entry.get("action") == "changed"]
    if reported != sorted(names) or len(changed) != len(names):
        raise BenchError("bench-rollout-scale: FAILED: the run %s reported %d node(s), %d changed (expected %d); "
                         "report %s, output %s" % (run.tag, len(run.nodes), len(changed), len(names), report_path,
                                                   run.output_path))


# ---------------------------------------------------------------- printing

def fmt(value, pattern="%.1f"):
    return pattern % value if value is not None else "-"


def spread(values):
    """'min / median / max' of the values that are known."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return "%.1f / %.1f / %.1f" % (min(values), statistics.median(values), max(values))


def node_durations(run, key):
    return [(entry.get("durations") or {}).get(key) for entry in run.nodes]


def evicted(entry):
    return len((entry.get("details") or {}).get("evicted") or [])


def print_run(run, top=14):
    rollout = run.play_seconds("rollout")
    say("")
    say("== N %d, serial %s, round %d: wall %.1f s, %.2f s per node (rollout play %s s, %s s per node); "
        "load at start %s" % (run.size, run.serial, run.round, run.wall, run.per_node(run.wall), fmt(rollout),
                              fmt(run.per_node(rollout), "%.2f"), run.load))
    batches = run.plays.get("batches") or []
    lengths = [b - a for a, b in zip(batches, batches[1:] + [run.plays.get("report")]) if b is not None]
    say("   plays: %s; play 3 in %d batch(es) of %s s (min / median / max)" % (
        ", ".join("%s %s s" % (name, fmt(run.play_seconds(name))) for name in PLAYS), len(batches), spread(lengths)))
    say("   pods on the %d nodes before the run: %d; evicted by the run: %d" % (
        run.size, run.pods_before, sum(evicted(entry) for entry in run.nodes)))
    say("   per-node durations from the report, min / median / max (s): drain %s; uncordon (Ready wait and "
        "uncordon) %s; total %s" % (spread(node_durations(run, "drain")), spread(node_durations(run, "uncordon")),
                                    spread(node_durations(run, "total"))))
    totals = ["%s %s" % (entry.get("node", "?").replace("scale-node-", ""),
                         fmt((entry.get("durations") or {}).get("total"))) for entry in run.nodes]
    say("   per-node total (s), by node number:")
    for start in range(0, len(totals), 10):
        say("     " + "  ".join(totals[start:start + 10]))
    everything, preflight, rolling = run.counts["all"], run.counts["preflight"], run.counts["rollout"]
    say("   API requests: %d in all, %.1f per node; preflight %d (%.1f per node), rollout %d (%.1f per node), "
        "other plays %d" % (run.total_requests, run.total_requests / float(run.size), sum(preflight.values()),
                            sum(preflight.values()) / float(run.size), sum(rolling.values()),
                            sum(rolling.values()) / float(run.size),
                            run.total_requests - sum(preflight.values()) - sum(rolling.values())))
    say("   %-34s %7s %9s %10s %9s" % ("verb resource", "all", "per node", "preflight", "rollout"))
    keys = sorted(everything, key=lambda key: (-everything[key], key))
    for key in keys[:top]:
        values = (key, everything[key], everything[key] / float(run.size), preflight.get(key, 0), rolling.get(key, 0))
        say("   %-34s %7d %9.2f %10d %9d" % values)
    rest = keys[top:]
    if rest:
        say("   %-34s %7d %9.2f   (%s)" % ("%d other kinds" % len(rest), sum(everything[k] for k in rest),
                                           sum(everything[k] for k in rest) / float(run.size), ", ".join(rest)))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def print_summary(runs, serials, sizes):
    say("")
    say("Time per node by serial and size (median over rounds; wall: the whole ansible-playbook run / N; "
        "rollout: play 3, the rolling drain and uncordon / N; requests: all through the proxy / N)")
    say("%-8s %5s %6s %10s %14s %17s %15s %13s" % ("serial", "N", "runs", "wall (s)", "wall/N (s)",
                                                   "rollout/N (s)", "node total (s)", "requests/N"))
    for serial in serials:
        for size in sizes:
            group = [r for r in runs if r.serial == serial and r.size == size]
            if not group:
                continue
            say("%-8s %5d %6d %10s %14s %17s %15s %13s" % (
                serial, size, len(group), fmt(median([r.wall for r in group])),
                fmt(median([r.per_node(r.wall) for r in group]), "%.2f"),
                fmt(median([r.per_node(r.play_seconds("rollout")) for r in group]), "%.2f"),
                fmt(median([median(node_durations(r, "total")) for r in group])),
                fmt(median([r.total_requests / float(r.size) for r in group]))))
    say("")
    for serial in serials:
        for label, value in (("wall/N", lambda r: r.per_node(r.wall)),
                             ("rollout/N", lambda r: r.per_node(r.play_seconds("rollout"))),
                             ("requests/N", lambda r: r.total_requests / float(r.size))):
            figures = []
            for size in sizes:
                figure = median([value(r) for r in runs if r.serial == serial and r.size == size])
                if figure is not None:
                    figures.append((size, figure))
            if len(figures) < 2:
                continue
            low, high = min(f for _s, f in figures), max(f for _s, f in figures)
            say("serial %-4s %-11s %s: max/min %.2f (%s)" % (
                serial, label, ", ".join("N %d %.2f" % item for item in figures), high / low if low else 0,
                "within 20 %" if low and high / low <= 1.2 else "NOT within 20 %"))


# ---------------------------------------------------------------- main

def parse_list(text, kind):
    items = [item.strip() for item in text.split(",") if item.strip()]
    if kind is int:
        return [int(item) for item in items]
    return items


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,100", help="numbers of nodes, comma-separated (default 10,50,100)")
    parser.add_argument("--serials", default="1,10%",
                        help="node_maintenance_serial values, comma-separated (default 1,10%%)")
    parser.add_argument("--runs", type=int, default=1, help="rounds of every size and serial (default 1)")
    parser.add_argument("--forks", type=int, default=10, help="ANSIBLE_FORKS of every run (default 10)")
    parser.add_argument("-e", "--extra-vars", action="append", default=[],
                        help="handed to ansible-playbook as -e (e.g. node_maintenance_eviction_retry_interval=1)")
    parser.add_argument("--port", type=int, default=None, help="API server port for `scale up` (its default: 16700)")
    parser.add_argument("--no-up", action="store_true", help="use the running scale lab as it is")
    parser.add_argument("--down", action="store_true", help="take the scale lab down at the end")
    args = parser.parse_args(argv)
    sizes = parse_list(args.sizes, int)
    serials = parse_list(args.serials, str)
    largest = max(sizes)

    collection_path()
    paths = scale.paths()
    workdir = tempfile.mkdtemp(prefix="nodeops-bench-rollout-scale-")
    with open(os.path.join(workdir, "bench_play_times.py"), "w") as handle:
        handle.write(CALLBACK)
    say("machine: %d CPU(s), load average %s" % (os.cpu_count(), load()))
    say("sizes %s, serials %s, %d round(s), forks %d%s" % (
        ", ".join(str(s) for s in sizes), ", ".join(serials), args.runs, args.forks,
        "; extra vars: " + " ".join(args.extra_vars) if args.extra_vars else ""))
    if not args.no_up:
        say("scale lab (%s): up with %d nodes ..." % (paths.lab_dir, largest))
        say("scale lab up in %.1f s" % scale_up(largest, args.port))
    cluster = Cluster(paths.kubeconfig)
    names = scale.node_names(largest)
    missing = sorted(set(names) - set(cluster.ready_nodes()))
    if missing:
        raise BenchError("bench-rollout-scale: FAILED: %d of the %d scale nodes are not Ready: %s"
                         % (len(missing), largest, ", ".join(missing[:10])))
    runs = []
    proxy = FaultProxy(paths.kubeconfig, workdir=os.path.join(workdir, "proxy"))
    proxy.start()
    say("fault proxy %s with no fault rule (it only counts requests); kubeconfig %s" % (proxy.url, proxy.kubeconfig))
    try:
        for round_no in range(1, args.runs + 1):
            order = [(serial, size) for serial in serials for size in sizes]
            if round_no % 2 == 0:
                order.reverse()
            for serial, size in order:
                say("")
                say("putting the cluster back (all nodes uncordoned, pods spread again, budgets healthy) ...")
                say("  done in %.1f s; load average %s" % (cluster.put_back(), load()))
                say("round %d: node_maintenance over %d nodes, serial %s ..." % (round_no, size, serial))
                run = run_playbook(workdir, cluster, proxy, Run(size, serial, round_no), names[:size], args.forks,
                                   args.extra_vars)
                runs.append(run)
                print_run(run)
        say("")
        say("putting the cluster back after the last run ...")
        say("  done in %.1f s" % cluster.put_back())
    finally:
        proxy.stop()
        if args.down:
            subprocess.run([PYTHON, "-m", "nodeops_lab.scale", "down"], check=False,
                           env=dict(os.environ, PYTHONPATH=LAB_PATH + os.pathsep + os.environ.get("PYTHONPATH", "")))
    print_summary(runs, serials, sizes)
    say("")
    say("every run completed with all its nodes changed. load average at the end %s" % load())
    say("outputs, reports, inventories and play times kept in %s" % workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

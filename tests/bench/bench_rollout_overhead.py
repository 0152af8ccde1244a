"""Benchmark: the per-node orchestration overhead of a rolling operation on real kubelets.

    make bench-rollout-overhead   # or: PYTHONPATH=tests/lab .venv/bin/python tests/bench/bench_rollout_overhead.py

The question it answers: of the time a node spends in a rolling operation (--operation: the containerd switch,
playbooks/switch_to_containerd.yml, or the cgroup driver migration, playbooks/migrate_cgroup_driver.yml; serial 1),
how much is neither the drain, nor a service stopped, started or restarted, nor a wait (for a socket,
for Ready)? That rest, the "overhead", is what the collection's own orchestration costs: preflight and scan,
reads, file edits, bookkeeping, report, task dispatch. The target is 10 s per node or less.

Each round brings up a lab of its own (``nodeops_lab.lab up --workers 2`` in --lab-dir, port --port, containers
nodeops-mbo-*; for the switch ``--docker-workers 2``: two Docker-era workers on Docker + cri-dockerd and the real
kubelet), runs the operation over both workers, and takes the lab down; with ``--connections lab,podman`` (the default) a round does
that once per connection, in alternating order, so the two are paired on the same machine at the same time:

- ``lab``: the lab inventory's connection, nodeops_lab.lab.nsenter (one ``nsenter`` into the container per
  command, pipelining on, become with sudo), as SSH with pipelining and a persistent connection reaches real nodes;
- ``podman``: containers.podman.podman with become su (no pipelining: a module costs four podman calls).

A callback written into the work directory notes every task's start and end per host. Per node it prints the
report's step durations and splits the node's total into: the drain step; the service stops, starts and restarts
and the waits for a socket or for Ready (the tasks named "Stop ...", "Start ...", "Enable ... restart ...",
"Disable ...", "Install ...", "Wait ...", the Ready waits of verify and uncordon included); the rest is the
overhead (includes are not counted as tasks). It prints the medians per connection and the ratio. Not a test: it fails
only when a run does not end with both workers changed.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LAB_PATH = os.path.join(REPO_ROOT, "tests", "lab")
# operation -> (playbook, prefix of its variables, arguments of `lab up` beyond --workers 2)
OPERATIONS = {
    "containerd_switch": ("switch_to_containerd.yml", "containerd_switch", ["--docker-workers", "2"]),
    "cgroup_driver": ("migrate_cgroup_driver.yml", "cgroup_driver", ["--docker-workers", "0"]),
}
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(PYTHON), "ansible-playbook")
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from bench_audit import collection_path  # noqa: E402

WORKERS = ("lab-worker1", "lab-worker2")
# The node hosts' connection variables of each variant (the controller's localhost keeps its own).
CONNECTIONS = {
    "lab": {},
    "podman": {"ansible_connection": "containers.podman.podman", "ansible_become_method": "ansible.builtin.su"},
}
# Tasks of the change step that stop, start or restart a service, install one, or wait for one.
INCLUDES = ("include_tasks", "import_tasks", "include_role", "import_role",
            "ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include_role",
            "ansible.builtin.import_role")
SERVICE_OR_WAIT = re.compile(r"^(Stop|Start|Enable \S+ and restart|Disable|Install|Wait)\b")

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
name: bench_task_times
type: aggregate
short_description: the start and end of every task on every host, for bench_rollout_overhead.py
description: [Appends one JSON line per task result to $BENCH_TASK_TIMES.]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = {}

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _done(self, result, status):
        key = (result._host.get_name(), result._task._uuid)
        line = {"host": key[0], "task": result._task.get_name(), "action": result._task.action, "status": status,
                "start": self._started.pop(key, None), "end": time.time()}
        with open(os.environ["BENCH_TASK_TIMES"], "a") as handle:
            handle.write(json.dumps(line) + "\\n")

    def v2_runner_on_ok(self, result):
        self._done(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")
'''


def log(message):
    print(message, flush=True)


def lab_env(args):
    return dict(os.environ, NODEOPS_LAB_DIR=args.lab_dir, NODEOPS_LAB_PORT=str(args.port),
                NODEOPS_LAB_CONTAINER_PREFIX="nodeops-mbo-", NODEOPS_LAB_QUIET="1",
                PYTHONPATH=LAB_PATH + os.pathsep + os.environ.get("PYTHONPATH", ""))


def lab_command(args, *command):
    proc = subprocess.run([PYTHON, "-m", "nodeops_lab.lab"] + list(command), env=lab_env(args), cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("lab %s failed:\n%s" % (" ".join(command), proc.stdout[-4000:]))


def write_inventory(args, workdir, connection):
    """The lab's inventory with the connection variables of the variant on every node host."""
    with open(os.path.join(args.lab_dir, "inventory.yml")) as handle:
        inventory = yaml.safe_load(handle)
    cluster = inventory["all"]["children"]["k8s_cluster"]
    for group in cluster["children"].values():
        for host in (group.get("hosts") or {}).values():
            host.update(CONNECTIONS[connection])
    path = os.path.join(workdir, "inventory-%s.yml" % connection)
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle, default_flow_style=False, sort_keys=False)
    return path


def run_operation(args, workdir, connection, tag):
    times = os.path.join(workdir, "times-%s.jsonl" % tag)
    report = os.path.join(workdir, "report-%s.json" % tag)
    env = dict(lab_env(args), ANSIBLE_COLLECTIONS_PATH=collection_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_PLUGINS=workdir, ANSIBLE_CALLBACKS_ENABLED="bench_task_times",
               BENCH_TASK_TIMES=times, ANSIBLE_LOCALHOST_WARNING="0",
               CONTAINERS_CONF=os.path.join(args.lab_dir, "containers.conf"))
    playbook, prefix = OPERATIONS[args.operation][:2]
    command = [ANSIBLE_PLAYBOOK, "-i", write_inventory(args, workdir, connection),
               os.path.join(REPO_ROOT, "playbooks", playbook),
               "-e", "%s_hosts=kube_node" % prefix, "-e", "%s_report_path=%s" % (prefix, report),
               "-e", "node_maintenance_delete_emptydir_data=true", "-e", "node_maintenance_force=true"]
    started = time.time()
    proc = subprocess.run(command, env=env, cwd=workdir, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    wall = time.time() - started
    with open(os.path.join(workdir, "output-%s.txt" % tag), "w") as handle:
        handle.write(proc.stdout)
    if proc.returncode != 0 or not os.path.exists(report):
        raise SystemExit("%s (%s) failed, rc %s:\n%s"
                         % (args.operation, connection, proc.returncode, proc.stdout[-4000:]))
    with open(report) as handle:
        entries = {entry["node"]: entry for entry in json.load(handle)["nodes"]}
    with open(times) as handle:
        tasks = [json.loads(line) for line in handle if line.strip()]
    rows = []
    for node in WORKERS:
        entry = entries.get(node)
        if not entry or entry.get("action") != "changed":
            raise SystemExit("%s (%s): %s was not changed: %r" % (args.operation, connection, node, entry))
        rows.append(split_node(connection, node, entry["durations"], tasks))
    return wall, rows


def split_node(connection, node, durations, tasks):
    """The node's total split into the drain, the service changes and waits, and the rest (the overhead).

    The drain is the report's drain step (capacity check and drain). The service changes and waits are the node's
    tasks named like SERVICE_OR_WAIT, wherever they run: in the change step, in verify ("Wait for containerd and
    Ready") and in uncordon ("Wait until Ready, then uncordon"). Includes are not tasks of their own here.
    """
    mine = [task for task in tasks if task["host"] == node and task["start"] is not None
            and task.get("action") not in INCLUDES]
    waits = sum(task["end"] - task["start"] for task in mine
                if task["status"] != "skipped" and SERVICE_OR_WAIT.match(task_name(task["task"])))
    drain = durations.get("drain") or 0.0
    total = durations.get("total") or 0.0
    return {"connection": connection, "node": node, "total": total, "drain": drain, "change": durations.get("change"),
            "services_and_waits": waits, "overhead": total - drain - waits, "tasks": len(mine)}


def task_name(name):
    """A task's own name, without the role prefix ("nodeops.kubernetes.containerd_switch : ")."""
    return name.split(" : ", 1)[-1]


def median(values):
    return statistics.median(values) if values else float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--operation", choices=sorted(OPERATIONS), default="containerd_switch")
    parser.add_argument("--connections", default="lab,podman", help="comma-separated: lab, podman")
    parser.add_argument("--port", type=int, default=16750)
    parser.add_argument("--lab-dir", default=os.path.join(REPO_ROOT, ".lab-overhead"))
    args = parser.parse_args(argv)
    connections = [name for name in args.connections.split(",") if name]
    unknown = sorted(set(connections) - set(CONNECTIONS))
    if unknown:
        parser.error("unknown connection(s) %s; use lab or podman" % ", ".join(unknown))
    workdir = tempfile.mkdtemp(prefix="bench-overhead-")
    with open(os.path.join(workdir, "bench_task_times.py"), "w") as handle:
        handle.write(CALLBACK)
    log("%s; work directory %s; lab %s, port %d; %d round(s) of %s"
        % (args.operation, workdir, args.lab_dir, args.port, args.rounds, ", ".join(connections)))
    rows = []
    try:
        for round_no in range(1, args.rounds + 1):
            order = connections if round_no % 2 else list(reversed(connections))
            for connection in order:
                lab_command(args, "down")
                started = time.time()
                lab_command(args, "up", "--workers", "2", *OPERATIONS[args.operation][2])
                log("round %d, %s: lab up in %.0f s, load %s" % (round_no, connection, time.time() - started,
                                                                 " ".join("%.1f" % v for v in os.getloadavg())))
                wall, node_rows = run_operation(args, workdir, connection, "%d-%s" % (round_no, connection))
                for row in node_rows:
                    row["round"] = round_no
                    log("  %-11s total %6.1f  drain %5.1f  change %5.1f  services+waits %5.1f  overhead %5.1f  "
                        "tasks %3d" % (row["node"], row["total"], row["drain"], row["change"] or 0.0,
                                       row["services_and_waits"], row["overhead"], row["tasks"]))
                log("  playbook wall %.1f s" % wall)
                rows.extend(node_rows)
    finally:
        lab_command(args, "down")
    log("\nPer node, median over %d round(s) x %d workers (s):" % (args.rounds, len(WORKERS)))
    log("%-8s %8s %8s %16s %10s %7s" % ("conn", "total", "drain", "services+waits", "overhead", "tasks"))
    medians = {}
    for connection in connections:
        mine = [row for row in rows if row["connection"] == connection]
        medians[connection] = {key: median([row[key] for row in mine])
                               for key in ("total", "drain", "services_and_waits", "overhead", "tasks")}
        m = medians[connection]
        values = (connection, m["total"], m["drain"], m["services_and_waits"], m["overhead"], m["tasks"])
        log("%-8s %8.1f %8.1f %16.1f %10.1f %7.0f" % values)
    if "lab" in medians:
        log("overhead per node (lab connection): %.1f s, target 10 s: %s"
            % (medians["lab"]["overhead"], "met" if medians["lab"]["overhead"] <= 10 else "NOT met"))
    if {"lab", "podman"} <= set(medians):
        pairs = [(a["overhead"], b["overhead"]) for a in rows if a["connection"] == "lab"
                 for b in rows if b["connection"] == "podman" and b["round"] == a["round"] and b["node"] == a["node"]]
        log("overhead lab / podman, paired by round and node: %s; median %.2f"
            % (", ".join("%.2f" % (a / b) for a, b in pairs if b), median([a / b for a, b in pairs if b])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

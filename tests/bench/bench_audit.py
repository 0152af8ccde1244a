"""Benchmark: the fleet audit (playbooks/audit.yml) on 3 nodes and on N API-only nodes, and the ratio.

    make bench-audit        # or: PYTHONPATH=tests/lab .venv/bin/python tests/bench/bench_audit.py [--nodes 100] [--runs 3]

The question it answers: does an audit of N nodes take about the time of a few nodes, as it should when
play 2 reads every node at the same time (no serial)?

Uses the API-only scale lab of $NODEOPS_LAB_DIR (``nodeops_lab.scale``, default <repo>/.lab-scale): a real
kube-apiserver, controller manager and scheduler, and N Nodes scale-node-NNN whose kubelets kwok plays
(Ready, Leases renewed), with their pods and PodDisruptionBudgets. ``scale up --nodes N`` is run first (it
reuses a lab that is up; ``--no-up`` skips it; ``--port`` is handed to it).

Every kwok node is a host of a generated inventory (groups k8s_cluster/kube_node, ``kube_node_name``, the
lab's kubeconfig) with ``ansible_connection: local``: the cluster-side reads are real (cluster_audit_facts
and the others read the real API server holding the N Nodes, Leases, pods and budgets), but the node-side
read (node_audit_facts: the checks of node_runtime_facts, cert_expiry and docker_node_scan in one python3
process) runs on this machine and reads its files, once per host. Its cost (an Ansible fork and a process per
node) is real; its findings are not the kwok nodes' and mean nothing.

ansible-playbook runs with pipelining on (ANSIBLE_PIPELINING=1, as kubespray's ansible.cfg sets it):
a module is sent on the connection's stdin instead of a temporary file, a directory and several commands
around it. ``--no-pipelining`` measures Ansible's default (off) instead; the setting is printed.

Each round runs the audit once on the first 3 nodes (-e audit_hosts=...) and once on all N (the order
alternates), both with forks = N (ANSIBLE_FORKS), then one more N-node run with forks = 5 (Ansible's
default). Each run writes its JSON report (audit_report_path); the bench fails when a report does not hold
exactly the expected nodes, each with action ``audited``. It prints every run (the report's
details.seconds, the process wall time, the CPU time of ansible-playbook and its children, the load
average when it started), the medians, the ratios time(N)/time(3), and where the time of one run of each
size went: its tasks by kind and the slowest ones (ansible.posix.profile_tasks). ``--module-cpu`` adds one
N-node run that also measures the CPU time of the node-side processes. Not a test: it measures; it
asserts only that every audit completed with all its nodes audited.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LAB_PATH = os.path.join(REPO_ROOT, "tests", "lab")
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "audit.yml")
# The bench runs under the venv's python: its ansible-playbook, and the same python for the node hosts.
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(PYTHON), "ansible-playbook")
if LAB_PATH not in sys.path:
    sys.path.insert(0, LAB_PATH)

from nodeops_lab import lab, scale  # noqa: E402

# Benchmarks time what users run: no test-run bytecode cache (tests/lab/nodeops_lab/bytecode_cache.py)
# in the Ansible runs they start.
os.environ.pop("NODEOPS_LAB_BYTECODE_CACHE", None)

# profile_tasks' closing list: "<role> : <task name> ---------- 12.34s"
PROFILE_LINE = re.compile(r"^(?P<task>.+?) -+ (?P<seconds>\d+\.\d+)s$")
# Where the time goes: the audit's tasks by kind (the start of their names in roles/audit/tasks).
TASK_KINDS = [
    ("node-side reads, one python3 process per node (node_audit_facts, with the DNS query)",
     ("Read the runtime and cgroup drivers, the certificate expiry", "Ask NodeLocal DNSCache for")),
    ("cluster-side reads, once", ("Read the nodes, their Leases", "Find the workloads that depend on Docker",
                                  "List the pending kubelet serving CSRs", "Read NodeLocal DNSCache's DaemonSet")),
    ("the report, once", ("Build the audit report", "Print the audit report", "Hand the audit report",
                          "Write the audit report")),
]
OTHER_KIND = "per-host bookkeeping (set_fact, includes, argument validation, skipped tasks) and play 1"


class BenchError(SystemExit):
    pass


def collection_path():
    link_dir = os.path.join(COLLECTIONS, "ansible_collections", "nodeops")
    link = os.path.join(link_dir, "kubernetes")
    if not os.path.islink(link) and not os.path.isdir(link):
        os.makedirs(link_dir, exist_ok=True)
        os.symlink(REPO_ROOT, link)
    return COLLECTIONS


def scale_up(nodes, port):
    """``nodeops_lab.scale up`` (reuses a lab that is up); its wall time."""
    argv = [PYTHON, "-m", "nodeops_lab.scale", "up", "--nodes", str(nodes)]
    if port:
        argv += ["--port", str(port)]
    env = dict(os.environ, PYTHONPATH=LAB_PATH + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.monotonic()
    subprocess.run(argv, env=env, check=True)
    return time.monotonic() - started


def ready_scale_nodes(kubeconfig):
    kubectl = lab.kubectl_path(lab.k8s_binaries())
    items = lab.kubectl_json(kubectl, kubeconfig, "get", "nodes", "-l", "nodeops.lab/scale=true")["items"]
    return sorted(n["metadata"]["name"] for n in items if lab.node_ready(n) == "True")


def write_inventory(path, names, kubeconfig, python=PYTHON):
    hosts = dict((name, {"kube_node_name": name}) for name in names)
    inventory = {"all": {"children": {"k8s_cluster": {
        "vars": {
            "nodeops_kubeconfig": kubeconfig,
            # The node-side reads run here, on the controller, once per host: real cost, meaningless findings.
            "ansible_connection": "local",
            "ansible_python_interpreter": python,
        },
        "children": {"kube_node": {"hosts": hosts}}}}}}
    with open(path, "w") as handle:
        handle.write("# bench_audit.py: the kwok nodes of the scale lab as local hosts (node-side reads run here)\n")
        yaml.safe_dump(inventory, handle, default_flow_style=False, sort_keys=False)
    return path


class Run(object):
    """One ansible-playbook run of the audit and what its report says."""

    def __init__(self, label, hosts, forks, round_no):
        self.label, self.hosts, self.forks, self.round = label, hosts, forks, round_no
        self.wall = self.cpu = 0.0
        self.seconds = None
        self.load = os.getloadavg()[0]
        self.audited = 0
        self.node_totals = []
        self.summary = ""
        self.output_path = None
        self.profile = []
        self.module_cpu = 0.0
        self.modules = 0


def run_audit(workdir, inventory, run, all_hosts, module_log=None, pipelining=True):
    tag = "%s-forks%d-round%d%s" % (run.label.replace(" ", "-"), run.forks, run.round, "-modulecpu" if module_log else "")
    report_path = os.path.join(workdir, tag + ".json")
    if os.path.exists(report_path):
        os.unlink(report_path)
    argv = [ANSIBLE_PLAYBOOK, "-i", inventory, PLAYBOOK, "-e", "audit_report_path=" + report_path]
    if run.hosts != all_hosts:
        argv += ["-e", "audit_hosts=" + ",".join(run.hosts)]
    if module_log:
        module_log.clear()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_FORKS=str(run.forks), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="40",
               ANSIBLE_PIPELINING="1" if pipelining else "0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    run.wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run.output_path = os.path.join(workdir, tag + ".txt")
    with open(run.output_path, "w") as handle:
        handle.write(proc.stdout)
    run.profile = [(m.group("task"), float(m.group("seconds")))
                   for m in (PROFILE_LINE.match(line.strip()) for line in proc.stdout.splitlines()) if m]
    if proc.returncode != 0:
        raise BenchError("bench-audit: FAILED: the %s audit (forks %d, round %d) exited with %d; output in %s"
                         % (run.label, run.forks, run.round, proc.returncode, run.output_path))
    check_report(run, report_path)
    if module_log:
        run.modules, run.module_cpu = module_log.read()
    return run


class ModuleLog(object):
    """The node hosts' python behind a bash wrapper that keeps the CPU time (user+sys, with its children) of each
    node-side process, one file per process: what the node-side reads cost, apart from Ansible's own work."""

    def __init__(self, workdir):
        self.directory = os.path.join(workdir, "module-cpu")
        self.wrapper = os.path.join(workdir, "python-timed")
        with open(self.wrapper, "w") as handle:
            handle.write("#!/bin/bash\n# bench_audit.py: %s, then the CPU time of this node-side process in %s/<pid>\n"
                         '%s "$@"\nrc=$?\ntimes > %s/$$\nexit $rc\n' % (PYTHON, self.directory, PYTHON, self.directory))
        os.chmod(self.wrapper, 0o755)

    def clear(self):
        if os.path.isdir(self.directory):
            for name in os.listdir(self.directory):
                os.unlink(os.path.join(self.directory, name))
        os.makedirs(self.directory, exist_ok=True)

    def read(self):
        """(node-side processes, their CPU seconds): bash's ``times``, second line = the python and its children."""
        total, count = 0.0, 0
        for name in os.listdir(self.directory):
            with open(os.path.join(self.directory, name)) as handle:
                lines = handle.read().splitlines()
            times = re.findall(r"(\d+)m([\d.]+)s", lines[1] if len(lines) > 1 else "")
            total += sum(int(minutes) * 60 + float(seconds) for minutes, seconds in times)
            count += 1
        return count, total


def check_report(run, report_path):
    """The report holds exactly the run's nodes, each audited; else the bench fails."""
    try:
        with open(report_path) as handle:
            report = json.load(handle)
    except (OSError, ValueError) as err:
        raise BenchError("bench-audit: FAILED: no readable report from the %s audit (round %d): %s; output in %s"
                         % (run.label, run.round, err, run.output_path))
    nodes = report.get("nodes") or []
    run.audited = sum(1 for entry in nodes if entry.get("action") == "audited")
    names = sorted(entry.get("node") for entry in nodes)
    run.seconds = (report.get("details") or {}).get("seconds")
    run.summary = (report.get("lines") or [""])[0]
    run.node_totals = [(entry.get("durations") or {}).get("total") for entry in nodes]
    run.node_totals = [t for t in run.node_totals if t is not None]
    if names != sorted(run.hosts) or run.audited != len(run.hosts) or run.seconds is None:
        others = sorted(set((entry.get("action") for entry in nodes)) - {"audited"})
        raise BenchError("bench-audit: FAILED: the %s audit (round %d) reported %d node(s), %d audited (expected %d; "
                         "other actions: %s); report %s, output %s"
                         % (run.label, run.round, len(nodes), run.audited, len(run.hosts),
                            ", ".join(others) or "none", report_path, run.output_path))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, pattern="%.1f"):
    return pattern % value if value is not None else "-"


def print_table(runs):
    header = ("round", "audit", "forks", "report (s)", "wall (s)", "cpu (s)", "audited", "per node (s)", "load")
    print("%-5s %-9s %5s %11s %9s %8s %-9s %-16s %s" % header)
    for run in runs:
        per_node = "%s / %s" % (fmt(median(run.node_totals)), fmt(max(run.node_totals) if run.node_totals else None))
        print("%-5s %-9s %5d %11s %9s %8s %-9s %-16s %.1f" % (
            run.round or "-", run.label, run.forks, fmt(run.seconds), fmt(run.wall), fmt(run.cpu),
            "%d/%d" % (run.audited, len(run.hosts)), per_node, run.load))
    print("(report: the report's details.seconds, from the first task to the report; wall: the whole ansible-playbook "
          "process; cpu: user+sys of ansible-playbook and its children; per node: median / max of the node entries' "
          "durations.total; load: 1-minute load average when the run started)")


def ratio_line(label, pairs):
    ratios = [a / b for a, b in pairs if a is not None and b]
    if not ratios:
        return "%s: n/a" % label
    return "%s: median %.1f  (per round: %s)" % (label, statistics.median(ratios), ", ".join("%.1f" % r for r in ratios))


def task_kind(task):
    name = task.split(" : ", 1)[-1]
    for kind, starts in TASK_KINDS:
        if name.startswith(starts):
            return kind
    return OTHER_KIND


def print_profile(run, limit=12):
    if not run.profile:
        return
    print()
    total = sum(seconds for _task, seconds in run.profile)
    print("where the time of the %s audit goes, forks %d, round %s (ansible.posix.profile_tasks, %.1f s in all; "
          "output %s):" % (run.label, run.forks, run.round or "-", total, run.output_path))
    kinds = {}
    for task, seconds in run.profile:
        kinds[task_kind(task)] = kinds.get(task_kind(task), 0.0) + seconds
    for kind, seconds in sorted(kinds.items(), key=lambda item: -item[1]):
        print("  %7.1f s  %3.0f%%  %s" % (seconds, 100.0 * seconds / total if total else 0, kind))
    print("  slowest tasks:")
    for task, seconds in sorted(run.profile, key=lambda item: -item[1])[:limit]:
        print("  %7.1f s  %s" % (seconds, task))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100, help="API-only nodes of the scale lab to audit (default 100)")
    parser.add_argument("--few", type=int, default=3, help="nodes of the small audit (default 3)")
    parser.add_argument("--runs", type=int, default=3, help="rounds, each one small and one N-node audit (default 3)")
    parser.add_argument("--default-forks", type=int, default=5,
                        help="forks of the extra N-node run (default 5, Ansible's default; 0: no such run)")
    parser.add_argument("--module-cpu", action="store_true",
                        help="one more N-node run (forks N, not in the medians) with the node hosts' python behind a "
                             "wrapper that measures the CPU time of the node-side processes")
    parser.add_argument("--port", type=int, default=None, help="API server port for `scale up` (its default: 16700)")
    parser.add_argument("--no-up", action="store_true", help="use the running scale lab as it is")
    parser.add_argument("--no-pipelining", dest="pipelining", action="store_false",
                        help="run ansible-playbook with Ansible's default, pipelining off (default: on, "
                             "ANSIBLE_PIPELINING=1)")
    args = parser.parse_args(argv)
    if args.few >= args.nodes:
        parser.error("--few must be less than --nodes")

    collection_path()
    paths = scale.paths()
    workdir = tempfile.mkdtemp(prefix="nodeops-bench-audit-")
    print("machine: %d CPU(s), load average %s" % (os.cpu_count(), " ".join("%.1f" % v for v in os.getloadavg())),
          flush=True)
    pipelining = "on" if args.pipelining else "off"
    print("ansible-playbook with pipelining %s (ANSIBLE_PIPELINING=%d)" % (pipelining, int(args.pipelining)), flush=True)
    if not args.no_up:
        print("scale lab (%s): up with %d nodes ..." % (paths.lab_dir, args.nodes), flush=True)
        print("scale lab up in %.1f s" % scale_up(args.nodes, args.port), flush=True)
    ready = ready_scale_nodes(paths.kubeconfig)
    names = scale.node_names(args.nodes)
    missing = sorted(set(names) - set(ready))
    if missing:
        raise BenchError("bench-audit: FAILED: %d of the %d scale nodes are not Ready: %s"
                         % (len(missing), args.nodes, ", ".join(missing[:10])))
    inventory = write_inventory(os.path.join(workdir, "inventory.yml"), names, paths.kubeconfig)
    print("%d kwok nodes Ready; inventory %s (ansible_connection: local: the node-side reads run on this "
          "machine, once per host, and read its files: real cost, meaningless findings; the cluster-side reads are "
          "real, against the lab's API server)" % (len(names), inventory), flush=True)

    few = names[:args.few]
    label_few, label_all = "%d nodes" % args.few, "%d nodes" % args.nodes
    runs = []
    for round_no in range(1, args.runs + 1):
        order = [(label_few, few), (label_all, names)]
        if round_no % 2 == 0:
            order.reverse()
        for label, hosts in order:
            print("round %d: audit of %s, forks %d ..." % (round_no, label, args.nodes), flush=True)
            run = run_audit(workdir, inventory, Run(label, hosts, args.nodes, round_no), names,
                            pipelining=args.pipelining)
            runs.append(run)
            print("  report %s s, wall %.1f s, cpu %.1f s: %s" % (fmt(run.seconds), run.wall, run.cpu, run.summary),
                  flush=True)
    if args.default_forks:
        print("audit of %s, forks %d ..." % (label_all, args.default_forks), flush=True)
        run = run_audit(workdir, inventory, Run(label_all, names, args.default_forks, 0), names,
                        pipelining=args.pipelining)
        runs.append(run)
        print("  report %s s, wall %.1f s, cpu %.1f s: %s" % (fmt(run.seconds), run.wall, run.cpu, run.summary),
              flush=True)

    diagnostic = None
    if args.module_cpu:
        print("audit of %s, forks %d, the CPU time of each node-side process measured ..."
              % (label_all, args.nodes), flush=True)
        module_log = ModuleLog(workdir)
        # the node hosts only: the cluster-side modules run on localhost, with the venv's python unwrapped
        timed = write_inventory(os.path.join(workdir, "inventory-module-cpu.yml"), names, paths.kubeconfig,
                                python=module_log.wrapper)
        diagnostic = run_audit(workdir, timed, Run(label_all, names, args.nodes, 0), names, module_log,
                               pipelining=args.pipelining)
        print("  report %s s, wall %.1f s, cpu %.1f s, of which node-side processes %.1f s (%d processes)"
              % (fmt(diagnostic.seconds), diagnostic.wall, diagnostic.cpu, diagnostic.module_cpu, diagnostic.modules),
              flush=True)

    print()
    print("pipelining %s" % pipelining)
    print_table(runs)
    print()
    small = dict((r.round, r) for r in runs if r.label == label_few)
    large = dict((r.round, r) for r in runs if r.label == label_all and r.round)
    for label, group in ((label_few + ", forks %d" % args.nodes, small), (label_all + ", forks %d" % args.nodes, large)):
        print("median %-22s report %6s s  wall %6s s  cpu %6s s" % (
            label, fmt(median([r.seconds for r in group.values()])), fmt(median([r.wall for r in group.values()])),
            fmt(median([r.cpu for r in group.values()]))))
    for run in runs:
        if run.round == 0:
            print("once   %-22s report %6s s  wall %6s s  cpu %6s s" % (
                "%s, forks %d" % (label_all, run.forks), fmt(run.seconds), fmt(run.wall), fmt(run.cpu)))
    rounds = sorted(r for r in large if r in small)
    print(ratio_line("ratio time(%d)/time(%d), report" % (args.nodes, args.few),
                     [(large[r].seconds, small[r].seconds) for r in rounds]))
    print(ratio_line("ratio time(%d)/time(%d), wall" % (args.nodes, args.few),
                     [(large[r].wall, small[r].wall) for r in rounds]))
    if large:
        print_profile(large[rounds[-1]] if rounds else list(large.values())[-1])
    if small:
        print_profile(small[rounds[-1]] if rounds else list(small.values())[-1], limit=6)
    if diagnostic:
        print()
        print("CPU of the %s audit, forks %d (measured run): %.1f s in all (ansible-playbook and every child), of which "
              "%.1f s (%.0f%%) in the %d node-side processes (%.2f s each) and %.1f s in the rest: Ansible's "
              "main process and forks, the cluster-side modules, the commands of the action plugins; wall %.1f s on "
              "%d CPU(s)" % (diagnostic.label, diagnostic.forks, diagnostic.cpu, diagnostic.module_cpu,
                             100.0 * diagnostic.module_cpu / diagnostic.cpu if diagnostic.cpu else 0, diagnostic.modules,
                             diagnostic.module_cpu / diagnostic.modules if diagnostic.modules else 0,
                             diagnostic.cpu - diagnostic.module_cpu, diagnostic.wall, os.cpu_count()))
    print()
    print("every report has its nodes, each audited. Node-side reads ran on this machine (ansible_connection: "
          "local): their cost is real, their findings are meaningless.")
    print("outputs, reports and the inventory kept in %s" % workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

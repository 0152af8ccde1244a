"""Rolling operations under API faults: the cgroup driver migration of one lab worker through the fault proxy,
NodeLocal DNSCache's first cluster write refused, and its rolling part on one worker under held requests.

The drain's faults are tried in test_drain_faults_lab.py; this file puts the same proxy (tests/faults/proxy.py)
between the whole migration playbook and the lab's kube-apiserver (``-e nodeops_kubeconfig=<the proxy's
kubeconfig>``; the kubelets keep talking to the API server directly) and checks what an operator gets:

- completed: rc 0, the node on systemd (kubelet and containerd), schedulable, no progress record left;
- failed with an exact account: rc != 0, never a Python traceback; the stop message names the node; the
  report (cgroup_driver_report_path) names the step that failed; its ``left_as_is.cordoned`` is the node's
  real cordon; the kubelet's driver on the node is the one the report says; every backup it lists exists on
  the node; and a rerun without the fault converges (rc 0, node on systemd and schedulable, no progress
  record left).

Faults can start at a chosen step: ``Migration.run(at_task=...)`` adds a rule when ansible-playbook prints the
banner of a task, before the task's module runs.

The lab's workers start on cgroupfs and a migration leaves a node on systemd, so the cases run in this
order on fresh workers: the ConfigMap write refused (lab-worker1, nothing changes); the Node's reads refused
from the verify on, through the rollback (lab-worker1, fails; the rollback restores cgroupfs), then the rerun
through two refused reads and a lost uncordon answer (completes); the node writes after the cordon refused
(lab-worker2, fails after the drain, then a rerun); then NodeLocal DNSCache over every node with the write of its
first object refused (stops before the first node, nothing written); then its rolling part on lab-worker1 (its
kubelet pointed at the cache) with every read of the Node held without an answer from the wait after the kubelet
restart until the rollback (fails on its own time, rolled back), and with one read held (completes). Each case
adds a row to a fault table of its own (.cache/faults/rolling-faults.json). Lab time: about five to ten minutes.
The cache is removed after its cases, and the module's teardown moves the seed workloads off lab-worker1 again.
"""

import json
import os
import sys
import tempfile
import time

import pytest
import yaml

from conftest import CP, REPO_ROOT, W1, W2

if os.path.join(REPO_ROOT, "tests") not in sys.path:
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

from faults.proxy import FaultProxy  # noqa: E402
from faults.table import DEFAULT_REPORT, Recorder  # noqa: E402
from faults.through_proxy import run_command  # noqa: E402

ANSIBLE_PLAYBOOK = os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook")
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "migrate_cgroup_driver.yml")
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
PROGRESS_RECORD = "/var/lib/nodeops/cgroup_driver.json"
CONFIGMAP = r"^/api/v1/namespaces/kube-system/configmaps/kubelet-config$"


def node_path(name):
    return r"^/api/v1/nodes/%s$" % name


class PlaybookRun(object):
    """One ansible-playbook run of a playbook of the collection, through the proxy or not."""

    playbook = None
    operation = None

    def __init__(self, cluster, proxy, state_dir, node=None):
        self.cluster = cluster
        self.proxy = proxy
        self.node = node
        self.report_path = os.path.join(state_dir, "report-%s-%d.json" % (node or "cluster", time.time_ns()))
        self.rc = None
        self.output = ""
        self.seconds = None

    def extra_vars(self):
        return {}

    def run(self, through_proxy=True, at_task=None, **more):
        """Run the playbook; ``at_task`` maps words of a task's name to a function called (once) when
        ansible-playbook prints that task's banner, before the task's module runs: faults from a step on."""
        extra = self.extra_vars()
        extra.update(more)
        if through_proxy:
            extra["nodeops_kubeconfig"] = self.proxy.kubeconfig
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                   CONTAINERS_CONF=self.cluster.paths.containers_conf, ANSIBLE_LOCALHOST_WARNING="0")
        started = time.monotonic()
        self.rc, self.output, not_ran = run_command(
            [ANSIBLE_PLAYBOOK, "-i", self.cluster.paths.inventory, self.playbook, "-e", json.dumps(extra)],
            at_task=at_task, env=env, timeout=1200)
        self.seconds = time.monotonic() - started
        assert not not_ran, "no task named %s ran: %s" % (not_ran, self.output[-3000:])
        return self

    def flat_output(self):
        """The output with every run of white space made one space (Ansible wraps warnings over lines)."""
        return " ".join(self.output.split())

    def report(self):
        if not os.path.exists(self.report_path):
            return None
        with open(self.report_path) as handle:
            return json.load(handle)

    def entry(self):
        report = self.report() or {}
        found = [n for n in report.get("nodes", []) if n.get("node") == self.node]
        return found[0] if found else None


class Migration(PlaybookRun):
    """One run of the migration playbook on one node through the proxy, and what it left."""

    playbook = PLAYBOOK

    def __init__(self, cluster, proxy, node, state_dir):
        super(Migration, self).__init__(cluster, proxy, state_dir, node)
        self.container = cluster.container_of(node)
        self.operation = "migrate_cgroup_driver.yml, node %s (ansible-playbook)" % node

    def extra_vars(self):
        return {
            "cgroup_driver_hosts": self.node,
            "cgroup_driver_report_path": self.report_path,
            # The lab's seed has a pod with an emptyDir and a bare pod (tests/lab/seeds/cluster.yaml).
            "node_maintenance_delete_emptydir_data": True,
            "node_maintenance_force": True,
        }

    # -- what the node is ------------------------------------------------------------------------

    def sh(self, script):
        return self.cluster.podman.exec(self.container, "sh", "-c", script, timeout=60).stdout

    def kubelet_driver(self):
        return yaml.safe_load(self.sh("cat %s" % KUBELET_CONFIG)).get("cgroupDriver")

    def exists(self, path):
        return self.sh("test -e '%s' && echo yes || echo no" % path).strip() == "yes"

    def cordoned(self):
        return self.cluster.unschedulable(self.node)

    def ready(self):
        conditions = self.cluster.node(self.node)["status"].get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def set_configmap_driver(cluster, driver):
    """The kube-system kubelet ConfigMap's cgroupDriver, as the lab's kubeadm wrote it."""
    item = cluster.core.read_namespaced_config_map("kubelet-config", "kube-system")
    kubelet = yaml.safe_load(item.data["kubelet"])
    if kubelet.get("cgroupDriver") != driver:
        kubelet["cgroupDriver"] = driver
        item.data["kubelet"] = yaml.safe_dump(kubelet, default_flow_style=False)
        cluster.core.replace_namespaced_config_map("kubelet-config", "kube-system", item)


@pytest.fixture(scope="module")
def rolling(cluster):
    """The proxy in front of the lab's API server, a state directory, and the lab left as found after."""
    state_dir = tempfile.mkdtemp(prefix="nodeops-rolling-faults-")
    with FaultProxy(cluster.kubeconfig) as proxy:
        yield proxy, state_dir
    for name in (W1, W2):
        cluster.set_unschedulable(name, False)
    cluster.clear_worker1()


@pytest.fixture(scope="module")
def fault_table(request):
    default = os.path.join(os.path.dirname(DEFAULT_REPORT), "rolling-faults.json")
    recorder = Recorder(os.environ.get("NODEOPS_ROLLING_FAULTS_REPORT", default))
    request.config.pluginmanager.register(recorder, "nodeops-rolling-fault-table-%d" % id(recorder))
    return recorder


def fresh_worker(migration):
    """The case needs a worker on cgroupfs, Ready and schedulable, as the lab starts."""
    driver = migration.kubelet_driver()
    if driver != "cgroupfs":
        pytest.fail("%s is on %s, not cgroupfs: these cases need the lab's fresh workers (make lab-down lab-up)"
                    % (migration.node, driver), pytrace=False)
    assert migration.ready() and not migration.cordoned()


def record(table, request, ident, description, migration, rules):
    entry = migration.entry() or {}
    anomalies = []
    if "Traceback" in migration.output:
        anomalies.append("Python traceback")
    if rules and not any(rule.applied for rule in rules):
        anomalies.append("the fault was never injected")
    statuses = migration.proxy.statuses()
    return table.add(dict(
        fault=ident,
        fault_description=description,
        operation=migration.operation,
        outcome="completed" if migration.rc == 0 else "failed",
        rc=migration.rc,
        seconds=round(migration.seconds, 1),
        drain_seconds=None,
        injected=sum(rule.applied for rule in rules),
        requests=len(migration.proxy.records),
        requests_by_kind=dict(migration.proxy.counts()),
        client_statuses=dict((str(key), value) for key, value in statuses.items()),
        evicted=len(((entry.get("details") or {}).get("drain") or {}).get("evicted") or []),
        remaining=0,
        node_left_cordoned=(entry.get("left_as_is") or {}).get("cordoned"),
        message=entry.get("reason") or stop_message(migration.output),
        anomalies=anomalies,
        test=request.node.nodeid,
    ))


def stop_message(output):
    """The message of the task that stopped the run (its ``msg``), when the run has no report entry."""
    for line in output.splitlines():
        if "FAILED!" in line and " stopped " in line:
            try:
                return json.loads(line.split("=>", 1)[1]).get("msg", "")
            except ValueError:
                return line
    return ""


def check_completed(migration):
    assert migration.rc == 0, migration.output[-6000:]
    assert "Traceback" not in migration.output
    assert migration.kubelet_driver() == "systemd"
    assert not migration.cordoned(), "%s is left cordoned after a completed migration" % migration.node
    assert migration.ready()
    assert not migration.exists(PROGRESS_RECORD), "the progress record is left on %s" % migration.node
    assert (migration.entry() or {}).get("action") in ("changed", "skipped"), migration.report()


def check_account(migration):
    """Failed with an exact account of the node's state."""
    output = migration.output
    assert migration.rc != 0, "the fault passed unnoticed: rc 0"
    assert "Traceback" not in output, output[-6000:]
    assert "MODULE FAILURE" not in output, output[-6000:]
    assert migration.node in output.split("PLAY RECAP")[-1] or migration.node in output
    entry = migration.entry()
    assert entry is not None, "no report entry for %s: %s" % (migration.node, output[-4000:])
    assert entry["action"] in ("failed", "rolled_back"), entry
    details = entry["details"]
    assert details.get("failed_step"), "the report names no failed step: %s" % entry
    assert details["failed_step"] in entry["reason"], entry["reason"]
    cordoned = migration.cordoned()
    assert entry["left_as_is"]["cordoned"] is cordoned, "the report says cordoned=%s, %s is %s" % (
        entry["left_as_is"]["cordoned"], migration.node, "cordoned" if cordoned else "schedulable")
    said = (details.get("after") or details.get("before") or {}).get("kubelet")
    assert migration.kubelet_driver() == said, "the report says kubelet %s, the node's config says %s" % (
        said, migration.kubelet_driver())
    for backup in entry.get("backups") or []:
        path = backup.get("backup") if isinstance(backup, dict) else backup
        assert migration.exists(path), "the report lists backup %s, which is not on %s" % (path, migration.node)
    stop = [line for line in output.splitlines() if "cgroup driver migration stopped at node" in line]
    assert stop and migration.node in stop[0], "no stop message naming %s: %s" % (migration.node, output[-3000:])
    assert ("left cordoned" in stop[0]) is cordoned, stop[0]
    return entry


def migrate_under(cluster, rolling, table, request, node, fault, description, fault_rule):
    """Migrate a fresh worker with one proxy rule ((method, path, action, options)); the run, recorded.

    A rule that was never applied fails the test: the run would prove nothing.
    """
    proxy, state_dir = rolling
    migration = Migration(cluster, proxy, node, state_dir)
    fresh_worker(migration)
    proxy.clear()
    method, path, action, options = fault_rule
    rules = [proxy.add_rule(method, path, action, **options)]
    migration.run()
    record(table, request, fault, description, migration, rules)
    assert all(rule.applied for rule in rules), "the fault was never injected: %s" % rules
    return migration


def test_the_configmap_write_refused_changes_nothing(cluster, rolling, fault_table, request):
    set_configmap_driver(cluster, "cgroupfs")
    migration = migrate_under(cluster, rolling, fault_table, request, W1, "503-configmap-write",
                              "every write of the kubelet ConfigMap answered 503",
                              (["PUT", "PATCH"], CONFIGMAP, "503", {}))
    assert migration.rc != 0 and "Traceback" not in migration.output, migration.output[-6000:]
    assert "kubelet-config" in migration.output and "503" in migration.output, migration.output[-4000:]
    assert "no node was changed" in migration.output, migration.output[-4000:]
    assert migration.kubelet_driver() == "cgroupfs"
    assert not migration.cordoned()
    assert not migration.exists(PROGRESS_RECORD)


VERIFY_WAIT = "Wait until the Node is Ready with a fresh kubelet heartbeat"
UNCORDON = "Wait until Ready, then uncordon node"


def test_node_reads_refused_through_the_rollback_then_a_rerun_through_transient_faults_converges(
        cluster, rolling, fault_table, request):
    """From the verify's wait on, the API server answers every read of the Node 503: the verify times out,
    the rollback restores the node's files and restarts its services, but cannot prove it Ready either. The
    account must say so (rolled back, not proved healthy, left cordoned, progress record kept). The rerun
    then goes through the faults a run must complete through: two reads of the Node answered 503 in its
    verify's wait, and the uncordon's answer lost (the API server applied it, the connection was reset)."""
    proxy, state_dir = rolling
    migration = Migration(cluster, proxy, W1, state_dir)
    fresh_worker(migration)
    proxy.clear()
    outage = []

    def api_gone_for_the_node():
        outage.append(proxy.add_rule("GET", node_path(W1), "503"))

    migration.run(at_task={VERIFY_WAIT: api_gone_for_the_node}, cgroup_driver_node_ready_timeout=30)
    record(fault_table, request, "503-node-reads-from-verify", "from the verify's wait on, every read of the "
           "Node answered 503 (wait timeouts 30 s)", migration, outage)
    assert outage and outage[0].applied > 2, outage
    entry = check_account(migration)
    assert entry["action"] == "failed", entry  # rolled back, but not proved healthy
    assert "ROLLBACK DID NOT RESTORE A HEALTHY NODE" in entry["reason"], entry["reason"]
    assert VERIFY_WAIT in entry["details"]["failed_step"], entry["details"]
    assert migration.kubelet_driver() == "cgroupfs"  # the files are restored
    assert migration.cordoned()
    assert migration.exists(PROGRESS_RECORD), "no progress record left for the rerun"

    proxy.clear()
    transient = []

    def two_reads_refused():
        transient.append(proxy.add_rule("GET", node_path(W1), "503", times=2))

    def uncordon_answer_lost():
        transient.append(proxy.add_rule("PATCH", node_path(W1), "reset-after-upstream", times=1))

    rerun = Migration(cluster, proxy, W1, state_dir)
    rerun.run(at_task={VERIFY_WAIT: two_reads_refused, UNCORDON: uncordon_answer_lost})
    record(fault_table, request, "503-reads-and-lost-uncordon", "the rerun: two reads of the Node answered 503 "
           "in the verify's wait, the uncordon's answer lost (reset after the API server applied it)",
           rerun, transient)
    assert len(transient) == 2 and all(rule.applied for rule in transient), transient
    check_completed(rerun)
    # (a warning may be wrapped over lines)
    assert "the answer to the uncordon of node \"%s\" was lost" % W1 in rerun.flat_output(), rerun.output[-4000:]
    assert (rerun.entry() or {}).get("action") == "changed", rerun.report()


def test_node_writes_refused_after_the_cordon_then_a_rerun_converges(cluster, rolling, fault_table, request):
    # The drain's cordon passes; every later write of the Node is refused.
    migration = migrate_under(cluster, rolling, fault_table, request, W2, "503-node-writes-after-cordon",
                              "the cordon passed, every later write of the Node answered 503",
                              ("PATCH", node_path(W2), "503", {"skip": 1}))
    check_account(migration)
    proxy, state_dir = rolling
    proxy.clear()
    rerun = Migration(cluster, proxy, W2, state_dir).run(through_proxy=False)
    check_completed(rerun)
    assert not cluster.unschedulable(CP)


# ---------------------------------------------------------------- NodeLocal DNSCache

NODELOCALDNS = os.path.join(REPO_ROOT, "playbooks", "nodelocaldns.yml")
UPSTREAM_SERVICE = r"^/api/v1/namespaces/kube-system/services/kube-dns-upstream$"


class NodeLocalDNS(PlaybookRun):
    """A run over every node, or (``node``) the rolling part on that node alone, its kubelet pointed at the cache."""

    playbook = NODELOCALDNS

    def __init__(self, cluster, proxy, state_dir, node=None):
        super(NodeLocalDNS, self).__init__(cluster, proxy, state_dir, node)
        self.operation = "nodelocaldns.yml, %s (ansible-playbook)" % ("node %s" % node if node else "all nodes")

    def extra_vars(self):
        extra = {"nodelocaldns_report_path": self.report_path,
                 "node_maintenance_delete_emptydir_data": True, "node_maintenance_force": True}
        if self.node:
            extra.update(nodelocaldns_hosts=self.node, nodelocaldns_kubelet_cluster_dns="always")
        return extra


def kubelet_files(cluster):
    return dict((name, cluster.podman.exec(cluster.container_of(name), "cat", KUBELET_CONFIG, timeout=60).stdout)
                for name in (CP, W1, W2))


def test_nodelocaldns_stops_before_the_first_node_when_its_first_object_is_refused(
        cluster, rolling, fault_table, request):
    """The cluster's objects are written before any node; the first write refused (the upstream Service's
    server-side apply answered 503) must stop the run with the step, the cause, and the account that no node
    was changed and nothing was written."""
    proxy, state_dir = rolling
    proxy.clear()
    refused = proxy.add_rule("PATCH", UPSTREAM_SERVICE, "503")
    files_before = kubelet_files(cluster)
    run = NodeLocalDNS(cluster, proxy, state_dir).run()
    record(fault_table, request, "503-nodelocaldns-first-object", "every write of the upstream Service "
           "(kube-dns-upstream) answered 503", run, [refused])
    assert refused.applied >= 1, refused
    assert run.rc != 0 and "Traceback" not in run.output and "MODULE FAILURE" not in run.output, run.output[-6000:]
    flat = run.flat_output()
    assert "NodeLocal DNSCache stopped before the first node, so no node was changed" in flat, run.output[-4000:]
    assert "Written by this run before that: nothing." in flat, run.output[-4000:]
    assert "503" in flat or "Service Unavailable" in flat or "unavailable" in flat, run.output[-4000:]
    assert "Drain node" not in run.output
    assert kubelet_files(cluster) == files_before
    for name in (CP, W1, W2):
        assert not cluster.unschedulable(name), name
    for kind, name in (("daemonset", "node-local-dns"), ("service", "kube-dns-upstream")):
        assert cluster.kubectl("-n", "kube-system", "get", kind, name, "--ignore-not-found", "-o", "name") == "", \
            "%s %s exists after a run that says it wrote nothing" % (kind, name)


# The rolling part: lab-worker1 alone, its kubelet pointed at the cache (a restart), requests held without an
# answer (the proxy's "timeout": held until the client gives up). Every wait must end on its own time and the
# run complete or fail with an account; before, a held read of kubernetes.core's k8s_info held the node forever.

NLD_READY_WAIT = "Wait for Ready with a new heartbeat from the restarted kubelet"
NLD_ROLLBACK = "Read the Ready heartbeat before the rollback"


def kubelet_dns(cluster, name):
    return yaml.safe_load(kubelet_files(cluster)[name]).get("clusterDNS")


@pytest.fixture(scope="module")
def cache_removed_after(cluster, rolling):
    """Takes the cache out of the lab after the cases that deploy it (nothing through the proxy)."""
    yield
    proxy, state_dir = rolling
    run = NodeLocalDNS(cluster, proxy, state_dir, W1).run(through_proxy=False, nodelocaldns_state="absent")
    assert run.rc == 0, run.output[-4000:]


def test_nodelocaldns_rolls_a_node_back_when_its_ready_wait_gets_no_answer(
        cluster, rolling, fault_table, request, cache_removed_after):
    """Every read of the Node held from the wait after the kubelet restart on: the wait gives each read 15 s,
    ends at its own timeout (20 s here), and the rollback (the API server answers again from its first task)
    restores the kubelet configuration and proves the node Ready: rolled back, with the account."""
    proxy, state_dir = rolling
    proxy.clear()
    files_before = kubelet_files(cluster)
    held, marks = [], {}

    def hold_node_reads():
        marks["held"] = time.monotonic()
        held.append(proxy.add_rule("GET", node_path(W1), "timeout"))

    def answer_again():
        marks["rollback"] = time.monotonic()
        proxy.retire(held[0])

    run = NodeLocalDNS(cluster, proxy, state_dir, W1).run(
        at_task={NLD_READY_WAIT: hold_node_reads, NLD_ROLLBACK: answer_again}, nodelocaldns_node_ready_timeout=20)
    record(fault_table, request, "held-node-reads-in-ready-wait", "every read of the Node held without an answer "
           "from the wait after the kubelet restart until the rollback (wait timeout 20 s)", run, held)
    assert held and held[0].applied >= 1, held
    assert run.rc != 0 and "Traceback" not in run.output and "MODULE FAILURE" not in run.output, run.output[-6000:]
    # The held wait ended on its own time: its 20 s, one request bound past it at most, and Ansible's own steps.
    assert marks["rollback"] - marks["held"] < 50, marks
    entry = run.entry()
    assert entry is not None, run.output[-4000:]
    assert entry["action"] == "rolled_back", entry
    assert "kubelet configuration restored from" in entry["reason"], entry["reason"]
    assert NLD_READY_WAIT in entry["reason"] and "did not become Ready within 20 s" in entry["reason"], entry
    assert "cannot reach the Kubernetes API server" in entry["reason"], entry["reason"]
    assert entry["details"]["rollback"]["healthy"] is True, entry["details"]
    assert entry["left_as_is"]["cordoned"] is False and not cluster.unschedulable(W1)
    assert kubelet_files(cluster) == files_before, "the kubelet configuration was not restored as it was"
    for backup in entry["backups"]:
        assert cluster.podman.exec(cluster.container_of(W1), "test", "-e", backup, check=False).returncode == 0, backup
    flat = run.flat_output()
    assert "NodeLocal DNSCache stopped at node %s: rolled_back" % W1 in flat, run.output[-4000:]
    assert any(r.outcome == "held until the client gave up" for r in proxy.records), proxy.counts()


def test_nodelocaldns_completes_through_one_held_read_in_its_ready_wait(
        cluster, rolling, fault_table, request, cache_removed_after):
    """One read of the Node held in the wait after the kubelet restart: given up after 15 s, read again,
    and the run completes (the kubelet on the cache, the proof on the node)."""
    proxy, state_dir = rolling
    proxy.clear()
    held = []

    def hold_one_read():
        held.append(proxy.add_rule("GET", node_path(W1), "timeout", times=1))

    run = NodeLocalDNS(cluster, proxy, state_dir, W1).run(at_task={NLD_READY_WAIT: hold_one_read},
                                                          nodelocaldns_node_ready_timeout=60)
    record(fault_table, request, "held-node-read-once-in-ready-wait", "one read of the Node held without an answer "
           "in the wait after the kubelet restart (wait timeout 60 s)", run, held)
    assert held and held[0].applied == 1, held
    assert run.rc == 0 and "Traceback" not in run.output, run.output[-6000:]
    entry = run.entry()
    assert entry and entry["action"] == "changed", run.report()
    assert kubelet_dns(cluster, W1) == entry["details"]["kubelet_cluster_dns"]["after"], entry["details"]
    assert entry["details"]["kubelet_cluster_dns"]["after"] != entry["details"]["kubelet_cluster_dns"]["before"]
    assert not cluster.unschedulable(W1)

"""A rolling operation under API faults: the cgroup driver migration of one lab worker through the fault proxy.

The drain's faults are tried in test_drain_faults_lab.py; this file puts the same proxy (tests/faults/proxy.py)
between the whole migration playbook and the lab's kube-apiserver (``-e nodeops_kubeconfig=<the proxy's
kubeconfig>``; the kubelets keep talking to the API server directly) and checks what an operator gets:

- completed: rc 0, the node on systemd (kubelet and containerd), schedulable, no progress record left;
- failed with an exact account: rc != 0, never a Python traceback; the stop message names the node; the
  report (cgroup_driver_report_path) names the step that failed; its ``left_as_is.cordoned`` is the node's
  real cordon; the kubelet's driver on the node is the one the report says; every backup it lists exists on
  the node; and a rerun without the fault converges (rc 0, node on systemd and schedulable, no progress
  record left).

The lab's workers start on cgroupfs and a migration leaves a node on systemd, so the cases run in this
order on fresh workers: the ConfigMap write refused (lab-worker1, nothing changes), slow reads (lab-worker1,
completes), the node writes after the cordon refused (lab-worker2, fails after the drain, then a rerun).
Each case adds a row to a fault table of its own (.cache/faults/rolling-faults.json). Lab time: about
six to eight minutes. The module's teardown moves the seed workloads off lab-worker1 again.
"""

import json
import os
import subprocess
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

ANSIBLE_PLAYBOOK = os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook")
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "migrate_cgroup_driver.yml")
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
PROGRESS_RECORD = "/var/lib/nodeops/cgroup_driver.json"
CONFIGMAP = r"^/api/v1/namespaces/kube-system/configmaps/kubelet-config$"


def node_path(name):
    return r"^/api/v1/nodes/%s$" % name


class Migration(object):
    """One run of the migration playbook on one node through the proxy, and what it left."""

    def __init__(self, cluster, proxy, node, state_dir):
        self.cluster = cluster
        self.proxy = proxy
        self.node = node
        self.container = cluster.container_of(node)
        self.report_path = os.path.join(state_dir, "report-%s-%d.json" % (node, time.time_ns()))
        self.rc = None
        self.output = ""
        self.seconds = None

    def run(self, through_proxy=True):
        extra = {
            "cgroup_driver_hosts": self.node,
            "cgroup_driver_report_path": self.report_path,
            # The lab's seed has a pod with an emptyDir and a bare pod (tests/lab/seeds/cluster.yaml).
            "node_maintenance_delete_emptydir_data": True,
            "node_maintenance_force": True,
        }
        if through_proxy:
            extra["nodeops_kubeconfig"] = self.proxy.kubeconfig
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                   CONTAINERS_CONF=self.cluster.paths.containers_conf, ANSIBLE_LOCALHOST_WARNING="0")
        started = time.monotonic()
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", self.cluster.paths.inventory, PLAYBOOK,
                               "-e", json.dumps(extra)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=1200, check=False)
        self.seconds = time.monotonic() - started
        self.rc, self.output = proc.returncode, proc.stdout
        return self

    # -- what the run reported -------------------------------------------------------------------

    def report(self):
        if not os.path.exists(self.report_path):
            return None
        with open(self.report_path) as handle:
            return json.load(handle)

    def entry(self):
        report = self.report() or {}
        found = [n for n in report.get("nodes", []) if n.get("node") == self.node]
        return found[0] if found else None

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
        operation="migrate_cgroup_driver.yml, node %s (ansible-playbook)" % migration.node,
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
        if "FAILED!" in line and "migration stopped" in line:
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


def test_slow_reads_complete(cluster, rolling, fault_table, request):
    migration = migrate_under(cluster, rolling, fault_table, request, W1, "slow-node-reads",
                              "every read of the Node answered 1 s late",
                              ("GET", node_path(W1), "delay", {"seconds": 1}))
    check_completed(migration)


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

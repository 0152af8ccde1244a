"""The drain module under API faults: the lab's API server behind a fault-injecting proxy.

What does a drain do when the API server throttles it, fails, answers slowly, drops the connection or
does not answer at all? Each test starts the two pods of a Deployment on lab-worker1 (the harness of
conftest.py), puts one fault rule on the proxy of tests/faults/proxy.py (TLS, forwarding to the lab's
kube-apiserver as the lab's admin) and drains lab-worker1 with ansible-playbook and the proxy's
kubeconfig, so the user-facing result is what is checked. The run must end in one of two ways:

- completed: rc 0, both pods evicted and gone from lab-worker1, running again on lab-worker2, the node
  cordoned;
- failed with an exact account: rc != 0 and ``failed``; ``node`` naming the node; a message that names the
  step and the node's cordon state; ``evicted`` listing exactly the pods that left the node (a pod it does
  not list is still there with the same UID, unless ``remaining`` says it was evicted and is still
  terminating or could not be checked); every ``remaining`` pod named in the message;
  ``node_left_cordoned`` equal to the node's real state;

never with a Python traceback and never rc 0 with pods left behind. Which of the two a fault leads to is
what the table records; where the fault passes and the drain has the time (throttling that stops, slow
answers), the drain must complete.

Every run adds a row (fault, outcome, seconds, faults injected, requests per verb and resource as the
proxy counted them) to .cache/faults/drain-faults.json ($NODEOPS_FAULTS_REPORT); the session ends with
the Markdown table, and ``python tests/faults/table.py`` prints it again for docs/reliability.md.

The last test throttles the drain with the real API Priority and Fairness of kube-apiserver. It is
flaky by nature (whether the burst beside the drain overflows the priority level's seats at the moment
the drain sends a request depends on the machine's load), so a run in which no 429 reached the drain is
reported as an expected failure (xfail), not as a pass; the account of the drain is checked either way.

Lab time: about 25 s per fault (workloads, drain, teardown), plus about 60 s for the held eviction (the
client's read timeout) and about a minute for the real APF case.
"""

import base64
import collections
import json
import os
import re
import sys
import threading
import time

import pytest
import urllib3
import yaml

from conftest import REPO_ROOT, TEST_LABEL, W1, W2, deployment, wait_for

if os.path.join(REPO_ROOT, "tests") not in sys.path:
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

from faults.proxy import FaultProxy  # noqa: E402
from faults.table import Recorder  # noqa: E402

OPERATION = "drain lab-worker1: 2 pods of a Deployment (ansible-playbook)"
REPLICAS = 2

DRAIN_TASK = """
- name: Drain lab-worker1 through the fault proxy
  nodeops.kubernetes.drain:
    name: lab-worker1
    state: drain
    ignore_daemonsets: true
    timeout: {timeout}
    poll_interval: 0.5
    eviction_retry_interval: 0.5
  register: result
"""

# The evictions of the test's pods, and the list of lab-worker1's pods (the drain's plan).
EVICTION = r"^/api/v1/namespaces/{ns}/pods/[^/]+/eviction$"
NODE_PODS = dict(method="GET", path=r"^/api/v1/pods$", query=r"fieldSelector=spec\.nodeName=lab-worker1(&|$)")

# What the drain was doing when it failed: one of these is in its message (the failure of an API call names
# the call, an incomplete drain says so).
STEPS = ('read node "lab-worker1"', 'list the pods of node "lab-worker1"', 'cordon node "lab-worker1"',
         'drain of node "lab-worker1" did not complete', 'cannot drain node "lab-worker1"', "read DaemonSet",
         "list the PodDisruptionBudgets")


class Fault(object):
    """One fault of the table: its rules (paths may name the test's namespace as {ns}) and the drain timeout."""

    def __init__(self, ident, description, rules, timeout=60, expected=None):
        self.ident = ident
        # what an operator must get: "completed" where the fault passes and the drain has the time to
        # ride it out; None where failing with an exact account is as right as completing
        self.expected = expected
        self.description = description
        self.rules = rules
        self.timeout = timeout

    def add_to(self, proxy, namespace):
        rules = []
        for spec in self.rules:
            spec = dict(spec)
            if spec.get("path"):
                spec["path"] = spec["path"].format(ns=re.escape(namespace))
            rules.append(proxy.add_rule(spec.pop("method"), spec.pop("path"), spec.pop("action"), **spec))
        return rules


FAULTS = [
    Fault("429-apf", "the evictions answered 429 by API Priority and Fairness (Retry-After 1) 3 times, then passed",
          [dict(method="POST", path=EVICTION, action="429-apf", times=3)], expected="completed"),
    Fault("500-eviction", "the first eviction answered 500 InternalError",
          [dict(method="POST", path=EVICTION, action="500", times=1)]),
    Fault("503-pod-list", "the first list of the node's pods answered 503 ServiceUnavailable",
          [dict(NODE_PODS, action="503", times=1)]),
    Fault("reset-eviction", "the connection reset (RST) under the first eviction, before it reached the API server",
          [dict(method="POST", path=EVICTION, action="reset", times=1)]),
    Fault("lost-eviction-answer", "the first eviction done by the API server, then its connection reset: the answer "
          "was lost", [dict(method="POST", path=EVICTION, action="reset-after-upstream", times=1)],
          expected="completed"),
    Fault("slow-gets", "every GET answered 2 s late", [dict(method="GET", path=None, action="delay", seconds=2)],
          timeout=180, expected="completed"),
    Fault("held-eviction", "the first eviction held without an answer until the client gave up; drain timeout 10 s",
          [dict(method="POST", path=EVICTION, action="timeout", times=1)], timeout=10),
]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def fault_proxy(cluster):
    """The proxy in front of the lab's API server, with the lab's admin credentials; rules set per test."""
    with FaultProxy(cluster.kubeconfig) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def fault_table(request):
    """The rows of this session; the table is printed at the end of the session."""
    recorder = Recorder()
    request.config.pluginmanager.register(recorder, "nodeops-fault-table-%d" % id(recorder))
    return recorder


# ---------------------------------------------------------------- what the run did

def uids_on(lab, node_name):
    """{name: uid} of the test's pods on the node, terminating ones included."""
    return dict((p["metadata"]["name"], p["metadata"]["uid"]) for p in lab.pods(node_name))


def record_row(table, request, lab, fault, description, run, proxy, rules, before):
    """Add the run's row to the table before anything is asserted, so a failing run is recorded too."""
    rc, result, output, seconds = run
    proxy.settle()
    now = uids_on(lab, W1)
    message = result.get("msg") or ""
    anomalies = []
    if "Traceback" in output or "Traceback" in json.dumps(result):
        anomalies.append("Python traceback")
    if message.startswith("MODULE FAILURE"):
        anomalies.append("the module crashed")
    left = sorted(name for name, uid in before.items() if now.get(name) == uid)
    if rc == 0 and left:
        anomalies.append("rc 0 with pods left on the node: %s" % ", ".join(left))
    if rc != 0 and not result.get("failed"):
        anomalies.append("rc %d without a failed result" % rc)
    if rules and not any(rule.applied for rule in rules):
        anomalies.append("the fault was never injected")
    statuses = proxy.statuses()
    row = dict(
        fault=fault,
        fault_description=description,
        operation=OPERATION,
        outcome="completed" if rc == 0 else ("failed" if result.get("failed") else "crashed"),
        rc=rc,
        seconds=round(seconds, 1),
        drain_seconds=(result.get("durations") or {}).get("total"),
        injected=sum(rule.applied for rule in rules) if rules else statuses.get(429, 0),
        requests=len(proxy.records),
        requests_by_kind=dict(proxy.counts()),
        client_statuses=dict((str(key), value) for key, value in statuses.items()),
        evicted=len(lab.ours(result.get("evicted") or [])),
        remaining=len(lab.ours(result.get("remaining") or [])),
        node_left_cordoned=result.get("node_left_cordoned"),
        message=message.replace(lab.namespace, "<ns>"),
        anomalies=anomalies,
        test=request.node.nodeid,
    )
    return table.add(row)


def drain_through(lab, proxy, timeout):
    started = time.monotonic()
    rc, result, output = lab.playbook(DRAIN_TASK.format(timeout=timeout), kubeconfig=proxy.kubeconfig)
    return rc, result, output, time.monotonic() - started


def check_account(lab, before, run):
    """Completed, or failed with an exact account; never a traceback, never a silent success."""
    rc, result, output, _seconds = run
    assert "Traceback" not in output, output
    assert "Traceback" not in json.dumps(result), result
    assert result, "the drain task registered no result (rc %d): %s" % (rc, output)
    message = result.get("msg") or ""
    assert not message.startswith("MODULE FAILURE"), result
    now = uids_on(lab, W1)
    if rc == 0:
        assert not result.get("failed"), output
        assert result["changed"] is True
        assert sorted(e["name"] for e in lab.ours(result["evicted"])) == sorted(before), result["evicted"]
        assert lab.ours(result["remaining"]) == []
        assert now == {}, "rc 0, yet pods of the test are still on %s: %s" % (W1, now)
        assert result["node_left_cordoned"] is True
        assert lab.unschedulable(W1) is True
        lab.wait_running(REPLICAS, W2)
        return "completed"
    assert result.get("failed") is True, "rc %d but the result is not failed: %s" % (rc, output)
    assert result["node"] == W1
    assert any(step in message for step in STEPS), "the message names no step: %s" % message
    assert "cordon" in message, "the message does not say whether the node is cordoned: %s" % message
    assert isinstance(result["node_left_cordoned"], bool), result
    cordoned = lab.unschedulable(W1)
    assert result["node_left_cordoned"] is cordoned, "node_left_cordoned is %s but %s is %s" % (
        result["node_left_cordoned"], W1, "cordoned" if cordoned else "schedulable")
    evicted = dict((e["name"], e["uid"]) for e in lab.ours(result["evicted"]))
    remaining = dict((e["name"], e) for e in lab.ours(result["remaining"]))
    assert set(evicted).isdisjoint(remaining), (evicted, remaining)
    for name, uid in sorted(before.items()):
        if name in evicted:
            assert evicted[name] == uid
            assert now.get(name) != uid, "%s is reported evicted but is still on %s" % (name, W1)
        elif (remaining.get(name) or {}).get("reason", "").startswith("evicted"):
            # "evicted, but still terminating when the timeout expired", "evicted, but checking whether it
            # is gone failed": the result says the eviction was accepted; the pod may be there or gone.
            continue
        else:
            assert now.get(name) == uid, "%s left %s but the result does not report it evicted: %s" % (
                name, W1, result)
    for name in remaining:
        assert "%s/%s" % (lab.namespace, name) in message, "remaining pod %s not named: %s" % (name, message)
    counted = re.search(r"(\d+) of (\d+) pods evicted", message)
    if counted:
        assert int(counted.group(1)) == len(result["evicted"]), message
        assert int(counted.group(2)) == len(result["evicted"]) + len(result["remaining"]), message
    else:
        # A failure before the evictions: nothing evicted, nothing left half done.
        assert result["evicted"] == [] and result["remaining"] == [], result
    return "failed"


# ---------------------------------------------------------------- one fault at a time

@pytest.mark.parametrize("fault", FAULTS, ids=[f.ident for f in FAULTS])
def test_a_drain_under_an_api_fault_completes_or_fails_with_an_exact_account(
        lab, fault_proxy, fault_table, request, fault):
    lab.ready_on_w1([deployment("web", REPLICAS)], running=REPLICAS)
    before = uids_on(lab, W1)
    assert len(before) == REPLICAS
    fault_proxy.clear()
    rules = fault.add_to(fault_proxy, lab.namespace)
    run = drain_through(lab, fault_proxy, fault.timeout)
    row = record_row(fault_table, request, lab, fault.ident, fault.description, run, fault_proxy, rules, before)
    assert all(rule.applied for rule in rules), "the fault was never injected, the run proves nothing: %s" % rules
    assert check_account(lab, before, run) == row["outcome"]
    if fault.expected:
        assert row["outcome"] == fault.expected, "%s: %s" % (fault.description, run[1].get("msg"))


# ---------------------------------------------------------------- the real API Priority and Fairness

APF_PERMISSIONS = [  # what the drain needs (see the module's notes)
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["list"]},
]
APF_LABEL_VALUE = "faults-apf"
BURST_THREADS = 12
# kube-apiserver doubles the Retry-After of a priority level that keeps dropping requests (1, 2, 4 ... 32 s,
# k8s.io/apiserver/pkg/util/flowcontrol/dropped_requests_tracker.go) and urllib3 sleeps it up to 3 times per
# GET: a burst that never stopped could hold each read of the drain for minutes. 20 s of burst keep the
# Retry-After at 16 s or less and the test at about a minute.
BURST_SECONDS = 20


class RealApf(object):
    """A ServiceAccount whose every request goes to a priority level of its own with about 3 seats.

    nominalConcurrencyShares 1 among the 245 shares of kube-apiserver's default levels gives
    ceil(600 * 1 / 246) = 3 seats of the default 600 (400 read + 200 mutating), nothing lent or borrowed,
    and limitResponse Reject: no queue, a request beyond the seats is answered 429 at once.
    """

    SERVICE_ACCOUNT = "drainer"

    def __init__(self, lab):
        self.lab = lab
        self.name = "nodeops-faults-%s" % lab.namespace
        self.kubeconfig = None
        self.server = None
        self.ca_file = None
        self.token = None

    def objects(self):
        ns = self.lab.namespace
        labels = {TEST_LABEL: APF_LABEL_VALUE}
        subject = {"kind": "ServiceAccount", "name": self.SERVICE_ACCOUNT, "namespace": ns}
        return [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": self.SERVICE_ACCOUNT, "namespace": ns}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": self.name, "labels": labels}, "rules": APF_PERMISSIONS},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": self.name, "labels": labels},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self.name},
             "subjects": [subject]},
            {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
             "metadata": {"name": self.name, "labels": labels},
             "spec": {"type": "Limited", "limited": {
                 "nominalConcurrencyShares": 1, "lendablePercent": 0, "borrowingLimitPercent": 0,
                 "limitResponse": {"type": "Reject"}}}},
            {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
             "metadata": {"name": self.name, "labels": labels},
             "spec": {
                 "priorityLevelConfiguration": {"name": self.name},
                 # Before the suggested service-accounts schema (9000), after everything of the system.
                 "matchingPrecedence": 1000,
                 "distinguisherMethod": {"type": "ByUser"},
                 "rules": [{
                     "subjects": [{"kind": "ServiceAccount", "serviceAccount": {
                         "name": self.SERVICE_ACCOUNT, "namespace": ns}}],
                     "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                        "clusterScope": True, "namespaces": ["*"]}],
                     "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}},
        ]

    CLUSTER_KINDS = ("flowschema", "prioritylevelconfiguration", "clusterrolebinding", "clusterrole")

    def set_up(self):
        # Left by an interrupted run: their ServiceAccounts went with their namespaces, these stay.
        self.lab.kubectl("delete", ",".join(self.CLUSTER_KINDS), "-l", "%s=%s" % (TEST_LABEL, APF_LABEL_VALUE),
                         "--ignore-not-found", "--wait=false", check=False)
        items = {"apiVersion": "v1", "kind": "List", "items": self.objects()}
        self.lab.kubectl("create", "-f", "-", input=json.dumps(items))

        def schema_in_force():
            item = self.lab.cluster.kubectl_json("get", "flowschema", self.name)
            return any(c.get("type") == "Dangling" and c.get("status") == "False"
                       for c in (item.get("status") or {}).get("conditions") or [])

        wait_for(schema_in_force, timeout=60, interval=0.5, what="FlowSchema %s in force" % self.name)
        self.token = self.lab.kubectl("-n", self.lab.namespace, "create", "token", self.SERVICE_ACCOUNT,
                                      "--duration=15m").strip()
        with open(self.lab.kubeconfig) as handle:
            admin = yaml.safe_load(handle)
        cluster = dict(admin["clusters"][0]["cluster"])
        self.server = cluster["server"].rstrip("/")
        self.ca_file = os.path.join(self.lab.state_dir, "apiserver-ca.crt")
        with open(self.ca_file, "wb") as handle:
            handle.write(base64.b64decode(cluster["certificate-authority-data"]))
        config = {"apiVersion": "v1", "kind": "Config",
                  "clusters": [{"name": "lab", "cluster": cluster}],
                  "users": [{"name": self.SERVICE_ACCOUNT, "user": {"token": self.token}}],
                  "contexts": [{"name": "drainer", "context": {"cluster": "lab", "user": self.SERVICE_ACCOUNT}}],
                  "current-context": "drainer"}
        self.kubeconfig = os.path.join(self.lab.state_dir, "drainer-kubeconfig")
        fd = os.open(self.kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(config, handle)
        return self

    def tear_down(self):
        self.lab.kubectl("delete", *["%s/%s" % (kind, self.name) for kind in self.CLUSTER_KINDS],
                         "--ignore-not-found", "--wait=false", check=False)


class Burst(object):
    """Threads listing the test's pods as the ServiceAccount, directly at the API server, for at most ``seconds``
    while the block runs."""

    def __init__(self, apf, threads=BURST_THREADS, seconds=BURST_SECONDS):
        self.apf = apf
        self.seconds = seconds
        self.deadline = None
        self.url = "%s/api/v1/namespaces/%s/pods" % (apf.server, apf.lab.namespace)
        self.statuses = collections.Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _number in range(threads)]

    def run(self):
        pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=self.apf.ca_file, retries=False,
                                   timeout=urllib3.Timeout(connect=5, read=30))
        headers = {"Authorization": "Bearer %s" % self.apf.token}
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                status = pool.request("GET", self.url, headers=headers).status
            except urllib3.exceptions.HTTPError as exc:
                status = type(exc).__name__
            with self.lock:
                self.statuses[status] += 1

    def __enter__(self):
        self.deadline = time.monotonic() + self.seconds
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def test_a_drain_throttled_by_the_real_api_priority_and_fairness(lab, fault_table, request):
    """Flaky by nature, see the module's docstring: no 429 reaching the drain is an xfail, not a pass."""
    lab.ready_on_w1([deployment("web", REPLICAS)], running=REPLICAS)
    before = uids_on(lab, W1)
    apf = RealApf(lab)
    try:
        apf.set_up()
        with FaultProxy(apf.kubeconfig) as counter:
            with Burst(apf) as burst:
                time.sleep(1)  # the burst is running when the drain starts
                run = drain_through(lab, counter, 90)
            description = ("the real API Priority and Fairness: the drain's ServiceAccount in a priority level "
                           "of 3 seats (Reject), %d threads listing pods as the same user for the first %d s "
                           "(burst answers: %s)" % (BURST_THREADS, BURST_SECONDS, dict(burst.statuses)))
            row = record_row(fault_table, request, lab, "real-apf", description, run, counter, None, before)
            throttled = counter.statuses().get(429, 0)
    finally:
        apf.tear_down()
    check_account(lab, before, run)
    assert burst.statuses.get(200), "the ServiceAccount never got an answer: %s" % dict(burst.statuses)
    if not throttled:
        pytest.xfail("no request of the drain was answered 429 (burst: %s): the priority level was not "
                     "overflowed when the drain asked; outcome %s" % (dict(burst.statuses), row["outcome"]))


# ---------------------------------------------------------------- an uncordon nobody can confirm

UNCORDON_TASK = yaml.safe_dump([{"name": "Uncordon lab-worker1 through the fault proxy",
                                 "nodeops.kubernetes.drain": {"name": W1, "state": "uncordon"},
                                 "register": "result"}], sort_keys=False)
NODE_W1 = r"^/api/v1/nodes/lab-worker1$"


def test_an_uncordon_whose_answer_was_lost_on_a_node_that_cannot_be_read_says_nobody_knows(lab, fault_proxy):
    """The uncordon's PATCH applied by the API server but its answer lost (connection reset), and every read of
    the node after it answered 503: the module cannot know whether the node is cordoned, and must say so
    (node_left_cordoned null, the message naming both failures) instead of guessing either way."""
    lab.set_unschedulable(W1, True)
    try:
        fault_proxy.clear()
        lost = fault_proxy.add_rule("PATCH", NODE_W1, "reset-after-upstream", times=1)
        unreadable = fault_proxy.add_rule("GET", NODE_W1, "503", skip=1)  # the first read decides to uncordon
        rc, result, output = lab.playbook(UNCORDON_TASK, kubeconfig=fault_proxy.kubeconfig)
        assert (lost.applied, unreadable.applied >= 1) == (1, True), (lost, unreadable)
        assert rc != 0 and "Traceback" not in output, output
        assert result.get("failed") is True and result["node"] == W1, result
        assert result["node_left_cordoned"] is None, result
        message = result["msg"]
        assert "whether it reached the API server is not known" in message, message
        assert "Whether the node is cordoned is not known: check it with kubectl get node %s" % W1 in message, message
        # The API server did apply it: the truth the module could not read.
        assert lab.unschedulable(W1) is False
    finally:
        fault_proxy.clear()
        lab.set_unschedulable(W1, False)

"""Harness of the drain integration tests: the real kubeadm lab.

The lab (tests/lab, ``python -m nodeops_lab.lab up``) is a real Kubernetes
cluster in podman node containers: lab-cp1 (control plane, tainted),
lab-worker1 and lab-worker2. The session fixture uses the running lab of
``$NODEOPS_LAB_DIR`` (default ``<repo>/.lab``) and brings it up when it is not
up; a lab that cannot come up fails the session, it is never skipped.

Before the first test the seed workloads (namespace lab-apps) are moved off
lab-worker1 with the lab's own ``kubectl drain``, so that lab-worker1 holds
only DaemonSet pods (kube-proxy and lab-apps/node-agent) when a test starts.

Each test gets its own namespace. :meth:`Lab.ready_on_w1` cordons lab-worker2,
creates the test's workloads, waits until they run on lab-worker1 (and until
their PodDisruptionBudgets have a computed status), then makes lab-worker2
schedulable again, so evicted pods have exactly one place to go. The teardown
always uncordons both workers, removes static pod manifests the test wrote and
deletes the namespace, waiting until it is gone.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid

import pytest
import yaml

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_PATH = os.path.join(REPO_ROOT, "tests", "lab")
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
PYTHON = os.path.join(REPO_ROOT, ".venv", "bin", "python")
ANSIBLE_PLAYBOOK = os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook")

CP = "lab-cp1"
W1 = "lab-worker1"
W2 = "lab-worker2"
SEED_NAMESPACE = "lab-apps"
TEST_LABEL = "drain-tests.nodeops.io/owner"
BUSYBOX = "localhost/nodeops-lab/busybox:1.37"
PAUSE = "localhost/nodeops-lab/pause:3.10.1"
# A container that exits at once on SIGTERM (sh as PID 1 would otherwise ignore it).
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
# A container that ignores SIGTERM: only the kubelet's SIGKILL after the grace period stops it.
STUBBORN = ["sh", "-c", "while true; do sleep 1; done"]


def _collection_path():
    link_dir = os.path.join(COLLECTIONS, "ansible_collections", "nodeops")
    link = os.path.join(link_dir, "kubernetes")
    if not os.path.islink(link) and not os.path.isdir(link):
        os.makedirs(link_dir, exist_ok=True)
        os.symlink(REPO_ROOT, link)
    return COLLECTIONS


if _collection_path() not in sys.path:
    sys.path.insert(0, COLLECTIONS)
if LAB_PATH not in sys.path:
    sys.path.insert(0, LAB_PATH)

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain  # noqa: E402
from nodeops_lab import lab as lab_cli  # noqa: E402
from nodeops_lab.podman import Podman  # noqa: E402


# ---------------------------------------------------------------- object builders (namespace set by Lab.create)

def _template(app, emptydir=False, grace=None, extra_spec=None, command=None):
    container = {"name": "main", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                 "command": list(command or SLEEPER),
                 "resources": {"requests": {"cpu": "5m", "memory": "8Mi"}}}
    spec = {"containers": [container], "terminationGracePeriodSeconds": 5 if grace is None else grace,
            "enableServiceLinks": False, "automountServiceAccountToken": False}
    if emptydir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        container["volumeMounts"] = [{"name": "scratch", "mountPath": "/data"}]
    spec.update(extra_spec or {})
    return {"metadata": {"labels": {"app": app}}, "spec": spec}


def deployment(name, replicas, **kwargs):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": _template(name, **kwargs)}}


def statefulset(name, replicas, **kwargs):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                     "template": _template(name, **kwargs)}}


def daemonset(name, **kwargs):
    template = _template(name, **kwargs)
    # Never on the control plane: the tests drain lab-worker1 and the DaemonSet pods must be Ready there fast.
    template["spec"].setdefault("affinity", {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [W1, W2]}]}]}}})
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template}}


def job(name, completions=2, run_seconds=1):
    template = _template(name, grace=1, command=["sh", "-c", "sleep %d" % run_seconds],
                         extra_spec={"restartPolicy": "Never"})
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"completions": completions, "parallelism": completions, "backoffLimit": 0,
                     "template": template}}


def pod(name, node_name=None, emptydir=False, annotations=None, owner=None, **kwargs):
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
           "spec": _template(name, emptydir=emptydir, **kwargs)["spec"]}
    if node_name:
        doc["spec"]["nodeName"] = node_name
    if annotations:
        doc["metadata"]["annotations"] = annotations
    if owner:
        doc["metadata"]["ownerReferences"] = [owner]
    return doc


def pdb(name, app, min_available=None, max_unavailable=None):
    spec = {"selector": {"matchLabels": {"app": app}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": spec}


# ---------------------------------------------------------------- pod state helpers

def is_ready(item):
    status = item.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def is_daemonset_pod(item):
    return any(o.get("kind") == "DaemonSet" and o.get("controller")
               for o in (item.get("metadata") or {}).get("ownerReferences") or [])


def is_mirror_pod(item):
    return "kubernetes.io/config.mirror" in ((item.get("metadata") or {}).get("annotations") or {})


def wait_for(predicate, timeout=60, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %s s waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------- the cluster (one per session)

class Cluster(object):
    """The running lab: kubeconfig, the lab's kubectl, an API client and the node containers."""

    def __init__(self, paths):
        self.paths = paths
        self.kubeconfig = paths.kubeconfig
        self.kubectl_bin = lab_cli.kubectl_path()
        self.podman = Podman(paths.containers_conf)
        self.client = _drain.make_client({"kubeconfig": self.kubeconfig})
        from kubernetes import client as k8s, config as k8s_config  # pylint: disable=import-outside-toplevel
        api_client = k8s_config.new_client_from_config(config_file=self.kubeconfig)
        self.core = k8s.CoreV1Api(api_client)
        self.policy = k8s.PolicyV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)

    @classmethod
    def connect(cls):
        """The lab of $NODEOPS_LAB_DIR, brought up with ``lab up`` when it does not answer."""
        paths = lab_cli.Paths()
        if not cls.answers(paths):
            state = lab_cli.read_state(paths)
            port = state.get("port") or lab_cli.DEFAULT_PORT
            print("[drain tests] the lab in %s does not answer: bringing it up" % paths.lab_dir, flush=True)
            lab_cli.bring_up(paths, state.get("workers", 2), port)
        cluster = cls(paths)
        names = sorted(n["metadata"]["name"] for n in cluster.client.list_nodes())
        missing = [n for n in (CP, W1, W2) if n not in names]
        if missing:
            raise RuntimeError("the lab in %s has no node %s (nodes: %s)" % (paths.lab_dir, ", ".join(missing),
                                                                             ", ".join(names)))
        lab_cli.wait_nodes_ready(cluster.kubectl_bin, cluster.kubeconfig, [CP, W1, W2], timeout=120)
        return cluster

    @staticmethod
    def answers(paths):
        if not os.path.exists(paths.kubeconfig):
            return False
        try:
            kubectl = lab_cli.kubectl_path()
            proc = lab_cli.kubectl_run(kubectl, paths.kubeconfig, "get", "--raw", "/readyz", check=False,
                                       timeout=20)
            return proc.returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False

    # -- kubectl -------------------------------------------------------------

    def kubectl(self, *args, check=True, input=None, timeout=180):
        proc = subprocess.run([self.kubectl_bin, "--kubeconfig", self.kubeconfig] + list(args), input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s failed (%d): %s%s"
                                 % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc.stdout

    def kubectl_json(self, *args):
        return json.loads(self.kubectl(*(list(args) + ["-o", "json"])))

    # -- nodes -----------------------------------------------------------------

    def node(self, name):
        return self.client.get_node(name)

    def unschedulable(self, name):
        return bool(self.node(name)["spec"].get("unschedulable"))

    def set_unschedulable(self, name, value):
        self.client.patch_node_unschedulable(name, value)

    def node_pods(self, name):
        return self.client.list_pods(name)

    def container_of(self, node_name):
        """The podman container of a lab node."""
        for container, name, _control_plane in lab_cli.node_specs(2):
            if name == node_name:
                return container
        raise KeyError(node_name)

    # -- session preparation ---------------------------------------------------

    def delete_test_namespaces(self):
        """Namespaces left by an interrupted earlier run."""
        self.kubectl("delete", "namespace", "-l", TEST_LABEL, "--wait=false", "--ignore-not-found")
        wait_for(lambda: not self.kubectl_json("get", "namespace", "-l", TEST_LABEL)["items"], timeout=180,
                 interval=1, what="the namespaces of earlier test runs to be gone")

    def clear_worker1(self):
        """Move every pod but DaemonSet and mirror pods off lab-worker1 (the seed workloads), with kubectl drain.

        A bare seed pod (no controller) would be lost by a drain: it is recreated on lab-worker2 instead.
        """
        for name in (W1, W2):
            self.set_unschedulable(name, False)
        movable = [p for p in self.node_pods(W1) if not is_daemonset_pod(p) and not is_mirror_pod(p)]
        if not movable:
            return
        self.set_unschedulable(W1, True)
        try:
            for item in movable:
                meta = item["metadata"]
                if meta.get("ownerReferences") or meta["namespace"] != SEED_NAMESPACE:
                    continue
                copy = {"apiVersion": "v1", "kind": "Pod",
                        "metadata": {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta},
                        "spec": dict(item["spec"], nodeName=W2)}
                self.kubectl("-n", SEED_NAMESPACE, "delete", "pod", meta["name"], "--wait=true")
                self.kubectl("create", "-f", "-", input=json.dumps(copy))
            self.kubectl("drain", W1, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=240s",
                         timeout=300)
        finally:
            self.set_unschedulable(W1, False)


@pytest.fixture(scope="session")
def cluster():
    """The running lab, up (``lab up`` if needed), with lab-worker1 holding only DaemonSet pods."""
    try:
        found = Cluster.connect()
    except BaseException as exc:  # the lab CLI raises SystemExit (LabError)  pylint: disable=broad-except
        pytest.fail("the lab cannot come up, so the drain cannot be tested on a real cluster: %s" % (exc,),
                    pytrace=False)
    found.delete_test_namespaces()
    found.clear_worker1()
    return found


# ---------------------------------------------------------------- one test's view of the lab

class Lab(object):
    """One test's namespace in the real lab, and helpers to look at it and act on it."""

    def __init__(self, cluster, namespace, state_dir):
        self.cluster = cluster
        self.namespace = namespace
        self.state_dir = state_dir
        self.kubeconfig = cluster.kubeconfig
        self.client = cluster.client
        self.static_manifests = []  # (container, path)
        cluster.kubectl("create", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {TEST_LABEL: "integration"}}}))
        wait_for(self._default_service_account, timeout=180, what="the default ServiceAccount of " + namespace)

    def _default_service_account(self):
        return bool(self.cluster.kubectl("-n", self.namespace, "get", "serviceaccount", "default",
                                         "--ignore-not-found", "-o", "name").strip())

    # -- creating --------------------------------------------------------------

    def create(self, docs):
        if docs:
            items = []
            for doc in docs:
                doc = json.loads(json.dumps(doc))
                doc["metadata"]["namespace"] = self.namespace
                items.append(doc)
            body = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
            self.cluster.kubectl("create", "-f", "-", input=body)

    def ready_on_w1(self, docs, running, until=None, what="the workloads", budgets_healthy=True):
        """Workloads running on lab-worker1 only, budgets computed, then lab-worker2 schedulable again.

        ``until`` (a predicate) is waited for too, before lab-worker2 is schedulable again.
        """
        self.set_unschedulable(W2, True)
        try:
            self.create(docs)
            if running:
                self.wait_running(running, W1, timeout=120)
            if until is not None:
                self.wait_for(until, timeout=120, what=what)
            for doc in docs:
                if doc["kind"] == "PodDisruptionBudget":
                    self.wait_pdb_current(doc["metadata"]["name"], healthy=budgets_healthy)
        finally:
            self.set_unschedulable(W2, False)
        return self

    def write_static_pod(self, node_name, doc):
        """A static pod manifest in the node's /etc/kubernetes/manifests; its kubelet makes the mirror pod."""
        container = self.cluster.container_of(node_name)
        path = "/etc/kubernetes/manifests/%s-%s.yaml" % (self.namespace, doc["metadata"]["name"])
        doc = json.loads(json.dumps(doc))
        doc["metadata"]["namespace"] = self.namespace
        self.static_manifests.append((container, path))
        self.cluster.podman.write_file(container, path, yaml.safe_dump(doc))
        return "%s-%s" % (doc["metadata"]["name"], node_name)

    # -- looking ---------------------------------------------------------------

    def pods(self, node_name=None):
        """The pods of the test's namespace (on ``node_name`` when given), as dictionaries."""
        kwargs = {"_preload_content": False}
        if node_name:
            kwargs["field_selector"] = "spec.nodeName=%s" % node_name
        response = self.cluster.core.list_namespaced_pod(self.namespace, **kwargs)
        return json.loads(response.data)["items"]

    def pod_names(self, node_name):
        return sorted(p["metadata"]["name"] for p in self.pods(node_name))

    def node(self, name):
        return self.cluster.node(name)

    def unschedulable(self, name):
        return self.cluster.unschedulable(name)

    def set_unschedulable(self, name, value):
        self.cluster.set_unschedulable(name, value)

    def wait_for(self, predicate, timeout=60, interval=0.2, what="condition"):
        return wait_for(predicate, timeout, interval, what)

    def wait_running(self, count, node_name=None, timeout=90):
        def ready():
            pods = [p for p in self.pods(node_name) if not p["metadata"].get("deletionTimestamp")]
            return len([p for p in pods if is_ready(p)]) >= count
        self.wait_for(ready, timeout, what="%d running pods%s" % (count, " on " + node_name if node_name else ""))

    def pdb(self, name):
        response = self.cluster.policy.read_namespaced_pod_disruption_budget(name, self.namespace,
                                                                             _preload_content=False)
        return json.loads(response.data)

    def pdb_status(self, name):
        return self.pdb(name).get("status") or {}

    def wait_pdb_current(self, name, timeout=60, healthy=True):
        """The disruption controller has seen the budget's generation (and every expected pod healthy)."""
        def current():
            item = self.pdb(name)
            status = item.get("status") or {}
            if not healthy:
                return status.get("observedGeneration") == item["metadata"].get("generation")
            return (status.get("observedGeneration") == item["metadata"].get("generation")
                    and status.get("expectedPods", 0) > 0
                    and status.get("currentHealthy") == status.get("expectedPods"))
        self.wait_for(current, timeout, what="PodDisruptionBudget %s/%s up to date" % (self.namespace, name))

    def ours(self, entries):
        """The entries (evicted, skipped_pods...) that belong to the test's namespace."""
        return [e for e in entries if e.get("namespace") == self.namespace]

    # -- acting ----------------------------------------------------------------

    def kubectl(self, *args, **kwargs):
        return self.cluster.kubectl(*args, **kwargs)

    def drain(self, state="drain", name=W1, check_mode=False, **options):
        """NodeDrainer against the lab. ``ignore_daemonsets`` defaults to true: every real node runs
        kube-proxy and the seed's node-agent (DaemonSets), which a drain refuses otherwise."""
        options.setdefault("poll_interval", 0.2)
        options.setdefault("eviction_retry_interval", 0.2)
        if state == "drain":
            options.setdefault("ignore_daemonsets", True)
        drainer = _drain.NodeDrainer(self.client, name, _drain.DrainOptions(**options), check_mode=check_mode)
        return drainer.run(state)

    def playbook(self, tasks_yaml, check=False, extra_vars=None, kubeconfig=None,
                 defaults_group="nodeops.kubernetes.k8s"):
        """Run tasks through ansible-playbook on localhost; return (rc, the registered ``result``, output).

        The connection is given as the play's module_defaults of ``group/<defaults_group>``.
        """
        out_file = os.path.join(self.state_dir, "result-%d.json" % time.time_ns())
        play = textwrap.dedent("""\
            - hosts: localhost
              gather_facts: false
              module_defaults:
                group/{group}:
                  kubeconfig: {kubeconfig}
              tasks:
                - name: Under test
                  block:
            {tasks}
                  always:
                    - name: Save the result
                      ansible.builtin.copy:
                        content: "{{{{ result | default({{}}) | to_json }}}}"
                        dest: {out}
                        mode: "0600"
                      check_mode: false
            """).format(kubeconfig=kubeconfig or self.kubeconfig, out=out_file, group=defaults_group,
                        tasks=textwrap.indent(textwrap.dedent(tasks_yaml), " " * 8))
        path = os.path.join(self.state_dir, "play-%d.yml" % time.time_ns())
        with open(path, "w") as handle:
            handle.write(play)
        command = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", path]
        if check:
            command.append("--check")
        for key, value in (extra_vars or {}).items():
            command.extend(["-e", "%s=%s" % (key, value)])
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_PYTHON_INTERPRETER=PYTHON, ANSIBLE_LOCALHOST_WARNING="0")
        proc = subprocess.run(command, env=env, cwd=self.state_dir, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
        result = {}
        if os.path.exists(out_file):
            with open(out_file) as handle:
                result = json.load(handle)
        return proc.returncode, result, proc.stdout

    # -- cleaning up -----------------------------------------------------------

    def teardown(self):
        errors = []
        for name in (W1, W2):
            try:
                self.set_unschedulable(name, False)
            except Exception as exc:  # pylint: disable=broad-except
                errors.append("uncordon %s: %s" % (name, exc))
        for container, path in self.static_manifests:
            try:
                self.cluster.podman.exec(container, "rm", "-f", path)
            except Exception as exc:  # pylint: disable=broad-except
                errors.append("remove %s:%s: %s" % (container, path, exc))
        cluster = self.cluster
        cluster.kubectl("delete", "namespace", self.namespace, "--wait=false", "--ignore-not-found", check=False)
        # Pods that ignore SIGTERM would hold the namespace for their whole grace period.
        cluster.kubectl("-n", self.namespace, "delete", "pods", "--all", "--grace-period=0", "--force",
                        "--ignore-not-found", "--wait=false", check=False)
        # The namespace finishes its deletion in the background; what the next test needs is that no pod
        # of this one is left on a node (the session start removes namespaces an interrupted run left).
        try:
            wait_for(lambda: not [p for p in cluster.node_pods(W1) + cluster.node_pods(W2)
                                  if p["metadata"]["namespace"] == self.namespace],
                     timeout=120, interval=0.5, what="the pods of %s to be gone" % self.namespace)
        except AssertionError as exc:
            errors.append(str(exc))
        return errors


def _namespace_for(request):
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    return ("drain-%s" % slug)[:50].rstrip("-") + "-" + uuid.uuid4().hex[:5]


@pytest.fixture
def lab(cluster, request):
    """The test's own namespace in the lab; torn down (uncordon both workers, namespace gone) after the test."""
    state_dir = tempfile.mkdtemp(prefix="nodeops-drain-lab-")
    test_lab = Lab(cluster, _namespace_for(request), state_dir)
    yield test_lab
    errors = test_lab.teardown()
    if errors:
        pytest.fail("teardown of %s: %s" % (test_lab.namespace, "; ".join(errors)), pytrace=False)


class Sampler(object):
    """Calls ``sample()`` in a thread every ``interval`` seconds while the block runs; keeps the values."""

    def __init__(self, sample, interval=0.1):
        self.sample = sample
        self.interval = interval
        self.samples = []
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        while not self.stop.is_set():
            try:
                self.samples.append(self.sample())
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append(exc)
            self.stop.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

"""Harness of the drain integration tests: a private simulated API server per test.

Each test gets its own server process (free port, temporary state directory,
seed written from Python dictionaries), started with a small time scale so
that grace periods and pod start-up take a fraction of a second. The process
is stopped at the end of the test.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
import yaml

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_PATH = os.path.join(REPO_ROOT, "tests", "lab")
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
PYTHON = os.path.join(REPO_ROOT, ".venv", "bin", "python")
ANSIBLE_PLAYBOOK = os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook")
SIMULATED = {"lab.nodeops.io/simulated": "true"}


def _collection_path():
    link_dir = os.path.join(COLLECTIONS, "ansible_collections", "nodeops")
    link = os.path.join(link_dir, "kubernetes")
    if not os.path.islink(link) and not os.path.isdir(link):
        os.makedirs(link_dir, exist_ok=True)
        os.symlink(REPO_ROOT, link)
    return COLLECTIONS


if _collection_path() not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain  # noqa: E402


def server_available():
    return os.path.exists(os.path.join(LAB_PATH, "nodeops_lab", "apiserver", "__main__.py"))


# ---------------------------------------------------------------- seed builders

def node(name, unschedulable=False, cpu="4", memory="8Gi"):
    doc = {"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "annotations": dict(SIMULATED), "labels": {"kubernetes.io/hostname": name}},
           "spec": {}}
    if unschedulable:
        doc["spec"]["unschedulable"] = True
    return doc


def _template(app, emptydir=False, grace=None, extra_spec=None):
    spec = {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.9",
                            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}}}]}
    if emptydir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    spec.update(extra_spec or {})
    return {"metadata": {"labels": {"app": app}}, "spec": spec}


def deployment(name, replicas, namespace="default", **kwargs):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": _template(name, **kwargs)}}


def statefulset(name, replicas, namespace="default"):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                     "template": _template(name)}}


def daemonset(name, namespace="kube-system"):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": _template(name)}}


def job(name, completions=2, namespace="default"):
    template = _template(name, extra_spec={"restartPolicy": "Never"})
    template["metadata"]["annotations"] = {"lab.nodeops.io/run-seconds": "1"}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": namespace},
            "spec": {"completions": completions, "parallelism": completions, "template": template}}


def pod(name, node_name=None, namespace="default", emptydir=False, annotations=None, owner=None):
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                           "labels": {"app": name}},
           "spec": _template(name, emptydir=emptydir)["spec"]}
    if node_name:
        doc["spec"]["nodeName"] = node_name
    if annotations:
        doc["metadata"]["annotations"] = annotations
    if owner:
        doc["metadata"]["ownerReferences"] = [owner]
    return doc


def pdb(name, app, namespace="default", min_available=None, max_unavailable=None):
    spec = {"selector": {"matchLabels": {"app": app}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


# ---------------------------------------------------------------- the lab

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab(object):
    """One running simulated API server and helpers to look at it."""

    def __init__(self, docs, time_scale=0.05, state_dir=None):
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="nodeops-drain-lab-")
        self.port = free_port()
        self.kubeconfig = os.path.join(self.state_dir, "kubeconfig")
        self.seed = os.path.join(self.state_dir, "seed.yaml")
        with open(self.seed, "w") as handle:
            yaml.safe_dump_all(docs, handle)
        env = dict(os.environ, PYTHONPATH=LAB_PATH)
        self.log = open(os.path.join(self.state_dir, "apiserver.log"), "w")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "nodeops_lab.apiserver", "--port", str(self.port), "--state-dir", self.state_dir,
             "--seed", self.seed, "--time-scale", str(time_scale)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        self.client = None
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("the simulated API server exited: see %s" % self.log.name)
            try:
                if os.path.exists(self.kubeconfig):
                    self.client = _drain.make_client({"kubeconfig": self.kubeconfig})
                    self.client.list_nodes()
                    break
            except Exception:  # pylint: disable=broad-except
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulated API server did not answer within 30 s")
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    # -- looking -------------------------------------------------------------

    def pods(self, node_name=None):
        if node_name:
            return self.client.list_pods(node_name)
        return self.client.list_all_pods()

    def pod_names(self, node_name):
        return sorted(p["metadata"]["name"] for p in self.pods(node_name))

    def node(self, name):
        return self.client.get_node(name)

    def unschedulable(self, name):
        return bool(self.node(name)["spec"].get("unschedulable"))

    def wait_for(self, predicate, timeout=30, interval=0.1, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %s s waiting for %s" % (timeout, what))
            time.sleep(interval)

    def wait_running(self, count, node_name=None, timeout=30):
        def ready():
            pods = [p for p in self.pods(node_name) if not p["metadata"].get("deletionTimestamp")]
            running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
                       and any(c.get("type") == "Ready" and c.get("status") == "True"
                               for c in (p.get("status") or {}).get("conditions") or [])]
            return len(running) >= count
        self.wait_for(ready, timeout, what="%d running pods%s" % (count, " on " + node_name if node_name else ""))

    def set_unschedulable(self, name, value):
        self.client.patch_node_unschedulable(name, value)

    def pdb_status(self, namespace, name):
        for item in self.client.list_pdbs(namespace):
            if item["metadata"]["name"] == name:
                return item.get("status") or {}
        return None

    # -- acting --------------------------------------------------------------

    def drain(self, state="drain", name="w1", check_mode=False, **options):
        options.setdefault("poll_interval", 0.2)
        options.setdefault("eviction_retry_interval", 0.2)
        drainer = _drain.NodeDrainer(self.client, name, _drain.DrainOptions(**options), check_mode=check_mode)
        return drainer.run(state)

    def playbook(self, tasks_yaml, check=False, extra_vars=None, kubeconfig=None):
        """Run tasks through ansible-playbook on localhost; return (rc, the registered ``result``, output)."""
        out_file = os.path.join(self.state_dir, "result-%d.json" % time.time_ns())
        play = textwrap.dedent("""\
            - hosts: localhost
              gather_facts: false
              module_defaults:
                group/nodeops.kubernetes.k8s:
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
            """).format(kubeconfig=kubeconfig or self.kubeconfig, out=out_file,
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


@pytest.fixture
def start_lab():
    """Factory: ``start_lab(docs)`` starts a private simulated API server seeded with ``docs``."""
    if not server_available():
        pytest.fail("the simulated API server (tests/lab/nodeops_lab/apiserver) cannot be imported; "
                    "run the tests from a full checkout with `make integration`")
    labs = []

    def start(docs, **kwargs):
        lab = Lab(docs, **kwargs)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture
def two_workers():
    """Seed start: w1 schedulable, w2 cordoned (so that workloads land on w1 first)."""
    return [node("w1"), node("w2", unschedulable=True)]

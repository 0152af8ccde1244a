"""The real kubectl against the simulated API server (seeded with 1 control plane + 2 workers)."""

import json
import os
import subprocess
import time

import pytest

from conftest import DEFAULT_SEED, LabServer, wait_for

KUBECTL = "/usr/bin/kubectl"
pytestmark = pytest.mark.skipif(not os.path.exists(KUBECTL), reason="/usr/bin/kubectl is not installed")


# The installed kubectl may be a dispatcher that picks the client matching the
# server's minor version, so the suite runs against two reported versions.
@pytest.fixture(scope="module", params=["v1.30.2", "v1.32.2"])
def lab(request, tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("lab-kubectl"), seed=DEFAULT_SEED, time_scale=0.05,
                       extra_args=["--kubernetes-version", request.param]).start()
    try:
        yield server
    finally:
        server.stop()

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: nginx:1.27
        ports:
        - containerPort: 80
        resources:
          requests: {cpu: 100m, memory: 128Mi}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: api
  namespace: shop
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: api}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  level: "1"
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
spec:
  selector: {app: api}
  ports:
  - port: 80
    targetPort: 80
"""


@pytest.fixture(scope="module")
def kubectl(lab, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("kubectl-cache"))

    def run(*args, check=True, timeout=90, stdin=None):
        cmd = [KUBECTL, "--kubeconfig", lab.kubeconfig, "--cache-dir", cache] + list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=stdin)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(args), proc.returncode, proc.stdout,
                                                               proc.stderr))
        return proc
    run.cache = cache
    return run


def table(text):
    lines = [l for l in text.splitlines() if l.strip()]
    header = lines[0].split()
    return header, [l.split() for l in lines[1:]]


def pods_json(kubectl, *args):
    return json.loads(kubectl("get", "pods", "-o", "json", *args).stdout)["items"]


def test_get_nodes_wide(kubectl, lab):
    version = json.loads(kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] in lab.extra_args
    out = kubectl("get", "nodes", "-o", "wide").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                                "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    rows = {l.split()[0]: l for l in lines[1:]}
    assert set(rows) == {"lab-cp1", "lab-worker1", "lab-worker2"}
    assert rows["lab-cp1"].split()[1:3] == ["Ready", "control-plane"]
    assert rows["lab-worker1"].split()[1:3] == ["Ready", "<none>"]
    assert all(l.rstrip().split()[-1].startswith("containerd://") for l in rows.values())
    assert kubectl("get", "no", "lab-cp1", "-o", "jsonpath={.status.nodeInfo.containerRuntimeVersion}") \
        .stdout.startswith("containerd://")


def test_create_and_apply_manifest(kubectl, tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(MANIFEST)
    out = kubectl("create", "-f", str(path)).stdout
    for line in ("namespace/shop created", "deployment.apps/api created", "poddisruptionbudget.policy/api created",
                 "configmap/settings created", "service/api created"):
        assert line in out
    path.write_text(MANIFEST.replace('level: "1"', 'level: "2"'))
    kubectl("apply", "-f", str(path))
    assert kubectl("get", "-n", "shop", "configmap", "settings", "-o", "jsonpath={.data.level}").stdout == "2"
    kubectl("apply", "-f", str(path))
    kubectl("rollout", "status", "-n", "shop", "deployment/api", "--timeout=30s")
    kubectl("wait", "-n", "shop", "--for=condition=Available", "deployment/api", "--timeout=30s")
    header, rows = table(kubectl("get", "-n", "shop", "pdb").stdout)
    assert header == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert rows[0][:4] == ["api", "N/A", "1", "1"]


def test_get_pods_wide_and_shortnames(kubectl):
    out = kubectl("get", "po", "-A", "-o", "wide").stdout
    header = out.splitlines()[0].split()
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED",
                      "NODE", "READINESS", "GATES"]
    assert "Running" in out
    for kind in ("deploy", "rs", "sts", "ds", "pdb", "cm", "svc", "ns", "sa", "ev", "csr", "no", "lease"):
        kubectl("get", kind, "-A")
    kubectl("get", "pods", "-l", "app=web", "--show-labels")
    kubectl("get", "pods", "--field-selector", "status.phase=Running", "-A", "--sort-by=.metadata.name")


def test_cordon_and_drain(kubectl):
    kubectl("cordon", "lab-worker1")
    out = kubectl("get", "nodes").stdout
    row = [l.split() for l in out.splitlines() if l.startswith("lab-worker1")][0]
    assert row[1] == "Ready,SchedulingDisabled"
    # without --ignore-daemonsets kubectl refuses on its own terms
    proc = kubectl("drain", "lab-worker1", "--delete-emptydir-data", "--force", "--timeout=30s", check=False)
    assert proc.returncode != 0
    assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)" in proc.stderr
    started = time.monotonic()
    proc = kubectl("drain", "lab-worker1", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                   "--timeout=60s")
    assert "node/lab-worker1 drained" in proc.stdout
    assert time.monotonic() - started < 60
    left = [p for p in pods_json(kubectl, "-A", "--field-selector", "spec.nodeName=lab-worker1")
            if not any(r.get("kind") == "DaemonSet" for r in p["metadata"].get("ownerReferences", []))]
    assert left == []

    def back_to_full():
        for ns, name in (("default", "web"), ("shop", "api")):
            dep = json.loads(kubectl("get", "deploy", "-n", ns, name, "-o", "json").stdout)
            if dep["status"].get("readyReplicas") != dep["spec"]["replicas"]:
                return False
        sts = json.loads(kubectl("get", "sts", "db", "-o", "json").stdout)
        return sts["status"].get("readyReplicas") == 2
    wait_for(back_to_full, timeout=30, interval=0.3, message="workloads back to full strength")
    for pod in pods_json(kubectl, "-A"):
        owners = [r.get("kind") for r in pod["metadata"].get("ownerReferences", [])]
        if "DaemonSet" not in owners and pod["status"].get("phase") == "Running":
            assert pod["spec"]["nodeName"] != "lab-worker1"
    kubectl("uncordon", "lab-worker1")
    row = [l.split() for l in kubectl("get", "nodes").stdout.splitlines() if l.startswith("lab-worker1")][0]
    assert row[1] == "Ready"


def test_get_watch_and_wait(kubectl, lab):
    cmd = [KUBECTL, "--kubeconfig", lab.kubeconfig, "--cache-dir", kubectl.cache, "get", "configmaps", "-w"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        # (kubectl >= 1.32 sends protobuf bodies for "kubectl create configmap"; the simulation only
        # speaks JSON, so the object is created from a manifest)
        kubectl("apply", "-f", "-", stdin="apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                          "  name: watched-by-kubectl\ndata:\n  a: b\n")
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert "watched-by-kubectl" in out, err
    kubectl("run", "waiter", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "1000")
    kubectl("wait", "--for=condition=Ready", "pod/waiter", "--timeout=20s")
    kubectl("delete", "pod", "waiter", "--wait=true", "--timeout=20s")
    kubectl("delete", "configmap", "watched-by-kubectl")


def test_errors_look_real(kubectl):
    proc = kubectl("get", "pod", "nope", check=False)
    assert proc.returncode == 1
    assert 'Error from server (NotFound): pods "nope" not found' in proc.stderr
    proc = kubectl("get", "deploy", "nope", check=False)
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in proc.stderr
    doc = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: twice\n"
    kubectl("create", "-f", "-", stdin=doc)
    proc = kubectl("create", "-f", "-", check=False, stdin=doc)
    assert proc.returncode == 1
    assert ('Error from server (AlreadyExists): error when creating "STDIN": namespaces "twice" already exists'
            in proc.stderr)
    kubectl("delete", "namespace", "twice")

"""Checks of a lab node's health shared by the Molecule verifiers (testinfra hosts and the kubernetes client).

``run`` is a callable that runs a shell command on the node and returns an
object with ``stdout`` (a testinfra host's ``run``).
"""

import datetime
import json

# A kubelet renews its Lease every 10 s (a quarter of the 40 s duration).
LEASE_FRESH_SECONDS = 40


def assert_ready_with_a_fresh_lease(core, coordination, name, schedulable=True):
    """The Node is Ready, schedulable (unless ``schedulable`` is None), and its kubelet renewed its Lease within 40 s."""
    obj = core.read_node(name)
    ready = [c for c in obj.status.conditions or [] if c.type == "Ready"]
    assert ready and ready[0].status == "True", ready
    if schedulable is not None:
        assert bool(obj.spec.unschedulable) != schedulable, "%s unschedulable=%s" % (name, obj.spec.unschedulable)
    lease = coordination.read_namespaced_lease(name, "kube-node-lease")
    assert lease.spec.holder_identity == name
    age = (datetime.datetime.now(datetime.timezone.utc) - lease.spec.renew_time).total_seconds()
    assert age < LEASE_FRESH_SECONDS, "lease of %s renewed %.0fs ago" % (name, age)
    return obj


def assert_pods_run_in_containerd(core, run, name):
    """Every pod the API shows Running on the node has a running sandbox in the node's containerd."""
    pods = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=%s,status.phase=Running" % name).items
    assert pods, "no Running pod on %s" % name
    running = set(run("ctr -n k8s.io tasks ls --quiet").stdout.split())
    sandboxes = {}
    for sandbox in run("ctr -n k8s.io containers ls --quiet "
                       "'labels.\"io.cri-containerd.kind\"==sandbox'").stdout.split():
        if sandbox not in running:
            continue
        text = run("ctr -n k8s.io containers info %s" % sandbox).stdout
        if not text.strip():
            # removed since the list (the kubelet collects exited sandboxes): not a running one
            continue
        info = json.loads(text)
        sandboxes.setdefault(info["Labels"].get("io.kubernetes.pod.uid"), set()).add(sandbox)
    for pod in pods:
        # A static pod's sandbox carries the UID the kubelet gave it (the config hash); the API
        # holds its mirror pod under another UID.
        uid = (pod.metadata.annotations or {}).get("kubernetes.io/config.hash") or pod.metadata.uid
        assert sandboxes.get(uid, set()) & running, "%s/%s: no running sandbox" % (
            pod.metadata.namespace, pod.metadata.name)
    return pods

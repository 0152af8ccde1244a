"""An in-memory cluster with the interface of KubernetesDrainClient, shared by the drain tests.

This file holds no tests itself.
"""

import copy
import itertools
import threading
import time

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_filters import parse_label_selector
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

_uids = itertools.count(1)


def make_node(name="w1", unschedulable=False, ready=True, taints=None, labels=None, cpu="4", memory="8Gi",
              pods="110"):
    node = {
        "metadata": {"name": name, "labels": labels or {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                            "reason": "KubeletReady" if ready else "KubeletNotReady"}],
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
        },
    }
    if unschedulable:
        node["spec"]["unschedulable"] = True
    if taints:
        node["spec"]["taints"] = taints
    return node


def make_pod(name, namespace="default", node="w1", owner=("ReplicaSet", "web-5d8f"), phase="Running",
             emptydir=False, mirror=False, deleting_since=None, labels=None, requests=None, tolerations=None,
             node_selector=None):
    pod = {
        "metadata": {"name": name, "namespace": namespace, "uid": "uid-%d" % next(_uids),
                     "labels": labels if labels is not None else {"app": name.split("-")[0]}},
        "spec": {"nodeName": node, "containers": [{"name": "main"}], "volumes": []},
        "status": {"phase": phase},
    }
    if owner:
        kind, owner_name = owner
        api_version = "apps/v1" if kind in ("ReplicaSet", "DaemonSet", "StatefulSet") else "batch/v1"
        pod["metadata"]["ownerReferences"] = [
            {"apiVersion": api_version, "kind": kind, "name": owner_name, "uid": "owner", "controller": True}]
    if emptydir:
        pod["spec"]["volumes"].append({"name": "scratch", "emptyDir": {}})
    if mirror:
        pod["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    if deleting_since:
        pod["metadata"]["deletionTimestamp"] = deleting_since
    if requests:
        pod["spec"]["containers"][0]["resources"] = {"requests": requests}
    if tolerations:
        pod["spec"]["tolerations"] = tolerations
    if node_selector:
        pod["spec"]["nodeSelector"] = node_selector
    return pod


def make_pdb(name, namespace="default", match_labels=None, min_available=None, max_unavailable=None,
             disruptions_allowed=0, current_healthy=2, desired_healthy=2, expected_pods=2):
    spec = {"selector": {"matchLabels": match_labels or {}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
        "status": {"disruptionsAllowed": disruptions_allowed, "currentHealthy": current_healthy,
                   "desiredHealthy": desired_healthy, "expectedPods": expected_pods},
    }


def api_error(status, message, reason=None, **facts):
    """A NodeOpsError as KubernetesDrainClient raises it; ``facts`` are the extra details it adds
    (``not_found_kind``, ``retry_after``, ``causes``)."""
    return NodeOpsError(message, status=status, reason=reason, **facts)


def pod_not_found(name):
    return api_error(404, 'pods "%s" not found' % name, "NotFound", not_found_kind="pods")


class FakeCluster(object):
    """Nodes, pods, DaemonSets and PodDisruptionBudgets in memory, with scripted API answers.

    ``eviction_script[(ns, name)]`` is a list of answers consumed one per
    eviction request: an int is an HTTP error status (404: the pod went away
    just before the request), a NodeOpsError is raised as it is (nothing else
    happens), None is success, "reset" is no answer (nothing happened) and
    "lost" is no answer after the eviction was done; the last error repeats.
    ``eviction_api`` is what the discovery says about the Eviction subresource.
    ``time_limits`` records the request time limits a drain sets
    (``limit_requests``); ``time_left`` is the current one.
    ``gets_until_gone[(ns, name)]`` is how many GETs still see an evicted pod.
    ``recreate[(ns, name)]`` makes an evicted pod come back under the same name
    with a new UID (a StatefulSet pod).
    """

    def __init__(self, nodes=(), pods=(), daemonsets=(), pdbs=()):
        self.lock = threading.RLock()
        self.nodes = dict((n["metadata"]["name"], n) for n in nodes)
        self.pods = dict(((p["metadata"]["namespace"], p["metadata"]["name"]), p) for p in pods)
        self.daemonsets = set(daemonsets)
        self.pdbs = list(pdbs)
        self.calls = []
        self.eviction_script = {}
        self.gets_until_gone = {}
        self.recreate = set()
        self.evict_delay = 0.0
        self.active = 0
        self.max_active = 0
        self.new_pods_after_cordon = []
        self.list_error = None
        # node name -> successive Lease renewTime values the fake returns (the last one repeats)
        self.lease_renewals = {}
        self.eviction_api = True
        self.time_left = None
        self.time_limits = []

    # recording
    def _record(self, *call):
        with self.lock:
            self.calls.append(call)

    def mutations(self):
        """Calls that would change the cluster (dry runs excluded)."""
        return [c for c in self.calls if c[0] in ("patch", "evict", "delete") and not c[-1]]

    def calls_of(self, kind):
        return [c for c in self.calls if c[0] == kind]

    def limit_requests(self, time_left):
        self.time_left = time_left
        self.time_limits.append(time_left)

    def eviction_supported(self):
        self._record("discovery")
        return self.eviction_api

    # nodes
    def get_node(self, name):
        self._record("get_node", name)
        node = self.nodes.get(name)
        return copy.deepcopy(node) if node else None

    def get_node_lease(self, name):
        self._record("get_node_lease", name)
        renewals = self.lease_renewals.get(name)
        if not renewals:
            return None
        renew = renewals.pop(0) if len(renewals) > 1 else renewals[0]
        return {"metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": {"renewTime": renew}}

    def patch_node_unschedulable(self, name, unschedulable, dry_run=False):
        self._record("patch", name, unschedulable, dry_run)
        node = self.nodes.get(name)
        if node is None:
            raise api_error(404, 'cordon node "%s": nodes "%s" not found' % (name, name))
        if not dry_run:
            with self.lock:
                if unschedulable:
                    node["spec"]["unschedulable"] = True
                    for pod in self.new_pods_after_cordon:
                        self.add_pod(pod)
                    self.new_pods_after_cordon = []
                else:
                    node["spec"].pop("unschedulable", None)
        return copy.deepcopy(node)

    def list_nodes(self, limit=None):
        self._record("list_nodes")
        return [copy.deepcopy(n) for n in self.nodes.values()]

    # pods
    def add_pod(self, pod):
        with self.lock:
            self.pods[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = pod

    def list_pods(self, node_name, label_selector=None, limit=None):
        self._record("list_pods", node_name, label_selector, limit)
        if self.list_error:
            raise self.list_error  # pylint: disable=raising-bad-type
        selector = parse_label_selector(label_selector)
        with self.lock:
            return [copy.deepcopy(p) for p in self.pods.values()
                    if p["spec"].get("nodeName") == node_name and selector.matches(p["metadata"].get("labels"))]

    def list_all_pods(self, field_selector=None, limit=None):
        self._record("list_all_pods", field_selector)
        with self.lock:
            pods = [copy.deepcopy(p) for p in self.pods.values()]
        if field_selector and "status.phase!=Succeeded" in field_selector:
            pods = [p for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")]
        return pods

    def get_pod(self, namespace, name):
        self._record("get_pod", namespace, name)
        key = (namespace, name)
        with self.lock:
            pod = self.pods.get(key)
            if pod is None:
                return None
            if pod["metadata"].get("deletionTimestamp") and key in self.gets_until_gone:
                if self.gets_until_gone[key] <= 0:
                    self._remove(key)
                    return copy.deepcopy(self.pods.get(key)) if key in self.pods else None
                self.gets_until_gone[key] -= 1
            return copy.deepcopy(pod)

    def _remove(self, key):
        pod = self.pods.pop(key)
        self.gets_until_gone.pop(key, None)
        if key in self.recreate:
            fresh = copy.deepcopy(pod)
            fresh["metadata"]["uid"] = "uid-%d" % next(_uids)
            fresh["metadata"].pop("deletionTimestamp", None)
            fresh["spec"]["nodeName"] = "w2"
            self.pods[key] = fresh

    def _take_down(self, namespace, name):
        key = (namespace, name)
        with self.lock:
            pod = self.pods.get(key)
            if pod is None:
                raise pod_not_found(name)
            pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
            if self.gets_until_gone.get(key, 0) <= 0:
                self._remove(key)

    def evict_pod(self, namespace, name, grace_period=None, dry_run=False):
        self._record("evict", namespace, name, grace_period, dry_run)
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.evict_delay:
                time.sleep(self.evict_delay)
            key = (namespace, name)
            with self.lock:
                script = self.eviction_script.get(key)
                answer = script.pop(0) if script else None
                if script is not None and not script and answer is not None:
                    script.append(answer)
            if isinstance(answer, NodeOpsError):
                raise answer
            if answer in ("reset", "lost"):
                # no answer: "reset" before the request reached the API server, "lost" after it did its work
                if answer == "lost" and not dry_run:
                    self._take_down(namespace, name)
                raise NodeOpsError('evict pod "%s/%s": cannot reach the Kubernetes API server (fake): connection '
                                   'reset by peer; check host/kubeconfig, network and TLS settings'
                                   % (namespace, name), api_unreachable=True)
            if answer == 404:
                with self.lock:
                    self.pods.pop(key, None)
                raise pod_not_found(name)
            if answer == 429:
                raise api_error(429, "Cannot evict pod as it would violate the pod's disruption budget.",
                                "TooManyRequests")
            if answer == 500:
                raise api_error(500, "This pod has more than one PodDisruptionBudget, which the eviction "
                                     "subresource does not support.", "InternalError")
            if answer == 403:
                raise api_error(403, 'forbidden: User "ops" cannot create resource "pods/eviction"')
            if answer is not None:
                raise api_error(answer, "error %s" % answer)
            if key not in self.pods:
                raise pod_not_found(name)
            if not dry_run:
                self._take_down(namespace, name)
        finally:
            with self.lock:
                self.active -= 1

    def delete_pod(self, namespace, name, grace_period=None, dry_run=False):
        self._record("delete", namespace, name, grace_period, dry_run)
        if not dry_run:
            self._take_down(namespace, name)
        elif (namespace, name) not in self.pods:
            raise pod_not_found(name)

    # others
    def daemonset_exists(self, namespace, name):
        self._record("get_daemonset", namespace, name)
        return (namespace, name) in self.daemonsets

    def list_pdbs(self, namespace):
        self._record("list_pdbs", namespace)
        return [copy.deepcopy(p) for p in self.pdbs if p["metadata"]["namespace"] == namespace]

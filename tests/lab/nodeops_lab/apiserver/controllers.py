"""Simulated cluster behaviour: node lifecycle, scheduler, a kubelet stand-in
for pods, workload controllers, the disruption (PDB) controller, namespace
deletion, garbage collection and a CSR signer.

Everything here is a simulation running as asyncio work inside the API server
process. Every delay is multiplied by the server's time scale.
"""

import asyncio
import base64
import copy
import ipaddress
import logging
import time

from . import errors, resources
from .registry import SYSTEM_USER, set_condition
from .scheduling import (DAEMONSET_TOLERATIONS, UNSCHEDULABLE_TAINT, node_allocatable,
                         node_matches_affinity, pod_requests, untolerated_taint)
from .selectors import selector_from_label_selector
from .util import (fmt_micro_time, fmt_time, get_path, node_ready_status, pod_is_ready,
                   scaled_int_or_percent, stable_hash)

LOG = logging.getLogger("nodeops_lab.apiserver.controllers")

SIMULATED_ANNOTATION = "lab.nodeops.io/simulated"
AGENT_PODS_ANNOTATION = "lab.nodeops.io/pods-managed-by-agent"
STARTUP_ANNOTATION = "lab.nodeops.io/startup-seconds"
READY_ANNOTATION = "lab.nodeops.io/ready-seconds"
RUN_ANNOTATION = "lab.nodeops.io/run-seconds"

NODE_MONITOR_GRACE = 40.0
NODE_STATUS_UPDATE = 10.0
DEFAULT_STARTUP = 1.0
DISRUPTED_POD_TIMEOUT = 120.0
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"

PODS = resources.get("pods")
NODES = resources.get("nodes")
NAMESPACES = resources.get("namespaces")
LEASES = resources.get("coordination.k8s.io/leases")
DEPLOYMENTS = resources.get("apps/deployments")
REPLICASETS = resources.get("apps/replicasets")
STATEFULSETS = resources.get("apps/statefulsets")
DAEMONSETS = resources.get("apps/daemonsets")
JOBS = resources.get("batch/jobs")
PDBS = resources.get("policy/poddisruptionbudgets")
CSRS = resources.get("certificates.k8s.io/certificatesigningrequests")
SERVICEACCOUNTS = resources.get("serviceaccounts")

SIGNERS = {"kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet",
           "kubernetes.io/kubelet-serving", "nodeops.io/lab"}


def controller_ref(obj):
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_ref(owner, kind, api_version="apps/v1"):
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _float_annotation(obj, key, default):
    value = (obj["metadata"].get("annotations") or {}).get(key)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        return default


def _is_active(pod):
    return not pod["metadata"].get("deletionTimestamp") and \
        get_path(pod, "status", "phase") not in ("Succeeded", "Failed")


class Simulation:
    def __init__(self, server):
        self.server = server
        self.store = server.store
        self.registry = server.registry
        self.scale = server.time_scale
        self.wake = asyncio.Event()
        self.pod_timing = {}  # pod uid -> {"bound": t, "running": t}
        self.node_probe = {}  # node name -> (heartbeat, renewTime, observed monotonic)
        self.sim_beat = {}  # node name -> monotonic time of last simulated heartbeat
        self.node_ips = {}
        self.pod_ip_counter = {}
        self.store.listeners.append(lambda _event: self.wake.set())
        self.tick = min(0.25, max(0.02, 0.5 * self.scale))
        self.beat_interval = max(1.0, NODE_STATUS_UPDATE * self.scale)

    def kick(self):
        self.wake.set()

    async def run(self):
        steps = [self.node_lifecycle, self.namespaces, self.garbage_collect, self.deployments,
                 self.replicasets, self.statefulsets, self.daemonsets, self.jobs, self.scheduler,
                 self.kubelet, self.disruption, self.csr_signer]
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.tick)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            await asyncio.sleep(0.005)
            for step in steps:
                try:
                    step()
                except errors.APIError as exc:
                    LOG.debug("%s: %s", step.__name__, exc.message)
                except Exception:  # keep the simulation alive
                    LOG.exception("controller step %s failed", step.__name__)

    # ------------------------------------------------------------------ helpers
    def _create(self, rt, namespace, body):
        try:
            return self.registry.create(rt, namespace, body, user=SYSTEM_USER)
        except errors.APIError as exc:
            LOG.debug("create %s in %s failed: %s", rt.plural, namespace, exc.message)
            return None

    def _delete(self, rt, obj, options=None):
        meta = obj["metadata"]
        try:
            self.registry.delete(rt, meta.get("namespace"), meta["name"], options or {})
        except errors.APIError as exc:
            LOG.debug("delete %s/%s failed: %s", rt.plural, meta["name"], exc.message)

    def _owned(self, items, owner):
        uid = owner["metadata"]["uid"]
        return [o for o in items if (controller_ref(o) or {}).get("uid") == uid]

    def _pods_by_ns(self):
        out = {}
        for pod in self.store.list(PODS):
            out.setdefault(pod["metadata"]["namespace"], []).append(pod)
        return out

    # ------------------------------------------------------------------ nodes
    def _node_ip(self, name):
        if name not in self.node_ips:
            self.node_ips[name] = "10.88.0.%d" % (10 + len(self.node_ips))
        return self.node_ips[name]

    def _simulated_status(self, node, now):
        new = copy.deepcopy(node)
        status = new.setdefault("status", {})
        name = node["metadata"]["name"]
        cap = status.setdefault("capacity", {})
        for key, value in (("cpu", "4"), ("memory", "8Gi"), ("pods", "110"), ("ephemeral-storage", "50Gi")):
            cap.setdefault(key, value)
        alloc = status.setdefault("allocatable", {})
        for key, value in cap.items():
            alloc.setdefault(key, value)
        if not status.get("addresses"):
            status["addresses"] = [{"type": "InternalIP", "address": self._node_ip(name)},
                                   {"type": "Hostname", "address": name}]
        status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 10250}})
        info = status.setdefault("nodeInfo", {})
        from .app import KUBELET_VERSION
        defaults = {"machineID": stable_hash(name, 32), "systemUUID": stable_hash("uuid" + name, 32),
                    "bootID": stable_hash("boot" + name, 32), "kernelVersion": "6.1.0-28-amd64",
                    "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "containerRuntimeVersion": "containerd://1.7.24", "kubeletVersion": KUBELET_VERSION,
                    "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": "amd64"}
        for key, value in defaults.items():
            if not info.get(key):
                info[key] = value
        beat = now - self.sim_beat.get(name, -1e9) >= self.beat_interval
        if beat:
            self.sim_beat[name] = now
        for ctype, reason, message in (
                ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                ("Ready", "KubeletReady", "kubelet is posting ready status")):
            value = "True" if ctype == "Ready" else "False"
            existing = [c for c in status.get("conditions") or [] if c.get("type") == ctype]
            set_condition(new, ctype, value, reason=reason, message=message,
                          heartbeat=beat or not existing or "lastHeartbeatTime" not in existing[0])
        return new, beat

    def _renew_lease(self, name):
        lease = self.store.get(LEASES, "kube-node-lease", name)
        node = self.store.get(NODES, "", name)
        if lease is None:
            body = {"metadata": {"name": name, "namespace": "kube-node-lease",
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                                      "uid": node["metadata"]["uid"]}]},
                    "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                             "renewTime": fmt_micro_time()}}
            self._create(LEASES, "kube-node-lease", body)
            return
        new = copy.deepcopy(lease)
        new.setdefault("spec", {})["renewTime"] = fmt_micro_time()
        self.registry.write_status(LEASES, new)

    def node_lifecycle(self):
        now = time.monotonic()
        grace = NODE_MONITOR_GRACE * self.scale
        for node in self.store.list(NODES):
            name = node["metadata"]["name"]
            annotations = node["metadata"].get("annotations") or {}
            if annotations.get(SIMULATED_ANNOTATION) == "true":
                new, beat = self._simulated_status(node, now)
                if beat:
                    self._renew_lease(name)
                ready = "True"
            else:
                ready_cond = next((c for c in get_path(node, "status", "conditions", default=[]) or []
                                   if c.get("type") == "Ready"), None)
                heartbeat = (ready_cond or {}).get("lastHeartbeatTime")
                lease = self.store.get(LEASES, "kube-node-lease", name)
                renew = get_path(lease, "spec", "renewTime") if lease else None
                seen = self.node_probe.get(name)
                if seen is None or seen[0] != heartbeat or seen[1] != renew:
                    self.node_probe[name] = (heartbeat, renew, now)
                    seen = self.node_probe[name]
                new = copy.deepcopy(node)
                if now - seen[2] > grace:
                    conds = new.setdefault("status", {}).setdefault("conditions", [])
                    if not any(c.get("type") == "Ready" for c in conds):
                        set_condition(new, "Ready", "Unknown", reason="NodeStatusNeverUpdated",
                                      message="Kubelet never posted node status.")
                    for cond in conds:
                        if cond.get("status") != "Unknown":
                            cond["status"] = "Unknown"
                            cond["reason"] = "NodeStatusUnknown"
                            cond["message"] = "Kubelet stopped posting node status."
                            cond["lastTransitionTime"] = fmt_time()
                ready = node_ready_status(new)
            taints = [t for t in get_path(new, "spec", "taints", default=[]) or []
                      if not (t.get("key") in (UNREACHABLE, NOT_READY) and t.get("effect") == "NoSchedule")]
            if ready == "Unknown":
                taints.append({"key": UNREACHABLE, "effect": "NoSchedule"})
            elif ready == "False":
                taints.append({"key": NOT_READY, "effect": "NoSchedule"})
            old_taints = get_path(new, "spec", "taints", default=[]) or []
            if sorted(map(repr, taints)) != sorted(map(repr, old_taints)):
                keep = {(t.get("key"), t.get("effect")): t for t in old_taints}
                new.setdefault("spec", {})["taints"] = [keep.get((t["key"], t["effect"]), t) for t in taints]
                if not new["spec"]["taints"]:
                    del new["spec"]["taints"]
            self.registry.write_status(NODES, new)

    # ------------------------------------------------------------------ namespaces & GC
    def namespaces(self):
        for ns in self.store.list(NAMESPACES):
            name = ns["metadata"]["name"]
            if ns["metadata"].get("deletionTimestamp"):
                remaining = 0
                for rt in resources.RESOURCES:
                    if not rt.namespaced or rt.plural in resources.NON_LISTABLE:
                        continue
                    for obj in self.store.list(rt, name):
                        remaining += 1
                        if not obj["metadata"].get("deletionTimestamp"):
                            self._delete(rt, obj)
                        elif obj["metadata"].get("finalizers") and rt.key != "pods":
                            pass
                if remaining == 0:
                    self.registry.remove(NAMESPACES, ns)
                continue
            if self.store.get(SERVICEACCOUNTS, name, "default") is None:
                self._create(SERVICEACCOUNTS, name, {"metadata": {"name": "default"}})

    def garbage_collect(self):
        live = self.store.uids
        for rt in resources.RESOURCES:
            for obj in self.store.list(rt):
                refs = obj["metadata"].get("ownerReferences")
                if not refs or obj["metadata"].get("deletionTimestamp"):
                    continue
                if all(ref.get("uid") not in live for ref in refs):
                    self._delete(rt, obj)

    # ------------------------------------------------------------------ workloads
    def _pod_from_template(self, owner, kind, api_version="apps/v1", name=None, extra_labels=None,
                           extra_annotations=None):
        template = copy.deepcopy(get_path(owner, "spec", "template", default={}) or {})
        meta = template.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        labels.update(extra_labels or {})
        annotations = dict(meta.get("annotations") or {})
        annotations.update(extra_annotations or {})
        pod_meta = {"labels": labels, "ownerReferences": [owner_ref(owner, kind, api_version)]}
        if annotations:
            pod_meta["annotations"] = annotations
        if meta.get("finalizers"):
            pod_meta["finalizers"] = meta["finalizers"]
        if name:
            pod_meta["name"] = name
        else:
            pod_meta["generateName"] = owner["metadata"]["name"] + "-"
        return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}}

    def replicasets(self):
        pods_by_ns = self._pods_by_ns()
        for rs in self.store.list(REPLICASETS):
            if rs["metadata"].get("deletionTimestamp"):
                continue
            ns = rs["metadata"]["namespace"]
            owned = self._owned(pods_by_ns.get(ns, []), rs)
            active = [p for p in owned if _is_active(p)]
            want = int(get_path(rs, "spec", "replicas", default=1))
            if len(active) < want:
                for _ in range(min(want - len(active), 100)):
                    pod = self._create(PODS, ns, self._pod_from_template(rs, "ReplicaSet"))
                    if pod is not None:
                        active.append(pod)
            elif len(active) > want:
                def rank(pod):
                    return (bool(get_path(pod, "spec", "nodeName")),
                            get_path(pod, "status", "phase") == "Running", pod_is_ready(pod),
                            -float(pod["metadata"]["resourceVersion"]))
                for pod in sorted(active, key=rank)[:len(active) - want]:
                    self._delete(PODS, pod)
                    active.remove(pod)
            ready = sum(1 for p in active if pod_is_ready(p))
            new = copy.deepcopy(rs)
            new["status"] = {"replicas": len(active), "fullyLabeledReplicas": len(active),
                             "readyReplicas": ready, "availableReplicas": ready,
                             "observedGeneration": rs["metadata"].get("generation", 1)}
            self.registry.write_status(REPLICASETS, new)

    def deployments(self):
        for dep in self.store.list(DEPLOYMENTS):
            if dep["metadata"].get("deletionTimestamp"):
                continue
            ns = dep["metadata"]["namespace"]
            spec = dep.get("spec") or {}
            desired = int(spec.get("replicas", 1))
            template = spec.get("template") or {}
            tmpl_hash = stable_hash(template)
            owned = self._owned(self.store.list(REPLICASETS, ns), dep)
            new_rs = next((rs for rs in owned if get_path(rs, "metadata", "labels", "pod-template-hash")
                           == tmpl_hash), None)
            old_rss = [rs for rs in owned if rs is not new_rs]
            revisions = [int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision",
                                                                          "0") or 0) for rs in owned]
            if new_rs is None:
                rs_template = copy.deepcopy(template)
                rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = tmpl_hash
                selector = copy.deepcopy(spec.get("selector") or {})
                selector.setdefault("matchLabels", {})["pod-template-hash"] = tmpl_hash
                labels = dict(get_path(template, "metadata", "labels", default={}) or {})
                labels["pod-template-hash"] = tmpl_hash
                body = {"metadata": {"name": "%s-%s" % (dep["metadata"]["name"], tmpl_hash), "labels": labels,
                                     "annotations": {
                                         "deployment.kubernetes.io/revision": str(max(revisions + [0]) + 1),
                                         "deployment.kubernetes.io/desired-replicas": str(desired),
                                         "deployment.kubernetes.io/max-replicas": str(desired)},
                                     "ownerReferences": [owner_ref(dep, "Deployment")]},
                        "spec": {"replicas": desired, "selector": selector, "template": rs_template,
                                 "minReadySeconds": spec.get("minReadySeconds", 0)}}
                if spec.get("strategy", {}).get("type") == "Recreate" and any(
                        get_path(rs, "status", "replicas", default=0) for rs in old_rss):
                    body["spec"]["replicas"] = 0
                new_rs = self._create(REPLICASETS, ns, body)
                if new_rs is None:
                    continue
            # scale the new ReplicaSet up and the old ones down as new pods become available
            new_available = get_path(new_rs, "status", "availableReplicas", default=0)
            recreate = spec.get("strategy", {}).get("type") == "Recreate"
            if recreate:
                for rs in old_rss:
                    self._scale_rs(rs, 0)
                old_left = sum(get_path(rs, "status", "replicas", default=0) for rs in old_rss)
                self._scale_rs(new_rs, desired if old_left == 0 else 0)
            else:
                self._scale_rs(new_rs, desired)
                allowed_old = max(0, desired - new_available)
                for rs in sorted(old_rss, key=lambda r: r["metadata"]["creationTimestamp"]):
                    current = int(get_path(rs, "spec", "replicas", default=0))
                    keep = min(current, allowed_old)
                    allowed_old -= keep
                    self._scale_rs(rs, keep)
            all_rs = [self.store.get(REPLICASETS, ns, rs["metadata"]["name"]) for rs in owned + [new_rs]]
            all_rs = {rs["metadata"]["uid"]: rs for rs in all_rs if rs is not None}.values()
            new_rs = self.store.get(REPLICASETS, ns, new_rs["metadata"]["name"]) or new_rs
            total = sum(get_path(rs, "status", "replicas", default=0) for rs in all_rs)
            ready = sum(get_path(rs, "status", "readyReplicas", default=0) for rs in all_rs)
            available = sum(get_path(rs, "status", "availableReplicas", default=0) for rs in all_rs)
            updated = get_path(new_rs, "status", "replicas", default=0)
            max_unavailable = scaled_int_or_percent(
                get_path(spec, "strategy", "rollingUpdate", "maxUnavailable", default=0), desired, False) \
                if not recreate else 0
            new = copy.deepcopy(dep)
            status = new.setdefault("status", {})
            status.update({"observedGeneration": dep["metadata"].get("generation", 1), "replicas": total,
                           "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                           "unavailableReplicas": max(0, total - available) if total > desired
                           else max(0, desired - available)})
            for key in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas",
                        "replicas"):
                if status[key] == 0:
                    del status[key]
            if available >= desired - max_unavailable:
                self._deploy_condition(new, "Available", "True", "MinimumReplicasAvailable",
                                       "Deployment has minimum availability.")
            else:
                self._deploy_condition(new, "Available", "False", "MinimumReplicasUnavailable",
                                       "Deployment does not have minimum availability.")
            rs_name = new_rs["metadata"]["name"]
            if updated == desired and total == desired and available >= desired:
                self._deploy_condition(new, "Progressing", "True", "NewReplicaSetAvailable",
                                       'ReplicaSet "%s" has successfully progressed.' % rs_name)
            else:
                self._deploy_condition(new, "Progressing", "True", "ReplicaSetUpdated",
                                       'ReplicaSet "%s" is progressing.' % rs_name)
            self.registry.write_status(DEPLOYMENTS, new)

    @staticmethod
    def _deploy_condition(obj, ctype, status, reason, message):
        conds = obj.setdefault("status", {}).setdefault("conditions", [])
        now = fmt_time()
        for cond in conds:
            if cond.get("type") == ctype:
                if cond.get("status") != status:
                    cond["lastTransitionTime"] = now
                if (cond.get("status"), cond.get("reason"), cond.get("message")) != (status, reason, message):
                    cond["lastUpdateTime"] = now
                cond.update({"status": status, "reason": reason, "message": message})
                return
        conds.append({"type": ctype, "status": status, "reason": reason, "message": message,
                      "lastUpdateTime": now, "lastTransitionTime": now})

    def _scale_rs(self, rs, replicas):
        current = self.store.get(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"])
        if current is None or get_path(current, "spec", "replicas") == replicas:
            return
        new = copy.deepcopy(current)
        new["spec"]["replicas"] = replicas
        try:
            self.registry.update(REPLICASETS, current["metadata"]["namespace"], current["metadata"]["name"], new)
        except errors.APIError as exc:
            LOG.debug("scale rs failed: %s", exc.message)

    def statefulsets(self):
        pods_by_ns = self._pods_by_ns()
        for sts in self.store.list(STATEFULSETS):
            if sts["metadata"].get("deletionTimestamp"):
                continue
            ns = sts["metadata"]["namespace"]
            name = sts["metadata"]["name"]
            spec = sts.get("spec") or {}
            want = int(spec.get("replicas", 1))
            ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
            revision = "%s-%s" % (name, stable_hash(spec.get("template") or {}))
            owned = {p["metadata"]["name"]: p for p in self._owned(pods_by_ns.get(ns, []), sts)}
            for index in range(want):
                pod_name = "%s-%d" % (name, index)
                pod = owned.get(pod_name)
                if pod is None:
                    if self.store.get(PODS, ns, pod_name) is not None:
                        break  # a pod with that name exists (terminating old one or a foreign pod)
                    body = self._pod_from_template(sts, "StatefulSet", name=pod_name, extra_labels={
                        "statefulset.kubernetes.io/pod-name": pod_name,
                        "apps.kubernetes.io/pod-index": str(index),
                        "controller-revision-hash": revision})
                    body["spec"]["hostname"] = pod_name
                    if spec.get("serviceName"):
                        body["spec"]["subdomain"] = spec["serviceName"]
                    pod = self._create(PODS, ns, body)
                    if pod is not None:
                        owned[pod_name] = pod
                    if ordered:
                        break
                    continue
                if get_path(pod, "status", "phase") == "Failed" and not pod["metadata"].get("deletionTimestamp"):
                    self._delete(PODS, pod)
                    if ordered:
                        break
                    continue
                if ordered and (pod["metadata"].get("deletionTimestamp") or not pod_is_ready(pod)):
                    break
            for pod_name, pod in owned.items():
                try:
                    index = int(pod_name.rsplit("-", 1)[1])
                except (IndexError, ValueError):
                    continue
                if index >= want and not pod["metadata"].get("deletionTimestamp"):
                    self._delete(PODS, pod)
            current = [p for p in self._owned(self.store.list(PODS, ns), sts)]
            live = [p for p in current if not p["metadata"].get("deletionTimestamp")]
            ready = sum(1 for p in live if pod_is_ready(p))
            new = copy.deepcopy(sts)
            new["status"] = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(live),
                             "readyReplicas": ready, "currentReplicas": len(live), "updatedReplicas": len(live),
                             "availableReplicas": ready, "currentRevision": revision,
                             "updateRevision": revision, "collisionCount": 0}
            for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
                if new["status"][key] == 0:
                    del new["status"][key]
            self.registry.write_status(STATEFULSETS, new)

    def _ds_should_run(self, ds, node):
        spec = get_path(ds, "spec", "template", "spec", default={}) or {}
        if not node_matches_affinity(spec, node):
            return False
        tolerations = (spec.get("tolerations") or []) + DAEMONSET_TOLERATIONS
        return untolerated_taint(tolerations, get_path(node, "spec", "taints", default=[])) is None

    def daemonsets(self):
        nodes = self.store.list(NODES)
        pods_by_ns = self._pods_by_ns()
        for ds in self.store.list(DAEMONSETS):
            if ds["metadata"].get("deletionTimestamp"):
                continue
            ns = ds["metadata"]["namespace"]
            owned = [p for p in self._owned(pods_by_ns.get(ns, []), ds)]
            by_node = {}
            for pod in owned:
                target = get_path(pod, "spec", "nodeName") or self._affinity_node(pod)
                by_node.setdefault(target, []).append(pod)
            revision = stable_hash(get_path(ds, "spec", "template", default={}))
            desired = scheduled = ready = misscheduled = 0
            for node in nodes:
                node_name = node["metadata"]["name"]
                pods = [p for p in by_node.pop(node_name, []) if _is_active(p)]
                if self._ds_should_run(ds, node):
                    desired += 1
                    if not pods:
                        if any(p["metadata"].get("deletionTimestamp") for p in owned
                               if (get_path(p, "spec", "nodeName") or self._affinity_node(p)) == node_name):
                            continue
                        body = self._pod_from_template(ds, "DaemonSet", extra_labels={
                            "controller-revision-hash": revision,
                            "pod-template-generation": str(ds["metadata"].get("generation", 1))})
                        pod_spec = body["spec"]
                        pod_spec.setdefault("affinity", {})["nodeAffinity"] = {
                            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                                {"matchFields": [{"key": "metadata.name", "operator": "In",
                                                  "values": [node_name]}]}]}}
                        tolerations = pod_spec.setdefault("tolerations", [])
                        for tol in DAEMONSET_TOLERATIONS:
                            if tol not in tolerations:
                                tolerations.append(dict(tol))
                        self._create(PODS, ns, body)
                    else:
                        if any(get_path(p, "spec", "nodeName") for p in pods):
                            scheduled += 1
                        if any(pod_is_ready(p) for p in pods):
                            ready += 1
                        for extra in pods[1:]:
                            self._delete(PODS, extra)
                else:
                    for pod in pods:
                        if get_path(pod, "spec", "nodeName"):
                            misscheduled += 1
                        if not node_matches_affinity(get_path(ds, "spec", "template", "spec", default={}), node):
                            self._delete(PODS, pod)
            for pods in by_node.values():  # pods for nodes that no longer exist
                for pod in pods:
                    if _is_active(pod):
                        self._delete(PODS, pod, {"gracePeriodSeconds": 0})
            new = copy.deepcopy(ds)
            new["status"] = {"currentNumberScheduled": scheduled, "desiredNumberScheduled": desired,
                             "numberMisscheduled": misscheduled, "numberReady": ready,
                             "updatedNumberScheduled": scheduled, "numberAvailable": ready,
                             "observedGeneration": ds["metadata"].get("generation", 1)}
            if desired - ready:
                new["status"]["numberUnavailable"] = desired - ready
            if not ready:
                del new["status"]["numberAvailable"]
            self.registry.write_status(DAEMONSETS, new)

    @staticmethod
    def _affinity_node(pod):
        terms = get_path(pod, "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                         "nodeSelectorTerms", default=[]) or []
        for term in terms:
            for expr in term.get("matchFields") or []:
                if expr.get("key") == "metadata.name" and expr.get("values"):
                    return expr["values"][0]
        return None

    def jobs(self):
        pods_by_ns = self._pods_by_ns()
        for job in self.store.list(JOBS):
            if job["metadata"].get("deletionTimestamp"):
                continue
            ns = job["metadata"]["namespace"]
            spec = job.get("spec") or {}
            status = job.get("status") or {}
            owned = self._owned(pods_by_ns.get(ns, []), job)
            succeeded = sum(1 for p in owned if get_path(p, "status", "phase") == "Succeeded")
            failed = sum(1 for p in owned if get_path(p, "status", "phase") == "Failed")
            active = [p for p in owned if _is_active(p)]
            completions = int(spec.get("completions", 1) or 1)
            done = any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                       for c in status.get("conditions") or [])
            new = copy.deepcopy(job)
            nst = new.setdefault("status", {})
            if not done and not spec.get("suspend"):
                nst.setdefault("startTime", fmt_time())
                if succeeded >= completions:
                    nst["completionTime"] = fmt_time()
                    set_condition(new, "SuccessCriteriaMet", "True", reason="CompletionsReached",
                                  message="Reached expected number of succeeded pods", probe=True)
                    set_condition(new, "Complete", "True", reason="CompletionsReached",
                                  message="Reached expected number of succeeded pods", probe=True)
                elif failed > int(spec.get("backoffLimit", 6)):
                    set_condition(new, "Failed", "True", reason="BackoffLimitExceeded",
                                  message="Job has reached the specified backoff limit", probe=True)
                else:
                    want = min(int(spec.get("parallelism", 1)), completions - succeeded) - len(active)
                    for _ in range(max(0, want)):
                        body = self._pod_from_template(job, "Job", api_version="batch/v1")
                        annotations = body["metadata"].setdefault("annotations", {})
                        annotations.setdefault(RUN_ANNOTATION, "1")
                        pod = self._create(PODS, ns, body)
                        if pod is not None:
                            active.append(pod)
            nst["active"] = len(active)
            nst["succeeded"] = succeeded
            nst["failed"] = failed
            nst["ready"] = sum(1 for p in active if pod_is_ready(p))
            for key in ("active", "succeeded", "failed"):
                if not nst[key]:
                    del nst[key]
            self.registry.write_status(JOBS, new)

    # ------------------------------------------------------------------ scheduler
    def scheduler(self):
        nodes = [n for n in self.store.list(NODES)]
        pods = self.store.list(PODS)
        usage = {n["metadata"]["name"]: {"cpu": 0.0, "memory": 0.0, "pods": 0} for n in nodes}
        for pod in pods:
            node_name = get_path(pod, "spec", "nodeName")
            if node_name in usage and get_path(pod, "status", "phase") not in ("Succeeded", "Failed"):
                req = pod_requests(pod.get("spec") or {})
                usage[node_name]["cpu"] += req["cpu"]
                usage[node_name]["memory"] += req["memory"]
                usage[node_name]["pods"] += 1
        for pod in pods:
            spec = pod.get("spec") or {}
            if spec.get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                continue
            if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                continue
            req = pod_requests(spec)
            reasons = {}
            feasible = []
            for node in nodes:
                why = self._unfit(pod, spec, node, req, usage[node["metadata"]["name"]])
                if why:
                    reasons[why] = reasons.get(why, 0) + 1
                else:
                    feasible.append(node)
            if feasible:
                def score(node):
                    name = node["metadata"]["name"]
                    alloc = node_allocatable(node)
                    used = usage[name]
                    cpu = (used["cpu"] + req["cpu"]) / alloc["cpu"] if alloc["cpu"] else 1
                    mem = (used["memory"] + req["memory"]) / alloc["memory"] if alloc["memory"] else 1
                    return ((cpu + mem) / 2, used["pods"], name)
                best = min(feasible, key=score)
                name = best["metadata"]["name"]
                try:
                    self.registry.bind(pod["metadata"]["namespace"], pod["metadata"]["name"], name)
                except errors.APIError:
                    continue
                usage[name]["cpu"] += req["cpu"]
                usage[name]["memory"] += req["memory"]
                usage[name]["pods"] += 1
            else:
                text = ", ".join("%d %s" % (count, why) for why, count in sorted(reasons.items()))
                message = "0/%d nodes are available: %s." % (len(nodes), text) if nodes else \
                    "no nodes available to schedule pods"
                if len(nodes) and text:
                    message += " preemption: 0/%d nodes are available: %d Preemption is not helpful for " \
                               "scheduling." % (len(nodes), len(nodes))
                new = copy.deepcopy(pod)
                set_condition(new, "PodScheduled", "False", reason="Unschedulable", message=message, probe=True)
                self.registry.write_status(PODS, new)

    def _unfit(self, pod, spec, node, req, used):
        tolerations = spec.get("tolerations") or []
        if get_path(node, "spec", "unschedulable"):
            if untolerated_taint(tolerations, [UNSCHEDULABLE_TAINT]):
                return "node(s) were unschedulable"
        if not node_matches_affinity(spec, node):
            return "node(s) didn't match Pod's node affinity/selector"
        taint = untolerated_taint(tolerations, get_path(node, "spec", "taints", default=[]))
        if taint:
            return "node(s) had untolerated taint {%s: %s}" % (taint.get("key"), taint.get("value", ""))
        if node_ready_status(node) != "True":
            return "node(s) were not ready"
        alloc = node_allocatable(node)
        if used["pods"] + 1 > alloc["pods"]:
            return "Too many pods"
        if req["cpu"] and used["cpu"] + req["cpu"] > alloc["cpu"] + 1e-9:
            return "Insufficient cpu"
        if req["memory"] and used["memory"] + req["memory"] > alloc["memory"]:
            return "Insufficient memory"
        return None

    # ------------------------------------------------------------------ kubelet stand-in
    def _pod_ip(self, node_name):
        index = sorted(self.node_ips).index(node_name) if node_name in self.node_ips else \
            len(self.node_ips) + (abs(hash(node_name)) % 50)
        count = self.pod_ip_counter.get(node_name, 1) + 1
        self.pod_ip_counter[node_name] = count
        return "10.244.%d.%d" % (index % 250, count % 250 + 2)

    def kubelet(self):
        now = time.monotonic()
        nodes = {n["metadata"]["name"]: n for n in self.store.list(NODES)}
        live_uids = set()
        for pod in self.store.list(PODS):
            meta = pod["metadata"]
            uid = meta["uid"]
            live_uids.add(uid)
            node_name = get_path(pod, "spec", "nodeName")
            if not node_name:
                continue
            node = nodes.get(node_name)
            if node is None:
                # pod garbage collection: pods bound to nodes that do not exist
                if meta.get("finalizers"):
                    continue
                self.registry.remove(PODS, pod)
                continue
            if (node["metadata"].get("annotations") or {}).get(AGENT_PODS_ANNOTATION) == "true":
                continue
            node_ready = node_ready_status(node) == "True"
            timing = self.pod_timing.setdefault(uid, {})
            if meta.get("deletionTimestamp"):
                if uid not in self.registry.deadlines and uid not in self.registry.terminated:
                    grace = meta.get("deletionGracePeriodSeconds") or 0
                    self.registry.deadlines[uid] = now + grace * self.scale
                if not node_ready:
                    continue
                if uid in self.registry.terminated or now >= self.registry.deadlines.get(uid, now):
                    self.registry.terminated.add(uid)
                    self.registry.deadlines.pop(uid, None)
                    if meta.get("finalizers"):
                        new = copy.deepcopy(pod)
                        self._stop_containers(new, "Error" if get_path(pod, "status", "phase") == "Running"
                                              else None)
                        self.registry.write_status(PODS, new)
                    else:
                        self.registry.remove(PODS, pod)
                continue
            if not node_ready:
                if pod_is_ready(pod):
                    new = copy.deepcopy(pod)
                    set_condition(new, "Ready", "False", probe=True)
                    self.registry.write_status(PODS, new)
                continue
            phase = get_path(pod, "status", "phase", default="Pending")
            if phase == "Pending":
                timing.setdefault("bound", now)
                startup = _float_annotation(pod, STARTUP_ANNOTATION, DEFAULT_STARTUP) * self.scale
                if now - timing["bound"] >= startup:
                    timing["running"] = now
                    self._start_pod(pod, node, now)
                elif not get_path(pod, "status", "containerStatuses"):
                    new = copy.deepcopy(pod)
                    self._waiting_status(new)
                    self.registry.write_status(PODS, new)
            elif phase == "Running":
                timing.setdefault("running", now)
                ran = now - timing["running"]
                run_seconds = _float_annotation(pod, RUN_ANNOTATION, None)
                policy = get_path(pod, "spec", "restartPolicy", default="Always")
                if run_seconds is not None and policy in ("Never", "OnFailure") and ran >= run_seconds * self.scale:
                    new = copy.deepcopy(pod)
                    self._stop_containers(new, "Completed", exit_code=0)
                    new["status"]["phase"] = "Succeeded"
                    for ctype in ("Ready", "ContainersReady"):
                        set_condition(new, ctype, "False", reason="PodCompleted", probe=True)
                    self.registry.write_status(PODS, new)
                    continue
                ready_after = _float_annotation(pod, READY_ANNOTATION, 0.0)
                want_ready = ready_after >= 0 and ran >= ready_after * self.scale
                if want_ready != pod_is_ready(pod):
                    new = copy.deepcopy(pod)
                    self._set_ready(new, want_ready)
                    self.registry.write_status(PODS, new)
        for uid in list(self.pod_timing):
            if uid not in live_uids:
                del self.pod_timing[uid]

    @staticmethod
    def _image_id(image):
        return "docker.io/library/%s@sha256:%s" % (image.split(":")[0], stable_hash(image, 64)) \
            if "/" not in image else "%s@sha256:%s" % (image.split(":")[0], stable_hash(image, 64))

    def _waiting_status(self, pod):
        status = pod.setdefault("status", {})
        status["containerStatuses"] = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
             "restartCount": 0, "started": False, "state": {"waiting": {"reason": "ContainerCreating"}},
             "lastState": {}}
            for c in get_path(pod, "spec", "containers", default=[]) or []]
        set_condition(pod, "Initialized", "True", probe=True)
        set_condition(pod, "Ready", "False", reason="ContainersNotReady",
                      message="containers with unready status: [%s]" % " ".join(
                          c["name"] for c in pod["spec"].get("containers") or []), probe=True)
        set_condition(pod, "ContainersReady", "False", reason="ContainersNotReady",
                      message="containers with unready status: [%s]" % " ".join(
                          c["name"] for c in pod["spec"].get("containers") or []), probe=True)

    def _start_pod(self, pod, node, now):
        new = copy.deepcopy(pod)
        status = new.setdefault("status", {})
        host_ip = next((a.get("address") for a in get_path(node, "status", "addresses", default=[]) or []
                        if a.get("type") == "InternalIP"), None) or self._node_ip(node["metadata"]["name"])
        pod_ip = host_ip if get_path(pod, "spec", "hostNetwork") else self._pod_ip(node["metadata"]["name"])
        started = fmt_time()
        status.update({"phase": "Running", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip,
                       "podIPs": [{"ip": pod_ip}], "startTime": status.get("startTime") or started})
        status["containerStatuses"] = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": self._image_id(c.get("image", "")),
             "containerID": "containerd://" + stable_hash(new["metadata"]["uid"] + c["name"], 64),
             "ready": False, "restartCount": 0, "started": True,
             "state": {"running": {"startedAt": started}}, "lastState": {}}
            for c in get_path(pod, "spec", "containers", default=[]) or []]
        if get_path(pod, "spec", "initContainers"):
            status["initContainerStatuses"] = [
                {"name": c["name"], "image": c.get("image", ""), "imageID": self._image_id(c.get("image", "")),
                 "containerID": "containerd://" + stable_hash(new["metadata"]["uid"] + "init" + c["name"], 64),
                 "ready": True, "restartCount": 0, "started": False,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                          "finishedAt": started}}, "lastState": {}}
                for c in pod["spec"]["initContainers"]]
        set_condition(new, "PodReadyToStartContainers", "True", probe=True)
        set_condition(new, "Initialized", "True", probe=True)
        set_condition(new, "PodScheduled", "True", probe=True)
        ready_after = _float_annotation(pod, READY_ANNOTATION, 0.0)
        self._set_ready(new, ready_after == 0)
        self.registry.write_status(PODS, new)

    @staticmethod
    def _set_ready(pod, ready):
        names = [c["name"] for c in get_path(pod, "spec", "containers", default=[]) or []]
        for cs in get_path(pod, "status", "containerStatuses", default=[]) or []:
            cs["ready"] = ready
        for ctype in ("ContainersReady", "Ready"):
            if ready:
                set_condition(pod, ctype, "True", probe=True)
                for cond in pod["status"]["conditions"]:
                    if cond["type"] == ctype:
                        cond.pop("reason", None)
                        cond.pop("message", None)
            else:
                set_condition(pod, ctype, "False", reason="ContainersNotReady",
                              message="containers with unready status: [%s]" % " ".join(names), probe=True)

    @staticmethod
    def _stop_containers(pod, reason, exit_code=137):
        finished = fmt_time()
        for cs in get_path(pod, "status", "containerStatuses", default=[]) or []:
            started = get_path(cs, "state", "running", "startedAt", default=finished)
            cs["state"] = {"terminated": {"exitCode": exit_code, "reason": reason or "Error",
                                          "startedAt": started, "finishedAt": finished,
                                          "containerID": cs.get("containerID", "")}}
            cs["ready"] = False
            cs["started"] = False

    # ------------------------------------------------------------------ disruption controller
    def _expected_scale(self, pods, cache):
        total = 0
        seen = set()
        for pod in pods:
            ref = controller_ref(pod)
            if ref is None:
                total += 1
                continue
            if ref.get("uid") in seen:
                continue
            seen.add(ref.get("uid"))
            if ref.get("uid") not in cache:
                rt, owner = self.store.by_uid(ref.get("uid"))
                scale = None
                if owner is not None and rt.key == "apps/replicasets":
                    parent = controller_ref(owner)
                    prt, powner = self.store.by_uid(parent.get("uid")) if parent else (None, None)
                    if powner is not None and prt.key == "apps/deployments":
                        scale = get_path(powner, "spec", "replicas", default=1)
                    else:
                        scale = get_path(owner, "spec", "replicas", default=1)
                elif owner is not None and rt.key == "apps/statefulsets":
                    scale = get_path(owner, "spec", "replicas", default=1)
                elif owner is not None and rt.key == "apps/daemonsets":
                    scale = get_path(owner, "status", "desiredNumberScheduled", default=0)
                cache[ref.get("uid")] = scale
            scale = cache[ref.get("uid")]
            total += scale if scale is not None else sum(
                1 for p in pods if (controller_ref(p) or {}).get("uid") == ref.get("uid"))
        return total

    def disruption(self):
        now_wall = time.time()
        cache = {}
        pods_by_ns = self._pods_by_ns()
        for pdb in self.store.list(PDBS):
            ns = pdb["metadata"]["namespace"]
            spec = pdb.get("spec") or {}
            if spec.get("selector") is None:
                pods = []
            else:
                selector = selector_from_label_selector(spec["selector"])
                pods = [p for p in pods_by_ns.get(ns, [])
                        if selector.matches(p["metadata"].get("labels") or {})]
            status = pdb.get("status") or {}
            disrupted = dict(status.get("disruptedPods") or {})
            by_name = {p["metadata"]["name"]: p for p in pods}
            for pod_name, when in list(disrupted.items()):
                pod = by_name.get(pod_name)
                from .util import parse_time
                stamp = parse_time(when)
                expired = stamp is not None and now_wall - stamp.timestamp() > max(
                    DISRUPTED_POD_TIMEOUT * self.scale, 2.0)
                if pod is None or pod["metadata"].get("deletionTimestamp") or expired:
                    del disrupted[pod_name]
            if spec.get("maxUnavailable") is not None:
                expected = self._expected_scale(pods, cache)
                max_unavailable = scaled_int_or_percent(spec["maxUnavailable"], expected, True)
                desired = max(0, expected - max_unavailable)
            elif spec.get("minAvailable") is not None:
                min_available = spec["minAvailable"]
                if isinstance(min_available, int) or str(min_available).lstrip("-").isdigit():
                    desired = int(min_available)
                    expected = len(pods)
                else:
                    expected = self._expected_scale(pods, cache)
                    desired = scaled_int_or_percent(min_available, expected, True)
            else:
                expected = len(pods)
                desired = 0
            healthy = sum(1 for p in pods if pod_is_ready(p) and not p["metadata"].get("deletionTimestamp")
                          and p["metadata"]["name"] not in disrupted)
            allowed = healthy - desired
            if expected <= 0 or allowed <= 0:
                allowed = 0
            new = copy.deepcopy(pdb)
            nst = new.setdefault("status", {})
            nst.update({"observedGeneration": pdb["metadata"].get("generation", 1), "expectedPods": expected,
                        "currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed})
            if disrupted:
                nst["disruptedPods"] = disrupted
            else:
                nst.pop("disruptedPods", None)
            if allowed > 0:
                set_condition(new, "DisruptionAllowed", "True", reason="SufficientPods", message="")
            else:
                set_condition(new, "DisruptionAllowed", "False", reason="InsufficientPods", message="")
            for cond in nst["conditions"]:
                cond["observedGeneration"] = pdb["metadata"].get("generation", 1)
            self.registry.write_status(PDBS, new)

    # ------------------------------------------------------------------ CSR signer
    def csr_signer(self):
        for csr in self.store.list(CSRS):
            spec, status = csr.get("spec") or {}, csr.get("status") or {}
            if status.get("certificate") or spec.get("signerName") not in SIGNERS:
                continue
            conds = {c.get("type"): c.get("status", "True") for c in status.get("conditions") or []}
            if conds.get("Approved") != "True" or conds.get("Denied") == "True" or conds.get("Failed") == "True":
                continue
            new = copy.deepcopy(csr)
            try:
                new["status"]["certificate"] = self._sign(spec)
            except Exception as exc:  # invalid request: mark the CSR failed
                set_condition(new, "Failed", "True", reason="SignerValidationFailure", message=str(exc))
            self.registry.write_status(CSRS, new)

    def _sign(self, spec):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.x509.oid import NameOID

        from .. import pki

        pem = base64.b64decode(spec.get("request", ""))
        request = x509.load_pem_x509_csr(pem)
        cn = [a.value for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        orgs = [a.value for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        dns, ips = [], []
        try:
            san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns = san.get_values_for_type(x509.DNSName)
            ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            pass
        usages = spec.get("usages") or []
        days = max(1, int(spec.get("expirationSeconds", 365 * 86400)) // 86400)
        cert = pki.sign_public_key(self.server.pki_dir, request.public_key(), cn[0] if cn else "",
                                   organizations=orgs, dns_names=dns,
                                   ip_addresses=[ipaddress.ip_address(ip) for ip in ips],
                                   server="server auth" in usages, client="client auth" in usages, days=days)
        return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()

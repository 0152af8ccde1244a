"""Create / update / patch / delete / evict semantics on top of the store.

Both the HTTP handlers and the simulated controllers go through this layer,
so defaulting, validation, graceful pod deletion, finalizers and the
eviction/PodDisruptionBudget rules are applied the same way for everyone.
"""

import copy
import time
import uuid

from . import errors, resources
from .errors import FieldError
from .patch import apply_patch
from .selectors import selector_from_label_selector
from .util import fmt_time, get_path, pod_is_ready, utcnow

GENERATION_KEYS = {"apps/deployments", "apps/replicasets", "apps/statefulsets", "apps/daemonsets",
                   "batch/jobs", "policy/poddisruptionbudgets"}
PROTECTED_NAMESPACES = {"default", "kube-system", "kube-public"}
SYSTEM_USER = {"name": "system:apiserver", "uid": "", "groups": ["system:masters"]}


def _strip_volatile(obj):
    clone = copy.deepcopy(obj)
    meta = clone.get("metadata") or {}
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    return clone


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


class Registry:
    def __init__(self, store, time_scale=1.0):
        self.store = store
        self.time_scale = time_scale
        self.deadlines = {}  # pod uid -> monotonic time when graceful termination is over
        self.terminated = set()  # pod uids whose simulated containers have stopped
        self._next_ip = 10

    # ------------------------------------------------------------------ helpers
    def allocate_service_ip(self):
        used = {get_path(s, "spec", "clusterIP") for s in self.store.list(resources.get("services"))}
        while True:
            self._next_ip += 1
            ip = "10.96.%d.%d" % (self._next_ip // 250, self._next_ip % 250 + 1)
            if ip not in used:
                return ip

    def get(self, rt, namespace, name):
        obj = self.store.get(rt, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def _check_namespace(self, rt, namespace, creating=True):
        if not rt.namespaced:
            return
        ns = self.store.get(resources.get("namespaces"), "", namespace)
        if ns is None:
            raise errors.namespace_not_found(namespace)
        if creating and ns["metadata"].get("deletionTimestamp"):
            raise errors.APIError(
                403, "Forbidden",
                '%s "%s" is forbidden: unable to create new content in namespace %s because it is being terminated'
                % (rt.qualified, "", namespace),
                {"name": "", "group": rt.group, "kind": rt.plural,
                 "causes": [{"reason": "NamespaceTerminating",
                             "message": "namespace %s is being terminated" % namespace,
                             "field": "metadata.namespace"}]} if rt.group else
                {"kind": rt.plural, "causes": [{"reason": "NamespaceTerminating",
                                                "message": "namespace %s is being terminated" % namespace,
                                                "field": "metadata.namespace"}]})

    def _fixup_identity(self, rt, obj):
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind

    # ------------------------------------------------------------------ create
    def create(self, rt, namespace, body, user=None, dry_run=False, keep_status=False):
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        obj = copy.deepcopy(body)
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if body.get("kind") and body.get("kind") != rt.kind:
            raise errors.bad_request("the server could not find the requested resource: kind %s does not match %s"
                                     % (body.get("kind"), rt.kind))
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            namespace = namespace or meta.get("namespace") or "default"
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        self._check_namespace(rt, namespace)
        if not meta.get("name"):
            if meta.get("generateName"):
                from .util import random_suffix
                for _ in range(20):
                    candidate = meta["generateName"] + random_suffix()
                    if self.store.get(rt, namespace if rt.namespaced else "", candidate) is None:
                        break
                meta["name"] = candidate
            else:
                raise errors.invalid(rt, "", [FieldError("metadata.name", "Required",
                                                         "name or generateName is required")])
        name = meta["name"]
        if not isinstance(name, str):
            raise errors.bad_request("metadata.name must be a string")
        bad = resources.validate_name(rt, name)
        if bad is not None:
            raise errors.invalid(rt, name, [bad])
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                    "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = fmt_time()
        if rt.key in GENERATION_KEYS:
            meta["generation"] = 1
        self._fixup_identity(rt, obj)
        if rt.reset_status and not keep_status:
            obj["status"] = {}
        saved_status = obj.get("status") if keep_status else None
        if rt.defaulter:
            rt.defaulter(obj, {"create": True, "user": user or SYSTEM_USER,
                               "allocate_ip": self.allocate_service_ip})
        if keep_status and saved_status is not None:
            obj["status"] = saved_status
        if rt.validator:
            problems = rt.validator(obj, None)
            if problems:
                raise errors.invalid(rt, name, problems)
        if self.store.get(rt, namespace if rt.namespaced else "", name) is not None:
            raise errors.already_exists(rt, name)
        if dry_run:
            return obj
        return self.store.put(rt, obj)

    # ------------------------------------------------------------------ update
    def update(self, rt, namespace, name, body, sub=None, dry_run=False, check_rv=True):
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        old = self.get(rt, namespace, name)
        body_meta = body.get("metadata") or {}
        if body_meta.get("name") and body_meta["name"] != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (body_meta["name"], name))
        if rt.namespaced and body_meta.get("namespace") and body_meta["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        want_rv = body_meta.get("resourceVersion")
        if check_rv and want_rv and str(want_rv) != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        if sub in ("status", "approval"):
            new = copy.deepcopy(old)
            status = copy.deepcopy(body.get("status") or {})
            if sub == "approval":
                new.setdefault("status", {})["conditions"] = status.get("conditions") or []
            else:
                if rt.key == "certificates.k8s.io/certificatesigningrequests":
                    status["conditions"] = (old.get("status") or {}).get("conditions", [])
                new["status"] = status
        else:
            new = copy.deepcopy(body)
            new.setdefault("metadata", {})
            if rt.has_status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            meta = new["metadata"]
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "generation", "namespace", "name"):
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
                else:
                    meta.pop(key, None)
            meta.pop("managedFields", None)
            self._fixup_identity(rt, new)
            if rt.defaulter:
                rt.defaulter(new, {"create": False})
            if rt.validator:
                problems = rt.validator(new, old)
                if problems:
                    raise errors.invalid(rt, name, problems)
            if rt.key in GENERATION_KEYS and _spec_part(new) != _spec_part(old):
                meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
            if old["metadata"].get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old["metadata"].get("finalizers") or [])
                if added:
                    raise errors.invalid(rt, name, [FieldError(
                        "metadata.finalizers", "Forbidden",
                        "no new finalizers can be added if the object is being deleted, found new finalizers %s"
                        % sorted(added))])
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if _strip_volatile(new) == _strip_volatile(old):
            return old
        if dry_run:
            return new
        stored = self.store.put(rt, new)
        self._maybe_finish_deletion(rt, stored)
        return self.store.get(rt, namespace if rt.namespaced else "", name) or stored

    def write_status(self, rt, obj):
        """Internal: store a controller-modified copy when it differs."""
        meta = obj["metadata"]
        current = self.store.get(rt, meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        if current is None or current["metadata"].get("uid") != meta.get("uid"):
            return None
        if _strip_volatile(current) == _strip_volatile(obj):
            return current
        return self.store.put(rt, obj)

    # ------------------------------------------------------------------ patch
    def patch(self, rt, namespace, name, kind, body, sub=None, dry_run=False, user=None):
        old = self.store.get(rt, namespace if rt.namespaced else "", name)
        if old is None:
            if kind == "apply" and sub is None:
                if isinstance(body, dict):
                    body = copy.deepcopy(body)
                    body.setdefault("metadata", {})["name"] = name
                return self.create(rt, namespace, body, user=user, dry_run=dry_run), True
            raise errors.not_found(rt, name)
        patched = apply_patch(kind, copy.deepcopy(old), body)
        if not isinstance(patched, dict):
            raise errors.bad_request("patch did not produce an object")
        meta = patched.setdefault("metadata", {})
        want_rv = meta.get("resourceVersion")
        if kind == "apply":
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if want_rv and str(want_rv) != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        return self.update(rt, namespace, name, patched, sub=sub, dry_run=dry_run), False

    # ------------------------------------------------------------------ delete
    def delete(self, rt, namespace, name, options=None, dry_run=False):
        """Returns ``(http_code, response_body)``."""
        options = options or {}
        obj = self.get(rt, namespace, name)
        meta = obj["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.precondition_failed(
                rt, name, "UID in precondition: %s, UID in object meta: %s" % (pre["uid"], meta.get("uid")))
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta.get("resourceVersion"):
            raise errors.precondition_failed(
                rt, name, "ResourceVersion in precondition: %s, ResourceVersion in object meta: %s"
                % (pre["resourceVersion"], meta.get("resourceVersion")))
        if rt.key == "namespaces":
            return self._delete_namespace(rt, obj, dry_run)
        policy = options.get("propagationPolicy")
        if options.get("orphanDependents") is True:
            policy = "Orphan"
        if rt.key == "pods":
            return self._delete_pod(rt, obj, options, dry_run)
        if dry_run:
            return 200, obj
        if policy == "Orphan":
            self._orphan_dependents(meta.get("uid"))
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return 200, obj
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = fmt_time()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return 200, self.store.put(rt, new)
        gone = self.store.remove(rt, namespace if rt.namespaced else "", name)
        return 200, self._deleted_status(rt, gone)

    def _deleted_status(self, rt, obj):
        details = {"name": obj["metadata"]["name"], "kind": rt.plural, "uid": obj["metadata"].get("uid")}
        if rt.group:
            details["group"] = rt.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": details}

    def _delete_namespace(self, rt, obj, dry_run):
        name = obj["metadata"]["name"]
        if name in PROTECTED_NAMESPACES:
            raise errors.forbidden(rt, name, 'namespaces "%s" is forbidden: this namespace may not be deleted'
                                   % name)
        if dry_run or obj["metadata"].get("deletionTimestamp"):
            return 200, obj
        new = copy.deepcopy(obj)
        new["metadata"]["deletionTimestamp"] = fmt_time()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new.setdefault("status", {})["phase"] = "Terminating"
        return 200, self.store.put(rt, new)

    def _delete_pod(self, rt, obj, options, dry_run):
        meta = obj["metadata"]
        spec = obj.get("spec") or {}
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        try:
            grace = int(grace)
        except (TypeError, ValueError):
            raise errors.bad_request("gracePeriodSeconds must be an integer")
        phase = get_path(obj, "status", "phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            grace = 0
        if grace < 0:
            grace = 1
        if dry_run:
            return 200, obj
        uid = meta["uid"]
        if meta.get("deletionTimestamp"):
            current = meta.get("deletionGracePeriodSeconds")
            if current is not None and grace >= current:
                return 200, obj
        if grace > 0:
            deadline = time.monotonic() + grace * self.time_scale
            if uid in self.deadlines:
                deadline = min(deadline, self.deadlines[uid])
            self.deadlines[uid] = deadline
            new = copy.deepcopy(obj)
            when = utcnow().timestamp() + grace
            import datetime
            new["metadata"]["deletionTimestamp"] = fmt_time(
                datetime.datetime.fromtimestamp(when, datetime.timezone.utc))
            new["metadata"]["deletionGracePeriodSeconds"] = grace
            return 200, self.store.put(rt, new)
        # immediate deletion
        self.terminated.add(uid)
        if meta.get("finalizers"):
            new = copy.deepcopy(obj)
            new["metadata"].setdefault("deletionTimestamp", fmt_time())
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return 200, self.store.put(rt, new)
        gone = self.remove(rt, obj)
        return 200, gone

    def remove(self, rt, obj):
        meta = obj["metadata"]
        self.deadlines.pop(meta.get("uid"), None)
        self.terminated.discard(meta.get("uid"))
        return self.store.remove(rt, meta.get("namespace", "") if rt.namespaced else "", meta["name"])

    def _maybe_finish_deletion(self, rt, obj):
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return
        if rt.key == "namespaces":
            return  # the namespace controller finishes namespaces
        if rt.key == "pods" and meta.get("uid") not in self.terminated:
            return
        self.remove(rt, obj)

    def _orphan_dependents(self, owner_uid):
        for rt in resources.RESOURCES:
            for obj in self.store.list(rt):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == owner_uid for ref in refs):
                    new = copy.deepcopy(obj)
                    new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
                    if not new["metadata"]["ownerReferences"]:
                        del new["metadata"]["ownerReferences"]
                    self.store.put(rt, new)

    # ------------------------------------------------------------------ binding
    def bind(self, namespace, name, node_name, dry_run=False):
        rt = resources.get("pods")
        pod = self.get(rt, namespace, name)
        if get_path(pod, "spec", "nodeName"):
            raise errors.APIError(
                409, "Conflict", 'Operation cannot be fulfilled on pods/binding "%s": pod %s is already assigned '
                'to node "%s"' % (name, name, pod["spec"]["nodeName"]),
                {"name": name, "kind": "pods/binding"})
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.APIError(409, "Conflict", 'Operation cannot be fulfilled on pods/binding "%s": '
                                  'pod %s is being deleted, cannot be assigned to a host' % (name, name),
                                  {"name": name, "kind": "pods/binding"})
        if dry_run:
            return pod
        new = copy.deepcopy(pod)
        new["spec"]["nodeName"] = node_name
        set_condition(new, "PodScheduled", "True")
        return self.store.put(rt, new)

    # ------------------------------------------------------------------ eviction
    def matching_pdbs(self, pod):
        labels = pod["metadata"].get("labels") or {}
        out = []
        for pdb in self.store.list(resources.get("policy/poddisruptionbudgets"), pod["metadata"]["namespace"]):
            spec = pdb.get("spec") or {}
            if "selector" not in spec or spec.get("selector") is None:
                continue
            if selector_from_label_selector(spec["selector"]).matches(labels):
                out.append(pdb)
        return out

    def evict(self, namespace, name, body, dry_run=False):
        pods = resources.get("pods")
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        body_name = (body.get("metadata") or {}).get("name")
        if body_name and body_name != name:
            raise errors.bad_request("name in URL does not match name in Eviction object")
        options = body.get("deleteOptions") or {}
        dry_run = dry_run or "All" in (options.get("dryRun") or [])
        pod = self.get(pods, namespace, name)
        success = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
        phase = get_path(pod, "status", "phase")
        if phase in ("Succeeded", "Failed", "Pending") or pod["metadata"].get("deletionTimestamp"):
            self.delete(pods, namespace, name, options, dry_run=dry_run)
            return 201, success
        pdbs = self.matching_pdbs(pod)
        if not pdbs:
            self.delete(pods, namespace, name, options, dry_run=dry_run)
            return 201, success
        if len(pdbs) > 1:
            raise errors.APIError(500, "InternalError",
                                  "This pod has more than one PodDisruptionBudget, which the eviction "
                                  "subresource does not support.")
        pdb = pdbs[0]
        status = pdb.get("status") or {}
        policy = get_path(pdb, "spec", "unhealthyPodEvictionPolicy")
        if not pod_is_ready(pod):
            if policy == "AlwaysAllow" or (
                    status.get("currentHealthy", 0) >= status.get("desiredHealthy", 0)
                    and status.get("desiredHealthy", 0) > 0):
                self.delete(pods, namespace, name, options, dry_run=dry_run)
                return 201, success
        pdb_name = pdb["metadata"]["name"]
        if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
            raise errors.too_many_requests(
                "Cannot evict pod as it would violate the pod's disruption budget.",
                [{"reason": "DisruptionBudget",
                  "message": "The disruption budget %s is still being processed by the server." % pdb_name}])
        allowed = status.get("disruptionsAllowed", 0)
        if allowed < 0:
            raise errors.forbidden(resources.get("policy/poddisruptionbudgets"), pdb_name,
                                   'poddisruptionbudgets.policy "%s" is forbidden: pdb disruptions allowed is negative'
                                   % pdb_name)
        if allowed == 0:
            raise errors.too_many_requests(
                "Cannot evict pod as it would violate the pod's disruption budget.",
                [{"reason": "DisruptionBudget",
                  "message": "The disruption budget %s needs %d healthy pods and has %d currently"
                  % (pdb_name, status.get("desiredHealthy", 0), status.get("currentHealthy", 0))}])
        if dry_run:
            return 201, success
        new_pdb = copy.deepcopy(pdb)
        new_status = new_pdb.setdefault("status", {})
        new_status["disruptionsAllowed"] = allowed - 1
        new_status.setdefault("disruptedPods", {})[name] = fmt_time()
        if new_status["disruptionsAllowed"] == 0:
            set_condition(new_pdb, "DisruptionAllowed", "False", reason="InsufficientPods", message="")
        self.store.put(resources.get("policy/poddisruptionbudgets"), new_pdb)
        self.delete(pods, namespace, name, options)
        return 201, success


def set_condition(obj, ctype, status, reason=None, message=None, heartbeat=False, probe=False):
    """Set a condition on ``obj['status']['conditions']`` (in place); returns True if changed."""
    conds = obj.setdefault("status", {}).setdefault("conditions", [])
    now = fmt_time()
    for cond in conds:
        if cond.get("type") == ctype:
            changed = cond.get("status") != status
            if changed:
                cond["lastTransitionTime"] = now
            cond["status"] = status
            if reason is not None:
                changed = changed or cond.get("reason") != reason
                cond["reason"] = reason
            if message is not None:
                changed = changed or cond.get("message") != message
                cond["message"] = message
            if heartbeat:
                cond["lastHeartbeatTime"] = now
            if probe:
                cond["lastProbeTime"] = None
            return changed
    cond = {"type": ctype, "status": status, "lastTransitionTime": now}
    if probe:
        cond["lastProbeTime"] = None
    if heartbeat:
        cond["lastHeartbeatTime"] = now
    if reason is not None:
        cond["reason"] = reason
    if message is not None:
        cond["message"] = message
    conds.append(cond)
    return True

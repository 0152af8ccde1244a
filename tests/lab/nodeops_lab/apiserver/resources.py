"""The table of resources the simulated API server serves, with the per-kind
defaulting, validation and selectable fields that kubectl and clients rely on."""

import re

from .errors import FieldError
from .selectors import selector_from_label_selector
from .util import get_path

STANDARD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                 "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                 "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
             "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
             "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


class ResourceType:
    def __init__(self, group, version, plural, singular, kind, namespaced=True, short_names=(),
                 verbs=None, categories=(), subresources=None, has_status=False,
                 reset_status=False, name_rule="subdomain", fields=None, defaulter=None,
                 validator=None, has_spec=True):
        self.group = group
        self.version = version
        self.plural = plural
        self.singular = singular
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.verbs = list(verbs or STANDARD_VERBS)
        self.categories = list(categories)
        self.subresources = subresources or {}
        self.has_status = has_status
        self.reset_status = reset_status
        self.name_rule = name_rule
        self.fields = fields
        self.defaulter = defaulter
        self.validator = validator
        self.has_spec = has_spec

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def key(self):
        return "%s/%s" % (self.group, self.plural) if self.group else self.plural

    @property
    def qualified(self):
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    @property
    def list_kind(self):
        return self.kind + "List"

    def selectable_fields(self, obj):
        meta = obj.get("metadata") or {}
        out = {"metadata.name": meta.get("name", "")}
        if self.namespaced:
            out["metadata.namespace"] = meta.get("namespace", "")
        if self.fields:
            out.update(self.fields(obj))
        return out

    def discovery(self):
        entries = [{
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
            **({"shortNames": self.short_names} if self.short_names else {}),
            **({"categories": self.categories} if self.categories else {}),
            "storageVersionHash": "lab" + self.kind[:8],
        }]
        for sub, info in self.subresources.items():
            entry = {
                "name": "%s/%s" % (self.plural, sub),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": info.get("kind", self.kind),
                "verbs": info.get("verbs", ["get", "patch", "update"]),
            }
            if "group" in info:
                entry["group"] = info["group"]
                entry["version"] = info["version"]
            entries.append(entry)
        return entries


# --------------------------------------------------------------------------- defaulting

def _image_pull_policy(image):
    image = image or ""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_container(container):
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", _image_pull_policy(container.get("image")))
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        env.setdefault("value", env.get("value")) if "valueFrom" not in env else None


def default_pod_spec(spec, template=False):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for kind in ("containers", "initContainers"):
        for container in spec.get(kind) or []:
            default_container(container)
    if "serviceAccountName" in spec or "serviceAccount" in spec:
        name = spec.get("serviceAccountName") or spec.get("serviceAccount")
        spec["serviceAccountName"] = name
        spec["serviceAccount"] = name
    for vol in spec.get("volumes") or []:
        if "emptyDir" in vol and vol["emptyDir"] is None:
            vol["emptyDir"] = {}


def default_pod(obj, ctx):
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key and t.get("effect") in ("NoExecute", None, "") for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 300})
    if ctx.get("create"):
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}


def qos_class(spec):
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for container in containers:
        res = container.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in lim or (name in req and str(req[name]) != str(lim[name])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _default_template(obj):
    template = obj.setdefault("spec", {}).setdefault("template", {})
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}), template=True)


def default_deployment(obj, ctx):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _default_template(obj)
    if ctx.get("create"):
        obj["status"] = {}


def default_replicaset(obj, ctx):
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _default_template(obj)
    if ctx.get("create"):
        obj["status"] = {"replicas": 0}


def default_statefulset(obj, ctx):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _default_template(obj)
    if ctx.get("create"):
        obj["status"] = {"replicas": 0, "availableReplicas": 0}


def default_daemonset(obj, ctx):
    spec = obj.setdefault("spec", {})
    spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                       "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    _default_template(obj)
    if ctx.get("create"):
        obj["status"] = {"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                         "numberMisscheduled": 0, "numberReady": 0}


def default_job(obj, ctx):
    spec = obj.setdefault("spec", {})
    spec.setdefault("completions", 1)
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    _default_template(obj)
    if ctx.get("create"):
        uid = obj["metadata"]["uid"]
        name = obj["metadata"]["name"]
        spec.setdefault("manualSelector", False)
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            labels = spec["template"]["metadata"].setdefault("labels", {})
            labels.update({"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                           "batch.kubernetes.io/job-name": name, "job-name": name})
        obj["status"] = {}


def default_service(obj, ctx):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if ctx.get("create"):
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            spec["clusterIP"] = ctx["allocate_ip"]()
        if spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        obj["status"] = {"loadBalancer": {}}


def default_namespace(obj, ctx):
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    if ctx.get("create"):
        obj["status"] = {"phase": "Active"}
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def default_secret(obj, ctx):
    obj.setdefault("type", "Opaque")


def default_pdb(obj, ctx):
    if ctx.get("create"):
        obj["status"] = {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0,
                         "expectedPods": 0, "observedGeneration": 0}


def default_csr(obj, ctx):
    spec = obj.setdefault("spec", {})
    if ctx.get("create"):
        user = ctx.get("user") or {}
        spec["username"] = user.get("name", "")
        spec["groups"] = list(user.get("groups", [])) + ["system:authenticated"]
        if user.get("uid"):
            spec["uid"] = user["uid"]
        obj["status"] = {}


def default_node(obj, ctx):
    obj.setdefault("spec", {})
    labels = obj["metadata"].setdefault("labels", {})
    labels.setdefault("kubernetes.io/hostname", obj["metadata"]["name"])
    labels.setdefault("kubernetes.io/os", "linux")
    labels.setdefault("kubernetes.io/arch", "amd64")
    labels.setdefault("beta.kubernetes.io/os", labels["kubernetes.io/os"])
    labels.setdefault("beta.kubernetes.io/arch", labels["kubernetes.io/arch"])


def default_lease(obj, ctx):
    obj.setdefault("spec", {})


# --------------------------------------------------------------------------- validation

def _validate_containers(containers, path, errors, required=True):
    if not containers:
        if required:
            errors.append(FieldError(path, "Required"))
        return
    seen = set()
    for index, container in enumerate(containers):
        cpath = "%s[%d]" % (path, index)
        name = container.get("name")
        if not name:
            errors.append(FieldError(cpath + ".name", "Required"))
        elif not DNS1123_LABEL.match(name):
            errors.append(FieldError(cpath + ".name", "Invalid", LABEL_MSG, name, True))
        elif name in seen:
            errors.append(FieldError(cpath + ".name", "Duplicate", value=name, has_value=True))
        seen.add(name)
        if not container.get("image"):
            errors.append(FieldError(cpath + ".image", "Required"))


def _validate_pod_spec(spec, path, errors):
    if not isinstance(spec, dict):
        errors.append(FieldError(path, "Required"))
        return
    _validate_containers(spec.get("containers"), path + ".containers", errors)
    _validate_containers(spec.get("initContainers"), path + ".initContainers", errors, required=False)
    policy = spec.get("restartPolicy")
    if policy not in (None, "Always", "OnFailure", "Never"):
        errors.append(FieldError(path + ".restartPolicy", "Unsupported", 'supported values: "Always", "Never", "OnFailure"', policy, True))
    volumes = set()
    for index, vol in enumerate(spec.get("volumes") or []):
        name = vol.get("name")
        if not name:
            errors.append(FieldError("%s.volumes[%d].name" % (path, index), "Required"))
        elif name in volumes:
            errors.append(FieldError("%s.volumes[%d].name" % (path, index), "Duplicate", value=name, has_value=True))
        volumes.add(name)


def validate_pod(obj, old):
    errors = []
    _validate_pod_spec(obj.get("spec") or {}, "spec", errors)
    if old is not None:
        new_spec = dict(obj.get("spec") or {})
        old_spec = dict(old.get("spec") or {})
        # Only images, activeDeadlineSeconds, tolerations (additions) and
        # terminationGracePeriodSeconds may change on a pod; this is a simplification.
        for spec in (new_spec, old_spec):
            for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
                spec.pop(key, None)
            for kind in ("containers", "initContainers"):
                spec[kind] = [{k: v for k, v in c.items() if k != "image"} for c in spec.get(kind) or []]
        if new_spec != old_spec:
            errors.append(FieldError("spec", "Forbidden",
                                     "pod updates may not change fields other than `spec.containers[*].image`,"
                                     "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                                     "`spec.tolerations` (only additions to existing tolerations),"
                                     "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
    return errors


def _validate_workload(obj, old, selector_required=True):
    errors = []
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if selector_required and not selector:
        errors.append(FieldError("spec.selector", "Required"))
    template = spec.get("template") or {}
    labels = get_path(template, "metadata", "labels", default={}) or {}
    if selector and not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(FieldError("spec.selector", "Invalid", "empty selector is invalid for deployment",
                                 "{}", True))
    elif selector and not selector_from_label_selector(selector).matches(labels):
        errors.append(FieldError("spec.template.metadata.labels", "Invalid",
                                 "`selector` does not match template `labels`",
                                 "map[string]string%s" % (labels,), True))
    _validate_pod_spec(template.get("spec") or {}, "spec.template.spec", errors)
    if spec.get("replicas") is not None and (not isinstance(spec["replicas"], int) or spec["replicas"] < 0):
        errors.append(FieldError("spec.replicas", "Invalid", "must be greater than or equal to 0",
                                 spec["replicas"], True))
    if old is not None and selector_required:
        if (old.get("spec") or {}).get("selector") != selector:
            errors.append(FieldError("spec.selector", "Invalid", "field is immutable", selector, True))
    return errors


def validate_workload(obj, old):
    return _validate_workload(obj, old)


def validate_job(obj, old):
    errors = _validate_workload(obj, None, selector_required=False)
    policy = get_path(obj, "spec", "template", "spec", "restartPolicy")
    if policy not in ("OnFailure", "Never"):
        errors.append(FieldError("spec.template.spec.restartPolicy", "Unsupported",
                                 'supported values: "OnFailure", "Never"', policy, True))
    return errors


def validate_pdb(obj, old):
    spec = obj.get("spec") or {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        return [FieldError("spec", "Invalid", "minAvailable and maxUnavailable cannot be both set",
                           spec, True)]
    return []


def validate_csr(obj, old):
    errors = []
    spec = obj.get("spec") or {}
    if old is None:
        if not spec.get("request"):
            errors.append(FieldError("spec.request", "Invalid", "PEM block type must be CERTIFICATE REQUEST",
                                     "", True))
        if not spec.get("signerName"):
            errors.append(FieldError("spec.signerName", "Required"))
    return errors


def validate_service(obj, old):
    spec = obj.get("spec") or {}
    errors = []
    if spec.get("type", "ClusterIP") in ("ClusterIP", "NodePort", "LoadBalancer") and spec.get("clusterIP") != "None":
        if not spec.get("ports"):
            errors.append(FieldError("spec.ports", "Required"))
    return errors


# --------------------------------------------------------------------------- selectable fields

def _pod_fields(obj):
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return {
        "spec.nodeName": spec.get("nodeName", "") or "",
        "spec.restartPolicy": spec.get("restartPolicy", ""),
        "spec.schedulerName": spec.get("schedulerName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
        "status.phase": status.get("phase", ""),
        "status.podIP": status.get("podIP", ""),
        "status.nominatedNodeName": status.get("nominatedNodeName", ""),
    }


def _node_fields(obj):
    return {"spec.unschedulable": "true" if get_path(obj, "spec", "unschedulable") else "false"}


def _event_fields(obj):
    inv = obj.get("involvedObject") or {}
    out = {"involvedObject.%s" % k: str(inv.get(k, "")) for k in
           ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
    out.update({"reason": obj.get("reason", ""), "type": obj.get("type", ""),
                "source": (obj.get("source") or {}).get("component", ""),
                "reportingComponent": obj.get("reportingComponent", "")})
    return out


def _secret_fields(obj):
    return {"type": obj.get("type", "")}


def _ns_fields(obj):
    return {"status.phase": get_path(obj, "status", "phase", default="")}


def _csr_fields(obj):
    return {"spec.signerName": get_path(obj, "spec", "signerName", default="")}


def _job_fields(obj):
    return {"status.successful": str(get_path(obj, "status", "succeeded", default=0))}


def _rs_fields(obj):
    return {"status.replicas": str(get_path(obj, "status", "replicas", default=0))}


# --------------------------------------------------------------------------- the table

STATUS_SUB = {"kind": None, "verbs": ["get", "patch", "update"]}


def _status(kind):
    return {"kind": kind, "verbs": ["get", "patch", "update"]}


RESOURCES = [
    ResourceType("", "v1", "namespaces", "namespace", "Namespace", namespaced=False, short_names=["ns"],
                 verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
                 subresources={"status": _status("Namespace"), "finalize": {"kind": "Namespace", "verbs": ["update"]}},
                 has_status=True, name_rule="label", fields=_ns_fields, defaulter=default_namespace),
    ResourceType("", "v1", "nodes", "node", "Node", namespaced=False, short_names=["no"],
                 subresources={"status": _status("Node"), "proxy": {"kind": "NodeProxyOptions", "verbs": ["create", "delete", "get", "patch", "update"]}},
                 has_status=True, fields=_node_fields, defaulter=default_node),
    ResourceType("", "v1", "pods", "pod", "Pod", short_names=["po"], categories=["all"],
                 subresources={
                     "status": _status("Pod"),
                     "eviction": {"kind": "Eviction", "group": "policy", "version": "v1", "verbs": ["create"]},
                     "binding": {"kind": "Binding", "verbs": ["create"]},
                     "log": {"kind": "Pod", "verbs": ["get"]},
                 },
                 has_status=True, reset_status=True, fields=_pod_fields, defaulter=default_pod,
                 validator=validate_pod),
    ResourceType("", "v1", "bindings", "binding", "Binding", verbs=["create"], has_spec=False),
    ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", short_names=["cm"], has_spec=False),
    ResourceType("", "v1", "secrets", "secret", "Secret", fields=_secret_fields, defaulter=default_secret,
                 has_spec=False),
    ResourceType("", "v1", "services", "service", "Service", short_names=["svc"], categories=["all"],
                 verbs=["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                 subresources={"status": _status("Service")}, has_status=True, reset_status=True,
                 name_rule="label", defaulter=default_service, validator=validate_service),
    ResourceType("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", short_names=["sa"],
                 has_spec=False),
    ResourceType("", "v1", "endpoints", "endpoints", "Endpoints", short_names=["ep"], has_spec=False),
    ResourceType("", "v1", "events", "event", "Event", short_names=["ev"], has_spec=False, fields=_event_fields),
    ResourceType("apps", "v1", "deployments", "deployment", "Deployment", short_names=["deploy"],
                 categories=["all"],
                 subresources={"status": _status("Deployment"),
                               "scale": {"kind": "Scale", "group": "autoscaling", "version": "v1",
                                         "verbs": ["get", "patch", "update"]}},
                 has_status=True, reset_status=True, defaulter=default_deployment, validator=validate_workload),
    ResourceType("apps", "v1", "replicasets", "replicaset", "ReplicaSet", short_names=["rs"], categories=["all"],
                 subresources={"status": _status("ReplicaSet"),
                               "scale": {"kind": "Scale", "group": "autoscaling", "version": "v1",
                                         "verbs": ["get", "patch", "update"]}},
                 has_status=True, reset_status=True, fields=_rs_fields, defaulter=default_replicaset,
                 validator=validate_workload),
    ResourceType("apps", "v1", "statefulsets", "statefulset", "StatefulSet", short_names=["sts"],
                 categories=["all"],
                 subresources={"status": _status("StatefulSet"),
                               "scale": {"kind": "Scale", "group": "autoscaling", "version": "v1",
                                         "verbs": ["get", "patch", "update"]}},
                 has_status=True, reset_status=True, defaulter=default_statefulset, validator=validate_workload),
    ResourceType("apps", "v1", "daemonsets", "daemonset", "DaemonSet", short_names=["ds"], categories=["all"],
                 subresources={"status": _status("DaemonSet")},
                 has_status=True, reset_status=True, defaulter=default_daemonset, validator=validate_workload),
    ResourceType("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", has_spec=False),
    ResourceType("batch", "v1", "jobs", "job", "Job", categories=["all"],
                 subresources={"status": _status("Job")}, has_status=True, reset_status=True,
                 fields=_job_fields, defaulter=default_job, validator=validate_job),
    ResourceType("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget",
                 short_names=["pdb"], subresources={"status": _status("PodDisruptionBudget")},
                 has_status=True, reset_status=True, defaulter=default_pdb, validator=validate_pdb),
    ResourceType("certificates.k8s.io", "v1", "certificatesigningrequests", "certificatesigningrequest",
                 "CertificateSigningRequest", namespaced=False, short_names=["csr"],
                 subresources={"approval": _status("CertificateSigningRequest"),
                               "status": _status("CertificateSigningRequest")},
                 has_status=True, reset_status=True, fields=_csr_fields, defaulter=default_csr,
                 validator=validate_csr),
    ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", defaulter=default_lease),
]

BY_KEY = {rt.key: rt for rt in RESOURCES}
BY_GV = {}
for _rt in RESOURCES:
    BY_GV.setdefault((_rt.group, _rt.version), {})[_rt.plural] = _rt
GROUP_ORDER = []
for _rt in RESOURCES:
    if _rt.group and _rt.group not in GROUP_ORDER:
        GROUP_ORDER.append(_rt.group)
# resources that are served only as subresource targets / create-only
NON_LISTABLE = {"bindings"}


def lookup(group, version, plural):
    return BY_GV.get((group, version), {}).get(plural)


def by_kind(api_version, kind):
    group, _, version = api_version.rpartition("/")
    for rt in RESOURCES:
        if rt.group == group and rt.version == version and rt.kind == kind:
            return rt
    return None


def get(key):
    return BY_KEY[key]


def validate_name(rt, name):
    if rt.name_rule == "label":
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return FieldError("metadata.name", "Invalid", LABEL_MSG, name, True)
    else:
        if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
            return FieldError("metadata.name", "Invalid", SUBDOMAIN_MSG, name, True)
    return None

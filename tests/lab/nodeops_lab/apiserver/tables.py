"""Server-side printing: ``meta.k8s.io/v1`` Table responses for kubectl get,
with the column sets kube-apiserver uses for the kinds that matter here."""

from .selectors import selector_string
from .util import age, get_path, human_duration, parse_time, utcnow

DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. Is required when creating resources, although some "
            "resources may allow a client to request the generation of an appropriate name automatically.",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object was created.",
}


def col(name, type_="string", priority=0, fmt=""):
    return {"name": name, "type": type_, "format": fmt, "description": DESCRIPTIONS.get(name, name),
            "priority": priority}


def _name(obj):
    return obj["metadata"]["name"]


def _containers_images(spec):
    containers = get_path(spec, "template", "spec", "containers", default=[]) or []
    return (",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers))


# ------------------------------------------------------------------ pods
def pod_status_reason(pod):
    status = pod.get("status") or {}
    reason = status.get("phase") or "Unknown"
    if status.get("reason"):
        reason = status["reason"]
    for cs in status.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("terminated", {}).get("exitCode", 0) == 0 and "terminated" in state:
            continue
        if "waiting" in state and state["waiting"].get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + state["waiting"]["reason"]
            break
    running = False
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            reason = "Signal:%d" % state["terminated"].get("signal", 0) if state["terminated"].get("signal") \
                else "ExitCode:%d" % state["terminated"].get("exitCode", 0)
        elif "running" in state and cs.get("ready"):
            running = True
    if running and reason == "Completed":
        reason = "Running"
    if reason == "Pending" and get_path(pod, "spec", "nodeName") and not status.get("containerStatuses"):
        reason = "ContainerCreating"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def _pod_row(pod, now):
    status = pod.get("status") or {}
    containers = get_path(pod, "spec", "containers", default=[]) or []
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount", 0)) for cs in statuses)
    gates = get_path(pod, "spec", "readinessGates", default=[]) or []
    gate_text = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        gate_text = "%d/%d" % (sum(1 for g in gates if conds.get(g.get("conditionType")) == "True"), len(gates))
    return [_name(pod), "%d/%d" % (ready, len(containers)), pod_status_reason(pod), restarts,
            age(pod, now), status.get("podIP") or "<none>", get_path(pod, "spec", "nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gate_text]


POD_COLUMNS = [col("Name", fmt="name"), col("Ready"), col("Status"), col("Restarts", "string"), col("Age"),
               col("IP", priority=1), col("Node", priority=1), col("Nominated Node", priority=1),
               col("Readiness Gates", priority=1)]


# ------------------------------------------------------------------ nodes
def node_status_text(node):
    parts = []
    for cond in get_path(node, "status", "conditions", default=[]) or []:
        if cond.get("type") == "Ready":
            parts.append("Ready" if cond.get("status") == "True" else "NotReady")
    if not parts:
        parts.append("Unknown")
    if get_path(node, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node):
    roles = set()
    for key, value in (node["metadata"].get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) if roles else "<none>"


def _node_row(node, now):
    info = get_path(node, "status", "nodeInfo", default={}) or {}
    addresses = get_path(node, "status", "addresses", default=[]) or []

    def addr(kind):
        for item in addresses:
            if item.get("type") == kind:
                return item.get("address")
        return "<none>"

    return [_name(node), node_status_text(node), node_roles(node), age(node, now),
            info.get("kubeletVersion", ""), addr("InternalIP"), addr("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


NODE_COLUMNS = [col("Name", fmt="name"), col("Status"), col("Roles"), col("Age"), col("Version"),
                col("Internal-IP", priority=1), col("External-IP", priority=1), col("OS-Image", priority=1),
                col("Kernel-Version", priority=1), col("Container-Runtime", priority=1)]


# ------------------------------------------------------------------ workloads
def _deploy_row(obj, now):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_images(spec)
    return [_name(obj), "%d/%d" % (status.get("readyReplicas", 0), spec.get("replicas", 0)),
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), age(obj, now),
            names, images, selector_string(spec.get("selector"))]


DEPLOY_COLUMNS = [col("Name", fmt="name"), col("Ready"), col("Up-to-date", "integer"),
                  col("Available", "integer"), col("Age"), col("Containers", priority=1),
                  col("Images", priority=1), col("Selector", priority=1)]


def _rs_row(obj, now):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_images(spec)
    return [_name(obj), spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0),
            age(obj, now), names, images, selector_string(spec.get("selector"))]


RS_COLUMNS = [col("Name", fmt="name"), col("Desired", "integer"), col("Current", "integer"),
              col("Ready", "integer"), col("Age"), col("Containers", priority=1), col("Images", priority=1),
              col("Selector", priority=1)]


def _sts_row(obj, now):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_images(spec)
    return [_name(obj), "%d/%d" % (status.get("readyReplicas", 0), spec.get("replicas", 0)), age(obj, now),
            names, images]


STS_COLUMNS = [col("Name", fmt="name"), col("Ready"), col("Age"), col("Containers", priority=1),
               col("Images", priority=1)]


def _ds_row(obj, now):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_images(spec)
    selector = get_path(spec, "template", "spec", "nodeSelector", default={}) or {}
    sel_text = ",".join("%s=%s" % kv for kv in sorted(selector.items())) or "<none>"
    return [_name(obj), status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0),
            status.get("numberAvailable", 0), sel_text, age(obj, now), names, images,
            selector_string(spec.get("selector"))]


DS_COLUMNS = [col("Name", fmt="name"), col("Desired", "integer"), col("Current", "integer"),
              col("Ready", "integer"), col("Up-to-date", "integer"), col("Available", "integer"),
              col("Node Selector"), col("Age"), col("Containers", priority=1), col("Images", priority=1),
              col("Selector", priority=1)]


def _job_row(obj, now):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_images(spec)
    state = "Running"
    for cond in status.get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed", "Suspended"):
            state = cond["type"]
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start:
        duration = human_duration(((end or now) - start).total_seconds())
    return [_name(obj), state, "%d/%d" % (status.get("succeeded", 0), spec.get("completions", 1)),
            duration, age(obj, now), names, images, selector_string(spec.get("selector"))]


JOB_COLUMNS = [col("Name", fmt="name"), col("Status"), col("Completions"), col("Duration"), col("Age"),
               col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)]


def _pdb_row(obj, now):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    min_av = spec.get("minAvailable")
    max_un = spec.get("maxUnavailable")
    return [_name(obj), "N/A" if min_av is None else str(min_av), "N/A" if max_un is None else str(max_un),
            status.get("disruptionsAllowed", 0), age(obj, now)]


PDB_COLUMNS = [col("Name", fmt="name"), col("Min Available"), col("Max Unavailable"),
               col("Allowed Disruptions", "integer"), col("Age")]


def _csr_row(obj, now):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conds = [c.get("type") for c in status.get("conditions") or [] if c.get("status", "True") == "True"]
    if status.get("certificate") and "Approved" in conds:
        conds.append("Issued")
    duration = spec.get("expirationSeconds")
    return [_name(obj), age(obj, now), spec.get("signerName", ""), spec.get("username", ""),
            human_duration(duration) if duration else "<none>", ",".join(conds) or "Pending"]


CSR_COLUMNS = [col("Name", fmt="name"), col("Age"), col("SignerName"), col("Requestor"),
               col("RequestedDuration"), col("Condition")]


def _ns_row(obj, now):
    return [_name(obj), get_path(obj, "status", "phase", default=""), age(obj, now)]


def _svc_row(obj, now):
    spec = obj.get("spec") or {}
    ports = []
    for port in spec.get("ports") or []:
        text = "%s/%s" % (port.get("port"), port.get("protocol", "TCP"))
        if port.get("nodePort"):
            text = "%s:%s/%s" % (port.get("port"), port["nodePort"], port.get("protocol", "TCP"))
        ports.append(text)
    external = ",".join(spec.get("externalIPs") or []) or ("<pending>" if spec.get("type") == "LoadBalancer"
                                                         else "<none>")
    selector = spec.get("selector") or {}
    return [_name(obj), spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", external,
            ",".join(ports) or "<none>", age(obj, now),
            ",".join("%s=%s" % kv for kv in sorted(selector.items())) or "<none>"]


def _cm_row(obj, now):
    return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), age(obj, now)]


def _secret_row(obj, now):
    return [_name(obj), obj.get("type", "Opaque"), len(obj.get("data") or {}) + len(obj.get("stringData") or {}),
            age(obj, now)]


def _sa_row(obj, now):
    return [_name(obj), len(obj.get("secrets") or []), age(obj, now)]


def _event_row(obj, now):
    inv = obj.get("involvedObject") or {}
    last = parse_time(obj.get("lastTimestamp") or obj.get("eventTime")
                      or obj["metadata"].get("creationTimestamp"))
    seen = human_duration((now - last).total_seconds()) if last else "<unknown>"
    return [seen, obj.get("type", ""), obj.get("reason", ""),
            "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")), obj.get("message", "")]


def _lease_row(obj, now):
    return [_name(obj), get_path(obj, "spec", "holderIdentity", default="") or "<none>", age(obj, now)]


def _default_row(obj, now):
    return [_name(obj), age(obj, now)]


TABLES = {
    "pods": (POD_COLUMNS, _pod_row),
    "nodes": (NODE_COLUMNS, _node_row),
    "apps/deployments": (DEPLOY_COLUMNS, _deploy_row),
    "apps/replicasets": (RS_COLUMNS, _rs_row),
    "apps/statefulsets": (STS_COLUMNS, _sts_row),
    "apps/daemonsets": (DS_COLUMNS, _ds_row),
    "batch/jobs": (JOB_COLUMNS, _job_row),
    "policy/poddisruptionbudgets": (PDB_COLUMNS, _pdb_row),
    "certificates.k8s.io/certificatesigningrequests": (CSR_COLUMNS, _csr_row),
    "namespaces": ([col("Name", fmt="name"), col("Status"), col("Age")], _ns_row),
    "services": ([col("Name", fmt="name"), col("Type"), col("Cluster-IP"), col("External-IP"),
                  col("Port(s)"), col("Age"), col("Selector", priority=1)], _svc_row),
    "configmaps": ([col("Name", fmt="name"), col("Data", "integer"), col("Age")], _cm_row),
    "secrets": ([col("Name", fmt="name"), col("Type"), col("Data", "integer"), col("Age")], _secret_row),
    "serviceaccounts": ([col("Name", fmt="name"), col("Secrets", "integer"), col("Age")], _sa_row),
    "events": ([col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")], _event_row),
    "coordination.k8s.io/leases": ([col("Name", fmt="name"), col("Holder"), col("Age")], _lease_row),
}
DEFAULT_TABLE = ([col("Name", fmt="name"), col("Age")], _default_row)


def _row_object(obj, include):
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def to_table(rt, objs, api_version="meta.k8s.io/v1", include="Metadata", list_meta=None,
             with_columns=True):
    columns, row_fn = TABLES.get(rt.key, DEFAULT_TABLE)
    now = utcnow()
    rows = []
    for obj in objs:
        row = {"cells": row_fn(obj, now)}
        ro = _row_object(obj, include)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    return {"kind": "Table", "apiVersion": api_version, "metadata": list_meta or {},
            "columnDefinitions": columns if with_columns else [], "rows": rows}

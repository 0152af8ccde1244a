"""Scheduling predicates shared by the simulated scheduler and DaemonSet controller."""

from .selectors import LabelRequirement
from .util import get_path, parse_quantity

DAEMONSET_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def tolerates(toleration, taint):
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key") or ""
    if operator == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(tolerations, taints, effects=("NoSchedule", "NoExecute")):
    for taint in taints or []:
        if taint.get("effect") not in effects:
            continue
        if not any(tolerates(t, taint) for t in tolerations or []):
            return taint
    return None


def _match_expression(expr, value_of):
    key, op = expr.get("key"), expr.get("operator")
    values = expr.get("values") or []
    present, value = value_of(key)
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        return LabelRequirement(key, op.lower(), values[:1]).matches({key: value} if present else {})
    return False


def node_matches_affinity(spec, node):
    """nodeSelector plus requiredDuringSchedulingIgnoredDuringExecution node affinity."""
    labels = node["metadata"].get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    terms = get_path(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                     "nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        exprs = term.get("matchExpressions") or []
        field_exprs = term.get("matchFields") or []
        if not exprs and not field_exprs:
            continue
        ok = all(_match_expression(e, lambda k: (k in labels, labels.get(k))) for e in exprs)
        ok = ok and all(_match_expression(e, lambda k: (k in fields, fields.get(k))) for e in field_exprs)
        if ok:
            return True
    return False


def pod_requests(spec):
    totals = {"cpu": 0.0, "memory": 0.0}
    for container in spec.get("containers") or []:
        res = container.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        for name in totals:
            value = req.get(name, lim.get(name))
            if value is not None:
                try:
                    totals[name] += parse_quantity(value)
                except ValueError:
                    pass
    for container in spec.get("initContainers") or []:
        res = container.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        for name in totals:
            value = req.get(name, lim.get(name))
            if value is not None:
                try:
                    totals[name] = max(totals[name], parse_quantity(value))
                except ValueError:
                    pass
    return totals


def node_allocatable(node):
    alloc = get_path(node, "status", "allocatable", default=None) or get_path(node, "status", "capacity",
                                                                             default={}) or {}
    out = {}
    for name, default in (("cpu", "4"), ("memory", "8Gi"), ("pods", "110")):
        try:
            out[name] = parse_quantity(alloc.get(name, default))
        except ValueError:
            out[name] = parse_quantity(default)
    return out

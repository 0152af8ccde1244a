# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Can the rest of the cluster take the pods of a node about to be drained?

A pre-check, not a scheduler: it considers the other nodes that are Ready and
schedulable, their NoSchedule/NoExecute taints against each pod's tolerations,
the pod's nodeSelector, and the CPU, memory and pod-count requests against
what is still free on each node. Affinity, topology spread, volume zones and
ports are not modelled. Pure functions over API dictionaries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters

_SUFFIXES = {
    "": 1, "m": 0.001, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
}
_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")

BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def parse_quantity(value):
    """A Kubernetes quantity (``500m``, ``2``, ``1.5Gi``, ``1e3``) as a float."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY_RE.match(str(value).strip())
    if not match:
        raise NodeOpsError("cannot read the resource quantity %r" % (value,))
    number, exponent, suffix = match.groups()
    result = float(number + (exponent or ""))
    return result * _SUFFIXES[suffix or ""]


def format_cpu(cores):
    millis = int(round(cores * 1000))
    return "%d" % (millis // 1000) if millis % 1000 == 0 else "%dm" % millis


def format_memory(size):
    for suffix, factor in (("Gi", 2 ** 30), ("Mi", 2 ** 20), ("Ki", 2 ** 10)):
        if abs(size) >= factor:
            return ("%.1f%s" % (size / float(factor), suffix)).replace(".0" + suffix, suffix)
    return "%d" % size


def _container_requests(container):
    requests = (container.get("resources") or {}).get("requests") or {}
    return parse_quantity(requests.get("cpu")), parse_quantity(requests.get("memory"))


def pod_requests(pod):
    """(cpu cores, memory bytes) a pod asks for, the way the scheduler counts it.

    The larger of the sum of the containers and the largest init container,
    plus the pod overhead.
    """
    spec = pod.get("spec") or {}
    cpu = memory = 0.0
    for container in spec.get("containers") or []:
        c_cpu, c_memory = _container_requests(container)
        cpu += c_cpu
        memory += c_memory
    for container in spec.get("initContainers") or []:
        c_cpu, c_memory = _container_requests(container)
        cpu = max(cpu, c_cpu)
        memory = max(memory, c_memory)
    overhead = spec.get("overhead") or {}
    return cpu + parse_quantity(overhead.get("cpu")), memory + parse_quantity(overhead.get("memory"))


def tolerates(tolerations, taint):
    """Whether one of ``tolerations`` tolerates ``taint`` (the API's matching rules)."""
    for toleration in tolerations or []:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key")
        if toleration.get("operator") == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated_taints(pod, node):
    return [taint for taint in (node.get("spec") or {}).get("taints") or []
            if taint.get("effect") in BLOCKING_EFFECTS and not tolerates((pod.get("spec") or {}).get("tolerations"),
                                                                         taint)]


def describe_taint(taint):
    value = "=%s" % taint["value"] if taint.get("value") else ""
    return "%s%s:%s" % (taint.get("key"), value, taint.get("effect"))


def pods_to_move(pods):
    """Pods of the drained node that their controllers will recreate elsewhere, and the other pods ignored."""
    moving = []
    ignored = []
    for pod in pods:
        owner = filters.controller_ref(pod)
        metadata = pod.get("metadata") or {}
        if filters.is_finished(pod):
            reason = "finished"
        elif filters.MIRROR_POD_ANNOTATION in (metadata.get("annotations") or {}):
            reason = "mirror pod"
        elif metadata.get("deletionTimestamp"):
            reason = "already being deleted"
        elif owner is None:
            reason = "no controller: deleted, not recreated"
        elif owner.get("kind") == "DaemonSet":
            reason = "DaemonSet pod: stays"
        else:
            moving.append(pod)
            continue
        ignored.append(dict(namespace=metadata.get("namespace"), name=metadata.get("name"), reason=reason))
    return moving, ignored


def _node_exclusion(node, node_name):
    name = (node.get("metadata") or {}).get("name")
    if name == node_name:
        return "the node being drained"
    if (node.get("spec") or {}).get("unschedulable"):
        return "cordoned"
    ready = False
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            ready = condition.get("status") == "True"
    if not ready:
        return "not Ready"
    return None


def check_capacity(node_name, nodes, all_pods):
    """Check whether the pods of ``node_name`` fit on the other nodes; return the report.

    ``all_pods`` are the pods of the cluster that are not finished.
    """
    if not any((n.get("metadata") or {}).get("name") == node_name for n in nodes):
        raise NodeOpsError('node "%s" not found: check the name with kubectl get nodes' % node_name)
    candidates = []
    excluded = []
    for node in nodes:
        reason = _node_exclusion(node, node_name)
        name = (node.get("metadata") or {}).get("name")
        if reason:
            if name != node_name:
                excluded.append(dict(name=name, reason=reason))
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        candidates.append(dict(
            name=name, node=node,
            free_cpu=parse_quantity(allocatable.get("cpu")),
            free_memory=parse_quantity(allocatable.get("memory")),
            free_pods=int(parse_quantity(allocatable.get("pods") or 110))))
    by_name = dict((c["name"], c) for c in candidates)
    own_pods = []
    for pod in all_pods:
        if filters.is_finished(pod):
            continue
        assigned = (pod.get("spec") or {}).get("nodeName")
        if assigned == node_name:
            own_pods.append(pod)
        elif assigned in by_name:
            cpu, memory = pod_requests(pod)
            slot = by_name[assigned]
            slot["free_cpu"] -= cpu
            slot["free_memory"] -= memory
            slot["free_pods"] -= 1
    moving, ignored = pods_to_move(own_pods)
    problems = []
    if not candidates:
        problems.append('no other node is Ready and schedulable to take the pods of node "%s"%s' % (
            node_name, " (%s)" % ", ".join("%s: %s" % (e["name"], e["reason"]) for e in excluded)
            if excluded else ""))
    entries = []
    total_cpu = total_memory = 0.0
    for pod in moving:
        cpu, memory = pod_requests(pod)
        total_cpu += cpu
        total_memory += memory
        entries.append((cpu, memory, pod))
    entries.sort(key=lambda e: (-e[0], -e[1], filters.pod_ref(e[2])))
    placed = []
    for cpu, memory, pod in entries:
        reasons = []
        fitting = []
        for slot in candidates:
            taints = untolerated_taints(pod, slot["node"])
            selector = (pod.get("spec") or {}).get("nodeSelector") or {}
            labels = (slot["node"].get("metadata") or {}).get("labels") or {}
            if taints:
                reasons.append("%s: taint %s not tolerated" % (slot["name"], ", ".join(describe_taint(t) for t in taints)))
            elif any(labels.get(k) != v for k, v in selector.items()):
                reasons.append("%s: nodeSelector does not match" % slot["name"])
            elif slot["free_pods"] < 1:
                reasons.append("%s: no free pod slot" % slot["name"])
            elif slot["free_cpu"] + 1e-9 < cpu:
                reasons.append("%s: insufficient cpu (%s free)" % (slot["name"], format_cpu(max(0.0, slot["free_cpu"]))))
            elif slot["free_memory"] + 0.5 < memory:
                reasons.append("%s: insufficient memory (%s free)" % (
                    slot["name"], format_memory(max(0.0, slot["free_memory"]))))
            else:
                fitting.append(slot)
        metadata = pod.get("metadata") or {}
        entry = dict(namespace=metadata.get("namespace"), name=metadata.get("name"), cpu=round(cpu, 3),
                     memory=int(memory), placed_on=None)
        if fitting:
            target = max(fitting, key=lambda s: (s["free_cpu"], s["free_memory"], s["name"]))
            target["free_cpu"] -= cpu
            target["free_memory"] -= memory
            target["free_pods"] -= 1
            entry["placed_on"] = target["name"]
        elif candidates:
            problems.append("pod %s (cpu %s, memory %s) fits on no other node: %s" % (
                filters.pod_ref(pod), format_cpu(cpu), format_memory(memory), "; ".join(reasons)))
        placed.append(entry)
    return dict(
        ok=not problems,
        problems=problems,
        pods_to_move=placed,
        pods_ignored=ignored,
        requested=dict(cpu=round(total_cpu, 3), memory=int(total_memory)),
        candidate_nodes=[dict(name=s["name"], free_cpu_after=round(s["free_cpu"], 3),
                              free_memory_after=int(s["free_memory"]), free_pods_after=s["free_pods"])
                         for s in candidates],
        excluded_nodes=excluded,
    )


def run_capacity_check(client, node_name):
    """Fetch nodes and pods through ``client`` (a KubernetesDrainClient) and check."""
    nodes = client.list_nodes()
    pods = client.list_all_pods(field_selector="status.phase!=Succeeded,status.phase!=Failed")
    return check_capacity(node_name, nodes, pods)

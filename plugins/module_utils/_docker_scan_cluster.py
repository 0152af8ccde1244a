# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster side of the Docker dependency scan: pod templates, pods and node runtimes as plain API dicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import (
    Severity,
    finding,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_pods import pod_spec_findings
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_flags import parse_version

TEMPLATE_KINDS = ("DaemonSet", "Deployment", "StatefulSet", "Job", "CronJob")
FINISHED_PHASES = ("Succeeded", "Failed")
DOCKER_RUNTIME = "docker"
CONTAINERD_RUNTIME = "containerd"
# The kubelet has no dockershim from 1.24 on: a node still on Docker goes through cri-dockerd.
CRI_DOCKERD_FROM = (1, 24)
MAX_OWNER_DEPTH = 5


def _meta(obj):
    return obj.get("metadata") or {}


def _ref(kind, obj):
    meta = _meta(obj)
    return "%s/%s/%s" % (kind.lower(), meta.get("namespace", ""), meta.get("name", ""))


def _key(obj):
    return "%s/%s" % (_meta(obj).get("namespace", ""), _meta(obj).get("name", ""))


def template_spec(kind, obj):
    """Return the pod spec inside a controller object."""
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _controller_of(obj):
    for owner in _meta(obj).get("ownerReferences") or []:
        if owner.get("controller"):
            return owner
    return None


def top_owner(obj, kind, index):
    """Follow controller owner references (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob).

    Returns ``(kind, namespace/name key)`` of the top object that is known in ``index``.
    """
    namespace = _meta(obj).get("namespace", "")
    current_kind, current = kind, obj
    for _depth in range(MAX_OWNER_DEPTH):
        owner = _controller_of(current)
        if not owner or owner.get("uid") not in index:
            break
        current_kind, current = index[owner["uid"]]
    return current_kind, "%s/%s" % (namespace, _meta(current).get("name", ""))


# kubeadm up to 1.26 kept the node's CRI socket in this annotation.
CRI_SOCKET_ANNOTATION = "kubeadm.alpha.kubernetes.io/cri-socket"


def runtime_of_node(node):
    """Return ``{name, runtime, runtime_version, kubelet_version, on_docker, unschedulable,
    cri_socket_annotation}`` of a Node dict (the last two: the cordon and kubeadm's CRI socket annotation, which
    the containerd switch keeps)."""
    info = ((node.get("status") or {}).get("nodeInfo")) or {}
    version = info.get("containerRuntimeVersion") or ""
    runtime, sep, runtime_version = version.partition("://")
    return {
        "name": _meta(node).get("name"),
        "runtime": runtime if sep else (version or None),
        "runtime_version": runtime_version if sep else None,
        "container_runtime_version": version or None,
        "kubelet_version": info.get("kubeletVersion"),
        "on_docker": runtime == DOCKER_RUNTIME,
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
        "cri_socket_annotation": (_meta(node).get("annotations") or {}).get(CRI_SOCKET_ANNOTATION),
    }


def _version_at_least(text, wanted):
    version = parse_version(text)
    return version is not None and version >= wanted


def _owner_index(objects):
    """``{uid: (kind, object)}`` of the controllers a pod can belong to."""
    index = {}
    for kind in TEMPLATE_KINDS + ("ReplicaSet",):
        for obj in objects.get(kind) or []:
            uid = _meta(obj).get("uid")
            if uid:
                index[uid] = (kind, obj)
    return index


def _template_findings(objects, index):
    """``{(kind, namespace/name): findings}`` of the top-level controllers' pod templates."""
    by_object = {}
    for kind in TEMPLATE_KINDS:
        for obj in objects.get(kind) or []:
            owner_kind, _key_of_owner = top_owner(obj, kind, index)
            if owner_kind != kind:
                continue  # a Job of a CronJob: the CronJob's template is scanned
            by_object[(kind, _key(obj))] = pod_spec_findings(template_spec(kind, obj), _ref(kind, obj))
    return by_object


def _pod_findings(pods, index, by_object):
    """Findings of the pods that belong to no scanned controller; the others are added to their controller's."""
    findings = []
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in FINISHED_PHASES:
            continue
        node_name = (pod.get("spec") or {}).get("nodeName")
        owner = top_owner(pod, "Pod", index)
        pod_name = _key(pod)
        if owner in by_object:
            for item in by_object[owner]:
                item.setdefault("pods", []).append(pod_name)
                if node_name and node_name not in item.setdefault("nodes", []):
                    item["nodes"].append(node_name)
            continue
        for item in pod_spec_findings(pod.get("spec"), _ref("Pod", pod)):
            item["pods"] = [pod_name]
            item["nodes"] = [node_name] if node_name else []
            findings.append(item)
    return findings


def _node_findings(nodes):
    findings = []
    for node in nodes:
        where = "node/%s" % node["name"]
        if node["runtime"] == DOCKER_RUNTIME and _version_at_least(node["kubelet_version"], CRI_DOCKERD_FROM):
            findings.append(finding(
                "cri-dockerd", where, Severity.INFO,
                "kubelet %s uses Docker through cri-dockerd (%s)"
                % (node["kubelet_version"], node["container_runtime_version"]),
                "nothing by itself; cri-dockerd is stopped together with Docker",
                "disable cri-docker.service and cri-docker.socket after the switch", nodes=[node["name"]]))
        elif node["runtime"] not in (DOCKER_RUNTIME, CONTAINERD_RUNTIME):
            findings.append(finding(
                "unknown-runtime", where, Severity.INFO,
                "runtime %r is neither Docker nor containerd" % node["container_runtime_version"],
                "the switch is meant for Docker nodes", "leave this node out of the switch",
                nodes=[node["name"]]))
    return findings


def scan_cluster(objects):
    """Scan API objects given as ``{kind: [dict, ...]}`` (Pod, DaemonSet, Deployment, StatefulSet, Job, CronJob,
    ReplicaSet, Node). Returns ``(findings, nodes)``.

    Templates of the controllers are scanned once; a pod created by a scanned
    controller is not reported on its own, it adds its name and node to the
    controller's findings (``pods``, ``nodes``). Finished pods are ignored.
    """
    index = _owner_index(objects)
    by_object = _template_findings(objects, index)
    findings = _pod_findings(objects.get("Pod") or [], index, by_object)
    for items in by_object.values():
        for item in items:
            item.setdefault("pods", [])
            item.setdefault("nodes", [])
            item["nodes"].sort()
            findings.append(item)
    nodes = sorted((runtime_of_node(node) for node in objects.get("Node") or []), key=lambda node: node["name"])
    return findings + _node_findings(nodes), nodes

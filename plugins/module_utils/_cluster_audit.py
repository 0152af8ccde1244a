# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster side of a fleet audit: what the API server says about the nodes, read-only.

One pass over the API collects, for the audited nodes, the kubelet and runtime
versions, the Ready condition, the node Lease, cordons and roles; the kubeadm
KubeletConfiguration of the ConfigMap; kube-proxy's mode; and the
PodDisruptionBudgets that would stop a drain of those nodes right now.

No check is repeated here: the PodDisruptionBudget matching and description,
the drain's pod filters and the kube-proxy mode are those of ``_drain``,
``_drain_filters`` and ``_nodelocaldns``. The functions take plain
dictionaries (the API objects as JSON) and are tested without a cluster;
:class:`ClusterAuditClient` is the API adapter.

Only the node list and ``/version`` are required. Every other source that
cannot be read leaves its fields null (or its list empty) and adds a line to
``problems``: an audit reports what it could not see instead of failing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_budgets import (
    describe_pdb,
    matching_pdbs,
    pdb_summary,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_client import KubernetesDrainClient
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import DEFAULT_CHUNK_SIZE
from ansible_collections.nodeops.kubernetes.plugins.module_utils._nodelocaldns import proxy_mode

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    HAS_YAML = False

SYSTEM_NAMESPACE = "kube-system"
NODE_LEASE_NAMESPACE = "kube-node-lease"
DEFAULT_KUBELET_CONFIGMAP = "kubelet-config"
KUBELET_CONFIG_KEY = "kubelet"
KUBE_PROXY_CONFIGMAP = "kube-proxy"
KUBE_PROXY_CONFIG_KEY = "config.conf"

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
CORDONED_AT_ANNOTATION = "nodeops.kubernetes/cordoned-at"

# A drain that is allowed to go ahead: DaemonSet pods and mirror pods stay, every other pod is evicted
# (emptyDir data and pods without a controller included). Which budgets stop such a drain is the question.
DRAIN_FILTER_OPTIONS = filters.FilterOptions(ignore_daemonsets=True, delete_emptydir_data=True, force=True)

# The pod phase whose evictions a budget can refuse: the API server evicts Pending, Succeeded and Failed
# pods, and pods already being deleted, without looking at the budgets.
GUARDED_PHASE = "Running"

_GIT_VERSION_RE = re.compile(r"^v?([0-9]+)\.([0-9]+)")


# --------------------------------------------------------------------------
# Times and versions
# --------------------------------------------------------------------------


def utc_now():
    return datetime.datetime.now(filters.UTC)


def format_time(moment):
    """RFC 3339 in UTC with a ``Z``; microseconds only when there are any (like the API's MicroTime)."""
    moment = moment.astimezone(filters.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ".%06d" % moment.microsecond
    return text + "Z"


def _version_number(value):
    text = str(value if value is not None else "").strip().rstrip("+")
    return int(text) if re.match(r"^[0-9]+$", text) else None


def api_server_version(info):
    """``git_version``, ``major`` and ``minor`` (ints) of a ``/version`` answer, and a problem or None.

    Managed clusters answer ``minor: "34+"``; the ``+`` is dropped. When a number is missing or unreadable it
    is taken from ``gitVersion`` (``v1.34.4``); when that fails too it is null and the problem says why.
    """
    info = info or {}
    git_version = info.get("gitVersion")
    major = _version_number(info.get("major"))
    minor = _version_number(info.get("minor"))
    match = _GIT_VERSION_RE.match(str(git_version or "").strip())
    if match:
        major = int(match.group(1)) if major is None else major
        minor = int(match.group(2)) if minor is None else minor
    problem = None
    unknown = [name for name, value in (("major", major), ("minor", minor)) if value is None]
    if unknown:
        problem = ("the API server's /version answer has no readable version (major %r, minor %r, gitVersion %r); "
                   "%s %s null" % (info.get("major"), info.get("minor"), git_version,
                                   " and ".join("api_server.%s" % name for name in unknown),
                                   "are" if len(unknown) > 1 else "is"))
    return dict(git_version=git_version, major=major, minor=minor), problem


# --------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------


def ready_condition(node):
    """The node's Ready condition (a dict), or None when the kubelet never reported one."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return None


def _ready_value(condition):
    status = (condition or {}).get("status")
    if status == "True":
        return True
    if status == "False":
        return False
    return None  # no condition, or Unknown: the node controller has not heard from the kubelet


def cordoned_since(node):
    """When the node was cordoned, as RFC 3339, and a problem or None.

    Only for a node with ``spec.unschedulable``: the ``timeAdded`` of its ``node.kubernetes.io/unschedulable``
    taint when the API server set one, else the ``nodeops.kubernetes/cordoned-at`` annotation, else null.
    """
    if not (node.get("spec") or {}).get("unschedulable"):
        return None, None
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("key") == UNSCHEDULABLE_TAINT and taint.get("timeAdded"):
            return taint["timeAdded"], None
    metadata = node.get("metadata") or {}
    value = (metadata.get("annotations") or {}).get(CORDONED_AT_ANNOTATION)
    if not value:
        return None, None
    try:
        moment = filters.parse_timestamp(str(value))
    except (ValueError, AttributeError):
        moment = None
    if moment is None:
        return None, ('node "%s": annotation %s=%r is not an RFC 3339 time (2025-01-31T12:00:00Z); cordoned_since '
                      "is null" % (metadata.get("name"), CORDONED_AT_ANNOTATION, value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=filters.UTC)
    return format_time(moment), None


def lease_fields(lease, now):
    """``lease_renew_time``, ``lease_age_seconds`` and ``lease_duration_seconds`` of a node Lease (or None)."""
    spec = (lease or {}).get("spec") or {}
    renew = spec.get("renewTime")
    duration = spec.get("leaseDurationSeconds")
    age = None
    if renew:
        try:
            age = round((now - filters.parse_timestamp(renew)).total_seconds(), 3)
        except (ValueError, AttributeError, TypeError):
            age = None
    return dict(
        lease_renew_time=renew or None,
        lease_age_seconds=age,
        lease_duration_seconds=int(duration) if isinstance(duration, int) and not isinstance(duration, bool) else None,
    )


def node_row(node, lease, now):
    """One row of ``nodes``, and the problems met while reading it."""
    metadata = node.get("metadata") or {}
    info = (node.get("status") or {}).get("nodeInfo") or {}
    condition = ready_condition(node)
    since, problem = cordoned_since(node)
    row = dict(
        name=metadata.get("name"),
        kubelet_version=info.get("kubeletVersion"),
        container_runtime_version=info.get("containerRuntimeVersion"),
        ready=_ready_value(condition),
        ready_reason=(condition or {}).get("reason"),
        ready_message=(condition or {}).get("message"),
        ready_since=(condition or {}).get("lastTransitionTime"),
        unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
        cordoned_since=since,
        control_plane=CONTROL_PLANE_LABEL in (metadata.get("labels") or {}),
    )
    row.update(lease_fields(lease, now))
    return row, [problem] if problem else []


def select_nodes(nodes, node_names):
    """The audited nodes (all when ``node_names`` is empty), sorted by name, and the problems.

    Names of ``node_names`` that match no node are problems; when none matches at all, nothing would be
    audited, which is an error.
    """
    by_name = dict(((n.get("metadata") or {}).get("name"), n) for n in nodes)
    if not node_names:
        problems = [] if by_name else ["the cluster has no Node objects: no node to audit"]
        return [by_name[name] for name in sorted(by_name)], problems
    wanted = sorted(set(node_names))
    missing = [name for name in wanted if name not in by_name]
    if len(missing) == len(wanted):
        raise NodeOpsError(
            "cluster audit: none of the nodes of node_names exists in the cluster (%s); check the names with "
            "kubectl get nodes (a host's node name is kube_node_name, else inventory_hostname)" % ", ".join(missing),
            missing_nodes=missing)
    problems = ['node "%s" of node_names does not exist in the cluster (kubectl get nodes); it has no row' % name
                for name in missing]
    return [by_name[name] for name in wanted if name in by_name], problems


# --------------------------------------------------------------------------
# ConfigMaps: the kubelet's configuration and kube-proxy's mode
# --------------------------------------------------------------------------


def _optional_bool(data, key):
    value = data.get(key)
    return value if isinstance(value, bool) else None


def kubelet_config_summary(name, configmap, read_error=None):
    """``kubelet_config`` from the ConfigMap (a dict; None when it does not exist).

    Fields not set in the KubeletConfiguration are null (the kubelet then uses its own default).
    ``present`` is null when the ConfigMap could not be read (``read_error``).
    """
    summary = dict(name=name, present=configmap is not None, cgroup_driver=None, server_tls_bootstrap=None,
                   fail_cgroup_v1=None, rotate_certificates=None, error=None)
    source = "ConfigMap %s/%s" % (SYSTEM_NAMESPACE, name)
    if read_error:
        summary["present"] = None
        summary["error"] = read_error
        return summary
    if configmap is None:
        return summary
    text = ((configmap.get("data") or {}).get(KUBELET_CONFIG_KEY))
    if text is None:
        summary["error"] = "%s has no data.%s key: it is not a kubeadm kubelet configuration" % (
            source, KUBELET_CONFIG_KEY)
        return summary
    if not HAS_YAML:  # pragma: no cover
        summary["error"] = "PyYAML is required on the controller to read %s" % source
        return summary
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " at line %d" % (mark.line + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        summary["error"] = "%s data.%s is not valid YAML%s: %s" % (source, KUBELET_CONFIG_KEY, where, problem)
        return summary
    if not isinstance(data, dict):
        summary["error"] = "%s data.%s is not a YAML mapping (a KubeletConfiguration), but %s" % (
            source, KUBELET_CONFIG_KEY, "empty" if data is None else "a %s" % type(data).__name__)
        return summary
    driver = data.get("cgroupDriver")
    summary.update(
        cgroup_driver=str(driver) if driver not in (None, "") else None,
        server_tls_bootstrap=_optional_bool(data, "serverTLSBootstrap"),
        fail_cgroup_v1=_optional_bool(data, "failCgroupV1"),
        rotate_certificates=_optional_bool(data, "rotateCertificates"),
    )
    return summary


def kube_proxy_summary(configmap):
    """``kube_proxy`` (``mode`` and ``source``) from the kube-proxy ConfigMap (None: it does not exist).

    Returns the summary and a problem or None. No ConfigMap is no problem: clusters whose CNI replaces
    kube-proxy have none.
    """
    if configmap is None:
        return dict(mode=None, source="not found"), None
    source = "ConfigMap %s/%s %s" % (SYSTEM_NAMESPACE, KUBE_PROXY_CONFIGMAP, KUBE_PROXY_CONFIG_KEY)
    text = (configmap.get("data") or {}).get(KUBE_PROXY_CONFIG_KEY)
    if text is None:
        where = "ConfigMap %s/%s has no %s" % (SYSTEM_NAMESPACE, KUBE_PROXY_CONFIGMAP, KUBE_PROXY_CONFIG_KEY)
        return (dict(mode=None, source=where),
                "kube-proxy mode unknown: ConfigMap %s/%s has no data.%s key" % (
                    SYSTEM_NAMESPACE, KUBE_PROXY_CONFIGMAP, KUBE_PROXY_CONFIG_KEY))
    try:
        return dict(mode=proxy_mode(text, source), source=source), None
    except NodeOpsError as err:
        return dict(mode=None, source=source), "kube-proxy mode unknown: %s" % err.message


# --------------------------------------------------------------------------
# PodDisruptionBudgets that stop a drain
# --------------------------------------------------------------------------


def allows_no_disruption(pdb):
    return pdb_summary(pdb)["disruptions_allowed"] == 0


def guarded_by_budgets(pod):
    """Whether an eviction of the pod has to pass its budgets (a running pod not already being deleted)."""
    return ((pod.get("status") or {}).get("phase") == GUARDED_PHASE
            and not (pod.get("metadata") or {}).get("deletionTimestamp"))


def blocking_pdbs(pdbs, pods, node_names, daemonset_exists, now=None):
    """The PodDisruptionBudgets that allow no disruption and select a pod a drain of ``node_names`` evicts.

    ``pods`` may hold pods of other nodes; only the running pods of ``node_names`` count, and of those only
    the ones the drain's filter chain evicts (:data:`DRAIN_FILTER_OPTIONS`). Budgets that allow a disruption,
    or select no such pod, are left out.
    """
    audited = set(node_names)
    closed = [pdb for pdb in pdbs if allows_no_disruption(pdb)]
    if not closed:
        return []
    by_namespace = {}
    for pdb in closed:
        by_namespace.setdefault((pdb.get("metadata") or {}).get("namespace"), []).append(pdb)
    candidates = []
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") not in audited or not guarded_by_budgets(pod):
            continue
        found = matching_pdbs(by_namespace.get((pod.get("metadata") or {}).get("namespace")) or [], pod)
        if found:
            candidates.append((pod, found))
    decisions = filters.decide_all([pod for pod, found in candidates], DRAIN_FILTER_OPTIONS, daemonset_exists,
                                   now=now)
    entries = {}
    for (pod, found), decision in zip(candidates, decisions):
        if decision.action != filters.EVICT:
            continue
        for pdb in found:
            summary = pdb_summary(pdb)
            key = (summary["namespace"] or "", summary["name"] or "")
            entry = entries.setdefault(key, dict(
                namespace=summary["namespace"], name=summary["name"], description=describe_pdb(summary),
                disruptions_allowed=summary["disruptions_allowed"], expected_pods=summary["expected_pods"],
                pods=set(), nodes=set()))
            entry["pods"].add(filters.pod_ref(pod))
            entry["nodes"].add(pod["spec"]["nodeName"])
    result = []
    for key in sorted(entries):
        entry = entries[key]
        entry["pods"] = sorted(entry["pods"])
        entry["nodes"] = sorted(entry["nodes"])
        result.append(entry)
    return result


# --------------------------------------------------------------------------
# The collection
# --------------------------------------------------------------------------


def _fatal(err, what):
    """A required read failed: the message names what, the cause and the fix."""
    message = err.message
    if err.details.get("status") not in (None, 401, 403):
        message += "; the API server answered with an error: check its health (kubectl get --raw='/readyz?verbose')"
    return NodeOpsError("cluster audit cannot go on without %s: %s" % (what, message), **err.details)


def _read_optional(problems, consequence, call, *args):
    """``(value, error message)`` of an optional read; a failure adds a problem and gives ``(None, message)``."""
    try:
        return call(*args), None
    except NodeOpsError as err:
        problems.append("%s; %s" % (err.message, consequence))
        return None, err.message


def _daemonset_lookup(client, problems):
    def exists(namespace, name):
        try:
            return client.daemonset_exists(namespace, name)
        except NodeOpsError as err:
            problems.append("%s; its pods are counted as DaemonSet pods, which a drain does not evict" % err.message)
            return True
    return exists


def _audited_pods(client, node_names, all_nodes, problems):
    selector = "status.phase=%s" % GUARDED_PHASE
    if all_nodes:
        pods = _read_optional(problems, "blocking_pdbs is empty: no pod could be checked",
                              client.list_all_pods, selector)[0]
        return pods or []
    pods = []
    for name in node_names:
        found = _read_optional(problems, 'blocking_pdbs leaves out the pods of node "%s"' % name,
                               client.list_all_pods, "spec.nodeName=%s,%s" % (name, selector))[0]
        pods.extend(found or [])
    return pods


def collect(client, kubelet_configmap=DEFAULT_KUBELET_CONFIGMAP, node_names=None, now=None):
    """Read the cluster through ``client`` (a :class:`ClusterAuditClient`) and return the audit.

    ``now`` (an aware datetime) is the time of the read; the Lease ages are measured from it.
    Raises :class:`NodeOpsError` only when ``/version`` or the node list cannot be read, or when no node of
    ``node_names`` exists.
    """
    if not kubelet_configmap:
        raise NodeOpsError("kubelet_configmap must be the name of a ConfigMap in %s (kubeadm: %s)" % (
            SYSTEM_NAMESPACE, DEFAULT_KUBELET_CONFIGMAP), option="kubelet_configmap")
    now = now or utc_now()
    problems = []
    try:
        version_info = client.get_version()
    except NodeOpsError as err:
        raise _fatal(err, "the API server version")
    api_server, problem = api_server_version(version_info)
    if problem:
        problems.append(problem)
    try:
        all_nodes = client.list_nodes()
    except NodeOpsError as err:
        raise _fatal(err, "the node list")
    nodes, missing = select_nodes(all_nodes, node_names)
    problems.extend(missing)
    names = [(n.get("metadata") or {}).get("name") for n in nodes]

    leases = _read_optional(problems, "lease_renew_time, lease_age_seconds and lease_duration_seconds are null",
                            client.list_node_leases)[0]
    leases_by_name = dict(((lease.get("metadata") or {}).get("name"), lease) for lease in leases or [])
    rows = []
    for node in nodes:
        row, row_problems = node_row(node, leases_by_name.get((node.get("metadata") or {}).get("name")), now)
        rows.append(row)
        problems.extend(row_problems)

    configmap, error = _read_optional(problems, "kubelet_config is unknown", client.get_configmap, SYSTEM_NAMESPACE,
                                      kubelet_configmap)
    kubelet_config = kubelet_config_summary(kubelet_configmap, configmap, read_error=error)

    configmap, error = _read_optional(problems, "kube_proxy.mode is unknown", client.get_configmap,
                                      SYSTEM_NAMESPACE, KUBE_PROXY_CONFIGMAP)
    if error:
        kube_proxy = dict(mode=None, source="ConfigMap %s/%s not readable" % (SYSTEM_NAMESPACE, KUBE_PROXY_CONFIGMAP))
    else:
        kube_proxy, problem = kube_proxy_summary(configmap)
        if problem:
            problems.append(problem)

    pdbs = _read_optional(problems, "blocking_pdbs is empty: no budget could be checked", client.list_all_pdbs)[0]
    blocking = []
    if pdbs and names and any(allows_no_disruption(pdb) for pdb in pdbs):
        pods = _audited_pods(client, names, not node_names, problems)
        blocking = blocking_pdbs(pdbs, pods, names, _daemonset_lookup(client, problems), now=now)

    return dict(
        now=format_time(now),
        api_server=api_server,
        nodes=rows,
        kubelet_config=kubelet_config,
        kube_proxy=kube_proxy,
        blocking_pdbs=blocking,
        problems=problems,
    )


# --------------------------------------------------------------------------
# The Kubernetes API adapter
# --------------------------------------------------------------------------


class ClusterAuditClient(KubernetesDrainClient):
    """The reads of the audit: the drain client's node, pod and DaemonSet reads, plus the few it lacks.

    Same error handling as the drain client: a missing object is None, everything else a NodeOpsError
    naming the action, the cause and the fix.
    """

    def get_version(self):
        return self._call("read the API server version (GET /version)", self._api.get_code)

    def get_configmap(self, namespace, name):
        return self._get_or_none('read ConfigMap "%s/%s"' % (namespace, name),
                                 self._api.read_namespaced_config_map, name, namespace)

    def list_node_leases(self, limit=DEFAULT_CHUNK_SIZE):
        return self._list('list the Leases of namespace "%s"' % NODE_LEASE_NAMESPACE,
                          self._api.list_namespaced_lease, NODE_LEASE_NAMESPACE, limit=limit)

    def list_all_pdbs(self, limit=DEFAULT_CHUNK_SIZE):
        return self._list("list the PodDisruptionBudgets of the cluster",
                          self._api.list_pod_disruption_budget_for_all_namespaces, limit=limit)


def make_audit_client(params):
    """A :class:`ClusterAuditClient` for the module's connection options."""
    from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s  # pylint: disable=import-outside-toplevel

    return ClusterAuditClient(_k8s.get_api_client(params), params)

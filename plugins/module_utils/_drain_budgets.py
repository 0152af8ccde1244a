# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PodDisruptionBudgets in a drain: which budgets select a pod, how to describe them, whether a refusal
came from one, and which refused pods their budgets now have room for."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters


def pdb_summary(pdb):
    """The parts of a PodDisruptionBudget an operator needs to see why an eviction waits."""
    metadata = pdb.get("metadata") or {}
    spec = pdb.get("spec") or {}
    status = pdb.get("status") or {}
    return dict(
        namespace=metadata.get("namespace"),
        name=metadata.get("name"),
        min_available=spec.get("minAvailable"),
        max_unavailable=spec.get("maxUnavailable"),
        current_healthy=status.get("currentHealthy", 0),
        desired_healthy=status.get("desiredHealthy", 0),
        disruptions_allowed=status.get("disruptionsAllowed", 0),
        expected_pods=status.get("expectedPods", 0),
    )


def describe_pdb(summary):
    """``PodDisruptionBudget shop/web (minAvailable 3): 0 disruptions allowed, 2 healthy of 3 desired, 3 expected``."""
    limit = []
    if summary.get("min_available") is not None:
        limit.append("minAvailable %s" % summary["min_available"])
    if summary.get("max_unavailable") is not None:
        limit.append("maxUnavailable %s" % summary["max_unavailable"])
    return "PodDisruptionBudget %s/%s%s: %s disruptions allowed, %s healthy of %s desired, %s expected pods" % (
        summary["namespace"], summary["name"], " (%s)" % ", ".join(limit) if limit else "",
        summary["disruptions_allowed"], summary["current_healthy"], summary["desired_healthy"],
        summary["expected_pods"])


def matching_pdbs(pdbs, pod):
    """The PodDisruptionBudgets of the pod's namespace whose selector selects the pod."""
    metadata = pod.get("metadata") or {}
    found = []
    for pdb in pdbs:
        pdb_meta = pdb.get("metadata") or {}
        if pdb_meta.get("namespace", metadata.get("namespace")) != metadata.get("namespace"):
            continue
        if filters.object_selector_matches((pdb.get("spec") or {}).get("selector"), metadata.get("labels")):
            found.append(pdb)
    return found


def is_multiple_pdb_error(message):
    """Whether a 500 on an eviction is the API server's refusal of a pod selected by several budgets."""
    text = (message or "").lower()
    return "more than one" in text and "disruption" in text


def is_budget_refusal(err):
    """Whether a 429 is a PodDisruptionBudget's refusal of an eviction.

    kube-apiserver says "Cannot evict pod as it would violate the pod's disruption budget." with a
    DisruptionBudget cause. Any other 429 is throttling (API Priority and Fairness, max-in-flight);
    its X-Kubernetes-PF-* headers tell nothing here, as they come with every answer of such a server.
    """
    text = " ".join([err.message or ""] + list(err.details.get("causes") or [])).lower()
    return "disruption budget" in text or "disruptionbudget" in text


def budget_names(client, namespace, pod):
    """`` (ns/a, ns/b)``: the budgets selecting the pod (the API server's refusal does not name them)."""
    try:
        found = matching_pdbs(client.list_pdbs(namespace), pod)
    except NodeOpsError:
        return ""
    names = sorted("%s/%s" % (namespace, (pdb.get("metadata") or {}).get("name")) for pdb in found)
    return " (%s)" % ", ".join(names) if names else ""


def release_allowed(entries, list_pdbs, stop):
    """Which pods refused by a budget may be tried again now, because their budget has room.

    ``entries`` are scheduled retries ``(due, sequence, outcome)``; ``list_pdbs(namespace)`` reads the
    budgets of a namespace; ``stop()`` tells that no more requests may be sent (the deadline passed).
    Returns the released outcomes and the entries kept on schedule. kubectl retries every pod blindly
    after its delay; reading the budgets instead lets a pod go as soon as its budget has room, and never
    releases more pods than that room. Pods without a readable budget keep their scheduled retry.
    """
    room = {}
    budgets = {}
    released = []
    kept = []
    for entry in sorted(entries, key=lambda e: e[:2]):
        outcome = entry[2]
        namespace = outcome.decision.namespace
        if namespace not in budgets:
            budgets[namespace] = None if stop() else _read_or_none(list_pdbs, namespace)
        if budgets[namespace] is None:
            kept.append(entry)
            continue
        matching = matching_pdbs(budgets[namespace], outcome.decision.pod)
        keys = [(namespace, (pdb.get("metadata") or {}).get("name")) for pdb in matching]
        for key, pdb in zip(keys, matching):
            room.setdefault(key, (pdb.get("status") or {}).get("disruptionsAllowed", 0))
        if len(matching) == 1 and room[keys[0]] > 0:
            room[keys[0]] -= 1
            released.append(outcome)
        else:
            kept.append(entry)
    return released, kept


def _read_or_none(list_pdbs, namespace):
    try:
        return list_pdbs(namespace)
    except NodeOpsError:
        return None

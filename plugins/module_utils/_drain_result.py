# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result of a drain: what became of each pod (a closed set of kinds) and the lists of the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import enum

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_budgets import (
    describe_pdb,
    matching_pdbs,
    pdb_summary,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import round_seconds


class Kind(enum.Enum):
    """What became of one pod of the drain."""

    PENDING = "pending"  # no final answer yet
    ACCEPTED = "accepted"  # eviction accepted (in check mode: would be), not waited for
    GONE = "gone"  # gone before an eviction was accepted
    GONE_AFTER_EVICTION = "gone_after_eviction"
    NOT_WAITED = "not_waited"  # evicted, deletion older than skip_wait_for_delete_timeout
    WOULD_BE_BLOCKED = "would_be_blocked"  # check mode: a budget refuses the eviction now
    BLOCKED = "blocked"  # refused by a budget until the timeout
    THROTTLED = "throttled"  # API server throttling until the timeout
    TERMINATING = "terminating"  # evicted, still there at the timeout
    TIMEOUT = "timeout"  # not evicted before the timeout
    FAILED = "failed"  # an error that retrying does not cure
    STOPPED = "stopped"  # not evicted: the drain stopped on an error
    UNCONFIRMED = "unconfirmed"  # evicted, the drain stopped on an error before it was gone


# Kinds counted in evicted (or deleted); all others are in remaining or would_be_blocked.
DONE = frozenset([Kind.ACCEPTED, Kind.GONE, Kind.GONE_AFTER_EVICTION, Kind.NOT_WAITED])

_REASONS = {
    Kind.BLOCKED: "eviction refused by a PodDisruptionBudget until the timeout",
    Kind.TERMINATING: "evicted, but still terminating when the timeout expired",
    Kind.UNCONFIRMED: "evicted, but the drain stopped before it was gone",
    Kind.STOPPED: "not evicted: the drain stopped on an error",
    Kind.TIMEOUT: "not evicted before the timeout expired",
}


class Refusal(enum.Enum):
    """Why the API server refused an eviction for now (HTTP 429)."""

    BUDGET = "budget"  # a PodDisruptionBudget allows no disruption
    THROTTLED = "throttled"  # API Priority and Fairness, max-in-flight


class Outcome(object):
    """What happened to one pod's eviction: its kind, the last answer and the times."""

    def __init__(self, decision, started):
        self.decision = decision
        self._kind = Kind.PENDING
        self._refusal = None
        self.started = started
        self.message = None
        self.accepted_at = None
        self.gone_at = None
        self.attempts = 0
        self.deleting = bool((decision.pod.get("metadata") or {}).get("deletionTimestamp"))
        self.wait_errors = 0
        # Deleted because the API server has no Eviction API (not because of disable_eviction).
        self.deleted_instead = False
        # The request got no answer, and a read showed the pod gone or being deleted: the answer was lost.
        self.answer_lost = False
        # Why the last request is to be repeated, when that was not a 429.
        self.retry_note = None
        self.retry_after = None

    @property
    def kind(self):
        return self._kind

    @kind.setter
    def kind(self, value):
        if not isinstance(value, Kind):
            raise TypeError("an outcome's kind is a Kind, not %r" % (value,))
        self._kind = value

    @property
    def refusal(self):
        return self._refusal

    @refusal.setter
    def refusal(self, value):
        if value is not None and not isinstance(value, Refusal):
            raise TypeError("an outcome's refusal is a Refusal or None, not %r" % (value,))
        self._refusal = value

    @property
    def ref(self):
        return "%s/%s" % (self.decision.namespace, self.decision.name)


def new_result(node, state):
    """The result skeleton shared by every state; failures carry it too."""
    return dict(
        changed=False,
        node=node,
        state=state,
        cordoned_before=None,
        node_left_cordoned=None,
        evicted=[],
        deleted=[],
        skipped_pods=[],
        refused=[],
        remaining=[],
        blocked=[],
        would_be_blocked=[],
        drain_warnings=[],
        durations=dict(cordon=0.0, evict=0.0, wait=0.0, total=0.0),
    )


class DrainReport(object):
    """Turns the outcomes of the evictions into the lists of the result, and words an incomplete drain."""

    def __init__(self, result, client, options, clock):
        self.result = result
        self.client = client
        self.options = options
        self.clock = clock

    def record(self, outcomes):
        """Fill evicted, deleted, remaining, blocked and would_be_blocked (sorted); return the remaining."""
        result = self.result
        key = "deleted" if self.options.disable_eviction else "evicted"
        outcomes = sorted(outcomes, key=lambda o: (o.decision.namespace or "", o.decision.name or ""))
        done, deleted, remaining, blocked, would_block = [], [], [], [], []
        for outcome in outcomes:
            decision = outcome.decision
            entry = dict(namespace=decision.namespace, name=decision.name, uid=decision.uid)
            if outcome.kind in DONE:
                self._done(outcome, entry)
                (deleted if outcome.deleted_instead else done).append(entry)
            elif outcome.kind == Kind.WOULD_BE_BLOCKED:
                would_block.append(outcome)
            else:
                if outcome.kind == Kind.BLOCKED:
                    blocked.append(outcome)
                if outcome.kind in (Kind.TERMINATING, Kind.UNCONFIRMED):
                    result["changed"] = True
                entry["reason"] = self._reason(outcome)
                remaining.append(entry)
        result[key] = done
        if deleted:
            result["deleted"] = deleted
        lost = [o.ref for o in outcomes if o.answer_lost]
        if lost:
            result["drain_warnings"].append(
                "%s: the request got no answer (%s), and a read of the pod showed it gone or being deleted, so it "
                "is counted as evicted" % (", ".join(lost), "; ".join(
                    sorted(set(o.retry_note for o in outcomes if o.answer_lost and o.retry_note)))))
        instead = [o.ref for o in outcomes if o.deleted_instead]
        if instead:
            result["drain_warnings"].append(
                "%s deleted instead of evicted: the API server offers no Eviction (policy/v1 pods/eviction), so "
                "PodDisruptionBudgets were not checked" % ", ".join(instead))
        result["remaining"] = remaining
        cache = {}
        result["blocked"] = self._pdb_report(blocked, cache)
        result["would_be_blocked"] = self._pdb_report(would_block, cache)
        return remaining

    def _done(self, outcome, entry):
        end = outcome.gone_at or self.clock()
        entry["duration"] = round_seconds(end - outcome.started) if outcome.kind != Kind.ACCEPTED else 0.0
        entry["already_gone"] = outcome.kind == Kind.GONE
        if outcome.kind == Kind.NOT_WAITED:
            self.result["drain_warnings"].append(
                "stopped waiting for %s: its deletion started more than %s seconds ago "
                "(skip_wait_for_delete_timeout)" % (outcome.ref, self.options.skip_wait_for_delete_timeout))
        if outcome.kind != Kind.GONE and not (outcome.decision.pod.get("metadata") or {}).get("deletionTimestamp"):
            self.result["changed"] = True

    @staticmethod
    def _reason(outcome):
        if outcome.kind == Kind.THROTTLED:
            return "%s until the timeout" % outcome.message
        if outcome.kind == Kind.TIMEOUT and outcome.retry_note:
            return "%s (last answer: %s)" % (_REASONS[Kind.TIMEOUT], outcome.retry_note)
        if outcome.kind in _REASONS:
            return _REASONS[outcome.kind]
        return outcome.message or "unexpected error"

    def _pdb_report(self, outcomes, cache):
        entries = []
        for outcome in outcomes:
            decision = outcome.decision
            entry = dict(namespace=decision.namespace, name=decision.name, uid=decision.uid,
                         message=outcome.message, pdbs=[])
            namespace = decision.namespace
            try:
                if namespace not in cache:
                    cache[namespace] = self.client.list_pdbs(namespace)
                entry["pdbs"] = [pdb_summary(pdb) for pdb in matching_pdbs(cache[namespace], decision.pod)]
            except NodeOpsError as err:
                entry["pdb_lookup_error"] = err.message
            entries.append(entry)
        return entries

    def done_count(self):
        """``3 of 5 pods evicted`` without the ``of``: the pods evicted or deleted so far, and the verb."""
        result = self.result
        if self.options.disable_eviction:
            return len(result["deleted"]), "deleted"
        return len(result["evicted"]) + len(result["deleted"]), "evicted"

    def incomplete_message(self, node_name, total, timed_out):
        """Why the drain did not complete: the counts, the blocking budgets and every other pod left."""
        result = self.result
        done, verb = self.done_count()
        if result["deleted"] and not self.options.disable_eviction:
            parts = ["%d of %d pods evicted or deleted (%d deleted: the API server offers no Eviction)" % (
                done, total, len(result["deleted"]))]
        else:
            parts = ["%d of %d pods %s" % (done, total, verb)]
        if result["blocked"]:
            blocked = []
            for entry in result["blocked"]:
                reasons = "; ".join(describe_pdb(pdb) for pdb in entry["pdbs"]) or entry["message"]
                blocked.append("%s/%s (%s)" % (entry["namespace"], entry["name"], reasons))
            parts.append("%d blocked by PodDisruptionBudgets: %s" % (len(blocked), ", ".join(blocked)))
        others = [e for e in result["remaining"]
                  if not any(b["uid"] == e["uid"] and b["name"] == e["name"] for b in result["blocked"])]
        if others:
            parts.append("%d not gone: %s" % (len(others), ", ".join(
                "%s/%s (%s)" % (e["namespace"], e["name"], e["reason"]) for e in others)))
        within = " within %s seconds (timeout)" % self.options.timeout if timed_out else ""
        return 'drain of node "%s" did not complete%s: %s' % (node_name, within, "; ".join(parts))

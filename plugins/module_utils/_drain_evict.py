# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One eviction (or delete) request of a pod, and the verdict on the API server's answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import enum
import threading

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_budgets import (
    budget_names,
    is_budget_refusal,
    is_multiple_pdb_error,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_result import Refusal
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_wait import is_gone


class Verdict(enum.Enum):
    """The verdict on one request for a pod."""

    ACCEPTED = "accepted"  # the pod is being removed
    GONE = "gone"  # the pod was gone already (or replaced under its name)
    RETRY = "retry"  # refused for now: try again later
    FAILED = "failed"  # refused for good


def throttling_message(retry_after):
    """``the API server is throttling requests (HTTP 429, Retry-After 5 s)``."""
    if retry_after:
        return "the API server is throttling requests (HTTP 429, Retry-After %s s)" % retry_after
    return "the API server is throttling requests (HTTP 429)"


class Evictor(object):
    """Sends the eviction of a pod, or its deletion (disable_eviction, or an API server without the Eviction
    API, as kubectl), and judges the answer. Runs in worker threads; never sleeps.

    ``expired()`` tells that the drain's deadline has passed: then no new request is sent.
    """

    def __init__(self, client, options, check_mode, expired):
        self.client = client
        self.options = options
        self.check_mode = check_mode
        self.expired = expired
        self._discovery_lock = threading.Lock()
        self._eviction_served = None  # what the discovery said, asked at most once
        self._no_eviction = threading.Event()  # set once the API server is known to offer no Eviction

    def attempt(self, outcome):
        """One request for the pod of ``outcome``: a :class:`Verdict`, the details on ``outcome``.

        A retry first reads the pod again, like kubectl: gone or replaced (new UID) ends it.
        """
        decision = outcome.decision
        try:
            if outcome.attempts:
                try:
                    fresh = self.client.get_pod(decision.namespace, decision.name)
                except NodeOpsError:
                    fresh = decision.pod  # like kubectl: the next attempt tells
                if is_gone(fresh, decision.uid):
                    return Verdict.GONE
                outcome.deleting = bool((fresh.get("metadata") or {}).get("deletionTimestamp"))
                if self.expired():
                    return Verdict.RETRY  # no new request after the deadline
            outcome.attempts += 1
            delete = self.options.disable_eviction or self._no_eviction.is_set()
            try:
                self._request(decision, delete)
                outcome.deleted_instead = delete and not self.options.disable_eviction
                return Verdict.ACCEPTED
            except NodeOpsError as err:
                return self._answer(outcome, err, delete)
        except Exception as exc:  # pylint: disable=broad-except
            outcome.message = "unexpected error: %s" % exc
            return Verdict.FAILED

    def _request(self, decision, delete):
        grace = self.options.grace_period_seconds
        if delete:
            self.client.delete_pod(decision.namespace, decision.name, grace, dry_run=self.check_mode)
        else:
            self.client.evict_pod(decision.namespace, decision.name, grace, dry_run=self.check_mode)

    def _answer(self, outcome, err, deleting):
        """The verdict on a request the API server refused with ``err``."""
        decision = outcome.decision
        status = err.details.get("status")
        outcome.message = None
        outcome.retry_note = None
        outcome.refusal = None
        if status == 404:
            return self._not_found(outcome, err, deleting)
        if err.details.get("api_unreachable"):
            return self._answer_lost(outcome, err)
        if status == 429 and not deleting and is_budget_refusal(err):
            outcome.refusal = Refusal.BUDGET
            outcome.message = err.message
            return Verdict.RETRY
        if status == 429:
            outcome.refusal = Refusal.THROTTLED
            outcome.retry_after = err.details.get("retry_after")
            outcome.message = throttling_message(outcome.retry_after)
            return Verdict.RETRY
        if status == 403 and err.details.get("reason") == "NamespaceTerminating":
            # Eviction is refused in a terminating namespace; a pod already being deleted
            # only needs the wait, the others are retried until the namespace is gone.
            return Verdict.ACCEPTED if outcome.deleting else Verdict.RETRY
        if status == 500 and is_multiple_pdb_error(err.message):
            names = budget_names(self.client, decision.namespace, decision.pod)
            outcome.message = ("the pod is selected by more than one PodDisruptionBudget%s, which the API "
                               "server refuses to evict (%s); make the budgets' selectors disjoint, or "
                               "use disable_eviction" % (names, err.message))
            return Verdict.FAILED
        outcome.message = err.message
        return Verdict.FAILED

    def _not_found(self, outcome, err, deleting):
        """A 404 on the request: the pod is gone only if a read confirms it (404 or a new UID).

        A pod that is still there means either that the API server offers no Eviction API at
        all (then the pod is deleted instead, as kubectl does) or a passing inconsistency (retried).
        """
        decision = outcome.decision
        try:
            fresh = self.client.get_pod(decision.namespace, decision.name)
        except NodeOpsError as read_err:
            outcome.retry_note = "%s; reading the pod to confirm that it is gone failed: %s" % (
                err.message, read_err.message)
            return Verdict.RETRY
        if is_gone(fresh, decision.uid):
            return Verdict.GONE
        outcome.deleting = bool((fresh.get("metadata") or {}).get("deletionTimestamp"))
        if not deleting and not self.expired() and self._eviction_missing(err):
            self._no_eviction.set()
            outcome.deleted_instead = True
            try:
                self._request(decision, True)
                return Verdict.ACCEPTED
            except NodeOpsError as delete_err:
                return self._answer(outcome, delete_err, True)
        outcome.retry_note = "%s, but the pod is still there" % err.message
        return Verdict.ACCEPTED if outcome.deleting else Verdict.RETRY

    def _answer_lost(self, outcome, err):
        """No answer to the request (connection reset or refused, read timeout): whether it reached the API
        server is unknown, so a read of the pod decides. Gone or being deleted: the request did its work and
        only its answer was lost (accepted: the wait confirms it, and the account says evicted). Still there and
        not being deleted: it failed (as kubectl fails on an eviction error). The account never says "not
        evicted" for a pod that was."""
        decision = outcome.decision
        try:
            fresh = self.client.get_pod(decision.namespace, decision.name)
        except NodeOpsError as read_err:
            outcome.message = ("%s; whether it reached the API server is not known: reading the pod afterwards "
                               "failed too: %s" % (err.message, read_err.message))
            return Verdict.FAILED
        if is_gone(fresh, decision.uid) or (fresh.get("metadata") or {}).get("deletionTimestamp"):
            outcome.deleting = True
            outcome.answer_lost = True
            outcome.retry_note = err.message
            return Verdict.ACCEPTED
        outcome.message = err.message
        return Verdict.FAILED

    def _eviction_missing(self, err):
        """Whether a 404 on an eviction means that the API server has no Eviction API.

        A Status that names the pod is about the pod; a Status that names no object is the API
        server's answer for a resource it does not serve. Any other answer (not a Status) is
        settled by the discovery, like kubectl does before its first eviction.
        """
        kind = err.details.get("not_found_kind")
        if kind is not None:
            return kind == ""
        with self._discovery_lock:
            if self._eviction_served is None:
                try:
                    self._eviction_served = bool(self.client.eviction_supported())
                except NodeOpsError:
                    return False
        return not self._eviction_served

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cordon, drain and uncordon a node: options, plan, executor and API adapter.

:class:`NodeDrainer` works against any object with the methods of
:class:`KubernetesDrainClient` (plain dictionaries in, plain dictionaries out),
so the whole procedure is tested with an in-memory fake. Every failure is a
:class:`NodeOpsError` whose ``details`` carry the complete result: what was
evicted, what remains and why, and whether the node is left cordoned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import heapq
import itertools
import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters

STATES = ("cordon", "drain", "uncordon")

DEFAULT_TIMEOUT = 600
DEFAULT_EVICTION_RETRY_INTERVAL = 5.0
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_MAX_CONCURRENT_EVICTIONS = 50
DEFAULT_CHUNK_SIZE = 500

# Consecutive failed GETs of one evicted pod before the wait for it gives up.
MAX_WAIT_ERRORS = 5
# The last look at the evicted pods and their budgets, after the timeout, ends this many seconds after it.
DEADLINE_GRACE = 1.0


def _round(seconds):
    return round(max(0.0, seconds), 3)


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------


class DrainOptions(object):
    """Validated drain options; invalid values raise before anything changes."""

    def __init__(self, ignore_daemonsets=False, delete_emptydir_data=False, force=False, grace_period=None,
                 timeout=DEFAULT_TIMEOUT, pod_selector=None, disable_eviction=False,
                 skip_wait_for_delete_timeout=0, chunk_size=DEFAULT_CHUNK_SIZE, uncordon_on_failure=False,
                 eviction_retry_interval=DEFAULT_EVICTION_RETRY_INTERVAL,
                 max_concurrent_evictions=DEFAULT_MAX_CONCURRENT_EVICTIONS, poll_interval=DEFAULT_POLL_INTERVAL,
                 ready_timeout=0):
        self.ignore_daemonsets = bool(ignore_daemonsets)
        self.delete_emptydir_data = bool(delete_emptydir_data)
        self.force = bool(force)
        self.grace_period = grace_period
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.pod_selector = pod_selector
        self.disable_eviction = bool(disable_eviction)
        self.skip_wait_for_delete_timeout = skip_wait_for_delete_timeout or 0
        self.chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
        self.uncordon_on_failure = bool(uncordon_on_failure)
        self.eviction_retry_interval = (DEFAULT_EVICTION_RETRY_INTERVAL if eviction_retry_interval is None
                                        else eviction_retry_interval)
        self.max_concurrent_evictions = (DEFAULT_MAX_CONCURRENT_EVICTIONS if max_concurrent_evictions is None
                                         else max_concurrent_evictions)
        self.poll_interval = DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval
        self.ready_timeout = ready_timeout or 0
        self._validate()
        self.selector = filters.parse_label_selector(pod_selector)

    OPTION_NAMES = ("ignore_daemonsets", "delete_emptydir_data", "force", "grace_period", "timeout", "pod_selector",
                    "disable_eviction", "skip_wait_for_delete_timeout", "chunk_size", "uncordon_on_failure",
                    "eviction_retry_interval", "max_concurrent_evictions", "poll_interval", "ready_timeout")

    @classmethod
    def from_params(cls, params):
        """Build the options from a module's ``params`` (missing keys take the defaults)."""
        return cls(**dict((name, params[name]) for name in cls.OPTION_NAMES if params.get(name) is not None))

    def _validate(self):
        def bad(option, value, expected):
            raise NodeOpsError("invalid %s %r: %s" % (option, value, expected), option=option)

        if self.grace_period is not None and self.grace_period < -1:
            bad("grace_period", self.grace_period,
                "use -1 (or leave it unset) for each pod's own terminationGracePeriodSeconds, "
                "0 to stop pods immediately, or a positive number of seconds")
        for option in ("timeout", "skip_wait_for_delete_timeout", "chunk_size", "ready_timeout"):
            if getattr(self, option) < 0:
                bad(option, getattr(self, option), "must be 0 or a positive number")
        for option in ("eviction_retry_interval", "poll_interval"):
            if getattr(self, option) <= 0:
                bad(option, getattr(self, option), "must be a positive number of seconds")
        if self.max_concurrent_evictions < 1:
            bad("max_concurrent_evictions", self.max_concurrent_evictions, "must be at least 1")

    @property
    def grace_period_seconds(self):
        """The grace period to send, or None to let each pod use its own."""
        if self.grace_period is None or self.grace_period < 0:
            return None
        return int(self.grace_period)

    def filter_options(self):
        return filters.FilterOptions(self.ignore_daemonsets, self.delete_emptydir_data, self.force,
                                     self.skip_wait_for_delete_timeout)


# --------------------------------------------------------------------------
# PodDisruptionBudgets
# --------------------------------------------------------------------------


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


def _is_multiple_pdb_error(message):
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


def throttling_message(retry_after):
    """``the API server is throttling requests (HTTP 429, Retry-After 5 s)``."""
    if retry_after:
        return "the API server is throttling requests (HTTP 429, Retry-After %s s)" % retry_after
    return "the API server is throttling requests (HTTP 429)"


def _lease_renew_time(lease):
    """The renewTime of a node Lease (a string as the API sends it), or None."""
    if not lease:
        return None
    return (lease.get("spec") or {}).get("renewTime")


def node_is_ready(node):
    """(ready, description) from the node's Ready condition."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            ready = condition.get("status") == "True"
            detail = "Ready=%s" % condition.get("status")
            if condition.get("reason"):
                detail += " (%s%s)" % (condition["reason"],
                                       ": %s" % condition["message"] if condition.get("message") else "")
            return ready, detail
    return False, "no Ready condition reported"


# --------------------------------------------------------------------------
# The drain procedure
# --------------------------------------------------------------------------


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


class _Outcome(object):
    """What happened to one pod's eviction request."""

    def __init__(self, decision, kind, started, message=None):
        self.decision = decision
        self.kind = kind  # accepted | gone | blocked | would_be_blocked | timeout | failed
        self.started = started
        self.message = message
        self.accepted_at = None
        self.gone_at = None
        self.attempts = 0
        self.deleting = False
        self.wait_errors = 0
        # Deleted because the API server has no Eviction API (not because of disable_eviction).
        self.deleted_instead = False
        # Why the last request is to be repeated, when that was not a PodDisruptionBudget's refusal.
        self.retry_note = None
        # The last 429: budget (a PodDisruptionBudget refused) or throttled (with the Retry-After).
        self.refusal = None
        self.retry_after = None


def _is_gone(pod, uid):
    """A read of a pod: None (404) or another UID (recreated under the same name) means the pod is gone."""
    return pod is None or (pod.get("metadata") or {}).get("uid") != uid


class _Expired(Exception):
    """The drain's deadline passed during a request (raised after the request, before the next one)."""


class NodeDrainer(object):
    """Cordon, drain or uncordon one node through ``client``.

    ``client`` has the methods of :class:`KubernetesDrainClient`. ``clock`` is
    a monotonic clock and ``now`` returns the current aware UTC datetime; both
    are replaceable in tests.
    """

    def __init__(self, client, node_name, options=None, check_mode=False, clock=time.monotonic, now=None):
        if not node_name:
            raise NodeOpsError("name must be the name of a node (see kubectl get nodes)", option="name")
        self.client = client
        self.node_name = node_name
        self.options = options or DrainOptions()
        self.check_mode = check_mode
        self.clock = clock
        self.now = now or (lambda: datetime.datetime.now(filters.UTC))
        self.result = None
        self._cordoned_by_us = False
        self._timed_out = False
        self._stop = threading.Event()
        self._discovery_lock = threading.Lock()
        self._eviction_served = None  # what the discovery said, asked at most once per run
        self._no_eviction = threading.Event()  # set once the API server is known to offer no Eviction
        self._step = None  # what the run is doing, for the account of an unexpected error
        self._planned = None  # number of pods to evict, once the evictions have started
        self._deadline = None  # on ``clock``; None: no timeout

    # -- entry point -----------------------------------------------------

    def run(self, state):
        """Bring the node to ``state`` and return the result; raise NodeOpsError with the result on failure."""
        if state not in STATES:
            raise NodeOpsError("invalid state %r: use one of %s" % (state, ", ".join(STATES)), option="state")
        self.result = new_result(self.node_name, state)
        # A drainer can be run again: nothing of the previous run carries over (a set stop event
        # would turn every wait of the eviction loop into a busy loop).
        self._cordoned_by_us = False
        self._timed_out = False
        self._stop.clear()
        self._eviction_served = None
        self._no_eviction.clear()
        self._step = "reading the node"
        self._planned = None
        self._deadline = None
        started = self.clock()
        try:
            if state == "cordon":
                self._cordon_state()
            elif state == "uncordon":
                self._uncordon_state()
            else:
                self._drain_state(started)
        except NodeOpsError as err:
            raise self._failure(err)
        except Exception as exc:  # pylint: disable=broad-except
            # A bad answer of the API server, a urllib3 error or a bug: the same account, no traceback.
            raise self._failure(self._unexpected(exc))
        finally:
            if self._deadline is not None:
                self.client.limit_requests(None)
            self.result["durations"]["total"] = _round(self.clock() - started)
        return self.result

    # -- node ------------------------------------------------------------

    def _read_node(self):
        node = self.client.get_node(self.node_name)
        if node is None:
            raise NodeOpsError('node "%s" not found: check the name with kubectl get nodes' % self.node_name)
        return node

    @staticmethod
    def _unschedulable(node):
        return bool((node.get("spec") or {}).get("unschedulable"))

    def _set_unschedulable(self, value):
        self._step = "cordoning the node" if value else "uncordoning the node"
        self.client.patch_node_unschedulable(self.node_name, value, dry_run=self.check_mode)

    def _cordon_state(self):
        before = self._unschedulable(self._read_node())
        self.result["cordoned_before"] = before
        started = self.clock()
        if not before:
            self._set_unschedulable(True)
            self.result["changed"] = True
            self._cordoned_by_us = not self.check_mode
        self.result["durations"]["cordon"] = _round(self.clock() - started)
        self.result["node_left_cordoned"] = before if self.check_mode else True

    def _uncordon_state(self):
        node = self._read_node()
        before = self._unschedulable(node)
        self.result["cordoned_before"] = before
        self.result["node_left_cordoned"] = before
        if self.options.ready_timeout > 0 and before:
            self._wait_ready(node)
        elif self.options.ready_timeout > 0 and not node_is_ready(node)[0]:
            # Nothing to uncordon, so nothing to wait for (see ready_timeout); the operator still hears of it.
            self.result["drain_warnings"].append(
                'node "%s" is already schedulable but not Ready (%s); it was left as it is. Check the kubelet and '
                "the container runtime on the node" % (self.node_name, node_is_ready(node)[1]))
        started = self.clock()
        if before:
            self._set_unschedulable(False)
            self.result["changed"] = True
            self.result["node_left_cordoned"] = True if self.check_mode else False
        self.result["durations"]["cordon"] = _round(self.clock() - started)

    def _wait_ready(self, node):
        """Wait for Ready=True reported by a live kubelet.

        A Ready condition can be stale for up to the node monitor grace period
        after the kubelet stopped, so where the node has a Lease in
        kube-node-lease (every kubelet since 1.14) the Lease must also be
        renewed during the wait: only a running kubelet does that.
        """
        self._step = "waiting for the node to be Ready"
        deadline = self.clock() + self.options.ready_timeout
        first_renew = _lease_renew_time(self.client.get_node_lease(self.node_name))
        while True:
            ready, detail = node_is_ready(node)
            if ready and first_renew is not None:
                renewed = _lease_renew_time(self.client.get_node_lease(self.node_name))
                if renewed == first_renew:
                    ready = False
                    detail += "; the kubelet has not renewed its Lease kube-node-lease/%s since the wait began " \
                              "(last renewal %s)" % (self.node_name, first_renew)
            if ready:
                self.result["ready_evidence"] = detail if first_renew is None else "%s, Lease renewed" % detail
                return
            if self.clock() >= deadline:
                raise NodeOpsError(
                    'node "%s" is not Ready after %s seconds (%s): it is not uncordoned; check the kubelet and '
                    "the container runtime on the node (systemctl status kubelet, journalctl -u kubelet)"
                    % (self.node_name, self.options.ready_timeout, detail))
            time.sleep(min(self.options.poll_interval, max(0.0, deadline - self.clock())))
            self._step = "waiting for the node to be Ready"
            node = self._read_node()

    # -- drain -----------------------------------------------------------

    def _expired(self, at=None):
        at = self._deadline if at is None else at
        return at is not None and self.clock() >= at

    def _check_deadline(self):
        if self._expired():
            raise _Expired()

    def _daemonset_exists(self, namespace, name):
        found = self.client.daemonset_exists(namespace, name)
        self._check_deadline()
        return found

    def _list_pods(self):
        pods = self.client.list_pods(self.node_name, str(self.options.selector), self.options.chunk_size)
        self._check_deadline()
        return pods

    def _plan(self):
        pods = self._list_pods()
        decisions = filters.decide_all(pods, self.options.filter_options(), self._daemonset_exists,
                                       now=self.now())
        self.result["skipped_pods"] = [dict(namespace=d.namespace, name=d.name, reason=d.reason)
                                       for d in decisions if d.action == filters.SKIP]
        self.result["refused"] = [dict(namespace=d.namespace, name=d.name, reason=d.reason, override=d.override)
                                  for d in decisions if d.action == filters.REFUSE]
        self.result["drain_warnings"] = filters.warning_messages(decisions)
        message = filters.refusal_message(decisions)
        if message:
            raise NodeOpsError('cannot drain node "%s": %s' % (self.node_name, message))
        return [d for d in decisions if d.action == filters.EVICT]

    def _drain_state(self, started):
        if self.options.timeout:
            # Every request of the drain gets no more than the time left (see REQUEST_TIMEOUT_FLOOR).
            self._deadline = deadline = started + self.options.timeout
            self.client.limit_requests(lambda: deadline - self.clock())
        try:
            before = self._unschedulable(self._read_node())
            self.result["cordoned_before"] = before
            self.result["node_left_cordoned"] = before
            self._check_deadline()
            # Check the filters before the cordon: a refused drain changes nothing.
            self._step = "listing the pods of the node"
            to_evict = self._plan()
        except _Expired:
            self._timed_out = True
            raise NodeOpsError('drain of node "%s" did not complete within %s seconds (timeout): the timeout '
                               "expired while %s" % (self.node_name, self.options.timeout, self._step))
        cordon_started = self.clock()
        if not before:
            self._set_unschedulable(True)
            # The cordon is the patch; the listing that follows is not part of it.
            self.result["durations"]["cordon"] = _round(self.clock() - cordon_started)
            if not self.check_mode:
                self._cordoned_by_us = True
                self.result["node_left_cordoned"] = True
                self.result["changed"] = True
                # Pods may have been scheduled between the first list and the cordon.
                self._step = "listing the pods again after the cordon"
                try:
                    self._check_deadline()
                    to_evict = self._plan()
                except _Expired:
                    pass  # the evictions report every pod of the first plan as not evicted in time
        if self.check_mode:
            # Like the real run: evicting a pod already being deleted changes nothing.
            self.result["changed"] = not before or any(
                not (d.pod.get("metadata") or {}).get("deletionTimestamp") for d in to_evict)
        if to_evict:
            if self.options.disable_eviction:
                self.result["drain_warnings"].append(
                    "disable_eviction: pods are deleted directly, PodDisruptionBudgets are not honoured")
            self._evict_and_wait(to_evict, self._deadline)

    # -- evictions -------------------------------------------------------

    def _request_removal(self, decision, delete):
        grace = self.options.grace_period_seconds
        if delete:
            self.client.delete_pod(decision.namespace, decision.name, grace, dry_run=self.check_mode)
        else:
            self.client.evict_pod(decision.namespace, decision.name, grace, dry_run=self.check_mode)

    def _attempt(self, outcome):
        """One eviction (or delete) request for a pod; runs in a worker thread, never sleeps.

        Returns ``accepted``, ``gone``, ``retry`` (refused for now) or ``failed``.
        A retry first re-reads the pod, like kubectl: gone or replaced (new UID) ends it.
        """
        decision = outcome.decision
        try:
            if outcome.attempts:
                try:
                    fresh = self.client.get_pod(decision.namespace, decision.name)
                except NodeOpsError:
                    fresh = decision.pod  # like kubectl: the next attempt tells
                if _is_gone(fresh, decision.uid):
                    return "gone"
                outcome.deleting = bool((fresh.get("metadata") or {}).get("deletionTimestamp"))
                if self._expired():
                    return "retry"  # no new request after the deadline
            outcome.attempts += 1
            delete = self.options.disable_eviction or self._no_eviction.is_set()
            try:
                self._request_removal(decision, delete)
                outcome.deleted_instead = delete and not self.options.disable_eviction
                return "accepted"
            except NodeOpsError as err:
                return self._answer(outcome, err, delete)
        except Exception as exc:  # pylint: disable=broad-except
            outcome.message = "unexpected error: %s" % exc
            return "failed"

    def _answer(self, outcome, err, deleting):
        """The verdict on an eviction (or delete) request the API server refused with ``err``."""
        decision = outcome.decision
        status = err.details.get("status")
        outcome.message = None
        outcome.retry_note = None
        outcome.refusal = None
        if status == 404:
            return self._not_found(outcome, err, deleting)
        if status == 429 and not deleting and is_budget_refusal(err):
            outcome.refusal = "budget"
            outcome.message = err.message
            return "retry"
        if status == 429:
            outcome.refusal = "throttled"
            outcome.retry_after = err.details.get("retry_after")
            outcome.message = throttling_message(outcome.retry_after)
            return "retry"
        if status == 403 and err.details.get("reason") == "NamespaceTerminating":
            # Eviction is refused in a terminating namespace; a pod already being deleted
            # only needs the wait, the others are retried until the namespace is gone.
            return "accepted" if outcome.deleting else "retry"
        if status == 500 and _is_multiple_pdb_error(err.message):
            outcome.message = ("the pod is selected by more than one PodDisruptionBudget%s, which the API "
                               "server refuses to evict (%s); make the budgets' selectors disjoint, or "
                               "use disable_eviction" % (self._budget_names(decision), err.message))
            return "failed"
        outcome.message = err.message
        return "failed"

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
            return "retry"
        if _is_gone(fresh, decision.uid):
            return "gone"
        outcome.deleting = bool((fresh.get("metadata") or {}).get("deletionTimestamp"))
        if not deleting and not self._expired() and self._eviction_missing(err):
            self._no_eviction.set()
            outcome.deleted_instead = True
            try:
                self._request_removal(decision, True)
                return "accepted"
            except NodeOpsError as delete_err:
                return self._answer(outcome, delete_err, True)
        outcome.retry_note = "%s, but the pod is still there" % err.message
        return "accepted" if outcome.deleting else "retry"

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

    def _budget_names(self, decision):
        """`` (ns/a, ns/b)``: the budgets selecting the pod (the API server's refusal does not name them)."""
        try:
            found = matching_pdbs(self.client.list_pdbs(decision.namespace), decision.pod)
        except NodeOpsError:
            return ""
        names = sorted("%s/%s" % (decision.namespace, (pdb.get("metadata") or {}).get("name")) for pdb in found)
        return " (%s)" % ", ".join(names) if names else ""

    def _evict_and_wait(self, decisions, deadline):
        """Evict every pod (bounded concurrency, 429 retried every eviction_retry_interval), then wait.

        A worker slot is only held for one API request: pods refused by a budget wait for their
        next attempt in a schedule, not in a thread, so every pod gets its first attempt at once.
        """
        workers = min(self.options.max_concurrent_evictions, len(decisions))
        evict_started = self.clock()
        # durations: evict runs until the last eviction request is answered (accepted, gone or finally
        # refused), wait from then until the evicted pods are gone.
        last_answer = evict_started
        ready = collections.deque(_Outcome(d, "pending", evict_started) for d in decisions)
        for outcome in ready:
            outcome.deleting = bool((outcome.decision.pod.get("metadata") or {}).get("deletionTimestamp"))
        retries = []  # heap of (due, sequence, outcome)
        sequence = itertools.count()
        in_flight = {}
        waiting = []
        outcomes = []
        next_poll = self.clock()
        next_budget_check = self.clock() + self.options.poll_interval
        pool = ThreadPoolExecutor(max_workers=workers)
        self._planned = len(decisions)

        def settle(outcome, kind, retry_allowed=True):
            now = self.clock()
            if kind == "retry" and self.check_mode and outcome.refusal == "budget":
                outcome.kind = "would_be_blocked"
                outcomes.append(outcome)
            elif kind == "retry" and retry_allowed:
                delay = self.options.eviction_retry_interval
                if outcome.refusal == "throttled" and outcome.retry_after:
                    delay = outcome.retry_after  # the API server's own advice
                heapq.heappush(retries, (now + delay, next(sequence), outcome))
            elif kind == "retry":
                outcome.kind = dict(budget="blocked", throttled="throttled").get(outcome.refusal, "timeout")
                outcomes.append(outcome)
            elif kind == "accepted" and not self.check_mode:
                outcome.kind = "accepted"
                outcome.accepted_at = now
                waiting.append(outcome)
            else:
                outcome.kind = kind
                if kind == "gone":
                    outcome.gone_at = now
                outcomes.append(outcome)

        try:
            while ready or retries or in_flight or waiting:
                self._step = "evicting the pods"
                now = self.clock()
                if deadline is not None and now >= deadline:
                    self._timed_out = True
                    self._stop.set()
                    if ready or retries or in_flight:
                        last_answer = now  # still evicting when the timeout expired
                    for future, outcome in list(in_flight.items()):
                        settle(outcome, future.result(), retry_allowed=False)
                    in_flight = {}
                    for outcome in list(ready) + [entry[2] for entry in retries]:
                        settle(outcome, "retry", retry_allowed=False)
                    ready.clear()
                    retries = []
                    if waiting:
                        waiting = self._poll_gone(waiting, outcomes, deadline + DEADLINE_GRACE)
                    for outcome in waiting:
                        outcome.kind = "terminating"
                        outcomes.append(outcome)
                    waiting = []
                    break
                while retries and retries[0][0] <= now:
                    ready.append(heapq.heappop(retries)[2])
                if retries and now >= next_budget_check:
                    retries = self._release_allowed(retries, ready)
                    next_budget_check = self.clock() + self.options.poll_interval
                while ready and len(in_flight) < workers:
                    outcome = ready.popleft()
                    in_flight[pool.submit(self._attempt, outcome)] = outcome
                wake = [deadline] if deadline is not None else []
                if retries:
                    wake.append(min(retries[0][0], next_budget_check))
                if waiting:
                    wake.append(next_poll)
                timeout = max(0.0, min(wake) - now) if wake else None
                if in_flight:
                    done, _pending = wait_futures(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
                    for future in done:
                        settle(in_flight.pop(future), future.result())
                        last_answer = self.clock()
                elif timeout:
                    self._stop.wait(timeout)
                if waiting and self.clock() >= next_poll:
                    waiting = self._poll_gone(waiting, outcomes, deadline)
                    next_poll = self.clock() + self.options.poll_interval
        except Exception:
            # Account for every pod before the error goes up: what is done stays done.
            for outcome in list(ready) + [entry[2] for entry in retries] + list(in_flight.values()):
                outcome.kind = "stopped"
                outcomes.append(outcome)
            for outcome in waiting:
                outcome.kind = "unconfirmed"
                outcomes.append(outcome)
            self._record(outcomes)
            raise
        finally:
            self._stop.set()
            pool.shutdown(wait=True)
        done_at = self.clock()
        self.result["durations"]["evict"] = _round(last_answer - evict_started)
        self.result["durations"]["wait"] = _round(done_at - last_answer)
        if self._record(outcomes):
            raise NodeOpsError(self._incomplete_message(len(outcomes)))

    def _release_allowed(self, retries, ready):
        """Move pods refused by a budget that now allows disruptions from the schedule to ``ready``.

        kubectl retries every pod blindly after its delay; reading the budgets instead lets a pod go
        as soon as its PodDisruptionBudget has room, and never sends more pods than that room.
        Pods without a readable budget keep their scheduled retry.
        """
        room = {}
        budgets = {}
        kept = []
        for entry in sorted(retries):
            outcome = entry[2]
            namespace = outcome.decision.namespace
            if outcome.refusal != "budget":
                kept.append(entry)
                continue
            if namespace not in budgets and self._expired():
                budgets[namespace] = None  # no new request after the deadline
            if namespace not in budgets:
                try:
                    budgets[namespace] = self.client.list_pdbs(namespace)
                except NodeOpsError:
                    budgets[namespace] = None
            if budgets[namespace] is None:
                kept.append(entry)
                continue
            matching = matching_pdbs(budgets[namespace], outcome.decision.pod)
            keys = [(namespace, (pdb.get("metadata") or {}).get("name")) for pdb in matching]
            for key, pdb in zip(keys, matching):
                room.setdefault(key, (pdb.get("status") or {}).get("disruptionsAllowed", 0))
            if len(matching) == 1 and room[keys[0]] > 0:
                room[keys[0]] -= 1
                ready.append(outcome)
            else:
                kept.append(entry)
        heapq.heapify(kept)
        return kept

    def _poll_gone(self, waiting, outcomes, stop_at):
        """GET each evicted pod; 404 or a new UID (a StatefulSet pod recreated under its name) means gone.

        Stops at ``stop_at`` (None: no limit); the pods not read then come first in the returned list,
        so the next poll starts with them.
        """
        still = []
        limit = self.options.skip_wait_for_delete_timeout
        self._step = "waiting for the evicted pods to be gone"
        for index, outcome in enumerate(waiting):
            if self._expired(stop_at):
                return waiting[index:] + still
            decision = outcome.decision
            try:
                fresh = self.client.get_pod(decision.namespace, decision.name)
                outcome.wait_errors = 0
            except NodeOpsError as err:
                outcome.wait_errors += 1
                if outcome.wait_errors >= MAX_WAIT_ERRORS:
                    outcome.kind = "failed"
                    outcome.message = "evicted, but checking whether it is gone failed: %s" % err.message
                    outcomes.append(outcome)
                else:
                    still.append(outcome)
                continue
            if fresh is None or (fresh.get("metadata") or {}).get("uid") != decision.uid:
                outcome.kind = "gone_after_eviction"
                outcome.gone_at = self.clock()
                outcomes.append(outcome)
                continue
            if limit > 0:
                age = filters.deleting_for(fresh, self.now())
                if age is not None and int(age) > limit:
                    outcome.kind = "not_waited"
                    outcome.gone_at = self.clock()
                    outcomes.append(outcome)
                    continue
            still.append(outcome)
        return still

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

    def _record(self, outcomes):
        """Turn the per-pod outcomes into the result lists, sorted for stable output; return the remaining."""
        key = "deleted" if self.options.disable_eviction else "evicted"
        outcomes = sorted(outcomes, key=lambda o: (o.decision.namespace or "", o.decision.name or ""))
        done = []
        deleted = []
        remaining = []
        blocked = []
        would_block = []
        deleted_instead = []
        for outcome in outcomes:
            decision = outcome.decision
            entry = dict(namespace=decision.namespace, name=decision.name, uid=decision.uid)
            if outcome.deleted_instead:
                deleted_instead.append("%s/%s" % (decision.namespace, decision.name))
            if outcome.kind in ("gone_after_eviction", "not_waited", "gone", "accepted"):
                end = outcome.gone_at or self.clock()
                entry["duration"] = _round(end - outcome.started) if outcome.kind != "accepted" else 0.0
                entry["already_gone"] = outcome.kind == "gone"
                (deleted if outcome.deleted_instead else done).append(entry)
                if outcome.kind == "not_waited":
                    self.result["drain_warnings"].append(
                        "stopped waiting for %s/%s: its deletion started more than %s seconds ago "
                        "(skip_wait_for_delete_timeout)" % (decision.namespace, decision.name,
                                                            self.options.skip_wait_for_delete_timeout))
                if outcome.kind != "gone" and not (decision.pod.get("metadata") or {}).get("deletionTimestamp"):
                    self.result["changed"] = True
                continue
            if outcome.kind == "would_be_blocked":
                would_block.append(outcome)
                continue
            if outcome.kind == "blocked":
                blocked.append(outcome)
                entry["reason"] = "eviction refused by a PodDisruptionBudget until the timeout"
            elif outcome.kind == "throttled":
                entry["reason"] = "%s until the timeout" % outcome.message
            elif outcome.kind == "terminating":
                entry["reason"] = "evicted, but still terminating when the timeout expired"
                self.result["changed"] = True
            elif outcome.kind == "unconfirmed":
                entry["reason"] = "evicted, but the drain stopped before it was gone"
                self.result["changed"] = True
            elif outcome.kind == "stopped":
                entry["reason"] = "not evicted: the drain stopped on an error"
            elif outcome.kind == "timeout":
                entry["reason"] = "not evicted before the timeout expired"
                if outcome.retry_note:
                    entry["reason"] += " (last answer: %s)" % outcome.retry_note
            else:
                entry["reason"] = outcome.message or "unexpected error"
            remaining.append(entry)
        self.result[key] = done
        if deleted:
            self.result["deleted"] = deleted
        if deleted_instead:
            self.result["drain_warnings"].append(
                "%s deleted instead of evicted: the API server offers no Eviction (policy/v1 pods/eviction), so "
                "PodDisruptionBudgets were not checked" % ", ".join(deleted_instead))
        self.result["remaining"] = remaining
        cache = {}
        self.result["blocked"] = self._pdb_report(blocked, cache)
        self.result["would_be_blocked"] = self._pdb_report(would_block, cache)
        return remaining

    def _incomplete_message(self, total):
        result = self.result
        if self.options.disable_eviction:
            parts = ["%d of %d pods deleted" % (len(result["deleted"]), total)]
        elif result["deleted"]:
            parts = ["%d of %d pods evicted or deleted (%d deleted: the API server offers no Eviction)" % (
                len(result["evicted"]) + len(result["deleted"]), total, len(result["deleted"]))]
        else:
            parts = ["%d of %d pods evicted" % (len(result["evicted"]), total)]
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
        within = " within %s seconds (timeout)" % self.options.timeout if self._timed_out else ""
        return 'drain of node "%s" did not complete%s: %s' % (self.node_name, within, "; ".join(parts))

    # -- failure ---------------------------------------------------------

    def _unexpected(self, exc):
        """The NodeOpsError for an exception that is not one: the state, the step, the type and the message."""
        message = '%s of node "%s" failed while %s: unexpected %s: %s' % (
            self.result["state"], self.node_name, self._step, type(exc).__name__, exc)
        if self._planned is not None:
            result = self.result
            if self.options.disable_eviction:
                message += "; %d of %d pods deleted so far" % (len(result["deleted"]), self._planned)
            else:
                message += "; %d of %d pods evicted so far" % (len(result["evicted"]) + len(result["deleted"]),
                                                              self._planned)
        return NodeOpsError(message)

    def _failure(self, err):
        """The final error: the cause, the state the node is left in, and the complete result."""
        result = self.result
        result["changed"] = bool(result["changed"]) and not self.check_mode
        if self.check_mode:
            tail = "Check mode: nothing was changed."
        elif self._cordoned_by_us and self.options.uncordon_on_failure:
            try:
                self.client.patch_node_unschedulable(self.node_name, False, dry_run=False)
                result["node_left_cordoned"] = False
                tail = "The node was uncordoned again (uncordon_on_failure)."
            except Exception as undo:  # pylint: disable=broad-except
                result["node_left_cordoned"] = True
                cause = undo.message if isinstance(undo, NodeOpsError) else "unexpected %s: %s" % (
                    type(undo).__name__, undo)
                tail = "Uncordoning it again (uncordon_on_failure) failed: %s; the node is left cordoned." % cause
        elif self._cordoned_by_us:
            tail = ("The node is left cordoned: resolve the cause and run the drain again, or make it schedulable "
                    "with state=uncordon.")
        elif result["cordoned_before"]:
            tail = "The node was already cordoned before and is left cordoned."
        elif result["state"] == "drain":
            tail = "Nothing was evicted and the node was not cordoned."
        else:
            tail = None
        if tail and result["state"] == "drain":
            message = "%s. %s" % (err.message.rstrip("."), tail)
        else:
            message = err.message
        details = dict(err.details)
        details.update(result)
        return NodeOpsError(message, **details)


# --------------------------------------------------------------------------
# The Kubernetes API adapter
# --------------------------------------------------------------------------

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
REQUEST_TIMEOUT = (10, 60)
# Within a drain, a request gets no more than the time left until the drain's deadline, but at least this.
REQUEST_TIMEOUT_FLOOR = 2
# A read (GET) that cannot reach the API server is tried again for this long: the API server of a
# control-plane node is briefly away while its kubelet restarts (a cgroup driver migration, a
# certificate renewal). Writes are not repeated here.
READ_RETRY_SECONDS = 90
READ_RETRY_INTERVAL = 3


def _decode(response):
    data = getattr(response, "data", None)
    if data is None and hasattr(response, "read"):
        data = response.read()
    if not data:
        return {}
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data)


def _status_of(exc):
    """The Status object in the body of an ``ApiException``, or None when the body is not a Status."""
    try:
        status = json.loads(getattr(exc, "body", None) or "")
    except (TypeError, ValueError):
        return None
    return status if isinstance(status, dict) and status.get("kind") == "Status" else None


def error_facts(exc):
    """What the drain needs to know of a failed request beyond status and reason.

    ``not_found_kind``: for a 404 whose body is a Status, the kind of object it names (``pods``),
    or "" when it names none (the answer for a resource the API server does not serve).
    ``retry_after`` (seconds) and ``causes`` (``reason: message`` of each Status cause): for a 429.
    """
    facts = {}
    code = getattr(exc, "status", None)
    status = _status_of(exc)
    details = (status or {}).get("details") or {}
    if code == 404 and status is not None:
        facts["not_found_kind"] = details.get("kind") or ""
    if code == 429:
        facts["retry_after"] = _retry_after(getattr(exc, "headers", None), details)
        facts["causes"] = ["%s: %s" % (cause.get("reason") or cause.get("type") or "", cause.get("message") or "")
                           for cause in details.get("causes") or []]
    return facts


def _retry_after(headers, details):
    """Seconds from the Retry-After header (or the Status' retryAfterSeconds), or None."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0, int(str(value).strip()))
            except ValueError:
                break  # an HTTP date: not sent by kube-apiserver
    seconds = details.get("retryAfterSeconds")
    return seconds if isinstance(seconds, int) and seconds > 0 else None


class KubernetesDrainClient(object):
    """The API calls of a drain, with plain dictionaries for objects.

    Errors become :class:`NodeOpsError` with ``status`` (and ``reason``) in
    ``details``: 404 and 429 are reported as such so that the drain logic can
    react; everything else goes through ``raise_for_api_error``.
    """

    def __init__(self, api_client, params=None):
        from kubernetes import client as k8s_client  # pylint: disable=import-outside-toplevel

        self._models = k8s_client
        self._core = k8s_client.CoreV1Api(api_client)
        self._apps = k8s_client.AppsV1Api(api_client)
        self._policy = k8s_client.PolicyV1Api(api_client)
        self._coordination = k8s_client.CoordinationV1Api(api_client)
        self._params = params or {}
        self._time_left = None

    def limit_requests(self, time_left):
        """Bound each request by ``time_left()`` seconds (at least REQUEST_TIMEOUT_FLOOR); None lifts the bound.

        A drain sets this for its duration, so that a request in flight cannot carry it past its timeout.
        """
        self._time_left = time_left

    def _left(self):
        return self._time_left() if self._time_left else None

    def _request_timeout(self, left):
        if left is None or left >= REQUEST_TIMEOUT[1]:
            return REQUEST_TIMEOUT
        return max(REQUEST_TIMEOUT_FLOOR, left)

    def _call(self, action, method, *args, **kwargs):
        from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s  # pylint: disable=import-outside-toplevel

        kwargs.setdefault("_preload_content", False)
        is_read = getattr(method, "__name__", "").startswith(("read_", "list_"))
        deadline = time.monotonic() + READ_RETRY_SECONDS
        while True:
            kwargs["_request_timeout"] = self._request_timeout(self._left())
            try:
                return _decode(method(*args, **kwargs))
            except Exception as exc:  # pylint: disable=broad-except
                api_error = isinstance(exc, _k8s.ApiException)
                unreachable = not api_error and isinstance(exc, (_k8s.Urllib3HTTPError, OSError))
                pause = READ_RETRY_INTERVAL
                left = self._left()
                if left is not None:
                    pause = min(pause, left)
                if not (is_read and unreachable and time.monotonic() < deadline and pause > 0):
                    self._raise(action, exc)
            time.sleep(pause)

    def _raise(self, action, exc):
        """Raise the NodeOpsError of a failed call (404, 409, 410, 429 and 500 keep their status)."""
        from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s  # pylint: disable=import-outside-toplevel

        if isinstance(exc, _k8s.ApiException):
            status = getattr(exc, "status", None)
            message = _k8s.api_error_message(exc)
            reason = _k8s.api_error_reason(exc)
            if status in (404, 409, 410, 429, 500):
                raise NodeOpsError("%s: %s" % (action, message), status=status, reason=reason, **error_facts(exc))
            if status == 403 and "NamespaceTerminating" in (getattr(exc, "body", None) or ""):
                raise NodeOpsError("%s: %s" % (action, message), status=status, reason="NamespaceTerminating")
        elif isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
            raise NodeOpsError("%s: the answer of the API server is not JSON (%s: %s)" % (
                action, type(exc).__name__, exc))
        _k8s.raise_for_api_error(exc, action, self._params)

    def _get_or_none(self, action, method, *args):
        try:
            return self._call(action, method, *args)
        except NodeOpsError as err:
            if err.details.get("status") == 404:
                return None
            raise

    def get_node(self, name):
        return self._get_or_none('read node "%s"' % name, self._core.read_node, name)

    def get_node_lease(self, name):
        return self._get_or_none('read lease "kube-node-lease/%s"' % name, self._coordination.read_namespaced_lease,
                                 name, "kube-node-lease")

    def patch_node_unschedulable(self, name, unschedulable, dry_run=False):
        # Like kubectl: a strategic merge patch; uncordon removes the field (false is its default).
        body = {"spec": {"unschedulable": True if unschedulable else None}}
        kwargs = dict(_content_type=STRATEGIC_MERGE_PATCH)
        if dry_run:
            kwargs["dry_run"] = "All"
        action = '%s node "%s"' % ("cordon" if unschedulable else "uncordon", name)
        return self._call(action, self._core.patch_node, name, body, **kwargs)

    def list_pods(self, node_name, label_selector=None, limit=DEFAULT_CHUNK_SIZE):
        return self._list('list the pods of node "%s"' % node_name, self._core.list_pod_for_all_namespaces,
                          field_selector="spec.nodeName=%s" % node_name, label_selector=label_selector or None,
                          limit=limit)

    def list_all_pods(self, field_selector=None, limit=DEFAULT_CHUNK_SIZE):
        return self._list("list the pods of the cluster", self._core.list_pod_for_all_namespaces,
                          field_selector=field_selector, limit=limit)

    def list_nodes(self, limit=DEFAULT_CHUNK_SIZE):
        return self._list("list the nodes", self._core.list_node, limit=limit)

    def _list(self, action, method, *args, **kwargs):
        items = []
        kwargs = dict((k, v) for k, v in kwargs.items() if v not in (None, ""))
        if not kwargs.get("limit"):
            kwargs.pop("limit", None)
        token = None
        while True:
            if token:
                kwargs["_continue"] = token
            page = self._call(action, method, *args, **kwargs)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def get_pod(self, namespace, name):
        return self._get_or_none('read pod "%s/%s"' % (namespace, name), self._core.read_namespaced_pod,
                                 name, namespace)

    def _delete_options(self, grace_period, dry_run):
        options = self._models.V1DeleteOptions()
        if grace_period is not None:
            options.grace_period_seconds = grace_period
        if dry_run:
            options.dry_run = ["All"]
        return options

    def evict_pod(self, namespace, name, grace_period=None, dry_run=False):
        body = self._models.V1Eviction(
            api_version="policy/v1", kind="Eviction",
            metadata=self._models.V1ObjectMeta(name=name, namespace=namespace),
            delete_options=self._delete_options(grace_period, dry_run))
        kwargs = dict(dry_run="All") if dry_run else {}
        self._call('evict pod "%s/%s"' % (namespace, name), self._core.create_namespaced_pod_eviction,
                   name, namespace, body, **kwargs)

    def eviction_supported(self):
        """Whether the API server serves the policy/v1 Eviction subresource of pods, from the discovery of
        the core API (as kubectl checks before it evicts)."""
        resources = self._call("read the resources of the core API (GET /api/v1)", self._core.get_api_resources)
        for resource in resources.get("resources") or []:
            if resource.get("name") == "pods/eviction" and resource.get("kind") == "Eviction":
                return (resource.get("group"), resource.get("version")) == ("policy", "v1")
        return False

    def delete_pod(self, namespace, name, grace_period=None, dry_run=False):
        kwargs = dict(body=self._delete_options(grace_period, dry_run))
        if dry_run:
            kwargs["dry_run"] = "All"
        self._call('delete pod "%s/%s"' % (namespace, name), self._core.delete_namespaced_pod,
                   name, namespace, **kwargs)

    def daemonset_exists(self, namespace, name):
        return self._get_or_none('read DaemonSet "%s/%s"' % (namespace, name),
                                 self._apps.read_namespaced_daemon_set, name, namespace) is not None

    def list_pdbs(self, namespace):
        return self._list('list the PodDisruptionBudgets of namespace "%s"' % namespace,
                          self._policy.list_namespaced_pod_disruption_budget, namespace)


def make_client(params, concurrency=DEFAULT_MAX_CONCURRENT_EVICTIONS):
    """A :class:`KubernetesDrainClient` for the module's connection options.

    The HTTP connection pool is sized for ``concurrency`` parallel requests.
    """
    from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s  # pylint: disable=import-outside-toplevel

    configuration = _k8s.build_configuration(params)
    configuration.connection_pool_maxsize = max(getattr(configuration, "connection_pool_maxsize", 0) or 0,
                                                concurrency + 4)
    return KubernetesDrainClient(_k8s.new_api_client(configuration, params), params)

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cordon, drain and uncordon a node: the procedure, put together from its parts.

The parts follow kubectl's ``pkg/drain``, one job each:

- ``_drain_options``: the options and the deadline;
- ``_drain_plan`` (with the pure filters of ``_drain_filters``): which pods to evict, skip or refuse;
- ``_drain_cordon``: reading the node, cordon and uncordon, the wait for a Ready node;
- ``_drain_evict``: one eviction (or delete) request and the verdict on the answer;
- ``_drain_scheduler``: concurrency, retries, budget checks and the deadline of the evictions;
- ``_drain_wait``: the wait for evicted pods to be gone;
- ``_drain_budgets``: PodDisruptionBudgets;
- ``_drain_result`` and ``_drain_failure``: the result, the closed set of pod outcomes, the failure account;
- ``_drain_client``: the Kubernetes API adapter.

:class:`NodeDrainer` works against any object with the methods of
:class:`KubernetesDrainClient` (plain dictionaries in, plain dictionaries out),
so the whole procedure is tested with an in-memory fake. Every failure is a
:class:`NodeOpsError` whose ``details`` carry the complete result: what was
evicted, what remains and why, and whether the node is left cordoned.

The names of ``__all__`` that are defined in the parts stay importable from
this module, as before the split. Their constants are read where they are
defined: patch them there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_budgets import (
    describe_pdb,
    is_budget_refusal,
    matching_pdbs,
    pdb_summary,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_client import (
    READ_RETRY_INTERVAL,
    READ_RETRY_SECONDS,
    REQUEST_TIMEOUT,
    REQUEST_TIMEOUT_FLOOR,
    STRATEGIC_MERGE_PATCH,
    KubernetesDrainClient,
    error_facts,
    make_client,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_cordon import (
    Cordoner,
    is_unschedulable,
    node_is_ready,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_evict import Evictor, throttling_message
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_failure import FailureAccount, unexpected_error
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import (
    DEADLINE_GRACE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_EVICTION_RETRY_INTERVAL,
    DEFAULT_MAX_CONCURRENT_EVICTIONS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    STATES,
    Deadline,
    DrainOptions,
    round_seconds,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_plan import DrainPlanner
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_result import DrainReport, new_result
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_scheduler import EvictionScheduler
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_wait import MAX_WAIT_ERRORS, PodWaiter

__all__ = [
    "DEADLINE_GRACE", "DEFAULT_CHUNK_SIZE", "DEFAULT_EVICTION_RETRY_INTERVAL", "DEFAULT_MAX_CONCURRENT_EVICTIONS",
    "DEFAULT_POLL_INTERVAL", "DEFAULT_TIMEOUT", "MAX_WAIT_ERRORS", "READ_RETRY_INTERVAL", "READ_RETRY_SECONDS",
    "REQUEST_TIMEOUT", "REQUEST_TIMEOUT_FLOOR", "STATES", "STRATEGIC_MERGE_PATCH",
    "DrainOptions", "KubernetesDrainClient", "NodeDrainer",
    "describe_pdb", "error_facts", "is_budget_refusal", "make_client", "matching_pdbs", "new_result",
    "node_is_ready", "pdb_summary", "throttling_message",
]


class _Expired(Exception):
    """The drain's deadline passed during a request (raised after the request, before the next one)."""


class NodeDrainer(object):
    """Cordon, drain or uncordon one node through ``client``.

    ``client`` has the methods of :class:`KubernetesDrainClient`. ``clock`` is
    a monotonic clock and ``now`` returns the current aware UTC datetime; both
    are replaceable in tests. A drainer can be run again: nothing of a previous
    run carries over.
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
        self.report = None
        self.deadline = Deadline(clock)
        self._cordoned_by_us = False
        self._timed_out = False
        self._planned = None  # number of pods to evict, once the evictions have started
        self._step = None  # what the run is doing, for the account of an unexpected error

    def run(self, state):
        """Bring the node to ``state`` and return the result; raise NodeOpsError with the result on failure."""
        if state not in STATES:
            raise NodeOpsError("invalid state %r: use one of %s" % (state, ", ".join(STATES)), option="state")
        self.result = new_result(self.node_name, state)
        self.report = DrainReport(self.result, self.client, self.options, self.clock)
        self.deadline = Deadline(self.clock)
        self._cordoned_by_us = False
        self._timed_out = False
        self._planned = None
        self._step = "reading the node"
        cordoner = Cordoner(self.client, self.node_name, self.check_mode, self.clock, self._set_step)
        started = self.clock()
        try:
            if state == "cordon":
                self._cordoned_by_us = cordoner.cordon(self.result)
            elif state == "uncordon":
                cordoner.uncordon(self.result, self.options.ready_timeout, self.options.poll_interval)
            else:
                self._drain(cordoner, started)
        except NodeOpsError as err:
            raise self._failure(err)
        except Exception as exc:  # pylint: disable=broad-except
            # A bad answer of the API server, a urllib3 error or a bug: the same account, no traceback.
            raise self._failure(unexpected_error(exc, self.result, self.node_name, self._step, self._progress()))
        finally:
            if self.deadline.limited:
                self.client.limit_requests(None)
            self.result["durations"]["total"] = round_seconds(self.clock() - started)
        return self.result

    def _set_step(self, step):
        self._step = step

    def _progress(self):
        """``(done, planned, verb)`` once the evictions have started, else None."""
        if self._planned is None:
            return None
        done, verb = self.report.done_count()
        return done, self._planned, verb

    def _check_deadline(self):
        if self.deadline.expired():
            raise _Expired()

    def _drain(self, cordoner, started):
        """Plan (nothing changes if a pod is refused), cordon, plan again, evict and wait."""
        if self.options.timeout:
            # Every request of the drain gets no more than the time left (see REQUEST_TIMEOUT_FLOOR).
            self.deadline = Deadline(self.clock, self.options.timeout, started)
            self.client.limit_requests(self.deadline.time_left)
        planner = DrainPlanner(self.client, self.node_name, self.options, self.now, self._check_deadline)
        try:
            before = is_unschedulable(cordoner.read())
            self.result["cordoned_before"] = before
            self.result["node_left_cordoned"] = before
            self._check_deadline()
            self._set_step("listing the pods of the node")
            to_evict = planner.plan(self.result)
        except _Expired:
            self._timed_out = True
            raise NodeOpsError('drain of node "%s" did not complete within %s seconds (timeout): the timeout '
                               "expired while %s" % (self.node_name, self.options.timeout, self._step))
        if not before:
            planned_warnings = list(self.result["drain_warnings"])
            cordon_started = self.clock()
            cordoner.patch(True, self.result)
            # The cordon is the patch; the listing that follows is not part of it.
            self.result["durations"]["cordon"] = round_seconds(self.clock() - cordon_started)
            if not self.check_mode:
                self._cordoned_by_us = True
                self.result["node_left_cordoned"] = True
                self.result["changed"] = True
                # Pods may have been scheduled between the first list and the cordon.
                self._set_step("listing the pods again after the cordon")
                cordon_warnings = list(self.result["drain_warnings"][len(planned_warnings):])
                try:
                    self._check_deadline()
                    to_evict = planner.plan(self.result)
                except _Expired:
                    pass  # the evictions report every pod of the first plan as not evicted in time
                # The plan's warnings are those of the second listing; the cordon's own stay.
                self.result["drain_warnings"].extend(w for w in cordon_warnings
                                                     if w not in self.result["drain_warnings"])
        if self.check_mode:
            # Like the real run: evicting a pod already being deleted changes nothing.
            self.result["changed"] = not before or any(
                not (d.pod.get("metadata") or {}).get("deletionTimestamp") for d in to_evict)
        if to_evict:
            if self.options.disable_eviction:
                self.result["drain_warnings"].append(
                    "disable_eviction: pods are deleted directly, PodDisruptionBudgets are not honoured")
            self._evict(to_evict)

    def _evict(self, decisions):
        evictor = Evictor(self.client, self.options, self.check_mode, self.deadline.expired)
        waiter = PodWaiter(self.client, self.options, self.clock, self.now)
        scheduler = EvictionScheduler(evictor, waiter, self.client, self.options, self.check_mode, self.clock,
                                      self.deadline, self._set_step)
        self._planned = len(decisions)
        try:
            outcomes = scheduler.run(decisions)
        except Exception:
            self.report.record(scheduler.outcomes)
            raise
        self._timed_out = scheduler.timed_out
        self.result["durations"].update(scheduler.durations)
        if self.report.record(outcomes):
            raise NodeOpsError(self.report.incomplete_message(self.node_name, len(outcomes), self._timed_out))

    def _failure(self, err):
        """The final error: the cause, the state the node is left in, and the complete result."""
        def uncordon():
            self.client.patch_node_unschedulable(self.node_name, False, dry_run=False)

        account = FailureAccount(self.result, self.check_mode, self.options.uncordon_on_failure, uncordon)
        return account.error(err, self._cordoned_by_us)

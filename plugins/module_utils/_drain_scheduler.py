# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The schedule of the evictions of a drain: concurrency, retries, budget checks, the wait and the deadline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import heapq
import itertools
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_budgets import release_allowed
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_evict import Verdict
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import DEADLINE_GRACE, round_seconds
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_result import Kind, Outcome, Refusal

# What a pod still refused when the timeout expires is reported as.
_AT_TIMEOUT = {Refusal.BUDGET: Kind.BLOCKED, Refusal.THROTTLED: Kind.THROTTLED}
_SETTLED = {Verdict.ACCEPTED: Kind.ACCEPTED, Verdict.GONE: Kind.GONE, Verdict.FAILED: Kind.FAILED}


class EvictionScheduler(object):
    """Evicts the pods of a drain and waits for them to be gone, until the deadline.

    At most ``max_concurrent_evictions`` requests are in flight, and a worker only holds one request:
    a pod refused for now waits for its next attempt in a schedule (``eviction_retry_interval``, or
    the server's Retry-After when it throttles), not in a thread, so every pod gets its first
    attempt at once. A pod refused by a budget is released early when the budget has room again.
    ``on_step(text)`` is told what the drain is doing.
    """

    def __init__(self, evictor, waiter, client, options, check_mode, clock, deadline, on_step):
        self.evictor = evictor
        self.waiter = waiter
        self.client = client
        self.options = options
        self.check_mode = check_mode
        self.clock = clock
        self.deadline = deadline
        self.on_step = on_step
        self.outcomes = []
        self.timed_out = False
        self.durations = dict(evict=0.0, wait=0.0)
        self._last_answer = None
        self._ready = collections.deque()
        self._retries = []  # heap of (due, sequence, outcome)
        self._sequence = itertools.count()
        self._in_flight = {}  # future -> outcome
        self._waiting = []  # accepted, not gone yet
        self._stop = threading.Event()
        self._workers = 1
        self._next_poll = None
        self._next_budget_check = None

    def run(self, decisions):
        """Evict the pods of ``decisions``; return the final :class:`Outcome` of each.

        ``durations``: evict runs until the last request is answered (accepted, gone or finally
        refused), wait from then until the evicted pods are gone. On an error, every pod is in
        ``outcomes`` (what is done stays done) before the error goes up.
        """
        started = self.clock()
        self._last_answer = started
        self._ready = collections.deque(Outcome(d, started) for d in decisions)
        self._retries = []
        self._sequence = itertools.count()
        self._in_flight = {}
        self._waiting = []
        self._stop = threading.Event()
        self._workers = min(self.options.max_concurrent_evictions, len(decisions))
        self._next_poll = self.clock()
        self._next_budget_check = self.clock() + self.options.poll_interval
        self.outcomes = []
        pool = ThreadPoolExecutor(max_workers=self._workers)
        try:
            while self._ready or self._retries or self._in_flight or self._waiting:
                self.on_step("evicting the pods")
                now = self.clock()
                if self.deadline.at is not None and now >= self.deadline.at:
                    self._expire(now)
                    break
                self._turn(pool, now)
        except Exception:
            self._stop_all()
            raise
        finally:
            self._stop.set()
            pool.shutdown(wait=True)
        self.durations = dict(evict=round_seconds(self._last_answer - started),
                              wait=round_seconds(self.clock() - self._last_answer))
        return self.outcomes

    def _turn(self, pool, now):
        """Release due retries, send what the workers allow, then wait for an answer or the next due time."""
        while self._retries and self._retries[0][0] <= now:
            self._ready.append(heapq.heappop(self._retries)[2])
        if self._retries and now >= self._next_budget_check:
            self._release()
            self._next_budget_check = self.clock() + self.options.poll_interval
        while self._ready and len(self._in_flight) < self._workers:
            outcome = self._ready.popleft()
            self._in_flight[pool.submit(self.evictor.attempt, outcome)] = outcome
        timeout = self._time_to_next(now)
        if self._in_flight:
            done, _pending = wait_futures(list(self._in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                self._settle(self._in_flight.pop(future), future.result())
                self._last_answer = self.clock()
        elif timeout:
            self._stop.wait(timeout)
        if self._waiting and self.clock() >= self._next_poll:
            self._poll(self.deadline.at)
            self._next_poll = self.clock() + self.options.poll_interval

    def _time_to_next(self, now):
        wake = [self.deadline.at] if self.deadline.at is not None else []
        if self._retries:
            wake.append(min(self._retries[0][0], self._next_budget_check))
        if self._waiting:
            wake.append(self._next_poll)
        return max(0.0, min(wake) - now) if wake else None

    def _release(self):
        """Send pods refused by a budget that has room again now instead of at their scheduled time."""
        refused = [entry for entry in self._retries if entry[2].refusal == Refusal.BUDGET]
        others = [entry for entry in self._retries if entry[2].refusal != Refusal.BUDGET]
        released, kept = release_allowed(refused, self.client.list_pdbs, self.deadline.expired)
        self._ready.extend(released)
        self._retries = others + kept
        heapq.heapify(self._retries)

    def _settle(self, outcome, verdict, retry_allowed=True):
        now = self.clock()
        if verdict == Verdict.RETRY and self.check_mode and outcome.refusal == Refusal.BUDGET:
            outcome.kind = Kind.WOULD_BE_BLOCKED
            self.outcomes.append(outcome)
        elif verdict == Verdict.RETRY and retry_allowed:
            delay = self.options.eviction_retry_interval
            if outcome.refusal == Refusal.THROTTLED and outcome.retry_after:
                delay = outcome.retry_after  # the API server's own advice
            heapq.heappush(self._retries, (now + delay, next(self._sequence), outcome))
        elif verdict == Verdict.RETRY:
            outcome.kind = _AT_TIMEOUT.get(outcome.refusal, Kind.TIMEOUT)
            self.outcomes.append(outcome)
        elif verdict == Verdict.ACCEPTED and not self.check_mode:
            outcome.kind = Kind.ACCEPTED
            outcome.accepted_at = now
            self._waiting.append(outcome)
        else:
            outcome.kind = _SETTLED[verdict]
            if verdict == Verdict.GONE:
                outcome.gone_at = now
            self.outcomes.append(outcome)

    def _poll(self, stop_at):
        self.on_step("waiting for the evicted pods to be gone")
        self._waiting = self.waiter.poll(self._waiting, self.outcomes, stop_at)

    def _expire(self, now):
        """The timeout: collect the answers in flight, give up the rest, one last look at the evicted pods."""
        self.timed_out = True
        self._stop.set()
        if self._ready or self._retries or self._in_flight:
            self._last_answer = now  # still evicting when the timeout expired
        for future, outcome in list(self._in_flight.items()):
            self._settle(outcome, future.result(), retry_allowed=False)
        self._in_flight = {}
        for outcome in list(self._ready) + [entry[2] for entry in self._retries]:
            self._settle(outcome, Verdict.RETRY, retry_allowed=False)
        self._ready.clear()
        self._retries = []
        if self._waiting:
            self._poll(self.deadline.at + DEADLINE_GRACE)
        for outcome in self._waiting:
            outcome.kind = Kind.TERMINATING
            self.outcomes.append(outcome)
        self._waiting = []

    def _stop_all(self):
        """An error stops the drain: every pod not done with is accounted for."""
        pending = list(self._ready) + [entry[2] for entry in self._retries] + list(self._in_flight.values())
        for outcome in pending:
            outcome.kind = Kind.STOPPED
            self.outcomes.append(outcome)
        for outcome in self._waiting:
            outcome.kind = Kind.UNCONFIRMED
            self.outcomes.append(outcome)
        self._ready.clear()
        self._retries, self._in_flight, self._waiting = [], {}, []

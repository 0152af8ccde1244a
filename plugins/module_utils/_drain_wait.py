# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wait for evicted pods to be gone (kubectl's waitForDelete)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_result import Kind

# Consecutive failed GETs of one evicted pod before the wait for it gives up.
MAX_WAIT_ERRORS = 5


def is_gone(pod, uid):
    """A read of a pod: None (404) or another UID (recreated under the same name) means the pod is gone."""
    return pod is None or (pod.get("metadata") or {}).get("uid") != uid


class PodWaiter(object):
    """Reads evicted pods until they are gone, identified by UID, so a StatefulSet pod recreated under
    the same name counts as gone. ``now`` returns the current aware UTC datetime (for
    skip_wait_for_delete_timeout), ``clock`` is the drain's monotonic clock."""

    def __init__(self, client, options, clock, now):
        self.client = client
        self.options = options
        self.clock = clock
        self.now = now

    def poll(self, waiting, finished, stop_at=None):
        """Read each pod of ``waiting`` once; append those that are done with to ``finished``.

        Returns the pods still to wait for. No read starts at or after ``stop_at`` (a time on the
        clock, None: no limit); the pods not read then come first, so the next poll starts with them.
        """
        still = []
        for index, outcome in enumerate(waiting):
            if stop_at is not None and self.clock() >= stop_at:
                return waiting[index:] + still
            if self._finished(outcome):
                finished.append(outcome)
            else:
                still.append(outcome)
        return still

    def _finished(self, outcome):
        decision = outcome.decision
        try:
            fresh = self.client.get_pod(decision.namespace, decision.name)
            outcome.wait_errors = 0
        except NodeOpsError as err:
            outcome.wait_errors += 1
            if outcome.wait_errors < MAX_WAIT_ERRORS:
                return False
            outcome.kind = Kind.FAILED
            outcome.message = "evicted, but checking whether it is gone failed: %s" % err.message
            return True
        if is_gone(fresh, decision.uid):
            outcome.kind = Kind.GONE_AFTER_EVICTION
            outcome.gone_at = self.clock()
            return True
        limit = self.options.skip_wait_for_delete_timeout
        if limit > 0:
            age = filters.deleting_for(fresh, self.now())
            if age is not None and int(age) > limit:
                outcome.kind = Kind.NOT_WAITED
                outcome.gone_at = self.clock()
                return True
        return False

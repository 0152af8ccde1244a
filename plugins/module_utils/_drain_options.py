# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a drain, validated before anything changes, and the drain's deadline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters

STATES = ("cordon", "drain", "uncordon")

DEFAULT_TIMEOUT = 600
DEFAULT_EVICTION_RETRY_INTERVAL = 5.0
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_MAX_CONCURRENT_EVICTIONS = 50
DEFAULT_CHUNK_SIZE = 500

# The last look at the evicted pods, after the timeout, ends this many seconds after it.
DEADLINE_GRACE = 1.0


def round_seconds(seconds):
    """A duration for the result: never negative, in milliseconds."""
    return round(max(0.0, seconds), 3)


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


class Deadline(object):
    """When a drain must end, on the drain's monotonic ``clock``; ``at`` is None when there is no timeout."""

    def __init__(self, clock, seconds=0, started=None):
        self.clock = clock
        self.seconds = seconds
        self.at = (clock() if started is None else started) + seconds if seconds else None

    @property
    def limited(self):
        return self.at is not None

    def expired(self, grace=0.0):
        """Whether the deadline (plus ``grace`` seconds) has passed; never without a timeout."""
        return self.at is not None and self.clock() >= self.at + grace

    def time_left(self):
        """Seconds until the deadline, negative once it has passed (only with a timeout)."""
        return self.at - self.clock()

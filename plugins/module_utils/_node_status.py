# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Node's readiness, heartbeat and cordon, read once or waited for (the ``node_status`` module).

:func:`summarize` turns a Node object (a plain dict) into what the rolling operations decide on.
:class:`NodeStatusWait` reads the Node until it is Ready with a heartbeat other than a stale one
(the restarted kubelet posted its status) and, if asked, with a container runtime of a given kind,
all in one module run instead of one module run per poll.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import re
import time

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def _dict(value):
    return value if isinstance(value, dict) else {}


def summarize(node):
    """Ready condition, its last heartbeat, the cordon and the runtime of a Node object (a dict, or None)."""
    node = _dict(node)
    if not node:
        return {"exists": False, "ready": False, "ready_status": None, "heartbeat": None,
                "reason": "the Node object does not exist", "unschedulable": None,
                "runtime_version": None, "kubelet_version": None}
    status = _dict(node.get("status"))
    info = _dict(status.get("nodeInfo"))
    summary = {"exists": True, "ready": False, "ready_status": None, "heartbeat": None,
               "reason": "no Ready condition reported",
               "unschedulable": bool(_dict(node.get("spec")).get("unschedulable")),
               "runtime_version": info.get("containerRuntimeVersion"),
               "kubelet_version": info.get("kubeletVersion")}
    for condition in status.get("conditions") or []:
        if _dict(condition).get("type") == "Ready":
            summary["ready_status"] = condition.get("status")
            summary["ready"] = condition.get("status") == "True"
            summary["heartbeat"] = condition.get("lastHeartbeatTime")
            summary["reason"] = "%s: %s" % (condition.get("reason"), condition.get("message"))
    return summary


_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|([+-])(\d\d):?(\d\d))$")


def epoch_second(text):
    """The whole second (UTC, seconds since the epoch) of an RFC 3339 time such as ``2026-12-02T21:10:01Z`` or
    ``2026-12-02T21:10:00.734512+00:00``; None when ``text`` is not one."""
    match = _TIME.match(str(text or "").strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        seconds = calendar.timegm(datetime.datetime(year, month, day, hour, minute, second).timetuple())
    except (ValueError, OverflowError):
        return None
    if match.group(7):
        offset = int(match.group(8)) * 3600 + int(match.group(9)) * 60
        seconds -= offset if match.group(7) == "+" else -offset
    return seconds


def heartbeat_is_after(heartbeat, after):
    """Whether a ``lastHeartbeatTime`` (whole seconds, as the API server keeps it) was posted after the time
    ``after`` (any precision): its second is later than the second ``after`` falls in. A heartbeat of that same
    second may have been posted before ``after``, so it does not count."""
    posted, limit = epoch_second(heartbeat), epoch_second(after)
    return posted is not None and limit is not None and posted > limit


def unmet(summary, fresh_after=None, runtime_prefix=None, heartbeat_after=None):
    """What the Node still lacks to count as Ready (fresh, on the runtime asked for): a list of phrases."""
    if not summary["exists"]:
        return ["the Node object does not exist"]
    missing = []
    if not summary["ready"]:
        missing.append("not Ready (Ready=%s, %s)" % (summary["ready_status"], summary["reason"]))
    if fresh_after and summary["heartbeat"] == fresh_after:
        missing.append("no heartbeat since %s (the kubelet has not posted its status since then)" % fresh_after)
    if heartbeat_after and not heartbeat_is_after(summary["heartbeat"], heartbeat_after):
        missing.append("no heartbeat after %s (its last is %s: the kubelet started since has not posted its status "
                       "yet)" % (heartbeat_after, summary["heartbeat"] or "none"))
    if runtime_prefix and not str(summary["runtime_version"] or "").startswith(runtime_prefix):
        missing.append("its runtime is %s, not %s" % (summary["runtime_version"] or "not reported",
                                                      runtime_prefix + "..."))
    return missing


# Answers of an API server that is starting, restarting or overloaded: a wait reads again after them.
# 401 and 403 included: a kube-apiserver that has just restarted (the control-plane node's own migration)
# refuses users it will accept once its authorizer has loaded the RBAC bindings; a user who really lacks
# the permission gets the refusal in the message when the wait times out.
TRANSIENT_STATUSES = (401, 403, 429, 500, 502, 503, 504)
# The longest a wait gives one read of the Node: a request that got no answer by then (held by an
# overloaded API server or a proxy) is given up and read again, as long as the wait's time lasts.
# Any healthy API server answers the GET of one Node in well under a second.
READ_REQUEST_SECONDS = 15


def transient(err):
    """Whether a failed read may succeed a moment later (see TRANSIENT_STATUSES; unreachable after the client's
    own retries)."""
    return bool(err.details.get("api_unreachable")) or err.details.get("status") in TRANSIENT_STATUSES


class NodeStatusWait(object):
    """Read one Node through a client with ``get_node(name)`` (a dict, or None when it does not exist)
    and, if it has one, ``limit_requests(time_left, longest)`` (which bounds each request by the time left,
    and by ``longest`` seconds)."""

    def __init__(self, client, clock=time.monotonic, sleep=time.sleep):
        self._client = client
        self._clock = clock
        self._sleep = sleep

    def read(self, name):
        """The Node (or None) and its summary."""
        node = self._client.get_node(name)
        return node, summarize(node)

    def wait(self, name, timeout, interval, fresh_after=None, runtime_prefix=None, heartbeat_after=None):
        """Read the Node until nothing is :func:`unmet`; return (node, summary, seconds waited).

        A read the API server answers with an error that may pass (TRANSIENT_STATUSES, unreachable) is
        tried again like a Node that is not Ready yet; any other error ends the wait at once. Raises
        NodeOpsError naming the node, what it still lacked at the last read and where to look.
        """
        started = self._clock()
        if hasattr(self._client, "limit_requests"):
            self._client.limit_requests(lambda: started + timeout - self._clock(), READ_REQUEST_SECONDS)
        node, summary = None, summarize(None)
        while True:
            try:
                node, summary = self.read(name)
                missing = unmet(summary, fresh_after, runtime_prefix, heartbeat_after)
            except NodeOpsError as err:
                if not transient(err):
                    raise
                missing = ["the last read failed: %s" % err.message]
            waited = self._clock() - started
            if not missing:
                return node, summary, round(waited, 1)
            if waited + interval > timeout:
                raise NodeOpsError(
                    'node "%s" did not become Ready within %s s: %s. Look at the kubelet on the node '
                    "(systemctl status kubelet; journalctl -u kubelet) and at the container runtime, then "
                    "run again, or raise the timeout if the node is only slow to start."
                    % (name, timeout, "; ".join(missing)),
                    resources=[node] if node else [], status=summary, waited=round(waited, 1))
            self._sleep(interval)

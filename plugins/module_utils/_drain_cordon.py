# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cordon and uncordon a node (kubectl's CordonHelper), and the wait for a Ready node before an uncordon."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import round_seconds


def is_unschedulable(node):
    return bool((node.get("spec") or {}).get("unschedulable"))


def lease_renew_time(lease):
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


class Cordoner(object):
    """Reads the node and sets ``spec.unschedulable`` only when it differs (a dry run in check mode).

    ``on_step(text)`` is told what is being done, for the account of an unexpected error.
    """

    def __init__(self, client, node_name, check_mode, clock, on_step):
        self.client = client
        self.node_name = node_name
        self.check_mode = check_mode
        self.clock = clock
        self.on_step = on_step

    def read(self):
        node = self.client.get_node(self.node_name)
        if node is None:
            raise NodeOpsError('node "%s" not found: check the name with kubectl get nodes' % self.node_name)
        return node

    def patch(self, unschedulable, result):
        """Set ``spec.unschedulable``; a patch that got no answer is judged by a read of the node.

        No answer (connection reset or refused, read timeout) does not say whether the API server applied the
        patch. The node read afterwards decides: already as asked, the patch did its work and only its answer
        was lost (named in ``drain_warnings``); not as asked, the patch failed with its own error. When the read
        fails too, nobody knows, and ``node_left_cordoned`` says so (null).
        """
        self.on_step("cordoning the node" if unschedulable else "uncordoning the node")
        try:
            self.client.patch_node_unschedulable(self.node_name, unschedulable, dry_run=self.check_mode)
        except NodeOpsError as err:
            if self.check_mode or not err.details.get("api_unreachable"):
                raise
            self._confirm(bool(unschedulable), err, result)

    def _confirm(self, unschedulable, err, result):
        verb = "cordon" if unschedulable else "uncordon"
        self.on_step("reading the node to learn whether the %s got through" % verb)
        try:
            node = self.read()
        except NodeOpsError as read_err:
            result["node_left_cordoned"] = None
            details = dict(err.details, node_state_unknown=True)
            raise NodeOpsError(
                "%s; whether it reached the API server is not known: reading the node afterwards failed too: %s. "
                "Whether the node is cordoned is not known: check it with kubectl get node %s"
                % (err.message, read_err.message, self.node_name), **details)
        if is_unschedulable(node) != unschedulable:
            raise err
        result["drain_warnings"].append(
            'the answer to the %s of node "%s" was lost (%s); a read of the node afterwards shows it %s, so the '
            "%s got through" % (verb, self.node_name, err.message, "cordoned" if unschedulable else "schedulable",
                                verb))

    def cordon(self, result):
        """state=cordon; returns whether the node was cordoned (not in check mode)."""
        before = is_unschedulable(self.read())
        result["cordoned_before"] = before
        started = self.clock()
        if not before:
            self.patch(True, result)
            result["changed"] = True
        result["durations"]["cordon"] = round_seconds(self.clock() - started)
        result["node_left_cordoned"] = before if self.check_mode else True
        return not before and not self.check_mode

    def uncordon(self, result, ready_timeout, poll_interval):
        """state=uncordon, after the node is Ready with a live kubelet when ``ready_timeout`` is set."""
        node = self.read()
        before = is_unschedulable(node)
        result["cordoned_before"] = before
        result["node_left_cordoned"] = before
        if ready_timeout > 0 and before:
            result["ready_evidence"] = self.wait_ready(node, ready_timeout, poll_interval)
        elif ready_timeout > 0 and not node_is_ready(node)[0]:
            # Nothing to uncordon, so nothing to wait for (see ready_timeout); the operator still hears of it.
            result["drain_warnings"].append(
                'node "%s" is already schedulable but not Ready (%s); it was left as it is. Check the kubelet and '
                "the container runtime on the node" % (self.node_name, node_is_ready(node)[1]))
        started = self.clock()
        if before:
            self.patch(False, result)
            result["changed"] = True
            result["node_left_cordoned"] = True if self.check_mode else False
        result["durations"]["cordon"] = round_seconds(self.clock() - started)

    def wait_ready(self, node, timeout, poll_interval):
        """Wait for Ready=True reported by a live kubelet; return the evidence.

        A Ready condition can be stale for up to the node monitor grace period
        after the kubelet stopped, so where the node has a Lease in
        kube-node-lease (every kubelet since 1.14) the Lease must also be
        renewed during the wait: only a running kubelet does that.
        """
        self.on_step("waiting for the node to be Ready")
        deadline = self.clock() + timeout
        first_renew = lease_renew_time(self.client.get_node_lease(self.node_name))
        while True:
            ready, detail = node_is_ready(node)
            if ready and first_renew is not None:
                renewed = lease_renew_time(self.client.get_node_lease(self.node_name))
                if renewed == first_renew:
                    ready = False
                    detail += "; the kubelet has not renewed its Lease kube-node-lease/%s since the wait began " \
                              "(last renewal %s)" % (self.node_name, first_renew)
            if ready:
                return detail if first_renew is None else "%s, Lease renewed" % detail
            if self.clock() >= deadline:
                raise NodeOpsError(
                    'node "%s" is not Ready after %s seconds (%s): it is not uncordoned; check the kubelet and '
                    "the container runtime on the node (systemctl status kubelet, journalctl -u kubelet)"
                    % (self.node_name, timeout, detail))
            time.sleep(min(poll_interval, max(0.0, deadline - self.clock())))
            self.on_step("waiting for the node to be Ready")
            node = self.read()

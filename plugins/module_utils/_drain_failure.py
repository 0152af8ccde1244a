# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The account of a failed cordon, drain or uncordon: the cause, the state the node is left in, the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def describe_exception(exc):
    """``unexpected ValueError: ...`` for an exception that is not a NodeOpsError; its message otherwise."""
    if isinstance(exc, NodeOpsError):
        return exc.message
    return "unexpected %s: %s" % (type(exc).__name__, exc)


def unexpected_error(exc, result, node_name, step, progress=None):
    """The NodeOpsError for an exception that is not one: the state, the node, the step, the type and the
    message, and ``progress`` (``(done, planned, verb)`` once the evictions have started)."""
    message = '%s of node "%s" failed while %s: %s' % (result["state"], node_name, step, describe_exception(exc))
    if progress is not None:
        message += "; %d of %d pods %s so far" % progress
    return NodeOpsError(message)


class FailureAccount(object):
    """Turns the error that stopped a run into the final error, with the complete result in its details.

    ``uncordon()`` makes the node schedulable again, for uncordon_on_failure.
    """

    def __init__(self, result, check_mode, uncordon_on_failure, uncordon):
        self.result = result
        self.check_mode = check_mode
        self.uncordon_on_failure = uncordon_on_failure
        self.uncordon = uncordon

    def error(self, err, cordoned_by_us):
        result = self.result
        result["changed"] = bool(result["changed"]) and not self.check_mode
        tail = self._node_state(cordoned_by_us, bool(err.details.get("node_state_unknown")))
        if tail and result["state"] == "drain":
            message = "%s. %s" % (err.message.rstrip("."), tail)
        else:
            message = err.message
        details = dict(err.details)
        details.update(result)
        return NodeOpsError(message, **details)

    def _node_state(self, cordoned_by_us, unknown=False):
        """How the node is left, as the last sentence of the message (undoing the cordon if asked to).

        ``unknown``: a cordon or uncordon got no answer and the node could not be read afterwards; the
        error's message says so. A cordon that may have got through is undone with uncordon_on_failure.
        """
        result = self.result
        if self.check_mode:
            return "Check mode: nothing was changed."
        may_have_cordoned = unknown and result["state"] != "uncordon"
        if (cordoned_by_us or may_have_cordoned) and self.uncordon_on_failure:
            try:
                self.uncordon()
            except Exception as undo:  # pylint: disable=broad-except
                if cordoned_by_us:
                    result["node_left_cordoned"] = True
                    return ("Uncordoning it again (uncordon_on_failure) failed: %s; the node is left cordoned."
                            % describe_exception(undo))
                result["node_left_cordoned"] = None
                return "Uncordoning it (uncordon_on_failure) failed too: %s." % describe_exception(undo)
            result["node_left_cordoned"] = False
            return "The node was uncordoned again (uncordon_on_failure)."
        if unknown:
            result["node_left_cordoned"] = None
            return "Nothing was evicted." if result["state"] == "drain" else None
        if cordoned_by_us:
            return ("The node is left cordoned: resolve the cause and run the drain again, or make it schedulable "
                    "with state=uncordon.")
        if result["cordoned_before"]:
            return "The node was already cordoned before and is left cordoned."
        if result["state"] == "drain":
            return "Nothing was evicted and the node was not cordoned."
        return None

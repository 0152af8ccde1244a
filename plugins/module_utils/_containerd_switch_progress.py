# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress record of the containerd switch on a node, and what a rerun does with it.

Used by the filters in ``plugins/filter/containerd_switch.py``; the record itself is the one every
rolling operation keeps (``_progress.py``):

* :func:`progress` is the node's record once a step of the switch is reached.
* :func:`resume` decides, from the record read on the node, whether the node is switched as usual (no
  record), resumed (a record of this operation: the switch did not finish) or refused (a record that
  cannot be used, or of another operation).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _progress

OPERATION = "containerd_switch"
TITLE = "the containerd switch"

# The steps of a progress record of the switch, in order. The switch notes started (before the drain), drained
# (before it stops the kubelet and Docker) and kubelet_switched (once containerd is configured and the kubelet's
# files point at it); rollback_failed is noted when a rollback did not prove the node Ready on Docker again (the
# record stays, so that the next run resumes the node). docker_stopped, containerd_configured and verified are
# steps that earlier releases of the collection noted too; their records are still resumed.
STARTED = _progress.STARTED
STEPS = (STARTED, "drained", "docker_stopped", "containerd_configured", "kubelet_switched", "verified",
         "rollback_failed")
# The edits whose backups the record keeps, by the step that makes them. A run killed between an edit and the
# next note leaves a backup the record does not know; the next run finds it by its name and time
# (_progress.adopt_backups).
STEP_EDITS = {
    "containerd_configured": ("containerd_config",),
    "kubelet_switched": ("containerd_config", "kubelet_flags", "kubelet_config", "instance_config"),
}
# From these steps on the interrupted run had drained the node, and may have stopped its kubelet and Docker: the
# drained note is the last one before the stop, so a node resumed from it is treated as stopped (a failure of the
# next run rolls it back to Docker, which starts what is not running and changes nothing else).
DRAINED_FROM = "drained"
STOPPED_FROM = "drained"

FIX = ("check the node by hand (the runtime kubelet points at, kubelet, containerd and Docker running, its cordon), "
       "finish or undo the interrupted switch, then remove %s")

NONE = "none"
RESUME = "resume"
REFUSE = "refuse"


def _dict(value):
    return value if isinstance(value, dict) else {}


def progress(record, step, at, node=None, controller=None, cordoned_before=None, edits=None, memo=None):
    """The node's progress record once ``step`` (one of :data:`STEPS`) is reached at ``at`` (a time as text).

    ``edits`` maps an edit of :data:`STEP_EDITS` (``containerd_config``, ``kubelet_flags``, ``kubelet_config``,
    ``instance_config``) to the editor's result; ``memo`` holds what the first attempt read before it changed
    anything (the old CRI socket annotation, what it carried over from Docker). See ``_progress.progress``.
    """
    return _progress.progress(record, step, at, OPERATION, STEPS, STEP_EDITS, node=node, controller=controller,
                              cordoned_before=cordoned_before, edits=edits, memo=memo)


def resume(read, node_name=None):
    """What to do with a node, from its progress record as ``node_runtime_facts`` read it (``progress_record``).

    ``{"action", "reasons", "notes", "path", "step", "at", "started", "controller", "backups",
    "cordoned_before", "drained", "docker_stopped", "memo"}``: ``action`` is ``none`` (no record: switch it, or
    skip it when it is on containerd already), ``resume`` (a record of this switch: the interrupted run did not
    finish the node, so it is switched again whatever its runtime says; ``drained`` and ``docker_stopped`` say
    whether that run drained it and stopped its kubelet and Docker) or
    ``refuse`` (the reasons name the file, the cause and the fix).
    """
    read = _dict(read)
    out = {"action": NONE, "reasons": [], "notes": [], "path": read.get("path"), "step": None, "at": None,
           "started": None, "controller": None, "backups": {}, "cordoned_before": None, "drained": False,
           "docker_stopped": False, "memo": {}}
    if not _progress.has_record(read):
        return out
    out["reasons"] = _progress.check_record(read, OPERATION, TITLE, STEPS, FIX)
    record = _dict(read.get("record"))
    if not out["reasons"] and node_name and record.get("node") not in (None, node_name):
        out["reasons"] = ["the progress record %s is of node %s, not of %s; %s"
                          % (read.get("path"), record.get("node"), node_name, FIX % read.get("path"))]
    if out["reasons"]:
        out["action"] = REFUSE
        return out
    out.update(_progress.summary(read))
    out["action"] = RESUME
    out["cordoned_before"] = record["cordoned_before"]
    out["drained"] = STEPS.index(record["step"]) >= STEPS.index(DRAINED_FROM)
    out["docker_stopped"] = STEPS.index(record["step"]) >= STEPS.index(STOPPED_FROM)
    out["memo"] = _dict(record.get("memo"))
    out["notes"].append("resuming an interrupted switch (step %s reached at %s)" % (out["step"], out["at"]))
    if record["cordoned_before"]:
        out["notes"].append("Node %s was cordoned before the interrupted run; it stays cordoned afterwards"
                            % (node_name or record.get("node")))
    return out


def backup_files(record):
    """The backup files a record knows, in a stable order."""
    return _progress.backup_files(record)

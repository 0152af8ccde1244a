# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress record a rolling operation keeps on a node while it changes it.

Plain functions over plain data, shared by the operations that resume a node left by an interrupted run
(the cgroup driver migration in ``_cgroup_report.py``, the containerd switch in
``_containerd_switch_progress.py``). Each operation names its steps (the first is ``started``) and, per
step, the edits whose backups the record keeps:

* :func:`progress` is the record once a step is reached (opened at ``started``).
* :func:`check_record` says why a record read on the node cannot be resumed (unreadable, another
  operation's, an unknown step, no cordon before the run), with the file, the cause and the fix.
* :func:`summary` is what a resumed node's report shows of the record it resumed.
* :func:`backup_files` lists the backups a record knows; :func:`adopt_backups` adds those an interrupted
  run made but could not note any more; :func:`restores` lists what a rollback copies back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import copy
import time

STARTED = "started"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _dict(value):
    return value if isinstance(value, dict) else {}


def edit_backup(edit):
    """What the record keeps of an editor's result: the backup of a changed file, or that the run created it."""
    edit = _dict(edit)
    path = edit.get("path") or edit.get("dest")
    if not edit.get("changed") or not path:
        return None
    if edit.get("backup_file"):
        return {"path": path, "backup_file": edit["backup_file"]}
    return {"path": path, "created": True}


def epoch(text):
    """Seconds since the epoch of a record's time (``%Y-%m-%dT%H:%M:%SZ``); None when it is not one."""
    try:
        return calendar.timegm(time.strptime(str(text), TIME_FORMAT))
    except ValueError:
        return None


def has_record(read):
    """Whether a read of the record (``progress_record`` of ``node_runtime_facts``) found a file, usable or not."""
    read = _dict(read)
    return bool(read.get("exists") or read.get("error"))


def progress(record, step, at, operation, steps, step_edits, node=None, controller=None, cordoned_before=None,
             edits=None, memo=None):
    """The progress record of ``operation`` on a node once ``step`` (one of ``steps``) is reached at ``at``.

    ``step`` ``started`` opens a record (operation, node, started, controller, cordoned_before, and ``memo``
    when given) before the first change, or, for a node resumed from a record, notes the new run in
    ``resumed`` and keeps everything else. Every other step is noted in ``step``, ``steps`` (step -> time) and ``updated``.

    ``edits`` maps the name of an edit to the editor's result; the edits ``step_edits`` names for the step join
    ``backups`` (the backup of a changed file, or that the run created it) unless the record already knows one
    for that name: the first attempt's backup holds the original. ``memo`` holds what the first attempt saw
    before it changed anything (a value already in the record is kept). Returns a new dict.
    """
    if step not in steps:
        raise ValueError("unknown step of the progress record: %s" % step)
    record = copy.deepcopy(_dict(record))
    if step == STARTED:
        if record:
            record.setdefault("resumed", []).append({"at": at, "controller": controller})
            if memo:
                kept = record.setdefault("memo", {})
                for key, value in sorted(_dict(memo).items()):
                    kept.setdefault(key, copy.deepcopy(value))
            return record
        out = {"operation": operation, "node": node, "started": at, "controller": controller,
               "cordoned_before": bool(cordoned_before), "step": step, "steps": {step: at}, "updated": at,
               "backups": {}, "resumed": []}
        if memo:
            out["memo"] = copy.deepcopy(_dict(memo))
        return out
    record["step"] = step
    record.setdefault("steps", {})[step] = at
    record["updated"] = at
    backups = record.setdefault("backups", {})
    names = _dict(step_edits).get(step) or ()
    for name, edit in sorted(_dict(edits).items()):
        kept = edit_backup(edit)
        if kept and name in names and name not in backups:
            backups[name] = kept
    return record


def backup_files(record):
    """The backup files a record knows, in a stable order."""
    backups = _dict(_dict(record).get("backups"))
    return [_dict(backups[name]).get("backup_file") for name in sorted(backups)
            if _dict(backups[name]).get("backup_file")]


def restores(record, edits=None):
    """The files a rollback copies back: ``[{"name", "path", "backup_file"}]``.

    The backups the record knows (the first attempt's, made from the originals), then the backups of this
    run's ``edits`` (name -> editor's result) for the edits the record has none for (an edit the run made
    but could not note before it failed). Files the run created are not listed.
    """
    out = []
    backups = _dict(_dict(record).get("backups"))
    for name in sorted(backups):
        kept = _dict(backups[name])
        if kept.get("backup_file"):
            out.append({"name": name, "path": kept.get("path"), "backup_file": kept["backup_file"]})
    for name, edit in sorted(_dict(edits).items()):
        kept = edit_backup(edit) or {}
        if name not in backups and kept.get("backup_file"):
            out.append({"name": name, "path": kept["path"], "backup_file": kept["backup_file"]})
    return out


def adopt_backups(record, found, paths):
    """The backups an interrupted run made but could not note any more (killed between an edit and its note).

    ``found`` lists the files next to the edited ones (``ansible.builtin.find`` results: path, ctime; not
    mtime, which a backup copies from the original); ``paths`` maps the name of an edit to the edited file.
    For each edit the record knows no backup of, the oldest backup of that file (``<file>.<pid>.<time>~``, as
    the editors name them) made since the record was opened is the one the interrupted run made from the
    original; it joins ``backups`` marked ``found``. Returns a new dict.
    """
    record = copy.deepcopy(_dict(record))
    started = epoch(record.get("started"))
    backups = record.setdefault("backups", {})
    if started is None:
        return record
    for name, path in sorted(_dict(paths).items()):
        if name in backups or not path:
            continue
        candidates = sorted((float(f.get("ctime") or 0), f.get("path")) for f in found or []
                            if isinstance(f, dict) and str(f.get("path", "")).startswith(path + ".")
                            and str(f.get("path")).endswith("~") and float(f.get("ctime") or 0) >= started)
        if candidates:
            backups[name] = {"path": path, "backup_file": candidates[0][1], "found": True}
    return record


def check_record(read, operation, title, steps, fix):
    """Why the record read on the node (``progress_record`` of ``node_runtime_facts``) cannot be resumed.

    An empty list for a usable record of ``operation`` (``title`` names it in the messages); else one
    message naming the file, the cause and ``fix`` (a text with ``%s`` for the file).
    """
    read = _dict(read)
    path = read.get("path") or "the progress record"
    fix = fix % path
    if read.get("error"):
        return ["the progress record %s cannot be used: %s; %s" % (path, read["error"], fix)]
    record = _dict(read.get("record"))
    found = record.get("operation")
    if found != operation:
        started = record.get("started") or "unknown"
        controller = record.get("controller") or "unknown"
        return ["%s is not a progress record of %s (operation: %s, started: %s, "
                "controller: %s); finish that operation first, or %s"
                % (path, title, found or "none", started, controller, fix)]
    if record.get("step") not in steps:
        return ["the progress record %s names no known step (step: %s; known: %s); %s"
                % (path, record.get("step"), ", ".join(steps), fix)]
    if not isinstance(record.get("cordoned_before"), bool):
        return ["the progress record %s does not say whether the Node was cordoned before the interrupted run "
                "(cordoned_before: %s); %s" % (path, record.get("cordoned_before"), fix)]
    return []


def summary(read):
    """What a resumed node's report shows of the (usable) record it resumed: path, step and its time, start,
    controller and backups."""
    read = _dict(read)
    record = _dict(read.get("record"))
    step = record.get("step")
    at = _dict(record.get("steps")).get(step) or record.get("updated") or record.get("started")
    return {"path": read.get("path"), "step": step, "at": at, "started": record.get("started"),
            "controller": record.get("controller"), "backups": _dict(record.get("backups"))}

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress record's file on the node: written atomically, or removed, in one module run.

Runs on the node's own Python with the standard library only. :class:`ProgressFile` writes a record
(``_progress.progress`` builds it on the controller) as JSON, mode 0600, in a directory of mode 0700, through a
temporary file in the same directory renamed over the record, so that a run killed in the middle leaves
either the old record or the new one. It refuses to overwrite or remove a file that is not a record of the
same operation: a record of another operation belongs to a run of that operation, and an unreadable file
is for a person to look at.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._node_file import put_file

FILE_MODE = 0o600
DIR_MODE = 0o700


def render(record):
    """The file's text for ``record``: the layout of Ansible's ``to_nice_json`` and a final newline."""
    return json.dumps(record, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


class ProgressFile(object):
    """The record file of one operation on this node (``path``, holding records whose ``operation`` is ``operation``)."""

    def __init__(self, path, operation):
        self.path = path
        self.operation = operation

    def _current(self):
        """The file's text, or None when there is no file."""
        try:
            with open(self.path, "r") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            if not os.path.lexists(self.path):
                return None
            raise NodeOpsError(
                "progress record %s: cannot read it (%s). Fix: make it readable by root, or look at it and move it "
                "away if no run of %s is in progress on this node." % (self.path, exc, self.operation),
                path=self.path)

    def _check_ours(self, text):
        """Refuse a file that is not a record of this operation."""
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise NodeOpsError(
                "progress record %s: the file is not JSON (%s), so it was left as it is. Fix: look at it; move it "
                "away if no run of %s is in progress on this node, then run again." % (self.path, exc, self.operation),
                path=self.path)
        theirs = found.get("operation") if isinstance(found, dict) else None
        if theirs != self.operation:
            raise NodeOpsError(
                "progress record %s: it is a record of %s, not of %s, so it was left as it is. Fix: finish that "
                "operation on this node first, or give %s a progress record path of its own."
                % (self.path, theirs or "no operation", self.operation, self.operation),
                path=self.path, operation=theirs)

    def write(self, record, check_mode=False):
        """Write ``record``; returns ``{"changed", "path", "existed", "before", "after"}``."""
        if not isinstance(record, dict) or record.get("operation") != self.operation:
            raise NodeOpsError(
                "progress record %s: the record to write is not one of %s (operation %r). Fix: pass the record "
                "the role built for this operation." % (self.path, self.operation,
                                                        record.get("operation") if isinstance(record, dict) else None),
                path=self.path)
        before = self._current()
        if before is not None:
            self._check_ours(before)
        after = render(record)
        changed = before != after or self._mode_differs()
        if changed and not check_mode:
            self._replace(after)
        return {"changed": changed, "path": self.path, "existed": before is not None,
                "before": before or "", "after": after}

    def remove(self, check_mode=False):
        """Remove the record; returns ``{"changed", "path", "existed", "before", "after"}``."""
        before = self._current()
        if before is None:
            return {"changed": False, "path": self.path, "existed": False, "before": "", "after": ""}
        self._check_ours(before)
        if not check_mode:
            try:
                os.unlink(self.path)
            except OSError as exc:
                raise NodeOpsError(
                    "progress record %s: cannot remove it (%s). Fix: remove it by hand once the node is as the "
                    "report says." % (self.path, exc), path=self.path)
        return {"changed": True, "path": self.path, "existed": True, "before": before, "after": ""}

    def _mode_differs(self):
        try:
            return (os.stat(self.path).st_mode & 0o777) != FILE_MODE
        except OSError:
            return True

    def _replace(self, text):
        try:
            put_file(self.path, text.encode("utf-8"), mode=FILE_MODE, dir_mode=DIR_MODE)
        except (IOError, OSError) as exc:
            raise NodeOpsError(
                "progress record %s: cannot write it (%s); the previous record, if any, is as it was. Fix: run "
                "with become, and check that %s is writable and its file system not full, then run again."
                % (self.path, exc, os.path.dirname(self.path) or "."), path=self.path)

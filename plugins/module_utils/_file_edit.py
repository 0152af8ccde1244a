# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the node configuration editors.

Two kinds of helpers live here:

* pure functions used by every editor (text decoding, the ``diff`` value, the
  result shape), usable on the node and on the controller;
* ``remote_*`` helpers used by the controller-side action plugins. They take
  the running action plugin as first argument and only call methods of it, so
  this file imports nothing from the controller and stays a valid module_utils
  file. A read and a write are one run each of ``nodeops.kubernetes.node_file``
  (what the file is and holds; temporary file + atomic rename, optional backup,
  owner and mode of the existing file kept), read-only commands go through the
  connection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import shlex

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def decode_text(data, path):
    """Decode file bytes as UTF-8 or raise an error naming the file."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NodeOpsError(
            "%s is not valid UTF-8 text (%s); the file is left untouched. Check that the path points to the "
            "configuration file and restore it from a backup if it was damaged" % (path, exc),
            path=path,
        )


def make_diff(before, after, before_header, after_header=None):
    """Return the ``diff`` value Ansible renders with ``--diff``."""
    return {
        "before": before,
        "after": after,
        "before_header": before_header,
        "after_header": after_header or before_header,
    }


def edit_result(path, changed, before, after, before_text, after_text, diff_mode, diff_header=None, **extra):
    """Build the common result of an editor.

    ``before``/``after`` are the values of the settings the editor owns;
    the texts are only used for the diff.
    """
    result = {
        "changed": bool(changed),
        "path": path,
        "before": before,
        "after": after,
    }
    if diff_mode:
        result["diff"] = make_diff(before_text, after_text, diff_header or path)
    result.update(extra)
    return result


# ---------------------------------------------------------------------------
# Controller side: remote access through a running action plugin.
# ---------------------------------------------------------------------------

NODE_FILE = "nodeops.kubernetes.node_file"


def _node_file(action, path, task_vars, **args):
    """Run ``nodeops.kubernetes.node_file`` on the node for ``path``."""
    args["path"] = path
    return action._execute_module(module_name=NODE_FILE, module_args=args, task_vars=task_vars)


def stat_error(path, cause):
    """The error of a file whose ``stat`` failed on the node."""
    return NodeOpsError("cannot stat %s on the node: %s; check the path and that the play runs with become: true"
                        % (path, cause), path=path)


def not_regular_error(path):
    """The error of a path that exists on the node but is not a regular file."""
    return NodeOpsError("%s exists on the node but is not a regular file; the editor refuses to touch it. "
                        "Point path at the configuration file" % path, path=path)


def read_error(path, cause):
    """The error of a file that exists on the node but could not be read."""
    return NodeOpsError("cannot read %s on the node: %s; check the permissions (become: true) and the path"
                        % (path, cause), path=path)


def remote_read(action, path, task_vars):
    """Return the text of a remote file, read in one module run; None when it does not exist."""
    result = _node_file(action, path, task_vars)
    if result.get("failed"):
        raise read_error(path, result.get("msg", "unknown error"))
    stat = result.get("stat", {"exists": False})
    if not stat.get("exists"):
        return None
    if stat.get("isdir") or (stat.get("isreg") is False):
        raise not_regular_error(path)
    try:
        data = base64.b64decode(result.get("content", ""))
    except (TypeError, ValueError) as exc:
        raise NodeOpsError("cannot decode the content of %s read on the node: %s" % (path, exc), path=path)
    return decode_text(data, path)


def remote_command(action, argv):
    """Run a read-only command on the node; return ``(rc, stdout, stderr)``.

    The command goes through the connection (with become when the task uses
    it) and not through ``ansible.builtin.command``, because that module does
    not run in check mode, while these commands only read and are needed to
    report what a check-mode run would do.
    """
    result = action._low_level_execute_command(command_line(argv), sudoable=True)
    return result.get("rc"), result.get("stdout", ""), result.get("stderr", "")


def remote_write(action, path, content, backup, task_vars, new_file_mode="0644"):
    """Write ``content`` to ``path`` on the node in one module run; returns the backup file name (or None).

    ``nodeops.kubernetes.node_file`` writes a temporary file next to the destination and renames it over the
    destination, so a failure never leaves a half-written file. An existing file keeps its owner, group and
    mode; a new one gets ``new_file_mode`` and its missing directories.
    """
    result = _node_file(action, path, task_vars, state="written", content=content, backup=bool(backup),
                        mode=new_file_mode)
    if result.get("failed"):
        raise NodeOpsError(
            "writing %s on the node failed: %s; the original file is unchanged (the text goes to a temporary "
            "file renamed over it only when complete)" % (path, result.get("msg", "unknown error")),
            path=path,
        )
    return result.get("backup_file")


def command_line(argv):
    """The shell command line that runs ``argv`` as it is (every word quoted)."""
    return " ".join(shlex.quote(part) for part in argv)


def shell_words(value):
    """Split a shell-style value (kubelet flag files) into words; errors name the cause."""
    try:
        return shlex.split(value, comments=False, posix=True)
    except ValueError as exc:
        raise NodeOpsError("cannot split %r into shell words: %s" % (value, exc))

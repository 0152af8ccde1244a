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
  file. Reads go through ``ansible.builtin.stat`` and ``ansible.builtin.slurp``,
  read-only commands through the connection, and writes through the
  ``ansible.builtin.copy`` action (temporary file + atomic rename, optional
  backup, owner and mode of the existing file kept).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import posixpath
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

def remote_stat(action, path, task_vars):
    """Return the ``stat`` dict of ``path`` on the managed node (``exists`` false when missing)."""
    result = action._execute_module(
        module_name="ansible.builtin.stat",
        module_args={"path": path, "follow": True, "get_checksum": False, "get_mime": False, "get_attributes": False},
        task_vars=task_vars,
    )
    if result.get("failed"):
        raise stat_error(path, result.get("msg", "unknown error"))
    return result.get("stat", {"exists": False})


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
    """Return ``(stat, text)`` of a remote file; ``text`` is None when it does not exist."""
    stat = remote_stat(action, path, task_vars)
    if not stat.get("exists"):
        return stat, None
    if stat.get("isdir") or (stat.get("isreg") is False):
        raise not_regular_error(path)
    result = action._execute_module(
        module_name="ansible.builtin.slurp",
        module_args={"src": path},
        task_vars=task_vars,
    )
    if result.get("failed"):
        raise read_error(path, result.get("msg", "unknown error"))
    try:
        data = base64.b64decode(result.get("content", ""))
    except (TypeError, ValueError) as exc:
        raise NodeOpsError("cannot decode the content of %s returned by slurp: %s" % (path, exc), path=path)
    return stat, decode_text(data, path)


def remote_command(action, argv):
    """Run a read-only command on the node; return ``(rc, stdout, stderr)``.

    The command goes through the connection (with become when the task uses
    it) and not through ``ansible.builtin.command``, because that module does
    not run in check mode, while these commands only read and are needed to
    report what a check-mode run would do.
    """
    result = action._low_level_execute_command(command_line(argv), sudoable=True)
    return result.get("rc"), result.get("stdout", ""), result.get("stderr", "")


def remote_write(action, path, content, stat, backup, task_vars, new_file_mode="0644"):
    """Write ``content`` to ``path`` on the node through the ``ansible.builtin.copy`` action.

    ``copy`` writes a temporary file next to the destination and renames it
    over the destination, so a failure never leaves a half-written file.
    The owner, group and mode of an existing file are kept. Returns the
    backup file name (or None).
    """
    args = {
        "dest": path,
        "content": content,
        "backup": bool(backup),
        "follow": True,
    }
    if stat and stat.get("exists"):
        args["mode"] = stat.get("mode")
        if stat.get("pw_name"):
            args["owner"] = stat["pw_name"]
        if stat.get("gr_name"):
            args["group"] = stat["gr_name"]
    else:
        args["mode"] = new_file_mode
        directory = posixpath.dirname(path)
        if directory:
            made = action._execute_module(
                module_name="ansible.builtin.file",
                module_args={"path": directory, "state": "directory"},
                task_vars=task_vars,
            )
            if made.get("failed"):
                raise NodeOpsError("cannot create the directory %s for %s on the node: %s"
                                   % (directory, path, made.get("msg", "unknown error")), path=path)
    result = run_copy_action(action, args, task_vars)
    if result.get("failed"):
        raise NodeOpsError(
            "writing %s on the node failed: %s; the original file is unchanged (copy writes a temporary "
            "file and renames it only when complete)" % (path, result.get("msg", "unknown error")),
            path=path,
        )
    return result.get("backup_file")


def run_copy_action(action, args, task_vars):
    """Run the ``ansible.builtin.copy`` action plugin with ``args`` for the running task.

    This is what ``ansible.builtin.template`` does: the copy action transfers
    the content and runs the copy module on the node, with the task's
    connection, become settings and remote temporary directory.
    """
    new_task = action._task.copy()
    new_task.args.clear()
    new_task.args.update(args)
    # The editors build their own diff; the copy diff would only repeat it.
    new_task.diff = False
    copy_action = action._shared_loader_obj.action_loader.get(
        "ansible.builtin.copy",
        task=new_task,
        connection=action._connection,
        play_context=action._play_context,
        loader=action._loader,
        templar=action._templar,
        shared_loader_obj=action._shared_loader_obj,
    )
    return copy_action.run(task_vars=task_vars)


def command_line(argv):
    """The shell command line that runs ``argv`` as it is (every word quoted)."""
    return " ".join(shlex.quote(part) for part in argv)


def shell_words(value):
    """Split a shell-style value (kubelet flag files) into words; errors name the cause."""
    try:
        return shlex.split(value, comments=False, posix=True)
    except ValueError as exc:
        raise NodeOpsError("cannot split %r into shell words: %s" % (value, exc))

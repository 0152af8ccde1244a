# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A configuration file on the node, read or written in one module run (the ``node_file`` module).

The editors parse and change files on the controller (the node may have no PyYAML or tomlkit); what they need
from the node is one read (what the file is and what it holds) and one write (a backup, then the new text put
in place atomically). Runs on the node's own Python with the standard library only.

* :func:`read` returns what ``ansible.builtin.stat`` says of the file (following links) and, for a regular file,
  its content in base64.
* :class:`Writer` writes a text through a temporary file in the file's directory renamed over it: a run killed
  in the middle leaves the old file or the new one. An existing file keeps its mode, owner and group; a new one
  gets the mode asked for, and its missing directories are created. The backup is a copy made before the rename.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import grp
import os
import pwd
import stat
import tempfile

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return None


def file_stat(path):
    """What the editors need of ``os.stat(path)``: ``{"exists": False}`` or the ``stat`` module's keys they use."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if not os.path.lexists(path) or exc.errno == 2:
            return {"exists": False}
        raise NodeOpsError("cannot stat %s on the node: %s; check the path and that the play runs with become: true"
                           % (path, exc), path=path)
    return {"exists": True, "isreg": stat.S_ISREG(info.st_mode), "isdir": stat.S_ISDIR(info.st_mode),
            "mode": "%04o" % stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid,
            "pw_name": _name(pwd.getpwuid, info.st_uid), "gr_name": _name(grp.getgrgid, info.st_gid),
            "size": info.st_size}


def read(path, get_content=True):
    """``{"stat": ..., "content": base64}``; the content only of a regular file, and only when asked for."""
    found = file_stat(path)
    result = {"stat": found}
    if get_content and found.get("exists") and found.get("isreg"):
        try:
            with open(path, "rb") as handle:
                result["content"] = base64.b64encode(handle.read()).decode("ascii")
        except (IOError, OSError) as exc:
            raise NodeOpsError("cannot read %s on the node: %s; check the permissions (become: true) and the path"
                               % (path, exc), path=path)
    return result


class Writer(object):
    """Writes texts into files.

    ``backup_local(path)`` copies a file aside and returns the copy's name; ``atomic_move(source, target)``
    renames a temporary file over an existing file, giving it the file's mode, owner, group and SELinux context
    (``AnsibleModule``'s methods on the node).
    """

    def __init__(self, backup_local, atomic_move):
        self.backup_local = backup_local
        self.atomic_move = atomic_move

    def write(self, path, content, backup=False, new_file_mode="0644", check_mode=False):
        """Put ``content`` (text) into ``path``; ``{"changed", "path", "backup_file"}``."""
        target = os.path.realpath(path)
        data = content.encode("utf-8")
        found = file_stat(target)
        if found["exists"] and not found["isreg"]:
            raise NodeOpsError("%s exists on the node but is not a regular file; the editor refuses to touch it. "
                               "Point path at the configuration file" % path, path=path)
        if found["exists"] and self._same(target, data, found):
            return {"changed": False, "path": path, "backup_file": None}
        if check_mode:
            return {"changed": True, "path": path, "backup_file": None}
        backup_file = self.backup_local(target) if backup and found["exists"] else None
        self._replace(path, target, data, found, new_file_mode)
        return {"changed": True, "path": path, "backup_file": backup_file}

    @staticmethod
    def _same(target, data, found):
        if found.get("size") != len(data):
            return False
        with open(target, "rb") as handle:
            return handle.read() == data

    def _replace(self, path, target, data, found, new_file_mode):
        try:
            if found["exists"]:
                put_file(target, data, move=self.atomic_move)
            else:
                put_file(target, data, mode=int(new_file_mode, 8))
        except (IOError, OSError) as exc:
            raise NodeOpsError(
                "writing %s on the node failed: %s; the original file is unchanged (the text goes to a temporary "
                "file renamed over it only when complete)" % (path, exc), path=path)


def put_file(target, data, mode=None, dir_mode=0o755, move=None):
    """Put the bytes ``data`` in ``target`` atomically: a temporary file beside it, synced, renamed over it.

    ``mode`` is given to the temporary file (None leaves that to ``move``); missing directories are made with
    ``dir_mode``; ``move(temporary, target)`` is the rename (default ``os.rename``). Raises ``OSError``; no
    temporary file is left behind.
    """
    directory = os.path.dirname(target) or "."
    temporary = None
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, dir_mode)
        handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(target), dir=directory)
        with os.fdopen(handle, "wb") as out:
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        (move or os.rename)(temporary, target)
        temporary = None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
    _sync_directory(directory)


def _sync_directory(directory):
    """Make the rename durable; a file system that cannot sync a directory is left to its own guarantees."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

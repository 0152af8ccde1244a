# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's files as the Docker dependency scan sees them: every path is looked up below a root.

On the node the root is ``/``; tests point it at a directory tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import read_text


class NodeTree(object):
    """Read-only access to the files below ``root``; paths are given as on the node (``/etc/...``)."""

    def __init__(self, root="/"):
        self.root = root

    def path(self, path):
        """The real path of a node path."""
        return os.path.join(self.root, path.lstrip("/"))

    def is_file(self, path):
        return os.path.isfile(self.path(path))

    def is_dir(self, path):
        return os.path.isdir(self.path(path))

    def is_link(self, path):
        return os.path.islink(self.path(path))

    def read(self, path):
        """Text of a file, None when it is missing or not a regular file."""
        full = self.path(path)
        if not os.path.isfile(full):
            return None
        return read_text(full)

    def read_bytes(self, path, max_bytes):
        """Content of a file, None when it is larger than ``max_bytes`` or cannot be read."""
        full = self.path(path)
        try:
            if os.path.getsize(full) > max_bytes:
                return None
            with open(full, "rb") as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def listdir(self, path):
        """Sorted names in a directory, ``[]`` when it is missing or cannot be read."""
        full = self.path(path)
        if not os.path.isdir(full):
            return []
        try:
            return sorted(os.listdir(full))
        except OSError:
            return []

    def readlink(self, path):
        """Target of a symbolic link; OSError when it is not one."""
        return os.readlink(self.path(path))

    def identity(self, path):
        """The path with every symbolic link resolved: two paths with one identity are one file."""
        return os.path.realpath(self.path(path))

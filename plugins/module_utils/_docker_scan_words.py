# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Words that show a dependency on Docker, in a command line, a script line or a unit's ``Exec*=``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

_WORD_SEPARATORS = re.compile(r"[\s;|&()<>`'\"=,$]+")
DOCKER_COMMANDS = ("docker", "dockerd", "docker-compose")
DOCKER_SERVICE_UNITS = ("docker.service", "docker.socket")
HOST_ESCAPE_COMMANDS = ("nsenter", "chroot")


def _words(text):
    return _WORD_SEPARATORS.split(text or "")


def docker_references(text):
    """Return why a command line or script line depends on Docker (sorted reasons), ``[]`` when it does not.

    The text is cut into words at blanks and shell punctuation; a word counts
    when it is the ``docker``/``dockerd``/``docker-compose`` command (any
    path), names the Docker socket, or a path under ``/etc/docker`` or
    ``/var/lib/docker``.
    """
    reasons = set()
    for word in _words(text):
        word = word.strip().lower()
        if not word:
            continue
        if posixpath.basename(word) in DOCKER_COMMANDS:
            reasons.add("runs %s" % posixpath.basename(word))
        elif "docker.sock" in word:
            reasons.add("uses the Docker socket")
        elif word.startswith("/etc/docker"):
            reasons.add("uses Docker's configuration (/etc/docker)")
        elif word.startswith("/var/lib/docker"):
            reasons.add("uses Docker's data directory (/var/lib/docker)")
        elif word in DOCKER_SERVICE_UNITS:
            reasons.add("manages the Docker service")
    return sorted(reasons)


def escapes_to_host(text):
    """True when a command line runs ``nsenter`` or ``chroot`` (any path): its commands may run on the node."""
    return any(posixpath.basename(word.lower()) in HOST_ESCAPE_COMMANDS for word in _words(text))

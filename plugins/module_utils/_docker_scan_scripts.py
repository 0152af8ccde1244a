# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cron jobs and scripts on the node that call Docker, with the lines that do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import Severity
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_words import docker_references

DEFAULT_SCRIPT_PATHS = ("/usr/local/bin", "/usr/local/sbin", "/etc/profile.d", "/etc/cron.hourly", "/etc/cron.daily",
                        "/etc/cron.weekly", "/etc/cron.monthly", "/etc/rc.local", "/etc/init.d")
# Docker's own programs: they call Docker by design.
SCRIPT_SKIP_NAMES = ("docker", "dockerd", "containerd", "cri-docker", "cri-dockerd", "docker-init", "docker-proxy")
CRON_FILES = ("/etc/crontab",)
CRON_DIRS = ("/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron")
MAX_SCRIPT_BYTES = 1024 * 1024
MAX_LINES_PER_FINDING = 5
MAX_LINE_TEXT = 200
# Bytes looked at to tell a binary (a NUL byte) from a script.
BINARY_PROBE_BYTES = 4096


def docker_lines(text, cron=False):
    """``[{line, text, reasons}]`` of the lines calling Docker; comments (and crontab variables) are skipped."""
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if cron and "=" in stripped.split(None, 1)[0] and stripped[0] not in "0123456789*@":
            continue  # a variable assignment of the crontab
        reasons = docker_references(stripped)
        if reasons:
            hits.append({"line": number, "text": stripped[:MAX_LINE_TEXT], "reasons": reasons})
    return hits


def _file_hits(tree, path, cron=False):
    data = tree.read_bytes(path, MAX_SCRIPT_BYTES)
    if data is None or b"\0" in data[:BINARY_PROBE_BYTES]:
        return []  # too large, unreadable or a binary
    return docker_lines(data.decode("utf-8", "replace"), cron=cron)


def _hits_text(hits):
    return "; ".join("line %d: %s" % (hit["line"], hit["text"]) for hit in hits[:MAX_LINES_PER_FINDING])


def _cron_files(tree):
    files = [path for path in CRON_FILES if tree.is_file(path)]
    for directory in CRON_DIRS:
        for name in tree.listdir(directory):
            path = posixpath.join(directory, name)
            if tree.is_file(path) and not name.startswith("."):
                files.append(path)
    return files


def scan_cron(tree, found):
    """A warning for every crontab with jobs calling Docker."""
    for path in _cron_files(tree):
        hits = _file_hits(tree, path, cron=True)
        if hits:
            found.add("cron-docker", Severity.WARNING, "cron jobs in %s call Docker: %s" % (path, _hits_text(hits)),
                      "these jobs fail once Docker is stopped or removed",
                      "rewrite them for crictl/ctr or keep Docker installed for them", suffix=path, path=path,
                      lines=hits[:MAX_LINES_PER_FINDING])


def _script_files(tree, script_paths):
    """The files of ``script_paths`` (a directory's files, not recursive), Docker's own programs left out."""
    files = []
    for path in script_paths:
        if tree.is_dir(path):
            candidates = [posixpath.join(path, name) for name in tree.listdir(path)]
        else:
            candidates = [path]
        files.extend(candidate for candidate in candidates
                     if posixpath.basename(candidate) not in SCRIPT_SKIP_NAMES and tree.is_file(candidate))
    return files


def scan_scripts(tree, found, script_paths):
    """A warning for every script calling Docker."""
    for path in _script_files(tree, script_paths):
        hits = _file_hits(tree, path)
        if hits:
            found.add("script-docker", Severity.WARNING, "%s calls Docker: %s" % (path, _hits_text(hits)),
                      "the script fails once Docker is stopped or removed",
                      "rewrite it for crictl/ctr (namespace k8s.io) or keep Docker installed for it",
                      suffix=path, path=path, lines=hits[:MAX_LINES_PER_FINDING])

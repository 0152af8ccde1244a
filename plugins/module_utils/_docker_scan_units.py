# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Systemd units other than Docker's own that depend on Docker, are ordered against it or run Docker commands."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import Severity
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_systemd import UNIT_DIRS, parse_unit
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_words import (
    DOCKER_SERVICE_UNITS,
    docker_references,
)

# The units of the runtime being replaced: not scanned.
DOCKER_UNITS = ("docker.service", "docker.socket", "cri-docker.service", "cri-docker.socket", "containerd.service")
DEPENDENCY_KEYS = ("Requires", "BindsTo", "Requisite", "PartOf")
ORDERING_KEYS = ("After", "Before", "Wants", "WantedBy")


def _unit_files(tree):
    """``[(unit, path)]`` of the units and drop-ins to scan: one unit file per name (the first directory wins,
    links are skipped), every drop-in file once."""
    files = []
    seen = set()
    seen_files = set()
    for directory in UNIT_DIRS:
        for name in tree.listdir(directory):
            path = posixpath.join(directory, name)
            if name.endswith(".service.d") and tree.is_dir(path):
                unit = name[:-2]
                if unit in DOCKER_UNITS:
                    continue
                for conf in tree.listdir(path):
                    identity = tree.identity(posixpath.join(path, conf))
                    if conf.endswith(".conf") and identity not in seen_files:
                        seen_files.add(identity)
                        files.append((unit, posixpath.join(path, conf)))
                continue
            if not name.endswith(".service") or name in DOCKER_UNITS or name in seen or tree.is_link(path):
                continue
            seen.add(name)
            files.append((name, path))
    return files


def _docker_entries(text):
    """Return ``(depends, ordered, execs)``: the ``key=value`` entries that tie a unit to Docker, by strength."""
    depends, ordered, execs = [], [], []
    for _section, key, value in parse_unit(text):
        names_docker = any(word in DOCKER_SERVICE_UNITS for word in value.split())
        if key in DEPENDENCY_KEYS and names_docker:
            depends.append("%s=%s" % (key, value))
        elif key in ORDERING_KEYS and names_docker:
            ordered.append("%s=%s" % (key, value))
        elif key.startswith("Exec") and docker_references(value):
            execs.append("%s=%s" % (key, value))
    return depends, ordered, execs


def _scan_unit(tree, found, unit, path):
    text = tree.read(path)
    if text is None:
        return
    depends, ordered, execs = _docker_entries(text)
    if unit == "kubelet.service" and depends:
        found.add("kubelet-requires-docker", Severity.BLOCKING, "%s: %s" % (path, "; ".join(depends)),
                  "systemd stops the kubelet together with Docker and does not start it without Docker",
                  "remove the dependency on Docker (depend on containerd.service instead)", suffix=path)
    elif depends or execs:
        found.add("unit-docker", Severity.WARNING,
                  "unit %s depends on Docker: %s" % (unit, "; ".join(depends + execs)),
                  "the unit stops with Docker (Requires/BindsTo/PartOf) or its Docker commands fail",
                  "move the unit off Docker, or keep Docker installed for it (containerd_switch can leave Docker "
                  "installed)", suffix=path, path=path)
    elif ordered:
        found.add("unit-docker-ordering", Severity.INFO,
                  "unit %s is ordered against Docker: %s" % (unit, "; ".join(ordered)),
                  "nothing: ordering against a stopped unit is ignored",
                  "drop the ordering when Docker is removed", suffix=path, path=path)


def scan_units(tree, found):
    """Findings of the units and drop-ins in systemd's unit directories, Docker's own units left out."""
    for unit, path in _unit_files(tree):
        _scan_unit(tree, found, unit, path)

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and edit Docker's ``daemon.json`` with the standard library only (runs on the node)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

DEFAULT_PATH = "/etc/docker/daemon.json"
CGROUP_DRIVER_OPT = "native.cgroupdriver"
CGROUP_DRIVERS = ("systemd", "cgroupfs")


def _json_kind(value):
    """Name the JSON type of a parsed value for a message: 'a list', 'a number', ..."""
    for kind, name in ((bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string"),
                       (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return "null"


def parse_daemon_json(text, path):
    """Parse the text of a daemon.json; an empty text is ``{}``."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NodeOpsError(
            "%s is not valid JSON (%s); dockerd would refuse to start with it too. The file is left untouched; "
            "fix it (for example check it with 'python3 -m json.tool %s') or restore it from its backup, "
            "then run again" % (path, exc, path),
            path=path,
        )
    if not isinstance(data, dict):
        raise NodeOpsError(
            "%s must hold a JSON object ({...}), found %s; dockerd would refuse to start with it too. The file is "
            "left untouched; write it as an object of settings, for example {\"exec-opts\": "
            "[\"native.cgroupdriver=systemd\"]}, and run again" % (path, _json_kind(data)),
            path=path,
        )
    return data


def read_text(path):
    """Return the text of ``path``, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise NodeOpsError("cannot read %s: %s; check the permissions (become: true)" % (path, exc), path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NodeOpsError("%s is not UTF-8 text (%s); the file is left untouched. Check that path points at "
                           "the configuration file and restore it from a backup if it was damaged" % (path, exc),
                           path=path)


def read_daemon_json(path=DEFAULT_PATH):
    """Return the parsed daemon.json (``{}`` when it does not exist). Read-only."""
    return parse_daemon_json(read_text(path), path)


def cgroup_driver_entries(data, path=DEFAULT_PATH):
    """Return the ``native.cgroupdriver`` values found in ``exec-opts``."""
    opts = data.get("exec-opts", [])
    if not isinstance(opts, list) or not all(isinstance(opt, str) for opt in opts):
        raise NodeOpsError(
            "%s: 'exec-opts' must be a list of strings, found %s; dockerd would refuse to start with it too. The "
            "file is left untouched; write it as a list of strings, for example \"exec-opts\": "
            "[\"native.cgroupdriver=systemd\"], and run again" % (path, json.dumps(opts)),
            path=path, key="exec-opts")
    values = []
    for opt in opts:
        name, sep, value = opt.partition("=")
        if sep and name.strip() == CGROUP_DRIVER_OPT:
            values.append(value.strip())
    return values


def cgroup_driver(data, path=DEFAULT_PATH):
    """Return the cgroup driver set in daemon.json, or None when not set (dockerd then picks its default)."""
    values = cgroup_driver_entries(data, path)
    return values[-1] if values else None


def set_cgroup_driver(data, driver, path=DEFAULT_PATH):
    """Return a copy of ``data`` with exactly one ``native.cgroupdriver=<driver>`` in ``exec-opts``.

    Other exec-opts keep their order; the entry replaces the first existing
    cgroup driver entry, or is appended. A first entry that already sets
    ``driver`` is kept as written: dockerd trims the spaces around the name
    and the value (``native.cgroupdriver = systemd`` is systemd), so
    rewriting it would change the file, and restart Docker, for nothing.
    """
    if driver not in CGROUP_DRIVERS:
        raise NodeOpsError("cgroup_driver must be one of %s, got %r" % (", ".join(CGROUP_DRIVERS), driver))
    cgroup_driver_entries(data, path)  # validates exec-opts
    new = dict(data)
    wanted = "%s=%s" % (CGROUP_DRIVER_OPT, driver)
    opts = []
    placed = False
    for opt in data.get("exec-opts", []):
        name, sep, value = opt.partition("=")
        if sep and name.strip() == CGROUP_DRIVER_OPT:
            if not placed:
                opts.append(opt if value.strip() == driver else wanted)
                placed = True
            continue
        opts.append(opt)
    if not placed:
        opts.append(wanted)
    new["exec-opts"] = opts
    return new


def render(data):
    """Serialise daemon.json the way it is usually written: 2-space indent, trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def edit_daemon_json(text, path, cgroup_driver_value):
    """Return ``(changed, before, after, new_text)`` for the requested cgroup driver."""
    data = parse_daemon_json(text, path)
    before = cgroup_driver(data, path)
    new = set_cgroup_driver(data, cgroup_driver_value, path)
    changed = new != data
    new_text = render(new) if changed else text
    return changed, {"cgroup_driver": before, "exec-opts": data.get("exec-opts")}, \
        {"cgroup_driver": cgroup_driver_value, "exec-opts": new["exec-opts"]}, new_text

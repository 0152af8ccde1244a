# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read systemd units and drop-ins, and the shell-style environment files they load."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_flags import split_words

# Where systemd looks for units, the directory that wins first.
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
             "/lib/systemd/system")


def _entry(section, line):
    key, sep, value = line.partition("=")
    return (section, key.strip(), value.strip()) if sep else None


def parse_unit(text):
    """Parse a systemd unit or drop-in into ``[(section, key, value)]`` in file order.

    Comments (``#``, ``;``) and blank lines are skipped; a line ending with a
    backslash continues on the next line, as for systemd.
    """
    entries = []
    section = None
    pending = ""
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        entries.append(_entry(section, line))
    if pending.strip():
        entries.append(_entry(section, pending))
    return [entry for entry in entries if entry]


def parse_assignments(value, where):
    """Split an ``Environment=`` value (or an env-file line) into ``{NAME: value}``."""
    variables = {}
    words = split_words(value, where)
    if words and words[0] == "export":
        words = words[1:]
    for word in words:
        name, sep, val = word.partition("=")
        if sep and name:
            variables[name] = val
    return variables


def parse_env_file(text, where):
    """Read a shell-style ``NAME=value`` file (EnvironmentFile=, /etc/default/docker)."""
    variables = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        variables.update(parse_assignments(stripped, "%s line %d" % (where, number)))
    return variables

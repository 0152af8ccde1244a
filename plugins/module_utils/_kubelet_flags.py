# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and edit the kubelet's flag file ``kubeadm-flags.env`` (standard library only, runs on the node).

The file is a shell-style variable file read by systemd (``EnvironmentFile=``),
normally one line::

    KUBELET_KUBEADM_ARGS="--container-runtime=docker --network-plugin=cni --pod-infra-container-image=k8s.gcr.io/pause:3.6"

Lines are split with :mod:`shlex`; only the line of the edited variable is
rewritten, every other line (comments, other variables) stays byte for byte.
Inside the variable, untouched flags keep their exact spelling and order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

DEFAULT_PATH = "/var/lib/kubelet/kubeadm-flags.env"
DEFAULT_VARIABLE = "KUBELET_KUBEADM_ARGS"
CONTAINERD_ENDPOINT = "unix:///run/containerd/containerd.sock"

# Flags that only meant something to dockershim; they were removed from the
# kubelet in 1.24 together with dockershim, and a 1.24+ kubelet refuses to
# start with them ("unknown flag").
DOCKERSHIM_ONLY_FLAGS = (
    "docker-endpoint",
    "image-pull-progress-deadline",
    "network-plugin",
    "network-plugin-mtu",
    "cni-bin-dir",
    "cni-conf-dir",
    "cni-cache-dir",
    "experimental-dockershim-root-directory",
    "docker-disable-shared-pid",
)

# Default CNI directories of dockershim; other values must be carried over to
# containerd's CRI plugin by hand (its cni bin_dir / conf_dir).
CNI_DEFAULTS = {
    "cni-bin-dir": "/opt/cni/bin",
    "cni-conf-dir": "/etc/cni/net.d",
    "cni-cache-dir": "/var/lib/cni/cache",
}

# Characters that need no quoting inside a double-quoted value read by
# systemd's EnvironmentFile= and split again by ExecStart's $VARIABLE.
_UNSAFE_IN_VALUE = set(" \t\n\"'\\$`")
# What systemd's EnvironmentFile= reads as an assignment: a variable name, then "=".
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def parse_version(text):
    """Return ``(major, minor)`` of a version such as ``v1.23.17`` or ``Kubernetes v1.23.17``; None if unknown."""
    if not text:
        return None
    for word in str(text).split():
        word = word.lstrip("vV")
        parts = word.split(".")
        if len(parts) >= 2 and parts[0].isdigit():
            minor = ""
            for char in parts[1]:
                if not char.isdigit():
                    break
                minor += char
            if minor:
                return int(parts[0]), int(minor)
    return None


def split_words(text, where):
    """Split shell-style text into words; errors name the file and the cause."""
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError as exc:
        raise NodeOpsError(
            "%s cannot be read as shell words (%s); the file is left untouched. Fix the quoting and run again"
            % (where, exc), path=where)


def find_variable(text, variable, path):
    """Return ``(lines, index, value)`` of the line assigning ``variable``; index is None when absent.

    A variable assigned on more than one line is refused: which one wins is
    systemd's business and guessing it is not worth the risk.
    """
    lines = text.splitlines(True)
    found = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith(";"):
            continue
        words = split_words(stripped, "%s line %d" % (path, index + 1))
        if words and words[0] == "export":
            words = words[1:]
        if not words or not _ASSIGNMENT.match(words[0]):
            raise NodeOpsError(
                "%s line %d is not a VARIABLE=value assignment (%s); systemd skips such a line, so the kubelet "
                "does not get what it holds. The file is left untouched; write it as %s=\"...\" (or comment it "
                "out with #) and run again" % (path, index + 1, stripped, variable), path=path, line=index + 1)
        if len(words) != 1:
            continue
        name, sep, value = words[0].partition("=")
        if sep and name == variable:
            found.append((index, value))
    if len(found) > 1:
        raise NodeOpsError(
            "%s assigns %s on %d lines (%s); the file is left untouched. Keep one assignment and run again"
            % (path, variable, len(found), ", ".join(str(index + 1) for index, _value in found)),
            path=path)
    if not found:
        return lines, None, None
    return lines, found[0][0], found[0][1]


def tokenize_flags(words):
    """Group words into flags: a list of dicts ``{name, value, words}``.

    ``--name=value`` and ``--name value`` carry a value, a flag followed by
    another flag (or by nothing) is a boolean. The kubelet takes no positional
    arguments, so a word that does not start with ``-`` is the value of the
    flag before it. ``words`` keeps the original spelling.
    """
    flags = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-") or word in ("-", "--"):
            flags.append({"name": None, "value": word, "words": [word]})
            continue
        name, sep, value = word.lstrip("-").partition("=")
        if sep:
            flags.append({"name": name, "value": value, "words": [word]})
        elif index < len(words) and not words[index].startswith("-"):
            flags.append({"name": name, "value": words[index], "words": [word, words[index]]})
            index += 1
        else:
            flags.append({"name": name, "value": None, "words": [word]})
    return flags


def flags_dict(flags):
    """``{name: value}`` of tokenized flags (the last occurrence wins, as for the kubelet)."""
    values = {}
    for flag in flags:
        if flag["name"] is not None:
            values[flag["name"]] = flag["value"] if flag["value"] is not None else "true"
    return values


def read_flags(text, path, variable=DEFAULT_VARIABLE):
    """Return ``{name: value}`` of the flags in ``variable`` of a flag file text (``{}`` when absent)."""
    if text is None:
        return {}
    _lines, index, value = find_variable(text, variable, path)
    if index is None:
        return {}
    return flags_dict(tokenize_flags(split_words(value, "%s (%s)" % (path, variable))))


def container_runtime_plan(kubelet_version):
    """Return what to do with ``--container-runtime`` for a kubelet version: ``"remote"`` or ``None`` (drop it).

    Up to 1.23 the kubelet's default runtime is ``docker`` (dockershim), so the
    flag must say ``remote``; from 1.24 ``remote`` is the only value and the
    flag is removed in 1.27, so it is dropped.
    """
    version = parse_version(kubelet_version)
    if version is None:
        raise NodeOpsError(
            "cannot tell the kubelet version from %r; give kubelet_version (for example v1.23.17, as in "
            "'kubectl get node -o wide')" % (kubelet_version,))
    if version < (1, 24):
        return "remote"
    return None


def endpoint_in_config_file(kubelet_version):
    """True from kubelet 1.27, whose KubeletConfiguration has containerRuntimeEndpoint (kubeadm writes it there)."""
    version = parse_version(kubelet_version)
    return version is not None and version >= (1, 27)


def _render_word(name, value):
    word = "--%s" % name if value is None else "--%s=%s" % (name, value)
    if set(word) & _UNSAFE_IN_VALUE:
        raise NodeOpsError(
            "the flag %r cannot be written to the kubelet flag file: a value with spaces, quotes, '$', '`' or "
            "backslashes is split or expanded by systemd; choose a value without them" % word)
    return word


def edit_flags(flags, set_flags, remove_flags):
    """Return ``(new_flags, removed, set)``: flags with ``remove_flags`` dropped and ``set_flags`` in place.

    A set flag replaces its first occurrence (later duplicates are dropped) or
    is appended. ``removed`` lists ``{name, value}`` of dropped flags; ``set``
    lists ``{name, before, after}`` of flags whose value changes.
    """
    remove_flags = set(remove_flags) - set(set_flags)
    new_flags = []
    removed = []
    placed = set()
    changes = []
    for flag in flags:
        name = flag["name"]
        if name in remove_flags:
            removed.append({"name": name, "value": flag["value"]})
            continue
        if name in set_flags:
            if name in placed:
                removed.append({"name": name, "value": flag["value"]})
                continue
            placed.add(name)
            wanted = set_flags[name]
            if flag["value"] != wanted:
                changes.append({"name": name, "before": flag["value"], "after": wanted})
                new_flags.append({"name": name, "value": wanted, "words": [_render_word(name, wanted)]})
                continue
        new_flags.append(flag)
    for name in sorted(set(set_flags) - placed):
        changes.append({"name": name, "before": None, "after": set_flags[name]})
        new_flags.append({"name": name, "value": set_flags[name], "words": [_render_word(name, set_flags[name])]})
    return new_flags, removed, changes


def render_value(flags, where):
    """Join flags back into the variable's value; words that need quoting are refused."""
    words = []
    for flag in flags:
        for word in flag["words"]:
            if set(word) & _UNSAFE_IN_VALUE:
                raise NodeOpsError(
                    "%s: the word %r contains spaces, quotes, '$', '`' or backslashes; the file cannot be rewritten "
                    "safely and is left untouched. Edit it by hand" % (where, word))
            words.append(word)
    return " ".join(words)


def switch_to_containerd(text, path, kubelet_version, endpoint=CONTAINERD_ENDPOINT, variable=DEFAULT_VARIABLE,
                         extra_set=None, extra_remove=None):
    """Plan the kubelet flag change for containerd.

    Returns a dict with ``changed``, ``text`` (the new file text), ``before`` /
    ``after`` (flag dicts), ``removed``, ``set`` and ``warnings``.
    """
    if text is None:
        raise NodeOpsError(
            "%s does not exist; kubeadm writes it on 'kubeadm init/join'. Without it the kubelet flags cannot be "
            "switched safely; check the path (kubelet_flags path) and that this is a kubeadm node" % path, path=path)
    if not endpoint or not endpoint.startswith("unix://"):
        raise NodeOpsError("container_runtime_endpoint must be a unix:// socket URL, got %r" % (endpoint,))
    lines, index, value = find_variable(text, variable, path)
    where = "%s (%s)" % (path, variable)
    flags = tokenize_flags(split_words(value or "", where))
    stray = [flag["value"] for flag in flags if flag["name"] is None]
    if stray:
        raise NodeOpsError(
            "%s holds words that are not kubelet flags: %s; the file is left untouched. Write every flag as "
            "--name=value (or --name value) and run again" % (where, ", ".join(stray)), path=path)
    before = flags_dict(flags)
    set_flags = {"container-runtime-endpoint": endpoint}
    if endpoint_in_config_file(kubelet_version) and "container-runtime-endpoint" not in before:
        # kubeadm 1.27+ keeps the endpoint in config.yaml (containerRuntimeEndpoint), where the flag is
        # deprecated: the flag is only corrected where it is already set, never added.
        del set_flags["container-runtime-endpoint"]
    remove = list(DOCKERSHIM_ONLY_FLAGS)
    runtime = container_runtime_plan(kubelet_version)
    if runtime:
        set_flags["container-runtime"] = runtime
    else:
        remove.append("container-runtime")
    if before.get("image-service-endpoint") and before["image-service-endpoint"] != endpoint:
        set_flags["image-service-endpoint"] = endpoint
    set_flags.update(extra_set or {})
    remove.extend(extra_remove or [])
    new_flags, removed, changes = edit_flags(flags, set_flags, remove)
    after = flags_dict(new_flags)
    warnings = []
    for name, default in sorted(CNI_DEFAULTS.items()):
        if before.get(name) and before[name].rstrip("/") != default:
            warnings.append(
                "the kubelet flag --%s=%s is dropped; containerd's CRI plugin reads CNI from its own setting "
                "(default %s): set it in containerd's config.toml (cni bin_dir/conf_dir) or the pod network breaks"
                % (name, before[name], default))
    changed = bool(removed or changes)
    new_text = text
    if changed:
        line = '%s="%s"\n' % (variable, render_value(new_flags, where))
        if index is None:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines.append(line)
        else:
            lines[index] = line
        new_text = "".join(lines)
        if read_flags(new_text, path, variable) != after:
            raise NodeOpsError(
                "internal check failed: the rewritten %s does not read back as the planned flags; the file is left "
                "untouched" % path, path=path)
    return {
        "changed": changed,
        "text": new_text,
        "before": before,
        "after": after,
        "removed": removed,
        "set": changes,
        "warnings": warnings,
    }

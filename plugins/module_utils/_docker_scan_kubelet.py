# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubelet's flag files: the sandbox image to carry over, CNI directories containerd must be told about and
runtime flags set outside kubeadm-flags.env."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import Severity
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_flags import (
    CNI_DEFAULTS,
    DOCKERSHIM_ONLY_FLAGS,
    find_variable,
    flags_dict,
    split_words,
    tokenize_flags,
)

# kubeadm-flags.env first: the switch edits it; the others come later on the kubelet's command line.
KUBELET_FLAG_FILES = ("/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet")
RUNTIME_FLAGS = DOCKERSHIM_ONLY_FLAGS + ("container-runtime", "container-runtime-endpoint")


def _variables(text, path):
    """Names of the variables a shell-style file assigns, in file order."""
    names = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        words = split_words(stripped, "%s line %d" % (path, number))
        if words and words[0] == "export":
            words = words[1:]
        if len(words) == 1 and "=" in words[0]:
            name = words[0].partition("=")[0]
            if name not in names:
                names.append(name)
    return names


def read_kubelet_flags(text, path):
    """``{flag: value}`` of every variable of a kubelet flag file (a later variable wins)."""
    flags = {}
    for variable in _variables(text, path):
        _lines, _index, value = find_variable(text, variable, path)
        flags.update(flags_dict(tokenize_flags(split_words(value or "", "%s (%s)" % (path, variable)))))
    return flags


def _cni_findings(found, path, flags):
    for name, default in sorted(CNI_DEFAULTS.items()):
        if flags.get(name) and flags[name].rstrip("/") != default:
            found.add("kubelet-cni-dir", Severity.WARNING, "%s sets --%s=%s" % (path, name, flags[name]),
                      "containerd looks for CNI in its own directories (default %s): the pod network does not "
                      "come up" % default,
                      "set containerd's CRI cni bin_dir/conf_dir to %s before the switch" % flags[name],
                      suffix="%s:%s" % (path, name))


def _override_findings(found, path, flags):
    runtime_flags = sorted(name for name in flags if name in RUNTIME_FLAGS)
    if runtime_flags:
        found.add("kubelet-flags-elsewhere", Severity.BLOCKING,
                  "%s sets runtime flags %s" % (path, ", ".join("--%s" % name for name in runtime_flags)),
                  "these flags come after kubeadm-flags.env on the kubelet command line and override the "
                  "switch (the kubelet keeps using Docker, or refuses to start)",
                  "remove them from %s, or edit that file with nodeops.kubernetes.kubelet_flags "
                  "(path, variable)" % path, suffix=path)


def scan_kubelet_flags(tree, found, carry_over, paths):
    """Read the kubelet flag files ``paths``; the sandbox image goes into ``carry_over``."""
    for path in paths:
        text = tree.read(path)
        if text is None:
            continue
        flags = read_kubelet_flags(text, path)
        if flags.get("pod-infra-container-image"):
            carry_over["sandbox_image"] = flags["pod-infra-container-image"]
        _cni_findings(found, path, flags)
        if path != KUBELET_FLAG_FILES[0]:
            _override_findings(found, path, flags)

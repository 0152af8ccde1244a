#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubelet_flags
short_description: Point the kubelet's flags at containerd instead of Docker (kubeadm-flags.env)
version_added: 0.1.0
description:
  - Edits the kubelet flag file written by kubeadm (C(/var/lib/kubelet/kubeadm-flags.env)) for the switch from
    Docker (dockershim) to containerd.
  - Sets C(--container-runtime-endpoint) to O(container_runtime_endpoint). From kubelet 1.27, where kubeadm keeps the
    endpoint in the kubelet's configuration file (C(containerRuntimeEndpoint)) and the flag is deprecated, the flag is
    only corrected where the file already has it, never added; set the configuration file with
    M(nodeops.kubernetes.kubelet_config). Removes the flags that only dockershim
    used (C(--docker-endpoint), C(--image-pull-progress-deadline), C(--network-plugin), C(--network-plugin-mtu),
    C(--cni-bin-dir), C(--cni-conf-dir), C(--cni-cache-dir), C(--experimental-dockershim-root-directory),
    C(--docker-disable-shared-pid)); a kubelet 1.24 or newer refuses to start with them.
  - C(--container-runtime) depends on the kubelet version. Up to 1.23 its default is C(docker), so it is set to
    C(remote); from 1.24 it is dropped (C(remote) is the only value and the flag is gone in 1.27).
  - Every other flag keeps its spelling and order; every other line of the file stays as it is. The file is split
    into words with the shell rules (C(shlex)), never with regular expressions.
  - Writes a temporary file next to the destination and renames it over it, so an interrupted run never leaves a
    half-written file. Owner and mode are kept.
  - The kubelet is not restarted by this module.
author:
  - nodeops maintainers (@nodeops)
options:
  path:
    description:
      - Path of the kubelet flag file.
    type: path
    default: /var/lib/kubelet/kubeadm-flags.env
  variable:
    description:
      - Name of the variable holding the flags.
    type: str
    default: KUBELET_KUBEADM_ARGS
  container_runtime_endpoint:
    description:
      - CRI socket of containerd.
    type: str
    default: unix:///run/containerd/containerd.sock
  kubelet_version:
    description:
      - Version of the kubelet on the node, for example V(v1.23.17) (column VERSION of C(kubectl get nodes)).
      - When omitted, C(kubelet --version) is run on the node; the task fails if that does not tell.
    type: str
  set_flags:
    description:
      - Further flags to set, as a mapping of flag name (without C(--)) to value.
    type: dict
    default: {}
  remove_flags:
    description:
      - Further flags to remove (names without C(--)).
    type: list
    elements: str
    default: []
  backup:
    description:
      - Keep a timestamped copy of the file before changing it.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - A missing file, a variable assigned on several lines, words that are not flags, or values containing spaces,
    quotes, C($), backquotes or backslashes are refused; the file is then left untouched.
  - When C(--cni-bin-dir) or C(--cni-conf-dir) had a non-default value, RV(flag_warnings) says so, because
    containerd reads the CNI directories from its own configuration.
"""

EXAMPLES = r"""
- name: Point the kubelet at containerd
  nodeops.kubernetes.kubelet_flags:
    kubelet_version: v1.23.17
  become: true
  register: kubelet_flags

- name: Restart the kubelet when its flags changed
  ansible.builtin.service:
    name: kubelet
    state: restarted
  become: true
  when: kubelet_flags is changed
"""

RETURN = r"""
path:
  description: Path of the file.
  returned: always
  type: str
  sample: /var/lib/kubelet/kubeadm-flags.env
before:
  description: The flags before the run, as a mapping of name to value.
  returned: always
  type: dict
  sample: {"container-runtime": "docker", "network-plugin": "cni", "pod-infra-container-image": "k8s.gcr.io/pause:3.6"}
after:
  description: The flags after the run (what they would be in check mode).
  returned: always
  type: dict
  sample: {"container-runtime": "remote", "container-runtime-endpoint": "unix:///run/containerd/containerd.sock",
           "pod-infra-container-image": "k8s.gcr.io/pause:3.6"}
removed:
  description: Flags removed, with their old value.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "network-plugin", "value": "cni"}]
set:
  description: Flags whose value was set or changed.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "container-runtime", "before": "docker", "after": "remote"}]
flag_warnings:
  description: Settings that are dropped and must be carried over elsewhere; each is also shown as a task warning.
  returned: always
  type: list
  elements: str
  sample: []
kubelet_version:
  description: The kubelet version the edit was planned for.
  returned: always
  type: str
  sample: v1.23.17
backup_file:
  description: Name of the backup file.
  returned: when a backup was made
  type: str
  sample: /var/lib/kubelet/kubeadm-flags.env.12345.2024-01-01@02:00:00~
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import read_text
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import edit_result
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_flags import (
    CONTAINERD_ENDPOINT,
    DEFAULT_PATH,
    DEFAULT_VARIABLE,
    parse_version,
    switch_to_containerd,
)


def detect_kubelet_version(module):
    """Return the output of ``kubelet --version`` or raise naming the fix."""
    binary = module.get_bin_path("kubelet")
    if binary:
        rc, stdout, stderr = module.run_command([binary, "--version"])
        if rc == 0 and parse_version(stdout):
            return stdout.strip()
        detail = (stderr or stdout).strip() or "rc=%s" % rc
    else:
        detail = "kubelet not found in PATH"
    raise NodeOpsError("cannot tell the kubelet version on this node (%s); give kubelet_version" % detail)


def write_atomically(module, path, text):
    """Write ``text`` to a temporary file in the same directory and rename it over ``path``."""
    handle, tmp_path = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(to_bytes(text))
            tmp.flush()
            os.fsync(tmp.fileno())
        module.atomic_move(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)


def run(module):
    params = module.params
    path = params["path"]
    version = params["kubelet_version"] or detect_kubelet_version(module)
    text = read_text(path)
    extra_set = dict((str(name), str(value)) for name, value in params["set_flags"].items())
    plan = switch_to_containerd(text, path, version, endpoint=params["container_runtime_endpoint"],
                                variable=params["variable"], extra_set=extra_set,
                                extra_remove=params["remove_flags"])
    result = edit_result(path, plan["changed"], plan["before"], plan["after"], text or "", plan["text"],
                         module._diff, removed=plan["removed"], set=plan["set"], flag_warnings=plan["warnings"],
                         kubelet_version=version)
    if plan["changed"] and not module.check_mode:
        if params["backup"]:
            result["backup_file"] = module.backup_local(path)
        write_atomically(module, path, plan["text"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=DEFAULT_PATH),
            variable=dict(type="str", default=DEFAULT_VARIABLE),
            container_runtime_endpoint=dict(type="str", default=CONTAINERD_ENDPOINT),
            kubelet_version=dict(type="str"),
            set_flags=dict(type="dict", default={}),
            remove_flags=dict(type="list", elements="str", default=[]),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except NodeOpsError as err:
        module.fail_json(**err.to_result())
    for warning in result["flag_warnings"]:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

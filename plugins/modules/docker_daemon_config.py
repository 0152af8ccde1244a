#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: docker_daemon_config
short_description: Set Docker's cgroup driver in daemon.json
version_added: 0.1.0
description:
  - Sets the C(native.cgroupdriver) entry of C(exec-opts) in Docker's C(daemon.json) on the node,
    keeping every other setting and every other C(exec-opts) entry.
  - A missing file is treated as an empty object C({}) and created.
  - A file that is not valid JSON, or whose C(exec-opts) is not a list of strings, is refused and left untouched.
  - Writes a temporary file next to the destination and renames it over the destination, so an interrupted
    run never leaves a half-written file. Owner and mode of an existing file are kept.
  - Restarting Docker (and kubelet) is not done by this module.
author:
  - nodeops maintainers (@nodeops)
options:
  path:
    description:
      - Path of the Docker daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  cgroup_driver:
    description:
      - The cgroup driver Docker must use. It must match the C(cgroupDriver) of the kubelet.
    type: str
    required: true
    choices: [systemd, cgroupfs]
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
  - The file is rewritten with a two-space JSON indentation when it changes. Nothing is written when the setting
    is already in place.
  - dockerd refuses to start when the same option is given both as a command line flag and in C(daemon.json).
    If the Docker service passes C(--exec-opt) on its command line, move that flag into C(daemon.json) first.
"""

EXAMPLES = r"""
- name: Switch Docker to the systemd cgroup driver
  nodeops.kubernetes.docker_daemon_config:
    cgroup_driver: systemd
  become: true
  register: docker_cgroup

- name: Restart Docker when the driver changed
  ansible.builtin.service:
    name: docker
    state: restarted
  become: true
  when: docker_cgroup is changed
"""

RETURN = r"""
path:
  description: Path of the file.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
before:
  description: The cgroup driver and C(exec-opts) before the run (null when not set).
  returned: always
  type: dict
  sample: {"cgroup_driver": null, "exec-opts": null}
after:
  description: The cgroup driver and C(exec-opts) after the run (what they would be in check mode).
  returned: always
  type: dict
  sample: {"cgroup_driver": "systemd", "exec-opts": ["native.cgroupdriver=systemd"]}
backup_file:
  description: Name of the backup file.
  returned: when a backup was made
  type: str
  sample: /etc/docker/daemon.json.12345.2024-01-01@02:00:00~
created:
  description: Whether the file did not exist and was (or would be) created.
  returned: always
  type: bool
  sample: false
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import (
    DEFAULT_PATH,
    edit_daemon_json,
    read_text,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import edit_result


def write_atomically(module, path, text):
    """Write ``text`` to a temporary file in the same directory and rename it over ``path``."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise NodeOpsError(
            "the directory %s does not exist, so %s cannot be written; is Docker installed on this node?"
            % (directory, path),
            path=path,
        )
    handle, tmp_path = tempfile.mkstemp(prefix=".daemon.json.", dir=directory)
    try:
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(to_bytes(text))
            tmp.flush()
            os.fsync(tmp.fileno())
        if not os.path.exists(path):
            os.chmod(tmp_path, 0o644)
        module.atomic_move(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)


def run(module):
    path = module.params["path"]
    text = read_text(path)
    changed, before, after, new_text = edit_daemon_json(text, path, module.params["cgroup_driver"])
    result = edit_result(path, changed, before, after, text or "", new_text or "", module._diff,
                         created=text is None)
    if changed and not module.check_mode:
        if module.params["backup"] and text is not None:
            result["backup_file"] = module.backup_local(path)
        write_atomically(module, path, new_text)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=DEFAULT_PATH),
            cgroup_driver=dict(type="str", required=True, choices=["systemd", "cgroupfs"]),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_file
short_description: Read or write one configuration file on a node in one module run, for the collection's editors
version_added: 0.3.0
description:
  - The node side of the collection's file editors (M(nodeops.kubernetes.kubelet_config),
    M(nodeops.kubernetes.containerd_config), M(nodeops.kubernetes.containerd_registry_hosts),
    M(nodeops.kubernetes.static_pod_restart)), which parse and change files on the controller. Playbooks and roles
    use those editors; this module is what they run on the node.
  - O(state=read) returns what the file is (following links) and, for a regular file, its content. Nothing changes.
  - O(state=written) puts O(content) into the file through a temporary file in its directory renamed over it, so
    that a run killed in the middle leaves the old file or the new one. An existing file keeps its mode, owner, group
    and SELinux context, and with O(backup=true) a copy of it is kept beside it first. A new file gets O(mode) and its
    missing directories are created. The same content is no change.
  - A path that exists but is not a regular file is refused and left as it is.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description: The file on the node. A link is followed.
    type: path
    required: true
  state:
    description: V(read) reads the file; V(written) writes O(content) into it.
    type: str
    choices: [read, written]
    default: read
  get_content:
    description: With O(state=read), also return the content of a regular file.
    type: bool
    default: true
  content:
    description: With O(state=written), the whole new text of the file. Required with O(state=written).
    type: str
  backup:
    description: With O(state=written), keep a timestamped copy of an existing file before replacing it.
    type: bool
    default: false
  mode:
    description: With O(state=written), the mode of a file that does not exist yet; an existing file keeps its own.
    type: str
    default: "0644"
attributes:
  check_mode:
    details: O(state=written) says whether the file would change; nothing is written.
    support: full
  diff_mode:
    details: The editors show the diff of the settings they change; this module returns none.
    support: none
  platform:
    platforms: posix
notes:
  - Needs root for files of root (C(become)).
"""

EXAMPLES = r"""
- name: Read the kubelet's configuration file
  nodeops.kubernetes.node_file:
    path: /var/lib/kubelet/config.yaml
  become: true
  register: kubelet_config_file
"""

RETURN = r"""
stat:
  description:
    - With O(state=read), what the file is; C(exists) false when it does not. For an existing path C(isreg),
      C(isdir), C(mode), C(uid), C(gid), C(pw_name), C(gr_name) and C(size).
  returned: state is read
  type: dict
  sample: {"exists": true, "isreg": true, "isdir": false, "mode": "0644", "pw_name": "root", "gr_name": "root"}
content:
  description: With O(state=read), the content of a regular file in base64.
  returned: state is read, the file is a regular file and O(get_content) is true
  type: str
path:
  description: With O(state=written), the file.
  returned: state is written
  type: str
backup_file:
  description: With O(state=written) and O(backup=true), the copy of the file before it was replaced.
  returned: state is written and a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_file
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["read", "written"], default="read"),
            get_content=dict(type="bool", default=True),
            content=dict(type="str", no_log=True),
            backup=dict(type="bool", default=False),
            mode=dict(type="str", default="0644"),
        ),
        required_if=[("state", "written", ("content",))],
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params["state"] == "read":
            result = _node_file.read(params["path"], params["get_content"])
            result["changed"] = False
        else:
            writer = _node_file.Writer(module.backup_local, module.atomic_move)
            result = writer.write(params["path"], params["content"], params["backup"], params["mode"],
                                  module.check_mode)
            if not result["backup_file"]:
                del result["backup_file"]
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

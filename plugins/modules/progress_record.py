#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: progress_record
short_description: Write or remove the progress record a rolling operation keeps on a node
version_added: 0.3.0
description:
  - The cgroup driver migration and the containerd switch keep a progress record on the node they change, so that
    a run interrupted in the middle of the node is finished by the next one. This module writes that record, or
    removes it, in one module run.
  - O(state=present) writes O(record) as JSON (mode C(0600)) through a temporary file in the same directory renamed
    over O(path), so that a run killed in the middle leaves the old record or the new one, never half of one. The
    directory is created with mode C(0700) when it is missing. A record with the same text and mode is left as it is.
  - O(state=absent) removes the record.
  - Refuses to overwrite or remove a file that is not JSON, or that is the record of another operation, naming the
    file, the cause and the fix; the file is left as it is.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description: The record file on the node.
    type: path
    required: true
  operation:
    description:
      - The operation the record belongs to, for example V(containerd_switch) or V(cgroup_driver). O(record) and
        an existing file must both be records of it.
    type: str
    required: true
  state:
    description: V(present) writes O(record); V(absent) removes the file.
    type: str
    choices: [present, absent]
    default: present
  record:
    description:
      - The record to write, with O(operation) in its C(operation) key. The roles build it with the
        P(nodeops.kubernetes.containerd_switch_progress#filter) and P(nodeops.kubernetes.cgroup_driver_progress#filter)
        filters.
      - Required with O(state=present).
    type: dict
attributes:
  check_mode:
    details: Reports whether the file would be written or removed; nothing changes.
    support: full
  diff_mode:
    details: Shows the record's text before and after.
    support: full
  platform:
    platforms: posix
notes:
  - Needs root when the directory belongs to root (C(become)).
"""

EXAMPLES = r"""
- name: Note the drain in the node's progress record
  nodeops.kubernetes.progress_record:
    path: /var/lib/nodeops/containerd_switch.json
    operation: containerd_switch
    record: "{{ containerd_switch_progress }}"
  become: true

- name: Remove the record once the node is done
  nodeops.kubernetes.progress_record:
    path: /var/lib/nodeops/containerd_switch.json
    operation: containerd_switch
    state: absent
  become: true
"""

RETURN = r"""
path:
  description: The record file.
  returned: success
  type: str
  sample: /var/lib/nodeops/containerd_switch.json
existed:
  description: Whether the file was there before the task.
  returned: success
  type: bool
record:
  description:
    - The record written (with O(state=present)), as O(record) gave it, so that a role keeps what it wrote without a
      task of its own. In check mode, the record that would be written.
  returned: success, with O(state=present)
  type: dict
  sample: {"operation": "cgroup_driver", "node": "worker-1", "step": "drained"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._progress_file import ProgressFile


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            operation=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            record=dict(type="dict"),
        ),
        required_if=[("state", "present", ("record",))],
        supports_check_mode=True,
    )
    record_file = ProgressFile(module.params["path"], module.params["operation"])
    try:
        if module.params["state"] == "present":
            outcome = record_file.write(module.params["record"], module.check_mode)
        else:
            outcome = record_file.remove(module.check_mode)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    result = {"changed": outcome["changed"], "path": outcome["path"], "existed": outcome["existed"]}
    if module.params["state"] == "present":
        result["record"] = module.params["record"]
    if module._diff:
        result["diff"] = {"before": outcome["before"], "after": outcome["after"],
                          "before_header": outcome["path"], "after_header": outcome["path"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

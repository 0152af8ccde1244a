#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: bridge_netfilter
short_description: Check, and on request fix, net.bridge.bridge-nf-call-iptables=1 on a Linux node
version_added: 0.3.0
description:
  - Windows nodes on Flannel VXLAN need every Linux node to pass bridged pod traffic to iptables, that is
    C(net.bridge.bridge-nf-call-iptables=1), which exists only once the C(br_netfilter) kernel module is loaded.
  - Reads C(/proc/sys/net/bridge/bridge-nf-call-iptables) (absent means C(br_netfilter) is not loaded) and
    C(/proc/modules) (a value without the module there means it is built into the kernel).
  - Reads what the next boot applies, as systemd and procps do it. For the value, the C(*.conf) files of
    C(/etc/sysctl.d), C(/run/sysctl.d), C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d) and C(/lib/sysctl.d)
    (a name in an earlier directory hides the same name in a later one; files apply in name order, the last
    assignment wins), then C(/etc/sysctl.conf). For the module, the same directories of C(modules-load.d) and
    C(/etc/modules).
  - A missing module or a value other than C(1) is a problem. A module the next boot would not load, or a sysctl file
    that sets another value at boot, is a warning. No file setting the key is fine, the kernel's default is C(1).
  - With O(fix=true), loads the module (C(modprobe br_netfilter)), writes C(1) into the C(/proc/sys) file and, with
    O(persist=true), adds C(br_netfilter) to O(modules_file) and, when a sysctl file sets another value at boot, sets
    the key to C(1) in O(sysctl_file) (edited in place, comments kept, written atomically with a backup), then checks
    again. Files of others are never edited; a
    file that applies after O(sysctl_file) and sets another value is refused, naming it.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  fix:
    description: Load the module, set the value and (with O(persist)) make the boot do both.
    type: bool
    default: false
  persist:
    description:
      - With O(fix), also write O(modules_file) when the boot would not load the module, and O(sysctl_file) when a
        sysctl file sets another value at boot.
    type: bool
    default: true
  sysctl_file:
    description: The file O(fix) sets the key in; a C(.conf) file in C(/etc/sysctl.d), or C(/etc/sysctl.conf).
    type: path
    default: /etc/sysctl.d/99-nodeops-bridge-netfilter.conf
  modules_file:
    description: The file O(fix) adds C(br_netfilter) to; a C(.conf) file in C(/etc/modules-load.d).
    type: path
    default: /etc/modules-load.d/nodeops-br_netfilter.conf
  on_problem:
    description: V(fail) fails the task when a problem remains; V(warn) returns the problems as warnings.
    type: str
    choices: [fail, warn]
    default: fail
attributes:
  check_mode:
    details: With O(fix=true), reports what it would run and write (RV(actions)); nothing changes.
    support: full
  diff_mode:
    details: Shows the changes of O(modules_file) and O(sysctl_file).
    support: full
  platform:
    platforms: posix
notes:
  - Needs root for O(fix=true) (C(become)); reading works without.
"""

EXAMPLES = r"""
- name: Check that bridged traffic goes through iptables
  nodeops.kubernetes.bridge_netfilter:
  become: true

- name: Load br_netfilter, set the key to 1 and make the boot do both
  nodeops.kubernetes.bridge_netfilter:
    fix: true
  become: true
"""

RETURN = r"""
value:
  description:
    - The running value of C(net.bridge.bridge-nf-call-iptables) (after a fix), or null when C(br_netfilter) is not
      loaded.
  returned: success
  type: str
  sample: "1"
module_loaded:
  description: Whether the value exists, that is C(br_netfilter) is loaded or built in.
  returned: success
  type: bool
findings:
  description:
    - Every check's result, with C(check), C(status) (V(ok), V(error), V(warning), V(fixed), V(would_fix)),
      C(message) and C(fix).
  returned: always
  type: list
  elements: dict
  sample:
    - check: bridge_nf_call_iptables
      status: error
      message: "net.bridge.bridge-nf-call-iptables is 0: bridged pod traffic bypasses iptables"
      fix: "sysctl -w net.bridge.bridge-nf-call-iptables=1 (fix=true does it)"
problems:
  description: The message and fix of every finding with status V(error).
  returned: always
  type: list
  elements: str
actions:
  description: What O(fix) ran and wrote, or would in check mode.
  returned: always
  type: list
  elements: str
  sample: ["modprobe br_netfilter", "write /etc/modules-load.d/nodeops-br_netfilter.conf"]
backups:
  description: Backup copies of files that existed before O(fix) replaced them.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _bridge_netfilter
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            fix=dict(type="bool", default=False),
            persist=dict(type="bool", default=True),
            sysctl_file=dict(type="path", default=_bridge_netfilter.DEFAULT_SYSCTL_FILE),
            modules_file=dict(type="path", default=_bridge_netfilter.DEFAULT_MODULES_FILE),
            on_problem=dict(type="str", choices=["fail", "warn"], default="fail"),
        ),
        supports_check_mode=True,
    )
    system = _bridge_netfilter.NodeSystem(run_command=module.run_command, which=module.get_bin_path,
                                          backup=module.backup_local, atomic_move=module.atomic_move)
    try:
        result = _bridge_netfilter.run(system, module.params, module.check_mode, module._diff)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

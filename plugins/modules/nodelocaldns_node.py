#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nodelocaldns_node
short_description: Report or remove NodeLocal DNSCache's dummy interface and iptables rules on a node
version_added: 0.2.0
description:
  - node-cache puts its addresses on a dummy interface (C(nodelocaldns)) and adds iptables rules so DNS to and
    from them skips conntrack (C(raw) table, C(NOTRACK)) and is accepted (C(filter) table). It removes them when
    it stops cleanly; a killed pod or C(-skipteardown) leaves them behind, and DNS to the kube-dns ClusterIP then
    goes to an address nothing answers on.
  - With O(state=query) this module reports the interface, its addresses and the cache's rules. With
    O(state=absent) it also deletes them. Both iptables backends (nft and legacy) are read when their commands
    exist, since the cache's image may use another backend than the node.
  - Only rules of the cache's shape are touched, in the chains C(raw/PREROUTING), C(raw/OUTPUT), C(filter/INPUT) and
    C(filter/OUTPUT), target C(NOTRACK) (or C(CT --notrack)) or C(ACCEPT), protocol tcp or udp, one of
    O(local_ips) as source or destination and one of O(ports) as port.
  - Runs on the node with its own Python and the C(ip) and C(iptables-save) commands; nothing to install.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  local_ips:
    description:
      - The cache's addresses (the local address, and the kube-dns ClusterIP in iptables mode).
    type: list
    elements: str
    required: true
  interface:
    description:
      - Name of the cache's dummy interface.
    type: str
    default: nodelocaldns
  ports:
    description:
      - Ports of the cache's rules (DNS and the health port).
    type: list
    elements: int
    default: [53, 8080]
  state:
    description:
      - V(query) reports; V(absent) deletes what it finds.
    type: str
    default: query
    choices: [query, absent]
attributes:
  check_mode:
    support: full
    details: With O(state=absent) in check mode, RV(removed) lists what would be deleted.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Needs root (C(become)) to read and change iptables.
"""

EXAMPLES = r"""
- name: Remove what a killed cache left on the node
  nodeops.kubernetes.nodelocaldns_node:
    local_ips: [169.254.20.10, 10.96.0.10]
    state: absent
  become: true
"""

RETURN = r"""
interface:
  description: The interface as found (present, addresses).
  returned: always
  type: dict
  sample: {"present": true, "addresses": ["169.254.20.10", "10.96.0.10"]}
rules:
  description: The cache's rules as found (backend, table, chain, line).
  returned: always
  type: list
  elements: dict
removed:
  description: What was deleted (or would be, in check mode), as lines; empty with O(state=query).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._nodelocaldns_node import (
    cache_rules,
    interface_addresses,
)

BACKENDS = (("iptables", "iptables-save"), ("iptables-legacy", "iptables-legacy-save"))


class NodeSetup(object):
    """Reads and removes the interface and rules through the node's commands."""

    def __init__(self, module):
        self.module = module

    def _run(self, argv):
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            raise NodeOpsError("%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out).strip()))
        return out

    def interface(self, name):
        if not os.path.exists(os.path.join("/sys/class/net", name)):
            return {"present": False, "addresses": []}
        ip = self.module.get_bin_path("ip", required=True)
        output = self._run([ip, "-o", "-4", "addr", "show", "dev", name])
        return {"present": True, "addresses": interface_addresses(output)}

    def rules(self, addresses, ports):
        found = []
        seen = set()
        for command, save in BACKENDS:
            save_bin = self.module.get_bin_path(save)
            command_bin = self.module.get_bin_path(command)
            if not save_bin or not command_bin:
                continue
            for table in ("raw", "filter"):
                rc, out, err = self.module.run_command([save_bin, "-t", table])
                if rc != 0:
                    # a backend without this table (legacy module not loaded): nothing of ours there
                    continue
                for rule in cache_rules(out, addresses, ports):
                    key = (os.path.realpath(command_bin), table, rule["line"])
                    if key in seen:
                        continue
                    seen.add(key)
                    rule.update(backend=command, command=command_bin)
                    found.append(rule)
        return found

    def delete_rule(self, rule):
        self._run([rule["command"], "-w", "5", "-t", rule["table"], "-D", rule["chain"]] + rule["args"])

    def delete_interface(self, name):
        self._run([self.module.get_bin_path("ip", required=True), "link", "del", name])


def run(setup, params, check_mode):
    addresses = [address.strip() for address in params["local_ips"] if address.strip()]
    if not addresses:
        raise NodeOpsError("local_ips is empty; give the cache's addresses (local address, kube-dns ClusterIP)")
    interface = setup.interface(params["interface"])
    rules = setup.rules(addresses, params["ports"])
    removed = []
    if params["state"] == "absent":
        for rule in rules:
            if not check_mode:
                setup.delete_rule(rule)
            removed.append("%s -t %s %s" % (rule["backend"], rule["table"], rule["line"]))
        if interface["present"]:
            if not check_mode:
                setup.delete_interface(params["interface"])
            addresses_text = ", ".join(interface["addresses"]) or "no address"
            removed.append("interface %s (%s)" % (params["interface"], addresses_text))
    public_rules = [dict((k, v) for k, v in rule.items() if k in ("backend", "table", "chain", "line"))
                    for rule in rules]
    return {"changed": bool(removed), "interface": interface, "rules": public_rules, "removed": removed}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            local_ips=dict(type="list", elements="str", required=True),
            interface=dict(type="str", default="nodelocaldns"),
            ports=dict(type="list", elements="int", default=[53, 8080]),
            state=dict(type="str", default="query", choices=["query", "absent"]),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(NodeSetup(module), module.params, module.check_mode)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

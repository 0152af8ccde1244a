#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_query
short_description: Send a DNS query from a node to a given server and check the answer
version_added: 0.2.0
description:
  - Sends one DNS question (A or AAAA) over UDP or TCP to O(server) from the host the task runs on, with the
    node's own Python (standard library only; no dig or nslookup needed), and returns the answer.
  - Used to prove that a DNS server (for example NodeLocal DNSCache on its link-local address) really answers,
    not just that a port is open.
  - Fails when, after O(retries) tries, no answer came, the answer's code is not C(NOERROR), or an address of
    O(expect) is missing from the answer. Every such failure is tried again, so that a server started a moment
    ago (which may not answer yet, or answer C(SERVFAIL) until its upstream is reachable) gets the time of the
    tries; the last failure is the one reported.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  server:
    description:
      - Address of the DNS server.
    type: str
    required: true
  qname:
    description:
      - The name to ask for, for example C(kubernetes.default.svc.cluster.local).
    type: str
    required: true
  qtype:
    description:
      - The record type.
    type: str
    default: A
    choices: [A, AAAA]
  port:
    description:
      - The server's port.
    type: int
    default: 53
  protocol:
    description:
      - V(udp) or V(tcp).
    type: str
    default: udp
    choices: [udp, tcp]
  timeout:
    description:
      - Seconds to wait for each answer.
    type: float
    default: 2.0
  retries:
    description:
      - Queries to send before giving up, one second apart (plus O(timeout) for each one that gets no answer).
    type: int
    default: 3
  expect:
    description:
      - Addresses that must all be in the answer.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: A query changes nothing; it is sent in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Prove that NodeLocal DNSCache answers on this node
  nodeops.kubernetes.dns_query:
    server: 169.254.20.10
    qname: kubernetes.default.svc.cluster.local
    expect:
      - 10.96.0.1
"""

RETURN = r"""
rcode:
  description: The answer's response code (NOERROR, NXDOMAIN, SERVFAIL, ...).
  returned: when an answer came
  type: str
  sample: NOERROR
addresses:
  description: The addresses in the answer.
  returned: when an answer came
  type: list
  elements: str
  sample: ["10.96.0.1"]
seconds:
  description: Time of the successful query.
  returned: when an answer came
  type: float
  sample: 0.0021
attempts:
  description: Queries sent.
  returned: always
  type: int
  sample: 1
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nodeops.kubernetes.plugins.module_utils._dns_wire import ask, query
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def run(params, sleep=time.sleep, send=query):
    """The good answer as the module's result; the last failure raised (see ``_dns_wire.ask``)."""
    answer = ask(params, sleep=sleep, send=send)
    answer["changed"] = False
    return answer


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str", required=True),
            qname=dict(type="str", required=True),
            qtype=dict(type="str", default="A", choices=["A", "AAAA"]),
            port=dict(type="int", default=53),
            protocol=dict(type="str", default="udp", choices=["udp", "tcp"]),
            timeout=dict(type="float", default=2.0),
            retries=dict(type="int", default=3),
            expect=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module.params)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_capacity_check
short_description: Check that the rest of a Kubernetes cluster can take the pods of a node before draining it
version_added: 0.1.0
description:
  - Read-only pre-check for M(nodeops.kubernetes.drain). It looks at the pods of the node that their controllers
    will recreate elsewhere (DaemonSet pods, mirror pods, finished pods and pods without a controller are left
    out) and checks that they fit on the other nodes.
  - Only the other nodes that are C(Ready) and schedulable are considered. A pod fits on a node when the node's
    C(NoSchedule) and C(NoExecute) taints are tolerated, the pod's C(nodeSelector) matches, and the CPU and
    memory requests and a pod slot are free in the node's allocatable resources after the requests of the pods
    already there. The pods are placed largest first on the node with the most free CPU.
  - This is an estimate. Pod affinity and anti-affinity, topology spread constraints, volume topology and host
    ports are not modelled, and other workloads may take the free capacity in the meantime.
author:
  - nodeops maintainers (@nodeops)
options:
  name:
    description:
      - Name of the node that is about to be drained.
    type: str
    required: true
  on_problem:
    description:
      - V(fail) makes the module fail when a problem is found; V(warn) reports the problems as warnings and
        succeeds.
    type: str
    choices: [fail, warn]
    default: fail
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never changes anything; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "RBAC permissions needed: C(list) on C(nodes) and on C(pods) in all namespaces."
seealso:
  - module: nodeops.kubernetes.drain
"""

EXAMPLES = r"""
- name: Check that the other nodes can take the pods of worker-3
  nodeops.kubernetes.node_capacity_check:
    name: worker-3
  delegate_to: localhost

- name: Only warn when the pods of worker-3 may not fit elsewhere
  nodeops.kubernetes.node_capacity_check:
    name: worker-3
    on_problem: warn
  delegate_to: localhost
  register: capacity
"""

RETURN = r"""
ok:
  description: Whether no problem was found.
  returned: always
  type: bool
  sample: true
problems:
  description: What does not fit, and why, node by node.
  returned: always
  type: list
  elements: str
  sample: ["pod shop/web-1 (cpu 2, memory 4Gi) fits on no other node: w2: insufficient cpu (500m free)"]
pods_to_move:
  description: The pods that will be recreated elsewhere, with their requests (cpu in cores, memory in bytes) and
    the node the estimate placed them on (null when none fits).
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "shop", "name": "web-1", "cpu": 0.25, "memory": 268435456, "placed_on": "w2"}]
pods_ignored:
  description: The other pods of the node and why they do not need room elsewhere.
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "kube-system", "name": "kube-proxy-x", "reason": "DaemonSet pod: stays"}]
requested:
  description: Total requests of RV(pods_to_move) (cpu in cores, memory in bytes).
  returned: always
  type: dict
  sample: {"cpu": 1.5, "memory": 3221225472}
candidate_nodes:
  description: The nodes that can take pods and what remains free on them after the estimated placement.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "w2", "free_cpu_after": 2.5, "free_memory_after": 4294967296, "free_pods_after": 100}]
excluded_nodes:
  description: The other nodes that cannot take pods, with the reason (cordoned, not Ready).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "w4", "reason": "cordoned"}]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_client import make_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_capacity import run_capacity_check
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
)


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        on_problem=dict(type="str", choices=["fail", "warn"], default="fail"),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        report = run_capacity_check(make_client(module.params, 1), module.params["name"])
    except NodeOpsError as err:
        module.fail_json(**err.to_result())
    if report["problems"] and module.params["on_problem"] == "fail":
        module.fail_json(msg='the other nodes may not be able to take the pods of node "%s": %s' % (
            module.params["name"], "; ".join(report["problems"])), changed=False, **report)
    for problem in report["problems"]:
        module.warn(problem)
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()

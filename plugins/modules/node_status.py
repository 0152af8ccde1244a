#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_status
short_description: Read a Kubernetes Node's readiness, heartbeat and cordon, or wait until it is Ready again
version_added: 0.1.0
description:
  - Reads one Node and returns it the way M(kubernetes.core.k8s_info) does (RV(resources)), with a summary of its
    C(Ready) condition, the condition's last heartbeat, its cordon and its container runtime (RV(status)).
  - With O(wait=true) it reads the Node again every O(wait_sleep) seconds until the Node is C(Ready), and, when
    O(fresh_after) is given, until the C(Ready) condition carries a heartbeat other than that one, when
    O(heartbeat_after) is given, until it carries a heartbeat posted after that time, and, when
    O(runtime_prefix) is given, until the kubelet reports a runtime version with that prefix. A kubelet restarted a
    moment ago leaves the Node C(Ready) from before its stop for up to the node monitor grace period; a new
    heartbeat proves the restarted kubelet posted its status.
  - The rolling operations of this collection wait for a heartbeat posted after the moment the node's systemd
    stopped the kubelet (the cgroup driver migration), or for one other than the heartbeat read with the kubelet
    stopped (the rollbacks), in one module run.
  - Reads that cannot reach the API server are tried again for 90 seconds, because the API server of a
    control-plane node is briefly away while its kubelet restarts.
author:
  - nodeops maintainers (@nodeops)
options:
  name:
    description:
      - Name of the Node.
    type: str
    required: true
  wait:
    description:
      - Wait until the Node is C(Ready) (and O(fresh_after), O(heartbeat_after), O(runtime_prefix) hold), failing after O(wait_timeout)
        seconds with what it still lacked.
      - Without it the module reads the Node once and succeeds whatever its state, also when it does not exist
        (RV(resources) is then empty).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true).
      - No read outlasts it, and none is given more than 15 seconds, so a read the API server (or a proxy in
        front of it) never answers is given up and made again while the wait lasts.
    type: int
    default: 120
  wait_sleep:
    description:
      - Seconds between two reads with O(wait=true).
    type: int
    default: 2
  fresh_after:
    description:
      - A C(lastHeartbeatTime) of the Node's C(Ready) condition read earlier, typically with the kubelet stopped.
        With O(wait=true) the Node only counts as C(Ready) once its C(Ready) condition carries another one.
    type: str
  heartbeat_after:
    description:
      - A time (RFC 3339, for example V(2026-12-02T21:10:00.734512Z)), typically the moment the kubelet was
        stopped, as the node's own clock gave it (C(runtime_facts.services.kubelet.inactive_since) of
        M(nodeops.kubernetes.node_runtime_facts)). With O(wait=true) the Node only counts as C(Ready) once its
        C(Ready) condition carries a heartbeat posted after it; the kubelet stamps heartbeats with the node's clock
        in whole seconds, so a heartbeat of the same second does not count.
      - Proves a restarted kubelet posted its status without a read of the stale heartbeat before the restart
        (O(fresh_after)).
    type: str
  runtime_prefix:
    description:
      - With O(wait=true), the Node only counts as C(Ready) once C(status.nodeInfo.containerRuntimeVersion) starts
        with this, for example V(containerd://) after a switch from Docker.
    type: str
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never changes anything; it reads and waits the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "RBAC permissions needed: C(get) on C(nodes)."
seealso:
  - module: kubernetes.core.k8s_info
  - module: nodeops.kubernetes.drain
"""

EXAMPLES = r"""
- name: Read the last heartbeat of worker-3 with its kubelet stopped
  nodeops.kubernetes.node_status:
    name: worker-3
  delegate_to: localhost
  register: stopped

- name: Wait until worker-3 is Ready with a heartbeat of the restarted kubelet
  nodeops.kubernetes.node_status:
    name: worker-3
    wait: true
    wait_timeout: 300
    fresh_after: "{{ stopped.status.heartbeat }}"
  delegate_to: localhost

- name: Read the moment worker-3's kubelet was stopped, by the node's clock, after its restart
  nodeops.kubernetes.node_runtime_facts:
  become: true
  register: facts

- name: Wait until worker-3 is Ready with a heartbeat posted since that moment
  nodeops.kubernetes.node_status:
    name: worker-3
    wait: true
    heartbeat_after: "{{ facts.runtime_facts.services.kubelet.inactive_since }}"
  delegate_to: localhost

- name: Wait until worker-3 is Ready on containerd
  nodeops.kubernetes.node_status:
    name: worker-3
    wait: true
    runtime_prefix: "containerd://"
  delegate_to: localhost
"""

RETURN = r"""
resources:
  description: The Node as the API server returned it, in a list as M(kubernetes.core.k8s_info) returns it; empty
    when the Node does not exist.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Node", "metadata": {"name": "worker-3"}, "spec": {}, "status": {"conditions": []}}]
status:
  description: What the rolling operations decide on.
  returned: always
  type: dict
  contains:
    exists:
      description: Whether the Node exists.
      type: bool
    ready:
      description: Whether the C(Ready) condition is C(True).
      type: bool
    ready_status:
      description: The C(Ready) condition's status (C(True), C(False), C(Unknown)), null without one.
      type: str
    heartbeat:
      description: The C(lastHeartbeatTime) of the C(Ready) condition.
      type: str
    reason:
      description: The C(Ready) condition's reason and message.
      type: str
    unschedulable:
      description: Whether the Node is cordoned.
      type: bool
    runtime_version:
      description: C(status.nodeInfo.containerRuntimeVersion).
      type: str
    kubelet_version:
      description: C(status.nodeInfo.kubeletVersion).
      type: str
  sample: {"exists": true, "ready": true, "ready_status": "True", "heartbeat": "2026-12-02T17:00:01Z",
           "reason": "KubeletReady: kubelet is posting ready status", "unschedulable": false,
           "runtime_version": "containerd://2.1.4", "kubelet_version": "v1.34.4"}
waited:
  description: Seconds spent waiting (0 without O(wait)).
  returned: always
  type: float
  sample: 6.1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_client import make_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._node_status import NodeStatusWait, epoch_second


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=120),
        wait_sleep=dict(type="int", default=2),
        fresh_after=dict(type="str"),
        heartbeat_after=dict(type="str"),
        runtime_prefix=dict(type="str"),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    params = module.params
    if params["wait_timeout"] < 0 or params["wait_sleep"] < 1:
        module.fail_json(msg="wait_timeout must be 0 or more and wait_sleep 1 or more (seconds); got %s and %s"
                         % (params["wait_timeout"], params["wait_sleep"]))
    if params["heartbeat_after"] and epoch_second(params["heartbeat_after"]) is None:
        module.fail_json(msg="heartbeat_after must be an RFC 3339 time such as 2026-12-02T21:10:00Z; got %r. Pass "
                         "the kubelet's inactive_since of node_runtime_facts, or leave it out"
                         % params["heartbeat_after"])
    try:
        reader = NodeStatusWait(make_client(params, 1))
        if params["wait"]:
            node, summary, waited = reader.wait(params["name"], params["wait_timeout"], params["wait_sleep"],
                                                params["fresh_after"], params["runtime_prefix"],
                                                params["heartbeat_after"])
        else:
            (node, summary), waited = reader.read(params["name"]), 0.0
    except NodeOpsError as err:
        module.fail_json(changed=False, **err.to_result())
    module.exit_json(changed=False, resources=[node] if node else [], status=summary, waited=waited)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: drain
short_description: Cordon, drain or uncordon a Kubernetes node safely, like kubectl
version_added: 0.1.0
description:
  - Cordons a node (marks it unschedulable), drains it (evicts its pods through the Eviction API, honouring
    PodDisruptionBudgets) or uncordons it (makes it schedulable again).
  - The pods of the node go through the filters of C(kubectl drain), in the same order and with the same
    meaning. Pods whose deletion started more than O(skip_wait_for_delete_timeout) seconds ago are skipped;
    other pods being deleted are evicted again and waited for. Pods managed by a DaemonSet are refused unless
    O(ignore_daemonsets) is set, then skipped; if their DaemonSet no longer exists they are refused unless
    O(force) is set, then deleted. Mirror pods (static pods) are skipped. Running pods with C(emptyDir)
    volumes are refused unless O(delete_emptydir_data) is set. Running pods without a controller are
    refused unless O(force) is set. Finished pods (C(Succeeded) or C(Failed)) are always removable.
  - Unlike C(kubectl drain), which cordons first, the module checks the filters B(before) it cordons. When
    any pod is refused, nothing is changed at all and the error lists every refused pod with the option that
    overrides it. After the cordon, the pods are listed and checked again (a pod may have been scheduled in
    between); a refusal at that point leaves the node cordoned (see O(uncordon_on_failure)).
  - Evictions run concurrently (at most O(max_concurrent_evictions) at a time). An eviction refused by a
    PodDisruptionBudget (HTTP 429) is retried every O(eviction_retry_interval) seconds until O(timeout).
    Any other HTTP 429 is API server throttling; it is reported as such and retried after the server's
    C(Retry-After). Each evicted pod is then waited for until it is gone, identified by its UID, so a
    StatefulSet pod recreated under the same name counts as gone.
  - An HTTP 404 on an eviction counts as gone only when a read of the pod confirms it. An API server that
    offers no Eviction API gets a DELETE of the pods instead, as C(kubectl drain) does, with a warning.
  - When the drain does not complete, the module fails with an exact account of the pods evicted, the pods
    that remain and why, the PodDisruptionBudgets (with their status) that blocked evictions until the
    timeout, and whether the node is left cordoned.
author:
  - nodeops maintainers (@nodeops)
options:
  state:
    description:
      - V(cordon) marks the node unschedulable; running pods stay.
      - V(drain) cordons the node, then evicts its pods and waits until they are gone.
      - V(uncordon) marks the node schedulable again (the C(spec.unschedulable) field is removed, as
        C(kubectl uncordon) does). See O(ready_timeout) to require a Ready node first.
    type: str
    required: true
    choices: [cordon, drain, uncordon]
  name:
    description:
      - Name of the node, as shown by C(kubectl get nodes).
    type: str
    required: true
  ignore_daemonsets:
    description:
      - Skip pods managed by a DaemonSet instead of refusing to drain. A DaemonSet pod would be recreated on
        the node at once, so it is never evicted (C(kubectl drain --ignore-daemonsets)).
    type: bool
    default: false
  delete_emptydir_data:
    description:
      - Evict running pods that use C(emptyDir) volumes; the data in those volumes is lost
        (C(kubectl drain --delete-emptydir-data)).
    type: bool
    default: false
  force:
    description:
      - Delete running pods that declare no controller (they are not recreated anywhere) and pods whose
        DaemonSet no longer exists (C(kubectl drain --force)).
    type: bool
    default: false
  grace_period:
    description:
      - Seconds each pod is given to terminate. Unset or V(-1) uses each pod's own
        C(terminationGracePeriodSeconds). V(0) is sent as 0 and stops the pods immediately.
    type: int
  timeout:
    description:
      - Seconds the whole drain may take (listing, cordon, evictions and the wait for the pods to be gone).
        When it expires the module fails and reports what remains. V(0) means no limit.
      - Each API request gets no more than the time left (2 seconds at least), so the drain ends within the
        timeout and a few seconds even when the API server is slow.
      - The default is 600 seconds, not kubectl's unlimited wait, so that an unattended job cannot hang
        forever on a PodDisruptionBudget that never allows an eviction.
    type: int
    default: 600
  pod_selector:
    description:
      - Label selector limiting the drain to the pods it selects, in C(kubectl --selector) syntax, for example
        V(app=web,tier in (front,back\),!canary). It is parsed and validated before anything changes.
      - Pods that it does not select stay on the node and are not reported.
    type: str
  disable_eviction:
    description:
      - Delete the pods directly instead of evicting them. B(This bypasses PodDisruptionBudgets) and can take
        down every replica of an application at once; the module warns when it is used.
    type: bool
    default: false
  skip_wait_for_delete_timeout:
    description:
      - When greater than 0, pods whose deletion started more than this many seconds ago are skipped, and
        evicted pods are no longer waited for once their deletion is that old (for example on a node that is
        not Ready, where pods never finish terminating). V(0) turns it off.
    type: int
    default: 0
  chunk_size:
    description:
      - Number of pods fetched per list request (API paging). V(0) fetches all at once.
    type: int
    default: 500
  uncordon_on_failure:
    description:
      - When the drain fails after the module cordoned the node, make the node schedulable again.
      - A node that was already cordoned before the module ran is never uncordoned by a failure.
      - By default the node is left cordoned, like C(kubectl drain) does; the result says so in
        RV(node_left_cordoned).
    type: bool
    default: false
  eviction_retry_interval:
    description:
      - Seconds between two attempts to evict a pod whose PodDisruptionBudget refused the eviction
        (kubectl waits 5 seconds).
    type: float
    default: 5
  max_concurrent_evictions:
    description:
      - Largest number of pods evicted at the same time.
    type: int
    default: 50
  poll_interval:
    description:
      - Seconds between two checks of whether the evicted pods are gone (and of the node's Ready condition
        for O(ready_timeout)).
    type: float
    default: 1
  ready_timeout:
    description:
      - With O(state=uncordon), seconds to wait for the node's C(Ready) condition to be true before it is
        uncordoned. If the node is not Ready in time, the module fails and the node stays cordoned.
      - A node that is already schedulable is not uncordoned, so there is no wait; the module reports no change,
        with a warning in RV(drain_warnings) when the node is not Ready.
      - A C(Ready) condition stays true for a while after a kubelet stops, so when the node has a Lease in
        C(kube-node-lease) the kubelet must also renew it during the wait (every 10 seconds by default).
      - V(0) uncordons without looking at the node's condition.
    type: int
    default: 0
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is changed, not even the cordon. The cordon patch and the evictions are sent as server-side
        dry runs, so permission problems and PodDisruptionBudgets that refuse an eviction right now are
        reported (RV(would_be_blocked)). RV(evicted) lists the pods that would be evicted.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Runs where the Kubernetes API is reachable, normally on the controller (C(delegate_to=localhost)).
  - "RBAC permissions needed: C(get) and C(patch) on C(nodes); C(list) and C(get) on C(pods) in all namespaces;
    C(create) on C(pods/eviction) (or C(delete) on C(pods) with O(disable_eviction), or where the API server
    offers no Eviction API); C(get) on C(daemonsets) (apps); with O(state=uncordon) and O(ready_timeout), C(get)
    on C(leases) (coordination.k8s.io) in the namespace C(kube-node-lease). Recommended, not required: C(list) on
    C(poddisruptionbudgets) (policy); without it a pod refused by a budget is tried again every
    O(eviction_retry_interval), as C(kubectl drain) does, instead of as soon as its budget has room, and a failure
    cannot name the budget."
  - A drain that completes leaves the node cordoned; run the module with O(state=uncordon) after the
    maintenance.
  - Idempotent. Draining a node that is cordoned and has nothing left to evict, cordoning a cordoned node
    and uncordoning a schedulable node report no change.
seealso:
  - name: kubectl drain
    description: The command this module mirrors.
    link: https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/
  - module: kubernetes.core.k8s_drain
  - module: nodeops.kubernetes.node_capacity_check
"""

EXAMPLES = r"""
- name: Drain node worker-3 (DaemonSet pods stay, emptyDir data may be lost)
  nodeops.kubernetes.drain:
    name: worker-3
    state: drain
    ignore_daemonsets: true
    delete_emptydir_data: true
    timeout: 900
  delegate_to: localhost
  register: drain_result

- name: Show what a drain of worker-3 would do, without changing anything
  nodeops.kubernetes.drain:
    name: worker-3
    state: drain
    ignore_daemonsets: true
  check_mode: true
  delegate_to: localhost

- name: Drain only the pods of the web tier, uncordon again if that fails
  nodeops.kubernetes.drain:
    name: worker-3
    state: drain
    pod_selector: app.kubernetes.io/part-of=web,tier notin (cache)
    uncordon_on_failure: true
  delegate_to: localhost

- name: Uncordon worker-3 once it is Ready again
  nodeops.kubernetes.drain:
    name: worker-3
    state: uncordon
    ready_timeout: 300
  delegate_to: localhost

- name: Set the connection once for all modules of the collection
  hosts: kube_nodes
  serial: 1
  module_defaults:
    group/nodeops.kubernetes.k8s:
      kubeconfig: /etc/ansible/kubeconfig-admin
  tasks:
    - name: Cordon the node
      nodeops.kubernetes.drain:
        name: "{{ kube_node_name }}"
        state: cordon
      delegate_to: localhost
"""

RETURN = r"""
node:
  description: Name of the node.
  returned: always
  type: str
  sample: worker-3
state:
  description: The requested state.
  returned: always
  type: str
  sample: drain
cordoned_before:
  description: Whether the node was already unschedulable when the module started (null if it was not read).
  returned: always
  type: bool
  sample: false
node_left_cordoned:
  description:
    - Whether the node is unschedulable when the module ends. On failure this tells whether the node was left
      cordoned or uncordoned again (O(uncordon_on_failure)). In check mode, the node's unchanged state.
    - A cordon or uncordon that got no answer (connection reset or refused, read timeout) is judged by a read of
      the node afterwards. If the node is as asked, the patch got through and a warning in RV(drain_warnings)
      says its answer was lost. Null when that read failed too, so that nobody knows.
  returned: always
  type: bool
  sample: true
ready_evidence:
  description:
    - With O(state=uncordon) and O(ready_timeout), what proved the node Ready before the uncordon.
  returned: when the module waited for the node to be Ready
  type: str
  sample: Ready=True (KubeletReady), Lease renewed
evicted:
  description:
    - Pods that were evicted and are gone. In check mode, the pods that would be evicted.
    - C(already_gone) is true for pods that disappeared before their eviction was accepted.
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "shop", "name": "web-7d9c-x2k4", "uid": "7f1c...", "duration": 3.2, "already_gone": false}]
deleted:
  description:
    - Like RV(evicted), for the pods deleted with O(disable_eviction), or deleted because the API server offers no
      Eviction API (a warning in RV(drain_warnings) names them).
  returned: always
  type: list
  elements: dict
  sample: []
skipped_pods:
  description:
    - Pods left on the node on purpose (DaemonSet pods, mirror pods, long-terminating pods), with the reason.
    - Not called C(skipped) because Ansible would then show the whole task as skipped.
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "kube-system", "name": "kube-proxy-8x2lq", "reason": "DaemonSet-managed Pod (ignore_daemonsets)"}]
refused:
  description: Pods that stopped the drain, with the reason and the option that would override it.
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "dev", "name": "debug", "reason": "Pods that declare no controller", "override": "force"}]
remaining:
  description: Pods that were to be evicted but are still there, with the reason (timeout, error message).
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "db", "name": "pg-0", "uid": "1a2b...", "reason": "eviction refused by a PodDisruptionBudget until the timeout"}]
blocked:
  description:
    - Pods whose eviction was still refused at the timeout, with the last API message and every
      PodDisruptionBudget of their namespace that selects them (C(min_available), C(max_unavailable),
      C(current_healthy), C(desired_healthy), C(disruptions_allowed), C(expected_pods)).
  returned: always
  type: list
  elements: dict
  sample:
    - namespace: db
      name: pg-0
      uid: 1a2b...
      message: "evict pod \"db/pg-0\": Cannot evict pod as it would violate the pod's disruption budget."
      pdbs:
        - {namespace: db, name: pg, min_available: 3, max_unavailable: null, current_healthy: 3,
           desired_healthy: 3, disruptions_allowed: 0, expected_pods: 3}
would_be_blocked:
  description: In check mode, pods whose eviction a PodDisruptionBudget refuses right now, in the form of RV(blocked).
  returned: always
  type: list
  elements: dict
  sample: []
drain_warnings:
  description: Warnings about the drain (for example the DaemonSet pods ignored); each is also shown as a task warning.
  returned: always
  type: list
  elements: str
  sample: ["ignoring DaemonSet-managed Pods: kube-system/kube-proxy-8x2lq"]
durations:
  description: Seconds spent in the cordon (the patch of the node), in the evictions (until the last eviction request
    was answered, accepted or still refused when the timeout expired), waiting for the pods to be gone after that,
    and in total.
  returned: always
  type: dict
  sample: {"cordon": 0.02, "evict": 12.5, "wait": 4.1, "total": 16.8}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_EVICTION_RETRY_INTERVAL,
    DEFAULT_MAX_CONCURRENT_EVICTIONS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    STATES,
    DrainOptions,
    NodeDrainer,
    make_client,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
)


def argument_spec():
    spec = dict(
        state=dict(type="str", required=True, choices=list(STATES)),
        name=dict(type="str", required=True),
        ignore_daemonsets=dict(type="bool", default=False),
        delete_emptydir_data=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        grace_period=dict(type="int"),
        timeout=dict(type="int", default=DEFAULT_TIMEOUT),
        pod_selector=dict(type="str"),
        disable_eviction=dict(type="bool", default=False),
        skip_wait_for_delete_timeout=dict(type="int", default=0),
        chunk_size=dict(type="int", default=DEFAULT_CHUNK_SIZE),
        uncordon_on_failure=dict(type="bool", default=False),
        eviction_retry_interval=dict(type="float", default=DEFAULT_EVICTION_RETRY_INTERVAL),
        max_concurrent_evictions=dict(type="int", default=DEFAULT_MAX_CONCURRENT_EVICTIONS),
        poll_interval=dict(type="float", default=DEFAULT_POLL_INTERVAL),
        ready_timeout=dict(type="int", default=0),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        options = DrainOptions.from_params(module.params)
        client = make_client(module.params, options.max_concurrent_evictions)
        drainer = NodeDrainer(client, module.params["name"], options, check_mode=module.check_mode)
        result = drainer.run(module.params["state"])
    except NodeOpsError as err:
        failure = err.to_result()
        for warning in failure.get("drain_warnings") or []:
            module.warn(warning)
        module.fail_json(**failure)
    for warning in result["drain_warnings"]:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

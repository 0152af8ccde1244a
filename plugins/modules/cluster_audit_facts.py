#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_audit_facts
short_description: Read what the Kubernetes API server knows about the nodes, for a fleet audit
version_added: 0.2.0
description:
  - The cluster side of a fleet audit, read-only. One run reads the API server version, the nodes (versions,
    Ready condition, node Lease, cordon, control-plane role), the kubeadm KubeletConfiguration of a ConfigMap,
    kube-proxy's mode, and the PodDisruptionBudgets that would stop a drain of the audited nodes now.
  - Only the API server version and the node list are required. Any other source that cannot be read (for
    example Leases forbidden by RBAC) leaves its fields null or its list empty and is named in RV(problems);
    the module does not fail for it.
  - A PodDisruptionBudget is reported in RV(blocking_pdbs) when its C(status.disruptionsAllowed) is 0 and it
    selects at least one running pod of an audited node that a drain evicts. Which pods a drain evicts is decided
    by the pod filters of M(nodeops.kubernetes.drain) for a drain allowed to go ahead (C(ignore_daemonsets),
    C(delete_emptydir_data) and C(force)), so DaemonSet pods and mirror pods stay and are not counted. Pods that
    are Pending, finished or already being deleted are not counted either, because the API server evicts them
    without asking their budgets.
author:
  - nodeops maintainers (@nodeops)
options:
  kubelet_configmap:
    description:
      - Name of the ConfigMap in C(kube-system) that holds the kubeadm KubeletConfiguration under its
        C(kubelet) key.
      - Clusters created before Kubernetes 1.24 keep it as C(kubelet-config-X.YY); give that name there.
    type: str
    default: kubelet-config
  node_names:
    description:
      - Names of the nodes to audit (Kubernetes node names). Empty audits every node.
      - Restricts RV(nodes) and the pods considered for RV(blocking_pdbs) to these nodes. A name that matches
        no node is reported in RV(problems); when none matches, the module fails.
    type: list
    elements: str
    default: []
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
  - "RBAC permissions needed: C(get) on the non-resource URL C(/version) (granted to every authenticated user by
    default) and C(list) on C(nodes). Optional, each reported in RV(problems) when missing: C(list) on C(leases)
    in C(kube-node-lease); C(get) on C(configmaps) in C(kube-system); C(list) on C(poddisruptionbudgets) in all
    namespaces; C(list) on C(pods) in all namespaces; C(get) on C(daemonsets)."
  - Lease ages are measured with the clock of the host that runs the module against the C(renewTime) the kubelet
    wrote with the node's clock; a clock difference between them shows up in RV(nodes[].lease_age_seconds).
seealso:
  - module: nodeops.kubernetes.drain
  - module: nodeops.kubernetes.node_capacity_check
  - module: nodeops.kubernetes.nodelocaldns_facts
"""

EXAMPLES = r"""
- name: Read the cluster side of the audit
  nodeops.kubernetes.cluster_audit_facts:
  delegate_to: localhost
  run_once: true
  register: cluster_audit

- name: Audit only the nodes of this play (their inventory names are their node names)
  nodeops.kubernetes.cluster_audit_facts:
    node_names: "{{ ansible_play_hosts }}"
  delegate_to: localhost
  run_once: true
  register: cluster_audit

- name: Name the nodes that are not Ready
  ansible.builtin.debug:
    msg: "{{ cluster_audit.nodes | rejectattr('ready') | map(attribute='name') | list }}"
"""

RETURN = r"""
now:
  description: Time of the read, RFC 3339 in UTC. The Lease ages are measured from it.
  returned: success
  type: str
  sample: "2025-03-01T10:15:30.412345Z"
api_server:
  description: Version of the API server (C(/version)); C(minor) without the C(+) of managed clusters.
  returned: success
  type: dict
  contains:
    git_version:
      description: The C(gitVersion).
      type: str
      sample: v1.34.4
    major:
      description: Major version; null when unreadable (then RV(problems) says why).
      type: int
      sample: 1
    minor:
      description: Minor version; null when unreadable (then RV(problems) says why).
      type: int
      sample: 34
nodes:
  description: One entry per audited node, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
      sample: worker-1
    kubelet_version:
      description: C(status.nodeInfo.kubeletVersion).
      type: str
      sample: v1.34.4
    container_runtime_version:
      description: C(status.nodeInfo.containerRuntimeVersion).
      type: str
      sample: containerd://2.1.1
    ready:
      description: The C(Ready) condition; null when it is C(Unknown) (the kubelet stopped reporting) or absent.
      type: bool
      sample: true
    ready_reason:
      description: Reason of the C(Ready) condition.
      type: str
      sample: KubeletReady
    ready_message:
      description: Message of the C(Ready) condition.
      type: str
      sample: kubelet is posting ready status
    ready_since:
      description: C(lastTransitionTime) of the C(Ready) condition.
      type: str
      sample: "2025-02-27T08:00:12Z"
    lease_renew_time:
      description: C(renewTime) of the node's Lease in C(kube-node-lease); null without a Lease or when Leases
        cannot be read.
      type: str
      sample: "2025-03-01T10:15:21.876543Z"
    lease_age_seconds:
      description: Seconds from C(lease_renew_time) to RV(now); null when there is no renewal time.
      type: float
      sample: 8.536
    lease_duration_seconds:
      description: C(leaseDurationSeconds) of the Lease; null when unknown.
      type: int
      sample: 40
    unschedulable:
      description: Whether the node is cordoned (C(spec.unschedulable)).
      type: bool
      sample: false
    cordoned_since:
      description:
        - For a cordoned node, the C(timeAdded) of its C(node.kubernetes.io/unschedulable) taint when set, else
          the C(nodeops.kubernetes/cordoned-at) annotation, else null. Null for a schedulable node.
      type: str
      sample: null
    control_plane:
      description: Whether the node has the label C(node-role.kubernetes.io/control-plane).
      type: bool
      sample: false
kubelet_config:
  description:
    - The KubeletConfiguration of the ConfigMap O(kubelet_configmap). A field it does not set is null (the kubelet
      then uses its own default).
  returned: success
  type: dict
  contains:
    name:
      description: Name of the ConfigMap (in C(kube-system)).
      type: str
      sample: kubelet-config
    present:
      description: Whether the ConfigMap exists; null when it could not be read.
      type: bool
      sample: true
    cgroup_driver:
      description: C(cgroupDriver).
      type: str
      sample: systemd
    server_tls_bootstrap:
      description: C(serverTLSBootstrap).
      type: bool
      sample: true
    fail_cgroup_v1:
      description: C(failCgroupV1).
      type: bool
      sample: null
    rotate_certificates:
      description: C(rotateCertificates).
      type: bool
      sample: true
    error:
      description: Why the configuration could not be read (not readable, no C(kubelet) key, not YAML, not a
        mapping); null when it was read or the ConfigMap does not exist.
      type: str
      sample: null
kube_proxy:
  description: kube-proxy's mode, from the C(kube-proxy) ConfigMap (an empty mode is C(iptables)).
  returned: success
  type: dict
  contains:
    mode:
      description: V(iptables), V(ipvs) or V(nftables); null when there is no kube-proxy ConfigMap or it could not
        be read (then RV(problems) says why).
      type: str
      sample: iptables
    source:
      description: Where the mode came from, or V(not found).
      type: str
      sample: ConfigMap kube-system/kube-proxy config.conf
blocking_pdbs:
  description:
    - The PodDisruptionBudgets that allow no disruption now and select at least one pod that a drain of the
      audited nodes evicts, sorted by namespace and name.
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the budget.
      type: str
      sample: shop
    name:
      description: Name of the budget.
      type: str
      sample: web
    description:
      description: The budget in one line, as the drain reports it.
      type: str
      sample: "PodDisruptionBudget shop/web (minAvailable 3): 0 disruptions allowed, 3 healthy of 3 desired,
        3 expected pods"
    disruptions_allowed:
      description: C(status.disruptionsAllowed) (always 0 here).
      type: int
      sample: 0
    expected_pods:
      description: C(status.expectedPods).
      type: int
      sample: 3
    pods:
      description: The pods it selects that a drain of the audited nodes evicts, as C(namespace/name), sorted.
      type: list
      elements: str
      sample: ["shop/web-7d9c6-abcde"]
    nodes:
      description: The audited nodes those pods run on, sorted.
      type: list
      elements: str
      sample: ["worker-2"]
problems:
  description: What could not be read, and what is null or incomplete because of it.
  returned: success
  type: list
  elements: str
  sample: ['list the Leases of namespace "kube-node-lease": forbidden (403: ...); grant the user the RBAC
    permissions listed in the module documentation; lease_renew_time, lease_age_seconds and lease_duration_seconds
    are null']
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._cluster_audit import collect, make_audit_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
)


def argument_spec():
    spec = dict(
        kubelet_configmap=dict(type="str", default="kubelet-config"),
        node_names=dict(type="list", elements="str", default=[]),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = collect(make_audit_client(module.params), kubelet_configmap=module.params["kubelet_configmap"],
                         node_names=module.params["node_names"])
    except NodeOpsError as err:
        module.fail_json(changed=False, **err.to_result())
    for problem in result["problems"]:
        module.warn(problem)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

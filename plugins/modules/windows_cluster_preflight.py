#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: windows_cluster_preflight
short_description: Check that a cluster with Flannel VXLAN is ready for Windows worker nodes
version_added: 0.3.0
description:
  - Runs the cluster-side checks before Windows nodes join, each reported with what is wrong and how to fix it.
  - The cluster version supports Windows worker nodes (1.14 or newer; HostProcess DaemonSets need 1.26 or newer).
  - Flannel's C(net-conf.json) (ConfigMap O(flannel_configmap) in the first of O(flannel_namespaces) that has it)
    uses backend C(Type) V(vxlan), C(VNI) V(4096) and C(Port) V(4789), as Windows requires. With
    O(fix_flannel=true) the module sets these three keys (the JSON is parsed and every other key kept) and restarts
    the flannel DaemonSet O(flannel_daemonset) by patching its pod template annotation
    C(kubectl.kubernetes.io/restartedAt), as C(kubectl rollout restart) does.
  - The Windows kube-proxy DaemonSet O(windows_kube_proxy_daemonset) exists and every image tag of it is the
    cluster's version (V(v1.34.4) or V(v1.34.4-<suffix>)). The Windows flannel DaemonSet O(windows_flannel_daemonset)
    exists; its images carry flannel's own version, so their tag is compared only with O(windows_flannel_image_tag)
    when given. O(windows_daemonsets) makes these checks less strict, or leaves them out when the caller applies
    the DaemonSets itself.
  - Returns what Windows DaemonSets are made from, each null when not found. Flannel's pod network
    (C(Network) of C(net-conf.json)) and version (the image tag of O(flannel_daemonset)), the HNS network flannel
    creates on Windows (C(Backend.Name), else C(flannel.<VNI>)), the Service CIDR (C(networking.serviceSubnet) of
    the C(ClusterConfiguration) in C(kube-system/kubeadm-config)) and the API server of C(kube-public/cluster-info).
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
options:
  flannel_configmap:
    description: The name of Flannel's ConfigMap.
    type: str
    default: kube-flannel-cfg
  flannel_namespaces:
    description: Where to look for Flannel's ConfigMap, in this order; its DaemonSet is in the same namespace.
    type: list
    elements: str
    default: [kube-flannel, kube-system]
  flannel_daemonset:
    description: The name of the (Linux) flannel DaemonSet restarted by O(fix_flannel).
    type: str
    default: kube-flannel-ds
  fix_flannel:
    description: Patch Flannel's C(net-conf.json) to the backend Windows needs and restart the flannel DaemonSet.
    type: bool
    default: false
  windows_namespace:
    description: The namespace of the Windows DaemonSets.
    type: str
    default: kube-system
  windows_kube_proxy_daemonset:
    description: The name of the Windows kube-proxy DaemonSet.
    type: str
    default: kube-proxy-windows
  windows_flannel_daemonset:
    description: The name of the Windows flannel DaemonSet.
    type: str
    default: kube-flannel-ds-windows-amd64
  windows_flannel_namespace:
    description:
      - The namespace of the Windows flannel DaemonSet. By default the namespace of Flannel's ConfigMap (the
        DaemonSet mounts that ConfigMap and runs as Flannel's ServiceAccount), else O(windows_namespace).
    type: str
  windows_daemonsets:
    description:
      - V(versions) checks that both Windows DaemonSets exist and that their image tags are as described above.
      - V(present) checks only that they exist (before an upgrade, when kube-proxy still runs the old version).
      - V(ignore) leaves them out (the caller applies them).
    type: str
    choices: [versions, present, ignore]
    default: versions
  windows_flannel_image_tag:
    description: When given, every image of the Windows flannel DaemonSet must have this tag.
    type: str
  on_problem:
    description: V(fail) fails the task when a check finds a problem; V(warn) returns the problems as warnings.
    type: str
    choices: [fail, warn]
    default: fail
attributes:
  check_mode:
    details: With O(fix_flannel=true), the patches are sent as server-side dry runs; nothing changes.
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "RBAC: C(get) on the version endpoint, ConfigMaps in O(flannel_namespaces), the ConfigMaps
    C(kube-system/kubeadm-config) and C(kube-public/cluster-info), DaemonSets in O(windows_namespace) and
    O(flannel_namespaces); C(patch) on the flannel ConfigMap and DaemonSet with O(fix_flannel)."
"""

EXAMPLES = r"""
- name: Check the cluster before Windows nodes join
  nodeops.kubernetes.windows_cluster_preflight:
  delegate_to: localhost
  run_once: true

- name: Check, and put Flannel on the VXLAN settings Windows needs
  nodeops.kubernetes.windows_cluster_preflight:
    fix_flannel: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
cluster_version:
  description: The API server's version.
  returned: success
  type: str
  sample: v1.34.4
flannel_namespace:
  description: The namespace where Flannel's ConfigMap was found, or null.
  returned: success
  type: str
findings:
  description: Every check's result, with C(check), C(status) (V(ok), V(error), V(fixed), V(would_fix)), C(message) and C(fix).
  returned: always
  type: list
  elements: dict
  sample:
    - check: flannel_backend_vni
      status: error
      message: "Flannel ConfigMap kube-flannel/kube-flannel-cfg: net-conf.json Backend.VNI is 1; Windows nodes need 4096"
      fix: "set Backend.VNI to 4096 in net-conf.json of kube-flannel/kube-flannel-cfg and restart the flannel DaemonSet"
problems:
  description: The message and fix of every finding with status V(error).
  returned: always
  type: list
  elements: str
flannel_network:
  description: The pod network of Flannel's C(net-conf.json) (C(Network)), or null.
  returned: success
  type: str
  sample: 10.244.0.0/16
flannel_version:
  description: The image tag of the Linux flannel DaemonSet O(flannel_daemonset), or null.
  returned: success
  type: str
  sample: v0.26.1
windows_network_name:
  description:
    - The HNS network flannel's VXLAN backend creates on Windows nodes (C(Backend.Name), else C(flannel.<VNI>)), or
      null.
  returned: success
  type: str
  sample: flannel.4096
service_cidr:
  description: The Service CIDR of kubeadm's C(ClusterConfiguration), or null.
  returned: success
  type: str
  sample: 10.96.0.0/12
api_server:
  description: The API server URL of C(kube-public/cluster-info), or null.
  returned: success
  type: str
  sample: https://10.0.0.10:6443
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _windows_preflight
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    get_api_client,
)


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(
        flannel_configmap=dict(type="str", default="kube-flannel-cfg"),
        flannel_namespaces=dict(type="list", elements="str", default=["kube-flannel", "kube-system"]),
        flannel_daemonset=dict(type="str", default="kube-flannel-ds"),
        fix_flannel=dict(type="bool", default=False),
        windows_namespace=dict(type="str", default="kube-system"),
        windows_kube_proxy_daemonset=dict(type="str", default="kube-proxy-windows"),
        windows_flannel_daemonset=dict(type="str", default="kube-flannel-ds-windows-amd64"),
        windows_flannel_namespace=dict(type="str"),
        windows_flannel_image_tag=dict(type="str"),
        windows_daemonsets=dict(type="str", choices=list(_windows_preflight.DAEMONSET_CHECKS), default="versions"),
        on_problem=dict(type="str", choices=["fail", "warn"], default="fail"),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        api = _windows_preflight.ClusterApi(get_api_client(module.params), module.params)
        result = _windows_preflight.run(api, module.params, module.check_mode)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

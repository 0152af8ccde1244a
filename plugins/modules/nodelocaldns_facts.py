#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nodelocaldns_facts
short_description: Read what NodeLocal DNSCache needs from the cluster and plan its deployment or removal
version_added: 0.2.0
description:
  - Reads the kube-dns Service ClusterIP, the cluster domain (C(clusterDomain) of the kubeadm kubelet
    ConfigMap), kube-proxy's mode (C(mode) of the kube-proxy ConfigMap), the C(kubernetes) Service ClusterIP,
    the cache's upstream Service and DaemonSet when they exist, and DaemonSets of other installers that run a
    node-local DNS cache already (kubespray's C(nodelocaldns)).
  - Decides the addresses the cache binds (C(-localip)), where it forwards cluster-domain queries and whether
    the kubelets' C(clusterDNS) must point at the cache. It changes nothing.
  - "In iptables and nftables mode the cache binds the local address and the kube-dns ClusterIP, so pods keep
    their nameserver; in IPVS mode it binds only the local address and the kubelets must be rolled."
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
options:
  local_ip:
    description:
      - The link-local address the cache listens on, on every node.
    type: str
    default: 169.254.20.10
  name:
    description:
      - Name of the cache's DaemonSet, ConfigMap, ServiceAccount and metrics Service in O(namespace).
    type: str
    default: node-local-dns
  upstream_service:
    description:
      - Name of the Service over the cluster DNS pods that the cache forwards cluster-domain misses to.
    type: str
    default: kube-dns-upstream
  dns_service:
    description:
      - Name of the cluster DNS Service in O(namespace) whose ClusterIP pods use as their nameserver.
    type: str
    default: kube-dns
  namespace:
    description:
      - Namespace of the cluster DNS Service and of the cache's objects.
    type: str
    default: kube-system
  proxy_mode:
    description:
      - kube-proxy's mode. Detected from the C(kube-proxy) ConfigMap when not given; give it when kube-proxy is
        configured elsewhere.
    type: str
    choices: [iptables, ipvs, nftables]
  kubelet_cluster_dns:
    description:
      - Whether the kubelets' C(clusterDNS) is pointed at the cache. V(auto) does it in IPVS mode only (where it is
        needed), V(always) in every mode, V(never) never (refused in IPVS mode, where no pod would use the cache).
      - With O(state=absent), kubelets that point at O(local_ip) are always pointed back at the kube-dns ClusterIP.
    type: str
    default: auto
    choices: [auto, always, never]
  state:
    description:
      - V(present) plans a deployment, V(absent) a removal.
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "RBAC: C(get) on Services and ConfigMaps in O(namespace) and C(default/kubernetes), C(get) and C(list) on
    DaemonSets in O(namespace)."
"""

EXAMPLES = r"""
- name: Read the cluster's DNS facts and plan NodeLocal DNSCache
  nodeops.kubernetes.nodelocaldns_facts:
    local_ip: 169.254.20.10
  delegate_to: localhost
  run_once: true
  register: nodelocaldns_cluster
"""

RETURN = r"""
cluster_dns_ip:
  description: ClusterIP of the kube-dns Service.
  returned: success
  type: str
  sample: 10.96.0.10
kubernetes_service_ip:
  description: ClusterIP of C(default/kubernetes), the answer a query for C(kubernetes.default.svc.<domain>) must get.
  returned: success
  type: str
  sample: 10.96.0.1
cluster_domain:
  description: The cluster domain, and where it was read.
  returned: success
  type: str
  sample: cluster.local
cluster_domain_source:
  description: Where the cluster domain was read, or why the default was used.
  returned: success
  type: str
  sample: ConfigMap kube-system/kubelet-config (data.kubelet)
proxy_mode:
  description: kube-proxy's mode (iptables, ipvs or nftables).
  returned: success
  type: str
  sample: iptables
kubelet_cluster_dns:
  description: C(clusterDNS) of the kubelet ConfigMap (empty when there is none).
  returned: success
  type: list
  elements: str
  sample: ["10.96.0.10"]
upstream_ip:
  description: ClusterIP of the upstream Service, or null when it does not exist yet.
  returned: success
  type: str
  sample: 10.96.143.20
daemonset:
  description: The cache's DaemonSet (name, image, local_ips, managers, desired, updated, ready), or null.
  returned: success
  type: dict
others:
  description: DaemonSets of other installers that run a node-local DNS cache.
  returned: success
  type: list
  elements: dict
plan:
  description:
    - bind_ips and localip_arg (the addresses the cache binds), forward_cluster_to (null in iptables mode until the
      upstream Service exists), roll_kubelets, kubelet_cluster_dns_target, notes.
  returned: success
  type: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    ApiException,
    get_api_client,
    raise_for_api_error,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi
from ansible_collections.nodeops.kubernetes.plugins.module_utils._nodelocaldns import (
    KNOWN_OTHER_DAEMONSETS,
    cluster_domain,
    daemonset_summary,
    kubelet_cluster_dns,
    plan_cluster,
    proxy_mode,
    service_cluster_ip,
)


class ClusterReader(object):
    """Reads the objects as plain dicts; a missing object is None."""

    def __init__(self, api, params):
        self._core = self._apps = api
        self._params = params

    def _read(self, call, what, *args):
        try:
            return json.loads(call(*args).data)
        except ApiException as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise_for_api_error(exc, "reading %s" % what, self._params)
        except Exception as exc:  # pylint: disable=broad-except
            raise_for_api_error(exc, "reading %s" % what, self._params)

    def service(self, name, namespace):
        return self._read(self._core.read_namespaced_service, "Service %s/%s" % (namespace, name), name, namespace)

    def configmap(self, name, namespace):
        return self._read(self._core.read_namespaced_config_map, "ConfigMap %s/%s" % (namespace, name), name,
                          namespace)

    def daemonset(self, name, namespace):
        return self._read(self._apps.read_namespaced_daemon_set, "DaemonSet %s/%s" % (namespace, name), name,
                          namespace)


def _configmap_text(configmap, key):
    return ((configmap or {}).get("data") or {}).get(key)


def gather(reader, params):
    namespace = params["namespace"]
    facts = {
        "cluster_dns_ip": service_cluster_ip(reader.service(params["dns_service"], namespace),
                                             "%s/%s" % (namespace, params["dns_service"])),
        "kubernetes_service_ip": service_cluster_ip(reader.service("kubernetes", "default"), "default/kubernetes"),
    }
    kubelet_cm = reader.configmap("kubelet-config", "kube-system")
    source = "ConfigMap kube-system/kubelet-config (data.kubelet)"
    text = _configmap_text(kubelet_cm, "kubelet")
    facts["cluster_domain"], facts["cluster_domain_source"] = cluster_domain(text, source)
    facts["kubelet_cluster_dns"] = kubelet_cluster_dns(text, source)
    if params.get("proxy_mode"):
        facts["proxy_mode"] = params["proxy_mode"]
    else:
        proxy_cm = reader.configmap("kube-proxy", "kube-system")
        facts["proxy_mode"] = proxy_mode(_configmap_text(proxy_cm, "config.conf"),
                                         "ConfigMap kube-system/kube-proxy (data.config.conf)")
    upstream = reader.service(params["upstream_service"], namespace)
    facts["upstream_ip"] = (service_cluster_ip(upstream, "%s/%s" % (namespace, params["upstream_service"]))
                            if upstream else None)
    facts["daemonset"] = daemonset_summary(reader.daemonset(params["name"], namespace))
    facts["others"] = [summary for summary in
                       (daemonset_summary(reader.daemonset(name, namespace))
                        for name in KNOWN_OTHER_DAEMONSETS if name != params["name"])
                       if summary]
    return facts


def run_module(reader, params):
    facts = gather(reader, params)
    facts["plan"] = plan_cluster(facts, params["local_ip"], params["kubelet_cluster_dns"], params["state"])
    facts["changed"] = False
    return facts


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(
        local_ip=dict(type="str", default="169.254.20.10"),
        name=dict(type="str", default="node-local-dns"),
        upstream_service=dict(type="str", default="kube-dns-upstream"),
        dns_service=dict(type="str", default="kube-dns"),
        namespace=dict(type="str", default="kube-system"),
        proxy_mode=dict(type="str", choices=["iptables", "ipvs", "nftables"]),
        kubelet_cluster_dns=dict(type="str", default="auto", choices=["auto", "always", "never"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = run_module(ClusterReader(KubeApi(get_api_client(module.params)), module.params), module.params)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    for note in result["plan"]["notes"]:
        module.warn(note)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

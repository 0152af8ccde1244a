# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of NodeLocal DNSCache: ``nodelocaldns_node_plan`` and ``resolv_nameservers``.

Thin wrappers over ``plugins/module_utils/_nodelocaldns.py``; documented in the ``.yml`` files beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _nodelocaldns
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def nodelocaldns_node_plan(kubelet_config_text, cluster, state, local_ip, resolv_text, source):
    """What changes on one node, from its kubelet configuration text and the nodelocaldns_facts result."""
    try:
        return _nodelocaldns.plan_node(kubelet_config_text, cluster, state, local_ip, resolv_text, source)
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("nodelocaldns_node_plan: the cluster input is not a nodelocaldns_facts result (%s)"
                                 % exc)


def resolv_nameservers(text):
    """The nameserver addresses of a resolv.conf text, in order."""
    return _nodelocaldns.resolv_conf_nameservers(text)


class FilterModule(object):
    """The NodeLocal DNSCache filters of nodeops.kubernetes."""

    def filters(self):
        return {"nodelocaldns_node_plan": nodelocaldns_node_plan, "resolv_nameservers": resolv_nameservers}

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the kubelet serving certificate rollout: ``kubelet_serving_plan``, ``kubelet_serving_csrs`` and
``kubelet_serving_ca_file``.

Thin wrappers over ``plugins/module_utils/_kubelet_serving.py``; documented in the ``.yml`` files beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _kubelet_serving
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def kubelet_serving_plan(config_text, node, served, node_name, source, ca_file="", ca_file_exists=True):
    """change, skip or refuse for one node, from its kubelet configuration, Node object and served certificate."""
    try:
        return _kubelet_serving.node_plan(config_text, node, served, node_name, source, ca_file=ca_file,
                                          ca_file_exists=bool(ca_file_exists))
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


def kubelet_serving_ca_file(config_text, default="/etc/kubernetes/pki/ca.crt"):
    """The CA file the kubelet trusts for clients (authentication.x509.clientCAFile), else ``default``."""
    try:
        return _kubelet_serving.ca_file_of(config_text, default)
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


def kubelet_serving_csrs(csrs, node_name, before_names=None):
    """The node's kubelet-serving CSRs filed since the restart, oldest first."""
    try:
        return _kubelet_serving.new_serving_csrs(csrs, node_name, before_names or [])
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)
    except (AttributeError, TypeError) as exc:
        raise AnsibleFilterError("kubelet_serving_csrs: expects a k8s_info result of CertificateSigningRequests (%s)"
                                 % exc)


class FilterModule(object):
    """The kubelet serving certificate filters of nodeops.kubernetes."""

    def filters(self):
        return {"kubelet_serving_plan": kubelet_serving_plan, "kubelet_serving_csrs": kubelet_serving_csrs,
                "kubelet_serving_ca_file": kubelet_serving_ca_file}

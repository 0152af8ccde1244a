# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of ``nodeops.kubernetes.node_audit_facts`` and which of them each part of the read takes.

Apart from the node-side code (``_node_audit``) so that the controller's side (the action plugin and
``_node_audit_facts``, in every host's worker) does not import the Docker scan and the DNS client it never runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry_node, _runtime_facts_node
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import DEFAULT_PATH
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_scripts import DEFAULT_SCRIPT_PATHS

RUNTIME_OPTIONS = ("kubelet_config_path", "kubelet_flags_files", "containerd_binary", "docker_binary")
CERTIFICATE_OPTIONS = ("threshold_days", "pki_dir", "kubeconfig_dir", "manifests_dir")
CERTIFICATE_DIRS = ("pki_dir", "kubeconfig_dir", "manifests_dir")

# One spec for the module and its action plugin; the names and defaults are those of the three modules.
ARGUMENT_SPEC = dict(
    kubelet_config_path=dict(type="path", default=_runtime_facts_node.DEFAULT_KUBELET_CONFIG),
    kubelet_flags_files=dict(type="list", elements="path", default=list(_runtime_facts_node.DEFAULT_FLAGS_FILES)),
    containerd_binary=dict(type="str", default="containerd"),
    docker_binary=dict(type="str", default="docker"),
    threshold_days=dict(type="int", default=30),
    pki_dir=dict(type="path", default=_cert_expiry_node.DEFAULT_PKI_DIR),
    kubeconfig_dir=dict(type="path", default=_cert_expiry_node.DEFAULT_KUBECONFIG_DIR),
    manifests_dir=dict(type="path", default=_cert_expiry_node.DEFAULT_MANIFESTS_DIR),
    name=dict(type="str"),
    daemon_json=dict(type="path", default=DEFAULT_PATH),
    script_paths=dict(type="list", elements="path", default=list(DEFAULT_SCRIPT_PATHS)),
    acknowledge=dict(type="list", elements="str", default=[]),
    block_on_warnings=dict(type="bool", default=False),
    dns_server=dict(type="str"),
    dns_qname=dict(type="str", default="kubernetes.default.svc.cluster.local"),
    dns_expect=dict(type="list", elements="str", default=[]),
    dns_retries=dict(type="int", default=2),
)


def pick(params, names):
    return dict((name, params[name]) for name in names)

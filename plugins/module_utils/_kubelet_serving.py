# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the rolling enablement of kubelet serving certificates (role ``kubelet_serving``).

* :func:`node_plan`: from a node's kubelet configuration file, its Node object and what its kubelet serves
  on 10250 (``served_certificates`` with the cluster CA), ``change``, ``skip`` or ``refuse``, with reasons.
* :func:`new_serving_csrs`: the node's ``kubernetes.io/kubelet-serving`` CSRs filed since its kubelet
  restarted (those not listed before), oldest first, with their state and signed certificate.

Plain Python over API objects and file text, tested without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

SIGNER = "kubernetes.io/kubelet-serving"
CHANGE = "change"
SKIP = "skip"
REFUSE = "refuse"
# The Node addresses a kubelet puts in its serving CSR, which the approver checks each requested name against.
ADDRESS_TYPES = ("InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS")


def _dict(value):
    return value if isinstance(value, dict) else {}


def _resource(value):
    """The first resource of a k8s_info result, a bare object, or None."""
    if isinstance(value, dict) and "resources" in value:
        resources = value.get("resources") or []
        return resources[0] if resources else None
    return value or None


def _kubelet_config(text, source):
    if yaml is None:  # pragma: no cover
        raise NodeOpsError("PyYAML is required to read the kubelet configuration")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, "%s is not valid YAML (%s); fix the file first" % (source, " ".join(str(exc).split()))
    if not isinstance(config, dict) or config.get("kind") != "KubeletConfiguration":
        return None, "%s is not a KubeletConfiguration (kind %s); this role changes the file kubeadm writes" % (
            source, _dict(config).get("kind"))
    return config, None


def ca_file_of(config_text, default="/etc/kubernetes/pki/ca.crt"):
    """The CA the kubelet trusts for clients (authentication.x509.clientCAFile), kubeadm's cluster CA."""
    config, dummy = _kubelet_config(config_text, "the kubelet configuration")
    x509 = _dict(_dict(_dict(config).get("authentication")).get("x509"))
    return x509.get("clientCAFile") or default


def node_plan(config_text, node, served, node_name, source, ca_file="", ca_file_exists=True):
    """What to do on one node.

    ``config_text``: the kubelet configuration file; ``node``: the Node object (or a k8s_info result);
    ``served``: the result of ``served_certificates`` for the ``kubelet`` endpoint with the cluster CA;
    ``source``: ``<node>:<path>`` for the messages. Returns ``{"action", "reasons", "refusals",
    "server_tls_bootstrap_before", "config_change", "serving_before", "addresses"}``.
    """
    plan = {"action": CHANGE, "reasons": [], "refusals": [], "server_tls_bootstrap_before": None,
            "config_change": True, "serving_before": None, "addresses": [], "ca_file": ca_file}
    config, problem = _kubelet_config(config_text, source)
    if problem:
        plan["refusals"].append(problem)
    else:
        plan["server_tls_bootstrap_before"] = config.get("serverTLSBootstrap")
        plan["config_change"] = config.get("serverTLSBootstrap") is not True
    node = _resource(node)
    if not node:
        plan["refusals"].append("Node %s does not exist in the cluster; its kubelet's serving CSR would be refused "
                                "(set kube_node_name to the name in kubectl get nodes)" % node_name)
    else:
        plan["addresses"] = [a.get("address") for a in _dict(node.get("status")).get("addresses") or []
                             if isinstance(a, dict) and a.get("type") in ADDRESS_TYPES and a.get("address")]
        if not plan["addresses"]:
            plan["refusals"].append("Node %s reports no address, so no serving CSR of its kubelet can be approved "
                                    "(every requested name must be one of the Node's addresses)" % node_name)
    if not ca_file_exists:
        plan["refusals"].append("the CA file %s does not exist on node %s; set kubelet_serving_ca_file to the "
                                "cluster CA certificate" % (ca_file, node_name))
    endpoint = ([e for e in _dict(served).get("endpoints") or [] if e.get("name") == "kubelet"] or [{}])[0]
    if endpoint.get("served"):
        before = dict(endpoint["served"])
        before["signed_by_ca"] = bool(endpoint.get("signed_by_ca"))
        plan["serving_before"] = before
    elif ca_file_exists:
        plan["refusals"].append("the kubelet of node %s does not complete a TLS handshake on 10250 (%s); it must "
                                "serve before its certificate is changed" % (node_name, endpoint.get("error")))
    if plan["refusals"]:
        plan["action"] = REFUSE
        return plan
    signed = plan["serving_before"]["signed_by_ca"]
    if not plan["config_change"] and signed:
        plan["action"] = SKIP
        plan["reasons"].append("serverTLSBootstrap is on and the kubelet serves a certificate signed by the cluster CA "
                               "(serial %s, until %s); nothing to do"
                               % (plan["serving_before"]["serial"], plan["serving_before"]["not_after"]))
        return plan
    if plan["config_change"]:
        value = plan["server_tls_bootstrap_before"]
        plan["reasons"].append("serverTLSBootstrap is %s in %s" % (
            "off" if value is False else "not set" if value is None else "%r, not true" % (value,), source))
    else:
        plan["reasons"].append("serverTLSBootstrap is on in %s" % source)
    plan["reasons"].append("the kubelet serves a certificate %s" % (
        "signed by the cluster CA" if signed else "issued by %s, not signed by the cluster CA"
        % plan["serving_before"]["issuer"]))
    return plan


def _certificate_text(value, name):
    if not value:
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("ascii")
    except (TypeError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise NodeOpsError("CSR %s: status.certificate is not base64 PEM (%s)" % (name, exc))
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise NodeOpsError("CSR %s: status.certificate is not base64 PEM (no certificate in it)" % name)
    return text


def new_serving_csrs(csrs, node_name, before_names=()):
    """The ``kubernetes.io/kubelet-serving`` CSRs of ``node_name``'s kubelet that are not in ``before_names``.

    ``csrs``: a k8s_info result or a list of CSR objects. Each item: ``name``, ``created``, ``approved``,
    ``denied`` (Denied or Failed), ``certificate`` (the signed PEM, None until kube-controller-manager signed
    it); oldest first.
    """
    items = csrs.get("resources") if isinstance(csrs, dict) else csrs
    requester = "system:node:%s" % node_name
    before = set(before_names or ())
    found = []
    for csr in items or []:
        meta, spec, status = _dict(csr.get("metadata")), _dict(csr.get("spec")), _dict(csr.get("status"))
        name = meta.get("name")
        if spec.get("signerName") != SIGNER or spec.get("username") != requester or name in before:
            continue
        conditions = [_dict(c).get("type") for c in status.get("conditions") or []]
        found.append({"name": name, "created": meta.get("creationTimestamp") or "",
                      "approved": "Approved" in conditions,
                      "denied": "Denied" in conditions or "Failed" in conditions,
                      "certificate": _certificate_text(status.get("certificate"), name)})
    return sorted(found, key=lambda item: (item["created"], item["name"]))

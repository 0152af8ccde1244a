# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A strict approver of kubelet serving certificate requests.

A ``kubernetes.io/kubelet-serving`` CertificateSigningRequest is approved only when every check of
:data:`CHECKS` passes: the requester is ``system:node:<name>`` in ``system:nodes``, the request's subject
is exactly CN=``system:node:<name>``, O=``system:nodes``, the usages are the serving ones, the Node
``<name>`` exists, and every DNS name and IP address asked for is one of that Node's
``status.addresses``. Pattern checks on names are not enough: any holder of a kubelet client
certificate could otherwise obtain serving certificates for names it does not own.

Each check is a small function returning a refusal reason or None; :func:`judge` runs them all and
keeps every reason. CSRs of other signers are never approved nor denied: they are left to their own
approvers. Plain Python over dicts (the API objects as JSON), testable without a cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry as ce

SIGNER = "kubernetes.io/kubelet-serving"
NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
# The usages a kubelet asks for: ECDSA keys need no key encipherment, RSA keys do.
SERVING_USAGES = (
    frozenset(["digital signature", "server auth"]),
    frozenset(["digital signature", "key encipherment", "server auth"]),
)
DNS_ADDRESS_TYPES = ("Hostname", "InternalDNS", "ExternalDNS")
IP_ADDRESS_TYPES = ("InternalIP", "ExternalIP")
APPROVAL_REASON = "NodeOpsKubeletServingApprover"

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
FAILED = "failed"


def state_of(csr):
    """pending, approved, denied or failed, from the CSR's status conditions."""
    for condition in (csr.get("status") or {}).get("conditions") or []:
        if condition.get("status", "True") != "True":
            continue
        kind = condition.get("type")
        if kind == "Approved":
            return APPROVED
        if kind == "Denied":
            return DENIED
        if kind == "Failed":
            return FAILED
    return PENDING


def node_name_of(csr):
    """The node a CSR claims to come from (from its requester), or None."""
    username = (csr.get("spec") or {}).get("username") or ""
    return username[len(NODE_PREFIX):] if username.startswith(NODE_PREFIX) and len(username) > len(NODE_PREFIX) \
        else None


def parse_request(csr):
    """The ``cryptography`` request of a CSR object; raises ValueError when it is not a PEM request."""
    ce.require_cryptography()
    from cryptography import x509  # pylint: disable=import-outside-toplevel

    data = (csr.get("spec") or {}).get("request") or ""
    try:
        pem = base64.b64decode(data)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise ValueError("spec.request is not base64: %s" % exc)
    return x509.load_pem_x509_csr(pem)


def request_names(request):
    """``(common_names, organizations, dns_names, ip_addresses, other_sans)`` of a parsed request."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    common = [a.value for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [a.value for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    others = [a.oid.dotted_string for a in request.subject
              if a.oid not in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME)]
    dns, ips, other_sans = [], [], []
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for name in sans:
            if isinstance(name, x509.DNSName):
                dns.append(name.value)
            elif isinstance(name, x509.IPAddress):
                ips.append(str(name.value))
            else:
                other_sans.append("%s %s" % (type(name).__name__, name.value))
    except x509.ExtensionNotFound:
        pass
    return common, orgs, others, dns, ips, other_sans


# --------------------------------------------------------------------------- the checks
# Each takes the context (csr, node name, request names, Node) and returns a reason or None.

def check_requester(ctx):
    spec = ctx["csr"].get("spec") or {}
    if ctx["node_name"] is None:
        return "requester %r is not a node (system:node:<name>)" % spec.get("username")
    if NODES_GROUP not in (spec.get("groups") or []):
        return "requester %s is not in group %s" % (spec.get("username"), NODES_GROUP)
    return None


def check_subject(ctx):
    names = ctx["names"]
    if names is None:
        return None  # reported by check_request
    common, orgs, others, _dns, _ips, _other = names
    expected = NODE_PREFIX + (ctx["node_name"] or "<requester>")
    reasons = []
    if common != [expected]:
        reasons.append("subject CN %s is not the requester's %s" % (", ".join(common) or "(none)", expected))
    if orgs != [NODES_GROUP]:
        reasons.append("subject O %s is not exactly %s" % (", ".join(orgs) or "(none)", NODES_GROUP))
    if others:
        reasons.append("subject has other attributes (%s)" % ", ".join(others))
    return "; ".join(reasons) or None


def check_usages(ctx):
    usages = (ctx["csr"].get("spec") or {}).get("usages") or []
    if frozenset(usages) not in SERVING_USAGES or len(set(usages)) != len(usages):
        return "usages %s are not exactly the serving ones (digital signature, [key encipherment,] server auth)" \
            % ", ".join(usages)
    return None


def check_request(ctx):
    if ctx["names"] is None:
        return "spec.request is not a readable certificate request: %s" % ctx["request_error"]
    return None


def check_node_exists(ctx):
    if ctx["node_name"] is not None and ctx["node"] is None:
        return "Node %s does not exist" % ctx["node_name"]
    return None


def node_addresses(node):
    """``(dns names, ip addresses)`` of a Node's status.addresses."""
    dns, ips = set(), set()
    for address in ((node or {}).get("status") or {}).get("addresses") or []:
        if address.get("type") in DNS_ADDRESS_TYPES:
            dns.add((address.get("address") or "").lower())
        elif address.get("type") in IP_ADDRESS_TYPES:
            ips.add(address.get("address"))
    return dns, ips


def check_sans(ctx):
    if ctx["names"] is None or ctx["node"] is None:
        return None  # reported by check_request / check_node_exists
    _common, _orgs, _others, dns, ips, other_sans = ctx["names"]
    node_dns, node_ips = node_addresses(ctx["node"])
    reasons = []
    if not dns and not ips:
        reasons.append("no DNS name or IP address requested")
    foreign_dns = [d for d in dns if d.lower() not in node_dns]
    if foreign_dns:
        reasons.append("DNS name(s) %s not in the addresses of Node %s (%s)" % (
            ", ".join(foreign_dns), ctx["node_name"], ", ".join(sorted(node_dns)) or "none"))
    foreign_ips = [ip for ip in ips if ip not in node_ips]
    if foreign_ips:
        reasons.append("IP address(es) %s not in the addresses of Node %s (%s)" % (
            ", ".join(foreign_ips), ctx["node_name"], ", ".join(sorted(node_ips)) or "none"))
    if other_sans:
        reasons.append("other names requested (%s)" % ", ".join(other_sans))
    return "; ".join(reasons) or None


CHECKS = (check_requester, check_request, check_subject, check_usages, check_node_exists, check_sans)


def judge(csr, nodes):
    """The verdict on one CSR: ``{"name", "node", "state", "decision", "reasons", "dns_names", "ip_addresses"}``.

    ``nodes`` maps Node names to Node objects (dicts). ``decision`` is ``ignore`` (another signer, or
    already decided), ``approve`` or ``refuse``.
    """
    meta = csr.get("metadata") or {}
    spec = csr.get("spec") or {}
    verdict = {"name": meta.get("name"), "node": node_name_of(csr), "signer": spec.get("signerName"),
               "requester": spec.get("username"), "state": state_of(csr), "decision": "ignore", "reasons": [],
               "dns_names": [], "ip_addresses": []}
    if spec.get("signerName") != SIGNER:
        verdict["reasons"].append("signer %s is not %s; left to its own approver" % (spec.get("signerName"), SIGNER))
        return verdict
    if verdict["state"] != PENDING:
        verdict["reasons"].append("already %s" % verdict["state"])
        return verdict
    ctx = {"csr": csr, "node_name": verdict["node"], "names": None, "request_error": None,
           "node": nodes.get(verdict["node"]) if verdict["node"] else None}
    try:
        ctx["names"] = request_names(parse_request(csr))
        verdict["dns_names"], verdict["ip_addresses"] = ctx["names"][3], ctx["names"][4]
    except ValueError as exc:
        ctx["request_error"] = str(exc)
    for check in CHECKS:
        reason = check(ctx)
        if reason:
            verdict["reasons"].append(reason)
    verdict["decision"] = "refuse" if verdict["reasons"] else "approve"
    if not verdict["reasons"]:
        verdict["reasons"].append("requester, subject, usages, Node and every name checked")
    return verdict


def condition(kind, message):
    """A status condition of the approval subresource."""
    return {"type": kind, "status": "True", "reason": APPROVAL_REASON, "message": message}


def run(api, csr_names, refused, check_mode):
    """Judge every CSR of ``api`` (see :class:`ClusterApi`) and approve or refuse; returns the module result."""
    csrs = api.list_csrs()
    if csr_names:
        wanted = set(csr_names)
        csrs = [c for c in csrs if (c.get("metadata") or {}).get("name") in wanted]
    nodes = api.nodes()
    result = {"changed": False, "approved": [], "refused": [], "ignored": []}
    for csr in csrs:
        verdict = judge(csr, nodes)
        if verdict["decision"] == "ignore":
            result["ignored"].append({"name": verdict["name"], "reasons": verdict["reasons"]})
        elif verdict["decision"] == "approve":
            if not check_mode:
                names = ", ".join(verdict["dns_names"] + verdict["ip_addresses"])
                api.decide(csr, condition("Approved", "kubelet serving certificate of Node %s: requester, subject, "
                                                      "usages and every name (%s) checked against the Node"
                                          % (verdict["node"], names)))
            result["changed"] = True
            result["approved"].append(dict((k, verdict[k]) for k in ("name", "node", "dns_names", "ip_addresses")))
        else:
            entry = dict((k, verdict[k]) for k in ("name", "node", "requester", "reasons"))
            entry["denied"] = refused == "deny"
            if refused == "deny":
                if not check_mode:
                    api.decide(csr, condition("Denied", "; ".join(verdict["reasons"])))
                result["changed"] = True
            result["refused"].append(entry)
    return result


class ClusterApi(object):
    """The few API calls of the approver, on a ``kubernetes.client.ApiClient``; errors become NodeOpsError."""

    def __init__(self, api_client, params=None):
        from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi  # pylint: disable=import-outside-toplevel

        self.params = params or {}
        self.certificates = self.core = KubeApi(api_client)

    def _call(self, what, function, *args, **kwargs):
        from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import call_json  # pylint: disable=import-outside-toplevel

        return call_json(what, function, self.params, *args, **kwargs)

    def list_csrs(self):
        return self._call("listing CertificateSigningRequests",
                          self.certificates.list_certificate_signing_request)["items"]

    def nodes(self):
        items = self._call("listing Nodes", self.core.list_node)["items"]
        return dict((n["metadata"]["name"], n) for n in items)

    def decide(self, csr, new_condition):
        body = dict(csr)
        status = dict(body.get("status") or {})
        status["conditions"] = list(status.get("conditions") or []) + [new_condition]
        body["status"] = status
        name = csr["metadata"]["name"]
        verb = "approving" if new_condition["type"] == "Approved" else "denying"
        self._call("%s CertificateSigningRequest %s" % (verb, name),
                   self.certificates.replace_certificate_signing_request_approval, name, body)

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The strict kubelet serving CSR approver, on requests made in the test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _csr_approver as ap

from certs_helpers import KEY

NODES = {
    "worker-1": {"metadata": {"name": "worker-1"}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.0.0.21"}, {"type": "Hostname", "address": "worker-1"}]}},
    "worker-2": {"metadata": {"name": "worker-2"}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.0.0.22"}, {"type": "Hostname", "address": "worker-2"}]}},
}


def request_pem(cn="system:node:worker-1", orgs=("system:nodes",), dns=("worker-1",), ips=("10.0.0.21",)):
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    if cn is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def csr(name="csr-1", username="system:node:worker-1", groups=("system:nodes", "system:authenticated"),
        signer=ap.SIGNER, usages=("digital signature", "server auth"), conditions=None, **request):
    return {"metadata": {"name": name},
            "spec": {"signerName": signer, "username": username, "groups": list(groups), "usages": list(usages),
                     "request": base64.b64encode(request_pem(**request)).decode()},
            "status": {"conditions": conditions} if conditions else {}}


def test_a_kubelets_own_request_is_approved():
    verdict = ap.judge(csr(), NODES)
    assert verdict["decision"] == "approve", verdict["reasons"]
    assert verdict["node"] == "worker-1" and verdict["dns_names"] == ["worker-1"]


def test_rsa_usages_with_key_encipherment_are_serving_usages_too():
    verdict = ap.judge(csr(usages=("key encipherment", "digital signature", "server auth")), NODES)
    assert verdict["decision"] == "approve"


# The crafted requests of the issue: each must be refused, with a reason naming the cause.
@pytest.mark.parametrize("crafted, reason", [
    (dict(cn="system:node:worker-2", dns=("worker-2",), ips=("10.0.0.22",)), "is not the requester's"),
    (dict(username="system:node:worker-1", cn="system:node:worker-1", dns=("worker-2",), ips=()),
     "DNS name(s) worker-2 not in the addresses of Node worker-1"),
    (dict(ips=("10.0.0.21", "10.0.0.99")), "IP address(es) 10.0.0.99 not in the addresses"),
    (dict(dns=("*.cluster.example",)), "DNS name(s) *.cluster.example not in the addresses"),
    (dict(usages=("digital signature", "server auth", "client auth")), "usages"),
    (dict(usages=("digital signature", "client auth")), "usages"),
    (dict(cn="worker-1"), "subject CN worker-1 is not the requester's system:node:worker-1"),
    (dict(orgs=()), "subject O (none) is not exactly system:nodes"),
    (dict(orgs=("system:nodes", "system:masters")), "is not exactly system:nodes"),
    (dict(username="system:node:ghost", cn="system:node:ghost", dns=("ghost",), ips=("10.0.0.30",)),
     "Node ghost does not exist"),
    (dict(groups=("system:authenticated",)), "is not in group system:nodes"),
    (dict(username="alice", cn="system:node:worker-1"), "requester 'alice' is not a node"),
    (dict(dns=(), ips=()), "no DNS name or IP address requested"),
])
def test_crafted_requests_are_refused_with_the_reason(crafted, reason):
    verdict = ap.judge(csr(**crafted), NODES)
    assert verdict["decision"] == "refuse"
    assert any(reason in r for r in verdict["reasons"]), verdict["reasons"]


def test_another_signer_is_never_approved_nor_denied():
    verdict = ap.judge(csr(signer="kubernetes.io/kube-apiserver-client-kubelet"), NODES)
    assert verdict["decision"] == "ignore" and "left to its own approver" in verdict["reasons"][0]


def test_decided_requests_are_left_alone():
    for kind in ("Approved", "Denied", "Failed"):
        verdict = ap.judge(csr(conditions=[{"type": kind, "status": "True"}]), NODES)
        assert verdict["decision"] == "ignore" and verdict["state"] == kind.lower()


def test_a_request_that_is_not_pem_is_refused():
    broken = csr()
    broken["spec"]["request"] = base64.b64encode(b"junk").decode()
    verdict = ap.judge(broken, NODES)
    assert verdict["decision"] == "refuse" and "not a readable certificate request" in verdict["reasons"][0]


class FakeApi(object):
    def __init__(self, csrs):
        self.csrs = csrs
        self.decisions = []

    def list_csrs(self):
        return self.csrs

    def nodes(self):
        return NODES

    def decide(self, item, new_condition):
        self.decisions.append((item["metadata"]["name"], new_condition["type"]))
        item.setdefault("status", {}).setdefault("conditions", []).append(new_condition)


def batch():
    return [csr("good"), csr("extra-ip", ips=("10.0.0.21", "10.0.0.99")),
            csr("client", signer="kubernetes.io/kube-apiserver-client-kubelet")]


def test_run_approves_the_good_and_leaves_the_rest_pending():
    api = FakeApi(batch())
    result = ap.run(api, [], "leave_pending", check_mode=False)
    assert api.decisions == [("good", "Approved")]
    assert [r["name"] for r in result["refused"]] == ["extra-ip"] and not result["refused"][0]["denied"]
    assert [i["name"] for i in result["ignored"]] == ["client"]
    again = ap.run(api, [], "leave_pending", check_mode=False)
    assert again["changed"] is False and api.decisions == [("good", "Approved")]


def test_run_can_deny_refused_requests():
    api = FakeApi(batch())
    result = ap.run(api, [], "deny", check_mode=False)
    assert ("extra-ip", "Denied") in api.decisions and result["refused"][0]["denied"]
    assert ("client", "Denied") not in api.decisions


def test_check_mode_changes_nothing_and_says_what_would_happen():
    api = FakeApi(batch())
    result = ap.run(api, ["good"], "deny", check_mode=True)
    assert api.decisions == [] and result["changed"] is True and [a["name"] for a in result["approved"]] == ["good"]

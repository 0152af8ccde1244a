# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubelet serving certificate rollout: the per-node decision and the CSRs a restarted kubelet filed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _kubelet_serving as ks
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

CONFIG = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
cgroupDriver: systemd
%s"""
NODE = {"metadata": {"name": "w1"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.21"},
                                                             {"type": "Hostname", "address": "w1"}]}}
SOURCE = "w1:/var/lib/kubelet/config.yaml"


def served(signed=True, issuer="CN=kubernetes", answered=True):
    entry = {"name": "kubelet", "port": 10250, "error": None if answered else "ConnectionRefusedError: refused",
             "served": {"serial": "1a2b", "not_after": "2027-11-30T00:00:00Z", "issuer": issuer,
                        "subject": "CN=system:node:w1,O=system:nodes"} if answered else None}
    if answered:
        entry["signed_by_ca"] = signed
    return {"endpoints": [entry], "ok": answered and signed}


def plan(config_line="", node=None, answer=None, **kwargs):
    return ks.node_plan(CONFIG % config_line, {"resources": [NODE]} if node is None else node,
                        served() if answer is None else answer, "w1", SOURCE, ca_file="/etc/kubernetes/pki/ca.crt",
                        **kwargs)


def test_a_node_with_the_setting_on_and_a_ca_signed_certificate_is_skipped():
    result = plan("serverTLSBootstrap: true\n")
    assert result["action"] == ks.SKIP and not result["config_change"]
    assert "nothing to do" in result["reasons"][0] and "serial 1a2b" in result["reasons"][0]


@pytest.mark.parametrize("line, said", [("", "not set"), ("serverTLSBootstrap: false\n", "off"),
                                        ("serverTLSBootstrap: 'true'\n", "'true', not true")])
def test_a_node_without_the_setting_is_changed(line, said):
    result = plan(line, answer=served(signed=False, issuer="CN=w1-ca@1700000000"))
    assert result["action"] == ks.CHANGE and result["config_change"]
    assert result["reasons"] == ["serverTLSBootstrap is %s in %s" % (said, SOURCE),
                                 "the kubelet serves a certificate issued by CN=w1-ca@1700000000, not signed by the "
                                 "cluster CA"]
    assert result["serving_before"]["signed_by_ca"] is False
    assert result["addresses"] == ["10.0.0.21", "w1"]


def test_the_setting_on_but_a_self_signed_certificate_served_is_changed_without_a_config_change():
    result = plan("serverTLSBootstrap: true\n", answer=served(signed=False))
    assert result["action"] == ks.CHANGE and not result["config_change"]
    assert result["reasons"][0] == "serverTLSBootstrap is on in %s" % SOURCE


@pytest.mark.parametrize("kwargs, reason", [
    ({"node": {"resources": []}}, "Node w1 does not exist"),
    ({"node": {"status": {"addresses": []}}}, "Node w1 reports no address"),
    ({"ca_file_exists": False}, "the CA file /etc/kubernetes/pki/ca.crt does not exist"),
    ({"answer": served(answered=False)}, "does not complete a TLS handshake on 10250 (ConnectionRefusedError"),
])
def test_what_cannot_be_done_safely_is_refused_with_the_cause(kwargs, reason):
    result = plan(**kwargs)
    assert result["action"] == ks.REFUSE and reason in result["refusals"][0], result["refusals"]


def test_a_file_that_is_not_a_kubelet_configuration_is_refused():
    for text, reason in (("kind: Pod\n", "is not a KubeletConfiguration (kind Pod)"),
                         ("a: [\n", "is not valid YAML")):
        result = ks.node_plan(text, NODE, served(), "w1", SOURCE)
        assert result["action"] == ks.REFUSE and reason in result["refusals"][0]


def test_the_ca_is_the_one_the_kubelet_trusts_for_clients():
    assert ks.ca_file_of(CONFIG % "") == "/etc/kubernetes/pki/ca.crt"
    assert ks.ca_file_of("kind: KubeletConfiguration\n", default="/x/ca.crt") == "/x/ca.crt"
    assert ks.ca_file_of("kind: KubeletConfiguration\nauthentication: {x509: {clientCAFile: /y}}\n") == "/y"


def csr(name, created, node="w1", signer=ks.SIGNER, conditions=(), certificate=None):
    status = {"conditions": [{"type": c, "status": "True"} for c in conditions]}
    if certificate:
        status["certificate"] = base64.b64encode(certificate.encode()).decode()
    return {"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"signerName": signer, "username": "system:node:%s" % node}, "status": status}


def test_only_the_nodes_new_serving_csrs_are_found_oldest_first_with_their_certificate():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    found = ks.new_serving_csrs({"resources": [
        csr("csr-old", "2026-11-30T10:00:00Z", conditions=["Approved"]),
        csr("csr-b", "2026-11-30T12:00:05Z", conditions=["Approved"], certificate=pem),
        csr("csr-a", "2026-11-30T12:00:01Z"),
        csr("csr-other-node", "2026-11-30T12:00:02Z", node="w2"),
        csr("csr-client", "2026-11-30T12:00:03Z", signer="kubernetes.io/kube-apiserver-client-kubelet"),
        csr("csr-denied", "2026-11-30T12:00:04Z", conditions=["Denied"]),
    ]}, "w1", ["csr-old"])
    assert [f["name"] for f in found] == ["csr-a", "csr-denied", "csr-b"]
    assert found[0] == {"name": "csr-a", "created": "2026-11-30T12:00:01Z", "approved": False, "denied": False,
                        "certificate": None}
    assert found[1]["denied"] and found[2]["approved"] and found[2]["certificate"] == pem


def test_a_certificate_that_is_not_base64_is_an_error():
    broken = csr("csr-x", "t")
    broken["status"]["certificate"] = "%%%"
    with pytest.raises(NodeOpsError, match="csr-x: status.certificate is not base64"):
        ks.new_serving_csrs([broken], "w1")

"""Verify kubelet serving certificates on the real lab after converge and idempotence.

On each node, a TLS handshake with 127.0.0.1:10250 made with the node's own python3 gives the certificate
the real kubelet serves; it must be, byte for byte, the certificate of an approved kubelet-serving CSR
requested by that node, issued by the cluster CA read from the node, with a signature that its key verifies,
and it must name only the Node's addresses. The checks use ``cryptography`` here, not the collection's code.
"""

import base64
import glob
import json
import os

import pytest
import testinfra
import yaml

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from kubernetes import client, config
from nodeops_lab import node_checks

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(EPHEMERAL, "lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
SIGNER = "kubernetes.io/kubelet-serving"
FILED_BEFORE = "prepare-filed-before-the-run"
NODES = ["lab-cp1", "lab-worker1"]

# Printed by the node's python3: the DER of the certificate served on 127.0.0.1:10250, base64.
SERVED = r"""
import base64, socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", 10250), timeout=15) as sock:
    with ctx.wrap_socket(sock) as tls:
        print(base64.b64encode(tls.getpeercert(binary_form=True)).decode())
"""

_NODES = {}


class Node(object):
    def __init__(self, host):
        variables = host.ansible.get_variables()
        self.run = testinfra.get_host("podman://" + variables["ansible_host"])
        self.name = variables["kube_node_name"]

    def served(self):
        out = self.run.check_output("python3 -c %s" % _quote(SERVED))
        return x509.load_der_x509_certificate(base64.b64decode(out.strip()))

    def cluster_ca(self):
        text = self.run.file("/etc/kubernetes/pki/ca.crt").content_string
        return x509.load_pem_x509_certificate(text.encode())


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.fixture
def node(host):
    name = host.backend.get_hostname()
    if name not in _NODES:
        _NODES[name] = Node(host)
    return _NODES[name]


@pytest.fixture(scope="module")
def api():
    api_client = config.new_client_from_config(KUBECONFIG)
    return (client.CoreV1Api(api_client), client.CertificatesV1Api(api_client),
            client.CoordinationV1Api(api_client))


def serving_csrs(api, node_name):
    return [c for c in api[1].list_certificate_signing_request().items
            if c.spec.signer_name == SIGNER and c.spec.username == "system:node:%s" % node_name]


def approved_certificates(api, node_name):
    """The signed certificates of the node's approved serving CSRs, by CSR name."""
    found = {}
    for csr in serving_csrs(api, node_name):
        conditions = [c.type for c in (csr.status.conditions or [])]
        if "Approved" in conditions and csr.status.certificate:
            pem = base64.b64decode(csr.status.certificate)
            found[csr.metadata.name] = x509.load_pem_x509_certificates(pem)[0]
    return found


def reports():
    found = []
    for path in sorted(glob.glob(os.path.join(EPHEMERAL, "kubelet-serving-report-*.json"))):
        with open(path) as handle:
            found.append(json.load(handle))
    return found


# --------------------------------------------------------------------------- each node

def test_the_kubelet_configuration_file_has_server_tls_bootstrap_on(node):
    conf = yaml.safe_load(node.run.file("/var/lib/kubelet/config.yaml").content_string)
    assert conf["serverTLSBootstrap"] is True
    assert node.run.service("kubelet").is_running


def test_10250_serves_the_certificate_of_an_approved_csr_of_this_node(node, api):
    served = node.served()
    approved = approved_certificates(api, node.name)
    assert approved, "no approved and signed serving CSR of %s" % node.name
    der = served.public_bytes(Encoding.DER)
    same = [name for name, cert in approved.items() if cert.public_bytes(Encoding.DER) == der]
    assert same, "10250 of %s serves serial %x, none of the approved CSRs %s" % (
        node.name, served.serial_number, dict((n, "%x" % c.serial_number) for n, c in approved.items()))
    assert [a.value for a in served.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [
        "system:node:%s" % node.name]
    assert [a.value for a in served.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:nodes"]


def test_the_served_certificate_is_signed_by_the_cluster_ca(node):
    served, ca = node.served(), node.cluster_ca()
    assert served.issuer == ca.subject
    served.verify_directly_issued_by(ca)   # raises InvalidSignature when the CA's key did not sign it


def test_the_served_certificate_names_only_the_nodes_addresses(node, api):
    served = node.served()
    sans = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = [str(v) for v in sans.get_values_for_type(x509.DNSName)] + \
        [str(v) for v in sans.get_values_for_type(x509.IPAddress)]
    addresses = [a.address for a in api[0].read_node(node.name).status.addresses]
    assert names and set(names) <= set(addresses), (names, addresses)


def test_the_kubelet_serves_another_certificate_than_the_self_signed_one_of_before(node):
    with open(os.path.join(EPHEMERAL, "kubelet-before-%s.b64" % node.name)) as handle:
        before = x509.load_der_x509_certificate(base64.b64decode(handle.read().strip()))
    assert before.issuer != node.cluster_ca().subject, "the kubelet was already CA-signed before the run"
    assert node.served().serial_number != before.serial_number


def test_the_node_is_ready_with_a_fresh_lease(node, api):
    node_checks.assert_ready_with_a_fresh_lease(api[0], api[2], node.name)


# --------------------------------------------------------------------------- the cluster

def test_the_kubelet_configmap_has_server_tls_bootstrap_on(api):
    configmap = api[0].read_namespaced_config_map("kubelet-config", "kube-system")
    assert yaml.safe_load(configmap.data["kubelet"])["serverTLSBootstrap"] is True


def test_the_csr_filed_before_the_run_is_still_pending(api):
    csr = api[1].read_certificate_signing_request(FILED_BEFORE)
    assert not csr.status.conditions and not csr.status.certificate, csr.status


def test_the_reports_first_run_changed_every_node_second_run_skipped_them():
    runs = reports()
    assert len(runs) == 2, "converge and idempotence each write a report"
    first, second = runs
    assert first["ok"] and [n["node"] for n in first["nodes"]] == NODES, first["lines"]
    assert {n["action"] for n in first["nodes"]} == {"changed"}, first["lines"]
    for entry in first["nodes"]:
        details = entry["details"]
        assert details["approved"] and set(details["approved"]) <= set(details["csrs"])
        assert FILED_BEFORE not in details["csrs"]
        assert details["served"]["proof"] == "matches_expected" and details["served"]["signed_by_ca"] is True
        assert details["serving_before"]["signed_by_ca"] is False
        assert details["server_tls_bootstrap"]["after"] is True
        assert entry["durations"]["change"] is not None and entry["durations"]["verify"] is not None
        assert len(entry["backups"]) >= 1
    assert second["ok"] and {n["action"] for n in second["nodes"]} == {"skipped"}, second["lines"]
    assert all("nothing to do" in n["reason"] for n in second["nodes"])

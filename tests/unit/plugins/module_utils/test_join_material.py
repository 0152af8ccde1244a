# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Join material: bootstrap token, discovery hash and the cluster-info check, on objects made in the test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import hmac
import json
import re

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _join_material as jm
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.timezone.utc)
TOKEN_ID = "abcdef"
TOKEN_SECRET = "0123456789abcdef"


def make_ca(common_name="kubernetes"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert


CA = make_ca()
OTHER_CA = make_ca("someone-else")


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def kubeconfig_text(cert=CA, server="https://10.0.0.10:6443"):
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "users": None, "contexts": None,
              "current-context": "",
              "clusters": [{"name": "", "cluster": {
                  "certificate-authority-data": base64.b64encode(pem(cert)).decode(), "server": server}}]}
    return yaml.safe_dump(config)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def kubeadm_jws(token_id, token_secret, content):
    """The detached JWS as k8s.io/cluster-bootstrap computes it, written out here independently."""
    header = b64url(b'{"alg":"HS256","kid":"%s"}' % token_id.encode())
    signing_input = header + "." + b64url(content.encode())
    signature = hmac.new(token_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return header + ".." + b64url(signature)


def cluster_info(content=None, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, signed=True):
    content = content if content is not None else kubeconfig_text()
    data = {"kubeconfig": content}
    if signed:
        data["jws-kubeconfig-" + token_id] = kubeadm_jws(token_id, token_secret, content)
    return {"metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": data}


def token_secret(token_id=TOKEN_ID, secret=TOKEN_SECRET, expires=NOW + datetime.timedelta(hours=1),
                 description="nodeops", **overrides):
    body = jm.token_secret_body(token_id, secret, 3600, description, now=expires - datetime.timedelta(hours=1))
    for key, value in overrides.items():
        if value is None:
            body["data"].pop(key, None)
        else:
            body["data"][key] = base64.b64encode(value.encode()).decode()
    return body


# --- token --------------------------------------------------------------------------------------

def test_generated_tokens_have_kubeadms_form_and_differ():
    tokens = set()
    for dummy in range(20):
        token_id, secret = jm.generate_token()
        assert re.match(r"^[a-z0-9]{6}$", token_id) and re.match(r"^[a-z0-9]{16}$", secret)
        tokens.add((token_id, secret))
    assert len(tokens) == 20


def test_the_token_secret_is_kubeadms():
    body = jm.token_secret_body(TOKEN_ID, TOKEN_SECRET, 7200, "for windows-1", now=NOW)
    assert body["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert body["type"] == "bootstrap.kubernetes.io/token"
    assert jm.secret_data(body) == {
        "token-id": "abcdef", "token-secret": "0123456789abcdef", "expiration": "2026-11-30T14:00:00Z",
        "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
        "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token", "description": "for windows-1"}


@pytest.mark.parametrize("text, seconds", [("1h", 3600), ("90m", 5400), ("1h30m", 5400), ("600s", 600)])
def test_ttls_are_read_like_kubeadms(text, seconds):
    assert jm.parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["0", "0h", "", "1d", "forever"])
def test_a_ttl_that_is_zero_or_not_a_duration_is_refused(text):
    with pytest.raises(NodeOpsError):
        jm.parse_ttl(text)


def test_a_valid_token_has_no_problems():
    assert jm.token_problems(token_secret(), NOW) == []


def test_an_expired_token_is_refused():
    problems = jm.token_problems(token_secret(expires=NOW - datetime.timedelta(seconds=1)), NOW)
    assert any("expired at 2026-11-30T11:59:59Z" in p for p in problems)


def test_an_expiration_with_an_offset_is_understood():
    assert jm.token_problems(token_secret(expiration="2026-11-30T13:30:00+02:00"), NOW)  # 11:30 UTC: expired
    assert jm.token_problems(token_secret(expiration="2026-11-30T15:30:00+02:00"), NOW) == []


def test_a_token_without_the_signing_usage_is_refused():
    problems = jm.token_problems(token_secret(**{"usage-bootstrap-signing": None}), NOW)
    assert any("lacks usage-bootstrap-signing" in p for p in problems)


def test_a_token_without_the_authentication_usage_is_refused():
    problems = jm.token_problems(token_secret(**{"usage-bootstrap-authentication": "false"}), NOW)
    assert any("lacks usage-bootstrap-authentication" in p for p in problems)


def test_token_problems_never_show_the_secret():
    problems = jm.token_problems(token_secret(expires=NOW - datetime.timedelta(hours=2),
                                              **{"usage-bootstrap-signing": None}), NOW)
    assert problems and not any(TOKEN_SECRET in p for p in problems)


def test_the_longest_valid_token_of_the_description_is_reused():
    short = token_secret(token_id="aaaaaa", expires=NOW + datetime.timedelta(hours=1))
    longer = token_secret(token_id="bbbbbb", expires=NOW + datetime.timedelta(hours=3))
    other = token_secret(token_id="cccccc", expires=NOW + datetime.timedelta(hours=9), description="other")
    expired = token_secret(token_id="dddddd", expires=NOW - datetime.timedelta(hours=1))
    almost = token_secret(token_id="eeeeee", expires=NOW + datetime.timedelta(minutes=5))
    chosen = jm.reusable_token([short, longer, other, expired, almost], "nodeops", NOW)
    assert chosen["metadata"]["name"] == "bootstrap-token-bbbbbb"
    assert jm.reusable_token([other, expired, almost], "nodeops", NOW) is None


# --- discovery hash -----------------------------------------------------------------------------

def test_the_discovery_hash_is_sha256_of_the_ca_public_key_info():
    spki = CA.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = "sha256:" + hashlib.sha256(spki).hexdigest()
    assert jm.ca_cert_hash(pem(CA)) == expected
    assert jm.ca_cert_hash(CA.public_bytes(serialization.Encoding.DER)) == expected
    assert jm.ca_cert_hash(CA) == expected
    assert jm.ca_cert_hash(pem(OTHER_CA)) != expected


def test_data_that_is_no_certificate_is_refused():
    with pytest.raises(NodeOpsError, match="not a PEM or DER certificate"):
        jm.ca_cert_hash(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")


# --- JWS and cluster-info -----------------------------------------------------------------------

def test_our_jws_is_kubeadms_detached_form():
    content = kubeconfig_text()
    jws = jm.detached_jws(TOKEN_ID, TOKEN_SECRET, content)
    assert jws == kubeadm_jws(TOKEN_ID, TOKEN_SECRET, content)
    header, empty, dummy = jws.split(".")
    assert empty == "" and json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "kid": "abcdef"}


def test_a_signed_cluster_info_verifies_and_gives_server_ca_and_hash():
    info = jm.check_cluster_info(cluster_info(), TOKEN_ID, TOKEN_SECRET, expected_ca_pem=pem(CA))
    assert info["server"] == "https://10.0.0.10:6443"
    assert info["ca_cert_hash"] == jm.ca_cert_hash(CA)


def test_a_tampered_cluster_info_is_refused():
    configmap = cluster_info()
    configmap["data"]["kubeconfig"] = kubeconfig_text(server="https://evil.example:6443")
    with pytest.raises(NodeOpsError, match="does not verify with token abcdef"):
        jm.check_cluster_info(configmap, TOKEN_ID, TOKEN_SECRET)


def test_a_signature_made_with_another_key_is_refused():
    configmap = cluster_info(token_secret="ffffffffffffffff")
    with pytest.raises(NodeOpsError, match="does not verify") as failure:
        jm.check_cluster_info(configmap, TOKEN_ID, TOKEN_SECRET)
    assert TOKEN_SECRET not in str(failure.value)


def test_a_signature_with_the_id_in_the_key_is_not_kubeadms_and_is_refused():
    content = kubeconfig_text()
    configmap = cluster_info(content)
    configmap["data"]["jws-kubeconfig-abcdef"] = kubeadm_jws(TOKEN_ID, TOKEN_ID + "." + TOKEN_SECRET, content)
    with pytest.raises(NodeOpsError, match="does not verify"):
        jm.check_cluster_info(configmap, TOKEN_ID, TOKEN_SECRET)


@pytest.mark.parametrize("jws, reason", [
    ("abc.def.ghi", "not a detached JWS"),
    ("onlyone", "not a detached JWS"),
    (b64url(b'{"alg":"none","kid":"abcdef"}') + "..c2ln", "not HS256"),
    (b64url(b'{"alg":"HS256","kid":"zzzzzz"}') + "..c2ln", "names key id zzzzzz"),
])
def test_malformed_signatures_are_refused(jws, reason):
    configmap = cluster_info()
    configmap["data"]["jws-kubeconfig-abcdef"] = jws
    with pytest.raises(NodeOpsError, match=reason):
        jm.check_cluster_info(configmap, TOKEN_ID, TOKEN_SECRET)


def test_an_unsigned_cluster_info_names_the_bootstrap_signer():
    with pytest.raises(NodeOpsError, match="bootstrapsigner"):
        jm.check_cluster_info(cluster_info(signed=False), TOKEN_ID, TOKEN_SECRET)


def test_a_cluster_info_with_another_ca_than_expected_is_refused():
    with pytest.raises(NodeOpsError, match="not the expected cluster CA"):
        jm.check_cluster_info(cluster_info(kubeconfig_text(OTHER_CA)), TOKEN_ID, TOKEN_SECRET,
                              expected_ca_pem=pem(CA))


def test_a_cluster_info_without_kubeconfig_is_refused():
    with pytest.raises(NodeOpsError, match="has no kubeconfig"):
        jm.check_cluster_info({"data": {}}, TOKEN_ID, TOKEN_SECRET)


# --- join command -------------------------------------------------------------------------------

def test_the_join_command_is_kubeadms():
    assert jm.api_server_endpoint("https://10.0.0.10:6443/") == "10.0.0.10:6443"
    assert jm.join_command("10.0.0.10:6443", TOKEN_ID, TOKEN_SECRET, "sha256:00ff") == (
        "kubeadm join 10.0.0.10:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00ff")


# --- the module's work on a fake API ------------------------------------------------------------

class FakeApi(object):
    """kube-system token Secrets and kube-public/cluster-info; the bootstrapsigner signs on read."""

    def __init__(self, secrets=(), signer=True, content=None, signer_key=None):
        self.secrets = dict((s["metadata"]["name"], s) for s in secrets)
        self.signer = signer
        self.signer_key = signer_key
        self.content = content if content is not None else kubeconfig_text()
        self.created = []
        self.deleted = []
        self.reads = 0

    def list_token_secrets(self):
        return list(self.secrets.values())

    def get_token_secret(self, token_id):
        return self.secrets.get("bootstrap-token-" + token_id)

    def create_token_secret(self, body):
        self.created.append(body)
        self.secrets[body["metadata"]["name"]] = body

    def delete_token_secret(self, token_id):
        self.deleted.append(token_id)
        self.secrets.pop("bootstrap-token-" + token_id, None)

    def get_cluster_info(self):
        self.reads += 1
        data = {"kubeconfig": self.content}
        if self.signer and self.reads > 1:  # the signer needs a moment after the Secret appears
            for secret in self.secrets.values():
                values = jm.secret_data(secret)
                key = self.signer_key or values["token-secret"]
                data["jws-kubeconfig-" + values["token-id"]] = kubeadm_jws(values["token-id"], key, self.content)
        return {"data": data}


PARAMS = {"state": "present", "description": "nodeops", "ttl": "1h", "reuse_token": True, "extra_groups": None,
          "ca_cert_path": None, "api_server_endpoint": None, "wait_timeout": 30, "token_id": None}


def run(api, check_mode=False, **params):
    clock = {"now": 0.0}

    def sleep(seconds):
        clock["now"] += seconds

    values = dict(PARAMS, **params)
    return jm.run(api, values, check_mode, now=NOW, sleep=sleep, clock=lambda: clock["now"])


def test_present_creates_a_token_waits_for_the_signature_and_returns_the_join_command():
    api = FakeApi()
    result = run(api)
    assert result["changed"] and result["created"] and len(api.created) == 1
    token_id = result["token_id"]
    secret = jm.secret_data(api.created[0])["token-secret"]
    assert result["expires"] == "2026-11-30T13:00:00Z"
    assert result["ca_cert_hash"] == jm.ca_cert_hash(CA)
    assert result["join_command"] == ("kubeadm join 10.0.0.10:6443 --token %s.%s --discovery-token-ca-cert-hash %s"
                                      % (token_id, secret, jm.ca_cert_hash(CA)))
    assert secret not in result["msg"]


def test_present_reuses_a_valid_token_and_changes_nothing():
    api = FakeApi(secrets=[token_secret()])
    result = run(api)
    assert not result["changed"] and result["reused"] and result["token_id"] == TOKEN_ID and api.created == []


def test_present_makes_a_new_token_when_reuse_is_off():
    api = FakeApi(secrets=[token_secret()])
    result = run(api, reuse_token=False)
    assert result["created"] and result["token_id"] != TOKEN_ID


def test_check_mode_creates_nothing_and_says_what_it_would_create():
    api = FakeApi()
    result = run(api, check_mode=True)
    assert result["changed"] and api.created == [] and result["join_command"] is None
    assert "would create a bootstrap token" in result["msg"] and result["ca_cert_hash"] == jm.ca_cert_hash(CA)


def test_a_token_that_cluster_info_does_not_verify_with_is_refused_and_deleted_again():
    api = FakeApi(signer_key="ffffffffffffffff")
    with pytest.raises(NodeOpsError, match="does not verify.*was deleted again") as failure:
        run(api)
    assert api.deleted == [api.created[0]["metadata"]["name"][len("bootstrap-token-"):]]
    assert jm.secret_data(api.created[0])["token-secret"] not in failure.value.message


def test_a_signer_that_never_signs_times_out_naming_the_controller():
    api = FakeApi(signer=False)
    with pytest.raises(NodeOpsError, match="not signed for token .* within 30s.*bootstrapsigner"):
        run(api)
    assert len(api.deleted) == 1


def test_ca_cert_path_must_be_the_ca_of_cluster_info(tmp_path):
    path = tmp_path / "ca.crt"
    path.write_bytes(pem(OTHER_CA))
    with pytest.raises(NodeOpsError, match="not the expected cluster CA"):
        run(FakeApi(), ca_cert_path=str(path))
    path.write_bytes(pem(CA))
    assert run(FakeApi(), ca_cert_path=str(path))["ca_cert_hash"] == jm.ca_cert_hash(CA)


def test_absent_deletes_the_token_and_a_second_run_changes_nothing():
    api = FakeApi(secrets=[token_secret()])
    assert run(api, check_mode=True, state="absent", token_id=TOKEN_ID)["changed"] and api.deleted == []
    assert run(api, state="absent", token_id=TOKEN_ID)["changed"] and api.deleted == [TOKEN_ID]
    assert not run(api, state="absent", token_id=TOKEN_ID)["changed"]


def test_absent_needs_a_valid_token_id():
    with pytest.raises(NodeOpsError, match="is not 6 characters"):
        run(FakeApi(), state="absent", token_id="ABC")

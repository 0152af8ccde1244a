# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The material of a ``kubeadm join``: bootstrap token, discovery hash, cluster-info check.

What ``kubeadm token create --print-join-command`` does, through the API and verifiable:

* a bootstrap token ``<id>.<secret>`` (id ``[a-z0-9]{6}``, secret ``[a-z0-9]{16}``) stored as the
  Secret ``kube-system/bootstrap-token-<id>`` of type ``bootstrap.kubernetes.io/token``, with the
  usages and extra group kubeadm gives it;
* the discovery hash ``sha256:<hex>`` of the cluster CA certificate's SubjectPublicKeyInfo (DER);
* the ``kube-public/cluster-info`` ConfigMap checked as a joining node checks it: its ``kubeconfig``
  must carry the expected CA, and its ``jws-kubeconfig-<id>`` detached JWS (added by the
  bootstrapsigner controller of kube-controller-manager) must verify with the token. The JWS is
  HS256 with the token secret as key and ``{"alg":"HS256","kid":"<id>"}`` as protected header, in
  the detached form ``<header>..<signature>`` (RFC 7515 appendix F), as
  k8s.io/cluster-bootstrap ``token/jws`` computes it;
* the join command assembled from them.

The token secret never goes into a message of this module: errors name the token by its id only.
Plain Python over dicts (the API objects as JSON), testable without a cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import re
import secrets
import time

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry as ce
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a requirement of ansible-core
    yaml = None

TOKEN_NAMESPACE = "kube-system"
TOKEN_SECRET_TYPE = "bootstrap.kubernetes.io/token"
TOKEN_SECRET_PREFIX = "bootstrap-token-"
CLUSTER_INFO_NAMESPACE = "kube-public"
CLUSTER_INFO_NAME = "cluster-info"
JWS_KEY_PREFIX = "jws-kubeconfig-"
DEFAULT_GROUPS = ("system:bootstrappers:kubeadm:default-node-token",)
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
TOKEN_ID_RE = re.compile(r"^[a-z0-9]{6}$")
TOKEN_SECRET_RE = re.compile(r"^[a-z0-9]{16}$")
TTL_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
# A token is reused only when it stays valid at least this long (a join takes minutes).
REUSE_MIN_REMAINING_SECONDS = 15 * 60
BOOTSTRAP_SIGNER_HINT = (
    "the bootstrapsigner controller of kube-controller-manager adds it (kubeadm enables it: "
    "--controllers=*,bootstrapsigner,tokencleaner); check that kube-controller-manager runs with it"
)


def utcnow():
    """The current time, timezone-aware UTC."""
    return datetime.datetime.now(datetime.timezone.utc)


def generate_token():
    """A new random bootstrap token as ``(id, secret)``, from the ``secrets`` module."""
    token_id = "".join(secrets.choice(TOKEN_ALPHABET) for dummy in range(6))
    token_secret = "".join(secrets.choice(TOKEN_ALPHABET) for dummy in range(16))
    return token_id, token_secret


def check_token_id(token_id):
    """Raise when ``token_id`` is not a bootstrap token id."""
    if not isinstance(token_id, str) or not TOKEN_ID_RE.match(token_id):
        raise NodeOpsError("bootstrap token id %r is not 6 characters of [a-z0-9]; give the id part of "
                           "<id>.<secret>" % (token_id,))


def secret_name(token_id):
    """The name of the Secret of a bootstrap token."""
    return TOKEN_SECRET_PREFIX + token_id


def parse_ttl(text):
    """Seconds of a duration in the form kubeadm takes (``24h``, ``90m``, ``1h30m``, ``600s``)."""
    found = TTL_RE.match(str(text or "").strip())
    if not found or not any(found.groups()):
        raise NodeOpsError("ttl %r is not a duration such as 2h, 90m or 1h30m" % (text,))
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise NodeOpsError("ttl %r is zero: a join token that never expires is refused; give a duration "
                           "such as 1h" % (text,))
    return total


def rfc3339(moment):
    """``moment`` (aware) as RFC 3339 in UTC, seconds precision, as kubeadm writes ``expiration``."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text):
    """An aware datetime from RFC 3339 text (``Z`` or a numeric offset); raises NodeOpsError."""
    value = str(text or "").strip()
    if value.endswith("Z") or value.endswith("z"):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise NodeOpsError("expiration %r is not an RFC 3339 time" % (text,))
    if moment.tzinfo is None:
        raise NodeOpsError("expiration %r has no time zone" % (text,))
    return moment


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def token_secret_body(token_id, token_secret, ttl_seconds, description, now=None, groups=DEFAULT_GROUPS):
    """The Secret of a bootstrap token, with the same data keys and values as kubeadm's."""
    check_token_id(token_id)
    if not TOKEN_SECRET_RE.match(token_secret or ""):
        raise NodeOpsError("bootstrap token secret of token %s is not 16 characters of [a-z0-9]" % token_id)
    expiration = rfc3339((now or utcnow()) + datetime.timedelta(seconds=ttl_seconds))
    data = {
        "token-id": token_id,
        "token-secret": token_secret,
        "expiration": expiration,
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": ",".join(groups),
        "description": description,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(token_id), "namespace": TOKEN_NAMESPACE},
        "type": TOKEN_SECRET_TYPE,
        "data": dict((key, _b64(value)) for key, value in data.items()),
    }


def secret_data(secret):
    """The decoded ``data`` (and ``stringData``) of a Secret as text values."""
    values = {}
    for key, value in ((secret or {}).get("data") or {}).items():
        try:
            values[key] = base64.b64decode(value or "").decode("utf-8")
        except (TypeError, ValueError, binascii.Error, UnicodeDecodeError):
            values[key] = None
    for key, value in ((secret or {}).get("stringData") or {}).items():
        values[key] = value
    return values


def token_problems(secret, now=None):
    """Why a bootstrap token Secret cannot serve a join (an empty list when it can).

    Each reason names the token by its id, never its secret.
    """
    data = secret_data(secret)
    token_id = data.get("token-id") or "?"
    name = (secret.get("metadata") or {}).get("name")
    problems = []
    if secret.get("type") != TOKEN_SECRET_TYPE:
        problems.append("Secret %s is of type %s, not %s" % (name, secret.get("type"), TOKEN_SECRET_TYPE))
    if not TOKEN_ID_RE.match(data.get("token-id") or "") or name != secret_name(data.get("token-id") or ""):
        problems.append("Secret %s has no valid token-id matching its name" % name)
    if not TOKEN_SECRET_RE.match(data.get("token-secret") or ""):
        problems.append("token %s has no valid token-secret" % token_id)
    if data.get("usage-bootstrap-signing") != "true":
        problems.append("token %s lacks usage-bootstrap-signing: cluster-info is not signed for it, so a "
                        "joining node cannot verify the API server" % token_id)
    if data.get("usage-bootstrap-authentication") != "true":
        problems.append("token %s lacks usage-bootstrap-authentication: the kubelet cannot authenticate "
                        "with it" % token_id)
    expiration = data.get("expiration")
    if expiration:
        try:
            if parse_rfc3339(expiration) <= (now or utcnow()):
                problems.append("token %s expired at %s; create a new one" % (token_id, expiration))
        except NodeOpsError as exc:
            problems.append("token %s: %s" % (token_id, exc))
    return problems


def expiration_of(secret):
    """The expiration of a token Secret as an aware datetime, or None when it never expires."""
    expiration = secret_data(secret).get("expiration")
    return parse_rfc3339(expiration) if expiration else None


def load_certificates(pem_or_der):
    """The certificates of a PEM bundle (or one DER certificate); raises NodeOpsError."""
    ce.require_cryptography()
    from cryptography import x509  # pylint: disable=import-outside-toplevel

    data = pem_or_der.encode("ascii") if isinstance(pem_or_der, str) else bytes(pem_or_der or b"")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            if hasattr(x509, "load_pem_x509_certificates"):
                return list(x509.load_pem_x509_certificates(data))
            return [x509.load_pem_x509_certificate(data)]  # pragma: no cover - old cryptography
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise NodeOpsError("the CA data is not a PEM or DER certificate: %s" % exc)


def ca_cert_hash(certificate):
    """``sha256:<hex>`` of a certificate's SubjectPublicKeyInfo DER, kubeadm's discovery hash.

    ``certificate`` is a ``cryptography`` certificate, or PEM/DER data (the first certificate counts).
    """
    ce.require_cryptography()
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    if isinstance(certificate, (bytes, bytearray, str)):
        certificate = load_certificates(certificate)[0]
    spki = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def parse_kubeconfig(text):
    """The server and the CA (PEM bytes) of cluster-info's kubeconfig; raises NodeOpsError."""
    if yaml is None:  # pragma: no cover
        raise NodeOpsError("the Python package PyYAML is required to read cluster-info")
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise NodeOpsError("cluster-info: its kubeconfig is not YAML: %s" % exc)
    clusters = config.get("clusters") if isinstance(config, dict) else None
    if not clusters or not isinstance(clusters, list) or not isinstance(clusters[0], dict):
        raise NodeOpsError("cluster-info: its kubeconfig has no cluster; re-upload it with "
                           "'kubeadm init phase bootstrap-token' on a control-plane node")
    cluster = clusters[0].get("cluster") or {}
    server = cluster.get("server")
    ca_data = cluster.get("certificate-authority-data")
    if not server or not ca_data:
        raise NodeOpsError("cluster-info: its kubeconfig lacks the server or certificate-authority-data; re-upload "
                           "it with 'kubeadm init phase bootstrap-token' on a control-plane node")
    try:
        ca_pem = base64.b64decode(ca_data)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise NodeOpsError("cluster-info: certificate-authority-data is not base64: %s" % exc)
    return {"server": server, "ca_pem": ca_pem}


def b64url(data):
    """Base64url without padding, as JWS uses it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Decode base64url with or without padding; raises ValueError."""
    data = text.encode("ascii") if isinstance(text, str) else text
    try:
        return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
    except (TypeError, binascii.Error) as exc:
        raise ValueError(str(exc))


def _as_bytes(payload):
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def detached_jws(token_id, token_secret, payload):
    """The detached JWS ``<header>..<signature>`` the bootstrapsigner puts into cluster-info."""
    header = b64url(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode("utf-8"))
    signing_input = (header + "." + b64url(_as_bytes(payload))).encode("ascii")
    signature = hmac.new(token_secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return header + ".." + b64url(signature)


def verify_detached_jws(jws, token_id, token_secret, payload):
    """Raise NodeOpsError unless ``jws`` is a valid detached HS256 JWS of ``payload`` for the token."""
    where = "cluster-info: the signature %s%s" % (JWS_KEY_PREFIX, token_id)
    parts = str(jws or "").strip().split(".")
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        raise NodeOpsError("%s is not a detached JWS (<header>..<signature>)" % where)
    try:
        header = json.loads(b64url_decode(parts[0]).decode("utf-8"))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise NodeOpsError("%s cannot be decoded: %s" % (where, exc))
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise NodeOpsError("%s is not HS256 (header %s); refusing it" % (where, header))
    if header.get("kid") not in (None, token_id):
        raise NodeOpsError("%s names key id %s, not the token's" % (where, header.get("kid")))
    signing_input = (parts[0] + "." + b64url(_as_bytes(payload))).encode("ascii")
    expected = hmac.new(token_secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise NodeOpsError("%s does not verify with token %s: cluster-info was changed after signing or was "
                           "signed with another token; do not join with it, find out who changed "
                           "kube-public/cluster-info" % (where, token_id))


def jws_of(configmap, token_id):
    """The ``jws-kubeconfig-<id>`` value of cluster-info, or None while the signer has not added it."""
    return ((configmap or {}).get("data") or {}).get(JWS_KEY_PREFIX + token_id)


def check_cluster_info(configmap, token_id, token_secret, expected_ca_pem=None):
    """Check cluster-info as ``kubeadm join`` does: CA as expected, JWS verified.

    Returns ``server``, ``ca_pem`` and ``ca_cert_hash``. Raises NodeOpsError on any mismatch.
    """
    kubeconfig = ((configmap or {}).get("data") or {}).get("kubeconfig")
    if not kubeconfig:
        raise NodeOpsError("cluster-info: kube-public/cluster-info has no kubeconfig; re-upload it with "
                           "'kubeadm init phase bootstrap-token' on a control-plane node")
    info = parse_kubeconfig(kubeconfig)
    info["ca_cert_hash"] = ca_cert_hash(info["ca_pem"])
    if expected_ca_pem is not None:
        expected = set(ca_cert_hash(cert) for cert in load_certificates(expected_ca_pem))
        if info["ca_cert_hash"] not in expected:
            raise NodeOpsError("cluster-info: its CA (%s) is not the expected cluster CA (%s); the ConfigMap or "
                               "ca_cert_path is wrong, do not join with it"
                               % (info["ca_cert_hash"], ", ".join(sorted(expected))))
    jws = jws_of(configmap, token_id)
    if not jws:
        raise NodeOpsError("cluster-info has no signature %s%s for token %s; %s"
                           % (JWS_KEY_PREFIX, token_id, token_id, BOOTSTRAP_SIGNER_HINT))
    verify_detached_jws(jws, token_id, token_secret, kubeconfig)
    return info


def api_server_endpoint(server):
    """``host:port`` of an API server URL, as ``kubeadm join`` takes it."""
    endpoint = re.sub(r"^https?://", "", str(server or "")).rstrip("/")
    if not endpoint or "/" in endpoint:
        raise NodeOpsError("API server %r is not a URL of the form https://host:port" % (server,))
    return endpoint


def join_command(endpoint, token_id, token_secret, discovery_hash):
    """``kubeadm join <endpoint> --token <id>.<secret> --discovery-token-ca-cert-hash sha256:<hex>``."""
    return "kubeadm join %s --token %s.%s --discovery-token-ca-cert-hash %s" % (
        endpoint, token_id, token_secret, discovery_hash)


def reusable_token(secrets_list, description, now=None, min_remaining=REUSE_MIN_REMAINING_SECONDS):
    """The token Secret of ``description`` valid the longest, if it is valid long enough, else None."""
    now = now or utcnow()
    best = None
    best_expiration = None
    for secret in secrets_list:
        data = secret_data(secret)
        if data.get("description") != description or token_problems(secret, now):
            continue
        expiration = expiration_of(secret)
        if expiration is not None and (expiration - now).total_seconds() < min_remaining:
            continue
        if best is None or (best_expiration is not None and (expiration is None or expiration > best_expiration)):
            best, best_expiration = secret, expiration
    return best


def wait_for_jws(api, token_id, timeout, sleep=time.sleep, clock=time.monotonic, interval=2.0):
    """Poll cluster-info until the bootstrapsigner has signed it for ``token_id``; return the ConfigMap."""
    deadline = clock() + max(0, timeout)
    while True:
        configmap = api.get_cluster_info()
        if jws_of(configmap, token_id):
            return configmap
        if clock() >= deadline:
            raise NodeOpsError("cluster-info was not signed for token %s within %ss (no %s%s key); %s"
                               % (token_id, timeout, JWS_KEY_PREFIX, token_id, BOOTSTRAP_SIGNER_HINT))
        sleep(interval)


def _read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise NodeOpsError("cannot read ca_cert_path %s: %s" % (path, exc))


def _material(info, token_id, token_secret, expires, endpoint_override):
    endpoint = endpoint_override or api_server_endpoint(info["server"])
    return {
        "token_id": token_id,
        "token": "%s.%s" % (token_id, token_secret),
        "expires": expires,
        "ca_cert_hash": info["ca_cert_hash"],
        "api_server_endpoint": endpoint,
        "join_command": join_command(endpoint, token_id, token_secret, info["ca_cert_hash"]),
    }


def present(api, params, check_mode, now=None, sleep=time.sleep, clock=time.monotonic):
    """Make sure a verified join token exists; return the module result."""
    now = now or utcnow()
    ttl_seconds = parse_ttl(params.get("ttl"))
    description = params["description"]
    expected_ca = _read_file(params["ca_cert_path"]) if params.get("ca_cert_path") else None
    groups = tuple(params.get("extra_groups") or DEFAULT_GROUPS)
    reuse = reusable_token(api.list_token_secrets(), description, now) if params.get("reuse_token") else None

    if reuse is None and check_mode:
        configmap = api.get_cluster_info()
        kubeconfig = ((configmap or {}).get("data") or {}).get("kubeconfig")
        if not kubeconfig:
            raise NodeOpsError("cluster-info: kube-public/cluster-info has no kubeconfig; re-upload it with "
                               "'kubeadm init phase bootstrap-token' on a control-plane node")
        info = parse_kubeconfig(kubeconfig)
        info["ca_cert_hash"] = ca_cert_hash(info["ca_pem"])
        if expected_ca is not None and info["ca_cert_hash"] not in set(
                ca_cert_hash(cert) for cert in load_certificates(expected_ca)):
            raise NodeOpsError("cluster-info: its CA (%s) is not the CA of ca_cert_path %s; do not join with it"
                               % (info["ca_cert_hash"], params["ca_cert_path"]))
        expires = rfc3339(now + datetime.timedelta(seconds=ttl_seconds))
        message = ("would create a bootstrap token Secret in %s (description %r, expires %s, groups %s); "
                   "its id and the join command exist only after a real run"
                   % (TOKEN_NAMESPACE, description, expires, ",".join(groups)))
        return {"changed": True, "created": True, "reused": False, "token_id": None, "token": None,
                "expires": expires, "ca_cert_hash": info["ca_cert_hash"],
                "api_server_endpoint": params.get("api_server_endpoint") or api_server_endpoint(info["server"]),
                "join_command": None, "msg": message}

    if reuse is not None:
        data = secret_data(reuse)
        token_id, token_secret = data["token-id"], data["token-secret"]
        expires = data.get("expiration")
        created = False
    else:
        token_id, token_secret = generate_token()
        body = token_secret_body(token_id, token_secret, ttl_seconds, description, now, groups)
        expires = secret_data(body)["expiration"]
        api.create_token_secret(body)
        created = True

    try:
        configmap = wait_for_jws(api, token_id, params.get("wait_timeout", 120), sleep=sleep, clock=clock)
        info = check_cluster_info(configmap, token_id, token_secret, expected_ca)
    except NodeOpsError as exc:
        if created:
            try:
                api.delete_token_secret(token_id)
                exc.message += "; the new token %s was deleted again" % token_id
            except NodeOpsError as cleanup:
                exc.message += "; deleting the new token %s failed too: %s" % (token_id, cleanup.message)
        raise NodeOpsError(exc.message, token_id=token_id)

    result = _material(info, token_id, token_secret, expires, params.get("api_server_endpoint"))
    verb = "created" if created else "reused"
    result.update(changed=created, created=created, reused=not created,
                  msg="%s bootstrap token %s (expires %s); cluster-info verified with it, CA %s"
                  % (verb, token_id, expires or "never", info["ca_cert_hash"]))
    return result


def absent(api, params, check_mode):
    """Delete the token Secret of ``token_id``; return the module result."""
    token_id = params.get("token_id")
    check_token_id(token_id)
    secret = api.get_token_secret(token_id)
    if secret is None:
        return {"changed": False, "token_id": token_id, "msg": "bootstrap token %s does not exist" % token_id}
    if check_mode:
        return {"changed": True, "token_id": token_id, "msg": "would delete bootstrap token %s" % token_id}
    api.delete_token_secret(token_id)
    return {"changed": True, "token_id": token_id, "msg": "deleted bootstrap token %s" % token_id}


def run(api, params, check_mode, **kwargs):
    """The module's work for ``state`` present or absent."""
    if params.get("state", "present") == "absent":
        return absent(api, params, check_mode)
    return present(api, params, check_mode, **kwargs)


class ClusterApi(object):
    """The few API calls of the join material, on a ``kubernetes.client.ApiClient``."""

    def __init__(self, api_client, params=None):
        from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi  # pylint: disable=import-outside-toplevel

        self.params = params or {}
        self.core = KubeApi(api_client)

    def _call(self, what, function, *args, **kwargs):
        from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import call_json  # pylint: disable=import-outside-toplevel

        return call_json(what, function, self.params, *args, missing_ok=True, **kwargs)

    def list_token_secrets(self):
        found = self._call("listing bootstrap token Secrets in %s" % TOKEN_NAMESPACE,
                           self.core.list_namespaced_secret, TOKEN_NAMESPACE,
                           field_selector="type=%s" % TOKEN_SECRET_TYPE)
        return (found or {}).get("items") or []

    def get_token_secret(self, token_id):
        return self._call("reading Secret %s/%s" % (TOKEN_NAMESPACE, secret_name(token_id)),
                          self.core.read_namespaced_secret, secret_name(token_id), TOKEN_NAMESPACE)

    def create_token_secret(self, body):
        name = body["metadata"]["name"]
        self._call("creating Secret %s/%s" % (TOKEN_NAMESPACE, name),
                   self.core.create_namespaced_secret, TOKEN_NAMESPACE, body)

    def delete_token_secret(self, token_id):
        self._call("deleting Secret %s/%s" % (TOKEN_NAMESPACE, secret_name(token_id)),
                   self.core.delete_namespaced_secret, secret_name(token_id), TOKEN_NAMESPACE)

    def get_cluster_info(self):
        found = self._call("reading ConfigMap %s/%s" % (CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME),
                           self.core.read_namespaced_config_map, CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE)
        if found is None:
            raise NodeOpsError("ConfigMap %s/%s does not exist; the cluster was not set up with kubeadm's "
                               "bootstrap-token phase ('kubeadm init phase bootstrap-token' creates it)"
                               % (CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME))
        return found

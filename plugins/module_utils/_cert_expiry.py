# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expiry of a kubeadm control-plane node's certificates, parsed with ``cryptography``.

Plain Python over file contents: the action plugin ``cert_expiry`` fetches the
files from the node and hands their text to :func:`expiry_report`; nothing here
talks to a node. The rows are those of ``kubeadm certs check-expiration``
(:data:`KUBEADM_CERTIFICATES`, :data:`KUBEADM_CAS`) plus the kubelet's client
and serving certificates, which kubeadm does not list. :func:`kubeadm_json`
gives the same data in the shape of ``kubeadm certs check-expiration -o json``.

This runs on the controller, where ``cryptography`` is a requirement of the
collection; the node needs nothing but a Python to serve the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import posixpath
import traceback

# pylint: disable=unused-import
from ansible_collections.nodeops.kubernetes.plugins.module_utils._cert_expiry_node import (  # noqa: F401 - re-exported
    DEFAULT_KUBECONFIG_DIR,
    DEFAULT_MANIFESTS_DIR,
    DEFAULT_PKI_DIR,
    KUBEADM_CAS,
    KUBEADM_CERTIFICATES,
    KUBELET_CLIENT,
    KUBELET_SERVING_FILES,
    NODE_READER,
    node_request,
)
# pylint: enable=unused-import
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubeconfig import check_kubeconfig_data

try:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - cryptography is a controller requirement of the collection
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

KUBEADM_OUTPUT_API_VERSION = "output.kubeadm.k8s.io/v1alpha3"
KUBEADM_OUTPUT_KIND = "CertificateExpirationInfo"

CERTIFICATE_NAMES = tuple(entry[0] for entry in KUBEADM_CERTIFICATES)
ETCD_NAMES = ("etcd-healthcheck-client", "etcd-peer", "etcd-server")
# kubeadm writes super-admin.conf on the node of `kubeadm init` only (1.29 and later).
OPTIONAL_NAMES = ("super-admin.conf",)

SECONDS_PER_DAY = 86400


def require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise NodeOpsError(
            "the Python package 'cryptography' is required on the controller to read certificates; install it "
            "with 'pip install cryptography' (it is listed in the collection's requirements.txt)",
            exception=CRYPTOGRAPHY_IMPORT_ERROR,
        )


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(moment):
    """``2026-12-10T19:45:00Z``, as kubeadm prints expirationDate."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_duration(seconds):
    """Short residual time as kubeadm's table shows it: 45s, 30m, 20h, 9d, 364d, 9y; <invalid> when past."""
    if seconds is None:
        return ""
    if seconds < 0:
        return "<invalid>"
    if seconds < 60:
        return "%ds" % seconds
    minutes = seconds // 60
    if minutes < 60:
        return "%dm" % minutes
    hours = minutes // 60
    if hours < 48:
        return "%dh" % hours
    days = hours // 24
    if days < 365 * 2:
        return "%dd" % days
    return "%dy" % (days // 365)


# --------------------------------------------------------------------------- parsing

def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    if value is None:  # pragma: no cover - cryptography < 42
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def _not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    if value is None:  # pragma: no cover - cryptography < 42
        value = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    return value


def _name_values(name, oid):
    return [attribute.value for attribute in name.get_attributes_for_oid(oid)]


def pem_certificates(data, source):
    """Every certificate of a PEM text (a kubelet .pem holds the certificate chain and the key)."""
    require_cryptography()
    if isinstance(data, str):
        data = data.encode("utf-8")
    marker = b"-----BEGIN CERTIFICATE-----"
    if marker not in data:
        raise NodeOpsError("%s holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' line); check that it "
                           "is the certificate file and restore it from a backup if it was damaged" % source,
                           path=source)
    loader = getattr(x509, "load_pem_x509_certificates", None)
    try:
        if loader is not None:
            return loader(data)
        return [x509.load_pem_x509_certificate(data)]  # pragma: no cover - cryptography < 39
    except ValueError as exc:
        raise NodeOpsError("%s is not a readable PEM certificate: %s; check the file and restore it from a backup "
                           "if it was damaged" % (source, exc), path=source)


def certificate_info(cert):
    """What the report says about one certificate."""
    from cryptography.x509.extensions import ExtensionNotFound  # pylint: disable=import-outside-toplevel

    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = sans.get_values_for_type(x509.DNSName)
        ip_addresses = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    except ExtensionNotFound:
        dns_names, ip_addresses = [], []
    return {
        "serial": format(cert.serial_number, "x"),
        "not_before": rfc3339(_not_before(cert)),
        "not_after": rfc3339(_not_after(cert)),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "common_name": (_name_values(cert.subject, NameOID.COMMON_NAME) or [None])[0],
        "organizations": _name_values(cert.subject, NameOID.ORGANIZATION_NAME),
        "dns_names": dns_names,
        "ip_addresses": ip_addresses,
        "self_signed": cert.subject == cert.issuer,
    }


KUBECONFIG_FIX = "restore it from a backup or regenerate it with 'kubeadm init phase kubeconfig'"


def kubeconfig_client_certificate(text, source, read_file=None):
    """The client certificate (PEM bytes) of the current context's user of a kubeconfig text.

    ``client-certificate-data`` is used, else the file named by ``client-certificate`` through
    ``read_file(path)`` (relative paths are relative to the kubeconfig). Returns None when the
    user has no client certificate (a token, for example).
    """
    if yaml is None:  # pragma: no cover
        raise NodeOpsError("PyYAML is required to read kubeconfig files")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise NodeOpsError("%s is not a readable kubeconfig (YAML error: %s); %s" % (source, exc, KUBECONFIG_FIX),
                           path=source)
    try:
        check_kubeconfig_data(config, source, root, single=False, general=KUBECONFIG_FIX)
    except NodeOpsError as exc:
        raise NodeOpsError(exc.message, path=source)
    users = dict((u.get("name"), u.get("user") or {}) for u in config.get("users") or [] if isinstance(u, dict))
    contexts = dict((c.get("name"), c.get("context") or {}) for c in config.get("contexts") or []
                    if isinstance(c, dict))
    context = contexts.get(config.get("current-context")) or {}
    user = users.get(context.get("user"))
    if user is None:
        user = next(iter(users.values()), None)
    if not user:
        names = ", ".join(sorted(str(name) for name in users)) or "none"
        raise NodeOpsError("%s has no user with credentials (users: %s); %s" % (source, names, KUBECONFIG_FIX),
                           path=source)
    if user.get("client-certificate-data"):
        try:
            return base64.b64decode(user["client-certificate-data"])
        except (TypeError, ValueError, binascii.Error) as exc:
            raise NodeOpsError("%s: client-certificate-data is not base64 (%s)" % (source, exc), path=source)
    if user.get("client-certificate") and read_file is not None:
        path = user["client-certificate"]
        if not path.startswith("/"):
            path = posixpath.join(posixpath.dirname(source), path)
        data = read_file(path)
        if data is None:
            raise NodeOpsError("%s names the client certificate %s, which does not exist" % (source, path),
                               path=source)
        return data
    return None


# --------------------------------------------------------------------------- the report

def _row(name, path, now, cert=None, missing=False, **extra):
    row = {"name": name, "path": path, "missing": missing, "expires": None, "residual_seconds": None,
           "residual_time": "", "expired": False}
    if cert is not None:
        info = certificate_info(cert)
        residual = int((_not_after(cert) - now).total_seconds())
        row.update(info)
        row.update(expires=info["not_after"], residual_seconds=residual, residual_time=human_duration(residual),
                   expired=residual <= 0)
    row.update(extra)
    return row


def _first_certificate(data, source):
    return pem_certificates(data, source)[0]


def expiry_report(files, now=None, threshold_days=30, pki_dir=DEFAULT_PKI_DIR,
                  kubeconfig_dir=DEFAULT_KUBECONFIG_DIR, manifests_dir=DEFAULT_MANIFESTS_DIR,
                  kubelet_client=KUBELET_CLIENT, kubelet_serving=KUBELET_SERVING_FILES, extra_pki_files=()):
    """The expiry report of one control-plane node.

    ``files`` maps absolute paths to their bytes (or text); a path that is absent is missing on the node.
    Returns a dict with ``certificates``, ``certificate_authorities``, ``kubelet`` (rows),
    ``other_certificates`` (other ``.crt`` files of the PKI directory), ``due`` and ``expired``
    (renewable kubeadm certificate names), ``external_ca`` and ``kubeadm`` (the kubeadm JSON shape).
    """
    require_cryptography()
    now = now or utcnow()

    def data(path):
        return files.get(path)

    def pki(rel):
        return posixpath.join(pki_dir, rel)

    local_etcd = data(pki("etcd/ca.crt")) is not None or data(posixpath.join(manifests_dir, "etcd.yaml")) is not None

    cas = []
    ca_external = {}
    for name, cert_rel, key_rel in KUBEADM_CAS:
        if name == "etcd-ca" and not local_etcd:
            continue
        path = pki(cert_rel)
        content = data(path)
        external = content is not None and data(pki(key_rel)) is None
        ca_external[name] = external
        if content is None:
            cas.append(_row(name, path, now, missing=True, externally_managed=False, key_path=pki(key_rel)))
        else:
            cas.append(_row(name, path, now, _first_certificate(content, path), externally_managed=external,
                            key_path=pki(key_rel)))

    rows = []
    for name, kind, rel, ca_name, pods in KUBEADM_CERTIFICATES:
        if name in ETCD_NAMES and not local_etcd:
            continue
        path = posixpath.join(kubeconfig_dir if kind == "kubeconfig" else pki_dir, rel)
        extra = dict(kind=kind, ca_name=ca_name, externally_managed=ca_external.get(ca_name, False),
                     static_pods=list(pods))
        content = data(path)
        if content is None:
            rows.append(_row(name, path, now, missing=True, **extra))
            continue
        if kind == "kubeconfig":
            pem = kubeconfig_client_certificate(content, path, read_file=data)
            if pem is None:
                # a kubeconfig without a client certificate (a token) has nothing to expire
                rows.append(_row(name, path, now, missing=True, **extra))
                continue
            cert = _first_certificate(pem, "%s (client-certificate)" % path)
        else:
            cert = _first_certificate(content, path)
        rows.append(_row(name, path, now, cert, **extra))

    kubelet = []
    content = data(kubelet_client)
    kubelet.append(_row("kubelet-client", kubelet_client, now,
                        _first_certificate(content, kubelet_client) if content is not None else None,
                        missing=content is None, rotated_by="kubelet (rotateCertificates)"))
    serving_path = next((p for p in kubelet_serving if data(p) is not None), None)
    if serving_path is None:
        kubelet.append(_row("kubelet-serving", kubelet_serving[0], now, missing=True, rotated_by="kubelet"))
    else:
        cert = _first_certificate(data(serving_path), serving_path)
        bootstrapped = serving_path != kubelet_serving[-1]
        kubelet.append(_row("kubelet-serving", serving_path, now, cert, bootstrapped=bootstrapped,
                            rotated_by="kubelet (serverTLSBootstrap, CSRs approved in the cluster)" if bootstrapped
                            else "nobody: made by the kubelet itself, not signed by the cluster CA"))

    known = set(r["path"] for r in rows + cas)
    other = []
    for path in sorted(extra_pki_files):
        if path in known or data(path) is None:
            continue
        try:
            other.append(_row(posixpath.relpath(path, pki_dir), path, now, _first_certificate(data(path), path)))
        except NodeOpsError as exc:
            other.append(_row(posixpath.relpath(path, pki_dir), path, now, error=exc.message))

    renewable = [r for r in rows if not r["missing"] and not r["externally_managed"]]
    # The rule of the unattended renewal job, imported here: that module's other imports (ssl, argparse) are for
    # the job, and every host's worker of a fleet audit imports this one.
    from ansible_collections.nodeops.kubernetes.plugins.module_utils._cert_renewal_job import is_due  # pylint: disable=import-outside-toplevel
    due = [r["name"] for r in renewable if is_due(r["residual_seconds"], threshold_days)]
    expired = [r["name"] for r in rows if r["expired"]]
    external = [ca["name"] for ca in cas if ca.get("externally_managed")]
    soonest = min((r["residual_seconds"] for r in rows + cas + kubelet if r["residual_seconds"] is not None),
                  default=None)
    report = {
        "now": rfc3339(now),
        "threshold_days": int(threshold_days),
        "certificates": rows,
        "certificate_authorities": cas,
        "kubelet": kubelet,
        "other_certificates": other,
        "due": due,
        "expired": expired,
        "external_ca": external,
        "local_etcd": local_etcd,
        "soonest_residual_seconds": soonest,
    }
    report["kubeadm"] = kubeadm_json(report)
    report["lines"] = table_lines(report)
    return report


def kubeadm_json(report):
    """The report in the shape of ``kubeadm certs check-expiration -o json`` (residualTime in seconds)."""
    def entry(row, with_ca):
        item = {"name": row["name"], "expirationDate": row["expires"] or "0001-01-01T00:00:00Z",
                "residualTime": row["residual_seconds"] or 0,
                "externallyManaged": bool(row.get("externally_managed"))}
        if with_ca:
            item["caName"] = row["ca_name"]
        item["missing"] = bool(row["missing"])
        return item

    return {
        "kind": KUBEADM_OUTPUT_KIND,
        "apiVersion": KUBEADM_OUTPUT_API_VERSION,
        "certificates": [entry(r, True) for r in report["certificates"]],
        "certificateAuthorities": [entry(r, False) for r in report["certificate_authorities"]],
    }


def _expires_text(row):
    if row["missing"]:
        return "!MISSING!"
    moment = datetime.datetime.strptime(row["expires"], "%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%b %d, %Y %H:%M UTC")


def _table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    return ["   ".join("%-*s" % (widths[i], r[i]) for i in range(len(header))).rstrip() for r in [header] + rows]


def table_lines(report):
    """The report as kubeadm's two tables, then the kubelet's certificates."""
    def yes_no(value):
        return "yes" if value else "no"

    lines = _table(("CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"),
                   [(r["name"], _expires_text(r), r["residual_time"], r["ca_name"], yes_no(r["externally_managed"]))
                    for r in report["certificates"]])
    lines.append("")
    lines += _table(("CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"),
                    [(r["name"], _expires_text(r), r["residual_time"], yes_no(r["externally_managed"]))
                     for r in report["certificate_authorities"]])
    lines.append("")
    lines += _table(("KUBELET CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "FILE"),
                    [(r["name"], _expires_text(r), r["residual_time"], r["path"]) for r in report["kubelet"]])
    return lines


def referenced_files(files, kubeconfig_dir=DEFAULT_KUBECONFIG_DIR):
    """Client certificate files that the kubeadm kubeconfigs among ``files`` name instead of embedding them."""
    wanted = []
    for _name, kind, rel, _ca, _pods in KUBEADM_CERTIFICATES:
        path = posixpath.join(kubeconfig_dir, rel)
        if kind != "kubeconfig" or files.get(path) is None:
            continue
        seen = []
        try:
            kubeconfig_client_certificate(files[path], path, read_file=lambda ref, seen=seen: seen.append(ref) or b"")
        except NodeOpsError:
            continue
        wanted.extend(ref for ref in seen if ref not in files and ref not in wanted)
    return wanted


def read_expiry_report(read_files, threshold_days=30, pki_dir=DEFAULT_PKI_DIR, kubeconfig_dir=DEFAULT_KUBECONFIG_DIR,
                       manifests_dir=DEFAULT_MANIFESTS_DIR):
    """The expiry report of a node whose files ``read_files(request)`` reads.

    ``read_files`` runs :data:`NODE_READER` on the node with a request and returns ``(files, globbed)`` (what
    :func:`decode_reader_output` gives): first the files of :func:`node_request`, then, only when a kubeadm
    kubeconfig names its client certificate file instead of embedding it, those files.
    """
    require_cryptography()
    dirs = dict(pki_dir=pki_dir, kubeconfig_dir=kubeconfig_dir, manifests_dir=manifests_dir)
    files, globbed = read_files(node_request(**dirs))
    more = referenced_files(files, kubeconfig_dir)
    if more:
        extra, dummy = read_files({"pem": more})
        files.update(extra)
    return expiry_report(files, threshold_days=threshold_days, extra_pki_files=globbed, **dirs)


def decode_reader_output(stdout, source):
    """``(files, globbed)`` from the JSON :data:`NODE_READER` printed: paths to bytes (None when absent)."""
    import json  # pylint: disable=import-outside-toplevel

    try:
        answer = json.loads(stdout)
        files = dict((path, None if value is None else base64.b64decode(value))
                     for path, value in answer["files"].items())
        return files, list(answer.get("globbed") or [])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise NodeOpsError("cannot read the certificate files of %s: the node's answer is not the expected JSON "
                           "(%s): %s" % (source, exc, stdout[:300]))


def static_pods_for(names):
    """The static pods to restart after renewing ``names`` (kubeadm certificate names), in a stable order."""
    unknown = [n for n in names if n not in CERTIFICATE_NAMES]
    if unknown:
        raise NodeOpsError("unknown kubeadm certificate name(s) %s; use %s"
                           % (", ".join(unknown), ", ".join(CERTIFICATE_NAMES)))
    order = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
    wanted = set()
    for name, _kind, _rel, _ca, pods in KUBEADM_CERTIFICATES:
        if name in names:
            wanted.update(pods)
    return [pod for pod in order if pod in wanted]

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions and proofs of the kubeadm certificate renewal.

* :func:`renewal_plan`: from a node's expiry report, what to renew (only what is due, unless forced),
  which static pods to restart, or why the node is refused (external CA, kubeadm missing).
* :data:`NODE_TLS_PROBE` and :func:`served_report`: which certificate each endpoint really serves, by TLS
  handshake on the node, compared (serial and notAfter) with the certificate file it must serve.
* :data:`NODE_PROCESSES` and the mirror pod predicates: whether the kubelet really stopped a static pod,
  and whether it runs again as a new, Ready container.

Plain Python, tested without Ansible; the node-side snippets use the node's python3 standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import json
import posixpath

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry as ce
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_renewal_job as job
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

RENEW = "renew"
SKIP = "skip"
REFUSE = "refuse"

# The TLS endpoints of a kubeadm control-plane node: name, port, static pod, the certificate file it serves
# (relative to the PKI directory; None: the component makes its own certificate in memory at start, as
# kube-controller-manager and kube-scheduler do unless --tls-cert-file is set), and the client certificate
# the handshake presents (etcd asks for one).
ENDPOINTS = (
    ("kube-apiserver", 6443, "kube-apiserver", "apiserver.crt", None),
    ("etcd", 2379, "etcd", "etcd/server.crt", ("etcd/healthcheck-client.crt", "etcd/healthcheck-client.key")),
    ("kube-controller-manager", 10257, "kube-controller-manager", None, None),
    ("kube-scheduler", 10259, "kube-scheduler", None, None),
    # Every node: the kubelet's serving certificate (its CSR-signed one with serverTLSBootstrap; the file is a
    # symlink to the current certificate and key).
    ("kubelet", 10250, None, "/var/lib/kubelet/pki/kubelet-server-current.pem", None),
)
# The endpoints of a kubeadm control-plane node (served_certificates' default).
CONTROL_PLANE_ENDPOINTS = tuple(e[0] for e in ENDPOINTS if e[2])


def renewal_plan(report, force=False, names=None, kubeadm_present=True):
    """What to do on a node, from its :func:`_cert_expiry.expiry_report`.

    ``names`` limits the renewal to these kubeadm certificate names (default: all). Only due certificates
    are renewed unless ``force``. A certificate whose CA has no key (external CA mode) cannot be renewed by
    kubeadm: the node is refused, naming the files and who renews them.
    """
    rows = dict((r["name"], r) for r in report["certificates"])
    wanted = list(names) if names else [r["name"] for r in report["certificates"]]
    unknown = [n for n in wanted if n not in ce.CERTIFICATE_NAMES]
    if unknown:
        raise NodeOpsError("unknown kubeadm certificate name(s) %s; use %s"
                           % (", ".join(unknown), ", ".join(ce.CERTIFICATE_NAMES)))
    present = [n for n in wanted if n in rows and not rows[n]["missing"]]
    # Due: the rule of the unattended job too (_cert_renewal_job.is_due); cert_expiry's "due" leaves out
    # the certificates of an external CA, which refuse the node when they are due.
    candidates = present if force else [n for n in present if n in report["due"] or rows[n]["externally_managed"]
                                        and job.is_due(rows[n]["residual_seconds"], report["threshold_days"])]
    external = [n for n in candidates if rows[n]["externally_managed"]]
    plan = {"action": SKIP, "renew": [], "static_pods": [], "reasons": [], "external": external,
            "due": [n for n in present if n in report["due"]], "force": bool(force),
            "before": dict((n, _summary(rows[n])) for n in present)}
    if external:
        cas = sorted(set(rows[n]["ca_name"] for n in external))
        ca_rows = dict((r["name"], r) for r in report["certificate_authorities"])
        plan["action"] = REFUSE
        plan["reasons"].append(
            "external CA mode: the key of CA %s is not on the node (%s missing), so kubeadm cannot renew %s; "
            "whoever runs that CA must issue new certificates for these files: %s"
            % (", ".join(cas), ", ".join(ca_rows[c]["key_path"] for c in cas if c in ca_rows),
               ", ".join(external), ", ".join(rows[n]["path"] for n in external)))
        return plan
    if not candidates:
        plan["reasons"].append("nothing is due: every certificate has more than %d days left (soonest: %s)"
                               % (report["threshold_days"], ce.human_duration(min(
                                   (rows[n]["residual_seconds"] for n in present), default=None))))
        return plan
    if not kubeadm_present:
        plan["action"] = REFUSE
        plan["reasons"].append("kubeadm is not installed on the node, so %s cannot be renewed here; install the "
                               "cluster's kubeadm version or renew them by hand" % ", ".join(candidates))
        return plan
    plan["action"] = RENEW
    plan["renew"] = candidates
    plan["static_pods"] = ce.static_pods_for(candidates)
    plan["reasons"].append("%s: %s" % ("forced" if force and not set(candidates) <= set(plan["due"]) else "due",
                                       ", ".join("%s (%s left)" % (n, rows[n]["residual_time"]) for n in candidates)))
    return plan


def _summary(row):
    return {"expires": row["expires"], "serial": row.get("serial"), "residual_time": row["residual_time"]}


def renewal_outcome(plan, after):
    """Compare the expiry report after the renewal with the plan: each renewed certificate must be new.

    Returns ``{"renewed": {name: {before, after}}, "problems": [...]}``.
    """
    rows = dict((r["name"], r) for r in after["certificates"])
    renewed, problems = {}, []
    for name in plan["renew"]:
        row = rows.get(name)
        before = plan["before"].get(name) or {}
        if row is None or row["missing"]:
            problems.append("%s is missing after the renewal" % name)
            continue
        renewed[name] = {"before": before, "after": _summary(row)}
        if row.get("serial") == before.get("serial"):
            problems.append("%s still has serial %s after kubeadm certs renew" % (name, row.get("serial")))
        elif name in after["due"] and not plan["force"]:
            problems.append("%s is still due after the renewal (%s left): the renewed certificate is shorter "
                            "than the threshold of %d days; lower the threshold or check the cluster's "
                            "certificateValidityPeriod" % (name, row["residual_time"], after["threshold_days"]))
    return {"renewed": renewed, "problems": problems}


# --------------------------------------------------------------------------- served certificates

# Runs on the node with its python3: prints, for each endpoint, the DER of the certificate it serves
# (base64) and the public PEM of the file it must serve. Client keys stay on the node.
NODE_TLS_PROBE = r"""
import base64, json, socket, ssl, sys
req = json.loads(sys.argv[1])
out = []
for ep in req:
    item = {"name": ep["name"], "port": ep["port"], "served": None, "error": None, "file": None, "ca_file": None}
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if ep.get("client_cert") and ep.get("client_key"):
            try:
                ctx.load_cert_chain(ep["client_cert"], ep["client_key"])
            except (IOError, OSError, ssl.SSLError):
                pass
        sock = socket.create_connection((ep.get("host") or "127.0.0.1", ep["port"]), timeout=ep.get("timeout", 15))
        try:
            tls = ctx.wrap_socket(sock, server_hostname=ep.get("server_name") or None)
            item["served"] = base64.b64encode(tls.getpeercert(binary_form=True)).decode()
            tls.close()
        finally:
            sock.close()
    except Exception as exc:
        item["error"] = "%s: %s" % (type(exc).__name__, exc)
    for key in ("file", "ca_file"):
        if not ep.get(key):
            continue
        try:
            with open(ep[key], "rb") as handle:
                data = handle.read()
            start = data.find(b"-----BEGIN CERTIFICATE-----")
            end = data.find(b"-----END CERTIFICATE-----")
            item[key] = base64.b64encode(data[start:end + 25]).decode() if start >= 0 and end > start else ""
        except (IOError, OSError) as exc:
            item["error"] = (item["error"] or "") + " cannot read %s: %s" % (ep[key], exc)
    out.append(item)
print(json.dumps(out))
"""


def probe_request(pki_dir=ce.DEFAULT_PKI_DIR, only=None, host="127.0.0.1", ca_file=None):
    """The endpoint list :data:`NODE_TLS_PROBE` takes (``only``: endpoint names, by default those of the control
    plane; ``ca_file``: a CA on the node whose public certificate comes back with each endpoint)."""
    only = only or CONTROL_PLANE_ENDPOINTS
    request = []
    for name, port, _pod, served_file, client in ENDPOINTS:
        if name not in only:
            continue
        item = {"name": name, "port": port, "host": host}
        if served_file:
            item["file"] = posixpath.join(pki_dir, served_file)
        if ca_file:
            item["ca_file"] = ca_file
        if client:
            item["client_cert"], item["client_key"] = ("%s/%s" % (pki_dir, client[0]), "%s/%s" % (pki_dir, client[1]))
        request.append(item)
    return request


def _cert_of_der(der):
    from cryptography import x509  # pylint: disable=import-outside-toplevel

    return x509.load_der_x509_certificate(der)


def signed_by(cert, ca):
    """Whether ``cert`` is issued by ``ca`` and carries a valid signature of its key (both ``cryptography`` objects)."""
    from cryptography.exceptions import InvalidSignature  # pylint: disable=import-outside-toplevel

    if cert.issuer != ca.subject:
        return False
    try:
        verify = getattr(cert, "verify_directly_issued_by", None)
        if verify is not None:
            verify(ca)
            return True
        # cryptography < 40
        from cryptography.hazmat.primitives.asymmetric import (  # pylint: disable=import-outside-toplevel
            ec, padding, rsa)

        key = ca.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def served_report(stdout, before=None, restarted=(), expected=None):
    """Judge the probe's answer.

    Each endpoint entry says what it serves (serial, not_after, subject) and ``proof``: ``matches_expected``
    (serial and notAfter equal those of the PEM certificate, or one of the certificates, ``expected[name]``),
    ``matches_file`` (equal the
    file's), ``new_since_restart`` (a component without a file, restarted: it serves another certificate than
    ``before`` did), ``serving`` or a failed proof; with a CA in the probe, ``signed_by_ca`` says whether the
    served certificate carries its signature. ``problems`` lists the failures.
    """
    ce.require_cryptography()
    try:
        answer = json.loads(stdout)
    except ValueError as exc:
        raise NodeOpsError("the TLS probe on the node did not answer JSON (%s): %s" % (exc, stdout[:300]))
    before = dict((e["name"], e) for e in before or [])
    wanted_certs = {}
    for name, text in (expected or {}).items():
        if text:
            wanted_certs[name] = [_brief(c) for c in ce.pem_certificates(text, "the expected certificate of " + name)]
    endpoints, problems = [], []
    for item in answer:
        entry = {"name": item["name"], "port": item["port"], "error": item.get("error"), "served": None,
                 "file": None, "proof": "unproved", "ok": False}
        served_cert = ca_cert = None
        wanted = wanted_certs.get(item["name"])
        try:
            if item.get("served"):
                served_cert = _cert_of_der(base64.b64decode(item["served"]))
                entry["served"] = _brief(served_cert)
            if item.get("file"):
                entry["file"] = _brief(ce.pem_certificates(base64.b64decode(item["file"]), item["name"])[0])
            if item.get("ca_file"):
                ca_cert = ce.pem_certificates(base64.b64decode(item["ca_file"]), "the CA of " + item["name"])[0]
        except (ValueError, TypeError, binascii.Error, NodeOpsError) as exc:
            entry["error"] = "cannot parse a certificate: %s" % exc
        served, in_file = entry["served"], entry["file"]
        if served is None:
            problems.append("%s (port %s) did not complete a TLS handshake: %s" % (item["name"], item["port"],
                                                                                   entry["error"]))
        elif wanted:
            matched = [w for w in wanted if (w["serial"], w["not_after"]) == (served["serial"], served["not_after"])]
            entry["expected"] = (matched or wanted)[0]
            entry["ok"] = bool(matched)
            entry["proof"] = "matches_expected" if entry["ok"] else "differs_from_expected"
            if not entry["ok"]:
                problems.append("%s (port %s) serves serial %s (notAfter %s), not the expected certificate with "
                                "serial %s" % (item["name"], item["port"], served["serial"], served["not_after"],
                                               " or ".join("%s (notAfter %s)" % (w["serial"], w["not_after"])
                                                           for w in wanted)))
        elif in_file is not None:
            entry["ok"] = served["serial"] == in_file["serial"] and served["not_after"] == in_file["not_after"]
            entry["proof"] = "matches_file" if entry["ok"] else "differs_from_file"
            if not entry["ok"]:
                problems.append("%s (port %s) serves serial %s (notAfter %s) but its file has serial %s (notAfter "
                                "%s): the component still uses the old certificate" % (
                                    item["name"], item["port"], served["serial"], served["not_after"],
                                    in_file["serial"], in_file["not_after"]))
        elif item["name"] in restarted:
            old = (before.get(item["name"]) or {}).get("served") or {}
            entry["ok"] = bool(old) and served["serial"] != old.get("serial")
            entry["proof"] = "new_since_restart" if entry["ok"] else "same_as_before_restart"
            if not entry["ok"]:
                problems.append("%s (port %s) serves the same certificate (serial %s) as before its restart"
                                % (item["name"], item["port"], served["serial"]))
        else:
            entry["ok"] = True
            entry["proof"] = "serving"
        if served_cert is not None and item.get("ca_file"):
            entry["signed_by_ca"] = ca_cert is not None and signed_by(served_cert, ca_cert)
            if not entry["signed_by_ca"]:
                entry["ok"] = False
                problems.append("%s (port %s) serves a certificate issued by %s that is not signed by the CA %s"
                                % (item["name"], item["port"], served["issuer"],
                                   ca_cert.subject.rfc4514_string() if ca_cert is not None else "(unreadable)"))
        endpoints.append(entry)
    return {"endpoints": endpoints, "problems": problems, "ok": not problems}


def _brief(cert):
    info = ce.certificate_info(cert)
    return dict((k, info[k]) for k in ("serial", "not_before", "not_after", "subject", "issuer", "dns_names",
                                       "ip_addresses"))


# --------------------------------------------------------------------------- static pods

# Runs on the node with its python3: the PIDs of the processes of a static pod, found by the pod's UID
# in their cgroup (both cgroup drivers, both cgroup versions) or, when the UID is unknown, by argv[0].
NODE_PROCESSES = r"""
import json, os, sys
req = json.loads(sys.argv[1])
uid = (req.get("uid") or "").replace("-", "")
binary = req.get("binary") or ""
pids = []
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        with open("/proc/%s/cmdline" % entry, "rb") as handle:
            argv0 = handle.read().split(b"\0")[0].decode("utf-8", "replace")
        with open("/proc/%s/cgroup" % entry) as handle:
            cgroup = handle.read().replace("-", "").replace("_", "")
    except (IOError, OSError):
        continue
    if os.path.basename(argv0) != binary:
        continue
    if uid and ("pod" + uid) not in cgroup:
        continue
    pids.append(int(entry))
print(json.dumps({"pids": sorted(pids)}))
"""


# The health endpoints of kubeadm's static pods on the node (the ones the probes of kubeadm's manifests ask), the
# same for the unattended job.
HEALTH_URLS = job.HEALTH_URLS

# Runs on the node with its python3: one GET of a health endpoint on the node itself (no proxy, the component's
# self-made certificate not verified); prints the HTTP status and the start of the body.
NODE_HEALTH = r"""
import json, ssl, sys
try:
    from urllib.request import HTTPSHandler, ProxyHandler, build_opener
    from urllib.error import HTTPError
except ImportError:
    raise SystemExit("python3 is needed")
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {"url": sys.argv[1], "status": None, "body": "", "error": None}
try:
    answer = build_opener(ProxyHandler({}), HTTPSHandler(context=ctx)).open(sys.argv[1], timeout=10)
    out["status"] = answer.getcode()
    out["body"] = answer.read(300).decode("utf-8", "replace")
except HTTPError as exc:
    out["status"] = exc.code
    out["body"] = exc.read(300).decode("utf-8", "replace")
except Exception as exc:
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
print(json.dumps(out))
"""


def health_answer(stdout):
    """``(healthy, why)`` from the JSON :data:`NODE_HEALTH` printed."""
    try:
        answer = json.loads(stdout)
    except ValueError:
        return False, "the health check on the node did not answer JSON: %s" % stdout[:200]
    if answer.get("status") == 200:
        return True, "%s answers 200" % answer.get("url")
    if answer.get("status") is None:
        return False, "%s does not answer (%s)" % (answer.get("url"), answer.get("error"))
    return False, "%s answers %s: %s" % (answer.get("url"), answer.get("status"),
                                         " ".join(str(answer.get("body") or "").split())[:200])


MANIFEST_FIX = ("Restore it from a backup (kubeadm upgrade keeps copies under /etc/kubernetes/tmp) or "
                "regenerate it with 'kubeadm init phase control-plane <component>' ('kubeadm init phase etcd "
                "local' for etcd), then run again")


def manifest_binary(manifest, source):
    """argv[0] basename of the first container of a static pod manifest (a dict)."""
    try:
        container = manifest["spec"]["containers"][0]
        argv0 = (container.get("command") or [container.get("name")])[0]
        return argv0.rsplit("/", 1)[-1]
    except (KeyError, IndexError, TypeError, AttributeError):
        raise NodeOpsError("%s is not a static pod manifest with a container (spec.containers[0] with a command "
                           "or a name); the kubelet cannot run it either. %s" % (source, MANIFEST_FIX),
                           path=source)


def pod_containers(pod):
    """``{container name: containerID}`` of a Pod (a dict as the API returns it)."""
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    return dict((s.get("name"), s.get("containerID")) for s in statuses)


def pod_ready_again(pod, old_container_ids):
    """Whether a mirror pod is Running and Ready with containers other than ``old_container_ids``.

    Returns ``(ready, why_not)``.
    """
    if not pod:
        return False, "the mirror pod does not exist yet"
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False, "phase %s" % status.get("phase")
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True":
        return False, "not Ready"
    statuses = status.get("containerStatuses") or []
    if not statuses:
        return False, "no container status yet"
    for container in statuses:
        if not container.get("ready") or "running" not in (container.get("state") or {}):
            return False, "container %s is not running and ready" % container.get("name")
        if container.get("containerID") in set(old_container_ids or ()):
            return False, "container %s is still the old one (%s)" % (
                container.get("name"), container.get("containerID"))
    return True, "Running and Ready as new container(s)"


def _rfc3339(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        raise NodeOpsError("%r is not an RFC 3339 UTC time such as 2026-12-01T12:25:00Z" % (text,))


def pod_ready_since(pod, since):
    """Whether a mirror pod is Running and Ready with every container started at or after ``since``.

    ``since`` is an RFC 3339 UTC time read from the node's clock before the restart. A Ready status from before
    the restart (the kubelet cannot update it while the API server is down) does not count. Returns
    ``(ready, why_not)``.
    """
    start = _rfc3339(since)
    ok, why = pod_ready_again(pod, ())
    if not ok:
        return False, why
    for container in pod["status"]["containerStatuses"]:
        started = container["state"]["running"].get("startedAt")
        if not started or _rfc3339(started) < start:
            return False, "container %s started at %s, before the restart at %s" % (
                container.get("name"), started, since)
    return True, "Running and Ready as container(s) started since %s" % since


def seconds_since(start):
    return round((datetime.datetime.now(datetime.timezone.utc) - start).total_seconds(), 2)

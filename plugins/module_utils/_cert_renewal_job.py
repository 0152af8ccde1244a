# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unattended kubeadm certificate renewal of one control-plane node: the job of the cert_renewal timer.

The role ``nodeops.kubernetes.cert_renewal`` (entry point ``timer``) installs this file on control-plane
nodes as ``/usr/local/libexec/nodeops/cert-renewal``, its settings as JSON and a systemd service and timer
that run it. It runs with the node's python3 (3.9 or later, standard library only) and does on the node
alone what the role does from the controller, with the same rule for what is due (:func:`is_due`, which
the role's ``cert_expiry`` and ``cert_renewal_plan`` use too):

1. ``kubeadm certs check-expiration -o json``; nothing due means nothing changed and nothing restarted.
2. Refusal before any change when a due certificate belongs to a CA whose key is not on the node
   (external CA: ``kubeadm certs renew`` would skip it and only say so in its output), when a static pod
   to restart does not answer its health check now, or when a restart of another run is unfinished.
3. Backup of the PKI directory, the kubeadm kubeconfigs and the admin.conf copies (paths kept).
4. ``kubeadm certs renew <name>`` for each due certificate only, then check-expiration again: each one must
   have a new expiry and no longer be due before a component loads it.
5. Each static pod that loads a renewed certificate is restarted: manifest moved out, wait until no process
   of it is left, manifest back, wait until a new process runs, its health endpoint answers 200 and
   (kube-apiserver, etcd) its port serves exactly the certificate of its file. Every wait polls until a
   timeout; there is no fixed sleep.
6. After a failure that follows the first change, the backup is copied back and the static pods are
   restarted and proved the same way on the old certificates.

Each step is a line on stdout with a syslog priority prefix (journald keeps it as the line's priority);
the last line is the result as JSON, also written to the status file. Exit codes: :data:`EXIT_OK`,
:data:`EXIT_ROLLED_BACK`, :data:`EXIT_REFUSED`, :data:`EXIT_FAILED`.

The decisions are plain functions; everything that touches the node goes through :class:`Node`, which
the unit tests replace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - the job runs on Linux nodes only
    fcntl = None

SECONDS_PER_DAY = 86400

EXIT_OK = 0            # renewed and proved, or nothing due
EXIT_ROLLED_BACK = 1   # a step failed after a change; the backup is back and the control plane proved healthy
EXIT_REFUSED = 2       # refused before any change (external CA, unhealthy control plane, another run, settings)
EXIT_FAILED = 3        # a step failed and the restore did not prove the control plane healthy: act now

RENEW = "renew"
SKIP = "skip"
REFUSE = "refuse"

# The static pods that load each certificate kubeadm renews (they must restart to use a renewed one).
STATIC_PODS = {
    "admin.conf": (),
    "apiserver": ("kube-apiserver",),
    "apiserver-etcd-client": ("kube-apiserver",),
    "apiserver-kubelet-client": ("kube-apiserver",),
    "controller-manager.conf": ("kube-controller-manager",),
    "etcd-healthcheck-client": (),
    "etcd-peer": ("etcd",),
    "etcd-server": ("etcd",),
    "front-proxy-client": ("kube-apiserver",),
    "scheduler.conf": ("kube-scheduler",),
    "super-admin.conf": (),
}
RESTART_ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

# The key of each CA, relative to the PKI directory: without it kubeadm cannot sign (external CA mode).
CA_KEYS = {"ca": "ca.key", "etcd-ca": "etcd/ca.key", "front-proxy-ca": "front-proxy-ca.key"}

KUBECONFIGS = ("admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf")

# Health endpoints on the node (the ones the probes of kubeadm's manifests ask) and, for the components that
# serve a certificate file, the port and the file (and the client certificate etcd asks for).
HEALTH_URLS = {
    "etcd": "http://127.0.0.1:2381/health?serializable=true",
    "kube-apiserver": "https://127.0.0.1:6443/readyz",
    "kube-controller-manager": "https://127.0.0.1:10257/healthz",
    "kube-scheduler": "https://127.0.0.1:10259/healthz",
}
SERVED_FILES = {
    "kube-apiserver": (6443, "apiserver.crt", None),
    "etcd": (2379, "etcd/server.crt", ("etcd/healthcheck-client.crt", "etcd/healthcheck-client.key")),
}

DEFAULTS = {
    "node": "",
    "threshold_days": 30,
    "certificates": [],
    "kubeadm": "kubeadm",
    "kubectl": "kubectl",
    "pki_dir": "/etc/kubernetes/pki",
    "kubeconfig_dir": "/etc/kubernetes",
    "manifests_dir": "/etc/kubernetes/manifests",
    "aside_dir": "/etc/kubernetes/manifests-aside",
    "backup_dir": "/var/backups/nodeops-cert-renewal",
    "admin_kubeconfig_copies": [],
    "stop_timeout": 180,
    "start_timeout": 300,
    "poll_interval": 2,
    "health_urls": {},
    "status_file": "/var/lib/nodeops/cert-renewal.json",
    "lock_file": "/run/nodeops-cert-renewal.lock",
}


class JobError(Exception):
    """A step that cannot go on; the message names what, why and what to do."""


# --------------------------------------------------------------------------- decisions

def is_due(residual_seconds, threshold_days):
    """Whether a certificate with ``residual_seconds`` left is due for renewal under ``threshold_days``."""
    return residual_seconds is not None and residual_seconds < int(threshold_days) * SECONDS_PER_DAY


def left(seconds):
    """Residual time in kubeadm's words: 9d, 20h, 30m, 45s; <invalid> once expired."""
    if seconds is None:
        return "?"
    if seconds < 0:
        return "<invalid>"
    if seconds >= 2 * SECONDS_PER_DAY:
        return "%dd" % (seconds // SECONDS_PER_DAY)
    if seconds >= 2 * 3600:
        return "%dh" % (seconds // 3600)
    if seconds >= 60:
        return "%dm" % (seconds // 60)
    return "%ds" % seconds


def parse_check_expiration(stdout):
    """The object of ``kubeadm certs check-expiration -o json`` (text before the JSON is skipped)."""
    start = stdout.find("{")
    try:
        info = json.loads(stdout[start:]) if start >= 0 else None
    except ValueError as exc:
        raise JobError("kubeadm certs check-expiration -o json did not print JSON (%s): %s" % (exc, stdout[:300]))
    if not isinstance(info, dict) or info.get("kind") != "CertificateExpirationInfo":
        raise JobError("kubeadm certs check-expiration -o json did not print a CertificateExpirationInfo: %s"
                       % stdout[:300])
    return info


def static_pods_for(names):
    """The static pods to restart after renewing ``names``, in restart order."""
    wanted = set()
    for name in names:
        wanted.update(STATIC_PODS.get(name, ()))
    return [pod for pod in RESTART_ORDER if pod in wanted]


def plan(info, threshold_days, names=None, ca_key_exists=None, pki_dir=DEFAULTS["pki_dir"]):
    """What the job does on this node, from kubeadm's check-expiration JSON.

    Returns ``{"action": renew|skip|refuse, "renew", "static_pods", "due", "external", "reasons",
    "before"}``. ``names`` limits the renewal to these kubeadm names; ``ca_key_exists(ca_name)`` tells
    whether the CA's key is on the node. A due certificate of a CA without its key (or that kubeadm calls
    externally managed), or one whose static pods are unknown, refuses the node: nothing is renewed.
    """
    ca_key_exists = ca_key_exists or (lambda ca_name: True)
    rows = dict((c.get("name"), c) for c in info.get("certificates") or [])
    unknown = [n for n in names or () if n not in STATIC_PODS]
    if unknown:
        raise JobError("unknown kubeadm certificate name(s) in the settings: %s; use %s"
                       % (", ".join(unknown), ", ".join(sorted(STATIC_PODS))))
    wanted = list(names) if names else [c.get("name") for c in info.get("certificates") or []]
    present = [n for n in wanted if n in rows and not rows[n].get("missing")]
    due = [n for n in present if is_due(rows[n].get("residualTime"), threshold_days)]
    external = [n for n in due if rows[n].get("externallyManaged") or not ca_key_exists(rows[n].get("caName"))]
    result = {"action": SKIP, "renew": [], "static_pods": [], "due": due, "external": external, "reasons": [],
              "before": dict((n, rows[n].get("expirationDate")) for n in present)}
    if external:
        cas = sorted(set(rows[n].get("caName") for n in external))
        result["action"] = REFUSE
        result["reasons"].append(
            "external CA: the key of CA %s is not on the node (%s), so kubeadm cannot renew %s; whoever runs that "
            "CA must issue them again; nothing was changed"
            % (", ".join(cas), ", ".join(os.path.join(pki_dir, CA_KEYS.get(ca, "?")) for ca in cas),
               ", ".join(external)))
        return result
    strange = [n for n in due if n not in STATIC_PODS]
    if strange:
        result["action"] = REFUSE
        result["reasons"].append("due certificate(s) %s unknown to this job (a newer kubeadm?): which static pods "
                                 "load them is not known; renew them with the role or by hand; nothing was changed"
                                 % ", ".join(strange))
        return result
    if not due:
        soonest = min(((rows[n].get("residualTime"), n) for n in present if rows[n].get("residualTime") is not None),
                      default=(None, None))
        result["reasons"].append("nothing is due: every certificate has more than %d days left (soonest: %s%s); "
                                 "nothing renewed, nothing restarted" % (int(threshold_days), left(soonest[0]),
                                                                         " " + soonest[1] if soonest[1] else ""))
        return result
    result["action"] = RENEW
    result["renew"] = due
    result["static_pods"] = static_pods_for(due)
    result["reasons"].append("due: %s" % ", ".join("%s (%s left)" % (n, left(rows[n].get("residualTime")))
                                                   for n in due))
    return result


def renewed_problems(the_plan, after, threshold_days):
    """What is wrong with the renewed certificates in ``after`` (check-expiration JSON after the renewal)."""
    rows = dict((c.get("name"), c) for c in after.get("certificates") or [])
    problems = []
    for name in the_plan["renew"]:
        row = rows.get(name)
        if row is None or row.get("missing"):
            problems.append("%s is missing after kubeadm certs renew" % name)
        elif row.get("expirationDate") == the_plan["before"].get(name):
            problems.append("%s still expires %s after kubeadm certs renew (kubeadm did not renew it)"
                            % (name, row.get("expirationDate")))
        elif is_due(row.get("residualTime"), threshold_days):
            problems.append("%s is still due after the renewal (%s left): the cluster's certificateValidityPeriod is "
                            "shorter than the threshold of %d days"
                            % (name, left(row.get("residualTime")), int(threshold_days)))
    return problems


def load_settings(path):
    """The job's settings: the JSON file written by the role, over :data:`DEFAULTS`."""
    settings = dict(DEFAULTS)
    try:
        with open(path) as handle:
            given = json.load(handle)
    except (IOError, OSError) as exc:
        raise JobError("cannot read the settings %s: %s; install them with the role nodeops.kubernetes.cert_renewal "
                       "(cert_renewal_timer=present)" % (path, exc))
    except ValueError as exc:
        raise JobError("the settings %s are not JSON (%s); install them again with the role" % (path, exc))
    if not isinstance(given, dict):
        raise JobError("the settings %s are not a JSON object" % path)
    settings.update((k, v) for k, v in given.items() if not k.startswith("_"))
    for key in ("threshold_days", "stop_timeout", "start_timeout"):
        if not isinstance(settings[key], int) or isinstance(settings[key], bool) or settings[key] < 0:
            raise JobError("setting %s of %s must be a whole number of at least 0, not %r" % (key, path, settings[key]))
    settings["node"] = settings["node"] or socket.gethostname()
    return settings


# --------------------------------------------------------------------------- the node

class Node(object):
    """Everything the job does to the node: commands, files, processes, health checks, TLS handshakes."""

    def __init__(self, settings):
        self.settings = settings

    @staticmethod
    def run(argv, timeout=900):
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                  timeout=timeout, check=False)
        except (IOError, OSError) as exc:
            return 127, "", "%s: %s" % (argv[0], exc)
        except subprocess.TimeoutExpired:
            return 124, "", "%s did not finish within %ss" % (" ".join(argv), timeout)
        return proc.returncode, proc.stdout, proc.stderr

    @staticmethod
    def exists(path):
        return os.path.lexists(path)

    @staticmethod
    def move(src, dst):
        os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
        os.rename(src, dst)

    @staticmethod
    def makedirs(path):
        os.makedirs(path, mode=0o700, exist_ok=True)

    @staticmethod
    def copy_file(src, dst):
        shutil.copy2(src, dst)
        os.chmod(dst, 0o600)

    @staticmethod
    def pids(binary):
        """PIDs of the processes whose command (argv[0]) is ``binary``."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    argv0 = handle.read().split(b"\0")[0].decode("utf-8", "replace")
            except (IOError, OSError):
                continue
            if argv0 and os.path.basename(argv0) == binary:
                found.append(int(entry))
        return sorted(found)

    @staticmethod
    def health(url):
        """``(status, body, error)`` of one GET of ``url`` (no proxy, certificate not verified)."""
        from urllib.error import HTTPError  # pylint: disable=import-outside-toplevel
        from urllib.request import HTTPSHandler, ProxyHandler, build_opener  # pylint: disable=import-outside-toplevel

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            answer = build_opener(ProxyHandler({}), HTTPSHandler(context=ctx)).open(url, timeout=10)
            return answer.getcode(), answer.read(300).decode("utf-8", "replace"), None
        except HTTPError as exc:
            return exc.code, exc.read(300).decode("utf-8", "replace"), None
        except Exception as exc:  # pylint: disable=broad-except
            return None, "", "%s: %s" % (type(exc).__name__, exc)

    @staticmethod
    def served(port, client=None):
        """DER of the certificate served on 127.0.0.1:``port`` (presenting ``client`` (cert, key) when given)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if client:
            ctx.load_cert_chain(client[0], client[1])
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            with ctx.wrap_socket(sock) as tls:
                return tls.getpeercert(binary_form=True)

    @staticmethod
    def file_der(path):
        """DER of the first certificate of a PEM file."""
        with open(path) as handle:
            text = handle.read()
        end_marker = "-----END CERTIFICATE-----"
        start = text.find("-----BEGIN CERTIFICATE-----")
        end = text.find(end_marker, start)
        if start < 0 or end < 0:
            raise JobError("%s holds no PEM certificate" % path)
        return ssl.PEM_cert_to_DER_cert(text[start:end + len(end_marker)])

    @staticmethod
    def monotonic():
        return time.monotonic()

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds)

    @staticmethod
    def utcnow():
        return datetime.datetime.now(datetime.timezone.utc)

    @staticmethod
    def write_status(path, data):
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        temporary = os.path.join(directory, ".%s.%d" % (os.path.basename(path), os.getpid()))
        with open(temporary, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)

    @staticmethod
    def lock(path):
        """An exclusive lock held until the process ends; None when another process holds it."""
        handle = open(path, "a")  # pylint: disable=consider-using-with
        if fcntl is None:  # pragma: no cover
            return handle
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError):
            handle.close()
            return None
        return handle


class Log(object):
    """Lines on stdout; under systemd (JOURNAL_STREAM set) with the <N> prefix journald reads as priority."""

    NAMES = {3: "error", 4: "warning", 5: "notice", 6: "info"}

    def __init__(self, stream=None, journal=None):
        self.stream = stream or sys.stdout
        self.journal = bool(os.environ.get("JOURNAL_STREAM")) if journal is None else journal
        self.lines = []

    def __call__(self, priority, message):
        self.lines.append((priority, message))
        prefix = "<%d>" % priority if self.journal else "%s: " % self.NAMES.get(priority, "info")
        self.stream.write(prefix + message + "\n")
        self.stream.flush()


def wait(node, predicate, timeout, interval, what):
    """Poll ``predicate`` (returns ``(ok, why)``) every ``interval`` seconds until it holds or ``timeout``."""
    deadline = node.monotonic() + timeout
    while True:
        ok, why = predicate()
        if ok:
            return why
        if node.monotonic() > deadline:
            raise JobError("timed out after %ss waiting for %s (last: %s)" % (timeout, what, why))
        node.sleep(interval)


# --------------------------------------------------------------------------- steps

def check_expiration(node, settings):
    rc, stdout, stderr = node.run([settings["kubeadm"], "certs", "check-expiration", "-o", "json"])
    if rc != 0:
        raise JobError("kubeadm certs check-expiration failed (exit %s): %s" % (rc, (stderr or stdout).strip()[:500]))
    return parse_check_expiration(stdout)


def health_url(settings, static_pod):
    return (settings.get("health_urls") or {}).get(static_pod) or HEALTH_URLS[static_pod]


def healthy(node, settings, static_pod):
    """``(ok, why)``: the component answers 200 on its health endpoint and serves the certificate of its file."""
    url = health_url(settings, static_pod)
    status, body, error = node.health(url)
    if status is None:
        return False, "%s does not answer (%s)" % (url, error)
    if status != 200:
        return False, "%s answers %s: %s" % (url, status, " ".join(body.split())[:200])
    if static_pod not in SERVED_FILES:
        return True, "%s answers 200" % url
    port, rel, client = SERVED_FILES[static_pod]
    path = os.path.join(settings["pki_dir"], rel)
    try:
        served = node.served(port, tuple(os.path.join(settings["pki_dir"], c) for c in client) if client else None)
        expected = node.file_der(path)
    except (IOError, OSError, ssl.SSLError, ValueError, JobError) as exc:
        return False, "no proof of what port %d serves: %s: %s" % (port, type(exc).__name__, exc)
    if served != expected:
        return False, "port %d does not serve the certificate of %s (yet)" % (port, path)
    return True, "%s answers 200 and port %d serves %s" % (url, port, path)


def restart(node, settings, static_pod, log):
    """Restart one static pod through the kubelet and prove it runs again (see the module docstring)."""
    manifest = os.path.join(settings["manifests_dir"], static_pod + ".yaml")
    aside = os.path.join(settings["aside_dir"], static_pod + ".yaml")
    if not node.exists(manifest):
        raise JobError("static pod manifest %s does not exist, so %s cannot be restarted" % (manifest, static_pod))
    before = set(node.pids(static_pod))
    start = node.monotonic()
    log(6, "restart %s: moving %s to %s" % (static_pod, manifest, settings["aside_dir"]))
    node.move(manifest, aside)
    try:
        wait(node, lambda: (not node.pids(static_pod), "%s processes still running" % static_pod),
             settings["stop_timeout"], settings["poll_interval"],
             "the kubelet to stop %s (no %s process left)" % (static_pod, static_pod))
        stopped_after = round(node.monotonic() - start, 2)
    finally:
        node.move(aside, manifest)
    back = node.monotonic()

    def ready():
        pids = node.pids(static_pod)
        if not pids or set(pids) & before:
            return False, "no new %s process yet (%s)" % (static_pod, pids)
        return healthy(node, settings, static_pod)

    why = wait(node, ready, settings["start_timeout"], settings["poll_interval"],
               "%s to run again as a new process that answers its health check" % static_pod)
    ready_after = round(node.monotonic() - back, 2)
    log(6, "restart %s: stopped in %ss, back in %ss: %s" % (static_pod, stopped_after, ready_after, why))
    return {"static_pod": static_pod, "stopped_after": stopped_after, "ready_after": ready_after}


def backup(node, settings, stamp):
    """Copy the PKI directory, the kubeconfigs and the admin.conf copies below a new backup directory."""
    target = os.path.join(settings["backup_dir"], "%s-%s" % (settings["node"], stamp))
    sources = [settings["pki_dir"]] + [p for p in (os.path.join(settings["kubeconfig_dir"], k) for k in KUBECONFIGS)
                                       if node.exists(p)]
    sources += [p for p in settings["admin_kubeconfig_copies"] if node.exists(p)]
    node.makedirs(target)
    rc, stdout, stderr = node.run(["cp", "-a", "--parents"] + sources + [target])
    if rc != 0:
        raise JobError("cannot back up %s to %s: %s" % (", ".join(sources), target, (stderr or stdout).strip()))
    return target


def restore(node, settings, target, static_pods, log):
    """Copy the backup back and restart ``static_pods`` on it; returns the problems (none: healthy again)."""
    log(4, "restore: copying %s back in place" % target)
    rc, stdout, stderr = node.run(["cp", "-a", target + "/.", "/"])
    if rc != 0:
        return ["cannot copy %s back: %s" % (target, (stderr or stdout).strip())]
    problems = []
    for static_pod in static_pods:
        try:
            restart(node, settings, static_pod, log)
        except JobError as exc:
            problems.append("restart of %s on the restored certificates: %s" % (static_pod, exc))
    if "kube-apiserver" not in static_pods:
        ok, why = healthy(node, settings, "kube-apiserver")
        if not ok:
            problems.append("kube-apiserver is not healthy after the restore: %s" % why)
    return problems


def refresh_admin_copies(node, settings, log):
    """Copy the renewed admin.conf over each listed copy and prove it authenticates (kubectl auth whoami)."""
    source = os.path.join(settings["kubeconfig_dir"], "admin.conf")
    for copy in settings["admin_kubeconfig_copies"]:
        node.makedirs(os.path.dirname(copy))
        node.copy_file(source, copy)
        rc, stdout, stderr = node.run([settings["kubectl"], "--kubeconfig", copy, "auth", "whoami", "-o",
                                       "jsonpath={.status.userInfo.username}"], timeout=60)
        if rc == 127:
            log(4, "admin.conf copy %s refreshed; %s is not on the node, so it was not proved"
                % (copy, settings["kubectl"]))
        elif rc != 0 or not stdout.strip():
            raise JobError("the refreshed copy %s does not authenticate: %s" % (copy, (stderr or stdout).strip()))
        else:
            log(6, "admin.conf copy %s refreshed; it authenticates as %s" % (copy, stdout.strip()))


def preflight(node, settings, the_plan):
    """Reasons to refuse before any change: an unfinished restart, a static pod not healthy now."""
    reasons = []
    for static_pod in the_plan["static_pods"]:
        aside = os.path.join(settings["aside_dir"], static_pod + ".yaml")
        manifest = os.path.join(settings["manifests_dir"], static_pod + ".yaml")
        if node.exists(aside):
            reasons.append("%s is in %s: a restart is unfinished (another run, or an interrupted one); move it back "
                           "with 'mv %s %s' once nothing else restarts it"
                           % (static_pod, settings["aside_dir"], aside, manifest))
        elif not node.exists(manifest):
            reasons.append("static pod manifest %s does not exist" % manifest)
        else:
            ok, why = healthy(node, settings, static_pod)
            if not ok:
                reasons.append("%s is not healthy before the renewal (%s)" % (static_pod, why))
    return reasons


def renew(node, settings, the_plan, log, result):
    """Backup, kubeadm certs renew, check, restarts and admin.conf copies; restore after a failure."""
    stamp = node.utcnow().strftime("%Y%m%dT%H%M%SZ")
    result["backup"] = backup(node, settings, stamp)
    log(6, "backup of %s and the kubeconfigs in %s" % (settings["pki_dir"], result["backup"]))
    step = "kubeadm certs renew"
    try:
        for name in the_plan["renew"]:
            rc, stdout, stderr = node.run([settings["kubeadm"], "certs", "renew", name])
            if rc != 0:
                raise JobError("kubeadm certs renew %s failed (exit %s): %s" % (name, rc, (stderr or stdout).strip()))
            log(5, "renewed %s" % name)
        step = "check of the renewed files"
        after = check_expiration(node, settings)
        problems = renewed_problems(the_plan, after, settings["threshold_days"])
        if problems:
            raise JobError("; ".join(problems))
        rows = dict((c.get("name"), c) for c in after.get("certificates") or [])
        result["renewed"] = dict((n, {"before": the_plan["before"].get(n), "after": rows[n].get("expirationDate")})
                                 for n in the_plan["renew"])
        for static_pod in the_plan["static_pods"]:
            step = "restart of %s" % static_pod
            result["restarts"].append(restart(node, settings, static_pod, log))
        if "admin.conf" in the_plan["renew"] and settings["admin_kubeconfig_copies"]:
            step = "refresh of the admin.conf copies"
            refresh_admin_copies(node, settings, log)
    except JobError as exc:
        log(3, "failed at %s: %s" % (step, exc))
        problems = restore(node, settings, result["backup"], the_plan["static_pods"], log)
        if problems:
            result.update(action="failed", reason="failed at %s: %s; THE RESTORE DID NOT BRING THE CONTROL PLANE BACK "
                                                  "HEALTHY: %s; backup in %s" % (step, exc, "; ".join(problems),
                                                                                 result["backup"]))
            return EXIT_FAILED
        result.update(action="rolled_back", reason="failed at %s: %s; the backup %s was copied back and %s proved "
                                                   "healthy on the old certificates" % (
                                                       step, exc, result["backup"],
                                                       ", ".join(the_plan["static_pods"]) or "the control plane"))
        return EXIT_ROLLED_BACK
    result.update(action="changed", reason="renewed %s (%s); restarted and proved %s" % (
        ", ".join(the_plan["renew"]), "; ".join(the_plan["reasons"]),
        ", ".join(the_plan["static_pods"]) or "nothing (no static pod loads them)"))
    return EXIT_OK


def run(settings, node, log, dry_run=False):
    """The whole job; returns the exit code. The result is the last line of the log and the status file."""
    result = {"node": settings["node"], "time": node.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "dry_run": dry_run,
              "threshold_days": settings["threshold_days"], "action": None, "reason": "", "due": [], "renew": [],
              "static_pods": [], "renewed": {}, "restarts": [], "backup": None}
    code = EXIT_REFUSED
    held = None
    try:
        if not dry_run:
            held = node.lock(settings["lock_file"])
            if held is None:
                raise JobError("another renewal holds %s; nothing was changed" % settings["lock_file"])
        pki = settings["pki_dir"]
        the_plan = plan(check_expiration(node, settings), settings["threshold_days"], settings["certificates"],
                        lambda ca: ca in CA_KEYS and node.exists(os.path.join(pki, CA_KEYS[ca])), pki)
        result.update(due=the_plan["due"], renew=the_plan["renew"], static_pods=the_plan["static_pods"])
        if the_plan["action"] == REFUSE:
            raise JobError("; ".join(the_plan["reasons"]))
        if the_plan["action"] == SKIP:
            result.update(action="skipped", reason="; ".join(the_plan["reasons"]))
            code = EXIT_OK
        else:
            reasons = preflight(node, settings, the_plan)
            if reasons:
                raise JobError("%s; nothing was changed" % "; ".join(reasons))
            if dry_run:
                result.update(action="would_change", reason="would renew %s (%s) and restart %s" % (
                    ", ".join(the_plan["renew"]), "; ".join(the_plan["reasons"]),
                    ", ".join(the_plan["static_pods"]) or "nothing"))
                code = EXIT_OK
            else:
                log(5, "renewing on node %s: %s" % (settings["node"], "; ".join(the_plan["reasons"])))
                code = renew(node, settings, the_plan, log, result)
    except JobError as exc:
        result.update(action="refused", reason=str(exc))
        code = EXIT_REFUSED
    finally:
        if held is not None:
            held.close()
    log({EXIT_OK: 6 if result["action"] != "changed" else 5, EXIT_ROLLED_BACK: 3, EXIT_REFUSED: 3,
         EXIT_FAILED: 2}[code], "%s: %s" % (result["action"], result["reason"]))
    log(6, "result: %s" % json.dumps(result, sort_keys=True))
    if not dry_run:
        try:
            node.write_status(settings["status_file"], result)
        except (IOError, OSError) as exc:
            log(4, "cannot write the status file %s: %s" % (settings["status_file"], exc))
    return code


def main(argv=None, node=None, log=None):
    parser = argparse.ArgumentParser(description="Renew the kubeadm certificates of this control-plane node that "
                                                 "are due, restart the static pods that load them and prove them.")
    parser.add_argument("--config", default="/etc/nodeops/cert-renewal.json", help="settings written by the role")
    parser.add_argument("--dry-run", action="store_true", help="decide and print what would happen; change nothing")
    args = parser.parse_args(argv)
    log = log or Log()
    try:
        settings = load_settings(args.config)
    except JobError as exc:
        log(3, "refused: %s" % exc)
        return EXIT_REFUSED
    return run(settings, node or Node(settings), log, dry_run=args.dry_run)

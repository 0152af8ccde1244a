# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unattended renewal job: its decisions alone, then whole runs on a simulated control-plane node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import io
import json
import os
import socket
import ssl
import subprocess
import sys
import threading

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry as ce
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_renewal as cr
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_renewal_job as job

from certs_helpers import certificate, key_pem, pem

DAY = job.SECONDS_PER_DAY
NOW = datetime.datetime(2026, 11, 30, 3, 0, 0, tzinfo=datetime.timezone.utc)
NAMES = ("admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "controller-manager.conf",
         "etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client", "scheduler.conf",
         "super-admin.conf")
CAS = {"admin.conf": "ca", "apiserver": "ca", "apiserver-kubelet-client": "ca", "controller-manager.conf": "ca",
       "scheduler.conf": "ca", "super-admin.conf": "ca", "front-proxy-client": "front-proxy-ca"}


def expiration(days_left, version=0):
    return (NOW + datetime.timedelta(days=days_left, seconds=version)).strftime("%Y-%m-%dT%H:%M:%SZ")


def info(days=None, default=200, external=(), missing=()):
    """kubeadm's check-expiration JSON; ``days`` maps names to days left."""
    rows = []
    for name in NAMES:
        left = (days or {}).get(name, default)
        rows.append({"name": name, "expirationDate": expiration(left), "residualTime": int(left * DAY),
                     "caName": CAS.get(name, "etcd-ca"), "externallyManaged": CAS.get(name, "etcd-ca") in external,
                     "missing": name in missing})
    return {"kind": "CertificateExpirationInfo", "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
            "certificates": rows, "certificateAuthorities": []}


# --------------------------------------------------------------------------- decisions

@pytest.mark.parametrize("residual, threshold, due", [
    (29 * DAY, 30, True), (30 * DAY - 1, 30, True), (30 * DAY, 30, False), (400 * DAY, 30, False),
    (-5, 30, True), (-5, 0, True), (0, 0, False), (None, 30, False),
])
def test_a_certificate_is_due_when_its_residual_time_is_under_the_threshold(residual, threshold, due):
    assert job.is_due(residual, threshold) is due


def test_the_role_and_the_job_share_the_due_rule_and_the_static_pods(monkeypatch):
    assert cr.job is job
    # cert_expiry's "due" is the job's rule (imported where it is used): a rule that calls everything due shows
    monkeypatch.setattr(job, "is_due", lambda residual_seconds, threshold_days: True)
    files = {"/etc/kubernetes/pki/apiserver.crt": pem(certificate("kube-apiserver", 300))}
    assert ce.expiry_report(files, threshold_days=30)["due"] == ["apiserver"]
    monkeypatch.setattr(job, "is_due", lambda residual_seconds, threshold_days: False)
    assert ce.expiry_report(files, threshold_days=30)["due"] == []
    assert job.STATIC_PODS == dict((name, pods) for name, _kind, _rel, _ca, pods in ce.KUBEADM_CERTIFICATES)
    assert job.RESTART_ORDER == ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
    assert cr.HEALTH_URLS is job.HEALTH_URLS
    assert dict((n, ce.static_pods_for([n])) for n in NAMES) == dict((n, job.static_pods_for([n])) for n in NAMES)


def test_only_the_due_certificates_are_renewed_with_the_static_pods_that_load_them():
    plan = job.plan(info({"apiserver": 10, "scheduler.conf": 3, "etcd-server": 45}), 30)
    assert plan["action"] == job.RENEW and plan["renew"] == ["apiserver", "scheduler.conf"]
    assert plan["static_pods"] == ["kube-apiserver", "kube-scheduler"]
    assert plan["reasons"] == ["due: apiserver (10d left), scheduler.conf (3d left)"]


def test_nothing_due_is_a_skip_that_names_the_soonest_certificate():
    plan = job.plan(info({"etcd-peer": 45}), 30)
    assert plan["action"] == job.SKIP and plan["renew"] == [] and plan["static_pods"] == []
    assert "nothing is due" in plan["reasons"][0] and "45d etcd-peer" in plan["reasons"][0]


def test_names_limit_the_renewal_and_unknown_names_are_an_error():
    plan = job.plan(info({"apiserver": 10, "etcd-server": 10}), 30, names=["etcd-server"])
    assert plan["renew"] == ["etcd-server"] and plan["static_pods"] == ["etcd"]
    with pytest.raises(job.JobError, match="unknown kubeadm certificate name"):
        job.plan(info(), 30, names=["kubelet"])


def test_a_due_certificate_of_a_ca_without_its_key_refuses_the_node():
    plan = job.plan(info({"apiserver": 10, "etcd-server": 10}), 30, ca_key_exists=lambda ca: ca != "ca")
    assert plan["action"] == job.REFUSE and plan["renew"] == [] and plan["external"] == ["apiserver"]
    assert "key of CA ca is not on the node (/etc/kubernetes/pki/ca.key)" in plan["reasons"][0]
    assert "nothing was changed" in plan["reasons"][0]


def test_kubeadms_externally_managed_refuses_too_and_an_external_ca_with_nothing_due_is_a_skip():
    assert job.plan(info({"front-proxy-client": 3}, external=("front-proxy-ca",)), 30)["action"] == job.REFUSE
    plan = job.plan(info(), 30, ca_key_exists=lambda ca: False)
    assert plan["action"] == job.SKIP


def test_missing_certificates_are_not_renewed():
    plan = job.plan(info({"super-admin.conf": 1, "apiserver": 2}, missing=("super-admin.conf",)), 30)
    assert plan["renew"] == ["apiserver"]


def test_a_due_certificate_unknown_to_the_job_refuses_the_node():
    data = info()
    data["certificates"].append({"name": "kubelet-future", "residualTime": DAY, "caName": "ca",
                                 "expirationDate": expiration(1), "missing": False, "externallyManaged": False})
    plan = job.plan(data, 30)
    assert plan["action"] == job.REFUSE and "kubelet-future" in plan["reasons"][0]


def test_renewed_certificates_must_have_a_new_expiry_and_no_longer_be_due():
    plan = job.plan(info({"apiserver": 10, "admin.conf": 10, "etcd-server": 10}), 30)
    after = info({"apiserver": 365, "admin.conf": 10, "etcd-server": 5})
    after["certificates"][[r["name"] for r in after["certificates"]].index("etcd-server")]["expirationDate"] = "x"
    problems = job.renewed_problems(plan, after, 30)
    assert problems[0].startswith("admin.conf still expires") and "did not renew" in problems[0]
    assert problems[1].startswith("etcd-server is still due after the renewal (5d left)")
    assert len(problems) == 2


def test_the_kubeadm_json_is_read_even_after_other_output_and_refused_when_it_is_something_else():
    assert job.parse_check_expiration("[check-expiration] note\n" + json.dumps(info()))["certificates"]
    for text in ("", "CERTIFICATE  EXPIRES", json.dumps({"kind": "Other"}), "{not json"):
        with pytest.raises(job.JobError, match="check-expiration -o json did not print"):
            job.parse_check_expiration(text)


@pytest.mark.parametrize("seconds, text", [(400 * DAY, "400d"), (2 * DAY, "2d"), (DAY, "24h"), (7200, "2h"),
                                           (3599, "59m"), (59, "59s"), (-1, "<invalid>"), (None, "?")])
def test_residual_times_read_as_kubeadm_prints_them(seconds, text):
    assert job.left(seconds) == text


def test_settings_come_from_the_roles_json_over_the_defaults(tmp_path):
    path = tmp_path / "cert-renewal.json"
    path.write_text(json.dumps({"_comment": "x", "node": "cp1", "threshold_days": 45}))
    settings = job.load_settings(str(path))
    assert settings["threshold_days"] == 45 and settings["node"] == "cp1" and "_comment" not in settings
    assert settings["pki_dir"] == "/etc/kubernetes/pki"
    path.write_text(json.dumps({"threshold_days": "30"}))
    with pytest.raises(job.JobError, match="threshold_days .* must be a whole number"):
        job.load_settings(str(path))
    path.write_text("{")
    with pytest.raises(job.JobError, match="not JSON"):
        job.load_settings(str(path))
    with pytest.raises(job.JobError, match="cannot read the settings"):
        job.load_settings(str(tmp_path / "absent.json"))


# --------------------------------------------------------------------------- whole runs on a simulated node

class Lock(object):
    def close(self):
        pass


class FakeNode(object):
    """A kubeadm control-plane node: kubeadm, files, a kubelet running the static pods, their health.

    Each renewal of a certificate raises its version; a static pod loads the versions of the files when
    it starts and serves them. A pod listed in ``unhealthy_on_renewed`` does not answer its health check
    when it started on a renewed certificate.
    """

    def __init__(self, days=None, missing_keys=(), validity=365, unhealthy_on_renewed=(), unhealthy_now=(),
                 stop_polls=1, locked=False):
        self.days = dict((n, (days or {}).get(n, 200)) for n in NAMES)
        self.version = dict((n, 0) for n in NAMES)
        self.validity = validity
        self.unhealthy_on_renewed = set(unhealthy_on_renewed)
        self.unhealthy_now = set(unhealthy_now)
        self.files = set("/etc/kubernetes/manifests/%s.yaml" % p for p in job.RESTART_ORDER)
        self.files.update("/etc/kubernetes/pki/" + k for k in job.CA_KEYS.values())
        self.files.update("/etc/kubernetes/" + k for k in job.KUBECONFIGS)
        self.files.difference_update("/etc/kubernetes/pki/" + job.CA_KEYS[ca] for ca in missing_keys)
        self.commands, self.moves, self.events = [], [], []
        self.next_pid = 100
        self.pods = {}
        for pod in job.RESTART_ORDER:
            self._start(pod)
        self.stop_polls = stop_polls
        self.locked = locked
        self.backups = {}
        self.status = None
        self.clock = 0.0

    # the kubelet and the components
    def _start(self, pod):
        self.next_pid += 1
        loaded = dict((n, self.version[n]) for n in NAMES if pod in job.STATIC_PODS[n])
        self.pods[pod] = {"pid": self.next_pid, "loaded": loaded, "stopping": None}
        self.events.append("start %s" % pod)

    def _manifest(self, pod):
        return "/etc/kubernetes/manifests/%s.yaml" % pod

    def pids(self, binary):
        state = self.pods.get(binary)
        if state is None:
            if self._manifest(binary) in self.files:
                self._start(binary)
                state = self.pods[binary]
            else:
                return []
        if self._manifest(binary) not in self.files:
            state["stopping"] = self.stop_polls if state["stopping"] is None else state["stopping"] - 1
            if state["stopping"] < 0:
                del self.pods[binary]
                self.events.append("stop %s" % binary)
                return []
        return [state["pid"]]

    def health(self, url):
        pod = [p for p, u in job.HEALTH_URLS.items() if u == url][0]
        state = self.pods.get(pod)
        renewed = state and any(v > 0 for v in state["loaded"].values())
        if state is None or pod in self.unhealthy_now or pod in self.unhealthy_on_renewed and renewed:
            return None, "", "ConnectionRefusedError: [Errno 111] Connection refused"
        return 200, "ok", None

    def served(self, port, client=None):
        pod = [p for p, (served_port, _f, _c) in job.SERVED_FILES.items() if served_port == port][0]
        name = {"kube-apiserver": "apiserver", "etcd": "etcd-server"}[pod]
        return ("%s-v%d" % (name, self.pods[pod]["loaded"][name])).encode()

    def file_der(self, path):
        name = {"apiserver.crt": "apiserver", "server.crt": "etcd-server"}[os.path.basename(path)]
        return ("%s-v%d" % (name, self.version[name])).encode()

    # commands and files
    def run(self, argv, timeout=900):
        self.commands.append(argv)
        if argv[1:3] == ["certs", "check-expiration"]:
            data = info(self.days)
            for row in data["certificates"]:
                row["expirationDate"] = expiration(self.days[row["name"]], self.version[row["name"]])
            return 0, json.dumps(data), ""
        if argv[1:3] == ["certs", "renew"]:
            self.version[argv[3]] += 1
            self.days[argv[3]] = self.validity
            return 0, "certificate renewed\n", ""
        if argv[:3] == ["cp", "-a", "--parents"]:
            self.backups[argv[-1]] = (dict(self.days), dict(self.version))
            return 0, "", ""
        if argv[:2] == ["cp", "-a"]:
            self.days, self.version = (dict(d) for d in self.backups[argv[2][:-2]])
            self.events.append("restore")
            return 0, "", ""
        return 0, "kubernetes-admin", ""

    def exists(self, path):
        return path in self.files

    def move(self, src, dst):
        self.files.remove(src)
        self.files.add(dst)
        self.moves.append((src, dst))

    def makedirs(self, path):
        pass

    def copy_file(self, src, dst):
        self.events.append("copy %s" % dst)

    def monotonic(self):
        return self.clock

    def sleep(self, seconds):
        self.clock += seconds

    def utcnow(self):
        return NOW

    def write_status(self, path, data):
        self.status = data

    def lock(self, path):
        return None if self.locked else Lock()


def settings(**overrides):
    values = dict(job.DEFAULTS, node="cp1", stop_timeout=20, start_timeout=20, poll_interval=1)
    values.update(overrides)
    return values


def run_job(node, dry_run=False, **overrides):
    log = job.Log(stream=io.StringIO(), journal=True)
    code = job.run(settings(**overrides), node, log, dry_run=dry_run)
    return code, log


def renews(node):
    return [c[3] for c in node.commands if c[1:3] == ["certs", "renew"]]


def test_nothing_due_renews_nothing_restarts_nothing_and_backs_up_nothing():
    node = FakeNode()
    code, log = run_job(node)
    assert code == job.EXIT_OK and node.status["action"] == "skipped"
    assert node.commands == [["kubeadm", "certs", "check-expiration", "-o", "json"]]
    assert node.moves == [] and node.backups == {} and not [e for e in node.events if e.startswith("stop")]
    assert "nothing is due" in node.status["reason"]


def test_due_certificates_are_backed_up_renewed_by_name_and_their_static_pods_restarted_and_proved():
    node = FakeNode(days={"apiserver": 10, "front-proxy-client": 12})
    code, log = run_job(node)
    assert code == job.EXIT_OK, log.lines
    assert renews(node) == ["apiserver", "front-proxy-client"]
    assert not any("all" in c for c in node.commands)
    backup = "/var/backups/nodeops-cert-renewal/cp1-20261130T030000Z"
    assert list(node.backups) == [backup]
    assert node.commands[1] == ["cp", "-a", "--parents", "/etc/kubernetes/pki", "/etc/kubernetes/admin.conf",
                                "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/controller-manager.conf",
                                "/etc/kubernetes/scheduler.conf", backup]
    manifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    aside = "/etc/kubernetes/manifests-aside/kube-apiserver.yaml"
    assert node.moves == [(manifest, aside), (aside, manifest)]
    assert node.events[-2:] == ["stop kube-apiserver", "start kube-apiserver"]
    assert node.pods["kube-apiserver"]["loaded"]["apiserver"] == 1
    assert node.status["action"] == "changed" and node.status["backup"] == backup
    assert node.status["restarts"][0]["static_pod"] == "kube-apiserver"
    assert node.status["renewed"]["apiserver"]["after"] != node.status["renewed"]["apiserver"]["before"]
    assert log.lines[-1][1].startswith("result: {")


def test_a_second_run_after_the_renewal_changes_nothing():
    node = FakeNode(days={"scheduler.conf": 3})
    assert run_job(node)[0] == job.EXIT_OK and node.status["action"] == "changed"
    moves = len(node.moves)
    assert run_job(node)[0] == job.EXIT_OK and node.status["action"] == "skipped" and len(node.moves) == moves


def test_external_ca_without_its_key_is_refused_before_any_change():
    node = FakeNode(days={"front-proxy-client": 3}, missing_keys=("front-proxy-ca",))
    code, log = run_job(node)
    assert code == job.EXIT_REFUSED and node.status["action"] == "refused"
    assert "/etc/kubernetes/pki/front-proxy-ca.key" in node.status["reason"] and renews(node) == []
    assert node.backups == {}
    assert node.moves == []
    assert any(line[0] == 3 and line[1].startswith("refused: external CA") for line in log.lines)


def test_an_unhealthy_control_plane_or_an_unfinished_restart_is_refused_before_any_change():
    node = FakeNode(days={"apiserver": 3}, unhealthy_now=("kube-apiserver",))
    assert run_job(node)[0] == job.EXIT_REFUSED and renews(node) == [] and node.backups == {}
    assert "kube-apiserver is not healthy before the renewal" in node.status["reason"]
    node = FakeNode(days={"apiserver": 3})
    node.files.add("/etc/kubernetes/manifests-aside/kube-apiserver.yaml")
    assert run_job(node)[0] == job.EXIT_REFUSED and "a restart is unfinished" in node.status["reason"]
    assert renews(node) == []


def test_another_run_holding_the_lock_is_a_refusal():
    node = FakeNode(days={"apiserver": 3}, locked=True)
    assert run_job(node)[0] == job.EXIT_REFUSED and "another renewal holds" in node.status["reason"]
    assert node.commands == []


def test_renewed_files_still_due_are_restored_before_any_restart():
    node = FakeNode(days={"apiserver": 3}, validity=10)
    code, log = run_job(node)
    assert code == job.EXIT_ROLLED_BACK and node.status["action"] == "rolled_back"
    assert "failed at check of the renewed files" in node.status["reason"]
    assert "certificateValidityPeriod" in node.status["reason"]
    assert node.version["apiserver"] == 0 and "restore" in node.events
    # the restore restarts the static pods of the plan on the old files, proved the same way
    assert node.pods["kube-apiserver"]["loaded"]["apiserver"] == 0
    assert node.moves[0] == ("/etc/kubernetes/manifests/kube-apiserver.yaml",
                             "/etc/kubernetes/manifests-aside/kube-apiserver.yaml")


def test_an_api_server_that_does_not_come_back_is_rolled_back_to_the_old_certificates():
    node = FakeNode(days={"apiserver-etcd-client": 3}, unhealthy_on_renewed=("kube-apiserver",))
    code, log = run_job(node)
    assert code == job.EXIT_ROLLED_BACK, log.lines
    assert "failed at restart of kube-apiserver: timed out after 20s" in node.status["reason"]
    assert "proved healthy on the old certificates" in node.status["reason"]
    assert node.version["apiserver-etcd-client"] == 0
    assert node.pods["kube-apiserver"]["loaded"]["apiserver-etcd-client"] == 0
    assert node.events.count("start kube-apiserver") == 3 and node.events.index("restore") > 0
    assert "/etc/kubernetes/manifests/kube-apiserver.yaml" in node.files
    assert any(line[0] == 3 and line[1].startswith("rolled_back:") for line in log.lines)


def test_a_restore_that_does_not_bring_the_control_plane_back_is_a_failure_to_act_on():
    node = FakeNode(days={"apiserver": 3}, unhealthy_on_renewed=("kube-apiserver",))
    original = node.run

    def restore_fails(argv, timeout=900):
        if argv[:2] == ["cp", "-a"] and argv[2] != "--parents":
            node.unhealthy_now.add("kube-apiserver")
        return original(argv, timeout)
    node.run = restore_fails
    code, log = run_job(node)
    assert code == job.EXIT_FAILED and node.status["action"] == "failed"
    assert "THE RESTORE DID NOT BRING THE CONTROL PLANE BACK HEALTHY" in node.status["reason"]
    assert log.lines[-2][0] == 2


def test_a_dry_run_decides_and_changes_nothing():
    node = FakeNode(days={"apiserver": 3})
    code, log = run_job(node, dry_run=True)
    assert code == job.EXIT_OK and renews(node) == [] and node.moves == [] and node.status is None
    assert "would renew apiserver" in log.lines[-2][1]
    assert json.loads(log.lines[-1][1][len("result: "):])["action"] == "would_change"


def test_refreshed_admin_conf_copies_must_authenticate():
    node = FakeNode(days={"admin.conf": 3})
    code, dummy = run_job(node, admin_kubeconfig_copies=["/root/.kube/config"])
    assert code == job.EXIT_OK and "copy /root/.kube/config" in node.events
    assert node.commands[-1][:3] == ["kubectl", "--kubeconfig", "/root/.kube/config"]
    assert node.moves == []


def test_lines_carry_the_journal_priority_under_systemd_and_a_word_otherwise():
    stream = io.StringIO()
    job.Log(stream=stream, journal=True)(3, "bad")
    job.Log(stream=stream, journal=False)(4, "careful")
    assert stream.getvalue() == "<3>bad\nwarning: careful\n"


def test_main_refuses_unreadable_settings(tmp_path):
    log = job.Log(stream=io.StringIO(), journal=False)
    assert job.main(["--config", str(tmp_path / "absent.json")], node=FakeNode(), log=log) == job.EXIT_REFUSED
    assert "cannot read the settings" in log.lines[0][1]


# --------------------------------------------------------------------------- the real node side

def test_the_installed_file_runs_as_a_script_with_the_standard_library_only(tmp_path):
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps({"kubeadm": str(tmp_path / "no-kubeadm")}))
    env = dict(os.environ, PYTHONPATH="")
    # installed as the role's template makes it: the module's text, then the call of main()
    with open(job.__file__) as handle:
        script = handle.read() + '\n\nif __name__ == "__main__":\n    sys.exit(main())\n'
    installed = tmp_path / "nodeops-cert-renewal"
    installed.write_text(script)
    proc = subprocess.run([sys.executable, "-S", str(installed), "--config", str(settings_file), "--dry-run"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
                          check=False)
    assert proc.returncode == job.EXIT_REFUSED, proc.stderr
    assert "kubeadm certs check-expiration failed (exit 127)" in proc.stdout


def test_the_real_node_reads_processes_files_health_and_handshakes(tmp_path):
    from http.server import BaseHTTPRequestHandler, HTTPServer  # pylint: disable=import-outside-toplevel

    node = job.Node(job.DEFAULTS)
    assert os.getpid() in node.pids(os.path.basename(sys.executable)) or node.pids(os.path.basename(sys.executable))
    cert = certificate("kube-apiserver", 365, dns=("localhost",))
    crt, key = tmp_path / "apiserver.crt", tmp_path / "apiserver.key"
    crt.write_bytes(pem(cert))
    key.write_bytes(key_pem())
    der = node.file_der(str(crt))
    assert der == ssl.PEM_cert_to_DER_cert(pem(cert).decode())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert node.health("http://127.0.0.1:%d/readyz" % server.server_port) == (200, "ok", None)
    finally:
        server.shutdown()
    status, dummy, error = node.health("http://127.0.0.1:1/readyz")
    assert status is None and "Connection" in error

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve_once():
        conn, dummy_addr = listener.accept()
        try:
            ctx.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()
    threading.Thread(target=serve_once, daemon=True).start()
    assert node.served(listener.getsockname()[1]) == der
    listener.close()


def test_the_lock_is_exclusive_and_the_status_file_is_replaced_whole(tmp_path):
    node = job.Node(job.DEFAULTS)
    held = node.lock(str(tmp_path / "lock"))
    assert held is not None
    proc = subprocess.run([sys.executable, "-c", "import sys; sys.path[:0] = [%r]; import _cert_renewal_job as j; "
                           "sys.exit(0 if j.Node.lock(%r) is None else 1)"
                           % (os.path.dirname(job.__file__), str(tmp_path / "lock"))], check=False)
    assert proc.returncode == 0
    held.close()
    node.write_status(str(tmp_path / "state" / "status.json"), {"action": "skipped"})
    assert json.loads((tmp_path / "state" / "status.json").read_text()) == {"action": "skipped"}
    assert os.listdir(str(tmp_path / "state")) == ["status.json"]

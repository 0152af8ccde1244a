# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renewal decisions, served-certificate proofs and static pod predicates."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from certs_helpers import NOW, certificate, key_pem, kubeadm_pki, pem


def report(**kwargs):
    threshold = kwargs.pop("threshold_days", 30)
    return ce.expiry_report(kubeadm_pki(**kwargs), now=NOW, threshold_days=threshold)


def test_nothing_due_is_skipped_and_says_the_soonest_expiry():
    plan = cr.renewal_plan(report())
    assert plan["action"] == "skip" and plan["renew"] == []
    assert "nothing is due" in plan["reasons"][0] and "365d" in plan["reasons"][0]


def test_only_due_certificates_are_renewed_with_their_static_pods():
    plan = cr.renewal_plan(report(days={"apiserver": 10, "scheduler.conf": 3}))
    assert plan["action"] == "renew"
    assert plan["renew"] == ["apiserver", "scheduler.conf"]
    assert plan["static_pods"] == ["kube-apiserver", "kube-scheduler"]
    assert plan["reasons"] == ["due: apiserver (10d left), scheduler.conf (3d left)"]


def test_force_renews_everything_present():
    plan = cr.renewal_plan(report(super_admin=False), force=True)
    assert plan["renew"] == [n for n in ce.CERTIFICATE_NAMES if n != "super-admin.conf"]
    assert plan["reasons"][0].startswith("forced")


def test_names_limit_the_renewal():
    plan = cr.renewal_plan(report(days={"apiserver": 10, "etcd-server": 10}), names=["etcd-server"])
    assert plan["renew"] == ["etcd-server"] and plan["static_pods"] == ["etcd"]


def test_an_unknown_name_is_refused():
    with pytest.raises(NodeOpsError, match="unknown kubeadm certificate"):
        cr.renewal_plan(report(), names=["kubelet"])


def test_external_ca_refuses_and_names_the_files_and_who_renews_them():
    plan = cr.renewal_plan(report(days={"apiserver": 10}, external_ca=True))
    assert plan["action"] == "refuse" and plan["external"] == ["apiserver"]
    reason = plan["reasons"][0]
    assert "/etc/kubernetes/pki/ca.key missing" in reason and "/etc/kubernetes/pki/apiserver.crt" in reason
    assert "whoever runs that CA" in reason


def test_external_ca_with_nothing_due_is_a_skip():
    assert cr.renewal_plan(report(external_ca=True))["action"] == "skip"


def test_no_kubeadm_refuses_what_is_due():
    plan = cr.renewal_plan(report(days={"apiserver": 10}), kubeadm_present=False)
    assert plan["action"] == "refuse" and "kubeadm is not installed" in plan["reasons"][0]


def test_renewal_outcome_needs_new_serials_that_are_no_longer_due():
    plan = cr.renewal_plan(report(days={"apiserver": 10, "admin.conf": 10}))
    after = report(days={"apiserver": 365, "admin.conf": 10})
    outcome = cr.renewal_outcome(plan, after)
    assert set(outcome["renewed"]) == {"apiserver", "admin.conf"}
    assert len(outcome["problems"]) == 1 and "admin.conf is still due" in outcome["problems"][0]
    same = dict(after)
    same["certificates"] = [dict(r, serial=plan["before"][r["name"]]["serial"]) if r["name"] == "apiserver" else r
                            for r in after["certificates"]]
    assert any("still has serial" in p for p in cr.renewal_outcome(plan, same)["problems"])


# ----------------------------------------------------------------------------------- served certificates

class TlsServer(object):
    """A local TLS server serving one certificate (the key of certs_helpers)."""

    def __init__(self, tmp_path, cert):
        self.cert_file = str(tmp_path / "served.crt")
        key_file = str(tmp_path / "served.key")
        with open(self.cert_file, "wb") as handle:
            handle.write(pem(cert))
        with open(key_file, "wb") as handle:
            handle.write(key_pem())
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert_file, key_file)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass


def probe(request):
    proc = subprocess.run([sys.executable, "-c", cr.NODE_TLS_PROBE, json.dumps(request)], stdout=subprocess.PIPE,
                          check=True)
    return proc.stdout.decode()


def test_the_probe_matches_the_served_certificate_with_its_file(tmp_path):
    served = certificate("kube-apiserver", 365, dns=["kubernetes"], ips=["127.0.0.1"],
                         usages=())
    server = TlsServer(tmp_path, served)
    other = tmp_path / "other.crt"
    other.write_bytes(pem(certificate("kube-apiserver", 365)))
    answer = probe([{"name": "kube-apiserver", "port": server.port, "file": server.cert_file},
                    {"name": "etcd", "port": server.port, "file": str(other)}])
    result = cr.served_report(answer)
    api, etcd = result["endpoints"]
    assert api["proof"] == "matches_file" and api["ok"] and api["served"]["serial"] == format(served.serial_number, "x")
    assert api["served"]["dns_names"] == ["kubernetes"]
    assert etcd["proof"] == "differs_from_file" and not result["ok"]
    assert "still uses the old certificate" in result["problems"][0]


def test_a_closed_port_is_a_problem_that_names_the_endpoint(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = cr.served_report(probe([{"name": "kube-scheduler", "port": port}]))
    assert not result["ok"] and result["problems"][0].startswith("kube-scheduler (port %d) did not complete" % port)


def test_components_without_a_file_must_serve_a_new_certificate_after_their_restart(tmp_path):
    server = TlsServer(tmp_path, certificate("kube-scheduler@1", 365, usages=()))
    first = cr.served_report(probe([{"name": "kube-scheduler", "port": server.port}]))
    assert first["endpoints"][0]["proof"] == "serving"
    again = cr.served_report(probe([{"name": "kube-scheduler", "port": server.port}]),
                             before=first["endpoints"], restarted=["kube-scheduler"])
    assert again["endpoints"][0]["proof"] == "same_as_before_restart" and not again["ok"]


def test_the_probe_request_lists_the_four_endpoints_with_etcds_client_certificate():
    request = cr.probe_request()
    expected = [("kube-apiserver", 6443), ("etcd", 2379), ("kube-controller-manager", 10257), ("kube-scheduler", 10259)]
    assert [(e["name"], e["port"]) for e in request] == expected
    assert request[1]["client_cert"] == "/etc/kubernetes/pki/etcd/healthcheck-client.crt"
    assert request[0]["file"] == "/etc/kubernetes/pki/apiserver.crt" and "file" not in request[2]


def test_the_kubelet_endpoint_is_probed_on_10250_with_its_file_and_the_ca_when_asked():
    request = cr.probe_request(only=["kubelet"], ca_file="/etc/kubernetes/pki/ca.crt")
    assert request == [{"name": "kubelet", "port": 10250, "host": "127.0.0.1",
                        "file": "/var/lib/kubelet/pki/kubelet-server-current.pem",
                        "ca_file": "/etc/kubernetes/pki/ca.crt"}]
    assert "kubelet" not in cr.CONTROL_PLANE_ENDPOINTS and len(cr.CONTROL_PLANE_ENDPOINTS) == 4


def forged(common_name, ca):
    """A certificate that names ``ca`` as its issuer but is signed by another key."""
    import datetime  # pylint: disable=import-outside-toplevel
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from certs_helpers import KEY, name  # pylint: disable=import-outside-toplevel

    return (x509.CertificateBuilder().subject_name(name(common_name)).issuer_name(ca.subject)
            .public_key(KEY.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=365))
            .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()))


def test_a_served_certificate_must_be_the_expected_one_and_signed_by_the_ca(tmp_path):
    ca = certificate("kubernetes", 3650, ca=True)
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(pem(ca))
    served = certificate("system:node:w1", 365, issuer=ca, organizations=["system:nodes"], ips=["127.0.0.1"])
    server = TlsServer(tmp_path, served)
    request = [{"name": "kubelet", "port": server.port, "ca_file": str(ca_file)}]
    result = cr.served_report(probe(request), expected={"kubelet": pem(served).decode()})
    entry = result["endpoints"][0]
    assert result["ok"] and entry["proof"] == "matches_expected" and entry["signed_by_ca"] is True
    assert entry["expected"]["serial"] == entry["served"]["serial"] == format(served.serial_number, "x")

    other = certificate("system:node:w1", 365, issuer=ca)
    result = cr.served_report(probe(request), expected={"kubelet": (pem(other) + pem(served)).decode()})
    assert result["ok"] and result["endpoints"][0]["expected"]["serial"] == format(served.serial_number, "x")
    result = cr.served_report(probe(request), expected={"kubelet": pem(other).decode()})
    assert not result["ok"] and result["endpoints"][0]["proof"] == "differs_from_expected"
    assert "not the expected certificate with serial %s" % format(other.serial_number, "x") in result["problems"][0]


def test_a_certificate_that_only_names_the_ca_as_issuer_is_not_signed_by_it(tmp_path):
    ca = certificate("kubernetes", 3650, ca=True)
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(pem(ca))
    fake = forged("system:node:w1", ca)
    assert cr.signed_by(fake, ca) is False and cr.signed_by(certificate("x", 30, issuer=ca), ca) is True
    assert cr.signed_by(certificate("x", 30), ca) is False
    server = TlsServer(tmp_path, fake)
    result = cr.served_report(probe([{"name": "kubelet", "port": server.port, "ca_file": str(ca_file)}]))
    entry = result["endpoints"][0]
    assert entry["signed_by_ca"] is False and not entry["ok"] and not result["ok"]
    assert "issued by CN=kubernetes that is not signed by the CA CN=kubernetes" in result["problems"][0]


def test_an_unreadable_expected_certificate_is_an_error():
    with pytest.raises(NodeOpsError, match="expected certificate of kubelet"):
        cr.served_report("[]", expected={"kubelet": "not a certificate"})


# ----------------------------------------------------------------------------------- static pods

def mirror(phase="Running", ready="True", cid="containerd://new", container_ready=True, running=True):
    return {"status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}],
                       "containerStatuses": [{"name": "c", "containerID": cid, "ready": container_ready,
                                              "state": {"running": {}} if running else {"waiting": {}}}]}}


@pytest.mark.parametrize("pod, ok, why", [
    ({}, False, "does not exist"),
    (mirror(phase="Pending"), False, "phase Pending"),
    (mirror(ready="False"), False, "not Ready"),
    (mirror(cid="containerd://old"), False, "still the old one"),
    (mirror(running=False), False, "not running"),
    (mirror(), True, "new container"),
])
def test_a_static_pod_counts_as_back_only_when_ready_with_new_containers(pod, ok, why):
    ready, reason = cr.pod_ready_again(pod, ["containerd://old"])
    assert ready is ok and why in reason


def started_at(when, ready="True"):
    pod = mirror(ready=ready)
    pod["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": when}} if when else {"running": {}}
    return pod


@pytest.mark.parametrize("pod, ok, why", [
    # The status of before the restart, never updated while the API server was down.
    (started_at("2026-12-01T12:20:47Z"), False, "started at 2026-12-01T12:20:47Z, before the restart"),
    (started_at("2026-12-01T12:26:01Z", ready="False"), False, "not Ready"),
    (started_at(None), False, "started at None"),
    ({}, False, "does not exist"),
    (started_at("2026-12-01T12:25:00Z"), True, "started since 2026-12-01T12:25:00Z"),
    (started_at("2026-12-01T12:26:01Z"), True, "Running and Ready"),
])
def test_a_restored_static_pod_counts_only_as_containers_started_after_the_restore(pod, ok, why):
    ready, reason = cr.pod_ready_since(pod, "2026-12-01T12:25:00Z")
    assert ready is ok and why in reason


def test_the_restore_time_must_be_an_rfc3339_utc_time():
    with pytest.raises(NodeOpsError, match="not an RFC 3339 UTC time"):
        cr.pod_ready_since(started_at("2026-12-01T12:26:01Z"), "Tue Dec  1 12:25:00 UTC 2026")


def test_the_manifest_names_the_binary_to_look_for():
    command = ["/usr/local/bin/kube-apiserver", "--x"]
    manifest = {"spec": {"containers": [{"name": "kube-apiserver", "command": command}]}}
    assert cr.manifest_binary(manifest, "m") == "kube-apiserver"
    assert cr.manifest_binary({"spec": {"containers": [{"name": "etcd"}]}}, "m") == "etcd"
    with pytest.raises(NodeOpsError, match="not a static pod manifest"):
        cr.manifest_binary({"kind": "Pod"}, "/etc/kubernetes/manifests/x.yaml")


def test_the_process_listing_finds_processes_by_command_name():
    proc = subprocess.run([sys.executable, "-c", cr.NODE_PROCESSES,
                           json.dumps({"binary": os.path.basename(sys.executable)})], stdout=subprocess.PIPE,
                          check=True)
    assert os.getpid() in json.loads(proc.stdout)["pids"] or json.loads(proc.stdout)["pids"]
    proc = subprocess.run([sys.executable, "-c", cr.NODE_PROCESSES,
                           json.dumps({"binary": os.path.basename(sys.executable), "uid": "f" * 32})],
                          stdout=subprocess.PIPE, check=True)
    assert json.loads(proc.stdout)["pids"] == []


@pytest.mark.parametrize("answer, healthy, why", [
    ({"url": "u", "status": 200, "body": "ok"}, True, "answers 200"),
    ({"url": "u", "status": 500, "body": "[-]etcd failed\n"}, False, "answers 500: [-]etcd failed"),
    ({"url": "u", "status": None, "error": "ConnectionRefusedError: x"}, False, "does not answer (Connection"),
])
def test_a_health_answer_is_healthy_only_with_200(answer, healthy, why):
    ok, reason = cr.health_answer(json.dumps(answer))
    assert ok is healthy and why in reason


def test_the_health_check_asks_a_real_endpoint_without_a_proxy():
    from http.server import BaseHTTPRequestHandler, HTTPServer  # pylint: disable=import-outside-toplevel

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            self.send_response(200 if self.path == "/readyz" else 500)
            self.end_headers()
            self.wfile.write(b"ok" if self.path == "/readyz" else b"[-]etcd failed")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = dict(os.environ, http_proxy="http://192.0.2.1:9", HTTP_PROXY="http://192.0.2.1:9")
        for path, healthy in (("/readyz", True), ("/livez", False)):
            url = "http://127.0.0.1:%d%s" % (server.server_port, path)
            out = subprocess.run([sys.executable, "-c", cr.NODE_HEALTH, url], stdout=subprocess.PIPE, env=env,
                                 check=True).stdout.decode()
            assert cr.health_answer(out)[0] is healthy, out
    finally:
        server.shutdown()


@pytest.mark.parametrize("manifest", [["kube-apiserver"], {"spec": {"containers": "kube-apiserver"}},
                                      {"spec": {"containers": [{"command": 5}]}}])
def test_a_manifest_of_the_wrong_shape_is_refused_with_the_fix(manifest):
    with pytest.raises(NodeOpsError) as err:
        cr.manifest_binary(manifest, "/etc/kubernetes/manifests/kube-apiserver.yaml")
    assert err.value.message.startswith("/etc/kubernetes/manifests/kube-apiserver.yaml is not a static pod manifest "
                                        "with a container")
    assert "regenerate it with 'kubeadm init phase control-plane <component>'" in err.value.message

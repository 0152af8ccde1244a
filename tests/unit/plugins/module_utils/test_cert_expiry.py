# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The expiry report of a kubeadm control-plane node, on certificates made in the test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry as ce
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from certs_helpers import NOW, certificate, key_pem, kubeadm_pki, kubeconfig, pem

KUBEADM_ORDER = ["admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client",
                 "controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "etcd-server",
                 "front-proxy-client", "scheduler.conf", "super-admin.conf"]


def report(files, **kwargs):
    return ce.expiry_report(files, now=NOW, **kwargs)


def rows(result):
    return dict((r["name"], r) for r in result["certificates"])


@pytest.mark.parametrize("seconds, text", [
    (-1, "<invalid>"), (0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (47 * 3600, "47h"),
    (48 * 3600, "2d"), (364 * 86400 + 3600, "364d"), (729 * 86400, "729d"), (730 * 86400, "2y"),
    (3650 * 86400, "10y"),
])
def test_residual_time_reads_like_kubeadms_table(seconds, text):
    assert ce.human_duration(seconds) == text


def test_every_kubeadm_certificate_and_ca_is_listed_in_kubeadms_order():
    result = report(kubeadm_pki())
    assert [r["name"] for r in result["certificates"]] == KUBEADM_ORDER
    assert [r["name"] for r in result["certificate_authorities"]] == ["ca", "etcd-ca", "front-proxy-ca"]
    assert [r["name"] for r in result["kubelet"]] == ["kubelet-client", "kubelet-serving"]
    assert not any(r["missing"] for r in result["certificates"])


def test_expiry_and_residual_time_come_from_the_certificates():
    result = report(kubeadm_pki(days={"apiserver": 10, "admin.conf": 3}))
    by_name = rows(result)
    assert by_name["apiserver"]["expires"] == "2026-12-10T12:00:00Z"
    assert by_name["apiserver"]["residual_seconds"] == 10 * 86400
    assert by_name["apiserver"]["residual_time"] == "10d"
    assert by_name["admin.conf"]["residual_time"] == "3d"
    assert by_name["admin.conf"]["common_name"] == "kubernetes-admin"
    assert by_name["etcd-peer"]["ca_name"] == "etcd-ca"
    assert by_name["front-proxy-client"]["ca_name"] == "front-proxy-ca"
    assert result["soonest_residual_seconds"] == 3 * 86400


def test_only_certificates_under_the_threshold_are_due():
    result = report(kubeadm_pki(days={"apiserver": 10, "scheduler.conf": 29, "etcd-server": 31}), threshold_days=30)
    assert result["due"] == ["apiserver", "scheduler.conf"]
    assert result["expired"] == []


def test_expired_certificates_are_due_and_expired():
    result = report(kubeadm_pki(days={"apiserver-kubelet-client": -2}))
    assert result["expired"] == ["apiserver-kubelet-client"]
    assert "apiserver-kubelet-client" in result["due"]
    assert rows(result)["apiserver-kubelet-client"]["residual_time"] == "<invalid>"


def test_a_missing_file_is_a_missing_row_and_never_due():
    files = kubeadm_pki(days={"apiserver": 1})
    del files["/etc/kubernetes/pki/apiserver.crt"]
    result = report(files)
    row = rows(result)["apiserver"]
    assert row["missing"] is True and row["expires"] is None
    assert "apiserver" not in result["due"]


def test_super_admin_conf_is_missing_on_control_plane_nodes_that_did_not_run_init():
    result = report(kubeadm_pki(super_admin=False))
    assert rows(result)["super-admin.conf"]["missing"] is True


def test_external_ca_marks_its_certificates_externally_managed_and_nothing_due():
    result = report(kubeadm_pki(days={"apiserver": 1}, external_ca=True))
    assert result["external_ca"] == ["ca", "etcd-ca", "front-proxy-ca"]
    assert all(r["externally_managed"] for r in result["certificates"])
    assert result["due"] == []


def test_only_the_ca_without_key_is_external():
    files = kubeadm_pki(days={"apiserver": 1, "front-proxy-client": 1})
    del files["/etc/kubernetes/pki/front-proxy-ca.key"]
    result = report(files)
    assert result["external_ca"] == ["front-proxy-ca"]
    assert rows(result)["front-proxy-client"]["externally_managed"] is True
    assert result["due"] == ["apiserver"]


def test_external_etcd_leaves_out_the_etcd_rows_like_kubeadm():
    result = report(kubeadm_pki(external_etcd=True))
    names = [r["name"] for r in result["certificates"]]
    assert not set(names) & set(ce.ETCD_NAMES)
    assert [r["name"] for r in result["certificate_authorities"]] == ["ca", "front-proxy-ca"]


def test_kubelet_certificates_say_who_rotates_them():
    files = kubeadm_pki(days={"kubelet-client": 200})
    result = report(files)
    client, serving = result["kubelet"]
    assert client["residual_time"] == "200d" and client["organizations"] == ["system:nodes"]
    assert serving["bootstrapped"] is False and "not signed by the cluster CA" in serving["rotated_by"]
    files["/var/lib/kubelet/pki/kubelet-server-current.pem"] = pem(certificate(
        "system:node:cp1", 365, issuer=certificate("kubernetes", 3650, ca=True))) + key_pem()
    serving = report(files)["kubelet"][1]
    assert serving["path"].endswith("kubelet-server-current.pem") and serving["bootstrapped"] is True


def test_kubeadm_json_shape_matches_check_expiration_output():
    result = report(kubeadm_pki(days={"apiserver": 10}))
    shape = result["kubeadm"]
    assert shape["apiVersion"] == "output.kubeadm.k8s.io/v1alpha3"
    assert shape["kind"] == "CertificateExpirationInfo"
    first = shape["certificates"][1]
    # as kubeadm 1.34 prints it: residualTime in seconds, missing always present
    assert first == {"name": "apiserver", "expirationDate": "2026-12-10T12:00:00Z",
                     "residualTime": 10 * 86400, "caName": "ca", "externallyManaged": False, "missing": False}
    assert set(shape["certificateAuthorities"][0]) == {"name", "expirationDate", "residualTime", "externallyManaged",
                                                       "missing"}
    json.dumps(shape)


def test_table_lines_have_kubeadms_columns():
    lines = report(kubeadm_pki())["lines"]
    assert lines[0].split()[:2] == ["CERTIFICATE", "EXPIRES"]
    assert any(line.startswith("admin.conf") and "Nov 30, 2027 12:00 UTC" in line for line in lines)
    assert any(line.startswith("KUBELET CERTIFICATE") for line in lines)


def test_a_kubeconfig_whose_user_has_a_token_only_is_reported_missing():
    files = kubeadm_pki()
    files["/etc/kubernetes/admin.conf"] = b"users: [{name: a, user: {token: x}}]\n"
    assert rows(report(files))["admin.conf"]["missing"] is True


def test_a_kubeconfig_naming_a_certificate_file_is_followed():
    files = kubeadm_pki()
    files["/etc/kubernetes/admin.conf"] = kubeconfig(certificate("x", 5), embed=False)
    assert ce.referenced_files(files) == []  # the kubelet's file is already there
    del files["/var/lib/kubelet/pki/kubelet-client-current.pem"]
    assert ce.referenced_files(files) == ["/var/lib/kubelet/pki/kubelet-client-current.pem"]


@pytest.mark.parametrize("content, message", [
    (b"not a certificate", "holds no PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a readable PEM certificate"),
])
def test_a_damaged_certificate_is_refused_with_the_file_name(content, message):
    files = kubeadm_pki()
    files["/etc/kubernetes/pki/apiserver.crt"] = content
    with pytest.raises(NodeOpsError) as err:
        report(files)
    assert message in err.value.message and "/etc/kubernetes/pki/apiserver.crt" in err.value.message


def test_a_damaged_kubeconfig_is_refused_with_the_file_name():
    files = kubeadm_pki()
    files["/etc/kubernetes/scheduler.conf"] = b"users: [\n"
    with pytest.raises(NodeOpsError) as err:
        report(files)
    assert "/etc/kubernetes/scheduler.conf is not a readable kubeconfig" in err.value.message


def test_other_certificates_of_the_pki_directory_are_listed_apart():
    files = kubeadm_pki()
    files["/etc/kubernetes/pki/webhook.crt"] = pem(certificate("webhook", 20))
    result = report(files, extra_pki_files=["/etc/kubernetes/pki/webhook.crt", "/etc/kubernetes/pki/ca.crt"])
    assert [r["name"] for r in result["other_certificates"]] == ["webhook.crt"]


@pytest.mark.parametrize("names, pods", [
    (["apiserver"], ["kube-apiserver"]),
    (["etcd-server", "scheduler.conf"], ["etcd", "kube-scheduler"]),
    (["admin.conf", "super-admin.conf", "etcd-healthcheck-client"], []),
    (list(ce.CERTIFICATE_NAMES), ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]),
])
def test_renewed_certificates_name_the_static_pods_to_restart(names, pods):
    assert ce.static_pods_for(names) == pods


def test_an_unknown_certificate_name_is_refused():
    with pytest.raises(NodeOpsError, match="unknown kubeadm certificate name"):
        ce.static_pods_for(["apiserver", "kubelet"])


def test_the_node_reader_returns_certificates_but_never_keys(tmp_path):
    pki = tmp_path / "pki"
    (pki / "etcd").mkdir(parents=True)
    (pki / "ca.crt").write_bytes(pem(certificate("kubernetes", 3650, ca=True)))
    (pki / "ca.key").write_bytes(key_pem())
    client = tmp_path / "client.pem"
    client.write_bytes(pem(certificate("system:node:a", 5)) + key_pem())
    admin = tmp_path / "admin.conf"
    admin.write_bytes(kubeconfig(certificate("kubernetes-admin", 5)))
    request = {"pem": [str(pki / "ca.crt"), str(client), str(tmp_path / "absent.crt")],
               "kubeconfig": [str(admin)], "exists": [str(pki / "ca.key"), str(pki / "etcd" / "ca.key")],
               "glob": [str(pki / "*.crt")]}
    proc = subprocess.run([sys.executable, "-c", ce.NODE_READER, json.dumps(request)], stdout=subprocess.PIPE,
                          check=True)
    files, globbed = ce.decode_reader_output(proc.stdout.decode(), "node")
    everything = b"".join(v for v in files.values() if v)
    assert b"PRIVATE KEY" not in everything and base64.b64encode(key_pem()) not in everything
    assert files[str(tmp_path / "absent.crt")] is None
    assert files[str(pki / "ca.key")] == b"" and files[str(pki / "etcd" / "ca.key")] is None
    assert globbed == [str(pki / "ca.crt")]
    assert ce.pem_certificates(files[str(client)], "client")[0].subject.rfc4514_string() == "CN=system:node:a"
    assert ce.kubeconfig_client_certificate(files[str(admin)], "admin") is not None
    assert b"client-key-data" not in files[str(admin)]


def test_an_answer_that_is_not_json_names_the_node():
    with pytest.raises(NodeOpsError, match="cp-1"):
        ce.decode_reader_output("Traceback ...", "cp-1")


def test_now_defaults_to_the_current_time():
    result = ce.expiry_report(kubeadm_pki())
    assert abs(datetime.datetime.strptime(result["now"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc) - datetime.datetime.now(datetime.timezone.utc)).total_seconds() < 120
    assert os.sep


@pytest.mark.parametrize("user, message", [
    ("users: admin\n", "has 'users' as a string (line 1), not a list"),
    ("users:\n- name: admin\n  user:\n    client-certificate: 5\n",
     "has users[0].user.client-certificate (admin) as an integer: 5"),
    ("users:\n- name: admin\n  user:\n    client-certificate-data: [a]\n",
     "has users[0].user.client-certificate-data (admin) as a list: ['a']"),
])
def test_a_kubeconfig_with_fields_of_the_wrong_type_is_refused_with_the_fix(user, message):
    with pytest.raises(NodeOpsError) as err:
        ce.kubeconfig_client_certificate(user, "/etc/kubernetes/admin.conf")
    assert err.value.message.startswith("the kubeconfig /etc/kubernetes/admin.conf " + message)
    assert err.value.message.endswith("restore it from a backup or regenerate it with 'kubeadm init phase kubeconfig'")
    assert err.value.details == {"path": "/etc/kubernetes/admin.conf"}


def test_a_kubeconfig_without_users_says_how_to_get_one_back():
    with pytest.raises(NodeOpsError) as err:
        ce.kubeconfig_client_certificate("users: []\n", "/etc/kubernetes/admin.conf")
    assert err.value.message == ("/etc/kubernetes/admin.conf has no user with credentials (users: none); restore it "
                                 "from a backup or regenerate it with 'kubeadm init phase kubeconfig'")

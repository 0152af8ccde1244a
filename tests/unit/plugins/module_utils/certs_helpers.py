# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A kubeadm-like PKI made in the test with ``cryptography``: CAs, leaf certificates, kubeconfigs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import ipaddress

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.timezone.utc)
KEY = ec.generate_private_key(ec.SECP256R1())  # one key for every certificate keeps the tests fast


def name(common_name, organizations=()):
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def certificate(common_name, days, issuer=None, organizations=(), dns=(), ips=(), ca=False, serial=None,
                usages=(ExtendedKeyUsageOID.CLIENT_AUTH,), not_before=None):
    subject = name(common_name, organizations)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.subject if issuer is not None else subject)
               .public_key(KEY.public_key())
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(not_before or NOW - datetime.timedelta(days=max(1, 1 - days)))
               .not_valid_after(NOW + datetime.timedelta(days=days)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    elif usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    if dns or ips:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]), critical=False)
    return builder.sign(KEY, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem():
    return KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def kubeconfig(cert, user="kubernetes-admin", embed=True):
    user_entry = {"client-certificate-data": base64.b64encode(pem(cert)).decode()} if embed else {
        "client-certificate": "/var/lib/kubelet/pki/kubelet-client-current.pem"}
    user_entry["client-key-data"] = base64.b64encode(key_pem()).decode()
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {"server": "https://10.0.0.1:6443"}}],
        "contexts": [{"name": "%s@kubernetes" % user, "context": {"cluster": "kubernetes", "user": user}}],
        "current-context": "%s@kubernetes" % user,
        "users": [{"name": "other", "user": {"token": "abc"}}, {"name": user, "user": user_entry}],
    }).encode()


def kubeadm_pki(days=None, ca_days=3650, external_ca=False, external_etcd=False, super_admin=True):
    """``{path: bytes}`` of a kubeadm control-plane node; ``days`` maps certificate names to validity."""
    days = dict(days or {})
    cas = {}
    files = {}
    for ca_name, rel in (("ca", "ca"), ("etcd-ca", "etcd/ca"), ("front-proxy-ca", "front-proxy-ca")):
        if ca_name == "etcd-ca" and external_etcd:
            continue
        cas[ca_name] = certificate(ca_name.replace("-ca", "") if ca_name != "ca" else "kubernetes",
                                   days.get(ca_name, ca_days), ca=True)
        files["/etc/kubernetes/pki/%s.crt" % rel] = pem(cas[ca_name])
        if not external_ca:
            files["/etc/kubernetes/pki/%s.key" % rel] = b""
    leaves = (
        ("apiserver", "apiserver.crt", "ca"),
        ("apiserver-etcd-client", "apiserver-etcd-client.crt", "etcd-ca"),
        ("apiserver-kubelet-client", "apiserver-kubelet-client.crt", "ca"),
        ("etcd-healthcheck-client", "etcd/healthcheck-client.crt", "etcd-ca"),
        ("etcd-peer", "etcd/peer.crt", "etcd-ca"),
        ("etcd-server", "etcd/server.crt", "etcd-ca"),
        ("front-proxy-client", "front-proxy-client.crt", "front-proxy-ca"),
    )
    for leaf, rel, ca_name in leaves:
        if ca_name not in cas:
            continue
        files["/etc/kubernetes/pki/" + rel] = pem(certificate(leaf, days.get(leaf, 365), issuer=cas[ca_name]))
    for conf, user in (("admin.conf", "kubernetes-admin"), ("controller-manager.conf", "system:kube-controller-manager"),
                       ("scheduler.conf", "system:kube-scheduler"), ("super-admin.conf", "kubernetes-super-admin")):
        if conf == "super-admin.conf" and not super_admin:
            continue
        files["/etc/kubernetes/" + conf] = kubeconfig(certificate(user, days.get(conf, 365), issuer=cas["ca"]), user)
    if not external_etcd:
        files["/etc/kubernetes/manifests/etcd.yaml"] = b""
    files["/var/lib/kubelet/pki/kubelet-client-current.pem"] = (
        pem(certificate("system:node:cp1", days.get("kubelet-client", 365), issuer=cas["ca"],
                        organizations=["system:nodes"])) + key_pem())
    files["/var/lib/kubelet/pki/kubelet.crt"] = pem(certificate("cp1@123", days.get("kubelet-serving", 365),
                                                                usages=()))
    return files

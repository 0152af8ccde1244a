# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node side of the certificate expiry (``cert_expiry``, ``node_audit_facts``): standard library only.

What is read on a node (:func:`node_request`) and the reader that reads it (:data:`NODE_READER`); the
parsing of what it returns, with ``cryptography``, is in ``_cert_expiry``, on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

# The CAs: name, certificate and key, relative to the PKI directory.
KUBEADM_CAS = (
    ("ca", "ca.crt", "ca.key"),
    ("etcd-ca", "etcd/ca.crt", "etcd/ca.key"),
    ("front-proxy-ca", "front-proxy-ca.crt", "front-proxy-ca.key"),
)

# The certificates kubeadm lists and renews: name (also the argument of `kubeadm certs renew`),
# kind ("file" under the PKI directory, "kubeconfig" under the kubeconfig directory), path, CA,
# and the static pods that load it (they must restart to use a renewed one).
KUBEADM_CERTIFICATES = (
    ("admin.conf", "kubeconfig", "admin.conf", "ca", ()),
    ("apiserver", "file", "apiserver.crt", "ca", ("kube-apiserver",)),
    ("apiserver-etcd-client", "file", "apiserver-etcd-client.crt", "etcd-ca", ("kube-apiserver",)),
    ("apiserver-kubelet-client", "file", "apiserver-kubelet-client.crt", "ca", ("kube-apiserver",)),
    ("controller-manager.conf", "kubeconfig", "controller-manager.conf", "ca", ("kube-controller-manager",)),
    ("etcd-healthcheck-client", "file", "etcd/healthcheck-client.crt", "etcd-ca", ()),
    ("etcd-peer", "file", "etcd/peer.crt", "etcd-ca", ("etcd",)),
    ("etcd-server", "file", "etcd/server.crt", "etcd-ca", ("etcd",)),
    ("front-proxy-client", "file", "front-proxy-client.crt", "front-proxy-ca", ("kube-apiserver",)),
    ("scheduler.conf", "kubeconfig", "scheduler.conf", "ca", ("kube-scheduler",)),
    ("super-admin.conf", "kubeconfig", "super-admin.conf", "ca", ()),
)

DEFAULT_PKI_DIR = "/etc/kubernetes/pki"
DEFAULT_KUBECONFIG_DIR = "/etc/kubernetes"
DEFAULT_MANIFESTS_DIR = "/etc/kubernetes/manifests"
KUBELET_CLIENT = "/var/lib/kubelet/pki/kubelet-client-current.pem"
# With serverTLSBootstrap the kubelet keeps its CSR-signed serving certificate here, else its self-signed one.
KUBELET_SERVING_FILES = ("/var/lib/kubelet/pki/kubelet-server-current.pem", "/var/lib/kubelet/pki/kubelet.crt")


def node_request(pki_dir=DEFAULT_PKI_DIR, kubeconfig_dir=DEFAULT_KUBECONFIG_DIR, manifests_dir=DEFAULT_MANIFESTS_DIR,
                 kubelet_client=KUBELET_CLIENT, kubelet_serving=KUBELET_SERVING_FILES):
    """What :data:`NODE_READER` reads on the node for :func:`expiry_report`.

    ``pem``: certificate files (only their CERTIFICATE blocks leave the node, never a key);
    ``kubeconfig``: kubeconfig files, without their key and token lines; ``exists``: files whose
    presence only matters (the CA keys, the etcd manifest); ``glob``: patterns of other certificates.
    """
    pem = [posixpath.join(pki_dir, rel) for _n, rel, _k in KUBEADM_CAS]
    kubeconfig = []
    for _name, kind, rel, _ca, _pods in KUBEADM_CERTIFICATES:
        if kind == "kubeconfig":
            kubeconfig.append(posixpath.join(kubeconfig_dir, rel))
        else:
            pem.append(posixpath.join(pki_dir, rel))
    pem.append(kubelet_client)
    pem.extend(kubelet_serving)
    exists = [posixpath.join(pki_dir, key) for _n, _c, key in KUBEADM_CAS]
    exists.append(posixpath.join(manifests_dir, "etcd.yaml"))
    return {"pem": pem, "kubeconfig": kubeconfig, "exists": exists,
            "glob": [posixpath.join(pki_dir, "*.crt"), posixpath.join(pki_dir, "etcd", "*.crt")]}


# Runs on the node with its own python3 (3.9+, standard library only): prints one JSON object that
# maps each path to its base64 content (null when absent). Private keys never leave the node.
NODE_READER = r"""
import base64, glob, json, os, sys
req = json.loads(sys.argv[1])
out = {}
def pem_only(data):
    keep, inside = [], False
    for line in data.splitlines(True):
        if line.startswith(b"-----BEGIN CERTIFICATE-----"):
            inside = True
        if inside:
            keep.append(line)
        if line.startswith(b"-----END CERTIFICATE-----"):
            inside = False
    return b"".join(keep)
def public_kubeconfig(data):
    secret = (b"client-key-data:", b"client-key:", b"token:", b"password:", b"token-file:")
    return b"".join(l for l in data.splitlines(True) if not l.strip().startswith(secret))
def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None
for kind, paths in (("pem", req.get("pem", [])), ("kubeconfig", req.get("kubeconfig", []))):
    for path in paths:
        data = read(path)
        if data is not None:
            data = base64.b64encode(pem_only(data) if kind == "pem" else public_kubeconfig(data)).decode()
        out[path] = data
for path in req.get("exists", []):
    out[path] = "" if os.path.exists(path) else None
globbed = []
for pattern in req.get("glob", []):
    for path in sorted(glob.glob(pattern)):
        globbed.append(path)
        if path not in out:
            data = read(path)
            out[path] = None if data is None else base64.b64encode(pem_only(data)).decode()
print(json.dumps({"files": out, "globbed": globbed}))
"""

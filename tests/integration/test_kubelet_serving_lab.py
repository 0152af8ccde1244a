"""Kubelet serving certificates on the real lab: serverTLSBootstrap on, the real kubelet files a CSR, the
strict approver approves it and refuses crafted ones, kube-controller-manager signs, the kubelet serves it.

Uses the lab of ``$NODEOPS_LAB_DIR`` (it must be up, with a worker ``lab-worker1``). The crafted CSRs are
filed with real node credentials: lab-worker1's own kubelet.conf, and a client certificate for a Node that
does not exist (``system:node:ghost``) signed on the control plane with the cluster CA.
"""

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
import yaml

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_PATH = os.path.join(REPO_ROOT, "tests", "lab")
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
ANSIBLE_PLAYBOOK = os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook")
if LAB_PATH not in sys.path:
    sys.path.insert(0, LAB_PATH)

from nodeops_lab import lab as lab_cli  # noqa: E402
from nodeops_lab.podman import Podman  # noqa: E402

WORKER = "lab-worker1"
SIGNER = "kubernetes.io/kubelet-serving"
FILED_BY_ADMIN = []
OPENSSL_CONF = "[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=%s\n"


class Lab(object):
    def __init__(self):
        self.paths = lab_cli.Paths()
        with open(self.paths.inventory) as handle:
            inventory = yaml.safe_load(handle)
        groups = inventory["all"]["children"]["k8s_cluster"]["children"]
        self.cp = list(groups["kube_control_plane"]["hosts"].values())[0]["ansible_host"]
        self.worker = groups["kube_node"]["hosts"][WORKER]["ansible_host"]
        self.podman = Podman(self.paths.containers_conf)
        self.kubectl_bin = lab_cli.kubectl_path()
        self.state_dir = tempfile.mkdtemp(prefix="nodeops-kubelet-serving-")

    def kubectl(self, *args, **kwargs):
        # The API server may be restarting (another test renewing certificates): try again for a while.
        deadline = time.monotonic() + 180
        while True:
            proc = lab_cli.kubectl_run(self.kubectl_bin, self.paths.kubeconfig, *args, check=False, **kwargs)
            if proc.returncode == 0 or time.monotonic() > deadline:
                assert proc.returncode == 0, "kubectl %s: %s%s" % (" ".join(args), proc.stdout, proc.stderr)
                return proc.stdout
            time.sleep(3)

    def csrs(self):
        return json.loads(self.kubectl("get", "csr", "-o", "json"))["items"]

    def sh(self, container, script, input=None):
        return self.podman.exec(container, "sh", "-c", script, input=input, timeout=120).stdout

    def play(self, hosts, tasks, out):
        play = textwrap.dedent("""\
            - hosts: {hosts}
              gather_facts: false
              module_defaults:
                group/nodeops.kubernetes.k8s:
                  kubeconfig: "{{{{ nodeops_kubeconfig }}}}"
              tasks:
            {tasks}
                - name: Keep the result
                  ansible.builtin.copy:
                    content: "{{{{ result | to_json }}}}"
                    dest: {out}
                    mode: "0600"
                  delegate_to: localhost
                  run_once: true
            """).format(hosts=hosts, out=out, tasks=textwrap.indent(textwrap.dedent(tasks), "    "))
        path = os.path.join(self.state_dir, "play-%d.yml" % time.time_ns())
        with open(path, "w") as handle:
            handle.write(play)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                   CONTAINERS_CONF=self.paths.containers_conf, ANSIBLE_LOCALHOST_WARNING="0")
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", self.paths.inventory, path], env=env, cwd=self.state_dir,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=900, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with open(out) as handle:
            return json.load(handle)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(2)


@pytest.fixture(scope="module")
def lab():
    try:
        found = Lab()
        found.kubectl("get", "node", WORKER)
    except BaseException as exc:  # pylint: disable=broad-except
        pytest.fail("the lab with %s is not up: %s" % (WORKER, exc), pytrace=False)
    return found


def craft(lab, name, kubeconfig, cn, orgs=("system:nodes",), sans="DNS:%s" % WORKER, signer=SIGNER,
          usages=("digital signature", "server auth")):
    """A CSR made with openssl on the worker and filed with ``kubeconfig`` (a node's credentials)."""
    subject = "".join("/O=%s" % o for o in orgs) + "/CN=%s" % cn
    script = ("set -e; d=$(mktemp -d); printf '%s' > $d/cnf; "
              "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $d/key "
              "-subj '%s' -config $d/cnf -reqexts ext 2>/dev/null | base64 -w0; rm -rf $d"
              % (OPENSSL_CONF % sans, subject))
    request = lab.sh(lab.worker, script)
    doc = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": name}, "spec": {"request": request, "signerName": signer, "usages": list(usages)}}
    try:
        lab.sh(lab.worker, "kubectl --kubeconfig %s create -f -" % kubeconfig, input=json.dumps(doc))
        return "node"
    except Exception as exc:  # pylint: disable=broad-except
        # The API server itself refuses some node CSRs (a node may only ask for its own CN): file the same
        # request with the admin's credentials, so that the approver still has to refuse it.
        if "forbidden" not in str(exc).lower():
            raise
        FILED_BY_ADMIN.append((name, str(exc).rsplit("forbidden:", maxsplit=1)[-1].strip()))
        lab.kubectl("create", "-f", "-", input=json.dumps(doc))
        return "admin"


def served_on_10250(host):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, 10250), timeout=15) as sock:
        with ctx.wrap_socket(sock) as tls:
            return tls.getpeercert(binary_form=True)


def test_real_kubelet_csr_is_approved_crafted_ones_refused_and_the_signed_certificate_served(lab):
    from cryptography import x509  # pylint: disable=import-outside-toplevel

    # 1. serverTLSBootstrap in the cluster's kubelet ConfigMap, then on the worker, kubelet restarted.
    lab.kubectl("delete", "csr", "--all", "--wait=false")
    lab.play("kube_control_plane", """\
        - name: Turn on serverTLSBootstrap in the kubelet ConfigMap
          nodeops.kubernetes.kubelet_configmap:
            settings:
              serverTLSBootstrap: true
          delegate_to: localhost
          run_once: true
          register: result
        """, os.path.join(lab.state_dir, "configmap.json"))
    lab.play(WORKER, """\
        - name: Turn on serverTLSBootstrap in the kubelet configuration of the node
          nodeops.kubernetes.kubelet_config:
            path: /var/lib/kubelet/config.yaml
            settings:
              serverTLSBootstrap: true
            backup: true
          become: true
          register: result
        - name: Remove a serving certificate of an earlier run, so that the kubelet asks for one
          ansible.builtin.shell: rm -f /var/lib/kubelet/pki/kubelet-server-*.pem
          become: true
          changed_when: true
        - name: Restart the kubelet
          ansible.builtin.systemd_service:
            name: kubelet.service
            state: restarted
          become: true
        """, os.path.join(lab.state_dir, "node.json"))

    def worker_csr():
        return [c for c in lab.csrs() if c["spec"]["signerName"] == SIGNER
                and c["spec"]["username"] == "system:node:%s" % WORKER and not c.get("status", {}).get("conditions")]
    real = wait_for(worker_csr, 180, "the kubelet of %s to file a serving CSR" % WORKER)[0]["metadata"]["name"]

    # 2. Crafted requests, filed with real node credentials.
    node_ip = [a["address"] for a in json.loads(lab.kubectl("get", "node", WORKER, "-o", "json"))["status"]["addresses"]
               if a["type"] == "InternalIP"][0]
    own = "/etc/kubernetes/kubelet.conf"
    me = "system:node:%s" % WORKER
    craft(lab, "crafted-other-node", own, "system:node:lab-cp1", sans="DNS:lab-cp1")
    craft(lab, "crafted-extra-ip", own, me, sans="DNS:%s,IP:%s,IP:10.88.200.200" % (WORKER, node_ip))
    craft(lab, "crafted-wildcard", own, me, sans="DNS:*.%s" % WORKER)
    craft(lab, "crafted-client-auth", own, me, usages=("digital signature", "server auth", "client auth"))
    craft(lab, "crafted-wrong-signer", own, me, signer="nodeops.io/not-kubelet-serving")
    craft(lab, "crafted-cn-mismatch", own, "%s-impostor" % me)
    craft(lab, "crafted-missing-o", own, me, orgs=())
    # A Node that does not exist: a client certificate for system:node:ghost, signed with the cluster CA.
    ghost = lab.sh(lab.cp, "set -e; d=$(mktemp -d); cd $d; "
                   "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout k "
                   "-subj '/O=system:nodes/CN=system:node:ghost' -out r 2>/dev/null; "
                   "openssl x509 -req -in r -CA /etc/kubernetes/pki/ca.crt -CAkey /etc/kubernetes/pki/ca.key "
                   "-CAcreateserial -days 1 -out c 2>/dev/null; "
                   "kubectl --kubeconfig /etc/kubernetes/admin.conf config view --raw --minify "
                   "-o jsonpath='{.clusters[0].cluster.server}'; echo; base64 -w0 c; echo; base64 -w0 k; rm -rf $d")
    server, cert, key = ghost.split("\n")[:3]
    ghost_conf = yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "g",
                                 "clusters": [{"name": "c", "cluster": {"server": server,
                                                                        "insecure-skip-tls-verify": True}}],
                                 "contexts": [{"name": "g", "context": {"cluster": "c", "user": "g"}}],
                                 "users": [{"name": "g", "user": {"client-certificate-data": cert,
                                                                  "client-key-data": key}}]})
    lab.sh(lab.worker, "umask 077; cat > /root/ghost.conf", input=ghost_conf)
    craft(lab, "crafted-no-such-node", "/root/ghost.conf", "system:node:ghost", sans="DNS:ghost")
    lab.sh(lab.worker, "rm -f /root/ghost.conf")

    # 3. The approver: the real request approved, every crafted one refused (left pending), the other signer ignored.
    result = lab.play("kube_control_plane", """\
        - name: Approve kubelet serving CSRs
          nodeops.kubernetes.kubelet_csr_approve:
          delegate_to: localhost
          run_once: true
          register: result
        """, os.path.join(lab.state_dir, "approve.json"))
    approved = [a["name"] for a in result["approved"]]
    refused = dict((r["name"], r["reasons"]) for r in result["refused"])
    ignored = [i["name"] for i in result["ignored"]]
    # The real kubelet may have filed more than one request (it retries): all of them, and only them, are approved.
    assert real in approved and all(a["node"] == WORKER and not a["name"].startswith("crafted-")
                                    for a in result["approved"]), result
    expected = {"crafted-other-node": "is not the requester's", "crafted-extra-ip": "10.88.200.200 not in",
                "crafted-wildcard": "not in the addresses", "crafted-client-auth": "usages",
                "crafted-cn-mismatch": "is not the requester's", "crafted-missing-o": "is not exactly system:nodes",
                "crafted-no-such-node": "Node ghost does not exist"}
    admin_filed = dict(FILED_BY_ADMIN)
    print("refused by the API server when filed by the node, then filed by the admin: %s" % admin_filed)
    for name, reason in expected.items():
        assert name in refused, (name, result)
        if name in admin_filed:
            assert any("is not a node" in r for r in refused[name]), (name, refused[name])
        else:
            assert any(reason in r for r in refused[name]), (name, refused.get(name))
    assert "crafted-wrong-signer" in ignored
    states = dict((c["metadata"]["name"], [x["type"] for x in (c.get("status") or {}).get("conditions") or []])
                  for c in lab.csrs())
    assert all(states[name] == [] for name in expected) and states["crafted-wrong-signer"] == []

    # 4. kube-controller-manager signs; the kubelet serves the signed certificate on 10250.
    wait_for(lambda: [c for c in lab.csrs() if c["metadata"]["name"] == real
                      and (c.get("status") or {}).get("certificate")], 180, "the signed certificate of " + real)
    signed = [c for c in lab.csrs() if c["metadata"]["name"] == real][0]["status"]["certificate"]
    signed_cert = x509.load_pem_x509_certificate(base64.b64decode(signed))

    def serving_signed():
        try:
            return x509.load_der_x509_certificate(served_on_10250(node_ip)).serial_number == signed_cert.serial_number
        except OSError:
            return False
    wait_for(serving_signed, 180, "the kubelet of %s to serve the signed certificate on 10250" % WORKER)
    assert signed_cert.issuer.rfc4514_string() == "CN=kubernetes"

    # 5. Idempotent: a second run approves nothing new.
    again = lab.play("kube_control_plane", """\
        - name: Approve kubelet serving CSRs again
          nodeops.kubernetes.kubelet_csr_approve:
          delegate_to: localhost
          run_once: true
          register: result
        """, os.path.join(lab.state_dir, "approve2.json"))
    assert again["approved"] == [] and again["changed"] is False

"""cert_expiry on the real lab, compared with the real ``kubeadm certs check-expiration -o json``.

Uses the lab of ``$NODEOPS_LAB_DIR`` (default ``<repo>/.lab``), brought up when it does not answer. Every
control-plane host of its inventory is read by the module through ansible-playbook (podman connection,
the node's own python3) and by the node's own kubeadm; the names, expiry dates, CAs, "externally managed"
and "missing" must be the same.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

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


def lab_answers(paths):
    if not os.path.exists(paths.kubeconfig):
        return False
    proc = lab_cli.kubectl_run(lab_cli.kubectl_path(), paths.kubeconfig, "get", "--raw", "/readyz", check=False,
                               timeout=20)
    return proc.returncode == 0


@pytest.fixture(scope="module")
def cert_lab():
    """The lab's paths and its control-plane hosts (inventory name -> container)."""
    paths = lab_cli.Paths()
    try:
        if not lab_answers(paths):
            state = lab_cli.read_state(paths)
            lab_cli.bring_up(paths, state.get("workers", 1), state.get("port") or lab_cli.DEFAULT_PORT)
    except BaseException as exc:  # the lab CLI raises SystemExit (LabError)  pylint: disable=broad-except
        pytest.fail("the lab cannot come up, so cert_expiry cannot be compared with kubeadm: %s" % (exc,),
                    pytrace=False)
    with open(paths.inventory) as handle:
        inventory = yaml.safe_load(handle)
    hosts = inventory["all"]["children"]["k8s_cluster"]["children"]["kube_control_plane"]["hosts"]
    return paths, dict((name, host["ansible_host"]) for name, host in hosts.items())


def run_cert_expiry(paths, state_dir):
    out = os.path.join(state_dir, "expiry.json")
    play = textwrap.dedent("""\
        - hosts: kube_control_plane
          gather_facts: false
          tasks:
            - name: Read the certificate expiry of the node
              nodeops.kubernetes.cert_expiry:
              become: true
              register: expiry
            - name: Keep the results on the controller
              ansible.builtin.copy:
                content: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'expiry'))) | to_json }}"
                dest: %s
                mode: "0600"
              delegate_to: localhost
              run_once: true
        """ % out)
    path = os.path.join(state_dir, "play.yml")
    with open(path, "w") as handle:
        handle.write(play)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               CONTAINERS_CONF=paths.containers_conf)
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", paths.inventory, path], env=env, cwd=state_dir,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout
    with open(out) as handle:
        return json.load(handle)


def kubeadm_check_expiration(paths, container):
    podman = Podman(paths.containers_conf)
    proc = podman.exec(container, "kubeadm", "certs", "check-expiration", "-o", "json", timeout=120)
    return json.loads(proc.stdout)


def by_name(items):
    return dict((item["name"], item) for item in items)


def test_cert_expiry_lists_what_kubeadm_lists_with_the_same_expiry(cert_lab):
    paths, control_plane = cert_lab
    state_dir = tempfile.mkdtemp(prefix="nodeops-cert-expiry-")
    kubeadm = dict((host, kubeadm_check_expiration(paths, container)) for host, container in control_plane.items())
    ours = run_cert_expiry(paths, state_dir)
    assert sorted(ours) == sorted(control_plane)
    for host, real in kubeadm.items():
        result = ours[host]
        shape = result["kubeadm"]
        assert (shape["apiVersion"], shape["kind"]) == (real["apiVersion"], real["kind"])
        for key in ("certificates", "certificateAuthorities"):
            assert [c["name"] for c in shape[key]] == [c["name"] for c in real[key]], (host, key)
            theirs = by_name(real[key])
            for item in shape[key]:
                other = theirs[item["name"]]
                for field in ("expirationDate", "externallyManaged", "missing", "caName"):
                    assert item.get(field) == other.get(field), (host, item["name"], field, item, other)
                # both count down from their own clock, a few seconds apart
                assert abs(item["residualTime"] - other["residualTime"]) < 120, (host, item, other)
        client, serving = result["kubelet"]
        assert not client["missing"] and client["common_name"] == "system:node:%s" % host
        assert not serving["missing"]
        assert result["lines"][0].startswith("CERTIFICATE ")

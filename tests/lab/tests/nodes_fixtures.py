"""Shared fixtures for the lab tests (test_node_*.py, test_lab_*.py).

The tests need root, podman, debootstrap, Go and the node image (built once
per session by `lab up` when its inputs changed).  They run a separate lab:
its own state dir, a free API port and the container prefix
``nodeops-labtest-``, so a developer's own lab (``.lab``) is left alone.

Select them with ``-m lab_nodes``; they are skipped where podman or root is
missing, and fail instead on CI.
"""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(LAB_ROOT))
CONTAINER_PREFIX = "nodeops-labtest-"
LAB_NODES = pytest.mark.lab_nodes


def lab_requirements_missing():
    if os.geteuid() != 0:
        return "needs root (rootful podman, debootstrap)"
    for tool in ("podman", "debootstrap", "runc", "go"):
        if not shutil.which(tool):
            return "needs %s" % tool
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Lab(object):
    """A lab started with the CLI, plus helpers to poke at its nodes."""

    def __init__(self, lab_dir, port):
        self.lab_dir = lab_dir
        self.port = port
        self.env = dict(os.environ)
        self.env.update({
            "NODEOPS_LAB_DIR": lab_dir,
            "NODEOPS_LAB_PORT": str(port),
            "NODEOPS_LAB_CONTAINER_PREFIX": CONTAINER_PREFIX,
            # keep debootstrap downloads across test sessions
            "NODEOPS_LAB_CACHE_DIR": os.environ.get("NODEOPS_LAB_CACHE_DIR")
            or os.path.join(REPO_ROOT, ".lab", "cache"),
            "PYTHONPATH": LAB_ROOT,
        })
        self.kubeconfig = os.path.join(lab_dir, "kubeconfig")
        self.containers_conf = os.path.join(lab_dir, "containers.conf")
        self.inventory = os.path.join(lab_dir, "inventory.yml")

    def cli(self, *args, check=True, timeout=1200):
        proc = subprocess.run([sys.executable, "-m", "nodeops_lab.lab"] + list(args), env=self.env,
                              cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("lab %s failed (%d):\n%s" % (" ".join(args), proc.returncode, proc.stdout))
        return proc

    def container(self, short):
        return CONTAINER_PREFIX + short

    def podman(self, *args, check=True, timeout=120):
        env = dict(self.env)
        if os.path.exists(self.containers_conf):  # `lab down` removes it
            env["CONTAINERS_CONF"] = self.containers_conf
        proc = subprocess.run(["podman"] + list(args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("podman %s failed: %s" % (" ".join(args), proc.stderr))
        return proc

    def sh(self, container, script, check=True, timeout=120):
        """Run a shell script inside a node container; returns the CompletedProcess."""
        return self.podman("exec", container, "sh", "-c", script, check=check, timeout=timeout)

    def kubectl(self, *args, check=True, timeout=120):
        from nodeops_lab.lab import kubectl_path
        proc = subprocess.run([kubectl_path(), "--kubeconfig", self.kubeconfig] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s failed: %s" % (" ".join(args), proc.stderr))
        return proc

    def core(self):
        from kubernetes import client, config
        return client.CoreV1Api(config.new_client_from_config(config_file=self.kubeconfig))

    def ready_condition(self, node_name):
        node = self.core().read_node(node_name)
        for cond in node.status.conditions or []:
            if cond.type == "Ready":
                return cond
        return None

    def wait_ready(self, node_name, status="True", timeout=90, message=None):
        """Wait until the Node's Ready condition has ``status`` (and contains ``message``)."""
        deadline = time.time() + timeout
        cond = None
        while time.time() < deadline:
            cond = self.ready_condition(node_name)
            if cond is not None and cond.status == status and (message is None or message in (cond.message or "")):
                return cond
            time.sleep(1)
        raise AssertionError("node %s: Ready did not become %s%s in %ds; last: %s"
                             % (node_name, status, " (%s)" % message if message else "", timeout,
                                cond and (cond.status, cond.reason, cond.message)))

    def journal(self, container, unit="kubelet", since=None):
        cmd = "journalctl -u %s --no-pager -o cat" % unit
        if since:
            cmd += " --since '%s'" % since
        return self.sh(container, cmd).stdout

    def container_time(self, container):
        return self.sh(container, "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()

    def wait_journal(self, container, needle, since, unit="kubelet", timeout=30):
        deadline = time.time() + timeout
        text = ""
        while time.time() < deadline:
            text = self.journal(container, unit, since)
            if needle in text:
                return text
            time.sleep(1)
        raise AssertionError("%r not in the %s journal of %s since %s:\n%s"
                             % (needle, unit, container, since, text[-3000:]))


_SHARED = {}


@pytest.fixture(scope="session")
def lab(request, tmp_path_factory):
    """A running lab (3 nodes), brought up once per test session and torn down at the end.

    The fixture is imported into several test modules, which gives one
    fixture definition per module; the lab itself is shared through _SHARED.
    """
    why = lab_requirements_missing()
    if why:
        # `make test` installs what the lab needs (tests/ci/setup.sh): a lab that cannot start is a failure.
        pytest.fail("the lab cannot start on this machine: %s; run make setup (tests/ci/setup.sh)" % why)
    if "lab" in _SHARED:
        return _SHARED["lab"]
    lab_dir = str(tmp_path_factory.mktemp("nodeops-lab"))
    the_lab = Lab(lab_dir, free_port())
    _SHARED["lab"] = the_lab
    request.addfinalizer(lambda: the_lab.cli("down", check=False))
    started = time.time()
    proc = the_lab.cli("up")
    the_lab.up_output = proc.stdout
    the_lab.up_seconds = time.time() - started
    return the_lab

"""Fixtures for the nodeops lab tests: a simulated API server in a subprocess."""

import os
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if LAB_DIR not in sys.path:
    sys.path.insert(0, LAB_DIR)

DEFAULT_SEED = os.path.join(LAB_DIR, "seeds", "api-only.yaml")
DEFAULT_TIME_SCALE = 0.05


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """A running ``python -m nodeops_lab.apiserver`` (simulation) subprocess."""

    def __init__(self, state_dir, seed=DEFAULT_SEED, time_scale=DEFAULT_TIME_SCALE, extra_args=()):
        self.state_dir = str(state_dir)
        self.seed = seed
        self.time_scale = time_scale
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.kubeconfig = os.path.join(self.state_dir, "kubeconfig")
        self.log_path = os.path.join(self.state_dir, "apiserver.log")

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def start(self, timeout=30):
        os.makedirs(self.state_dir, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = LAB_DIR + os.pathsep + env.get("PYTHONPATH", "")
        for attempt in range(3):
            self.port = free_port()
            cmd = [sys.executable, "-m", "nodeops_lab.apiserver", "--port", str(self.port),
                   "--state-dir", self.state_dir, "--time-scale", str(self.time_scale)] + self.extra_args
            if self.seed:
                cmd += ["--seed", self.seed]
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env)
            log.close()
            line = self._read_line(timeout)
            if line and "listening on" in line:
                return self
            self.stop()
            if attempt == 2:
                with open(self.log_path) as handle:
                    raise RuntimeError("lab apiserver did not start: %r\n%s" % (line, handle.read()[-3000:]))
        return self

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                if b"\n" in buf:
                    return buf.split(b"\n", 1)[0].decode()
            elif self.proc.poll() is not None:
                break
        return buf.decode() or None

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        code = self.proc.returncode
        self.proc = None
        return code

    def api_client(self):
        from kubernetes import config
        return config.new_client_from_config(config_file=self.kubeconfig)


def wait_for(predicate, timeout=15.0, interval=0.05, message="condition"):
    """Poll ``predicate`` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            last_exc = exc
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last error: %r)" % (message, last_exc))


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory):
    """A simulated API server for the test module (seed/time scale from module globals)."""
    seed = getattr(request.module, "LAB_SEED", DEFAULT_SEED)
    scale = getattr(request.module, "LAB_TIME_SCALE", DEFAULT_TIME_SCALE)
    server = LabServer(tmp_path_factory.mktemp("lab"), seed=seed, time_scale=scale).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_kubeconfig(lab):
    """Path of the admin kubeconfig written by the simulated API server."""
    return lab.kubeconfig


@pytest.fixture(scope="module")
def k8s(lab):
    """Typed API objects of the official ``kubernetes`` client bound to the lab server."""
    from kubernetes import client

    api_client = lab.api_client()

    class Clients:
        api = api_client
        core = client.CoreV1Api(api_client)
        apps = client.AppsV1Api(api_client)
        policy = client.PolicyV1Api(api_client)
        batch = client.BatchV1Api(api_client)
        coordination = client.CoordinationV1Api(api_client)
        certificates = client.CertificatesV1Api(api_client)

    yield Clients
    api_client.close()


def pytest_configure(config):
    """Register the marker of the tests that start node containers."""
    config.addinivalue_line("markers", "lab_nodes: tests that start lab node containers (need root and podman)")

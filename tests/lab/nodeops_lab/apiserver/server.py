"""Start-up of the simulated API server: lab PKI, tokens, kubeconfig, TLS,
seeding and the asyncio tasks that serve requests and run the simulation."""

import asyncio
import base64
import ipaddress
import logging
import os
import secrets
import signal
import ssl

import yaml
from aiohttp import web

from .. import pki
from . import errors, resources
from .app import API, set_version
from .controllers import Simulation
from .registry import SYSTEM_USER, Registry
from .store import Store

LOG = logging.getLogger("nodeops_lab.apiserver")

DEFAULT_SANS = ["localhost", "127.0.0.1", "host.containers.internal", "10.88.0.1", "10.96.0.1", "kubernetes",
                "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
DEFAULT_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


class Server:
    def __init__(self, port, state_dir, seed=None, time_scale=1.0, advertise_hosts=(), host="0.0.0.0",
                 kubernetes_version=None):
        self.port = port
        self.host = host
        self.state_dir = os.path.abspath(state_dir)
        self.pki_dir = os.path.join(self.state_dir, "pki")
        self.tokens_path = os.path.join(self.state_dir, "tokens.csv")
        self.kubeconfig_path = os.path.join(self.state_dir, "kubeconfig")
        self.pid_path = os.path.join(self.state_dir, "apiserver.pid")
        self.seed = seed
        self.time_scale = float(time_scale)
        self.advertise_hosts = list(advertise_hosts)
        self.advertise_ip = "127.0.0.1"
        if kubernetes_version:
            set_version(kubernetes_version)
        self.store = Store()
        self.registry = Registry(self.store, self.time_scale)
        self.api = API(self)
        self.simulation = None

    def kick(self):
        if self.simulation is not None:
            self.simulation.kick()

    # ------------------------------------------------------------------ files
    def prepare_files(self):
        os.makedirs(self.state_dir, exist_ok=True)
        ca_crt, _ = pki.ensure_ca(self.pki_dir)
        sans = DEFAULT_SANS + [h for h in self.advertise_hosts if h not in DEFAULT_SANS]
        self.server_crt, self.server_key = pki.issue_cert(
            self.pki_dir, "apiserver", "kube-apiserver", organizations=(),
            dns_names=[s for s in sans if not _is_ip(s)], ip_addresses=[s for s in sans if _is_ip(s)],
            server=True)
        self.ca_crt = ca_crt
        token = self._admin_token()
        with open(ca_crt, "rb") as handle:
            ca_data = base64.b64encode(handle.read()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "nodeops-lab", "cluster": {
                "server": "https://127.0.0.1:%d" % self.port, "certificate-authority-data": ca_data}}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "nodeops-lab", "context": {"cluster": "nodeops-lab", "user": "admin"}}],
            "current-context": "nodeops-lab",
            "preferences": {},
        }
        fd = os.open(self.kubeconfig_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(config, handle, default_flow_style=False)
        with open(self.pid_path, "w") as handle:
            handle.write("%d\n" % os.getpid())

    def _admin_token(self):
        import csv
        if os.path.exists(self.tokens_path):
            with open(self.tokens_path, newline="") as handle:
                for row in csv.reader(handle):
                    if len(row) >= 2 and row[1] == "admin":
                        return row[0]
        token = secrets.token_hex(24)
        fd = os.open(self.tokens_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write('%s,admin,admin,"system:masters"\n' % token)
        return token

    def ssl_context(self):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.server_crt, self.server_key)
        ctx.load_verify_locations(self.ca_crt)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx

    # ------------------------------------------------------------------ objects
    def bootstrap(self):
        namespaces = resources.get("namespaces")
        for name in DEFAULT_NAMESPACES:
            self.registry.create(namespaces, None, {"metadata": {"name": name}})
        self.registry.create(resources.get("services"), "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                                          "targetPort": self.port}]}})
        if self.seed:
            self.load_seed(self.seed)

    def load_seed(self, path):
        with open(path) as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
        items = []
        for doc in docs:
            if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
                items.extend(doc["items"])
            else:
                items.append(doc)
        order = {"Namespace": 0, "Node": 1}
        items.sort(key=lambda d: order.get(d.get("kind"), 2))
        for doc in items:
            rt = resources.by_kind(doc.get("apiVersion", ""), doc.get("kind", ""))
            if rt is None:
                raise SystemExit("seed %s: unsupported kind %s %s" % (path, doc.get("apiVersion"), doc.get("kind")))
            namespace = None
            if rt.namespaced:
                namespace = (doc.get("metadata") or {}).get("namespace") or "default"
                if self.store.get(resources.get("namespaces"), "", namespace) is None:
                    self.registry.create(resources.get("namespaces"), None, {"metadata": {"name": namespace}})
            try:
                self.registry.create(rt, namespace, doc, user=SYSTEM_USER, keep_status=(rt.kind == "Node"))
            except errors.APIError as exc:
                raise SystemExit("seed %s: %s" % (path, exc.message))

    # ------------------------------------------------------------------ run
    async def run(self, ready_line=True):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        self.prepare_files()
        self.bootstrap()
        self.simulation = Simulation(self)
        sim_task = asyncio.ensure_future(self.simulation.run())
        app = self.api.make_app()
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context(), reuse_address=True)
        await site.start()
        if ready_line:
            print("nodeops-lab apiserver (simulation) listening on https://%s:%d, kubeconfig %s"
                  % (self.host, self.port, self.kubeconfig_path), flush=True)
        try:
            await stop.wait()
        finally:
            self.api.closing = True
            self.store.close_watchers()
            sim_task.cancel()
            try:
                await sim_task
            except asyncio.CancelledError:
                pass
            await runner.cleanup()
            try:
                os.unlink(self.pid_path)
            except OSError:
                pass

"""A fault-injecting HTTPS reverse proxy in front of a Kubernetes API server.

    proxy = FaultProxy("/path/to/kubeconfig")      # the real cluster's kubeconfig
    proxy.start()                                  # 127.0.0.1:<free port>, own CA, own event loop thread
    proxy.add_rule("POST", r"/eviction$", "429-apf", times=3)
    run_something_with(proxy.kubeconfig)           # a kubeconfig whose cluster is the proxy
    proxy.counts()                                 # Counter({"create pods/eviction": 5, "get nodes": 1, ...})
    proxy.stop()

The proxy terminates TLS with a server certificate of its own CA (made with
``cryptography`` at start, written to a temporary directory) and forwards every
request to the API server of the source kubeconfig's current context: with that
kubeconfig's CA and its client certificate, so the API server sees the same
user. A bearer token of the source kubeconfig (or of the client's own kubeconfig)
travels in the request's Authorization header. Responses are streamed chunk by
chunk, so watches work; request bodies (chunked or not) are read whole and sent
on with a Content-Length. Connection upgrades (exec, port-forward) are not
supported.

:meth:`FaultProxy.add_rule` chooses faults at run time. A rule matches on the
HTTP method(s), a regular expression searched in the path (and one in the
decoded query string); ``skip``, ``every`` and ``times`` choose which matches
it acts on; the first rule that acts on a request wins. Actions:

``429-apf``
    what kube-apiserver's API Priority and Fairness sends when it rejects a
    request: 429, ``Retry-After``, the ``X-Kubernetes-PF-*`` headers and the
    plain-text body "Too many requests, please try again later." (APF does not
    send a Status object);
``429-pdb``
    the eviction subresource's refusal by a PodDisruptionBudget: 429 with a
    Status whose cause is ``DisruptionBudget`` (the real server sends no
    ``Retry-After`` with it unless ``retry_after`` is given);
``500``, ``503``
    a Status object with reason InternalError or ServiceUnavailable;
``delay``
    wait ``seconds``, then forward (a slow API server);
``timeout``
    hold the request without an answer for ``seconds`` (by default until the
    client gives up or the proxy stops), then reset the connection; the request
    never reaches the API server;
``reset``
    reset the TCP connection (RST) before anything is forwarded;
``reset-after-upstream``
    forward the request, read the API server's answer, then reset the
    connection: the change happened, the client never hears of it.

Every request is recorded (:attr:`FaultProxy.records`): method, path, the verb
and resource as kube-apiserver would name them (``create pods/eviction``), the
status the client got, the rule that acted on it and how long it took.
"""

import asyncio
import base64
import collections
import json
import os
import re
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from urllib.parse import parse_qs

import aiohttp
import yaml
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from faults.certs import CertificateAuthority

ACTIONS = ("429-apf", "429-pdb", "500", "503", "delay", "timeout", "reset", "reset-after-upstream")
STATUS_ACTIONS = ("429-apf", "429-pdb", "500", "503")

# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business on each side; Host and
# Content-Length are set again for the upstream request.
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade"))

APF_MESSAGE = "Too many requests, please try again later.\n"
PDB_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
INJECTED = "injected by the fault proxy"


# --------------------------------------------------------------------------- request naming

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def request_key(method, path, query=""):
    """The verb and resource of a request as kube-apiserver's request info names them.

    ``GET /api/v1/pods?watch=true`` -> ``watch pods``; ``POST /api/v1/namespaces/a/pods/b/eviction`` ->
    ``create pods/eviction``; a path outside /api and /apis -> ``GET /healthz``.
    """
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        rest = parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        rest = parts[3:]
    else:
        return "%s %s" % (method, path or "/")
    watch_path = rest[:1] == ["watch"]
    if watch_path:
        rest = rest[1:]
    if not rest:
        return "%s %s" % (method, path)  # discovery of a group version
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        rest = rest[2:]  # a namespaced resource (a namespace's own subresources stay as they are)
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource = "%s/%s" % (resource, rest[2])
    if method in ("GET", "HEAD"):
        values = parse_qs(query or "").get("watch", [])
        if watch_path or (values and values[-1].lower() in ("true", "1")):
            verb = "watch"
        else:
            verb = "get" if name else "list"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return "%s %s" % (verb, resource)


# --------------------------------------------------------------------------- rules and records

class Rule(object):
    """One fault: which requests it acts on and what it does. See :meth:`FaultProxy.add_rule`."""

    def __init__(self, method, path, action, times=None, every=None, skip=0, query=None, seconds=None,
                 retry_after=None, message=None, name=None):
        if action not in ACTIONS:
            raise ValueError("unknown action %r: use one of %s" % (action, ", ".join(ACTIONS)))
        if action == "delay" and seconds is None:
            raise ValueError("the delay action needs seconds")
        for option, value in (("times", times), ("every", every)):
            if value is not None and value < 1:
                raise ValueError("%s must be at least 1, not %r" % (option, value))
        if isinstance(method, str):
            method = [method]
        self.methods = frozenset(m.upper() for m in method) if method else None
        self.path = re.compile(path) if path else None
        self.query = re.compile(query) if query else None
        self.action = action
        self.times = times
        self.every = every
        self.skip = skip or 0
        self.seconds = seconds
        if retry_after is None and action == "429-apf":
            retry_after = 1
        self.retry_after = retry_after
        self.message = message
        self.name = name or "%s %s %s" % (action, "/".join(sorted(self.methods)) if self.methods else "*",
                                          path or ".*")
        self.matched = 0  # requests the rule matched
        self.applied = 0  # requests it acted on

    def __repr__(self):
        return "<Rule %s: matched %d, applied %d>" % (self.name, self.matched, self.applied)

    def matches(self, method, path, query):
        return ((self.methods is None or method in self.methods)
                and (self.path is None or self.path.search(path) is not None)
                and (self.query is None or self.query.search(query or "") is not None))

    def take(self):
        """Count one matching request; True when the rule acts on it (caller holds the proxy's lock)."""
        self.matched += 1
        position = self.matched - self.skip
        if position < 1:
            return False
        if self.every and position % self.every:
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        self.applied += 1
        return True


class Record(object):
    """One request through the proxy."""

    __slots__ = ("method", "path", "query", "key", "started", "seconds", "status", "rule", "outcome")

    def __init__(self, method, path, query):
        self.method = method
        self.path = path
        self.query = query
        self.key = request_key(method, path, query)
        self.started = time.time()
        self.seconds = None
        self.status = None  # the HTTP status the client got; None when it got none
        self.rule = None  # name of the rule that acted on it
        self.outcome = "pending"  # forwarded, injected, reset, held, client gone, upstream error

    def finish(self, outcome, status=None):
        self.outcome = outcome
        if status is not None:
            self.status = status
        self.seconds = round(time.time() - self.started, 3)

    def as_dict(self):
        return dict((name, getattr(self, name)) for name in self.__slots__)

    def __repr__(self):
        return "<Record %s %s %s %s>" % (self.method, self.path, self.status, self.outcome)


# --------------------------------------------------------------------------- the source kubeconfig

class Upstream(object):
    """The API server and credentials of a kubeconfig's context, resolved to bytes and absolute paths."""

    def __init__(self, kubeconfig, context=None):
        if isinstance(kubeconfig, dict):
            config, base = kubeconfig, os.getcwd()
        else:
            with open(kubeconfig) as handle:
                config = yaml.safe_load(handle)
            base = os.path.dirname(os.path.abspath(kubeconfig))
        self.base = base
        context = context or config.get("current-context")
        entry = self._named(config, "contexts", context, "context")
        self.context = context
        self.cluster = dict(self._named(config, "clusters", entry.get("cluster"), "cluster"))
        self.user_name = entry.get("user")
        self.user = dict(self._named(config, "users", self.user_name, "user")) if self.user_name else {}
        self.namespace = entry.get("namespace")
        self.server = self.cluster["server"].rstrip("/")
        self.tls_server_name = self.cluster.get("tls-server-name")
        self.verify = not self.cluster.get("insecure-skip-tls-verify", False)
        self.ca_pem = self._material(self.cluster, "certificate-authority")
        self.cert_pem = self._material(self.user, "client-certificate")
        self.key_pem = self._material(self.user, "client-key")
        token = self.user.get("token")
        if not token and self.user.get("tokenFile"):
            with open(self._path(self.user["tokenFile"])) as handle:
                token = handle.read().strip()
        self.token = token
        self.basic = None
        if self.user.get("username") and self.user.get("password"):
            self.basic = base64.b64encode(("%s:%s" % (self.user["username"], self.user["password"])).encode())

    @staticmethod
    def _named(config, section, name, key):
        for item in config.get(section) or []:
            if item.get("name") == name:
                return item.get(key) or {}
        raise ValueError("the kubeconfig has no %s named %r" % (section[:-1], name))

    def _path(self, path):
        return path if os.path.isabs(path) else os.path.join(self.base, path)

    def _material(self, section, key):
        if section.get(key + "-data"):
            return base64.b64decode(section[key + "-data"])
        if section.get(key):
            with open(self._path(section[key]), "rb") as handle:
                return handle.read()
        return None

    def client_user(self):
        """The user entry for a kubeconfig written elsewhere: relative file paths made absolute."""
        user = dict(self.user)
        for key in ("client-certificate", "client-key", "tokenFile"):
            if user.get(key):
                user[key] = self._path(user[key])
        return user


def _write(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    return path


# --------------------------------------------------------------------------- event loop in a thread

class BackgroundLoop(object):
    """An asyncio event loop running in a daemon thread; :meth:`call` runs a coroutine there and waits."""

    def __init__(self, name="fault-proxy"):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self):
        self.thread.start()
        return self

    def call(self, coroutine, timeout=30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self):
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
        if not self.loop.is_running():
            self.loop.close()


# --------------------------------------------------------------------------- the proxy

def status_body(code, reason, message, details=None):
    """A Kubernetes Status object (kind Status, status Failure) as JSON bytes."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return json.dumps(body).encode()


class _Reset(Exception):
    """The handler reset the client's connection; there is no response to send."""


class FaultProxy(object):
    """The proxy. Use :meth:`start`/:meth:`stop` or ``with FaultProxy(...) as proxy``."""

    def __init__(self, kubeconfig, context=None, host="127.0.0.1", port=0, workdir=None, keep_workdir=False):
        self.upstream = Upstream(kubeconfig, context)
        self.host = host
        self.port = port
        self._own_workdir = workdir is None
        self.workdir = workdir
        self.keep_workdir = keep_workdir
        self.ca_pem = None
        self.ca_file = None
        self.kubeconfig = None
        self._lock = threading.Lock()
        self._rules = []
        self._records = []
        self._loop = None
        self._runner = None
        self._session = None
        self._upstream_ssl = None
        self._closing = None
        self._streams = set()

    # -- life cycle --------------------------------------------------------------

    def start(self):
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="nodeops-fault-proxy-")
        os.makedirs(self.workdir, exist_ok=True)
        authority = CertificateAuthority()
        self.ca_pem = authority.cert_pem
        self.ca_file = _write(os.path.join(self.workdir, "proxy-ca.crt"), authority.cert_pem, 0o644)
        cert_pem, key_pem = authority.issue("nodeops fault proxy", server=True, hosts=[self.host, "localhost"])
        server_ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ssl.load_cert_chain(_write(os.path.join(self.workdir, "proxy-server.crt"), cert_pem),
                                   _write(os.path.join(self.workdir, "proxy-server.key"), key_pem))
        self._upstream_ssl = self._upstream_context()
        self._loop = BackgroundLoop("fault-proxy-%s" % os.path.basename(self.workdir)).start()
        try:
            self.port = self._loop.call(self._start(server_ssl))
        except BaseException:
            self._loop.stop()
            raise
        self.kubeconfig = self.write_kubeconfig()
        return self

    def _upstream_context(self):
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if not self.upstream.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.upstream.ca_pem:
            context.load_verify_locations(cadata=self.upstream.ca_pem.decode())
        if self.upstream.cert_pem and self.upstream.key_pem:
            context.load_cert_chain(_write(os.path.join(self.workdir, "upstream-client.crt"), self.upstream.cert_pem),
                                    _write(os.path.join(self.workdir, "upstream-client.key"), self.upstream.key_pem))
        return context

    async def _start(self, server_ssl):
        self._closing = asyncio.Event()
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, sock_connect=15),
            connector=aiohttp.TCPConnector(ssl=self._upstream_ssl, limit=0))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that goes away (a watch closed, a timeout) ends its handler.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=server_ssl)
        await site.start()
        return self._runner.addresses[0][1]

    async def _stop(self):
        self._closing.set()  # held requests are reset now
        for transport in list(self._streams):  # open watches end now
            transport.abort()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def stop(self):
        if self._loop is not None:
            try:
                self._loop.call(self._stop())
            finally:
                self._loop.stop()
                self._loop = None
        if self._own_workdir and not self.keep_workdir and self.workdir and os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "https://%s:%d" % (self.host, self.port)

    # -- the client's kubeconfig -------------------------------------------------------

    def write_kubeconfig(self, path=None):
        """A kubeconfig whose cluster is the proxy (with the proxy's CA) and whose user is the source's.

        Written with mode 0600 (it holds the source's client key or token); returns its path.
        """
        path = path or os.path.join(self.workdir, "kubeconfig")
        context = {"cluster": "fault-proxy", "user": self.upstream.user_name or "fault-proxy-user"}
        if self.upstream.namespace:
            context["namespace"] = self.upstream.namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": "fault-proxy", "cluster": {
                "server": self.url,
                "certificate-authority-data": base64.b64encode(self.ca_pem).decode()}}],
            "users": [{"name": context["user"], "user": self.upstream.client_user()}],
            "contexts": [{"name": "fault-proxy", "context": context}],
            "current-context": "fault-proxy",
        }
        _write(path, yaml.safe_dump(config, default_flow_style=False, sort_keys=False))
        return path

    # -- rules and counters (called from the tests' thread) ---------------------------------

    def add_rule(self, method, path, action, **options):
        """Add a fault rule; returns the :class:`Rule` (its ``matched`` and ``applied`` counters are live).

        ``method``: "GET", ["POST", "PUT"] or None for any; ``path``: regular expression searched in the
        path; options: ``query`` (regular expression searched in the decoded query string), ``skip`` (let
        the first N matches pass), ``every`` (act on every Nth match after those), ``times`` (act at most
        N times), ``seconds`` (delay, timeout), ``retry_after`` (429, 500, 503), ``message`` (the Status
        message), ``name``.
        """
        rule = Rule(method, path, action, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    def retire(self, rule):
        """End a rule from now on (its counters stay): a fault that lasts from one step to another."""
        with self._lock:
            rule.times = rule.applied

    def clear(self):
        """Remove every rule and forget the recorded requests."""
        with self._lock:
            self._rules = []
            self._records = []

    def reset_counts(self):
        with self._lock:
            self._records = []

    @property
    def rules(self):
        with self._lock:
            return list(self._rules)

    @property
    def records(self):
        with self._lock:
            return list(self._records)

    def settle(self, timeout=10.0):
        """Wait until every recorded request is finished (a client can have its answer a moment before the
        proxy has noted it); returns False if some are still pending after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while any(record.outcome == "pending" for record in self.records):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def counts(self):
        """Requests per verb and resource: Counter({"list pods": 2, "create pods/eviction": 3, ...})."""
        return collections.Counter(record.key for record in self.records)

    def count(self, method=None, path=None, key=None):
        """Requests recorded with this method, path (regular expression searched) and key."""
        pattern = re.compile(path) if path else None
        return sum(1 for r in self.records
                   if (method is None or r.method == method) and (key is None or r.key == key)
                   and (pattern is None or pattern.search(r.path)))

    def statuses(self):
        """What the clients got: Counter({200: 12, 429: 3, "reset": 1, ...})."""
        return collections.Counter(r.status if r.status is not None else r.outcome for r in self.records)

    # -- request handling (the proxy's event loop) -------------------------------------------

    def _pick(self, record):
        with self._lock:
            self._records.append(record)
            for rule in self._rules:
                if rule.matches(record.method, record.path, record.query) and rule.take():
                    record.rule = rule.name
                    return rule
        return None

    async def _handle(self, request):
        # The decoded query (fieldSelector=spec.nodeName=w1), which rules and records read more easily.
        query = "&".join("%s=%s" % item for item in request.query.items())
        record = Record(request.method, request.path, query)
        rule = self._pick(record)
        try:
            if request.headers.get("Upgrade"):
                record.finish("injected", 501)
                return self._status_response(501, "NotImplemented",
                                             "the fault proxy does not forward connection upgrades")
            if rule is not None and rule.action in STATUS_ACTIONS:
                response = self._injected(rule)
                record.finish("injected", response.status)
                return response
            if rule is not None and rule.action in ("reset", "timeout"):
                # The whole request is read first: the client is waiting for its answer when the fault hits.
                await request.read()
            if rule is not None and rule.action == "reset":
                record.finish("reset")
                self._reset(request)
            if rule is not None and rule.action == "timeout":
                try:
                    await asyncio.wait_for(self._closing.wait(), rule.seconds)
                except asyncio.TimeoutError:
                    pass
                record.finish("held")
                self._reset(request)
            if rule is not None and rule.action == "delay":
                await asyncio.sleep(rule.seconds)
            return await self._forward(request, record, lose_answer=rule is not None
                                       and rule.action == "reset-after-upstream")
        except _Reset:
            # The transport is gone; aiohttp finds nothing to write to.
            raise asyncio.CancelledError()
        except asyncio.CancelledError:
            if record.outcome == "pending":
                record.finish("held until the client gave up" if rule is not None and rule.action == "timeout"
                              else "client gone")
            raise

    @staticmethod
    def _reset(request):
        """Close the client's TCP connection with a RST (SO_LINGER 0), without a TLS close_notify."""
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            transport.abort()
        raise _Reset()

    @staticmethod
    def _status_response(code, reason, message, details=None, headers=None):
        return web.Response(status=code, body=status_body(code, reason, message, details),
                            content_type="application/json", headers=headers)

    def _injected(self, rule):
        headers = {"X-Fault-Proxy-Rule": rule.name}
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        if rule.action == "429-apf":
            headers.update({"X-Content-Type-Options": "nosniff",
                            "X-Kubernetes-PF-FlowSchema-UID": "fault-proxy-flowschema",
                            "X-Kubernetes-PF-PriorityLevel-UID": "fault-proxy-prioritylevel"})
            return web.Response(status=429, text=rule.message or APF_MESSAGE, content_type="text/plain",
                                charset="utf-8", headers=headers)
        if rule.action == "429-pdb":
            details = {"causes": [{"reason": "DisruptionBudget", "message": "The disruption budget fault-proxy needs 2 "
                                   "healthy pods and has 2 currently (%s)" % INJECTED}]}
            if rule.retry_after:
                details["retryAfterSeconds"] = int(rule.retry_after)
            return self._status_response(429, "TooManyRequests", rule.message or PDB_MESSAGE, details, headers)
        if rule.action == "500":
            cause = rule.message or INJECTED
            return self._status_response(500, "InternalError", "Internal error occurred: %s" % cause,
                                         {"causes": [{"message": cause}]}, headers)
        return self._status_response(503, "ServiceUnavailable", rule.message or
                                     "the API server is unavailable (%s)" % INJECTED, None, headers)

    async def _forward(self, request, record, lose_answer=False):
        headers = CIMultiDict()
        for name, value in request.headers.items():
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("host", "content-length"):
                headers.add(name, value)
        if "Authorization" not in headers:
            if self.upstream.token:
                headers["Authorization"] = "Bearer %s" % self.upstream.token
            elif self.upstream.basic:
                headers["Authorization"] = "Basic %s" % self.upstream.basic.decode()
        body = await request.read() if request.body_exists else None
        url = URL(self.upstream.server + request.raw_path, encoded=True)
        try:
            # A body without a Content-Type stays without one: kube-apiserver reads it as JSON, as the
            # kubernetes client (which sends none on evictions) expects; aiohttp would call it octet-stream.
            skip = () if "Content-Type" in headers else ("Content-Type",)
            upstream = await self._session.request(request.method, url, headers=headers, data=body,
                                                   allow_redirects=False, skip_auto_headers=skip,
                                                   server_hostname=self.upstream.tls_server_name)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            record.finish("upstream error", 502)
            return self._status_response(502, "BadGateway", "the fault proxy cannot reach the API server %s: %s"
                                         % (self.upstream.server, exc))
        async with upstream:
            if lose_answer:
                await upstream.read()
                record.finish("reset after upstream %d" % upstream.status)
                self._reset(request)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            transport = request.transport
            if transport is not None:
                self._streams.add(transport)
            try:
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except (ConnectionError, aiohttp.ClientConnectionResetError):
                record.finish("client gone", upstream.status)
                return response
            except aiohttp.ClientPayloadError:
                # The API server broke the stream: so does the proxy, the client must not see a clean end.
                record.finish("upstream broke the stream", upstream.status)
                self._reset(request)
            finally:
                self._streams.discard(transport)
            record.finish("forwarded", upstream.status)
            return response

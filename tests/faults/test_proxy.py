"""The fault proxy against a small local HTTPS API server (no lab needed).

The fake API server has its own CA, asks for a client certificate (and can
require one), and answers: a Node at /api/v1/nodes/<name>, an echo of the
request at /echo, a gzip body at /gzip, a watch stream of three events at
/api/v1/pods?watch=true and, for any other path, a 200 naming the path.
Every answer says which client certificate and Authorization header it saw.
"""

import asyncio
import base64
import gzip
import json
import os
import socket
import ssl
import threading
import sys
import time

import pytest
import urllib3
import yaml
from aiohttp import web

from faults.certs import CertificateAuthority
from faults.proxy import ACTIONS, BackgroundLoop, FaultProxy, Rule, request_key

WATCH_GAP = 0.3
# What urllib3 raises for a connection broken under it: a reset read (ProtocolError) or, when the RST
# meets the TLS layer first, an unexpected EOF (SSLError).
BROKEN = (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError)


# ---------------------------------------------------------------- the fake API server

class FakeApiServer(object):
    """An aiohttp HTTPS server in a thread of its own; ``seen`` lists (method, path, user) it was sent."""

    def __init__(self, workdir, require_client_cert=False):
        self.workdir = workdir
        self.authority = CertificateAuthority("fake API server CA")
        self.client_authority = CertificateAuthority("fake client CA")
        self.require_client_cert = require_client_cert
        self.seen = []
        self.port = None
        self.loop = None
        self.runner = None

    def path(self, name, data):
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def start(self):
        cert, key = self.authority.issue("fake-apiserver", server=True, hosts=["127.0.0.1", "localhost"])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.path("server.crt", cert), self.path("server.key", key))
        context.load_verify_locations(cadata=self.client_authority.cert_pem.decode())
        context.verify_mode = ssl.CERT_REQUIRED if self.require_client_cert else ssl.CERT_OPTIONAL
        self.loop = BackgroundLoop("fake-apiserver").start()
        self.port = self.loop.call(self._start(context))
        return self

    async def _start(self, context):
        app = web.Application()
        app.router.add_get("/api/v1/nodes/{name}", self.node)
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_get("/gzip", self.gzipped)
        app.router.add_get("/api/v1/pods", self.pods)
        app.router.add_route("*", "/{tail:.*}", self.anything)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        return self.runner.addresses[0][1]

    def stop(self):
        self.loop.call(self.runner.cleanup())
        self.loop.stop()

    # -- handlers --------------------------------------------------------------

    def _user(self, request):
        cert = request.transport.get_extra_info("peercert") if request.transport else None
        if not cert:
            return "anonymous"
        subject = dict(item[0] for item in cert["subject"])
        return subject.get("commonName")

    def _seen(self, request):
        user = self._user(request)
        self.seen.append((request.method, request.path_qs, user))
        return {"X-Seen-User": user, "X-Seen-Authorization": request.headers.get("Authorization", "")}

    async def node(self, request):
        headers = self._seen(request)
        return web.json_response({"apiVersion": "v1", "kind": "Node",
                                  "metadata": {"name": request.match_info["name"], "uid": "uid-1"},
                                  "spec": {"unschedulable": True}}, headers=headers)

    async def echo(self, request):
        headers = self._seen(request)
        body = await request.read()
        return web.json_response({"method": request.method, "body": body.decode(),
                                  "content_type": request.headers.get("Content-Type"),
                                  "transfer_encoding": request.headers.get("Transfer-Encoding"),
                                  "content_length": request.headers.get("Content-Length"),
                                  "custom": request.headers.get("X-Custom")}, headers=headers)

    async def gzipped(self, request):
        headers = self._seen(request)
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=gzip.compress(b'{"compressed": true}'), content_type="application/json",
                            headers=headers)

    async def pods(self, request):
        headers = self._seen(request)
        if request.query.get("watch") not in ("true", "1"):
            return web.json_response({"kind": "PodList", "items": []}, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.content_type = "application/json"
        await response.prepare(request)
        for number in range(3):
            event = {"type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": "p%d" % number}}}
            await response.write(json.dumps(event).encode() + b"\n")
            await asyncio.sleep(WATCH_GAP)
        await response.write_eof()
        return response

    async def anything(self, request):
        headers = self._seen(request)
        await request.read()
        return web.json_response({"path": request.path, "method": request.method}, headers=headers)


def write_source_kubeconfig(api, directory, user="cert", files=False):
    """A kubeconfig for the fake API server: a client certificate (embedded, or files next to it) or a token."""
    cluster = {"server": "https://127.0.0.1:%d" % api.port,
               "certificate-authority-data": base64.b64encode(api.authority.cert_pem).decode()}
    if user == "cert":
        cert, key = api.client_authority.issue("fault-test-admin", server=False, organizations=["system:masters"])
        if files:
            for name, data in (("admin.crt", cert), ("admin.key", key)):
                with open(os.path.join(directory, name), "wb") as handle:
                    handle.write(data)
            entry = {"client-certificate": "admin.crt", "client-key": "admin.key"}
        else:
            entry = {"client-certificate-data": base64.b64encode(cert).decode(),
                     "client-key-data": base64.b64encode(key).decode()}
    else:
        entry = {"token": "source-token"}
    config = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "fake", "cluster": cluster}],
              "users": [{"name": "admin", "user": entry}],
              "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "admin"}}],
              "current-context": "fake"}
    path = os.path.join(directory, "source-kubeconfig")
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)
    return path


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = FakeApiServer(str(tmp_path_factory.mktemp("fake-api"))).start()
    yield server
    server.stop()


@pytest.fixture
def proxy(api, tmp_path):
    with FaultProxy(write_source_kubeconfig(api, str(tmp_path))) as started:
        api.seen.clear()
        yield started


def client(proxy, read=10.0):
    return urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=proxy.ca_file, retries=False,
                               timeout=urllib3.Timeout(connect=5, read=read))


def get(proxy, path, method="GET", read=10.0, **kwargs):
    return client(proxy, read).request(method, proxy.url + path, **kwargs)


# ---------------------------------------------------------------- forwarding

def test_a_get_is_forwarded_with_the_client_certificate_of_the_source_kubeconfig(api, proxy):
    response = get(proxy, "/api/v1/nodes/x")
    assert response.status == 200
    assert json.loads(response.data)["metadata"]["name"] == "x"
    assert response.headers["X-Seen-User"] == "fault-test-admin"
    assert api.seen == [("GET", "/api/v1/nodes/x", "fault-test-admin")]
    assert proxy.settle()
    [record] = proxy.records
    assert (record.method, record.path, record.key, record.status, record.outcome, record.rule) \
        == ("GET", "/api/v1/nodes/x", "get nodes", 200, "forwarded", None)


def test_the_query_string_reaches_the_api_server_byte_for_byte(api, proxy):
    path = "/api/v1/anything?fieldSelector=spec.nodeName%3Dlab-worker1&limit=500&labelSelector=a%20in%20(b)"
    assert get(proxy, path).status == 200
    assert api.seen[-1][1] == path


def test_a_post_body_and_its_headers_reach_the_api_server_unchanged(api, proxy):
    body = json.dumps({"kind": "Eviction", "metadata": {"name": "p"}})
    headers = {"Content-Type": "application/json", "X-Custom": "kept"}
    response = get(proxy, "/echo", "POST", body=body, headers=headers)
    echoed = json.loads(response.data)
    assert (echoed["method"], echoed["body"], echoed["content_type"], echoed["custom"]) \
        == ("POST", body, "application/json", "kept")


def test_a_body_without_a_content_type_is_forwarded_without_one(api, proxy):
    """The kubernetes client sends evictions with no Content-Type; kube-apiserver then reads JSON."""
    body = json.dumps({"kind": "Eviction", "metadata": {"name": "p"}})
    response = get(proxy, "/echo", "POST", body=body)
    echoed = json.loads(response.data)
    assert (echoed["body"], echoed["content_type"]) == (body, None)


def test_a_chunked_request_body_is_forwarded_whole(api, proxy):
    parts = [b'{"part": 1,', b' "part2": ', b'"end"}']
    response = client(proxy).request("PATCH", proxy.url + "/echo", body=iter(parts), chunked=True,
                                     headers={"Content-Type": "application/merge-patch+json"})
    echoed = json.loads(response.data)
    assert echoed["method"] == "PATCH"
    assert echoed["body"] == b"".join(parts).decode()
    assert echoed["content_length"] == str(len(b"".join(parts)))


def test_a_gzip_answer_passes_through_still_compressed(api, proxy):
    response = get(proxy, "/gzip", headers={"Accept-Encoding": "gzip"}, decode_content=False,
                   preload_content=True)
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.data)) == {"compressed": True}


def test_a_watch_is_streamed_event_by_event(api, proxy):
    started = time.monotonic()
    response = client(proxy).request("GET", proxy.url + "/api/v1/pods?watch=true", preload_content=False)
    arrivals = []
    buffered = b""
    for chunk in response.stream(1024):
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            arrivals.append((json.loads(line)["object"]["metadata"]["name"], time.monotonic() - started))
    assert [name for name, _at in arrivals] == ["p0", "p1", "p2"]
    # The first event arrives before the API server has finished the stream, not all at the end.
    assert arrivals[0][1] < arrivals[2][1] - WATCH_GAP
    assert proxy.records[0].key == "watch pods"


def test_a_token_of_the_source_kubeconfig_is_sent_when_the_client_sends_none(api, tmp_path):
    with FaultProxy(write_source_kubeconfig(api, str(tmp_path), user="token")) as token_proxy:
        response = get(token_proxy, "/api/v1/nodes/x")
        assert response.headers["X-Seen-Authorization"] == "Bearer source-token"
        assert response.headers["X-Seen-User"] == "anonymous"
        response = get(token_proxy, "/api/v1/nodes/x", headers={"Authorization": "Bearer the-clients"})
        assert response.headers["X-Seen-Authorization"] == "Bearer the-clients"


def test_an_api_server_that_requires_a_client_certificate_gets_the_source_one(tmp_path):
    strict = FakeApiServer(str(tmp_path), require_client_cert=True).start()
    try:
        with FaultProxy(write_source_kubeconfig(strict, str(tmp_path), files=True)) as strict_proxy:
            response = get(strict_proxy, "/api/v1/nodes/y")
            assert response.status == 200
            assert response.headers["X-Seen-User"] == "fault-test-admin"
    finally:
        strict.stop()


def test_an_api_server_that_cannot_be_reached_is_a_502_status(tmp_path, api):
    source = write_source_kubeconfig(api, str(tmp_path))
    with open(source) as handle:
        config = yaml.safe_load(handle)
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % unused_port()
    with FaultProxy(config) as dead:
        response = get(dead, "/api/v1/nodes/x")
        body = json.loads(response.data)
        assert (response.status, body["kind"], body["reason"]) == (502, "Status", "BadGateway")
        assert "cannot reach the API server" in body["message"]
        assert dead.settle()
        assert dead.records[0].outcome == "upstream error"


def unused_port():
    """A port that nothing listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# ---------------------------------------------------------------- fault actions

def test_an_apf_rejection_looks_like_kube_apiserver_s(api, proxy):
    proxy.add_rule("POST", r"/eviction$", "429-apf")
    response = get(proxy, "/api/v1/namespaces/a/pods/p/eviction", "POST", body=b"{}")
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-Kubernetes-PF-FlowSchema-UID"]
    assert response.headers["X-Kubernetes-PF-PriorityLevel-UID"]
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.data == b"Too many requests, please try again later.\n"
    assert api.seen == []


def test_a_budget_refusal_is_the_eviction_subresource_s_status(api, proxy):
    proxy.add_rule("POST", r"/eviction$", "429-pdb")
    response = get(proxy, "/api/v1/namespaces/a/pods/p/eviction", "POST", body=b"{}")
    body = json.loads(response.data)
    assert response.status == 429
    assert "Retry-After" not in response.headers  # the real server sends none with this refusal
    assert (body["kind"], body["status"], body["reason"], body["code"]) == ("Status", "Failure", "TooManyRequests", 429)
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"][0]["reason"] == "DisruptionBudget"


def test_a_budget_refusal_can_carry_a_retry_after(proxy):
    proxy.add_rule("POST", r"/eviction$", "429-pdb", retry_after=10)
    response = get(proxy, "/api/v1/namespaces/a/pods/p/eviction", "POST", body=b"{}")
    assert response.headers["Retry-After"] == "10"
    assert json.loads(response.data)["details"]["retryAfterSeconds"] == 10


@pytest.mark.parametrize("action, reason", [("500", "InternalError"), ("503", "ServiceUnavailable")])
def test_server_errors_are_status_objects(api, proxy, action, reason):
    proxy.add_rule(None, r"^/api/v1/pods$", action, message="disk on fire")
    response = get(proxy, "/api/v1/pods")
    body = json.loads(response.data)
    assert response.status == int(action)
    assert (body["kind"], body["reason"], body["code"]) == ("Status", reason, int(action))
    assert "disk on fire" in body["message"]
    assert "Retry-After" not in response.headers
    assert api.seen == []
    assert proxy.settle()
    assert proxy.records[0].outcome == "injected"


def test_a_delay_slows_the_answer_and_still_forwards(api, proxy):
    proxy.add_rule("GET", r"^/api/v1/nodes/", "delay", seconds=0.6)
    started = time.monotonic()
    response = get(proxy, "/api/v1/nodes/x")
    assert response.status == 200
    assert time.monotonic() - started >= 0.6
    assert len(api.seen) == 1
    assert proxy.settle()
    assert proxy.records[0].seconds >= 0.6


def test_a_timeout_holds_the_request_until_the_client_gives_up(api, proxy):
    rule = proxy.add_rule("POST", r"/eviction$", "timeout")
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        get(proxy, "/api/v1/namespaces/a/pods/p/eviction", "POST", body=b"{}", read=0.5)
    assert 0.5 <= time.monotonic() - started < 5
    assert rule.applied == 1
    assert api.seen == []
    assert proxy.settle()
    assert proxy.records[0].outcome == "held until the client gave up"


def test_a_retired_rule_lets_the_next_requests_through_and_keeps_its_counts(api, proxy):
    rule = proxy.add_rule("GET", r"^/api/v1/nodes/x$", "503")
    assert get(proxy, "/api/v1/nodes/x").status == 503
    assert get(proxy, "/api/v1/nodes/x").status == 503
    proxy.retire(rule)
    assert get(proxy, "/api/v1/nodes/x").status == 200
    assert (rule.matched, rule.applied) == (3, 2)
    assert proxy.rules == [rule]


def test_a_timeout_with_seconds_resets_the_connection_then(api, proxy):
    proxy.add_rule("GET", None, "timeout", seconds=0.4)
    started = time.monotonic()
    with pytest.raises(BROKEN):
        get(proxy, "/api/v1/nodes/x", read=10)
    assert 0.4 <= time.monotonic() - started < 5
    assert proxy.settle()
    assert proxy.records[0].outcome == "held"
    assert api.seen == []


def test_a_held_request_does_not_hold_up_the_proxy_s_stop(api, tmp_path):
    held = FaultProxy(write_source_kubeconfig(api, str(tmp_path))).start()
    held.add_rule(None, None, "timeout")
    errors = []

    def call():
        try:
            get(held, "/api/v1/nodes/x", read=30)
        except urllib3.exceptions.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    wait_until(lambda: held.records)
    started = time.monotonic()
    held.stop()
    assert time.monotonic() - started < 5
    thread.join(10)
    assert errors and not thread.is_alive()


def test_a_reset_breaks_the_connection_before_anything_is_forwarded(api, proxy):
    proxy.add_rule("POST", r"/eviction$", "reset")
    with pytest.raises(BROKEN):
        get(proxy, "/api/v1/namespaces/a/pods/p/eviction", "POST", body=b"{}")
    assert api.seen == []
    assert proxy.settle()
    assert (proxy.records[0].outcome, proxy.records[0].status) == ("reset", None)
    assert proxy.statuses() == {"reset": 1}


def test_a_reset_after_upstream_loses_an_answer_the_api_server_gave(api, proxy):
    proxy.add_rule("POST", r"/eviction$", "reset-after-upstream")
    with pytest.raises(BROKEN):
        get(proxy, "/api/v1/namespaces/a/pods/p/eviction", "POST", body=b"{}")
    assert [(method, path) for method, path, _user in api.seen] == [("POST", "/api/v1/namespaces/a/pods/p/eviction")]
    assert proxy.settle()
    assert proxy.records[0].outcome == "reset after upstream 200"


def test_the_proxy_keeps_serving_after_a_reset(api, proxy):
    proxy.add_rule("GET", r"/nodes/broken$", "reset")
    pool = client(proxy)
    with pytest.raises(BROKEN):
        pool.request("GET", proxy.url + "/api/v1/nodes/broken")
    assert pool.request("GET", proxy.url + "/api/v1/nodes/fine").status == 200


# ---------------------------------------------------------------- which requests a rule acts on

def statuses_of(proxy, count, path="/api/v1/nodes/x", method="GET"):
    pool = client(proxy)
    return [pool.request(method, proxy.url + path).status for _attempt in range(count)]


def test_times_acts_on_the_first_n_matches_only(proxy):
    rule = proxy.add_rule("GET", r"/nodes/", "503", times=2)
    assert statuses_of(proxy, 4) == [503, 503, 200, 200]
    assert (rule.matched, rule.applied) == (4, 2)


def test_every_acts_on_every_nth_match(proxy):
    proxy.add_rule("GET", r"/nodes/", "500", every=3)
    assert statuses_of(proxy, 7) == [200, 200, 500, 200, 200, 500, 200]


def test_skip_lets_the_first_matches_pass(proxy):
    proxy.add_rule("GET", r"/nodes/", "500", skip=2, times=1)
    assert statuses_of(proxy, 4) == [200, 200, 500, 200]


def test_a_rule_matches_on_method_path_and_query(proxy):
    proxy.add_rule(["POST", "PUT"], r"^/api/v1/pods$", "503", query=r"fieldSelector=spec\.nodeName=w1")
    pool = client(proxy)
    url = proxy.url + "/api/v1/pods"
    assert pool.request("GET", url + "?fieldSelector=spec.nodeName%3Dw1").status == 200
    assert pool.request("POST", url + "?fieldSelector=spec.nodeName%3Dw2", body=b"{}").status == 200
    assert pool.request("POST", url + "?fieldSelector=spec.nodeName%3Dw1", body=b"{}").status == 503
    assert pool.request("PUT", url + "?fieldSelector=spec.nodeName%3Dw1", body=b"{}").status == 503


def test_the_first_rule_that_acts_wins_and_later_rules_do_not_see_the_request(proxy):
    first = proxy.add_rule("GET", r"/nodes/", "500", times=1)
    second = proxy.add_rule("GET", r"/nodes/", "503")
    assert statuses_of(proxy, 3) == [500, 503, 503]
    assert (first.matched, first.applied, second.matched, second.applied) == (3, 1, 2, 2)


def test_clear_removes_the_rules_and_the_counts(proxy):
    proxy.add_rule(None, None, "500")
    statuses_of(proxy, 2)
    assert proxy.count() == 2
    proxy.clear()
    assert proxy.rules == [] and proxy.records == []
    assert statuses_of(proxy, 1) == [200]


def test_requests_are_counted_per_verb_and_resource(proxy):
    pool = client(proxy)
    pool.request("GET", proxy.url + "/api/v1/nodes/x")
    pool.request("GET", proxy.url + "/api/v1/nodes/y")
    pool.request("POST", proxy.url + "/api/v1/namespaces/a/pods/p/eviction", body=b"{}")
    pool.request("GET", proxy.url + "/api/v1/pods?fieldSelector=spec.nodeName%3Dw1")
    assert proxy.counts() == {"get nodes": 2, "create pods/eviction": 1, "list pods": 1}
    assert proxy.count(method="GET") == 3
    assert proxy.count(path=r"/eviction$") == 1
    assert proxy.count(key="get nodes") == 2


@pytest.mark.parametrize("method, path, query, key", [
    ("GET", "/api/v1/nodes/w1", "", "get nodes"),
    ("GET", "/api/v1/nodes", "", "list nodes"),
    ("PATCH", "/api/v1/nodes/w1", "", "patch nodes"),
    ("GET", "/api/v1/pods", "fieldSelector=spec.nodeName=w1&limit=500", "list pods"),
    ("GET", "/api/v1/pods", "watch=true", "watch pods"),
    ("GET", "/api/v1/watch/pods", "", "watch pods"),
    ("GET", "/api/v1/namespaces/a/pods/p", "", "get pods"),
    ("POST", "/api/v1/namespaces/a/pods/p/eviction", "", "create pods/eviction"),
    ("DELETE", "/api/v1/namespaces/a/pods/p", "", "delete pods"),
    ("DELETE", "/api/v1/namespaces/a/pods", "", "deletecollection pods"),
    ("GET", "/apis/apps/v1/namespaces/a/daemonsets/d", "", "get daemonsets"),
    ("GET", "/apis/policy/v1/namespaces/a/poddisruptionbudgets", "", "list poddisruptionbudgets"),
    ("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/w1", "", "get leases"),
    ("GET", "/api/v1/namespaces/a", "", "get namespaces"),
    ("PUT", "/api/v1/namespaces/a/finalize", "", "update namespaces/finalize"),
    ("GET", "/apis/apps/v1", "", "GET /apis/apps/v1"),
    ("GET", "/readyz", "", "GET /readyz"),
])
def test_request_keys_name_the_verb_and_resource_like_the_api_server(method, path, query, key):
    assert request_key(method, path, query) == key


@pytest.mark.parametrize("kwargs, error", [
    (dict(action="explode"), "unknown action 'explode'"),
    (dict(action="delay"), "the delay action needs seconds"),
    (dict(action="500", times=0), "times must be at least 1"),
    (dict(action="500", every=0), "every must be at least 1"),
])
def test_invalid_rules_are_refused(kwargs, error):
    with pytest.raises(ValueError) as caught:
        Rule("GET", None, **kwargs)
    assert error in str(caught.value)


def test_every_action_is_covered_here():
    covered = {"429-apf", "429-pdb", "500", "503", "delay", "timeout", "reset", "reset-after-upstream"}
    assert set(ACTIONS) == covered


# ---------------------------------------------------------------- the kubeconfig for clients

def test_the_kubeconfig_points_at_the_proxy_with_its_ca_and_keeps_the_user(api, proxy, tmp_path):
    config = yaml.safe_load(open(proxy.kubeconfig))
    source = yaml.safe_load(open(os.path.join(str(tmp_path), "source-kubeconfig")))
    [cluster] = config["clusters"]
    assert cluster["cluster"]["server"] == proxy.url == "https://127.0.0.1:%d" % proxy.port
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == open(proxy.ca_file, "rb").read()
    assert config["users"] == source["users"]
    assert config["current-context"] == "fault-proxy"
    assert oct(os.stat(proxy.kubeconfig).st_mode & 0o777) == "0o600"


def test_relative_certificate_paths_of_the_source_are_made_absolute(api, tmp_path):
    with FaultProxy(write_source_kubeconfig(api, str(tmp_path), files=True)) as file_proxy:
        user = yaml.safe_load(open(file_proxy.kubeconfig))["users"][0]["user"]
        assert user == {"client-certificate": os.path.join(str(tmp_path), "admin.crt"),
                        "client-key": os.path.join(str(tmp_path), "admin.key")}
        assert get(file_proxy, "/api/v1/nodes/x").headers["X-Seen-User"] == "fault-test-admin"


def test_the_kubernetes_client_reads_a_node_through_the_proxy(api, proxy):
    from kubernetes import client as k8s, config as k8s_config  # pylint: disable=import-outside-toplevel
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=proxy.kubeconfig))
    node = core.read_node("x")
    assert (node.metadata.name, node.spec.unschedulable) == ("x", True)
    assert api.seen[-1] == ("GET", "/api/v1/nodes/x", "fault-test-admin")
    assert proxy.counts() == {"get nodes": 1}


def test_the_kubernetes_client_sees_an_injected_status(api, proxy):
    from kubernetes import client as k8s, config as k8s_config  # pylint: disable=import-outside-toplevel
    from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel
    proxy.add_rule("POST", r"/eviction$", "429-pdb")
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=proxy.kubeconfig))
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name="p", namespace="a"))
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod_eviction("p", "a", body)
    assert caught.value.status == 429
    assert json.loads(caught.value.body)["message"] \
        == "Cannot evict pod as it would violate the pod's disruption budget."


# ---------------------------------------------------------------- helpers

def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


# ---------------------------------------------------------------- what the client does before its caller sees a fault

@pytest.mark.parametrize("method, action, options, requests, status", [
    ("GET", "503", {}, 1, 503),
    ("GET", "503", {"retry_after": 1}, 4, 503),
    ("GET", "429-apf", {}, 4, 429),
    ("GET", "500", {}, 1, 500),
    ("GET", "reset", {}, 4, None),
    ("POST", "429-apf", {}, 1, 429),
    ("POST", "reset", {}, 1, None),
], ids=["GET 503 is not retried", "GET 503 with Retry-After is tried 4 times", "GET 429 (APF) is tried 4 times",
        "GET 500 is not retried", "GET reset is tried 4 times", "POST 429 is not retried",
        "POST reset is not retried"])
def test_the_kubernetes_client_retries_only_reads_and_only_with_retry_after_or_a_broken_connection(
        api, proxy, method, action, options, requests, status):
    """urllib3's default Retry (3 retries, Retry-After respected) under the kubernetes client: what a drain sees
    of a fault depends on it, so the fault table is read with it (docs/reliability.md)."""
    from kubernetes import client as k8s, config as k8s_config  # pylint: disable=import-outside-toplevel
    from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel
    proxy.add_rule(None, None, action, **options)
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=proxy.kubeconfig))
    with pytest.raises((ApiException, urllib3.exceptions.HTTPError)) as caught:
        if method == "GET":
            core.read_node("x", _request_timeout=(10, 60))
        else:
            core.create_namespaced_pod_eviction("p", "a", k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name="p")),
                                                _request_timeout=(10, 60))
    assert getattr(caught.value, "status", None) == status
    assert proxy.count() == requests
    assert api.seen == []


# ---------------------------------------------------------------- the command-line wrapper

# Clients run as the wrapper's command, through the kubeconfig it is given: an HTTP pool on its CA and
# ``url``, the Node w2.
CLIENT_SETUP = r"""
import base64, sys, tempfile, time, urllib3, yaml
config = yaml.safe_load(open(sys.argv[1]))
cluster = config["clusters"][0]["cluster"]
ca = tempfile.NamedTemporaryFile(suffix=".crt", delete=False)
ca.write(base64.b64decode(cluster["certificate-authority-data"]))
ca.close()
http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca.name, retries=False)
url = cluster["server"] + "/api/v1/nodes/w2"
"""
# two GETs of the Node
CLIENT = CLIENT_SETUP + r"""
statuses = [http.request("GET", url).status for _ in range(2)]
sys.exit(0 if statuses == [503, 200] else 3)
"""


def test_the_wrapper_runs_a_command_through_the_proxy_and_reports_the_faults(api, tmp_path, capsys):
    from faults import through_proxy

    result_file = str(tmp_path / "result.json")
    rule = json.dumps({"method": "GET", "path": "^/api/v1/nodes/w2$", "action": "503", "times": 1})
    rc = through_proxy.main(["--kubeconfig", write_source_kubeconfig(api, str(tmp_path)), "--rule", rule,
                             "--result", result_file, "--", sys.executable, "-c", CLIENT, "{kubeconfig}"])
    assert rc == 0
    with open(result_file) as handle:
        result = json.load(handle)
    assert result["rc"] == 0 and result["requests"] == {"get nodes": 2}
    assert result["statuses"] == {"200": 1, "503": 1}
    assert result["rules"] == [{"method": "GET", "path": "^/api/v1/nodes/w2$", "action": "503", "times": 1,
                                "matched": 2, "applied": 1}]
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result


def test_the_wrapper_refuses_a_rule_without_an_action(tmp_path, capsys):
    from faults import through_proxy

    with pytest.raises(SystemExit):
        through_proxy.main(["--kubeconfig", "k", "--rule", '{"method": "GET", "path": "x"}',
                            "--result", str(tmp_path / "r"), "--", "true"])
    assert "a rule is a JSON object with method, path, action" in capsys.readouterr().err


# a GET, a task's banner, then GETs until one is refused
BANNER_CLIENT = CLIENT_SETUP + r"""
before = http.request("GET", url).status
print("TASK [Read node w2 again] ***", flush=True)
after = []
for _ in range(100):  # the wrapper adds the rule once it has read the banner
    after.append(http.request("GET", url).status)
    if after[-1] == 503:
        break
    time.sleep(0.05)
sys.exit(0 if before == 200 and after[-1] == 503 else 3)
"""


def test_a_rule_at_a_task_starts_when_the_command_prints_that_task_s_banner(api, tmp_path):
    from faults import through_proxy

    result_file = str(tmp_path / "result.json")
    at_banner = json.dumps({"method": "GET", "path": "^/api/v1/nodes/w2$", "action": "503",
                            "at_task": "Read node w2 again"})
    never = json.dumps({"method": "GET", "path": "^/api/v1/nodes/w2$", "action": "500", "at_task": "Uncordon"})
    rc = through_proxy.main(["--kubeconfig", write_source_kubeconfig(api, str(tmp_path)), "--rule", at_banner,
                             "--rule", never, "--result", result_file, "--",
                             sys.executable, "-c", BANNER_CLIENT, "{kubeconfig}"])
    with open(result_file) as handle:
        result = json.load(handle)
    assert rc == 0 == result["rc"]
    first, second = result["rules"]
    assert first["at_task"] == "Read node w2 again" and first["applied"] == 1
    assert first["matched"] >= 1 and result["statuses"]["200"] >= 1
    assert second == dict(json.loads(never), matched=0, applied=0, never_added=True)
    assert result["not_ran"] == ["Uncordon"]


def test_run_command_merges_the_output_and_names_the_tasks_that_never_ran():
    from faults.through_proxy import run_command

    seen = []
    script = "import sys; print('TASK [Drain node w1] ***'); print('oops', file=sys.stderr); sys.exit(4)"
    rc, output, not_ran = run_command([sys.executable, "-c", script],
                                      at_task={"Drain node": lambda: seen.append("drain"),
                                               "Uncordon": lambda: seen.append("uncordon")})
    assert rc == 4
    assert "TASK [Drain node w1]" in output and "oops" in output
    assert seen == ["drain"] and not_ran == ["Uncordon"]

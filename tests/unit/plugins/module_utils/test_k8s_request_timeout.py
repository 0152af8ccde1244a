"""Every request of the collection's API client has a timeout: an API server that accepts a request and never
answers must fail the task with a clear error, not hold it (and the rollout) forever."""

import socket
import threading
import time

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_client import make_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import RestClient


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections, reads what it is sent and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection = listener.accept()[0]
            except socket.timeout:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % listener.getsockname()[1], held
    stop.set()
    thread.join(2)
    for connection in held:
        connection.close()
    listener.close()


def test_a_request_that_gets_no_answer_fails_after_the_default_timeout(silent_server, monkeypatch):
    url, held = silent_server
    monkeypatch.setattr(_k8s, "REQUEST_TIMEOUT", (1, 0.5))
    client = _k8s.get_api_client({"host": url, "api_key": "t"})
    started = time.monotonic()
    with pytest.raises(NodeOpsError) as caught:
        try:
            RestClient(client).request("GET", "/api/v1/nodes/w1")
        except Exception as exc:  # pylint: disable=broad-except
            _k8s.raise_for_api_error(exc, 'read node "w1"', {"host": url})
    elapsed = time.monotonic() - started
    assert held, "the request never reached the server"
    assert caught.value.details.get("api_unreachable") is True
    assert 'read node "w1": cannot reach the Kubernetes API server (%s)' % url in caught.value.message
    assert "timed out" in caught.value.message.lower()
    # The client's own retries of a read (three by default) each wait 0.5 s; without the default: forever.
    assert elapsed < 10, elapsed


class RecordingRest(object):
    def __init__(self):
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs.get("_request_timeout")))
        return "answer"


def test_the_default_applies_only_where_the_caller_sets_no_timeout():
    rest = _k8s.with_default_timeout(RecordingRest())
    assert rest.request("GET", "/a") == "answer"
    assert rest.request("GET", "/b", _request_timeout=None) == "answer"
    assert rest.request("GET", "/c", _request_timeout=(3, 4)) == "answer"
    assert rest.calls == [("GET", "/a", _k8s.REQUEST_TIMEOUT), ("GET", "/b", _k8s.REQUEST_TIMEOUT),
                          ("GET", "/c", (3, 4))]


def test_every_client_of_the_factory_has_the_default(monkeypatch):
    monkeypatch.setattr(_k8s, "REQUEST_TIMEOUT", (7, 8))
    client = _k8s.get_api_client({"host": "https://api.example:6443", "api_key": "t"})
    sent = []

    def request(method, url, **kwargs):
        sent.append(kwargs.get("timeout"))
        raise OSError("stop here")

    monkeypatch.setattr(client.rest_client.pool_manager, "request", request)
    with pytest.raises(OSError):
        RestClient(client).request("GET", "/api/v1/nodes/w1")
    assert len(sent) == 1 and (sent[0].connect_timeout, sent[0].read_timeout) == (7, 8)


def test_a_read_bounded_by_a_deadline_ends_near_it_when_nothing_answers(silent_server):
    """The drain client (drain, node_status) bounds each request by the time left; urllib3 must not send a
    held GET again with the whole bound each time (four times the deadline before)."""
    url, held = silent_server
    client = make_client({"host": url, "api_key": "t"}, 1)
    deadline = time.monotonic() + 1
    client.limit_requests(lambda: deadline - time.monotonic())
    started = time.monotonic()
    with pytest.raises(NodeOpsError) as caught:
        client.get_node("w1")
    elapsed = time.monotonic() - started
    assert len(held) == 1, "the read was sent %d times" % len(held)
    assert caught.value.details.get("api_unreachable") is True
    # One request, bounded by REQUEST_TIMEOUT_FLOOR (2 s) since less than that was left.
    assert elapsed < 3.5, elapsed

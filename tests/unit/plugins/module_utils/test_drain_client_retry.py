"""KubernetesDrainClient: a read that cannot reach the API server is tried again for a while (the API
server of a control-plane node is away while its kubelet restarts); writes are not repeated."""

import pytest
from urllib3.exceptions import MaxRetryError

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


class Response(object):
    data = b'{"metadata": {"name": "cp1"}}'


def flaky(name, failures):
    calls = []

    def method(*args, **kwargs):
        calls.append(args)
        if len(calls) <= failures:
            raise MaxRetryError(None, "/api/v1/nodes/cp1", "connection refused")
        return Response()

    method.__name__ = name
    return method, calls


@pytest.fixture
def client(monkeypatch):
    slept = []
    monkeypatch.setattr(_drain_client.time, "sleep", slept.append)
    found = _drain_client.KubernetesDrainClient(None)
    found.slept = slept
    return found


def test_a_read_comes_through_once_the_api_server_is_back(client):
    method, calls = flaky("read_node", failures=2)
    assert client._call('read node "cp1"', method, "cp1") == {"metadata": {"name": "cp1"}}
    assert len(calls) == 3 and client.slept == [_drain_client.READ_RETRY_INTERVAL] * 2


def test_a_read_gives_up_after_the_retry_time_with_the_cause(client, monkeypatch):
    monkeypatch.setattr(_drain_client, "READ_RETRY_SECONDS", 0)
    method, calls = flaky("read_node", failures=5)
    with pytest.raises(NodeOpsError, match='read node "cp1": cannot reach the Kubernetes API server'):
        client._call('read node "cp1"', method, "cp1")
    assert len(calls) == 1


def test_a_write_is_not_repeated(client):
    method, calls = flaky("patch_node", failures=1)
    with pytest.raises(NodeOpsError, match="cannot reach the Kubernetes API server"):
        client._call('cordon node "cp1"', method, "cp1", {})
    assert len(calls) == 1 and client.slept == []


def refusing(name, failures, status=403):
    from kubernetes.client.exceptions import ApiException
    calls = []

    def method(*args, **kwargs):
        calls.append(args)
        if len(calls) <= failures:
            raise ApiException(status=status, reason="Forbidden")
        return Response()

    method.__name__ = name
    return method, calls


def test_a_read_refused_while_the_api_server_loads_its_bindings_comes_through(client):
    method, calls = refusing("read_node", failures=2)
    assert client._call('read node "cp1"', method, "cp1") == {"metadata": {"name": "cp1"}}
    assert len(calls) == 3 and client.slept == [_drain_client.READ_RETRY_INTERVAL] * 2


def test_a_read_still_refused_after_the_auth_retry_time_fails_with_the_refusal(client, monkeypatch):
    monkeypatch.setattr(_drain_client, "AUTH_RETRY_SECONDS", 0)
    method, calls = refusing("read_node", failures=5)
    with pytest.raises(NodeOpsError, match="forbidden|Forbidden|403"):
        client._call('read node "cp1"', method, "cp1")
    assert len(calls) == 1


def test_a_refused_write_is_not_repeated(client):
    method, calls = refusing("patch_node", failures=1)
    with pytest.raises(NodeOpsError):
        client._call('cordon node "cp1"', method, "cp1", {})
    assert len(calls) == 1 and client.slept == []


def test_a_read_refused_with_another_status_is_not_repeated(client):
    method, calls = refusing("read_node", failures=1, status=400)
    with pytest.raises(NodeOpsError):
        client._call('read node "cp1"', method, "cp1")
    assert len(calls) == 1 and client.slept == []

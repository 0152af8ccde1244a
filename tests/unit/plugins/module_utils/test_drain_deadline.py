"""The drain's timeout holds while requests are in flight: every request is bounded by the time left, and the
deadline is checked after each request, so a drain ends within its timeout and a few seconds."""

import time

import pytest
from urllib3.exceptions import MaxRetryError

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain import NodeDrainer
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import DEADLINE_GRACE, DrainOptions
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_drain_fakes import FakeCluster, make_node, make_pod

FAST = dict(eviction_retry_interval=0.01, poll_interval=0.01)


def drainer(cluster, **kwargs):
    values = dict(FAST, timeout=5)
    values.update(kwargs)
    return NodeDrainer(cluster, "w1", DrainOptions(**values))


def web_cluster(count=2):
    pods = [make_pod("web-%d" % i, labels={"app": "web"}) for i in range(count)]
    return FakeCluster(nodes=[make_node("w1"), make_node("w2")], pods=pods)


def slowed(cluster, method, seconds, after=0):
    """Make ``method`` of the fake take ``seconds`` from its ``after``-th call on."""
    original = getattr(cluster, method)
    calls = []

    def slow(*args, **kwargs):
        calls.append(args)
        if len(calls) > after:
            time.sleep(seconds)
        return original(*args, **kwargs)

    setattr(cluster, method, slow)
    return calls


def test_every_request_of_a_drain_is_bounded_by_the_time_left_and_the_bound_is_lifted_after():
    cluster = web_cluster()
    cluster.gets_until_gone[("default", "web-0")] = 2
    seen = []
    original = cluster.get_pod

    def get_pod(namespace, name):
        seen.append(cluster.time_left() if cluster.time_left else None)
        return original(namespace, name)

    cluster.get_pod = get_pod
    drainer(cluster, timeout=30).run("drain")
    assert seen and all(left is not None and 0 < left <= 30 for left in seen)
    assert cluster.time_left is None


def test_a_drain_without_a_timeout_leaves_the_requests_unbounded():
    cluster = web_cluster()
    drainer(cluster, timeout=0).run("drain")
    assert all(limit is None for limit in cluster.time_limits)


def test_a_listing_that_ends_after_the_timeout_stops_the_drain_before_the_cordon():
    cluster = web_cluster()
    slowed(cluster, "list_pods", 0.3)
    with pytest.raises(NodeOpsError) as caught:
        drainer(cluster, timeout=0.1).run("drain")
    assert caught.value.message == (
        'drain of node "w1" did not complete within 0.1 seconds (timeout): the timeout expired while listing the '
        "pods of the node. Nothing was evicted and the node was not cordoned.")
    assert cluster.calls_of("patch") == [] and cluster.calls_of("evict") == []


def test_a_cordon_that_ends_after_the_timeout_evicts_nothing_and_lists_nothing_more():
    cluster = web_cluster()
    slowed(cluster, "patch_node_unschedulable", 0.3)
    with pytest.raises(NodeOpsError) as caught:
        drainer(cluster, timeout=0.1).run("drain")
    error = caught.value
    assert error.message.startswith('drain of node "w1" did not complete within 0.1 seconds (timeout): '
                                    "0 of 2 pods evicted; 2 not gone")
    assert len(cluster.calls_of("list_pods")) == 1 and cluster.calls_of("evict") == []
    assert error.details["node_left_cordoned"] is True
    assert [e["reason"] for e in error.details["remaining"]] == ["not evicted before the timeout expired"] * 2


def test_the_wait_for_many_slowly_read_pods_ends_soon_after_the_timeout():
    # One round of reads takes 1.8 seconds: without the deadline checks the drain takes two rounds.
    cluster = web_cluster(count=60)
    for i in range(60):
        cluster.gets_until_gone[("default", "web-%d" % i)] = 10 ** 6
    slowed(cluster, "get_pod", 0.03)
    started = time.monotonic()
    with pytest.raises(NodeOpsError) as caught:
        drainer(cluster, timeout=0.3).run("drain")
    elapsed = time.monotonic() - started
    assert elapsed < 0.3 + DEADLINE_GRACE + 1.0
    assert len(caught.value.details["remaining"]) == 60


def test_a_retried_eviction_is_not_sent_when_the_read_before_it_ends_after_the_timeout():
    cluster = web_cluster(count=1)
    cluster.eviction_script[("default", "web-0")] = [429, None]
    slowed(cluster, "get_pod", 0.3)
    with pytest.raises(NodeOpsError) as caught:
        drainer(cluster, timeout=0.2).run("drain")
    assert len(cluster.calls_of("evict")) == 1
    assert caught.value.details["remaining"][0]["reason"] == (
        "eviction refused by a PodDisruptionBudget until the timeout")


# ---------------------------------------------------------------- the client


class Response(object):
    data = b"{}"


def recording(name, fail=0):
    calls = []

    def method(*args, **kwargs):
        calls.append(kwargs.get("_request_timeout"))
        if len(calls) <= fail:
            raise MaxRetryError(None, "/api/v1/nodes/w1", "connection refused")
        return Response()

    method.__name__ = name
    return method, calls


@pytest.mark.parametrize("left, sent", [
    (None, _drain_client.REQUEST_TIMEOUT),
    (100, _drain_client.REQUEST_TIMEOUT),
    (20, 20),
    (0.5, _drain_client.REQUEST_TIMEOUT_FLOOR),
    (-3, _drain_client.REQUEST_TIMEOUT_FLOOR),
], ids=["no limit", "more time left than the default timeout", "less time left", "less than the floor",
        "after the deadline"])
def test_the_client_bounds_each_request_by_the_time_left_with_a_floor(left, sent):
    client = _drain_client.KubernetesDrainClient(None)
    client.limit_requests(None if left is None else (lambda: left))
    method, calls = recording("patch_node")
    client._call('cordon node "w1"', method, "w1", {})
    assert calls == [sent]


@pytest.mark.parametrize("left, longest, sent", [
    (None, 15, 15),
    (100, 15, 15),
    (8, 15, 8),
    (100, 600, _drain_client.REQUEST_TIMEOUT),
], ids=["no deadline", "more time left than the cap", "less time left than the cap", "a cap above the default"])
def test_a_cap_bounds_each_request_below_the_time_left(left, longest, sent):
    client = _drain_client.KubernetesDrainClient(None)
    client.limit_requests(None if left is None else (lambda: left), longest)
    method, calls = recording("read_node")
    client._call('read node "w1"', method, "w1")
    assert calls == [sent]


@pytest.mark.parametrize("longest", [None, 0.05], ids=["no cap", "a cap bounds each request, not the retries"])
def test_the_read_retry_of_the_client_stops_at_the_deadline(longest):
    client = _drain_client.KubernetesDrainClient(None)
    end = time.monotonic() + 0.2
    client.limit_requests(lambda: end - time.monotonic(), longest)
    method, calls = recording("read_node", fail=100)
    started = time.monotonic()
    with pytest.raises(NodeOpsError, match="cannot reach the Kubernetes API server"):
        client._call('read node "w1"', method, "w1")
    assert time.monotonic() - started < 0.5
    assert len(calls) == 2

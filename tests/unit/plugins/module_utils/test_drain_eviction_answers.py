"""What the drain makes of the API server's answers to an eviction: 404 (gone, still there, or no Eviction
API at all) and 429 (a PodDisruptionBudget refusal or throttling)."""

import time

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain import DrainOptions, NodeDrainer
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_drain_fakes import FakeCluster, api_error, make_node, make_pod, pod_not_found

FAST = dict(eviction_retry_interval=0.01, poll_interval=0.01)
NO_SUCH_RESOURCE = "the server could not find the requested resource"


def drain(cluster, check_mode=False, **kwargs):
    values = dict(FAST, timeout=5)
    values.update(kwargs)
    return NodeDrainer(cluster, "w1", DrainOptions(**values), check_mode=check_mode).run("drain")


def failed_drain(cluster, **kwargs):
    with pytest.raises(NodeOpsError) as caught:
        drain(cluster, **kwargs)
    return caught.value


def web_cluster(count=1):
    pods = [make_pod("web-%d" % i, labels={"app": "web"}) for i in range(count)]
    return FakeCluster(nodes=[make_node("w1"), make_node("w2")], pods=pods)


def evictions_of(cluster, name):
    return [c for c in cluster.calls_of("evict") if c[2] == name]


# ---------------------------------------------------------------- 404

def test_a_404_on_the_eviction_of_a_pod_that_is_still_there_is_not_taken_as_gone():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [pod_not_found("web-0"), None]
    result = drain(cluster)
    assert [(e["name"], e["already_gone"]) for e in result["evicted"]] == [("web-0", False)]
    assert len(evictions_of(cluster, "web-0")) == 2
    assert ("default", "web-0") not in cluster.pods
    assert cluster.calls_of("delete") == []


def test_a_404_on_the_eviction_is_confirmed_with_a_read_of_the_pod():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [404]
    result = drain(cluster)
    assert [(e["name"], e["already_gone"]) for e in result["evicted"]] == [("web-0", True)]
    assert [c[:3] for c in cluster.calls_of("get_pod")] == [("get_pod", "default", "web-0")]


def test_a_404_on_the_eviction_of_a_pod_replaced_under_its_name_counts_as_gone():
    cluster = web_cluster()
    cluster.recreate.add(("default", "web-0"))

    def replace_then_404(*args, **kwargs):
        with cluster.lock:
            cluster._remove(("default", "web-0"))
        raise pod_not_found("web-0")

    cluster.evict_pod = replace_then_404
    result = drain(cluster)
    assert [(e["name"], e["already_gone"]) for e in result["evicted"]] == [("web-0", True)]
    assert cluster.pods[("default", "web-0")]["spec"]["nodeName"] == "w2"


def test_a_pod_still_there_after_404s_until_the_timeout_is_reported_as_remaining():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [pod_not_found("web-0")]
    error = failed_drain(cluster, timeout=0.2)
    assert error.details["evicted"] == [] and error.details["blocked"] == []
    reason = error.details["remaining"][0]["reason"]
    assert reason.startswith("not evicted before the timeout expired")
    assert 'pods "web-0" not found' in reason and "the pod is still there" in reason


@pytest.mark.parametrize("answer, discovery, fallback", [
    (api_error(404, NO_SUCH_RESOURCE, "NotFound", not_found_kind=""), True, True),
    (api_error(404, "404 page not found"), False, True),
    (api_error(404, "404 page not found"), True, False),
], ids=["a Status that names no object means no Eviction API",
        "an answer that is not a Status asks the discovery, which has no Eviction",
        "an answer that is not a Status asks the discovery, which has the Eviction"])
def test_a_server_without_the_eviction_api_gets_deletes_instead_with_a_warning(answer, discovery, fallback):
    cluster = web_cluster(count=3)
    cluster.eviction_api = discovery
    for i in range(3):
        cluster.eviction_script[("default", "web-%d" % i)] = [answer]
    if fallback:
        result = drain(cluster)
        assert sorted(e["name"] for e in result["deleted"]) == ["web-0", "web-1", "web-2"]
        assert result["evicted"] == []
        assert sorted(c[2] for c in cluster.calls_of("delete")) == ["web-0", "web-1", "web-2"]
        assert [w for w in result["drain_warnings"] if "no Eviction" in w] == [
            "default/web-0, default/web-1, default/web-2 deleted instead of evicted: the API server offers no "
            "Eviction (policy/v1 pods/eviction), so PodDisruptionBudgets were not checked"]
        assert len(cluster.pods) == 0
    else:
        error = failed_drain(cluster, timeout=0.2)
        assert cluster.calls_of("delete") == []
        assert len(error.details["remaining"]) == 3


def test_the_eviction_api_is_looked_up_once_per_drain_and_later_pods_are_deleted_at_once():
    cluster = web_cluster(count=4)
    cluster.eviction_api = False
    cluster.eviction_script[("default", "web-0")] = [api_error(404, "404 page not found")]
    cluster.eviction_script[("default", "web-1")] = [api_error(404, "404 page not found")]
    result = drain(cluster, max_concurrent_evictions=1)
    assert sorted(e["name"] for e in result["deleted"]) == ["web-0", "web-1", "web-2", "web-3"]
    assert len(cluster.calls_of("discovery")) == 1
    assert [c[2] for c in cluster.calls_of("evict")] == ["web-0"]


def test_check_mode_on_a_server_without_the_eviction_api_dry_runs_the_deletes():
    cluster = web_cluster(count=1)
    cluster.eviction_script[("default", "web-0")] = [api_error(404, NO_SUCH_RESOURCE, "NotFound",
                                                               not_found_kind="")]
    result = drain(cluster, check_mode=True)
    assert [e["name"] for e in result["deleted"]] == ["web-0"]
    assert cluster.mutations() == []
    assert [c[-1] for c in cluster.calls_of("delete")] == [True]
    assert any("offers no Eviction" in w for w in result["drain_warnings"])


# ---------------------------------------------------------------- 429

def throttled(retry_after=None):
    """The 429 of API Priority and Fairness (or of the max-in-flight limit)."""
    facts = dict(causes=[])
    if retry_after is not None:
        facts["retry_after"] = retry_after
    return api_error(429, 'evict pod "default/web-0": Too many requests, please try again later.',
                     "TooManyRequests", **facts)


def budget_refusal(causes=None):
    return api_error(429, "evict pod \"default/web-0\": Cannot evict pod as it would violate the pod's disruption "
                          "budget.", "TooManyRequests",
                     causes=causes or ["DisruptionBudget: The disruption budget web needs 2 healthy pods and has 2 "
                                       "currently"])


def test_a_throttled_eviction_is_retried_after_the_retry_after_of_the_api_server():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [throttled(retry_after=1), None]
    times = []
    original = cluster.evict_pod

    def evict(namespace, name, grace_period=None, dry_run=False):
        times.append(time.monotonic())
        return original(namespace, name, grace_period, dry_run)

    cluster.evict_pod = evict
    result = drain(cluster)
    assert [e["name"] for e in result["evicted"]] == ["web-0"]
    assert len(times) == 2 and times[1] - times[0] >= 0.9


def test_a_throttled_eviction_without_retry_after_is_retried_every_eviction_retry_interval():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [throttled(), throttled(), None]
    result = drain(cluster)
    assert [e["name"] for e in result["evicted"]] == ["web-0"]
    assert len(evictions_of(cluster, "web-0")) == 3


def test_throttling_until_the_timeout_is_reported_as_throttling_not_as_a_budget():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [throttled(retry_after=1)]
    error = failed_drain(cluster, timeout=0.3)
    assert error.details["blocked"] == []
    assert error.details["remaining"][0]["reason"] == (
        "the API server is throttling requests (HTTP 429, Retry-After 1 s) until the timeout")
    assert "PodDisruptionBudget" not in error.message
    assert "1 not gone: default/web-0 (the API server is throttling requests (HTTP 429, Retry-After 1 s)" \
        in error.message


def test_a_budget_refusal_is_recognised_by_its_message_and_reported_as_blocked():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [budget_refusal()]
    error = failed_drain(cluster, timeout=0.2)
    assert [b["name"] for b in error.details["blocked"]] == ["web-0"]
    assert error.details["remaining"][0]["reason"] == "eviction refused by a PodDisruptionBudget until the timeout"


def test_check_mode_does_not_report_a_throttled_eviction_as_blocked_by_a_budget():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = [throttled(), None]
    result = drain(cluster, check_mode=True)
    assert result["would_be_blocked"] == []
    assert [e["name"] for e in result["evicted"]] == ["web-0"]


def test_a_throttled_delete_is_retried_too():
    cluster = web_cluster()
    calls = []
    original = cluster.delete_pod

    def delete(namespace, name, grace_period=None, dry_run=False):
        calls.append(name)
        if len(calls) == 1:
            raise throttled()
        return original(namespace, name, grace_period, dry_run)

    cluster.delete_pod = delete
    result = drain(cluster, disable_eviction=True)
    assert [e["name"] for e in result["deleted"]] == ["web-0"]
    assert calls == ["web-0", "web-0"]


# ---------------------------------------------------------------- no answer

def test_an_eviction_whose_answer_was_lost_is_counted_as_evicted_once_a_read_shows_the_pod_gone():
    cluster = web_cluster(2)
    cluster.eviction_script[("default", "web-0")] = ["lost"]
    result = drain(cluster)
    evicted = sorted((e["name"], e["already_gone"]) for e in result["evicted"])
    assert evicted == [("web-0", False), ("web-1", False)]
    assert result["remaining"] == []
    assert result["changed"] is True
    assert len(evictions_of(cluster, "web-0")) == 1
    assert [w for w in result["drain_warnings"] if "no answer" in w] == [
        'default/web-0: the request got no answer (evict pod "default/web-0": cannot reach the Kubernetes API '
        'server (fake): connection reset by peer; check host/kubeconfig, network and TLS settings), and a read '
        'of the pod showed it gone or being deleted, so it is counted as evicted']
    assert ("get_pod", "default", "web-0") in [c[:3] for c in cluster.calls_of("get_pod")]


def test_an_eviction_whose_answer_was_lost_while_the_pod_terminates_is_waited_for():
    cluster = web_cluster()
    cluster.gets_until_gone[("default", "web-0")] = 3
    cluster.eviction_script[("default", "web-0")] = ["lost"]
    result = drain(cluster)
    assert [(e["name"], e["already_gone"]) for e in result["evicted"]] == [("web-0", False)]
    assert ("default", "web-0") not in cluster.pods
    assert len(evictions_of(cluster, "web-0")) == 1


def test_an_eviction_that_never_reached_the_api_server_fails_the_drain_with_the_pod_still_there():
    cluster = web_cluster(2)
    cluster.eviction_script[("default", "web-0")] = ["reset"]
    err = failed_drain(cluster)
    assert "1 of 2 pods evicted" in err.message
    assert "web-0" in err.message and "cannot reach the Kubernetes API server" in err.message
    assert ("default", "web-0") in cluster.pods
    assert not cluster.pods[("default", "web-0")]["metadata"].get("deletionTimestamp")
    assert err.details["node_left_cordoned"] is True


def test_an_eviction_without_answer_whose_pod_cannot_be_read_says_that_its_fate_is_not_known():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-0")] = ["reset"]
    reads = []

    def unreadable(namespace, name):
        reads.append(name)
        raise NodeOpsError('read pod "%s/%s": cannot reach the Kubernetes API server (fake)' % (namespace, name),
                           api_unreachable=True)

    cluster.get_pod = unreadable
    err = failed_drain(cluster)
    assert reads == ["web-0"]
    assert "whether it reached the API server is not known" in err.message
    assert 'read pod "default/web-0"' in err.message

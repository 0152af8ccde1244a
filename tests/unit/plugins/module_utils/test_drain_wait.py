"""The wait for evicted pods: gone by 404 or a new UID, and no read at or after the time it must stop."""

import datetime

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_filters import UTC, PodDecision
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import DrainOptions
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_result import Kind, Outcome
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_wait import MAX_WAIT_ERRORS, PodWaiter

from test_drain_fakes import FakeCluster, api_error, make_pod


def waiter(cluster, clock=lambda: 10.0, **options):
    return PodWaiter(cluster, DrainOptions(**options), clock, lambda: datetime.datetime.now(UTC))


def evicted(cluster, *names):
    pods = [make_pod(name) for name in names]
    for pod in pods:
        cluster.add_pod(pod)
    return [Outcome(PodDecision(pod), 0.0) for pod in pods]


def test_a_poll_reads_each_pod_once_and_hands_over_those_that_are_gone():
    cluster = FakeCluster()
    waiting = evicted(cluster, "a", "b")
    cluster.pods.pop(("default", "a"))
    finished = []
    still = waiter(cluster).poll(waiting, finished)
    assert [(o.decision.name, o.kind) for o in finished] == [("a", Kind.GONE_AFTER_EVICTION)]
    assert [o.decision.name for o in still] == ["b"]


def test_a_poll_past_its_stop_time_reads_nothing_and_the_unread_pods_come_first():
    cluster = FakeCluster()
    waiting = evicted(cluster, "a", "b", "c")
    ticks = iter([1.0, 1.0, 5.0])
    still = waiter(cluster, clock=lambda: next(ticks)).poll(waiting, [], stop_at=2.0)
    assert [o.decision.name for o in still] == ["c", "a", "b"]
    assert [c[2] for c in cluster.calls_of("get_pod")] == ["a", "b"]


def test_a_pod_that_cannot_be_read_fails_after_the_last_allowed_error():
    cluster = FakeCluster()
    waiting = evicted(cluster, "a")

    def get_pod(namespace, name):
        raise api_error(500, 'read pod "default/a": etcdserver: request timed out')

    cluster.get_pod = get_pod
    finished = []
    for _attempt in range(MAX_WAIT_ERRORS):
        waiting = waiter(cluster).poll(waiting, finished)
    assert waiting == [] and finished[0].kind == Kind.FAILED
    assert "checking whether it is gone failed" in finished[0].message

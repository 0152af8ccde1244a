"""Errors that are not NodeOpsError (a bad answer from the API server, a urllib3 error, a bug) end the drain
with the same failure account as any other error: the node, the step, the pods evicted so far and whether the
node is left cordoned; never a traceback."""

import pytest
from urllib3.exceptions import ProtocolError

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain import DrainOptions, NodeDrainer
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_drain_fakes import FakeCluster, make_node, make_pod

FAST = dict(eviction_retry_interval=0.01, poll_interval=0.01)


def failed_run(cluster, state="drain", **kwargs):
    values = dict(FAST, timeout=5)
    values.update(kwargs)
    with pytest.raises(NodeOpsError) as caught:
        NodeDrainer(cluster, "w1", DrainOptions(**values)).run(state)
    return caught.value


def web_cluster(count=2, **node_kwargs):
    pods = [make_pod("web-%d" % i, labels={"app": "web"}) for i in range(count)]
    return FakeCluster(nodes=[make_node("w1", **node_kwargs), make_node("w2")], pods=pods)


def test_bad_json_while_waiting_for_the_pods_reports_the_step_the_pods_evicted_so_far_and_the_node():
    cluster = web_cluster()
    cluster.eviction_script[("default", "web-1")] = [429, None]  # web-0 is gone before web-1 is evicted
    cluster.gets_until_gone[("default", "web-1")] = 10 ** 6
    original_get, original_evict = cluster.get_pod, cluster.evict_pod
    accepted = []

    def evict_pod(namespace, name, grace_period=None, dry_run=False):
        original_evict(namespace, name, grace_period, dry_run)
        accepted.append(name)

    def get_pod(namespace, name):
        if name in accepted and name == "web-1":
            raise ValueError("Expecting value: line 1 column 1 (char 0)")
        return original_get(namespace, name)

    cluster.evict_pod, cluster.get_pod = evict_pod, get_pod
    error = failed_run(cluster, max_concurrent_evictions=1)
    assert error.message == (
        'drain of node "w1" failed while waiting for the evicted pods to be gone: unexpected ValueError: '
        "Expecting value: line 1 column 1 (char 0); 1 of 2 pods evicted so far. The node is left cordoned: "
        "resolve the cause and run the drain again, or make it schedulable with state=uncordon.")
    assert [e["name"] for e in error.details["evicted"]] == ["web-0"]
    assert error.details["remaining"] == [dict(
        namespace="default", name="web-1", uid=cluster.pods[("default", "web-1")]["metadata"]["uid"],
        reason="evicted, but the drain stopped before it was gone")]
    assert error.details["node_left_cordoned"] is True
    assert error.details["changed"] is True


def test_a_urllib3_error_after_the_cordon_still_uncordons_with_uncordon_on_failure():
    cluster = web_cluster()
    calls = []
    original = cluster.list_pods

    def list_pods(*args):
        calls.append(args)
        if len(calls) == 2:
            raise ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
        return original(*args)

    cluster.list_pods = list_pods
    error = failed_run(cluster, uncordon_on_failure=True)
    assert error.message.startswith('drain of node "w1" failed while listing the pods again after the cordon: '
                                    "unexpected ProtocolError: ('Connection aborted.'")
    assert "evicted so far" not in error.message  # no eviction had started
    assert error.message.endswith("The node was uncordoned again (uncordon_on_failure).")
    assert error.details["node_left_cordoned"] is False
    assert "unschedulable" not in cluster.nodes["w1"]["spec"]


@pytest.mark.parametrize("state, step", [
    ("cordon", "cordoning the node"),
    ("uncordon", "uncordoning the node"),
    ("drain", "cordoning the node"),
])
def test_an_unexpected_error_of_the_node_patch_names_the_state_and_the_step(state, step):
    cluster = web_cluster(unschedulable=state == "uncordon")

    def patch(*args, **kwargs):
        raise TypeError("'NoneType' object is not subscriptable")

    cluster.patch_node_unschedulable = patch
    error = failed_run(cluster, state=state)
    expected = '%s of node "w1" failed while %s: unexpected TypeError: ' % (state, step)
    assert error.message.startswith(expected + "'NoneType' object is not subscriptable")
    assert error.details["state"] == state
    assert "Traceback" not in error.message


def test_an_unexpected_error_while_uncordoning_after_a_failure_is_reported_too():
    cluster = web_cluster(count=1)
    cluster.eviction_script[("default", "web-0")] = [429]
    original = cluster.patch_node_unschedulable

    def patch(name, unschedulable, dry_run=False):
        if not unschedulable:
            raise ProtocolError("Connection aborted.")
        return original(name, unschedulable, dry_run)

    cluster.patch_node_unschedulable = patch
    error = failed_run(cluster, timeout=0.1, uncordon_on_failure=True)
    assert "Uncordoning it again (uncordon_on_failure) failed: unexpected ProtocolError: Connection aborted.; " \
           "the node is left cordoned." in error.message
    assert error.details["node_left_cordoned"] is True

"""A cordon or uncordon that got no answer is judged by a read of the node, as an eviction is by a read of the pod.

No answer (a connection reset or refused, a read timeout) does not say whether the API server applied the patch.
The account must match the node: a patch that got through is not reported as failed (the drain goes on, the
uncordon is done), one that did not fails with its own error, and when the node cannot be read either, the result
says that nobody knows (``node_left_cordoned`` null) instead of guessing.
"""

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain import DrainOptions, NodeDrainer
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_drain_fakes import FakeCluster, make_node, make_pod

FAST = dict(eviction_retry_interval=0.01, poll_interval=0.01, timeout=5)
LOST = "cannot reach the Kubernetes API server (kubeconfig x): ('Connection aborted.', RemoteDisconnected())"


def cluster_of(unschedulable=False, pods=1):
    return FakeCluster(nodes=[make_node("w1", unschedulable=unschedulable), make_node("w2")],
                       pods=[make_pod("web-%d" % i, labels={"app": "web"}) for i in range(pods)])


def no_answer(cluster, applied, unreachable=True):
    """The next patch of the node gets no answer (or a 503 with ``unreachable=False``), after it was applied or not."""
    original = cluster.patch_node_unschedulable
    state = {"done": False}

    def patch(name, unschedulable, dry_run=False):
        if state["done"]:
            return original(name, unschedulable, dry_run)
        state["done"] = True
        if applied:
            original(name, unschedulable, dry_run)
        else:
            cluster._record("patch", name, unschedulable, dry_run)
        if unreachable:
            raise NodeOpsError('%s node "%s": %s' % ("cordon" if unschedulable else "uncordon", name, LOST),
                               api_unreachable=True)
        raise NodeOpsError('uncordon node "%s": the API server is unavailable' % name, status=503)

    cluster.patch_node_unschedulable = patch


def unreadable_after_the_patch(cluster):
    """Every read of the node after the first patch fails: the API server is gone."""
    original = cluster.get_node

    def get_node(name):
        if cluster.calls_of("patch"):
            cluster._record("get_node", name)
            raise NodeOpsError('read node "%s": %s' % (name, LOST), api_unreachable=True)
        return original(name)

    cluster.get_node = get_node


def run(cluster, state, **options):
    values = dict(FAST)
    values.update(options)
    return NodeDrainer(cluster, "w1", DrainOptions(**values)).run(state)


def failed(cluster, state, **options):
    with pytest.raises(NodeOpsError) as caught:
        run(cluster, state, **options)
    return caught.value


def unschedulable(cluster):
    return bool(cluster.nodes["w1"]["spec"].get("unschedulable"))


@pytest.mark.parametrize("state", ["drain", "cordon"])
def test_a_cordon_whose_answer_was_lost_but_got_through_goes_on_and_says_so(state):
    cluster = cluster_of()
    no_answer(cluster, applied=True)
    result = run(cluster, state)
    assert unschedulable(cluster) and result["node_left_cordoned"] is True
    assert result["changed"] is True
    warning = [w for w in result["drain_warnings"] if "was lost" in w]
    assert warning == ['the answer to the cordon of node "w1" was lost (cordon node "w1": %s); a read of the node '
                       "afterwards shows it cordoned, so the cordon got through" % LOST]
    if state == "drain":
        assert [e["name"] for e in result["evicted"]] == ["web-0"]
    assert len(cluster.calls_of("patch")) == 1  # judged by the read, not sent again


def test_an_uncordon_whose_answer_was_lost_but_got_through_is_done():
    cluster = cluster_of(unschedulable=True)
    no_answer(cluster, applied=True)
    result = run(cluster, "uncordon")
    assert not unschedulable(cluster)
    assert result["node_left_cordoned"] is False and result["changed"] is True
    assert any("shows it schedulable, so the uncordon got through" in w for w in result["drain_warnings"])


def test_an_uncordon_that_got_no_answer_and_did_not_get_through_fails_with_its_own_error():
    cluster = cluster_of(unschedulable=True)
    no_answer(cluster, applied=False)
    error = failed(cluster, "uncordon")
    assert error.message == 'uncordon node "w1": %s' % LOST
    assert unschedulable(cluster) and error.details["node_left_cordoned"] is True
    assert cluster.calls_of("get_node") == [("get_node", "w1"), ("get_node", "w1")]  # the state, then the judgement


def test_a_drain_whose_cordon_got_no_answer_and_did_not_get_through_says_nothing_was_cordoned():
    cluster = cluster_of()
    no_answer(cluster, applied=False)
    error = failed(cluster, "drain")
    assert error.message == ('cordon node "w1": %s. Nothing was evicted and the node was not cordoned.' % LOST)
    assert not unschedulable(cluster) and error.details["node_left_cordoned"] is False
    assert cluster.calls_of("evict") == []


def test_a_refused_patch_is_not_read_back():
    # A 503 is an answer: the patch was refused, there is nothing to judge.
    cluster = cluster_of(unschedulable=True)
    no_answer(cluster, applied=False, unreachable=False)
    error = failed(cluster, "uncordon")
    assert error.message == 'uncordon node "w1": the API server is unavailable'
    assert len(cluster.calls_of("get_node")) == 1
    assert error.details["node_left_cordoned"] is True


def test_when_the_node_cannot_be_read_after_a_lost_cordon_nobody_knows_and_the_account_says_so():
    cluster = cluster_of()
    no_answer(cluster, applied=True)
    unreadable_after_the_patch(cluster)
    error = failed(cluster, "drain")
    assert error.details["node_left_cordoned"] is None
    assert error.details["node_state_unknown"] is True
    assert error.message == (
        'cordon node "w1": %s; whether it reached the API server is not known: reading the node afterwards failed '
        'too: read node "w1": %s. Whether the node is cordoned is not known: check it with kubectl get node w1. '
        "Nothing was evicted." % (LOST, LOST))
    assert cluster.calls_of("evict") == []


def test_a_cordon_that_may_have_got_through_is_undone_with_uncordon_on_failure():
    cluster = cluster_of()
    no_answer(cluster, applied=True)
    unreadable_after_the_patch(cluster)
    error = failed(cluster, "drain", uncordon_on_failure=True)
    assert not unschedulable(cluster)
    assert error.details["node_left_cordoned"] is False
    assert error.message.endswith("The node was uncordoned again (uncordon_on_failure).")


def test_an_uncordon_whose_answer_was_lost_and_the_node_unreadable_leaves_the_state_unknown():
    cluster = cluster_of(unschedulable=True)
    no_answer(cluster, applied=True)
    unreadable_after_the_patch(cluster)
    error = failed(cluster, "uncordon")
    assert error.details["node_left_cordoned"] is None
    assert "Whether the node is cordoned is not known" in error.message
    assert [c for c in cluster.calls_of("patch") if not c[-1]] == [("patch", "w1", False, False)]


def test_check_mode_never_reads_back_a_dry_run():
    cluster = cluster_of(unschedulable=True)
    no_answer(cluster, applied=False)
    with pytest.raises(NodeOpsError):
        NodeDrainer(cluster, "w1", DrainOptions(**FAST), check_mode=True).run("uncordon")
    assert len(cluster.calls_of("get_node")) == 1

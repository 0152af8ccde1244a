"""The drain procedure against an in-memory cluster: cordon, plan, evictions, waits, failures."""

import threading
import time

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain import DrainOptions, NodeDrainer
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_drain_fakes import FakeCluster, make_node, make_pdb, make_pod

FAST = dict(eviction_retry_interval=0.01, poll_interval=0.01)


def options(**kwargs):
    values = dict(FAST, timeout=5)
    values.update(kwargs)
    return DrainOptions(**values)


def drain(cluster, check_mode=False, state="drain", node="w1", **kwargs):
    return NodeDrainer(cluster, node, options(**kwargs), check_mode=check_mode).run(state)


def failed_drain(cluster, check_mode=False, state="drain", node="w1", **kwargs):
    with pytest.raises(NodeOpsError) as caught:
        drain(cluster, check_mode=check_mode, state=state, node=node, **kwargs)
    return caught.value


def names(entries):
    return sorted(entry["name"] for entry in entries)


def web_cluster(count=3, **node_kwargs):
    pods = [make_pod("web-%d" % i, labels={"app": "web"}) for i in range(count)]
    return FakeCluster(nodes=[make_node("w1", **node_kwargs), make_node("w2")], pods=pods)


# ---------------------------------------------------------------- input checks

@pytest.mark.parametrize("kwargs, fragment", [
    (dict(grace_period=-2), "invalid grace_period -2"),
    (dict(timeout=-1), "invalid timeout -1"),
    (dict(skip_wait_for_delete_timeout=-5), "invalid skip_wait_for_delete_timeout"),
    (dict(max_concurrent_evictions=0), "invalid max_concurrent_evictions"),
    (dict(poll_interval=0), "invalid poll_interval"),
    (dict(chunk_size=-1), "invalid chunk_size"),
    (dict(pod_selector="app in web"), "invalid pod_selector"),
], ids=["grace period below -1", "negative timeout", "negative skip wait", "zero concurrency",
        "zero poll interval", "negative chunk size", "malformed selector"])
def test_bad_options_are_refused_before_any_api_call(kwargs, fragment):
    with pytest.raises(NodeOpsError) as caught:
        DrainOptions(**kwargs)
    assert fragment in caught.value.message


@pytest.mark.parametrize("state", ["cordon", "drain", "uncordon"])
def test_a_missing_node_is_reported_with_the_way_to_find_the_right_name(state):
    cluster = web_cluster()
    error = failed_drain(cluster, state=state, node="w9")
    assert error.message.startswith('node "w9" not found: check the name with kubectl get nodes')
    assert cluster.mutations() == []
    assert error.details["changed"] is False


# ---------------------------------------------------------------- cordon / uncordon

@pytest.mark.parametrize("state, unschedulable, changed, patched_to, left_cordoned", [
    ("cordon", False, True, True, True),
    ("cordon", True, False, None, True),
    ("uncordon", True, True, False, False),
    ("uncordon", False, False, None, False),
], ids=["cordon of a schedulable node cordons it", "cordon of a cordoned node changes nothing",
        "uncordon of a cordoned node uncordons it", "uncordon of a schedulable node changes nothing"])
def test_cordon_and_uncordon_are_idempotent(state, unschedulable, changed, patched_to, left_cordoned):
    cluster = web_cluster(unschedulable=unschedulable)
    result = drain(cluster, state=state)
    assert result["changed"] is changed
    assert result["cordoned_before"] is unschedulable
    assert result["node_left_cordoned"] is left_cordoned
    patches = cluster.calls_of("patch")
    assert [p[2] for p in patches] == ([] if patched_to is None else [patched_to])
    assert cluster.calls_of("evict") == []


@pytest.mark.parametrize("state, unschedulable", [("cordon", False), ("uncordon", True)])
def test_cordon_and_uncordon_in_check_mode_only_dry_run_the_patch(state, unschedulable):
    cluster = web_cluster(unschedulable=unschedulable)
    result = drain(cluster, check_mode=True, state=state)
    assert result["changed"] is True
    assert result["node_left_cordoned"] is unschedulable
    assert cluster.mutations() == []
    assert [p[-1] for p in cluster.calls_of("patch")] == [True]


def test_uncordon_waits_for_the_node_to_be_ready_and_refuses_when_it_is_not():
    cluster = web_cluster(unschedulable=True, ready=False)
    error = failed_drain(cluster, state="uncordon", ready_timeout=0.05)
    assert 'node "w1" is not Ready after 0.05 seconds (Ready=False (KubeletNotReady))' in error.message
    assert cluster.nodes["w1"]["spec"]["unschedulable"] is True
    assert error.details["node_left_cordoned"] is True
    assert cluster.calls_of("patch") == []


def test_uncordon_with_ready_timeout_leaves_a_schedulable_not_ready_node_alone_with_a_warning():
    cluster = web_cluster(unschedulable=False, ready=False)
    result = drain(cluster, state="uncordon", ready_timeout=0.05)
    assert result["changed"] is False
    assert result["node_left_cordoned"] is False
    assert "ready_evidence" not in result
    assert result["drain_warnings"] == [
        'node "w1" is already schedulable but not Ready (Ready=False (KubeletNotReady)); it was left as it is. '
        "Check the kubelet and the container runtime on the node"]
    assert cluster.calls_of("patch") == [] and cluster.calls_of("get_node_lease") == []


def test_uncordon_proceeds_once_the_node_becomes_ready():
    cluster = web_cluster(unschedulable=True, ready=False)

    def heal():
        cluster.nodes["w1"]["status"]["conditions"][0]["status"] = "True"

    timer = threading.Timer(0.05, heal)
    timer.start()
    result = drain(cluster, state="uncordon", ready_timeout=5)
    timer.join()
    assert result["changed"] is True
    assert "unschedulable" not in cluster.nodes["w1"]["spec"]


def test_uncordon_does_not_trust_a_ready_condition_whose_kubelet_stopped_renewing_its_lease():
    cluster = web_cluster(unschedulable=True, ready=True)
    cluster.lease_renewals["w1"] = ["2026-01-01T00:00:00.000000Z"]
    error = failed_drain(cluster, state="uncordon", ready_timeout=0.05, poll_interval=0.01)
    assert "has not renewed its Lease kube-node-lease/w1" in error.message
    assert cluster.nodes["w1"]["spec"]["unschedulable"] is True
    assert cluster.calls_of("patch") == []


def test_uncordon_accepts_ready_once_the_kubelet_renews_its_lease():
    cluster = web_cluster(unschedulable=True, ready=True)
    cluster.lease_renewals["w1"] = ["2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z",
                                    "2026-01-01T00:00:10.000000Z"]
    result = drain(cluster, state="uncordon", ready_timeout=5, poll_interval=0.01)
    assert result["changed"] is True
    assert result["ready_evidence"] == "Ready=True (KubeletReady), Lease renewed"
    assert "unschedulable" not in cluster.nodes["w1"]["spec"]


# ---------------------------------------------------------------- the plan

def test_a_refused_drain_changes_nothing_and_names_every_pod_and_override():
    cluster = FakeCluster(
        nodes=[make_node("w1")],
        pods=[make_pod("agent-1", namespace="kube-system", owner=("DaemonSet", "agent")),
              make_pod("bare", owner=None), make_pod("cache", emptydir=True), make_pod("web-1")],
        daemonsets=[("kube-system", "agent")])
    error = failed_drain(cluster)
    assert error.message == (
        'cannot drain node "w1": '
        "cannot delete DaemonSet-managed Pods (use ignore_daemonsets to ignore): kube-system/agent-1; "
        "cannot delete Pods that declare no controller (use force to override): default/bare; "
        "cannot delete Pods with local storage (use delete_emptydir_data to override): default/cache. "
        "Nothing was evicted and the node was not cordoned.")
    assert sorted((r["name"], r["override"]) for r in error.details["refused"]) == [
        ("agent-1", "ignore_daemonsets"), ("bare", "force"), ("cache", "delete_emptydir_data")]
    assert error.details["node_left_cordoned"] is False
    assert error.details["changed"] is False
    assert cluster.mutations() == []


def test_the_refusal_message_lists_causes_in_the_order_the_pods_were_found():
    cluster = FakeCluster(nodes=[make_node("w1")],
                          pods=[make_pod("bare", owner=None), make_pod("cache", emptydir=True)])
    error = failed_drain(cluster)
    assert error.message == (
        'cannot drain node "w1": '
        "cannot delete Pods that declare no controller (use force to override): default/bare; "
        "cannot delete Pods with local storage (use delete_emptydir_data to override): default/cache. "
        "Nothing was evicted and the node was not cordoned.")


def test_pods_scheduled_between_the_check_and_the_cordon_are_checked_again():
    cluster = web_cluster()
    cluster.new_pods_after_cordon = [make_pod("sneaky", owner=None)]
    error = failed_drain(cluster)
    assert "cannot delete Pods that declare no controller (use force to override): default/sneaky" in error.message
    assert "The node is left cordoned" in error.message
    assert error.details["node_left_cordoned"] is True
    assert cluster.calls_of("evict") == []


def test_the_pod_selector_is_sent_to_the_api_in_canonical_form():
    cluster = web_cluster()
    cluster.add_pod(make_pod("db-1", labels={"app": "db"}))
    result = drain(cluster, pod_selector="app = web", chunk_size=7)
    assert names(result["evicted"]) == ["web-0", "web-1", "web-2"]
    assert ("db-1" in [p[1] for p in cluster.pods]) is True
    assert cluster.calls_of("list_pods")[0] == ("list_pods", "w1", "app=web", 7)


def test_skipped_pods_are_reported_with_their_reason_and_daemonset_warnings():
    cluster = web_cluster(count=1)
    cluster.add_pod(make_pod("agent-1", owner=("DaemonSet", "agent")))
    cluster.add_pod(make_pod("etcd-w1", owner=("Node", "w1"), mirror=True))
    cluster.daemonsets.add(("default", "agent"))
    result = drain(cluster, ignore_daemonsets=True)
    assert sorted((s["name"], s["reason"]) for s in result["skipped_pods"]) == [
        ("agent-1", "DaemonSet-managed Pod (ignore_daemonsets)"),
        ("etcd-w1", "mirror Pod (static Pod managed by the kubelet)")]
    assert result["drain_warnings"] == ["ignoring DaemonSet-managed Pods: default/agent-1"]
    assert names(result["evicted"]) == ["web-0"]


# ---------------------------------------------------------------- evictions

def test_a_drain_cordons_evicts_everything_and_reports_durations():
    cluster = web_cluster()
    result = drain(cluster)
    assert result["changed"] is True
    assert result["cordoned_before"] is False
    assert result["node_left_cordoned"] is True
    assert names(result["evicted"]) == ["web-0", "web-1", "web-2"]
    assert all(set(e) == {"namespace", "name", "uid", "duration", "already_gone"} for e in result["evicted"])
    assert result["remaining"] == [] and result["blocked"] == []
    assert set(result["durations"]) == {"cordon", "evict", "wait", "total"}
    assert cluster.nodes["w1"]["spec"]["unschedulable"] is True
    assert cluster.calls_of("patch")[0][2] is True


def test_durations_count_budget_refusals_as_eviction_time_when_no_eviction_is_accepted():
    cluster = web_cluster(count=1)
    cluster.eviction_script[("default", "web-0")] = [429]
    error = failed_drain(cluster, timeout=0.3)
    durations = error.details["durations"]
    assert durations["evict"] >= 0.2
    assert durations["wait"] < 0.1


def test_the_cordon_duration_is_the_patch_not_the_second_listing():
    cluster = web_cluster(count=1)
    original = cluster.list_pods
    calls = []

    def slow_second_listing(*args):
        calls.append(args)
        if len(calls) == 2:
            time.sleep(0.2)
        return original(*args)

    cluster.list_pods = slow_second_listing
    result = drain(cluster)
    assert len(calls) == 2
    assert result["durations"]["cordon"] < 0.1
    assert result["durations"]["total"] >= 0.2


def test_evictions_run_concurrently_but_never_above_the_limit():
    cluster = web_cluster(count=12)
    cluster.evict_delay = 0.05
    drain(cluster, max_concurrent_evictions=4)
    assert cluster.max_active == 4


def test_an_eviction_refused_by_a_budget_is_retried_until_it_is_allowed():
    cluster = web_cluster(count=2)
    cluster.eviction_script[("default", "web-0")] = [429, 429, None]
    result = drain(cluster)
    assert names(result["evicted"]) == ["web-0", "web-1"]
    assert len([c for c in cluster.calls_of("evict") if c[2] == "web-0"]) == 3


def test_a_refused_eviction_is_retried_as_soon_as_its_budget_has_room_again():
    cluster = web_cluster(count=1)
    cluster.pdbs = [make_pdb("web", match_labels={"app": "web"}, disruptions_allowed=1)]
    cluster.eviction_script[("default", "web-0")] = [429, None]
    started = time.monotonic()
    result = drain(cluster, eviction_retry_interval=30, poll_interval=0.02)
    assert time.monotonic() - started < 5
    assert names(result["evicted"]) == ["web-0"]


def test_a_budget_with_room_for_one_releases_one_waiting_pod_per_check():
    cluster = web_cluster(count=3)
    cluster.pdbs = [make_pdb("web", match_labels={"app": "web"}, disruptions_allowed=1)]
    for i in range(3):
        cluster.eviction_script[("default", "web-%d" % i)] = [429, None]
    released = []
    original = cluster.evict_pod

    def evict(namespace, name, grace_period=None, dry_run=False):
        released.append((round(time.monotonic(), 2), name))
        return original(namespace, name, grace_period, dry_run)

    cluster.evict_pod = evict
    result = drain(cluster, eviction_retry_interval=30, poll_interval=0.1)
    assert names(result["evicted"]) == ["web-0", "web-1", "web-2"]
    retry_times = sorted(t for t, _name in released[3:])
    assert len(retry_times) == 3
    assert retry_times[1] - retry_times[0] >= 0.05 and retry_times[2] - retry_times[1] >= 0.05


def test_an_eviction_still_refused_at_the_timeout_is_reported_with_the_blocking_budget():
    cluster = web_cluster(count=2)
    cluster.pdbs = [make_pdb("web", match_labels={"app": "web"}, min_available=2, disruptions_allowed=0,
                             current_healthy=2, desired_healthy=2, expected_pods=2),
                    make_pdb("other", match_labels={"app": "db"})]
    cluster.eviction_script[("default", "web-0")] = [429]
    error = failed_drain(cluster, timeout=0.2)
    assert names(error.details["evicted"]) == ["web-1"]
    assert [(b["name"], [p["name"] for p in b["pdbs"]]) for b in error.details["blocked"]] == [("web-0", ["web"])]
    assert error.details["blocked"][0]["pdbs"][0] == dict(
        namespace="default", name="web", min_available=2, max_unavailable=None, current_healthy=2,
        desired_healthy=2, disruptions_allowed=0, expected_pods=2)
    assert error.details["remaining"] == [dict(namespace="default", name="web-0", uid=cluster.pods[
        ("default", "web-0")]["metadata"]["uid"], reason="eviction refused by a PodDisruptionBudget until the timeout")]
    assert error.message.startswith('drain of node "w1" did not complete within 0.2 seconds (timeout): '
                                    "1 of 2 pods evicted; 1 blocked by PodDisruptionBudgets: default/web-0 "
                                    "(PodDisruptionBudget default/web (minAvailable 2): 0 disruptions allowed, "
                                    "2 healthy of 2 desired, 2 expected pods)")
    assert error.message.endswith("The node is left cordoned: resolve the cause and run the drain again, or make "
                                  "it schedulable with state=uncordon.")
    assert error.details["node_left_cordoned"] is True
    assert error.details["changed"] is True


@pytest.mark.parametrize("uncordon_on_failure, cordoned_before, left_cordoned, fragment", [
    (True, False, False, "The node was uncordoned again (uncordon_on_failure)."),
    (False, False, True, "The node is left cordoned"),
    (True, True, True, "The node was already cordoned before and is left cordoned."),
], ids=["uncordon_on_failure makes the node schedulable again",
        "without uncordon_on_failure the node stays cordoned",
        "a node cordoned before the drain is never uncordoned by a failure"])
def test_a_failed_drain_leaves_the_node_as_the_options_say(uncordon_on_failure, cordoned_before, left_cordoned,
                                                           fragment):
    cluster = web_cluster(count=1, unschedulable=cordoned_before)
    cluster.eviction_script[("default", "web-0")] = [429]
    error = failed_drain(cluster, timeout=0.1, uncordon_on_failure=uncordon_on_failure)
    assert fragment in error.message
    assert error.details["node_left_cordoned"] is left_cordoned
    assert bool(cluster.nodes["w1"]["spec"].get("unschedulable")) is left_cordoned


def test_a_pod_already_gone_at_eviction_counts_as_done():
    cluster = web_cluster(count=1)
    cluster.eviction_script[("default", "web-0")] = [404]
    result = drain(cluster)
    assert result["evicted"][0]["already_gone"] is True
    assert result["changed"] is True  # the cordon


def test_a_pod_that_vanishes_while_its_eviction_waits_for_a_budget_counts_as_gone():
    cluster = web_cluster(count=1)
    cluster.eviction_script[("default", "web-0")] = [429]

    def vanish():
        with cluster.lock:
            cluster.pods.pop(("default", "web-0"))

    timer = threading.Timer(0.05, vanish)
    timer.start()
    result = drain(cluster)
    timer.join()
    assert [(e["name"], e["already_gone"]) for e in result["evicted"]] == [("web-0", True)]


def test_the_wait_polls_each_pod_until_it_is_gone():
    cluster = web_cluster(count=1)
    cluster.gets_until_gone[("default", "web-0")] = 3
    result = drain(cluster)
    assert names(result["evicted"]) == ["web-0"]
    assert len(cluster.calls_of("get_pod")) == 4


def test_a_pod_recreated_under_the_same_name_with_a_new_uid_counts_as_gone():
    cluster = web_cluster(count=1)
    cluster.recreate.add(("default", "web-0"))
    cluster.gets_until_gone[("default", "web-0")] = 1
    result = drain(cluster)
    assert names(result["evicted"]) == ["web-0"]
    assert cluster.pods[("default", "web-0")]["spec"]["nodeName"] == "w2"


def test_a_pod_still_terminating_at_the_timeout_is_reported_as_remaining():
    cluster = web_cluster(count=1)
    cluster.gets_until_gone[("default", "web-0")] = 10 ** 6
    error = failed_drain(cluster, timeout=0.1)
    assert error.details["remaining"][0]["reason"] == "evicted, but still terminating when the timeout expired"
    assert error.details["evicted"] == []
    assert "1 not gone: default/web-0 (evicted, but still terminating when the timeout expired)" in error.message


def test_skip_wait_for_delete_timeout_stops_waiting_for_long_terminating_pods():
    cluster = web_cluster(count=1)
    cluster.gets_until_gone[("default", "web-0")] = 10 ** 6
    result = drain(cluster, skip_wait_for_delete_timeout=1)
    assert names(result["evicted"]) == ["web-0"]
    assert any(w.startswith("stopped waiting for default/web-0") for w in result["drain_warnings"])


def test_a_pod_covered_by_two_budgets_is_reported_clearly():
    cluster = web_cluster(count=1)
    cluster.eviction_script[("default", "web-0")] = [500]
    error = failed_drain(cluster)
    assert "selected by more than one PodDisruptionBudget" in error.details["remaining"][0]["reason"]
    assert "make the budgets' selectors disjoint" in error.message


def test_a_pod_covered_by_two_budgets_names_both_budgets():
    # The API server's 500 does not say which budgets; the message must, or the operator cannot act.
    cluster = web_cluster(count=1)
    cluster.pdbs = [make_pdb("web-b", match_labels={"app": "web"}, max_unavailable=1),
                    make_pdb("web-a", match_labels={"app": "web"}, max_unavailable=1),
                    make_pdb("other", match_labels={"app": "other"}, max_unavailable=1)]
    cluster.eviction_script[("default", "web-0")] = [500]
    error = failed_drain(cluster)
    assert ("selected by more than one PodDisruptionBudget (default/web-a, default/web-b), which the API server "
            "refuses to evict") in error.details["remaining"][0]["reason"]
    assert "default/web-a, default/web-b" in error.message


def test_a_forbidden_eviction_fails_that_pod_without_retrying():
    cluster = web_cluster(count=2)
    cluster.eviction_script[("default", "web-1")] = [403]
    error = failed_drain(cluster)
    assert names(error.details["evicted"]) == ["web-0"]
    assert "cannot create resource" in error.details["remaining"][0]["reason"]
    assert len([c for c in cluster.calls_of("evict") if c[2] == "web-1"]) == 1


@pytest.mark.parametrize("grace_period, sent", [(None, None), (-1, None), (0, 0), (30, 30)],
                         ids=["unset uses the pod's own", "-1 uses the pod's own", "0 is sent as 0",
                              "30 is sent as 30"])
def test_the_grace_period_is_sent_as_given(grace_period, sent):
    cluster = web_cluster(count=1)
    drain(cluster, grace_period=grace_period)
    assert cluster.calls_of("evict")[0][3] == sent


def test_disable_eviction_deletes_pods_and_warns_that_budgets_are_bypassed():
    cluster = web_cluster(count=2)
    cluster.eviction_script[("default", "web-0")] = [429]
    result = drain(cluster, disable_eviction=True)
    assert names(result["deleted"]) == ["web-0", "web-1"]
    assert result["evicted"] == []
    assert cluster.calls_of("evict") == []
    assert any("PodDisruptionBudgets are not honoured" in w for w in result["drain_warnings"])


def test_an_api_failure_in_the_middle_still_reports_the_node_state():
    cluster = web_cluster(count=1)
    calls = []
    original = cluster.list_pods

    def flaky(*args):
        calls.append(args)
        if len(calls) == 2:
            raise NodeOpsError("list the pods of node \"w1\": cannot reach the Kubernetes API server")
        return original(*args)

    cluster.list_pods = flaky
    error = failed_drain(cluster, uncordon_on_failure=True)
    assert "cannot reach the Kubernetes API server" in error.message
    assert "The node was uncordoned again (uncordon_on_failure)." in error.message
    assert error.details["node_left_cordoned"] is False


# ---------------------------------------------------------------- check mode and idempotence

def test_check_mode_reports_the_plan_and_changes_nothing():
    cluster = web_cluster(count=2)
    cluster.add_pod(make_pod("agent-1", owner=("DaemonSet", "agent")))
    cluster.daemonsets.add(("default", "agent"))
    cluster.pdbs = [make_pdb("web", match_labels={"app": "web"}, max_unavailable=1)]
    cluster.eviction_script[("default", "web-1")] = [429]
    result = drain(cluster, check_mode=True, ignore_daemonsets=True)
    assert result["changed"] is True
    assert names(result["evicted"]) == ["web-0"]
    assert [(b["name"], b["pdbs"][0]["name"]) for b in result["would_be_blocked"]] == [("web-1", "web")]
    assert names(result["skipped_pods"]) == ["agent-1"]
    assert result["node_left_cordoned"] is False
    assert cluster.mutations() == []
    assert all(c[-1] is True for c in cluster.calls_of("evict") + cluster.calls_of("patch"))
    assert len(cluster.pods) == 3
    assert "unschedulable" not in cluster.nodes["w1"]["spec"]


def test_check_mode_fails_like_a_real_run_would_on_refused_pods():
    cluster = FakeCluster(nodes=[make_node("w1")], pods=[make_pod("bare", owner=None)])
    error = failed_drain(cluster, check_mode=True)
    assert "use force to override" in error.message
    assert error.message.endswith("Check mode: nothing was changed.")
    assert cluster.mutations() == []


def test_draining_a_drained_node_changes_nothing():
    cluster = web_cluster(count=2)
    cluster.add_pod(make_pod("agent-1", owner=("DaemonSet", "agent")))
    cluster.daemonsets.add(("default", "agent"))
    first = drain(cluster, ignore_daemonsets=True)
    second = drain(cluster, ignore_daemonsets=True)
    assert first["changed"] is True
    assert second["changed"] is False
    assert second["cordoned_before"] is True
    assert second["evicted"] == []
    assert names(second["skipped_pods"]) == ["agent-1"]


def test_check_mode_on_a_drained_node_reports_no_change():
    cluster = web_cluster(count=0, unschedulable=True)
    result = drain(cluster, check_mode=True)
    assert result["changed"] is False


def test_check_mode_on_a_cordoned_node_with_only_terminating_pods_reports_what_the_real_run_reports():
    def cluster():
        pods = [make_pod("web-0", deleting_since="2099-01-01T00:00:00Z")]
        return FakeCluster(nodes=[make_node("w1", unschedulable=True), make_node("w2")], pods=pods)

    checked = drain(cluster(), check_mode=True)
    real = drain(cluster())
    assert real["changed"] is False
    assert checked["changed"] is real["changed"]


def test_a_reused_drainer_waits_between_retries_instead_of_spinning():
    cluster = web_cluster(count=1)
    ticks = []

    def clock():
        ticks.append(None)
        return time.monotonic()

    drainer = NodeDrainer(cluster, "w1", options(eviction_retry_interval=0.1, poll_interval=0.1), clock=clock)
    drainer.run("drain")
    cluster.add_pod(make_pod("web-9", labels={"app": "web"}))
    cluster.eviction_script[("default", "web-9")] = [429, 429, None]
    del ticks[:]
    result = drainer.run("drain")
    assert names(result["evicted"]) == ["web-9"]
    assert len(ticks) < 200

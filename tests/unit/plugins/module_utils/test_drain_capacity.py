"""The capacity pre-check: quantities, tolerations and the fit of a node's pods on the others."""

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_capacity as cap
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_drain_fakes import FakeCluster, make_node, make_pod


@pytest.mark.parametrize("text, value", [
    ("500m", 0.5), ("2", 2.0), ("1.5", 1.5), ("1Ki", 1024.0), ("128Mi", 128 * 2 ** 20), ("1Gi", 2 ** 30),
    ("1k", 1000.0), ("1M", 10 ** 6), ("1e3", 1000.0), ("", 0.0), (None, 0.0), (3, 3.0),
])
def test_quantities_are_read_like_the_api_does(text, value):
    assert cap.parse_quantity(text) == pytest.approx(value)


def test_an_unreadable_quantity_is_an_error():
    with pytest.raises(NodeOpsError):
        cap.parse_quantity("lots")


def test_pod_requests_count_the_largest_init_container_and_the_overhead():
    pod = make_pod("web-0", requests={"cpu": "200m", "memory": "100Mi"})
    pod["spec"]["containers"].append({"name": "side", "resources": {"requests": {"cpu": "100m"}}})
    pod["spec"]["initContainers"] = [{"name": "init", "resources": {"requests": {"cpu": "1", "memory": "10Mi"}}}]
    pod["spec"]["overhead"] = {"cpu": "10m"}
    cpu, memory = cap.pod_requests(pod)
    assert cpu == pytest.approx(1.01)
    assert memory == 100 * 2 ** 20


TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize("tolerations, tolerated", [
    (None, False),
    ([{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}], True),
    ([{"key": "dedicated", "value": "gpu"}], True),
    ([{"key": "dedicated", "operator": "Equal", "value": "cpu"}], False),
    ([{"key": "dedicated", "operator": "Exists"}], True),
    ([{"operator": "Exists"}], True),
    ([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}], False),
], ids=["no tolerations", "exact match", "operator defaults to Equal", "other value", "Exists on the key",
        "Exists on everything", "other effect"])
def test_tolerations_follow_the_api_matching_rules(tolerations, tolerated):
    assert cap.tolerates(tolerations, TAINT) is tolerated


def test_pods_that_fit_are_placed_on_the_node_with_the_most_room():
    nodes = [make_node("w1"), make_node("w2", cpu="2"), make_node("w3", cpu="4")]
    pods = [make_pod("web-0", requests={"cpu": "1", "memory": "1Gi"}),
            make_pod("busy", node="w3", requests={"cpu": "3"})]
    report = cap.check_capacity("w1", nodes, pods)
    assert report["ok"] is True
    assert report["pods_to_move"][0]["placed_on"] == "w2"
    assert report["requested"] == dict(cpu=1.0, memory=2 ** 30)


@pytest.mark.parametrize("nodes, fragment", [
    ([make_node("w1"), make_node("w2", unschedulable=True), make_node("w3", ready=False)],
     'no other node is Ready and schedulable to take the pods of node "w1" (w2: cordoned, w3: not Ready)'),
    ([make_node("w1"), make_node("w2", cpu="500m")], "w2: insufficient cpu (500m free)"),
    ([make_node("w1"), make_node("w2", memory="512Mi")], "w2: insufficient memory (512Mi free)"),
    ([make_node("w1"), make_node("w2", taints=[TAINT])], "w2: taint dedicated=gpu:NoSchedule not tolerated"),
    ([make_node("w1"), make_node("w2", pods="0")], "w2: no free pod slot"),
], ids=["no other Ready schedulable node", "not enough cpu", "not enough memory", "an untolerated taint",
        "no pod slot"])
def test_problems_say_which_pod_does_not_fit_where_and_why(nodes, fragment):
    pods = [make_pod("web-0", requests={"cpu": "1", "memory": "1Gi"})]
    report = cap.check_capacity("w1", nodes, pods)
    assert report["ok"] is False
    assert any(fragment in problem for problem in report["problems"]), report["problems"]


def test_prefer_no_schedule_taints_and_tolerated_taints_do_not_block():
    soft = {"key": "x", "effect": "PreferNoSchedule"}
    nodes = [make_node("w1"), make_node("w2", taints=[soft, TAINT])]
    pod = make_pod("web-0", tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert cap.check_capacity("w1", nodes, [pod])["ok"] is True


def test_a_node_selector_limits_the_candidate_nodes():
    nodes = [make_node("w1"), make_node("w2", labels={"disk": "hdd"})]
    pod = make_pod("db-0", node_selector={"disk": "ssd"})
    report = cap.check_capacity("w1", nodes, [pod])
    assert "w2: nodeSelector does not match" in report["problems"][0]


def test_only_pods_that_will_be_recreated_need_room():
    nodes = [make_node("w1"), make_node("w2", cpu="100m")]
    pods = [make_pod("agent", owner=("DaemonSet", "agent"), requests={"cpu": "1"}),
            make_pod("bare", owner=None, requests={"cpu": "1"}),
            make_pod("done", phase="Succeeded", requests={"cpu": "1"}),
            make_pod("etcd", owner=("Node", "w1"), mirror=True, requests={"cpu": "1"})]
    report = cap.check_capacity("w1", nodes, pods)
    assert report["ok"] is True
    assert sorted(p["name"] for p in report["pods_ignored"]) == ["agent", "bare", "etcd"]


def test_capacity_is_consumed_as_pods_are_placed():
    nodes = [make_node("w1"), make_node("w2", cpu="1")]
    pods = [make_pod("web-%d" % i, requests={"cpu": "400m"}) for i in range(3)]
    report = cap.check_capacity("w1", nodes, pods)
    assert [p["placed_on"] for p in report["pods_to_move"]] == ["w2", "w2", None]
    assert len(report["problems"]) == 1


def test_an_unknown_node_is_reported():
    with pytest.raises(NodeOpsError) as caught:
        cap.check_capacity("nope", [make_node("w1")], [])
    assert 'node "nope" not found' in caught.value.message


def test_the_check_reads_nodes_and_unfinished_pods_through_the_client():
    cluster = FakeCluster(nodes=[make_node("w1"), make_node("w2")],
                          pods=[make_pod("web-0"), make_pod("old", phase="Succeeded")])
    report = cap.run_capacity_check(cluster, "w1")
    assert report["ok"] is True
    assert [p["name"] for p in report["pods_to_move"]] == ["web-0"]
    assert cluster.calls_of("list_all_pods") == [("list_all_pods", "status.phase!=Succeeded,status.phase!=Failed")]

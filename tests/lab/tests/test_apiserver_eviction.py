"""Simulated disruption controller, the eviction subresource and node lifecycle."""

import json
import threading
import time

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conftest import wait_for
from helpers import raw
from nodeops_lab.apiserver.util import fmt_time, fmt_micro_time

NS = "evict"


@pytest.fixture(scope="module", autouse=True)
def namespace(k8s):
    k8s.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))


def make_deployment(k8s, name, replicas, annotations=None):
    k8s.apps.create_namespaced_deployment(NS, client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels={"app": name}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": name}, annotations=annotations),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1")])))))
    wait_for(lambda: k8s.apps.read_namespaced_deployment(name, NS).status.ready_replicas == replicas,
             message="%s ready" % name)


def make_pdb(k8s, name, selector, **spec):
    k8s.policy.create_namespaced_pod_disruption_budget(NS, client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodDisruptionBudgetSpec(selector=client.V1LabelSelector(match_labels=selector), **spec)))


def pdb_status(k8s, name):
    return k8s.policy.read_namespaced_pod_disruption_budget(name, NS).status


def evict(k8s, pod_name, grace=None):
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod_name, namespace=NS),
                             delete_options=client.V1DeleteOptions(grace_period_seconds=grace)
                             if grace is not None else None)
    resp = k8s.core.create_namespaced_pod_eviction(pod_name, NS, body, _preload_content=False)
    assert resp.status == 201
    return json.loads(resp.data)


def live_pods(k8s, selector):
    return [p for p in k8s.core.list_namespaced_pod(NS, label_selector=selector).items
            if not p.metadata.deletion_timestamp]


def test_pdb_status_fields(k8s):
    make_deployment(k8s, "a", 3)
    make_pdb(k8s, "a-min", {"app": "a"}, min_available="50%")
    status = wait_for(lambda: (lambda s: s if s.observed_generation == 1 and s.expected_pods == 3 else None)(
        pdb_status(k8s, "a-min")))
    assert (status.current_healthy, status.desired_healthy, status.disruptions_allowed) == (3, 2, 1)
    cond = [c for c in status.conditions if c.type == "DisruptionAllowed"][0]
    assert cond.status == "True" and cond.reason == "SufficientPods"
    k8s.policy.delete_namespaced_pod_disruption_budget("a-min", NS)
    make_pdb(k8s, "a-max", {"app": "a"}, max_unavailable="34%")
    status = wait_for(lambda: (lambda s: s if s.observed_generation == 1 and s.expected_pods == 3 else None)(
        pdb_status(k8s, "a-max")))
    # 34% of 3 rounds up to 2 unavailable -> desired 1
    assert (status.desired_healthy, status.disruptions_allowed) == (1, 2)
    k8s.policy.delete_namespaced_pod_disruption_budget("a-max", NS)


def test_eviction_without_pdb_and_not_found(k8s):
    pod = live_pods(k8s, "app=a")[0]
    resp = evict(k8s, pod.metadata.name, grace=0)
    assert resp["status"] == "Success"
    with pytest.raises(ApiException) as err:
        evict(k8s, "no-such-pod")
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'pods "no-such-pod" not found'
    wait_for(lambda: k8s.apps.read_namespaced_deployment("a", NS).status.ready_replicas == 3)


def test_eviction_blocked_by_pdb(k8s, lab):
    make_deployment(k8s, "b", 2)
    make_pdb(k8s, "b", {"app": "b"}, min_available=2)
    wait_for(lambda: pdb_status(k8s, "b").current_healthy == 2)
    pod = live_pods(k8s, "app=b")[0].metadata.name
    code, body, _ = raw(lab, "POST", "/api/v1/namespaces/%s/pods/%s/eviction" % (NS, pod),
                        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": NS}})
    assert code == 429
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget b needs 2 healthy pods and has 2 currently"}]
    # policy/v1beta1 bodies are accepted too
    code, body, _ = raw(lab, "POST", "/api/v1/namespaces/%s/pods/%s/eviction" % (NS, pod),
                        {"apiVersion": "policy/v1beta1", "kind": "Eviction", "metadata": {"name": pod}})
    assert code == 429
    # dry run of a permitted eviction changes nothing
    k8s.policy.patch_namespaced_pod_disruption_budget("b", NS, {"spec": {"minAvailable": 1}})
    wait_for(lambda: pdb_status(k8s, "b").disruptions_allowed == 1 and pdb_status(k8s, "b").observed_generation == 2)
    code, body, _ = raw(lab, "POST", "/api/v1/namespaces/%s/pods/%s/eviction?dryRun=All" % (NS, pod),
                        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod}})
    assert code == 201 and body["status"] == "Success"
    assert pdb_status(k8s, "b").disruptions_allowed == 1
    assert k8s.core.read_namespaced_pod(pod, NS).metadata.deletion_timestamp is None


def test_concurrent_evictions_spend_budget_once(k8s):
    make_deployment(k8s, "c", 3)
    make_pdb(k8s, "c", {"app": "c"}, max_unavailable=1)
    wait_for(lambda: pdb_status(k8s, "c").disruptions_allowed == 1)
    names = [p.metadata.name for p in live_pods(k8s, "app=c")][:2]
    results = {}
    barrier = threading.Barrier(2)

    def run(name):
        barrier.wait()
        try:
            evict(k8s, name)
            results[name] = 201
        except ApiException as exc:
            results[name] = exc.status

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results.values()) == [201, 429]
    evicted = [n for n, code in results.items() if code == 201][0]
    status = pdb_status(k8s, "c")
    assert status.disruptions_allowed == 0
    pod = k8s.core.read_namespaced_pod(evicted, NS)
    assert pod.metadata.deletion_timestamp is not None  # graceful: Terminating for a while
    # once the replacement is ready the budget is available again
    wait_for(lambda: pdb_status(k8s, "c").disruptions_allowed == 1, timeout=15)


def test_more_than_one_pdb_is_an_error(k8s):
    make_pdb(k8s, "c-extra", {"app": "c"}, min_available=1)
    wait_for(lambda: pdb_status(k8s, "c-extra").observed_generation == 1)
    name = live_pods(k8s, "app=c")[0].metadata.name
    with pytest.raises(ApiException) as err:
        evict(k8s, name)
    assert err.value.status == 500
    assert json.loads(err.value.body)["message"] == ("This pod has more than one PodDisruptionBudget, which the "
                                                     "eviction subresource does not support.")
    k8s.policy.delete_namespaced_pod_disruption_budget("c-extra", NS)


def test_unready_pod_eviction_rules(k8s):
    make_deployment(k8s, "d", 2)
    make_pdb(k8s, "d", {"app": "d"}, min_available=2)
    wait_for(lambda: pdb_status(k8s, "d").current_healthy == 2)
    # a not-ready pod may be evicted while the budget is healthy (IfHealthyBudget)... but not when it is not
    k8s.core.create_namespaced_pod(NS, client.V1Pod(
        metadata=client.V1ObjectMeta(name="d-unready", labels={"app": "d"},
                                     annotations={"lab.nodeops.io/ready-seconds": "-1"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1")])))
    wait_for(lambda: k8s.core.read_namespaced_pod("d-unready", NS).status.phase == "Running")
    wait_for(lambda: pdb_status(k8s, "d").expected_pods == 3)
    k8s.policy.patch_namespaced_pod_disruption_budget("d", NS, {"spec": {"minAvailable": 3}})
    wait_for(lambda: pdb_status(k8s, "d").desired_healthy == 3)
    with pytest.raises(ApiException) as err:
        evict(k8s, "d-unready")
    assert err.value.status == 429
    assert json.loads(err.value.body)["details"]["causes"][0]["message"] == \
        "The disruption budget d needs 3 healthy pods and has 2 currently"
    k8s.policy.patch_namespaced_pod_disruption_budget("d", NS, {"spec": {"minAvailable": 2}})
    wait_for(lambda: pdb_status(k8s, "d").desired_healthy == 2)
    assert evict(k8s, "d-unready")["status"] == "Success"
    # evicting a pod that is already terminating is accepted without spending budget
    name = live_pods(k8s, "app=d")[0].metadata.name
    k8s.core.delete_namespaced_pod(name, NS)
    assert evict(k8s, name)["status"] == "Success"


def test_node_lifecycle_unknown_when_heartbeats_stop(k8s, lab):
    k8s.core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name="agent-node")))

    def beat():
        now = fmt_time()
        k8s.core.patch_node_status("agent-node", {"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
             "lastHeartbeatTime": now, "lastTransitionTime": now}]}})

    beat()
    k8s.coordination.create_namespaced_lease("kube-node-lease", client.V1Lease(
        metadata=client.V1ObjectMeta(name="agent-node"),
        spec=client.V1LeaseSpec(holder_identity="agent-node", lease_duration_seconds=40,
                                renew_time=fmt_micro_time())))
    grace = 40 * lab.time_scale
    # renewing only the lease keeps the node Ready
    end = time.monotonic() + grace * 1.5
    while time.monotonic() < end:
        k8s.coordination.patch_namespaced_lease("agent-node", "kube-node-lease",
                                                {"spec": {"renewTime": fmt_micro_time()}})
        time.sleep(grace / 5)
    node = k8s.core.read_node("agent-node")
    assert [c.status for c in node.status.conditions if c.type == "Ready"] == ["True"]
    assert not node.spec.taints
    # silence -> Unknown with the real reason/message and the unreachable taint

    def unknown():
        node = k8s.core.read_node("agent-node")
        ready = [c for c in node.status.conditions if c.type == "Ready"][0]
        return node if ready.status == "Unknown" else None
    node = wait_for(unknown, timeout=grace * 4)
    ready = [c for c in node.status.conditions if c.type == "Ready"][0]
    assert ready.reason == "NodeStatusUnknown" and ready.message == "Kubelet stopped posting node status."
    assert [(t.key, t.effect) for t in node.spec.taints] == [("node.kubernetes.io/unreachable", "NoSchedule")]
    # the agent coming back clears it
    beat()
    wait_for(lambda: not k8s.core.read_node("agent-node").spec.taints, timeout=5)
    # Ready=False -> not-ready taint
    k8s.core.patch_node_status("agent-node", {"status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "lastHeartbeatTime": fmt_time()}]}})
    wait_for(lambda: [(t.key, t.effect) for t in k8s.core.read_node("agent-node").spec.taints or []]
             == [("node.kubernetes.io/not-ready", "NoSchedule")], timeout=5)

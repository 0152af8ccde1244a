"""Simulated cluster behaviour: controllers, scheduler, kubelet stand-in, graceful deletion."""

import time

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conftest import wait_for


def pods_of(k8s, selector, namespace="default"):
    return k8s.core.list_namespaced_pod(namespace, label_selector=selector).items


def container(name="c", image="busybox:1.36", **kw):
    return client.V1Container(name=name, image=image, **kw)


def test_seeded_deployment_runs_ready(k8s):
    dep = wait_for(lambda: (lambda d: d if d.status.ready_replicas == 2 else None)(
        k8s.apps.read_namespaced_deployment("web", "default")), message="web ready")
    assert dep.status.available_replicas == 2 and dep.status.updated_replicas == 2
    assert dep.status.observed_generation == dep.metadata.generation
    rs = k8s.apps.list_namespaced_replica_set("default", label_selector="app=web").items
    assert len(rs) == 1
    pod_hash = rs[0].metadata.labels["pod-template-hash"]
    assert rs[0].metadata.name == "web-" + pod_hash
    for pod in pods_of(k8s, "app=web"):
        assert pod.status.phase == "Running" and pod.status.pod_ip and pod.status.host_ip
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert pod.metadata.owner_references[0].controller is True
        assert pod.metadata.labels["pod-template-hash"] == pod_hash
        assert pod.metadata.name.startswith(rs[0].metadata.name + "-")
        assert {c.type for c in pod.status.conditions} >= {"Ready", "ContainersReady", "Initialized",
                                                           "PodScheduled"}
        assert pod.spec.node_name != "lab-cp1"  # control-plane taint not tolerated


def test_deployment_scale_and_rollout(k8s):
    k8s.apps.create_namespaced_deployment("default", client.V1Deployment(
        metadata=client.V1ObjectMeta(name="roll"),
        spec=client.V1DeploymentSpec(
            replicas=2, selector=client.V1LabelSelector(match_labels={"app": "roll"}),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "roll"}),
                                              spec=client.V1PodSpec(containers=[container(image="app:1")])))))
    wait_for(lambda: k8s.apps.read_namespaced_deployment("roll", "default").status.ready_replicas == 2)
    k8s.apps.patch_namespaced_deployment("roll", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "app:2"}]}}}})

    def rolled():
        dep = k8s.apps.read_namespaced_deployment("roll", "default")
        pods = [p for p in pods_of(k8s, "app=roll") if not p.metadata.deletion_timestamp]
        return (dep.status.updated_replicas == 2 and dep.status.available_replicas == 2 and len(pods) == 2
                and all(p.spec.containers[0].image == "app:2" for p in pods))
    wait_for(rolled, timeout=20, message="rollout")
    assert len(k8s.apps.list_namespaced_replica_set("default", label_selector="app=roll").items) == 2
    k8s.apps.delete_namespaced_deployment("roll", "default")
    wait_for(lambda: not pods_of(k8s, "app=roll") and
             not k8s.apps.list_namespaced_replica_set("default", label_selector="app=roll").items,
             timeout=20, message="cascade deletion")


def test_statefulset_pod_recreated_with_same_name_new_uid(k8s):
    wait_for(lambda: k8s.apps.read_namespaced_stateful_set("db", "default").status.ready_replicas == 2)
    old = k8s.core.read_namespaced_pod("db-0", "default")
    assert old.metadata.labels["statefulset.kubernetes.io/pod-name"] == "db-0"
    k8s.core.delete_namespaced_pod("db-0", "default", grace_period_seconds=0)

    def recreated():
        pod = k8s.core.read_namespaced_pod("db-0", "default")
        return pod if pod.metadata.uid != old.metadata.uid and pod.status.phase == "Running" else None
    new = wait_for(recreated, message="db-0 recreated")
    assert new.metadata.name == "db-0"


def test_daemonset_on_every_node_including_cordoned(k8s):
    k8s.core.patch_node("lab-worker1", {"spec": {"unschedulable": True}})
    try:
        k8s.apps.create_namespaced_daemon_set("default", client.V1DaemonSet(
            metadata=client.V1ObjectMeta(name="everywhere"),
            spec=client.V1DaemonSetSpec(
                selector=client.V1LabelSelector(match_labels={"app": "everywhere"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "everywhere"}),
                    spec=client.V1PodSpec(containers=[container()], tolerations=[
                        client.V1Toleration(operator="Exists")])))))

        def placed():
            pods = [p for p in pods_of(k8s, "app=everywhere") if p.status.phase == "Running"]
            return sorted(p.spec.node_name for p in pods) == ["lab-cp1", "lab-worker1", "lab-worker2"]
        wait_for(placed, message="daemonset pods on all nodes")
        ds = wait_for(lambda: (lambda d: d if d.status.number_ready == 3 else None)(
            k8s.apps.read_namespaced_daemon_set("everywhere", "default")))
        assert ds.status.desired_number_scheduled == 3 and ds.status.current_number_scheduled == 3
        pod = pods_of(k8s, "app=everywhere")[0]
        keys = {t.key for t in pod.spec.tolerations}
        assert "node.kubernetes.io/unschedulable" in keys
        # the seeded DaemonSet (tolerating only the control-plane taint) covers all 3 nodes too
        seeded = k8s.apps.read_namespaced_daemon_set("node-agent", "kube-system")
        assert seeded.status.desired_number_scheduled == 3
    finally:
        k8s.core.patch_node("lab-worker1", {"spec": {"unschedulable": None}})
        k8s.apps.delete_namespaced_daemon_set("everywhere", "default")


def test_scheduler_respects_cordon_taints_and_resources(k8s):
    k8s.core.patch_node("lab-worker1", {"spec": {"unschedulable": True}})
    try:
        pod = k8s.core.create_namespaced_pod("default", client.V1Pod(
            metadata=client.V1ObjectMeta(name="sched-1"), spec=client.V1PodSpec(containers=[container()])))
        placed = wait_for(lambda: k8s.core.read_namespaced_pod("sched-1", "default").spec.node_name)
        assert placed == "lab-worker2"
        # too big for any node: stays Pending with PodScheduled=False/Unschedulable
        k8s.core.create_namespaced_pod("default", client.V1Pod(
            metadata=client.V1ObjectMeta(name="huge"),
            spec=client.V1PodSpec(containers=[container(resources=client.V1ResourceRequirements(
                requests={"cpu": "64", "memory": "1Gi"}))])))

        def unschedulable():
            pod = k8s.core.read_namespaced_pod("huge", "default")
            cond = [c for c in pod.status.conditions or [] if c.type == "PodScheduled"]
            return cond and cond[0].status == "False" and cond[0].reason == "Unschedulable" and cond[0]
        cond = wait_for(unschedulable)
        assert "Insufficient cpu" in cond.message and cond.message.startswith("0/3 nodes are available")
        assert k8s.core.read_namespaced_pod("huge", "default").status.phase == "Pending"
        # a toleration plus nodeSelector lets a pod onto the control plane
        k8s.core.create_namespaced_pod("default", client.V1Pod(
            metadata=client.V1ObjectMeta(name="on-cp"),
            spec=client.V1PodSpec(containers=[container()],
                                  node_selector={"node-role.kubernetes.io/control-plane": ""},
                                  tolerations=[client.V1Toleration(key="node-role.kubernetes.io/control-plane",
                                                                   operator="Exists", effect="NoSchedule")])))
        assert wait_for(lambda: k8s.core.read_namespaced_pod("on-cp", "default").spec.node_name) == "lab-cp1"
        # memory is accounted: 3 x 3Gi fit on one 8Gi node only twice
        k8s.core.patch_node("lab-worker1", {"spec": {"unschedulable": None}})
        for index in range(5):
            k8s.core.create_namespaced_pod("default", client.V1Pod(
                metadata=client.V1ObjectMeta(name="mem-%d" % index, labels={"mem": "x"}),
                spec=client.V1PodSpec(containers=[container(resources=client.V1ResourceRequirements(
                    requests={"memory": "3Gi"}))])))
        time.sleep(0.5)
        pods = pods_of(k8s, "mem=x")
        bound = [p.spec.node_name for p in pods if p.spec.node_name]
        assert len(bound) == 4 and bound.count("lab-worker1") == 2 and bound.count("lab-worker2") == 2
    finally:
        k8s.core.patch_node("lab-worker1", {"spec": {"unschedulable": None}})
        for name in ["sched-1", "huge", "on-cp"] + ["mem-%d" % i for i in range(5)]:
            try:
                k8s.core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
            except ApiException:
                pass


def test_graceful_deletion(k8s, lab):
    k8s.core.create_namespaced_pod("default", client.V1Pod(
        metadata=client.V1ObjectMeta(name="graceful"),
        spec=client.V1PodSpec(containers=[container()], termination_grace_period_seconds=40)))
    wait_for(lambda: k8s.core.read_namespaced_pod("graceful", "default").status.phase == "Running")
    started = time.monotonic()
    out = k8s.core.delete_namespaced_pod("graceful", "default")
    assert out.metadata.deletion_timestamp is not None and out.metadata.deletion_grace_period_seconds == 40
    pod = k8s.core.read_namespaced_pod("graceful", "default")
    assert pod.metadata.deletion_timestamp is not None

    def gone():
        try:
            k8s.core.read_namespaced_pod("graceful", "default")
        except ApiException as exc:
            return exc.status == 404
        return False
    wait_for(gone, timeout=10)
    assert time.monotonic() - started >= 40 * lab.time_scale * 0.9


def test_finalizers_hold_deletion(k8s):
    k8s.core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="held", finalizers=["lab.nodeops.io/hold"])))
    k8s.core.delete_namespaced_config_map("held", "default")
    cm = k8s.core.read_namespaced_config_map("held", "default")
    assert cm.metadata.deletion_timestamp is not None
    k8s.core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        k8s.core.read_namespaced_config_map("held", "default")
    assert err.value.status == 404


def test_job_completes(k8s):
    k8s.batch.create_namespaced_job("default", client.V1Job(
        metadata=client.V1ObjectMeta(name="once"),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
            restart_policy="Never", containers=[container()])))))

    def complete():
        job = k8s.batch.read_namespaced_job("once", "default")
        return job.status.succeeded == 1 and any(c.type == "Complete" for c in job.status.conditions or [])
    wait_for(complete, timeout=15)
    pods = pods_of(k8s, "job-name=once")
    assert len(pods) == 1 and pods[0].status.phase == "Succeeded"


def test_bare_pod_run_seconds_and_binding(k8s):
    k8s.core.create_namespaced_pod("default", client.V1Pod(
        metadata=client.V1ObjectMeta(name="manual", annotations={"lab.nodeops.io/run-seconds": "2"}),
        spec=client.V1PodSpec(containers=[container()], restart_policy="Never", scheduler_name="manual")))
    time.sleep(0.2)
    assert k8s.core.read_namespaced_pod("manual", "default").spec.node_name is None
    k8s.core.create_namespaced_pod_binding("manual", "default", client.V1Binding(
        metadata=client.V1ObjectMeta(name="manual"), target=client.V1ObjectReference(kind="Node",
                                                                                     name="lab-worker2")),
        _preload_content=False)
    assert k8s.core.read_namespaced_pod("manual", "default").spec.node_name == "lab-worker2"
    wait_for(lambda: k8s.core.read_namespaced_pod("manual", "default").status.phase == "Succeeded", timeout=10)

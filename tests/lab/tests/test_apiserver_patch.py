"""Simulated API server: merge, strategic merge and JSON patches."""

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from helpers import raw
from nodeops_lab.apiserver.patch import merge_patch, strategic_merge

SMP = "application/strategic-merge-patch+json"


def test_merge_patch_rfc7386():
    assert merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}}) == \
        {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert merge_patch({"a": 1}, {"b": {"c": None}}) == {"a": 1, "b": {}}


def test_strategic_merge_keys():
    pod = {"spec": {"containers": [{"name": "a", "image": "x:1", "env": [{"name": "E", "value": "1"}]},
                                   {"name": "b", "image": "y:1"}],
                    "tolerations": [{"key": "t1", "operator": "Exists"}],
                    "volumes": [{"name": "v1", "emptyDir": {}}]},
           "metadata": {"finalizers": ["f1"]},
           "status": {"conditions": [{"type": "Ready", "status": "False"},
                                     {"type": "PodScheduled", "status": "True"}]}}
    out = strategic_merge(pod, {
        "spec": {"containers": [{"name": "b", "image": "y:2"},
                                {"name": "a", "env": [{"name": "F", "value": "2"}]}],
                 "tolerations": [{"key": "t2", "operator": "Exists"}],
                 "volumes": [{"name": "v1", "$patch": "delete"}]},
        "metadata": {"finalizers": ["f2"]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["a", "b"]
    assert out["spec"]["containers"][1]["image"] == "y:2"
    assert out["spec"]["containers"][0]["env"] == [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]
    assert out["spec"]["tolerations"] == [{"key": "t2", "operator": "Exists"}]
    assert out["spec"]["volumes"] == []
    assert out["metadata"]["finalizers"] == ["f1", "f2"]
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                           {"type": "PodScheduled", "status": "True"}]
    # node taints have no patch strategy: the list is replaced
    node = {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}
    assert strategic_merge(node, {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}}) == \
        {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}}
    # $patch: replace on a map, $deleteFromPrimitiveList, $setElementOrder is ignored
    assert strategic_merge({"m": {"a": 1, "b": 2}}, {"m": {"$patch": "replace", "c": 3}}) == {"m": {"c": 3}}
    assert strategic_merge({"metadata": {"finalizers": ["a", "b"]}},
                           {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}) == \
        {"metadata": {"finalizers": ["b"]}}
    assert strategic_merge({"spec": {"containers": [{"name": "a"}]}},
                           {"spec": {"$setElementOrder/containers": [{"name": "a"}],
                                     "containers": [{"name": "a", "image": "i"}]}}) == \
        {"spec": {"containers": [{"name": "a", "image": "i"}]}}


def test_strategic_patch_node(k8s):
    out = k8s.core.patch_node("lab-worker2", {"spec": {"unschedulable": True}})
    assert out.spec.unschedulable is True
    out = k8s.core.patch_node("lab-worker2", {"metadata": {"labels": {"lab/x": "1"},
                                                           "annotations": {"lab/y": "2"}}})
    assert out.metadata.labels["lab/x"] == "1" and out.metadata.annotations["lab/y"] == "2"
    assert out.metadata.annotations["lab.nodeops.io/simulated"] == "true"
    out = k8s.core.patch_node("lab-worker2", {"spec": {"taints": [
        {"key": "maint", "value": "yes", "effect": "NoSchedule"}]}})
    assert [(t.key, t.effect) for t in out.spec.taints] == [("maint", "NoSchedule")]
    out = k8s.core.patch_node("lab-worker2", {"spec": {"taints": [
        {"key": "other", "effect": "NoExecute"}]}})
    assert [(t.key, t.effect) for t in out.spec.taints] == [("other", "NoExecute")]
    out = k8s.core.patch_node("lab-worker2", {"spec": {"taints": None, "unschedulable": None},
                                              "metadata": {"labels": {"lab/x": None}}})
    assert not out.spec.taints and not out.spec.unschedulable
    assert "lab/x" not in out.metadata.labels


def test_merge_and_json_patch_via_http(lab):
    code, _, _ = raw(lab, "POST", "/api/v1/namespaces/default/configmaps",
                     {"metadata": {"name": "p1"}, "data": {"a": "1", "b": "2"}})
    assert code == 201
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/p1",
                        {"data": {"a": None, "c": "3"}}, content_type="application/merge-patch+json")
    assert code == 200 and body["data"] == {"b": "2", "c": "3"}
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/p1",
                        [{"op": "replace", "path": "/data/b", "value": "20"},
                         {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}],
                        content_type="application/json-patch+json")
    assert code == 200 and body["data"] == {"b": "20", "c": "3"} and body["metadata"]["labels"] == {"x": "y"}
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/p1",
                        [{"op": "test", "path": "/data/b", "value": "nope"}],
                        content_type="application/json-patch+json")
    assert code == 422
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/p1", {"data": {}},
                        content_type="text/plain")
    assert code == 415
    # a resourceVersion in the patch is a precondition
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/p1",
                        {"metadata": {"resourceVersion": "1"}, "data": {"z": "1"}},
                        content_type="application/merge-patch+json")
    assert code == 409 and body["reason"] == "Conflict"
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/missing", {"data": {}},
                        content_type="application/merge-patch+json")
    assert code == 404


def test_server_side_apply_creates_and_merges(lab):
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  a: '1'\n"
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/ssa?fieldManager=t", doc,
                        content_type="application/apply-patch+yaml")
    assert code == 201 and body["data"] == {"a": "1"}
    code, body, _ = raw(lab, "PATCH", "/api/v1/namespaces/default/configmaps/ssa?fieldManager=t",
                        doc.replace("'1'", "'2'"), content_type="application/apply-patch+yaml")
    assert code == 200 and body["data"] == {"a": "2"}


def test_status_subresource_patch(k8s):
    pod = k8s.core.create_namespaced_pod("default", client.V1Pod(
        metadata=client.V1ObjectMeta(name="st", annotations={"lab.nodeops.io/startup-seconds": "1000"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1")],
                              node_name="lab-cp1")))
    out = k8s.core.patch_namespaced_pod_status("st", "default", {"status": {"conditions": [
        {"type": "lab.nodeops.io/custom", "status": "True"}]}})
    assert any(c.type == "lab.nodeops.io/custom" for c in out.status.conditions)
    # the main resource ignores status changes
    out = k8s.core.patch_namespaced_pod("st", "default", {"status": {"phase": "Failed"}})
    assert out.status.phase == pod.status.phase
    # spec fields of a pod are immutable apart from a few
    with pytest.raises(ApiException) as err:
        k8s.core.patch_namespaced_pod("st", "default", {"spec": {"restartPolicy": "Never"}})
    assert err.value.status == 422 and json.loads(err.value.body)["reason"] == "Invalid"
    k8s.core.patch_namespaced_pod("st", "default", {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}})
    k8s.core.delete_namespaced_pod("st", "default", grace_period_seconds=0)


def test_scale_subresource(k8s):
    scale = k8s.apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 2
    k8s.apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    assert k8s.apps.read_namespaced_deployment("web", "default").spec.replicas == 3
    k8s.apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 2}})

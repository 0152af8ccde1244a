"""Simulated API server: selectors, paging and watch."""

import json
import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from conftest import wait_for
from helpers import raw

LAB_SEED = None  # only the default namespaces


@pytest.fixture(scope="module", autouse=True)
def configmaps(k8s):
    for index in range(7):
        labels = {"tier": "a" if index % 2 else "b", "idx": str(index)}
        if index == 3:
            labels["special"] = "yes"
        k8s.core.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="cm-%d" % index, labels=labels)))


def names(items):
    return sorted(i.metadata.name for i in items)


def test_label_selectors(k8s):
    ls = k8s.core.list_namespaced_config_map
    assert names(ls("default", label_selector="tier=a").items) == ["cm-1", "cm-3", "cm-5"]
    assert names(ls("default", label_selector="tier==a,idx!=1").items) == ["cm-3", "cm-5"]
    assert names(ls("default", label_selector="idx in (0, 6)").items) == ["cm-0", "cm-6"]
    assert len(ls("default", label_selector="idx notin (0,6),tier").items) == 5
    assert names(ls("default", label_selector="special").items) == ["cm-3"]
    assert len(ls("default", label_selector="!special,tier").items) == 6
    with pytest.raises(ApiException) as err:
        ls("default", label_selector="a in b")
    assert err.value.status == 400


def test_field_selectors(k8s, lab):
    assert names(k8s.core.list_namespaced_config_map(
        "default", field_selector="metadata.name=cm-2").items) == ["cm-2"]
    assert len(k8s.core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace!=default").items) == 0
    code, body, _ = raw(lab, "GET", "/api/v1/configmaps?fieldSelector=spec.nodeName%3Dx")
    assert code == 400 and body["reason"] == "BadRequest"
    k8s.core.create_namespaced_pod("default", client.V1Pod(
        metadata=client.V1ObjectMeta(name="fs"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="i")])))
    assert names(k8s.core.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items) == ["fs"]
    assert names(k8s.core.list_pod_for_all_namespaces(field_selector="spec.nodeName=").items) == ["fs"]
    assert k8s.core.list_pod_for_all_namespaces(field_selector="spec.nodeName=n1").items == []


def test_limit_continue(k8s):
    seen = []
    token = None
    pages = 0
    while True:
        page = k8s.core.list_namespaced_config_map("default", limit=3, _continue=token)
        pages += 1
        seen.extend(i.metadata.name for i in page.items)
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count > 0
    assert pages == 3
    assert sorted(seen) == ["cm-%d" % i for i in range(7)]


def test_list_kind_and_resource_version(lab):
    code, body, _ = raw(lab, "GET", "/api/v1/namespaces/default/configmaps")
    assert body["kind"] == "ConfigMapList" and body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) > 0


def test_watch_events(k8s):
    rv = k8s.core.list_namespaced_config_map("default").metadata.resource_version
    events = []

    def consume():
        w = watch.Watch()
        for event in w.stream(k8s.core.list_namespaced_config_map, "default", resource_version=rv,
                              label_selector="w=1", timeout_seconds=5):
            events.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.3)
    k8s.core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="watched", labels={"w": "1"})))
    k8s.core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="unwatched", labels={"w": "2"})))
    k8s.core.patch_namespaced_config_map("watched", "default", {"data": {"x": "1"}})
    k8s.core.delete_namespaced_config_map("watched", "default")
    thread.join(10)
    assert events == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]


def test_watch_from_zero_lists_current_state(lab):
    code, body, _ = raw(lab, "GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1"
                                    "&fieldSelector=metadata.name%3Dcm-1")
    events = [json.loads(l) for l in body.splitlines() if l] if isinstance(body, str) else [body]
    assert code == 200 and len(events) == 1
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "cm-1"


def test_watch_selector_transitions(k8s):
    rv = k8s.core.list_namespaced_config_map("default").metadata.resource_version
    k8s.core.patch_namespaced_config_map("cm-0", "default", {"metadata": {"labels": {"moving": "in"}}})
    k8s.core.patch_namespaced_config_map("cm-0", "default", {"metadata": {"labels": {"moving": "out"}}})
    w = watch.Watch()
    seen = []
    for event in w.stream(k8s.core.list_namespaced_config_map, "default", resource_version=rv,
                          label_selector="moving=in", timeout_seconds=1):
        seen.append(event["type"])
        if len(seen) == 2:
            w.stop()
    assert seen == ["ADDED", "DELETED"]


def test_watch_bad_resource_version(lab):
    code, body, _ = raw(lab, "GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=abc")
    assert code == 400

"""Tests of the kubelet_configmap module against a fake of its ConfigMap calls (plain dicts, as the API answers)."""

import json
import os

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.modules import kubelet_configmap

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kubelet")
KUBELET = open(os.path.join(FIXTURES, "kubeadm-config.yaml")).read()


def api_error(status, reason):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "reason": reason, "message": "%s from the fake API" % reason})
    return exc


class FakeCore(object):
    def __init__(self, configmaps, conflicts=0):
        self.configmaps = dict((cm["metadata"]["name"], cm) for cm in configmaps)
        self.conflicts = conflicts
        self.replaced = []
        self.version = 100

    def read_namespaced_config_map(self, name, namespace):
        assert namespace == "kube-system"
        if name not in self.configmaps:
            raise api_error(404, "NotFound")
        return {"metadata": {"name": name, "resourceVersion": str(self.version)},
                "data": dict(self.configmaps[name]["data"])}

    def list_namespaced_config_map(self, namespace):
        return {"items": [self.read_namespaced_config_map(n, namespace) for n in self.configmaps]}

    def replace_namespaced_config_map(self, name, namespace, body):
        if self.conflicts:
            self.conflicts -= 1
            self.version += 1
            raise api_error(409, "Conflict")
        assert body["metadata"]["resourceVersion"] == str(self.version)
        self.version += 1
        self.replaced.append((name, body["data"]["kubelet"]))
        self.configmaps[name]["data"] = dict(body["data"])
        return {"metadata": {"name": name, "resourceVersion": str(self.version)}, "data": body["data"]}


def configmap(name, text=KUBELET):
    return {"metadata": {"name": name}, "data": {"kubelet": text}}


def params(**overrides):
    base = {"name": None, "settings": {"cgroupDriver": "systemd"}, "remove": None, "state": "present"}
    base.update(overrides)
    return base


def test_the_current_configmap_is_updated_keeping_everything_else():
    core = FakeCore([configmap("kubelet-config")])
    result = kubelet_configmap.run_module(params(), False, False, core)
    assert result["changed"] and result["name"] == "kubelet-config"
    assert result["before"] == {"cgroupDriver": "cgroupfs"} and result["after"] == {"cgroupDriver": "systemd"}
    name, text = core.replaced[0]
    expected = yaml.safe_load(KUBELET)
    expected["cgroupDriver"] = "systemd"
    assert yaml.safe_load(text) == expected
    assert result["resource_version"] == "101"


@pytest.mark.parametrize("names, chosen", [
    (["kubelet-config-1.22", "kubelet-config-1.23", "kubelet-config-1.9", "coredns"], "kubelet-config-1.23"),
    (["kubelet-config-1.23", "kubelet-config"], "kubelet-config"),
    (["kubelet-config-1.21", "kubelet-config-1.x"], "kubelet-config-1.21"),
])
def test_older_clusters_use_the_newest_versioned_configmap(names, chosen):
    assert kubelet_configmap.pick_configmap_name(names) == chosen
    core = FakeCore([configmap(name) for name in names])
    assert kubelet_configmap.run_module(params(), True, False, core)["name"] == chosen


def test_an_explicit_name_is_used():
    core = FakeCore([configmap("kubelet-config"), configmap("kubelet-config-1.23")])
    result = kubelet_configmap.run_module(params(name="kubelet-config-1.23"), False, False, core)
    assert core.replaced[0][0] == "kubelet-config-1.23" and result["name"] == "kubelet-config-1.23"


def test_check_mode_with_diff_shows_the_kubelet_text_and_writes_nothing():
    core = FakeCore([configmap("kubelet-config")])
    result = kubelet_configmap.run_module(params(), True, True, core)
    assert result["changed"] and core.replaced == []
    assert result["diff"]["before"] == KUBELET
    assert "cgroupDriver: systemd" in result["diff"]["after"]
    assert result["diff"]["before_header"] == "ConfigMap kube-system/kubelet-config (data.kubelet)"


def test_a_second_apply_changes_nothing():
    core = FakeCore([configmap("kubelet-config")])
    kubelet_configmap.run_module(params(), False, False, core)
    again = kubelet_configmap.run_module(params(), False, False, core)
    assert not again["changed"] and len(core.replaced) == 1


def test_one_conflict_is_retried():
    core = FakeCore([configmap("kubelet-config")], conflicts=1)
    result = kubelet_configmap.run_module(params(), False, False, core)
    assert result["changed"] and len(core.replaced) == 1


def test_two_conflicts_fail_clearly():
    core = FakeCore([configmap("kubelet-config")], conflicts=2)
    with pytest.raises(NodeOpsError, match="changed by someone else twice"):
        kubelet_configmap.run_module(params(), False, False, core)
    assert core.replaced == []


@pytest.mark.parametrize("configmaps, overrides, message", [
    ([], {}, "no kubelet configuration ConfigMap"),
    ([configmap("kubelet-config")], {"name": "kubelet-config-1.20"}, "does not exist"),
    ([{"metadata": {"name": "kubelet-config"}, "data": {"other": "x"}}], {}, "has no data.kubelet"),
    ([configmap("kubelet-config", "kind: Pod\napiVersion: v1\n")], {}, "is not a KubeletConfiguration"),
    ([configmap("kubelet-config", "a: [\n")], {}, "(data.kubelet) is not valid YAML"),
])
def test_problems_are_reported_naming_the_configmap(configmaps, overrides, message):
    core = FakeCore(configmaps)
    with pytest.raises(NodeOpsError) as err:
        kubelet_configmap.run_module(params(**overrides), False, False, core)
    assert message in err.value.message
    assert core.replaced == []


def test_forbidden_is_reported_with_the_rbac_hint():
    class Forbidden(FakeCore):
        def read_namespaced_config_map(self, name, namespace):
            raise api_error(403, "Forbidden")

    with pytest.raises(NodeOpsError, match="RBAC"):
        kubelet_configmap.run_module(params(), False, False, Forbidden([]))


def test_state_absent_removes_fields():
    core = FakeCore([configmap("kubelet-config")])
    result = kubelet_configmap.run_module(params(state="absent", settings=None, remove=["resolvConf"]),
                                          False, False, core)
    assert result["changed"] and "resolvConf" not in yaml.safe_load(core.replaced[0][1])

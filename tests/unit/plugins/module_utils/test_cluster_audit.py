"""The cluster side of the fleet audit: versions, nodes, Leases, cordons, ConfigMaps and blocking budgets."""

import datetime
import json

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cluster_audit as audit
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_filters import UTC
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_cluster_audit_fakes import (
    KUBE_PROXY_CONFIG,
    KUBELET_CONFIG,
    NOW,
    FakeAuditCluster,
    audit_node,
    configmap,
    forbidden,
    lease,
    standard_cluster,
)
from test_drain_fakes import api_error, make_pdb, make_pod

# --------------------------------------------------------------------------
# Times and versions
# --------------------------------------------------------------------------


@pytest.mark.parametrize("info, expected", [
    ({"major": "1", "minor": "34", "gitVersion": "v1.34.4"}, dict(git_version="v1.34.4", major=1, minor=34)),
    ({"major": "1", "minor": "34+", "gitVersion": "v1.34.4-eks-3cfe0ce"},
     dict(git_version="v1.34.4-eks-3cfe0ce", major=1, minor=34)),
    ({"major": "", "minor": "", "gitVersion": "v1.33.2+k3s1"}, dict(git_version="v1.33.2+k3s1", major=1, minor=33)),
], ids=["plain", "managed cluster minor 34+", "numbers only in gitVersion"])
def test_the_api_server_version_is_read_as_numbers(info, expected):
    assert audit.api_server_version(info) == (expected, None)


def test_an_unreadable_version_is_null_and_a_problem():
    version, problem = audit.api_server_version({"major": "one", "minor": "x", "gitVersion": "devel"})
    assert version == dict(git_version="devel", major=None, minor=None)
    assert "no readable version (major 'one', minor 'x', gitVersion 'devel')" in problem
    assert problem.endswith("; api_server.major and api_server.minor are null")


def test_a_version_with_only_the_minor_unreadable_names_only_the_minor():
    version, problem = audit.api_server_version({"major": "1", "minor": "", "gitVersion": None})
    assert version == dict(git_version=None, major=1, minor=None)
    assert problem.endswith("; api_server.minor is null")


@pytest.mark.parametrize("moment, text", [
    (datetime.datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC), "2025-03-01T10:00:00Z"),
    (datetime.datetime(2025, 3, 1, 10, 0, 0, 250000, tzinfo=UTC), "2025-03-01T10:00:00.250000Z"),
    (datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
     "2025-03-01T10:00:00Z"),
], ids=["whole seconds", "microseconds", "converted to UTC"])
def test_times_are_rfc3339_in_utc(moment, text):
    assert audit.format_time(moment) == text


# --------------------------------------------------------------------------
# Node rows
# --------------------------------------------------------------------------


def row(node, node_lease=None):
    entry, problems = audit.node_row(node, node_lease, NOW)
    assert problems == []
    return entry


def test_a_ready_node_row_carries_versions_condition_lease_and_role():
    entry = row(audit_node("cp-1", control_plane=True), lease("cp-1", "2025-03-01T09:59:55.500000Z"))
    assert entry == dict(
        name="cp-1", kubelet_version="v1.34.4", container_runtime_version="containerd://2.1.1",
        ready=True, ready_reason="KubeletReady", ready_message="kubelet is posting ready status",
        ready_since="2025-02-27T08:00:12Z",
        lease_renew_time="2025-03-01T09:59:55.500000Z", lease_age_seconds=4.5, lease_duration_seconds=40,
        unschedulable=False, cordoned_since=None, control_plane=True)


def test_a_not_ready_node_is_false_with_the_reason_and_message():
    entry = row(audit_node("w2", ready=False))
    assert entry["ready"] is False
    assert entry["ready_reason"] == "KubeletNotReady"
    assert entry["ready_message"] == "container runtime network not ready: NetworkReady=false"
    assert entry["control_plane"] is False


@pytest.mark.parametrize("conditions", [
    [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
      "message": "Kubelet stopped posting node status.", "lastTransitionTime": "2025-03-01T09:58:00Z"}],
    [{"type": "MemoryPressure", "status": "False"}],
    [],
], ids=["Unknown", "no Ready condition", "no conditions"])
def test_ready_is_null_when_the_kubelet_status_is_not_known(conditions):
    entry = row(audit_node("w3", condition=conditions))
    assert entry["ready"] is None
    if conditions and conditions[0]["type"] == "Ready":
        assert entry["ready_reason"] == "NodeStatusUnknown"
        assert entry["ready_since"] == "2025-03-01T09:58:00Z"
    else:
        assert (entry["ready_reason"], entry["ready_message"], entry["ready_since"]) == (None, None, None)


@pytest.mark.parametrize("renew, age", [
    ("2025-03-01T09:59:50Z", 10.0),
    ("2025-03-01T09:59:58.123456Z", 1.877),
    ("2025-03-01T09:55:00Z", 300.0),
    ("2025-02-28T10:00:00Z", 86400.0),
], ids=["fresh", "fresh with microseconds", "stale by five minutes", "stale by a day"])
def test_the_lease_age_is_measured_from_the_time_of_the_read(renew, age):
    entry = row(audit_node("w1"), lease("w1", renew))
    assert entry["lease_renew_time"] == renew
    assert entry["lease_age_seconds"] == age
    assert entry["lease_duration_seconds"] == 40


def test_a_node_without_a_lease_has_null_lease_fields():
    entry = row(audit_node("w1"), None)
    assert (entry["lease_renew_time"], entry["lease_age_seconds"], entry["lease_duration_seconds"]) == (
        None, None, None)


def test_a_lease_never_renewed_has_its_duration_but_no_age():
    never = {"metadata": {"name": "w1"}, "spec": {"holderIdentity": "w1", "leaseDurationSeconds": 40}}
    entry = row(audit_node("w1"), never)
    assert (entry["lease_renew_time"], entry["lease_age_seconds"], entry["lease_duration_seconds"]) == (
        None, None, 40)


@pytest.mark.parametrize("kwargs, since", [
    (dict(unschedulable=True, taint_added="2025-03-01T09:00:00Z"), "2025-03-01T09:00:00Z"),
    (dict(unschedulable=True, taint_added="2025-03-01T09:00:00Z", cordoned_at="2025-03-01T08:00:00Z"),
     "2025-03-01T09:00:00Z"),
    (dict(unschedulable=True, cordoned_at="2025-03-01T08:30:00Z"), "2025-03-01T08:30:00Z"),
    (dict(unschedulable=True, cordoned_at="2025-03-01T09:30:00+01:00"), "2025-03-01T08:30:00Z"),
    (dict(unschedulable=True), None),
    (dict(unschedulable=False, cordoned_at="2025-03-01T08:30:00Z"), None),
], ids=["taint timeAdded", "taint wins over the annotation", "annotation", "annotation in another zone",
        "cordoned, no time known", "uncordoned, stale annotation"])
def test_cordoned_since_comes_from_the_taint_else_the_annotation(kwargs, since):
    entry = row(audit_node("w1", **kwargs))
    assert entry["unschedulable"] is kwargs["unschedulable"]
    assert entry["cordoned_since"] == since


def test_an_unreadable_cordon_annotation_is_null_and_a_problem():
    entry, problems = audit.node_row(audit_node("w1", unschedulable=True, cordoned_at="yesterday"), None, NOW)
    assert entry["cordoned_since"] is None
    assert problems == ["node \"w1\": annotation nodeops.kubernetes/cordoned-at='yesterday' is not an RFC 3339 "
                        "time (2025-01-31T12:00:00Z); cordoned_since is null"]


# --------------------------------------------------------------------------
# The kubelet ConfigMap and kube-proxy
# --------------------------------------------------------------------------


def test_a_present_kubelet_config_gives_its_fields_and_null_for_unset_ones():
    summary = audit.kubelet_config_summary("kubelet-config", configmap("kubelet-config", {"kubelet": KUBELET_CONFIG}))
    assert summary == dict(name="kubelet-config", present=True, cgroup_driver="systemd", server_tls_bootstrap=True,
                           fail_cgroup_v1=None, rotate_certificates=True, error=None)


def test_fail_cgroup_v1_false_is_reported_as_false():
    text = KUBELET_CONFIG + "failCgroupV1: false\n"
    summary = audit.kubelet_config_summary("kubelet-config", configmap("kubelet-config", {"kubelet": text}))
    assert summary["fail_cgroup_v1"] is False


def test_an_absent_kubelet_config_is_not_present_and_no_error():
    assert audit.kubelet_config_summary("kubelet-config", None) == dict(
        name="kubelet-config", present=False, cgroup_driver=None, server_tls_bootstrap=None, fail_cgroup_v1=None,
        rotate_certificates=None, error=None)


@pytest.mark.parametrize("data, fragment", [
    ({"kubelet": "cgroupDriver: systemd\n  serverTLSBootstrap: [true\n"},
     "ConfigMap kube-system/kubelet-config data.kubelet is not valid YAML at line"),
    ({"kubelet": "- cgroupDriver: systemd\n"},
     "ConfigMap kube-system/kubelet-config data.kubelet is not a YAML mapping (a KubeletConfiguration), but a list"),
    ({"kubelet": ""}, "is not a YAML mapping (a KubeletConfiguration), but empty"),
    ({"config": KUBELET_CONFIG}, "ConfigMap kube-system/kubelet-config has no data.kubelet key"),
], ids=["not YAML", "not a mapping", "empty", "no kubelet key"])
def test_a_malformed_kubelet_config_is_present_with_an_error_and_null_fields(data, fragment):
    summary = audit.kubelet_config_summary("kubelet-config", configmap("kubelet-config", data))
    assert summary["present"] is True
    assert fragment in summary["error"]
    assert (summary["cgroup_driver"], summary["server_tls_bootstrap"], summary["fail_cgroup_v1"],
            summary["rotate_certificates"]) == (None, None, None, None)


@pytest.mark.parametrize("data, mode", [
    ({"config.conf": KUBE_PROXY_CONFIG}, "ipvs"),
    ({"config.conf": "kind: KubeProxyConfiguration\nmode: \"\"\n"}, "iptables"),
    ({"config.conf": "kind: KubeProxyConfiguration\nmode: nftables\n"}, "nftables"),
], ids=["ipvs", "empty mode is iptables", "nftables"])
def test_the_kube_proxy_mode_comes_from_its_configmap(data, mode):
    assert audit.kube_proxy_summary(configmap("kube-proxy", data)) == (
        dict(mode=mode, source="ConfigMap kube-system/kube-proxy config.conf"), None)


def test_no_kube_proxy_configmap_is_not_found_and_no_problem():
    assert audit.kube_proxy_summary(None) == (dict(mode=None, source="not found"), None)


@pytest.mark.parametrize("data, fragment", [
    ({"kubeconfig.conf": "..."}, "ConfigMap kube-system/kube-proxy has no data.config.conf key"),
    ({"config.conf": "mode: [ipvs\n"}, "is not valid YAML"),
    ({"config.conf": "mode: userspace\n"}, "kube-proxy mode 'userspace'"),
], ids=["no config.conf", "not YAML", "unsupported mode"])
def test_an_unreadable_kube_proxy_mode_is_null_and_a_problem(data, fragment):
    summary, problem = audit.kube_proxy_summary(configmap("kube-proxy", data))
    assert summary["mode"] is None
    assert problem.startswith("kube-proxy mode unknown: ")
    assert fragment in problem


# --------------------------------------------------------------------------
# Blocking PodDisruptionBudgets
# --------------------------------------------------------------------------

WEB_PDB = dict(namespace="shop", match_labels={"app": "web"}, min_available=2, current_healthy=2, desired_healthy=2,
               expected_pods=2)


def blocking(pdbs, pods, nodes=("w1",), daemonsets=()):
    cluster = FakeAuditCluster(daemonsets=daemonsets)
    return audit.blocking_pdbs(pdbs, pods, list(nodes), cluster.daemonset_exists, now=NOW)


def test_a_budget_allowing_nothing_that_selects_a_pod_of_an_audited_node_is_listed():
    found = blocking([make_pdb("web", disruptions_allowed=0, **WEB_PDB)],
                     [make_pod("web-0", namespace="shop", node="w1", labels={"app": "web"})])
    assert found == [dict(
        namespace="shop", name="web",
        description="PodDisruptionBudget shop/web (minAvailable 2): 0 disruptions allowed, 2 healthy of 2 desired, "
                    "2 expected pods",
        disruptions_allowed=0, expected_pods=2, pods=["shop/web-0"], nodes=["w1"])]


def test_a_budget_whose_pods_run_only_on_other_nodes_is_left_out():
    assert blocking([make_pdb("web", disruptions_allowed=0, **WEB_PDB)],
                    [make_pod("web-0", namespace="shop", node="w9", labels={"app": "web"})]) == []


def test_a_budget_selecting_only_daemonset_pods_is_left_out():
    pods = [make_pod("agent-x", namespace="shop", node="w1", labels={"app": "web"}, owner=("DaemonSet", "agent"))]
    assert blocking([make_pdb("web", disruptions_allowed=0, **WEB_PDB)], pods, daemonsets=[("shop", "agent")]) == []


def test_a_budget_allowing_a_disruption_is_left_out():
    assert blocking([make_pdb("web", disruptions_allowed=1, **WEB_PDB)],
                    [make_pod("web-0", namespace="shop", node="w1", labels={"app": "web"})]) == []


@pytest.mark.parametrize("kwargs", [
    dict(phase="Pending"),
    dict(phase="Succeeded"),
    dict(deleting_since="2025-03-01T09:59:00Z"),
    dict(mirror=True, owner=None),
], ids=["Pending", "finished", "being deleted", "mirror pod"])
def test_pods_the_budget_cannot_hold_are_not_counted(kwargs):
    pod = make_pod("web-0", namespace="shop", node="w1", labels={"app": "web"}, **kwargs)
    assert blocking([make_pdb("web", disruptions_allowed=0, **WEB_PDB)], [pod]) == []


@pytest.mark.parametrize("kwargs", [
    dict(emptydir=True),
    dict(owner=None),
    dict(owner=("DaemonSet", "gone")),
], ids=["emptyDir data", "no controller", "DaemonSet that no longer exists"])
def test_pods_a_forced_drain_evicts_are_counted(kwargs):
    pod = make_pod("web-0", namespace="shop", node="w1", labels={"app": "web"}, **kwargs)
    found = blocking([make_pdb("web", disruptions_allowed=0, **WEB_PDB)], [pod])
    assert [(entry["name"], entry["pods"]) for entry in found] == [("web", ["shop/web-0"])]


def test_a_budget_of_another_namespace_does_not_select_the_pod():
    other = make_pdb("web", namespace="blog", match_labels={"app": "web"}, min_available=2, current_healthy=2,
                     desired_healthy=2, expected_pods=2, disruptions_allowed=0)
    assert blocking([other],
                    [make_pod("web-0", namespace="shop", node="w1", labels={"app": "web"})]) == []


def test_pods_and_nodes_are_collected_per_budget_sorted_and_restricted_to_the_audited_nodes():
    pods = [make_pod("web-%d" % index, namespace="shop", node=node, labels={"app": "web"})
            for index, node in ((2, "w3"), (1, "w1"), (0, "w3"), (3, "w9"))]
    pdbs = [make_pdb("web-b", disruptions_allowed=0, **WEB_PDB), make_pdb("web-a", disruptions_allowed=0, **WEB_PDB)]
    found = blocking(pdbs, pods, nodes=("w1", "w3"))
    assert [entry["name"] for entry in found] == ["web-a", "web-b"]
    assert found[0]["pods"] == ["shop/web-0", "shop/web-1", "shop/web-2"]
    assert found[0]["nodes"] == ["w1", "w3"]


# --------------------------------------------------------------------------
# The whole collection
# --------------------------------------------------------------------------


def test_the_audit_of_a_cluster_returns_every_key_of_the_contract():
    cluster = standard_cluster()
    result = audit.collect(cluster, now=NOW)
    assert sorted(result) == ["api_server", "blocking_pdbs", "kube_proxy", "kubelet_config", "nodes", "now",
                              "problems"]
    assert result["now"] == "2025-03-01T10:00:00Z"
    assert result["api_server"] == dict(git_version="v1.34.4", major=1, minor=34)
    assert [n["name"] for n in result["nodes"]] == ["cp-1", "w1", "w2"]
    by_name = dict((n["name"], n) for n in result["nodes"])
    assert by_name["cp-1"]["control_plane"] is True
    assert (by_name["w1"]["ready"], by_name["w1"]["lease_age_seconds"]) == (True, 10.0)
    assert (by_name["w2"]["ready"], by_name["w2"]["lease_age_seconds"]) == (False, 300.0)
    assert (by_name["w2"]["unschedulable"], by_name["w2"]["cordoned_since"]) == (True, "2025-03-01T09:00:00Z")
    assert result["kubelet_config"]["cgroup_driver"] == "systemd"
    assert result["kube_proxy"] == dict(mode="ipvs", source="ConfigMap kube-system/kube-proxy config.conf")
    assert [(p["name"], p["pods"], p["nodes"]) for p in result["blocking_pdbs"]] == [
        ("web", ["shop/web-0", "shop/web-1"], ["w1", "w2"])]
    assert result["problems"] == []
    assert cluster.mutations() == []
    json.dumps(result)


def test_node_names_restrict_the_rows_and_the_pods_listed_per_node():
    cluster = standard_cluster()
    result = audit.collect(cluster, node_names=["w2", "cp-1", "w2"], now=NOW)
    assert [n["name"] for n in result["nodes"]] == ["cp-1", "w2"]
    assert [(p["name"], p["pods"], p["nodes"]) for p in result["blocking_pdbs"]] == [
        ("web", ["shop/web-1"], ["w2"])]
    assert cluster.calls_of("list_all_pods") == [
        ("list_all_pods", "spec.nodeName=cp-1,status.phase=Running"),
        ("list_all_pods", "spec.nodeName=w2,status.phase=Running")]


def test_a_node_name_that_does_not_exist_is_a_problem():
    result = audit.collect(standard_cluster(), node_names=["w1", "w7"], now=NOW)
    assert [n["name"] for n in result["nodes"]] == ["w1"]
    assert result["problems"] == ['node "w7" of node_names does not exist in the cluster (kubectl get nodes); it has '
                                  "no row"]


def test_node_names_that_match_no_node_are_an_error():
    with pytest.raises(NodeOpsError) as caught:
        audit.collect(standard_cluster(), node_names=["w8", "w7"], now=NOW)
    assert caught.value.message.startswith("cluster audit: none of the nodes of node_names exists in the cluster "
                                           "(w7, w8); check the names with kubectl get nodes")


def test_pods_are_not_listed_when_no_budget_allows_nothing():
    cluster = standard_cluster()
    cluster.pdbs = [p for p in cluster.pdbs if p["metadata"]["name"] != "web"]
    result = audit.collect(cluster, now=NOW)
    assert result["blocking_pdbs"] == []
    assert cluster.calls_of("list_all_pods") == []


def test_a_missing_lease_and_missing_configmaps_are_data_not_problems():
    cluster = standard_cluster()
    cluster.leases = [item for item in cluster.leases if item["metadata"]["name"] != "w1"]
    cluster.configmaps = {}
    result = audit.collect(cluster, now=NOW)
    w1 = [n for n in result["nodes"] if n["name"] == "w1"][0]
    assert (w1["lease_renew_time"], w1["lease_age_seconds"], w1["lease_duration_seconds"]) == (None, None, None)
    assert result["kubelet_config"]["present"] is False
    assert result["kube_proxy"] == dict(mode=None, source="not found")
    assert result["problems"] == []


def test_a_custom_kubelet_configmap_name_is_read():
    cluster = standard_cluster()
    legacy = configmap("kubelet-config-1.23", {"kubelet": "cgroupDriver: cgroupfs\n"})
    cluster.configmaps["kubelet-config-1.23"] = legacy
    result = audit.collect(cluster, kubelet_configmap="kubelet-config-1.23", now=NOW)
    assert result["kubelet_config"]["name"] == "kubelet-config-1.23"
    assert result["kubelet_config"]["cgroup_driver"] == "cgroupfs"


@pytest.mark.parametrize("method, check", [
    ("list_node_leases", lambda r: all(n["lease_renew_time"] is None and n["lease_age_seconds"] is None
                                       for n in r["nodes"])),
    ("get_configmap:kubelet-config", lambda r: r["kubelet_config"]["present"] is None
     and "forbidden" in r["kubelet_config"]["error"]),
    ("get_configmap:kube-proxy", lambda r: r["kube_proxy"] == dict(
        mode=None, source="ConfigMap kube-system/kube-proxy not readable")),
    ("list_all_pdbs", lambda r: r["blocking_pdbs"] == []),
    ("list_all_pods", lambda r: r["blocking_pdbs"] == []),
], ids=["leases", "kubelet ConfigMap", "kube-proxy ConfigMap", "budgets", "pods"])
def test_an_unreadable_optional_source_is_a_problem_not_a_failure(method, check):
    cluster = standard_cluster()
    cluster.errors[method] = forbidden("read %s" % method)
    result = audit.collect(cluster, now=NOW)
    assert check(result)
    assert len(result["problems"]) == 1
    assert result["problems"][0].startswith("read %s: forbidden (403" % method)
    assert [n["name"] for n in result["nodes"]] == ["cp-1", "w1", "w2"]


def test_an_unreadable_daemonset_counts_its_pods_as_daemonset_pods():
    cluster = standard_cluster()
    cluster.add_pod(make_pod("agent-1", namespace="shop", node="w1", labels={"app": "web"},
                             owner=("DaemonSet", "agent")))
    cluster.errors["daemonset_exists"] = forbidden('read DaemonSet "shop/agent"')
    result = audit.collect(cluster, now=NOW)
    assert result["blocking_pdbs"][0]["pods"] == ["shop/web-0", "shop/web-1"]
    assert result["problems"] == ['read DaemonSet "shop/agent": forbidden (403: access denied); grant the user the '
                                  "RBAC permissions listed in the module documentation; its pods are counted as "
                                  "DaemonSet pods, which a drain does not evict"]


@pytest.mark.parametrize("method, error, fragment", [
    ("list_nodes", forbidden("list the nodes"),
     "cluster audit cannot go on without the node list: list the nodes: forbidden"),
    ("get_version", api_error(None, "read the API server version (GET /version): cannot reach the Kubernetes API "
                                    "server (the default kubeconfig): timed out; check host/kubeconfig"),
     "cluster audit cannot go on without the API server version: read the API server version (GET /version): "
     "cannot reach"),
    ("list_nodes", api_error(500, "list the nodes: etcdserver: request timed out"),
     "list the nodes: etcdserver: request timed out; the API server answered with an error: check its health"),
], ids=["nodes forbidden", "API server unreachable", "API server error"])
def test_unreadable_nodes_or_version_fail_the_audit_with_cause_and_fix(method, error, fragment):
    cluster = standard_cluster()
    cluster.errors[method] = error
    with pytest.raises(NodeOpsError) as caught:
        audit.collect(cluster, now=NOW)
    assert fragment in caught.value.message


def test_an_empty_kubelet_configmap_name_is_refused():
    with pytest.raises(NodeOpsError) as caught:
        audit.collect(standard_cluster(), kubelet_configmap="", now=NOW)
    assert caught.value.details["option"] == "kubelet_configmap"


def test_the_time_of_the_read_defaults_to_now():
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    result = audit.collect(standard_cluster())
    assert before.strftime("%Y-%m-%dT%H:%M") <= result["now"][:16]
    assert result["now"].endswith("Z")


# --------------------------------------------------------------------------
# The API adapter, against the real client with its HTTP calls replaced
# --------------------------------------------------------------------------


class Response(object):
    def __init__(self, body):
        self.data = json.dumps(body).encode("utf-8")


@pytest.fixture
def api_client():
    kubernetes = pytest.importorskip("kubernetes")
    return audit.ClusterAuditClient(kubernetes.client.ApiClient(kubernetes.client.Configuration()), {})


def api_exception(status, reason, message):
    from kubernetes.client.exceptions import ApiException

    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "reason": reason, "message": message})
    return exc


def test_the_adapter_reads_the_version(api_client, monkeypatch):
    calls = []

    def get_code(**kwargs):
        calls.append(kwargs)
        return Response({"major": "1", "minor": "34+", "gitVersion": "v1.34.4"})

    monkeypatch.setattr(api_client._api, "get_code", get_code)
    assert api_client.get_version() == {"major": "1", "minor": "34+", "gitVersion": "v1.34.4"}
    assert calls[0]["_preload_content"] is False


def test_the_adapter_reads_a_configmap_and_none_when_it_does_not_exist(api_client, monkeypatch):
    def read(name, namespace, **kwargs):
        if name == "kube-proxy":
            raise api_exception(404, "NotFound", 'configmaps "kube-proxy" not found')
        return Response({"metadata": {"name": name, "namespace": namespace}, "data": {"kubelet": "x: 1\n"}})

    monkeypatch.setattr(api_client._api, "read_namespaced_config_map", read)
    assert api_client.get_configmap("kube-system", "kubelet-config")["data"] == {"kubelet": "x: 1\n"}
    assert api_client.get_configmap("kube-system", "kube-proxy") is None


def test_the_adapter_lists_the_node_leases_page_by_page(api_client, monkeypatch):
    calls = []

    def list_leases(namespace, **kwargs):
        calls.append((namespace, kwargs.get("_continue"), kwargs.get("limit")))
        if not kwargs.get("_continue"):
            return Response({"metadata": {"continue": "page2"}, "items": [lease("w1", "2025-03-01T09:59:50Z")]})
        return Response({"metadata": {}, "items": [lease("w2", "2025-03-01T09:59:51Z")]})

    monkeypatch.setattr(api_client._api, "list_namespaced_lease", list_leases)
    assert [item["metadata"]["name"] for item in api_client.list_node_leases()] == ["w1", "w2"]
    assert calls == [("kube-node-lease", None, 500), ("kube-node-lease", "page2", 500)]


def test_the_adapter_lists_the_budgets_of_all_namespaces(api_client, monkeypatch):
    pdb = make_pdb("web", **WEB_PDB)
    monkeypatch.setattr(api_client._api, "list_pod_disruption_budget_for_all_namespaces",
                        lambda **kwargs: Response({"metadata": {}, "items": [pdb]}))
    assert api_client.list_all_pdbs() == [pdb]


def test_a_forbidden_read_names_the_action_and_the_fix(api_client, monkeypatch):
    def list_leases(namespace, **kwargs):
        raise api_exception(403, "Forbidden", 'leases.coordination.k8s.io is forbidden: User "audit" cannot list')

    monkeypatch.setattr(api_client._api, "list_namespaced_lease", list_leases)
    with pytest.raises(NodeOpsError) as caught:
        api_client.list_node_leases()
    assert caught.value.message.startswith('list the Leases of namespace "kube-node-lease": forbidden (403: '
                                           'leases.coordination.k8s.io is forbidden: User "audit" cannot list); '
                                           "grant the user the RBAC permissions")
    assert caught.value.details["status"] == 403

"""The audit's rules: each input the operations' checks return, turned into the right severity and fix."""

import copy

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _audit
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

DAY = 86400
API = {"git_version": "v1.34.4", "major": 1, "minor": 34}


def row(name="w1", **extra):
    value = {"name": name, "kubelet_version": "v1.34.4", "container_runtime_version": "containerd://2.1.1",
             "ready": True, "ready_reason": "KubeletReady", "ready_message": "", "ready_since": "2026-11-30T10:00:00Z",
             "lease_renew_time": "2026-12-01T10:00:00Z", "lease_age_seconds": 3.0, "lease_duration_seconds": 40,
             "unschedulable": False, "cordoned_since": None, "control_plane": False}
    value.update(extra)
    return value


def runtime(kubelet_driver="systemd", containerd_driver=True, cgroup_version=2, **kubelet):
    facts = {"container_runtime": "containerd", "cgroup_version": cgroup_version,
             "kubelet": {"cgroup_driver_effective": kubelet_driver, "server_tls_bootstrap": None,
                         "fail_cgroup_v1": None, "container_runtime_endpoint": "unix:///run/containerd/containerd.sock"},
             "containerd": {"systemd_cgroup": {"runc": containerd_driver}}, "docker": {}}
    facts["kubelet"].update(kubelet)
    return facts


def cluster(nodes=None, configmap_driver="systemd", **facts):
    value = {"now": "2026-12-01T10:00:03Z", "api_server": API, "nodes": nodes if nodes is not None else [row()],
             "kubelet_config": {"name": "kubelet-config", "present": True, "cgroup_driver": configmap_driver,
                                "server_tls_bootstrap": None, "error": None},
             "kube_proxy": {"mode": "iptables", "source": "ConfigMap kube-system/kube-proxy config.conf"},
             "blocking_pdbs": [], "problems": []}
    value.update(facts)
    return {"cluster": value, "docker_cluster": {"findings": []}, "csrs": {"approved": [], "refused": []},
            "nodelocaldns": {"daemonset": None}}


def by_check(findings):
    out = {}
    for item in findings:
        out.setdefault(item["check"], []).append(item)
    return out


def one(findings, check):
    found = by_check(findings)[check]
    assert len(found) == 1, found
    return found[0]


def cert_row(name, days, **extra):
    value = {"name": name, "path": "/etc/kubernetes/pki/%s.crt" % name, "missing": False,
             "expires": "2027-01-01T00:00:00Z", "residual_seconds": int(days * DAY), "expired": days <= 0,
             "externally_managed": False}
    value.update(extra)
    return value


def cert_report(days=300, kubelet_days=300, serving_bootstrapped=True, **extra):
    value = {"now": "2026-12-01T10:00:00Z",
             "certificates": [cert_row("apiserver", days), cert_row("admin.conf", 364)],
             "kubelet": [cert_row("kubelet-client", kubelet_days),
                         cert_row("kubelet-serving", 300, bootstrapped=serving_bootstrapped)],
             "expired": [], "due": []}
    value.update(extra)
    return value


# --------------------------------------------------------------------------- a healthy node

def test_a_healthy_node_has_no_action_or_warning():
    findings = _audit.node_findings("w1", {"runtime": runtime(), "certificates": cert_report(), "control_plane": True},
                                    cluster())
    assert _audit.worst(findings) == _audit.INFO, [f for f in findings if f["severity"] != "ok"]
    infos = sorted(f["check"] for f in findings if f["severity"] == _audit.INFO)
    assert infos == ["nodelocaldns", "serving-csr"]


def test_finding_ids_are_stable_and_unique_per_node():
    findings = _audit.node_findings("w1", {"runtime": runtime()}, cluster())
    ids = [f["id"] for f in findings]
    assert len(ids) == len(set(ids))
    assert "cgroup-driver:node/w1" in ids


def test_an_unknown_severity_is_refused():
    with pytest.raises(NodeOpsError, match="unknown severity"):
        _audit.finding("x", "critical", "why")


# --------------------------------------------------------------------------- versions

@pytest.mark.parametrize("kubelet, severity", [
    ("v1.34.4", "ok"), ("v1.33.7", "info"), ("v1.32.0", "info"), ("v1.31.9", "warn"), ("v1.30.1", "action"),
    ("v1.35.0", "action"), ("garbage", "warn"),
])
def test_kubelet_skew_against_the_api_server(kubelet, severity):
    item = _audit.kubelet_version("w1", row(kubelet_version=kubelet), API)
    assert item["severity"] == severity, item


def test_versions_with_build_suffixes_parse():
    assert _audit.parse_version("v1.34.4+k3s1") == (1, 34, 4)
    assert _audit.parse_version("1.34") == (1, 34, 0)
    assert _audit.parse_version("v1.35.0-rc.1") == (1, 35, 0)
    assert _audit.parse_version(None) is None


# --------------------------------------------------------------------------- runtime and drivers

def test_a_docker_node_is_told_to_switch():
    facts = runtime()
    facts["container_runtime"] = "docker"
    item = _audit.container_runtime("w1", row(container_runtime_version="docker://20.10.24"), facts)
    assert item["severity"] == "warn"
    assert "switch_to_containerd" in item["fix"] and "containerd_switch_hosts=w1" in item["fix"]


def test_kubelet_and_runtime_disagreeing_is_an_action():
    item = _audit.cgroup_driver("w1", runtime("systemd", containerd_driver=False), "systemd")
    assert item["severity"] == "action"
    assert "systemd" in item["reason"] and "cgroupfs" in item["reason"]
    assert item["fix"].endswith("migrate_cgroup_driver -e cgroup_driver_hosts=w1")


def test_a_node_on_cgroupfs_while_the_configmap_says_systemd_is_an_action():
    item = _audit.cgroup_driver("w1", runtime("cgroupfs", containerd_driver=False), "systemd")
    assert item["severity"] == "action"
    assert "ConfigMap says systemd" in item["reason"]


def test_a_consistent_cgroupfs_node_is_a_warning():
    item = _audit.cgroup_driver("w1", runtime("cgroupfs", containerd_driver=False), "cgroupfs")
    assert item["severity"] == "warn"


def test_mixed_containerd_handlers_count_as_unknown_runtime_driver():
    facts = runtime()
    facts["containerd"]["systemd_cgroup"] = {"runc": True, "kata": False}
    assert _audit.runtime_cgroup_driver(facts) == "mixed"
    assert _audit.cgroup_driver("w1", facts, "systemd")["severity"] == "action"


@pytest.mark.parametrize("version, kubelet, fail_v1, severity", [
    (2, "v1.34.4", None, "ok"),
    (1, "v1.34.4", None, "warn"),
    (1, "v1.34.4", False, "info"),
    (1, "v1.35.0", None, "action"),
    (1, "v1.35.0", True, "action"),
    (1, "v1.35.0", False, "info"),
    (None, "v1.34.4", None, "warn"),
])
def test_cgroup_v1_against_fail_cgroup_v1(version, kubelet, fail_v1, severity):
    facts = runtime(cgroup_version=version, fail_cgroup_v1=fail_v1)
    item = _audit.cgroup_version("w1", row(kubelet_version=kubelet), facts)
    assert item["severity"] == severity, item


# --------------------------------------------------------------------------- certificates

def test_a_certificate_due_within_the_threshold_is_an_action_with_its_date():
    report = cert_report(days=10)
    report["certificates"][0]["expires"] = "2026-12-11T10:00:00Z"
    item = one(_audit.certificates("cp1", report, 30, True), "certificates")
    assert item["severity"] == "action"
    assert item["due"] == "2026-12-11T10:00:00Z"
    assert "cert_renewal_hosts=cp1" in item["fix"]
    assert item["value"]["due"] == ["apiserver"]


def test_certificates_far_from_expiry_are_ok_and_say_when_they_fall_due():
    report = cert_report(days=100)
    report["certificates"][0]["expires"] = "2027-03-11T10:00:00Z"
    item = one(_audit.certificates("cp1", report, 30, True), "certificates")
    assert item["severity"] == "ok"
    # the 30-day window opens 30 days before the first expiry
    assert item["due"] == "2027-02-09T10:00:00Z"


def test_external_ca_certificates_name_who_renews_them():
    report = cert_report(days=5)
    report["certificates"][0]["externally_managed"] = True
    item = one(_audit.certificates("cp1", report, 30, True), "certificates")
    assert "external CA" in item["fix"] and "apiserver" in item["fix"]


def test_an_expired_certificate_says_expired():
    report = cert_report(days=-1)
    item = one(_audit.certificates("cp1", report, 30, True), "certificates")
    assert item["severity"] == "action" and "expired" in item["reason"]


def test_workers_get_only_the_kubelet_rows():
    found = by_check(_audit.certificates("w1", cert_report(days=1), 30, False))
    assert "certificates" not in found
    assert found["kubelet-client-certificate"][0]["severity"] == "ok"


def test_a_kubelet_client_certificate_not_rotated_in_time_is_a_warning_and_expired_an_action():
    item = one(_audit.certificates("w1", cert_report(kubelet_days=3), 30, False), "kubelet-client-certificate")
    assert item["severity"] == "warn"
    item = one(_audit.certificates("w1", cert_report(kubelet_days=-2), 30, False), "kubelet-client-certificate")
    assert item["severity"] == "action"


def test_a_self_signed_serving_certificate_is_info():
    item = one(_audit.certificates("w1", cert_report(serving_bootstrapped=False), 30, False),
               "kubelet-serving-certificate")
    assert item["severity"] == "info" and "signed itself" in item["reason"]


# --------------------------------------------------------------------------- serving CSRs

def test_a_pending_approvable_serving_csr_is_a_warning():
    pending = {"approved": [{"name": "csr-1", "node": "w1"}], "refused": []}
    item = _audit.server_tls_bootstrap("w1", runtime(server_tls_bootstrap=True), True, pending)
    assert item["severity"] == "warn" and "csr-1" in item["reason"]
    assert "kubelet_csr_approve" in item["fix"]


def test_a_pending_csr_naming_foreign_addresses_is_an_action_never_approved():
    pending = {"approved": [], "refused": [{"name": "csr-2", "node": "w1", "reasons": ["IP 10.0.0.99 not in ..."]}]}
    item = _audit.server_tls_bootstrap("w1", runtime(server_tls_bootstrap=True), True, pending)
    assert item["severity"] == "action" and "10.0.0.99" in item["reason"]
    assert "never approve" in item["fix"]


def test_csrs_of_other_nodes_do_not_count():
    pending = {"approved": [{"name": "csr-1", "node": "w2"}], "refused": []}
    assert _audit.server_tls_bootstrap("w1", runtime(server_tls_bootstrap=True), True, pending)["severity"] == "ok"


def test_the_configmap_asking_for_bootstrap_the_node_lacks_is_a_warning():
    item = _audit.server_tls_bootstrap("w1", runtime(), True, {})
    assert item["severity"] == "warn"


# --------------------------------------------------------------------------- Docker

SOCKET_DS = {"id": "docker-hostpath:daemonset/monitoring/agent/docker-sock", "check": "docker-hostpath",
             "severity": "blocking", "where": "daemonset/monitoring/agent/docker-sock",
             "what": "mounts the Docker socket", "breaks": "calls through the Docker socket fail",
             "fix": "use the CRI instead", "nodes": ["w1"], "acknowledged": False}


def test_a_docker_socket_daemonset_on_a_containerd_node_is_an_action():
    found = _audit.docker_dependencies("w1", "containerd", {"findings": []}, {"findings": [SOCKET_DS]})
    assert [f["severity"] for f in found] == ["action"]
    assert found[0]["id"] == "docker-dependency:" + SOCKET_DS["id"]
    assert found[0]["fix"] == "use the CRI instead"
    assert "runs no Docker" in found[0]["reason"]


def test_the_same_daemonset_on_a_docker_node_blocks_the_switch_as_a_warning():
    found = _audit.docker_dependencies("w1", "docker", {"findings": []}, {"findings": [SOCKET_DS]})
    assert found[0]["severity"] == "warn" and "blocks the switch" in found[0]["reason"]


def test_findings_of_other_nodes_and_acknowledged_ones_are_left_out():
    other = dict(SOCKET_DS, nodes=["w2"])
    acked = dict(SOCKET_DS, id="x", acknowledged=True)
    found = _audit.docker_dependencies("w1", "containerd", {"findings": []}, {"findings": [other, acked]})
    assert [f["severity"] for f in found] == ["ok"]


# --------------------------------------------------------------------------- NodeLocal DNSCache, readiness

def test_nodelocaldns_absent_is_info_present_and_answering_ok_silent_an_action():
    assert _audit.nodelocaldns("w1", {"daemonset": None}, None)["severity"] == "info"
    present = {"daemonset": {"name": "node-local-dns", "desired": 3, "ready": 3}}
    ok = _audit.nodelocaldns("w1", present, {"rcode": "NOERROR", "seconds": 0.002, "server": "169.254.20.10"})
    assert ok["severity"] == "ok" and "169.254.20.10" in ok["reason"]
    bad = _audit.nodelocaldns("w1", present, {"msg": "no answer after 3 attempts", "server": "169.254.20.10"})
    assert bad["severity"] == "action" and "no answer" in bad["reason"]


@pytest.mark.parametrize("extra, severity", [
    ({}, "ok"),
    ({"ready": False, "ready_reason": "KubeletNotReady"}, "action"),
    ({"lease_age_seconds": 95.0}, "action"),
    ({"lease_age_seconds": None}, "warn"),
])
def test_ready_with_a_fresh_lease(extra, severity):
    assert one(_audit.readiness("w1", row(**extra), None), "node-ready")["severity"] == severity


def test_a_cordoned_node_says_since_when_if_known():
    item = one(_audit.readiness("w1", row(unschedulable=True, cordoned_since="2026-11-30T08:00:00Z"), None),
               "node-schedulable")
    assert item["severity"] == "warn" and "since 2026-11-30T08:00:00Z" in item["reason"]
    item = one(_audit.readiness("w1", row(unschedulable=True), None), "node-schedulable")
    assert "no timestamp" in item["reason"]


def test_a_host_without_a_node_object_is_an_action():
    findings = _audit.node_findings("ghost", {"runtime": runtime()}, cluster())
    assert one(findings, "node-ready")["severity"] == "action"


def test_an_unreachable_node_is_an_action_not_a_crash():
    findings = _audit.node_findings("w1", {"error": "UNREACHABLE"}, cluster())
    assert one(findings, "node-facts")["severity"] == "action"


# --------------------------------------------------------------------------- cluster

def test_a_clean_cluster_has_no_action():
    found = _audit.cluster_findings(cluster(), {"w1": runtime()})
    assert _audit.worst(found) == "info"


def test_the_configmap_against_the_nodes():
    found = _audit.cluster_findings(cluster(), {"w1": runtime(), "w2": runtime("cgroupfs", False)})
    item = one(found, "kubelet-configmap")
    assert item["severity"] == "action"
    assert item["value"]["disagreeing"] == ["w2"]
    assert item["fix"].endswith("cgroup_driver_hosts=w2")


def test_a_pdb_allowing_no_disruption_is_reported_with_its_nodes():
    pdb = {"namespace": "shop", "name": "web", "description": "PodDisruptionBudget shop/web: 0 disruptions allowed",
           "disruptions_allowed": 0, "expected_pods": 1, "pods": ["shop/web-1"], "nodes": ["w1"]}
    found = _audit.cluster_findings(cluster(blocking_pdbs=[pdb]), {"w1": runtime()})
    item = one(found, "pdb-blocks-drain")
    assert item["severity"] == "warn" and item["id"] == "pdb-blocks-drain:shop/web"
    assert "w1" in item["reason"] and item["value"]["nodes"] == ["w1"]


def test_a_missing_or_broken_configmap():
    c = cluster()
    c["cluster"]["kubelet_config"] = {"name": "kubelet-config", "present": False}
    assert one(_audit.cluster_findings(c, {}), "kubelet-configmap")["severity"] == "warn"
    c = copy.deepcopy(cluster())
    c["cluster"]["kubelet_config"]["error"] = "not YAML"
    assert one(_audit.cluster_findings(c, {}), "kubelet-configmap")["severity"] == "action"


def test_a_pending_csr_of_no_audited_node_is_a_cluster_finding():
    c = cluster()
    c["csrs"] = {"approved": [{"name": "csr-9", "node": "w9"}],
                 "refused": [{"name": "csr-x", "node": None, "requester": "kubernetes-admin",
                              "reasons": ["requester 'kubernetes-admin' is not a node"]},
                             {"name": "csr-1", "node": "w1", "requester": "system:node:w1", "reasons": ["bad IP"]}]}
    found = [f for f in _audit.cluster_findings(c, {"w1": runtime()}) if f["check"] == "serving-csr"]
    assert sorted((f["id"], f["severity"]) for f in found) == [("serving-csr:csr/csr-9", "warn"),
                                                               ("serving-csr:csr/csr-x", "action")]
    assert "kubernetes-admin" in [f for f in found if f["severity"] == "action"][0]["reason"]

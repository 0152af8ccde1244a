"""Tests of the NodeLocal DNSCache facts and decisions."""

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._nodelocaldns import (
    cluster_domain,
    daemonset_summary,
    kubelet_cluster_dns,
    localip_argument,
    loopback_resolvers,
    plan_cluster,
    plan_node,
    proxy_mode,
    resolv_conf_nameservers,
    service_cluster_ip,
)

KUBELET = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
cgroupDriver: cgroupfs
"""


def facts(mode="iptables", kubelet_dns=None, upstream=None, others=None):
    return {"cluster_dns_ip": "10.96.0.10", "kubernetes_service_ip": "10.96.0.1", "proxy_mode": mode,
            "kubelet_cluster_dns": ["10.96.0.10"] if kubelet_dns is None else kubelet_dns,
            "upstream_ip": upstream, "daemonset": None, "others": others or []}


def test_cluster_domain_is_read_from_the_kubelet_configmap():
    text = KUBELET.replace("cluster.local", "corp.example.")
    assert cluster_domain(text, "cm") == ("corp.example", "cm")


def test_cluster_domain_defaults_when_absent_and_says_so():
    domain, source = cluster_domain("kind: KubeletConfiguration\n", "cm")
    assert domain == "cluster.local"
    assert "no clusterDomain" in source


def test_a_broken_kubelet_configmap_is_refused_with_its_line():
    with pytest.raises(NodeOpsError, match="line 2"):
        cluster_domain("kind: KubeletConfiguration\nclusterDomain: a: b\n", "ConfigMap kube-system/kubelet-config")


def test_cluster_dns_list_is_read():
    assert kubelet_cluster_dns(KUBELET, "cm") == ["10.96.0.10"]
    assert kubelet_cluster_dns(None, "cm") == []


@pytest.mark.parametrize("text,mode", [
    ("kind: KubeProxyConfiguration\nmode: ipvs\n", "ipvs"),
    ("kind: KubeProxyConfiguration\nmode: \"\"\n", "iptables"),
    ("kind: KubeProxyConfiguration\n", "iptables"),
    ("kind: KubeProxyConfiguration\nmode: NFTables\n", "nftables"),
])
def test_proxy_mode(text, mode):
    assert proxy_mode(text, "cm") == mode


def test_unknown_proxy_mode_is_refused():
    with pytest.raises(NodeOpsError, match="kernelspace"):
        proxy_mode("mode: kernelspace\n", "cm")


def test_missing_kube_proxy_config_names_the_fix():
    with pytest.raises(NodeOpsError, match="proxy_mode"):
        proxy_mode(None, "ConfigMap kube-system/kube-proxy")


def test_service_cluster_ip_refuses_missing_and_headless():
    with pytest.raises(NodeOpsError, match="does not exist"):
        service_cluster_ip(None, "kube-system/kube-dns")
    with pytest.raises(NodeOpsError, match="headless"):
        service_cluster_ip({"spec": {"clusterIP": "None"}}, "kube-system/kube-dns")
    assert service_cluster_ip({"spec": {"clusterIP": "10.96.0.10"}}, "x") == "10.96.0.10"


def test_iptables_mode_binds_both_addresses_and_keeps_the_kubelets():
    plan = plan_cluster(facts(upstream="10.96.7.7"), "169.254.20.10", "auto", "present")
    assert plan["bind_ips"] == ["169.254.20.10", "10.96.0.10"]
    assert plan["localip_arg"] == "169.254.20.10,10.96.0.10"
    assert plan["forward_cluster_to"] == "10.96.7.7"
    assert plan["roll_kubelets"] is False
    assert plan["kubelet_cluster_dns_target"] == ["10.96.0.10"]


def test_iptables_mode_forward_target_is_unknown_until_the_upstream_service_exists():
    assert plan_cluster(facts(), "169.254.20.10", "auto", "present")["forward_cluster_to"] is None


def test_iptables_mode_rolls_kubelets_only_when_asked():
    plan = plan_cluster(facts(), "169.254.20.10", "always", "present")
    assert plan["roll_kubelets"] is True
    assert plan["kubelet_cluster_dns_target"] == ["169.254.20.10"]


def test_ipvs_mode_binds_only_the_local_address_without_trailing_comma_and_rolls_kubelets():
    plan = plan_cluster(facts(mode="ipvs"), "169.254.20.10", "auto", "present")
    assert plan["bind_ips"] == ["169.254.20.10"]
    assert plan["localip_arg"] == "169.254.20.10"
    assert not plan["localip_arg"].endswith(",")
    assert plan["forward_cluster_to"] == "10.96.0.10"
    assert plan["roll_kubelets"] is True


def test_ipvs_mode_refuses_a_cache_no_pod_would_use():
    with pytest.raises(NodeOpsError, match="IPVS"):
        plan_cluster(facts(mode="ipvs"), "169.254.20.10", "never", "present")


def test_local_ip_must_not_be_the_kube_dns_address():
    with pytest.raises(NodeOpsError, match="kube-dns Service ClusterIP"):
        plan_cluster(facts(), "10.96.0.10", "auto", "present")


@pytest.mark.parametrize("bad", ["169.254.20", "fd00::10", "not-an-ip"])
def test_local_ip_must_be_an_ipv4_address(bad):
    with pytest.raises(NodeOpsError, match="local_ip"):
        plan_cluster(facts(), bad, "auto", "present")


def test_non_link_local_address_is_a_note_not_a_refusal():
    plan = plan_cluster(facts(), "10.255.0.10", "auto", "present")
    assert any("not link-local" in note for note in plan["notes"])


def test_another_installers_cache_is_refused_with_the_way_out():
    other = {"name": "nodelocaldns", "image": "registry.k8s.io/dns/k8s-dns-node-cache:1.22.20",
             "local_ips": ["169.254.25.10"], "managers": ["kubectl-client-side-apply"]}
    with pytest.raises(NodeOpsError, match="enable_nodelocaldns: false"):
        plan_cluster(facts(others=[other]), "169.254.20.10", "auto", "present")
    # removing ours is still allowed
    assert plan_cluster(facts(others=[other]), "169.254.20.10", "auto", "absent")


def test_removal_rolls_back_only_kubelets_configured_for_the_cache():
    assert plan_cluster(facts(), "169.254.20.10", "auto", "absent")["roll_kubelets"] is False
    plan = plan_cluster(facts(kubelet_dns=["169.254.20.10"]), "169.254.20.10", "auto", "absent")
    assert plan["roll_kubelets"] is True
    assert plan["kubelet_cluster_dns_target"] == ["10.96.0.10"]


def test_localip_argument_drops_empty_elements():
    assert localip_argument(["169.254.20.10", "", " "]) == "169.254.20.10"


def test_daemonset_summary_reads_args_and_status():
    container = {"image": "img:1", "args": ["-localip", "169.254.20.10,10.96.0.10", "-conf", "/etc/Corefile"]}
    summary = daemonset_summary({
        "metadata": {"name": "node-local-dns", "managedFields": [{"manager": "nodeops"}, {"manager": "kubelet"}]},
        "spec": {"template": {"spec": {"containers": [container]}}},
        "status": {"desiredNumberScheduled": 3, "updatedNumberScheduled": 2, "numberReady": 1},
    })
    assert summary["local_ips"] == ["169.254.20.10", "10.96.0.10"]
    assert summary["managers"] == ["kubelet", "nodeops"]
    assert (summary["desired"], summary["updated"], summary["ready"]) == (3, 2, 1)
    assert daemonset_summary(None) is None


def test_resolv_conf_parsing_ignores_comments_and_options():
    text = "# generated\nnameserver 10.0.0.2 # corp\nsearch example.com\noptions ndots:5\nnameserver 127.0.0.53\n"
    assert resolv_conf_nameservers(text) == ["10.0.0.2", "127.0.0.53"]
    assert loopback_resolvers(["10.0.0.2", "127.0.0.53", "bad"]) == ["127.0.0.53"]


def cluster(mode="iptables", choice="auto", state="present", kubelet_dns=None):
    result = facts(mode=mode, kubelet_dns=kubelet_dns)
    result["plan"] = plan_cluster(result, "169.254.20.10", choice, state)
    return result


def test_node_plan_without_kubelet_change_expects_the_kube_dns_nameserver():
    plan = plan_node(KUBELET, cluster(), "present", "169.254.20.10", "nameserver 10.0.0.2\n", "n1")
    assert plan["kubelet_change"] is False
    assert plan["expected_nameserver"] == "10.96.0.10"
    assert plan["refusals"] == []


def test_node_plan_in_ipvs_mode_points_the_kubelet_at_the_cache():
    plan = plan_node(KUBELET, cluster(mode="ipvs"), "present", "169.254.20.10", "nameserver 10.0.0.2\n", "n1")
    assert plan["kubelet_change"] is True
    assert plan["cluster_dns_before"] == ["10.96.0.10"]
    assert plan["cluster_dns_target"] == ["169.254.20.10"]
    assert plan["expected_nameserver"] == "169.254.20.10"


def test_node_plan_second_run_changes_nothing():
    rolled = KUBELET.replace("- 10.96.0.10", "- 169.254.20.10")
    plan = plan_node(rolled, cluster(mode="ipvs"), "present", "169.254.20.10", "nameserver 10.0.0.2\n", "n1")
    assert plan["kubelet_change"] is False


def test_node_plan_refuses_a_resolv_conf_that_would_loop():
    plan = plan_node(KUBELET, cluster(), "present", "169.254.20.10", "nameserver 169.254.20.10\n", "n1")
    assert plan["refusals"] and "loop" in plan["refusals"][0]


def test_node_plan_removal_points_a_rolled_kubelet_back():
    rolled = KUBELET.replace("- 10.96.0.10", "- 169.254.20.10")
    plan = plan_node(rolled, cluster(state="absent", kubelet_dns=["169.254.20.10"]), "absent", "169.254.20.10",
                     "nameserver 10.0.0.2\n", "n1")
    assert plan["kubelet_change"] is True
    assert plan["cluster_dns_target"] == ["10.96.0.10"]
    assert plan["expected_nameserver"] == "10.96.0.10"


def test_node_plan_removal_also_reverts_a_node_the_configmap_does_not_know_about():
    rolled = KUBELET.replace("- 10.96.0.10", "- 169.254.20.10")
    plan = plan_node(rolled, cluster(state="absent"), "absent", "169.254.20.10", "nameserver 10.0.0.2\n", "n1")
    assert plan["cluster_dns_target"] == ["10.96.0.10"]
    assert plan["kubelet_change"] is True

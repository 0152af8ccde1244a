"""The NodeLocal DNSCache manifests, rendered by Ansible's own templating from the role's templates and defaults."""

import os
import re

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "nodelocaldns")


def render_text(name, mode="iptables", domain="cluster.local", **overrides):
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        variables = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        variables.update(yaml.safe_load(handle))
    local = overrides.get("nodelocaldns_local_ip", variables["nodelocaldns_local_ip"])
    bind = [local] if mode == "ipvs" else [local, "10.96.0.10"]
    variables.update(
        kube_node_name="node-1",
        nodelocaldns_cluster={
            "cluster_domain": domain, "cluster_dns_ip": "10.96.0.10", "proxy_mode": mode,
            "plan": {"bind_ips": bind, "localip_arg": ",".join(bind),
                     "forward_cluster_to": "10.96.0.10" if mode == "ipvs" else "10.96.77.7"},
        },
    )
    variables.update(overrides)
    with open(os.path.join(ROLE, "templates", name)) as handle:
        source = handle.read()
    text = Templar(loader=DataLoader(), variables=variables).template(trust_as_template(source),
                                                                      escape_backslashes=False)
    return text, list(yaml.safe_load_all(text))


def render(name, **kwargs):
    return render_text(name, **kwargs)[1]


def by_kind(docs):
    return dict((doc["kind"], doc) for doc in docs)


def corefile_blocks(corefile):
    """zone -> list of directive lines (a small parser of the Corefile's server blocks)."""
    blocks, zone, depth = {}, None, 0
    for line in corefile.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if depth == 0 and stripped.endswith("{"):
            zone = stripped[:-1].strip()
            blocks[zone] = []
            depth = 1
            continue
        if stripped.endswith("{"):
            depth += 1
        if stripped == "}":
            depth -= 1
            continue
        if depth >= 1:
            blocks[zone].append(stripped)
    assert depth == 0, "unbalanced braces"
    return blocks


@pytest.mark.parametrize("mode", ["iptables", "ipvs", "nftables"])
def test_no_placeholder_and_no_empty_localip_element(mode):
    text, docs = render_text("nodelocaldns.yaml.j2", mode=mode)
    assert "__PILLAR__" not in text
    args = by_kind(docs)["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["args"]
    localip = args[args.index("-localip") + 1]
    assert all(part for part in localip.split(","))
    assert [doc["kind"] for doc in docs] == ["ServiceAccount", "ConfigMap", "DaemonSet", "Service"]


def test_iptables_mode_binds_both_addresses_and_forwards_to_the_upstream_service():
    docs = render("nodelocaldns.yaml.j2", mode="iptables")
    blocks = corefile_blocks(by_kind(docs)["ConfigMap"]["data"]["Corefile"])
    assert list(blocks) == ["cluster.local:53", "in-addr.arpa:53", "ip6.arpa:53", ".:53"]
    for zone in ("cluster.local:53", "in-addr.arpa:53", "ip6.arpa:53"):
        assert "bind 169.254.20.10 10.96.0.10" in blocks[zone]
        assert "forward . 10.96.77.7 {" in blocks[zone]
        assert "force_tcp" in blocks[zone]
    assert "forward . /etc/resolv.conf" in blocks[".:53"]
    assert "force_tcp" not in blocks[".:53"]
    assert "health 169.254.20.10:8080" in blocks["cluster.local:53"]
    args = by_kind(docs)["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["-localip", "169.254.20.10,10.96.0.10"]


def test_ipvs_mode_binds_only_the_local_address_and_forwards_to_kube_dns():
    docs = render("nodelocaldns.yaml.j2", mode="ipvs")
    blocks = corefile_blocks(by_kind(docs)["ConfigMap"]["data"]["Corefile"])
    assert "bind 169.254.20.10" in blocks["cluster.local:53"]
    assert "forward . 10.96.0.10 {" in blocks["cluster.local:53"]
    args = by_kind(docs)["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["-localip", "169.254.20.10"]


def test_cluster_domain_and_variables_reach_the_manifests():
    docs = render("nodelocaldns.yaml.j2", domain="corp.example", nodelocaldns_local_ip="169.254.25.10",
                  nodelocaldns_image_registry="mirror.corp:5000", nodelocaldns_image_tag="1.25.0",
                  nodelocaldns_health_port=9254, nodelocaldns_skip_teardown=True, nodelocaldns_priority_class="",
                  nodelocaldns_node_selector={"kubernetes.io/os": "linux"})
    blocks = corefile_blocks(by_kind(docs)["ConfigMap"]["data"]["Corefile"])
    assert "corp.example:53" in blocks
    assert "health 169.254.25.10:9254" in blocks["corp.example:53"]
    pod = by_kind(docs)["DaemonSet"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "mirror.corp:5000/dns/k8s-dns-node-cache:1.25.0"
    assert "-skipteardown=true" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"host": "169.254.25.10", "path": "/health", "port": 9254}
    assert "priorityClassName" not in pod
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "Default"


def test_defaults_match_the_upstream_addon_shape():
    docs = render("nodelocaldns.yaml.j2")
    daemonset = by_kind(docs)["DaemonSet"]
    pod = daemonset["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "registry.k8s.io/dns/k8s-dns-node-cache:1.26.4"
    assert container["securityContext"]["capabilities"]["add"] == ["NET_ADMIN"]
    assert pod["priorityClassName"] == "system-node-critical"
    assert daemonset["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == "10%"
    volumes = dict((volume["name"], volume) for volume in pod["volumes"])
    assert volumes["config-volume"]["configMap"]["items"] == [{"key": "Corefile", "path": "Corefile.base"}]
    assert by_kind(docs)["Service"]["spec"]["clusterIP"] == "None"


def test_upstream_service_selects_the_dns_pods():
    text, docs = render_text("upstream-service.yaml.j2")
    service = docs[0]
    assert service["metadata"]["name"] == "kube-dns-upstream"
    assert service["spec"]["selector"] == {"k8s-app": "kube-dns"}
    assert sorted(port["protocol"] for port in service["spec"]["ports"]) == ["TCP", "UDP"]
    assert not re.search(r"\{\{|\}\}", text)

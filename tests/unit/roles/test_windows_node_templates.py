"""The Windows kube-proxy and flannel DaemonSets, rendered by Ansible's own templating from the role's
templates, defaults and vars with what the preflight typically finds."""

import json
import os
import re

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "windows_node")
TEMPLATES = ("kube-proxy-windows.yaml.j2", "kube-flannel-ds-windows.yaml.j2")

# What nodeops.kubernetes.windows_cluster_preflight returns for a kubeadm cluster with Flannel.
PREFLIGHT = {"changed": False, "cluster_version": "v1.34.4", "flannel_namespace": "kube-flannel",
             "flannel_network": "10.244.0.0/16", "flannel_version": "v0.26.1",
             "windows_network_name": "flannel.4096", "service_cidr": "10.96.0.0/12",
             "api_server": "https://10.0.0.10:6443", "findings": [], "problems": []}


def _trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    if isinstance(value, dict):
        return dict((key, _trusted(item)) for key, item in value.items())
    return value


def variables(**overrides):
    found = {}
    for part in ("defaults", "vars"):
        with open(os.path.join(ROLE, part, "main.yml")) as handle:
            found.update(yaml.safe_load(handle))
    found = _trusted(found)
    found.update(inventory_hostname="win-1", windows_node_cluster=PREFLIGHT,
                 windows_node_cluster_version="v1.34.4")
    found.update(overrides)
    return found


def render_text(name, **overrides):
    with open(os.path.join(ROLE, "templates", name)) as handle:
        source = handle.read()
    templar = Templar(loader=DataLoader(), variables=variables(**overrides))
    text = templar.template(trust_as_template(source), escape_backslashes=False)
    return text, list(yaml.safe_load_all(text))


def by_kind(docs):
    return dict((doc["kind"], doc) for doc in docs)


def pod_of(docs):
    return by_kind(docs)["DaemonSet"]["spec"]["template"]["spec"]


def env_of(container):
    return dict((item["name"], item.get("value", item.get("valueFrom"))) for item in container["env"])


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_placeholder_is_left_and_the_objects_are_a_configmap_and_a_daemonset(name):
    text, docs = render_text(name)
    assert not re.search(r"\{\{|\}\}|\{%|%\}|VERSION|FLANNEL_VERSION|__[A-Z_]+__", text)
    assert [doc["kind"] for doc in docs] == ["ConfigMap", "DaemonSet"]
    assert all(doc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "nodeops" for doc in docs)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_pods_are_hostprocess_containers_on_windows_nodes_only(name):
    docs = render_text(name)[1]
    pod = pod_of(docs)
    assert pod["securityContext"]["windowsOptions"] == {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\system"}
    assert pod["hostNetwork"] is True
    assert pod["nodeSelector"]["kubernetes.io/os"] == "windows"
    assert pod["tolerations"] == [{"operator": "Exists"}]
    daemonset = by_kind(docs)["DaemonSet"]
    assert daemonset["spec"]["selector"]["matchLabels"].items() <= daemonset["spec"]["template"]["metadata"][
        "labels"].items()
    start = pod["containers"][0]["command"][-1]
    assert start.startswith("& (Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT 'etc\\")
    mounted = dict((mount["name"], mount["mountPath"]) for mount in pod["containers"][0]["volumeMounts"])
    configmap = by_kind(docs)["ConfigMap"]["metadata"]["name"]
    volume = [v["name"] for v in pod["volumes"] if v.get("configMap", {}).get("name") == configmap][0]
    assert start.split("'")[1].replace("\\", "/").startswith(mounted[volume].lstrip("/"))
    assert "start.ps1" in by_kind(docs)["ConfigMap"]["data"]


def test_kube_proxy_follows_the_cluster_version_and_the_flannel_network():
    docs = render_text("kube-proxy-windows.yaml.j2")[1]
    assert {doc["metadata"]["namespace"] for doc in docs} == {"kube-system"}
    assert by_kind(docs)["DaemonSet"]["metadata"]["name"] == "kube-proxy-windows"
    pod = pod_of(docs)
    container = pod["containers"][0]
    assert container["image"] == "docker.io/sigwindowstools/kube-proxy:v1.34.4-flannel-hostprocess"
    assert pod["serviceAccountName"] == "kube-proxy"
    env = env_of(container)
    assert env["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert (env["KUBE_API_SERVER"], env["CLUSTER_CIDR"], env["NETWORK_NAME"]) == (
        "https://10.0.0.10:6443", "10.244.0.0/16", "flannel.4096")
    assert env["CNI_BIN_DIR"] == "C:\\opt\\cni\\bin" and env["SOURCE_VIP_FILE"] == "C:\\k\\kube-proxy-source-vip.json"
    script = by_kind(docs)["ConfigMap"]["data"]["start.ps1"]
    assert "'--proxy-mode=kernelspace'" in script and '"--source-vip=$vip"' in script


def test_flannel_runs_next_to_the_linux_flannel_with_its_version_and_configmap():
    docs = render_text("kube-flannel-ds-windows.yaml.j2")[1]
    assert {doc["metadata"]["namespace"] for doc in docs} == {"kube-flannel"}
    pod = pod_of(docs)
    assert pod["containers"][0]["image"] == "docker.io/sigwindowstools/flannel:v0.26.1-hostprocess"
    assert pod["serviceAccountName"] == "flannel"
    assert {"name": "flannel-cfg", "configMap": {"name": "kube-flannel-cfg"}} in pod["volumes"]
    env = env_of(pod["containers"][0])
    assert env["NODE_IP"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
    assert env["CNI_CONF_DIR"] == "C:\\etc\\cni\\net.d"


def test_the_cni_configuration_is_json_for_the_vxlan_network():
    docs = render_text("kube-flannel-ds-windows.yaml.j2")[1]
    cni = json.loads(by_kind(docs)["ConfigMap"]["data"]["cni-conf.json"])
    assert (cni["name"], cni["type"], cni["delegate"]["type"]) == ("flannel.4096", "flannel", "sdnoverlay")
    assert cni["subnetFile"] == "C:\\run\\flannel\\subnet.env"
    policies = dict((p["Value"]["Type"], p["Value"]["Settings"]) for p in cni["delegate"]["AdditionalArgs"])
    assert policies["OutBoundNAT"] == {"Exceptions": ["10.244.0.0/16", "10.96.0.0/12"]}
    assert policies["SDNROUTE"] == {"DestinationPrefix": "10.96.0.0/12", "NeedEncap": True}
    assert policies["ProviderAddress"] == {"ProviderAddress": ""}


def test_an_air_gapped_mirror_and_explicit_values_reach_the_manifests():
    overrides = dict(windows_node_kube_proxy_image_registry="mirror.corp:5000",
                     windows_node_kube_proxy_image_name="windows/kube-proxy",
                     windows_node_kube_proxy_image_tag="v1.34.4-hpc",
                     windows_node_flannel_image_registry="mirror.corp:5000",
                     windows_node_flannel_image_name="windows/flannel",
                     windows_node_flannel_image_tag="v0.27.0-hostprocess",
                     windows_node_flannel_namespace="kube-system", windows_node_cluster_cidr="10.200.0.0/16",
                     windows_node_service_cidr="10.100.0.0/16", windows_node_network_name="vxlan0",
                     windows_node_api_server_endpoint="api.corp:6443")
    proxy = pod_of(render_text("kube-proxy-windows.yaml.j2", **overrides)[1])["containers"][0]
    assert proxy["image"] == "mirror.corp:5000/windows/kube-proxy:v1.34.4-hpc"
    assert env_of(proxy)["KUBE_API_SERVER"] == "https://api.corp:6443"
    assert env_of(proxy)["NETWORK_NAME"] == "vxlan0" and env_of(proxy)["CLUSTER_CIDR"] == "10.200.0.0/16"
    docs = render_text("kube-flannel-ds-windows.yaml.j2", **overrides)[1]
    assert pod_of(docs)["containers"][0]["image"] == "mirror.corp:5000/windows/flannel:v0.27.0-hostprocess"
    assert by_kind(docs)["DaemonSet"]["metadata"]["namespace"] == "kube-system"
    cni = json.loads(by_kind(docs)["ConfigMap"]["data"]["cni-conf.json"])
    exceptions = cni["delegate"]["AdditionalArgs"][0]["Value"]["Settings"]["Exceptions"]
    assert exceptions == ["10.200.0.0/16", "10.100.0.0/16"]


def test_an_asked_for_version_sets_the_kube_proxy_tag():
    proxy = pod_of(render_text("kube-proxy-windows.yaml.j2", windows_node_kubernetes_version="v1.34.5")[1])
    assert proxy["containers"][0]["image"].endswith(":v1.34.5-flannel-hostprocess")


def test_an_image_without_registry_has_no_leading_slash():
    proxy = pod_of(render_text("kube-proxy-windows.yaml.j2", windows_node_kube_proxy_image_registry="")[1])
    assert proxy["containers"][0]["image"] == "sigwindowstools/kube-proxy:v1.34.4-flannel-hostprocess"


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_field_is_one_the_api_knows(name):
    """The kubernetes client's models drop unknown fields: a round trip through them must keep everything."""
    client = pytest.importorskip("kubernetes.client")
    api = client.ApiClient()
    for doc in render_text(name)[1]:
        # the deserializer behind ApiClient.deserialize, whose signature differs between client versions
        model = api._ApiClient__deserialize(doc, "V1" + doc["kind"])
        assert api.sanitize_for_serialization(model) == doc

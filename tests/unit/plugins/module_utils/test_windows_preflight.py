# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows cluster preflight, each check alone on fake API objects, then the chain."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _windows_preflight as wp
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.timezone.utc)


def netconf_cm(backend=None, namespace="kube-flannel", extra=None):
    netconf = {"Network": "10.244.0.0/16", "EnableNFTables": False,
               "Backend": backend if backend is not None else {"Type": "vxlan", "VNI": 4096, "Port": 4789}}
    netconf.update(extra or {})
    return {"metadata": {"name": "kube-flannel-cfg", "namespace": namespace},
            "data": {"cni-conf.json": "{}", "net-conf.json": json.dumps(netconf, indent=2)}}


def daemonset(*images):
    return {"metadata": {"name": "ds"},
            "spec": {"template": {"spec": {"containers": [{"name": "c%d" % i, "image": image}
                                                          for i, image in enumerate(images)]}}}}


# --- each check alone ---------------------------------------------------------------------------

@pytest.mark.parametrize("version, status", [("v1.34.4", wp.OK), ("v1.14.0", wp.OK), ("v1.13.12", wp.ERROR),
                                             ("v1.29.1-eks-abc", wp.OK)])
def test_the_cluster_version_must_support_windows_workers(version, status):
    found = wp.check_cluster_version(version)
    assert found[0]["status"] == status and version in found[0]["message"]


def test_an_old_version_names_the_hostprocess_limit():
    assert "HostProcess" in wp.check_cluster_version("v1.20.0")[0]["message"]


def test_a_vxlan_backend_with_windows_values_passes():
    assert [f["status"] for f in wp.check_flannel_netconf(netconf_cm())] == [wp.OK]


def test_type_is_compared_like_flannel_does():
    assert wp.check_flannel_netconf(netconf_cm({"Type": "VXLAN", "VNI": 4096, "Port": 4789}))[0]["status"] == wp.OK


def test_each_mismatch_is_reported_with_its_fix():
    found = wp.check_flannel_netconf(netconf_cm({"Type": "host-gw"}))
    assert [f["check"] for f in found] == ["flannel_backend_type", "flannel_backend_vni", "flannel_backend_port"]
    assert all(f["status"] == wp.ERROR and "fix_flannel=true" in f["fix"] for f in found)
    assert 'Backend.Type is "host-gw"; Windows nodes need "vxlan"' in found[0]["message"]
    assert "Backend.VNI is null" in found[1]["message"]


def test_a_default_flannel_vxlan_config_lacks_vni_and_port():
    found = wp.check_flannel_netconf(netconf_cm({"Type": "vxlan"}))
    assert [f["check"] for f in found] == ["flannel_backend_vni", "flannel_backend_port"]


def test_a_malformed_net_conf_is_refused_not_guessed():
    configmap = netconf_cm()
    configmap["data"]["net-conf.json"] = '{"Backend": {"Type": "vxlan",}'
    with pytest.raises(NodeOpsError, match="is not JSON.*not rewritten from a guess"):
        wp.check_flannel_netconf(configmap)


def test_the_fixed_net_conf_keeps_every_other_key():
    configmap = netconf_cm({"Type": "vxlan", "VNI": 1, "DirectRouting": True}, extra={"EnableIPv6": False})
    fixed = json.loads(wp.fixed_netconf_text(configmap))
    assert fixed["Backend"] == {"Type": "vxlan", "VNI": 4096, "Port": 4789, "DirectRouting": True}
    assert fixed["Network"] == "10.244.0.0/16" and fixed["EnableIPv6"] is False


@pytest.mark.parametrize("image, tag", [("registry.k8s.io/kube-proxy:v1.34.4", "v1.34.4"),
                                        ("localhost:5000/kube-proxy:v1.34.4-flannel-hostprocess",
                                         "v1.34.4-flannel-hostprocess"),
                                        ("localhost:5000/kube-proxy", None),
                                        ("x/kube-proxy:v1.34.4@sha256:00", "v1.34.4")])
def test_image_tags_are_read_past_registry_ports_and_digests(image, tag):
    assert wp.image_tag(image) == tag


@pytest.mark.parametrize("tag, matches", [("v1.34.4", True), ("v1.34.4-flannel-hostprocess", True),
                                          ("v1.34.40", False), ("v1.33.4", False), (None, False)])
def test_a_tag_matches_the_cluster_version_exactly(tag, matches):
    assert wp.tag_matches_version(tag, "v1.34.4") is matches


def test_a_missing_windows_daemonset_is_an_error_with_the_fix():
    found = wp.check_windows_daemonset(None, "kube-proxy", "kube-system", "kube-proxy-windows", "v1.34.4")
    assert found[0]["status"] == wp.ERROR and "does not exist" in found[0]["message"] and found[0]["fix"]


def test_a_windows_kube_proxy_of_another_version_is_an_error():
    found = wp.check_windows_daemonset(daemonset("sigwindowstools/kube-proxy:v1.33.2-flannel-hostprocess"),
                                       "kube-proxy", "kube-system", "kube-proxy-windows", git_version="v1.34.4")
    assert found[0]["status"] == wp.ERROR and "is not the cluster version v1.34.4" in found[0]["message"]


def test_the_windows_flannel_tag_is_only_compared_when_asked():
    ds = daemonset("sigwindowstools/flannel:v0.26.1-hostprocess")
    assert wp.check_windows_daemonset(ds, "flannel", "kube-system", "f")[0]["status"] == wp.OK
    assert wp.check_windows_daemonset(ds, "flannel", "kube-system", "f", wanted_tag="v0.27.0")[0]["status"] == wp.ERROR


def test_the_restart_patch_is_kubectls():
    assert wp.restart_patch(NOW) == {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-30T12:00:00Z"}}}}}


# --- the chain on a fake API --------------------------------------------------------------------

class FakeApi(object):
    def __init__(self, version="v1.34.4", configmaps=None, daemonsets=None):
        self.version = version
        self.configmaps = configmaps if configmaps is not None else {("kube-flannel", "kube-flannel-cfg"): netconf_cm()}
        self.daemonsets = daemonsets if daemonsets is not None else {
            ("kube-flannel", "kube-flannel-ds"): daemonset("ghcr.io/flannel-io/flannel:v0.26.1"),
            ("kube-system", "kube-proxy-windows"): daemonset("sigwindowstools/kube-proxy:v1.34.4-flannel-hostprocess"),
            ("kube-flannel", "kube-flannel-ds-windows-amd64"): daemonset("sigwindowstools/flannel:v0.26.1-hostprocess"),
        }
        self.patches = []

    def get_version(self):
        return {"gitVersion": self.version}

    def get_configmap(self, namespace, name):
        return copy.deepcopy(self.configmaps.get((namespace, name)))

    def get_daemonset(self, namespace, name):
        return copy.deepcopy(self.daemonsets.get((namespace, name)))

    def patch_configmap(self, namespace, name, body, dry_run):
        self.patches.append(("configmap", namespace, name, body, dry_run))

    def patch_daemonset(self, namespace, name, body, dry_run):
        self.patches.append(("daemonset", namespace, name, body, dry_run))


PARAMS = {"flannel_configmap": "kube-flannel-cfg", "flannel_namespaces": ["kube-flannel", "kube-system"],
          "flannel_daemonset": "kube-flannel-ds", "fix_flannel": False, "windows_namespace": "kube-system",
          "windows_kube_proxy_daemonset": "kube-proxy-windows",
          "windows_flannel_daemonset": "kube-flannel-ds-windows-amd64", "windows_flannel_image_tag": None,
          "on_problem": "fail"}


def run(api, check_mode=False, **params):
    return wp.run(api, dict(PARAMS, **params), check_mode, now=NOW)


def test_a_ready_cluster_passes_every_check():
    result = run(FakeApi())
    assert result["problems"] == [] and not result["changed"] and result["cluster_version"] == "v1.34.4"
    assert result["flannel_namespace"] == "kube-flannel"
    assert [f["check"] for f in result["findings"]] == ["cluster_version", "flannel_backend",
                                                        "windows_kube-proxy_daemonset", "windows_flannel_daemonset"]


def test_flannel_in_kube_system_is_found_too():
    api = FakeApi(configmaps={("kube-system", "kube-flannel-cfg"): netconf_cm(namespace="kube-system")},
                  daemonsets={("kube-system", "kube-proxy-windows"): daemonset("k/kube-proxy:v1.34.4-x"),
                              ("kube-system", "kube-flannel-ds-windows-amd64"): daemonset("f/flannel:v0.26.1-x")})
    assert run(api)["flannel_namespace"] == "kube-system"


def test_the_windows_flannel_daemonset_is_looked_for_next_to_flannels_configmap_unless_named():
    api = FakeApi()
    api.daemonsets[("kube-system", "kube-flannel-ds-windows-amd64")] = api.daemonsets.pop(
        ("kube-flannel", "kube-flannel-ds-windows-amd64"))
    with pytest.raises(NodeOpsError, match="DaemonSet kube-flannel/kube-flannel-ds-windows-amd64 does not exist"):
        run(api)
    assert run(api, windows_flannel_namespace="kube-system")["problems"] == []


@pytest.mark.parametrize("mode, checks", [
    ("versions", ["windows_kube-proxy_daemonset", "windows_flannel_daemonset"]),
    ("present", ["windows_kube-proxy_daemonset", "windows_flannel_daemonset"]),
    ("ignore", []),
])
def test_windows_daemonsets_chooses_how_strict_the_daemonset_checks_are(mode, checks):
    api = FakeApi(version="v1.34.5")
    result = run(api, windows_daemonsets=mode, on_problem="warn")
    assert [f["check"] for f in result["findings"] if f["check"].startswith("windows_")] == checks
    assert bool(result["problems"]) is (mode == "versions")
    api.daemonsets = {}
    assert bool(run(api, windows_daemonsets=mode, on_problem="warn")["problems"]) is (mode != "ignore")


KUBEADM_CONFIG = {"data": {"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
                                                   "networking:\n  podSubnet: 10.244.0.0/16\n"
                                                   "  serviceSubnet: 10.96.0.0/12\n"}}
CLUSTER_INFO = {"data": {"kubeconfig": "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: eA==\n"
                                       "    server: https://10.0.0.10:6443\n  name: ''\nkind: Config\n"}}


def test_the_facts_of_the_windows_daemonsets_are_returned():
    api = FakeApi()
    api.configmaps[("kube-system", "kubeadm-config")] = KUBEADM_CONFIG
    api.configmaps[("kube-public", "cluster-info")] = CLUSTER_INFO
    result = run(api)
    assert (result["flannel_network"], result["flannel_version"], result["windows_network_name"]) == (
        "10.244.0.0/16", "v0.26.1", "flannel.4096")
    assert (result["service_cidr"], result["api_server"]) == ("10.96.0.0/12", "https://10.0.0.10:6443")


def test_facts_that_cannot_be_found_are_none_not_errors():
    result = run(FakeApi(configmaps={}, daemonsets={}), windows_daemonsets="ignore", on_problem="warn")
    assert [result[key] for key in ("flannel_network", "flannel_version", "windows_network_name", "service_cidr",
                                    "api_server")] == [None] * 5


@pytest.mark.parametrize("backend, name", [({"Type": "vxlan", "VNI": 4096}, "flannel.4096"),
                                           ({"Type": "vxlan", "VNI": 4097}, "flannel.4097"),
                                           ({"Type": "vxlan", "Name": "vxlan0", "VNI": 4096}, "vxlan0"),
                                           ({"Type": "vxlan"}, "flannel.4096")])
def test_the_windows_network_name_is_flannels(backend, name):
    assert wp.windows_network_name(backend) == name


def test_the_flannel_version_is_the_tag_of_the_flannel_container():
    ds = daemonset("ghcr.io/flannel-io/flannel-cni-plugin:v1.6.0", "ghcr.io/flannel-io/flannel:v0.26.1")
    ds["spec"]["template"]["spec"]["containers"][1]["name"] = "kube-flannel"
    assert wp.flannel_version(ds) == "v0.26.1"


def test_a_fixed_backend_gives_the_network_name_of_the_fix():
    api = FakeApi(configmaps={("kube-flannel", "kube-flannel-cfg"): netconf_cm({"Type": "vxlan", "VNI": 1})})
    assert run(api, check_mode=True, fix_flannel=True)["windows_network_name"] == "flannel.4096"


def test_problems_fail_with_every_finding_in_the_result():
    api = FakeApi(version="v1.34.5", configmaps={})
    with pytest.raises(NodeOpsError) as failure:
        run(api, windows_flannel_namespace="kube-flannel")
    result = failure.value.to_result()
    assert "2 problem(s)" in result["msg"] and "exists in none of kube-flannel, kube-system" in result["msg"]
    assert "is not the cluster version v1.34.5" in result["msg"] and len(result["findings"]) == 4


def test_problems_are_warnings_when_asked():
    result = run(FakeApi(configmaps={}), on_problem="warn", windows_flannel_namespace="kube-flannel")
    assert len(result["warnings"]) == 1 and "flannel" in result["warnings"][0]


def test_fix_flannel_patches_net_conf_and_restarts_the_daemonset():
    api = FakeApi(configmaps={("kube-flannel", "kube-flannel-cfg"): netconf_cm({"Type": "vxlan"})})
    result = run(api, fix_flannel=True)
    assert result["changed"] and result["problems"] == []
    kind, namespace, name, body, dry_run = api.patches[0]
    assert (kind, namespace, name, dry_run) == ("configmap", "kube-flannel", "kube-flannel-cfg", False)
    assert json.loads(body["data"]["net-conf.json"])["Backend"] == {"Type": "vxlan", "VNI": 4096, "Port": 4789}
    assert api.patches[1] == ("daemonset", "kube-flannel", "kube-flannel-ds", wp.restart_patch(NOW), False)
    assert [f["status"] for f in result["findings"] if f["check"].startswith("flannel")] == [wp.FIXED]


def test_fix_flannel_in_check_mode_only_dry_runs():
    api = FakeApi(configmaps={("kube-flannel", "kube-flannel-cfg"): netconf_cm({"Type": "vxlan", "VNI": 1})})
    result = run(api, check_mode=True, fix_flannel=True)
    assert result["changed"] and all(patch[4] is True for patch in api.patches) and len(api.patches) == 2
    assert any(f["status"] == wp.WOULD_FIX and "would patch" in f["message"] for f in result["findings"])


def test_fix_flannel_changes_nothing_when_the_backend_is_right():
    api = FakeApi()
    assert not run(api, fix_flannel=True)["changed"] and api.patches == []


def test_fix_flannel_without_its_daemonset_is_refused():
    api = FakeApi(configmaps={("kube-flannel", "kube-flannel-cfg"): netconf_cm({"Type": "vxlan"})},
                  daemonsets={})
    with pytest.raises(NodeOpsError, match="Flannel DaemonSet kube-flannel/kube-flannel-ds does not exist"):
        run(api, fix_flannel=True)

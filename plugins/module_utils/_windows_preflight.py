# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster-side preflight for Windows worker nodes (Flannel VXLAN, as in the seed's section 2.3).

Each check is a small function over API objects (dicts) returning findings: ``check``, ``status``
(``ok``, ``error``, ``fixed``, ``would_fix``), ``message`` and, for an error, the ``fix``.
:func:`run` reads the cluster, runs every check, applies the one fix the seed describes (Flannel's
``net-conf.json`` backend, then a restart of the flannel DaemonSet) when asked, and aggregates.

It also returns what the Windows DaemonSets are made from (:func:`network_facts`): Flannel's pod
network and version, the HNS network name flannel creates on Windows, the Service CIDR (kubeadm's
``ClusterConfiguration``) and the API server (``cluster-info``); each is None when not found.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a requirement of ansible-core
    yaml = None

MIN_WINDOWS_VERSION = (1, 14)
NETCONF_KEY = "net-conf.json"
# What Windows nodes need from Flannel's backend (Type compared case-insensitively, as flannel does).
WANTED_BACKEND = (("Type", "vxlan"), ("VNI", 4096), ("Port", 4789))
RESTART_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
KUBEADM_CONFIG = ("kube-system", "kubeadm-config")
CLUSTER_INFO = ("kube-public", "cluster-info")
# What windows_daemonsets checks: tags against the versions, existence only, or nothing.
DAEMONSET_CHECKS = ("versions", "present", "ignore")

OK = "ok"
ERROR = "error"
FIXED = "fixed"
WOULD_FIX = "would_fix"


def finding(check, status, message, fix=None):
    """One finding of a check."""
    return {"check": check, "status": status, "message": message, "fix": fix}


def parse_version(git_version):
    """``(major, minor, patch)`` of a version such as ``v1.34.4`` or ``v1.34.4-eks-1``; raises NodeOpsError."""
    found = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", str(git_version or ""))
    if not found:
        raise NodeOpsError("cannot read the cluster version from %r" % (git_version,))
    return tuple(int(part) for part in found.groups())


def check_cluster_version(git_version):
    """Windows workers need Kubernetes 1.14 or newer (HostProcess DaemonSets: 1.26 or newer)."""
    version = parse_version(git_version)
    if version[:2] < MIN_WINDOWS_VERSION:
        return [finding("cluster_version", ERROR,
                        "the cluster runs %s; Windows worker nodes need Kubernetes 1.14 or newer" % git_version,
                        "upgrade the cluster first")]
    message = "the cluster runs %s, which supports Windows worker nodes" % git_version
    if version[:2] < (1, 26):
        message += "; HostProcess DaemonSets (kube-proxy and flannel on Windows) need 1.26 or newer"
    return [finding("cluster_version", OK, message)]


def parse_netconf(configmap):
    """The parsed ``net-conf.json`` of Flannel's ConfigMap; raises NodeOpsError naming the fix."""
    where = "%s/%s" % ((configmap.get("metadata") or {}).get("namespace"), (configmap.get("metadata") or {}).get("name"))
    text = (configmap.get("data") or {}).get(NETCONF_KEY)
    if not text:
        raise NodeOpsError("Flannel ConfigMap %s has no %s; re-apply the flannel manifest" % (where, NETCONF_KEY))
    try:
        netconf = json.loads(text)
    except ValueError as exc:
        raise NodeOpsError("Flannel ConfigMap %s: %s is not JSON (%s); fix it by hand, it is not rewritten from a "
                           "guess" % (where, NETCONF_KEY, exc))
    if not isinstance(netconf, dict):
        raise NodeOpsError("Flannel ConfigMap %s: %s is not a JSON object" % (where, NETCONF_KEY))
    return netconf


def _same(key, actual, wanted):
    if key == "Type":
        return isinstance(actual, str) and actual.lower() == wanted
    return actual == wanted and not isinstance(actual, bool)


def check_flannel_netconf(configmap):
    """Flannel's backend must be vxlan with VNI 4096 and Port 4789; one finding per mismatch."""
    where = "%s/%s" % (configmap["metadata"].get("namespace"), configmap["metadata"].get("name"))
    backend = parse_netconf(configmap).get("Backend") or {}
    findings = []
    for key, wanted in WANTED_BACKEND:
        actual = backend.get(key)
        if _same(key, actual, wanted):
            continue
        findings.append(finding(
            "flannel_backend_" + key.lower(), ERROR,
            "Flannel ConfigMap %s: %s Backend.%s is %s; Windows nodes need %s"
            % (where, NETCONF_KEY, key, json.dumps(actual), json.dumps(wanted)),
            "set Backend.%s to %s in %s of %s and restart the flannel DaemonSet (fix_flannel=true does both)"
            % (key, json.dumps(wanted), NETCONF_KEY, where)))
    if not findings:
        findings.append(finding("flannel_backend", OK, "Flannel ConfigMap %s: backend vxlan, VNI 4096, Port 4789"
                                % where))
    return findings


def fixed_netconf_text(configmap):
    """``net-conf.json`` with the backend Windows needs, every other key kept."""
    netconf = parse_netconf(configmap)
    backend = dict(netconf.get("Backend") or {})
    for key, wanted in WANTED_BACKEND:
        if not _same(key, backend.get(key), wanted):
            backend[key] = wanted
    netconf["Backend"] = backend
    return json.dumps(netconf, indent=2) + "\n"


def image_tag(image):
    """The tag of an image reference (after the last ``:`` of the last path part), or None."""
    name = str(image or "").split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def tag_matches_version(tag, git_version):
    """``v1.34.4`` matches ``v1.34.4`` and ``v1.34.4-flannel-hostprocess``, not ``v1.34.40``."""
    version = "v%d.%d.%d" % parse_version(git_version)
    return bool(tag) and (tag == version or tag.startswith(version + "-"))


def images_of(daemonset):
    spec = (((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {})
    return [c.get("image") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]


def check_windows_daemonset(daemonset, role, namespace, name, git_version=None, wanted_tag=None):
    """A Windows DaemonSet must exist; its images' tags must match ``git_version`` or ``wanted_tag`` if given."""
    check = "windows_%s_daemonset" % role
    if daemonset is None:
        return [finding(check, ERROR, "the Windows %s DaemonSet %s/%s does not exist" % (role, namespace, name),
                        "apply the Windows %s DaemonSet (role nodeops.kubernetes.windows_node does with "
                        "windows_node_apply_daemonsets=true), or name the existing one (namespace and name)" % role)]
    images = images_of(daemonset)
    wrong = []
    for image in images:
        tag = image_tag(image)
        if git_version is not None and not tag_matches_version(tag, git_version):
            wrong.append(image)
        elif wanted_tag is not None and tag != wanted_tag:
            wrong.append(image)
    if wrong:
        wanted = ("the cluster version %s" % git_version) if git_version is not None else wanted_tag
        return [finding(check, ERROR, "the Windows %s DaemonSet %s/%s runs %s, whose tag is not %s"
                        % (role, namespace, name, ", ".join(wrong), wanted),
                        "set the image tag of %s/%s to %s (the upgrade playbook does it for kube-proxy)"
                        % (namespace, name, wanted))]
    return [finding(check, OK, "the Windows %s DaemonSet %s/%s exists with %s"
                    % (role, namespace, name, ", ".join(images) or "no images"))]


def windows_network_name(backend):
    """The HNS network flannel's VXLAN backend creates on Windows: ``Backend.Name``, else ``flannel.<VNI>``."""
    backend = backend or {}
    if backend.get("Name"):
        return str(backend["Name"])
    vni = backend.get("VNI")
    return "flannel.%s" % (vni if isinstance(vni, int) and not isinstance(vni, bool) else 4096)


def flannel_version(daemonset):
    """The image tag of the Linux flannel DaemonSet's flannel container (``kube-flannel``, else the first)."""
    spec = (((daemonset or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or []
    named = [c for c in containers if c.get("name") == "kube-flannel"]
    return image_tag((named or containers or [{}])[0].get("image"))


def _yaml_of(text):
    if yaml is None or not text:  # pragma: no cover - PyYAML comes with ansible-core
        return None
    try:
        found = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return found if isinstance(found, dict) else None


def service_cidr(kubeadm_config):
    """``networking.serviceSubnet`` of kubeadm's ``ClusterConfiguration``, or None."""
    config = _yaml_of(((kubeadm_config or {}).get("data") or {}).get("ClusterConfiguration"))
    return ((config or {}).get("networking") or {}).get("serviceSubnet") or None


def api_server(cluster_info):
    """The server URL of ``cluster-info``'s kubeconfig (what ``kubeadm join`` uses), or None."""
    config = _yaml_of(((cluster_info or {}).get("data") or {}).get("kubeconfig"))
    clusters = (config or {}).get("clusters") or []
    if not clusters or not isinstance(clusters[0], dict):
        return None
    return (clusters[0].get("cluster") or {}).get("server") or None


def network_facts(netconf, flannel_daemonset, kubeadm_config, cluster_info):
    """What the Windows DaemonSets are made from; None for what was not found."""
    netconf = netconf or {}
    return {
        "flannel_network": netconf.get("Network") or None,
        "flannel_version": flannel_version(flannel_daemonset) if flannel_daemonset else None,
        "windows_network_name": windows_network_name(netconf.get("Backend")) if netconf else None,
        "service_cidr": service_cidr(kubeadm_config),
        "api_server": api_server(cluster_info),
    }


def restart_patch(now=None):
    """The patch that rolls a DaemonSet's pods, as ``kubectl rollout restart`` does."""
    moment = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: moment}}}}}


def find_flannel_configmap(api, namespaces, name):
    for namespace in namespaces:
        configmap = api.get_configmap(namespace, name)
        if configmap is not None:
            configmap.setdefault("metadata", {}).setdefault("namespace", namespace)
            configmap["metadata"].setdefault("name", name)
            return configmap
    return None


def fix_flannel(api, configmap, daemonset_name, check_mode, now=None):
    """Patch net-conf.json and restart the flannel DaemonSet (server-side dry run in check mode)."""
    namespace = configmap["metadata"]["namespace"]
    name = configmap["metadata"]["name"]
    status = WOULD_FIX if check_mode else FIXED
    api.patch_configmap(namespace, name, {"data": {NETCONF_KEY: fixed_netconf_text(configmap)}}, check_mode)
    if api.get_daemonset(namespace, daemonset_name) is None:
        raise NodeOpsError("Flannel DaemonSet %s/%s does not exist, so the new %s would not be picked up; set "
                           "flannel_daemonset to its name" % (namespace, daemonset_name, NETCONF_KEY))
    api.patch_daemonset(namespace, daemonset_name, restart_patch(now), check_mode)
    verb = "would patch" if check_mode else "patched"
    return finding("flannel_backend", status, "%s %s of %s/%s to backend vxlan, VNI 4096, Port 4789 and %s "
                   "DaemonSet %s/%s" % (verb, NETCONF_KEY, namespace, name,
                                        "would restart" if check_mode else "restarted", namespace, daemonset_name))


def run(api, params, check_mode, now=None):
    """Every check, the Flannel fix when asked; return the module result."""
    findings = []
    git_version = api.get_version().get("gitVersion")
    findings.extend(check_cluster_version(git_version))
    changed = False

    configmap = find_flannel_configmap(api, params["flannel_namespaces"], params["flannel_configmap"])
    netconf = None
    linux_flannel = None
    if configmap is None:
        findings.append(finding("flannel_configmap", ERROR, "Flannel ConfigMap %s exists in none of %s"
                                % (params["flannel_configmap"], ", ".join(params["flannel_namespaces"])),
                                "install flannel as the CNI (VXLAN backend) or set flannel_configmap and "
                                "flannel_namespaces"))
    else:
        backend = check_flannel_netconf(configmap)
        netconf = parse_netconf(configmap)
        if params.get("fix_flannel") and any(f["status"] == ERROR for f in backend):
            backend = [f for f in backend if f["status"] == OK]
            backend.append(fix_flannel(api, configmap, params["flannel_daemonset"], check_mode, now))
            netconf = json.loads(fixed_netconf_text(configmap))
            changed = True
        findings.extend(backend)
        linux_flannel = api.get_daemonset(configmap["metadata"]["namespace"], params["flannel_daemonset"])

    flannel_namespace = (configmap or {}).get("metadata", {}).get("namespace")
    mode = params.get("windows_daemonsets") or "versions"
    if mode != "ignore":
        namespace = params["windows_namespace"]
        proxy = api.get_daemonset(namespace, params["windows_kube_proxy_daemonset"])
        findings.extend(check_windows_daemonset(proxy, "kube-proxy", namespace,
                                                params["windows_kube_proxy_daemonset"],
                                                git_version=git_version if mode == "versions" else None))
        namespace = params.get("windows_flannel_namespace") or flannel_namespace or params["windows_namespace"]
        flannel = api.get_daemonset(namespace, params["windows_flannel_daemonset"])
        findings.extend(check_windows_daemonset(flannel, "flannel", namespace, params["windows_flannel_daemonset"],
                                                wanted_tag=params.get("windows_flannel_image_tag")
                                                if mode == "versions" else None))

    problems = ["%s (fix: %s)" % (f["message"], f["fix"]) for f in findings if f["status"] == ERROR]
    result = {"changed": changed, "cluster_version": git_version, "findings": findings, "problems": problems,
              "flannel_namespace": flannel_namespace}
    result.update(network_facts(netconf, linux_flannel, api.get_configmap(*KUBEADM_CONFIG),
                                api.get_configmap(*CLUSTER_INFO)))
    if problems:
        message = "Windows preflight: %d problem(s): %s" % (len(problems), "; ".join(problems))
        if params.get("on_problem", "fail") == "fail":
            raise NodeOpsError(message, **result)
        result["warnings"] = problems
        result["msg"] = message
    else:
        result["msg"] = "Windows preflight: the cluster is ready for Windows worker nodes"
    return result


class ClusterApi(object):
    """The few API calls of the preflight, on a ``kubernetes.client.ApiClient``."""

    def __init__(self, api_client, params=None):
        from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi  # pylint: disable=import-outside-toplevel

        self.params = params or {}
        self.api = KubeApi(api_client)

    def _call(self, what, function, *args, **kwargs):
        from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import call_json  # pylint: disable=import-outside-toplevel

        return call_json(what, function, self.params, *args, missing_ok=True, **kwargs)

    def get_version(self):
        return self._call("reading the API server version", self.api.get_code) or {}

    def get_configmap(self, namespace, name):
        return self._call("reading ConfigMap %s/%s" % (namespace, name),
                          self.api.read_namespaced_config_map, name, namespace)

    def get_daemonset(self, namespace, name):
        return self._call("reading DaemonSet %s/%s" % (namespace, name),
                          self.api.read_namespaced_daemon_set, name, namespace)

    def patch_configmap(self, namespace, name, body, dry_run):
        extra = {"dry_run": "All"} if dry_run else {}
        return self._call("patching ConfigMap %s/%s" % (namespace, name),
                          self.api.patch_namespaced_config_map, name, namespace, body, **extra)

    def patch_daemonset(self, namespace, name, body, dry_run):
        extra = {"dry_run": "All"} if dry_run else {}
        return self._call("patching DaemonSet %s/%s" % (namespace, name),
                          self.api.patch_namespaced_daemon_set, name, namespace, body, **extra)

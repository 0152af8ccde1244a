"""An in-memory cluster with the interface of ClusterAuditClient, shared by the audit tests.

This file holds no tests itself.
"""

import copy
import datetime

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_filters import UTC

from test_drain_fakes import FakeCluster, api_error, make_node, make_pdb, make_pod

NOW = datetime.datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC)

KUBELET_CONFIG = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
serverTLSBootstrap: true
rotateCertificates: true
"""

KUBE_PROXY_CONFIG = """\
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
"""


def forbidden(action):
    return api_error(403, "%s: forbidden (403: access denied); grant the user the RBAC permissions listed in the "
                          "module documentation" % action)


def audit_node(name, ready=True, kubelet="v1.34.4", runtime="containerd://2.1.1", control_plane=False,
               unschedulable=False, taint_added=None, cordoned_at=None, condition=None):
    """A node as the API returns it, with nodeInfo and a Ready condition with its times."""
    labels = {"kubernetes.io/hostname": name}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    node = make_node(name, ready=ready, labels=labels, unschedulable=unschedulable)
    node["status"]["nodeInfo"] = {"kubeletVersion": kubelet, "containerRuntimeVersion": runtime}
    ready_condition = node["status"]["conditions"][0]
    ready_condition["lastTransitionTime"] = "2025-02-27T08:00:12Z"
    ready_condition["message"] = ("kubelet is posting ready status" if ready
                                  else "container runtime network not ready: NetworkReady=false")
    if condition is not None:
        node["status"]["conditions"] = condition
    if unschedulable:
        taint = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        if taint_added:
            taint["timeAdded"] = taint_added
        node["spec"]["taints"] = [taint]
    if cordoned_at:
        node["metadata"]["annotations"] = {"nodeops.kubernetes/cordoned-at": cordoned_at}
    return node


def lease(name, renew_time, duration=40):
    return {"metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": duration, "renewTime": renew_time}}


def configmap(name, data):
    return {"metadata": {"name": name, "namespace": "kube-system"}, "data": data}


class FakeAuditCluster(FakeCluster):
    """FakeCluster plus /version, ConfigMaps, node Leases and the cluster's PodDisruptionBudgets.

    ``errors[method]`` is a NodeOpsError that the read of that name raises.
    """

    def __init__(self, nodes=(), pods=(), daemonsets=(), pdbs=(), leases=(), configmaps=(), version=None):
        super(FakeAuditCluster, self).__init__(nodes=nodes, pods=pods, daemonsets=daemonsets, pdbs=pdbs)
        self.leases = list(leases)
        self.configmaps = dict((cm["metadata"]["name"], cm) for cm in configmaps)
        self.version = version if version is not None else {
            "major": "1", "minor": "34", "gitVersion": "v1.34.4", "platform": "linux/amd64"}
        self.errors = {}

    def _fail(self, method):
        if method in self.errors:
            raise self.errors[method]

    def get_version(self):
        self._record("get_version")
        self._fail("get_version")
        return copy.deepcopy(self.version)

    def list_nodes(self, limit=None):
        self._fail("list_nodes")
        return super(FakeAuditCluster, self).list_nodes(limit)

    def get_configmap(self, namespace, name):
        self._record("get_configmap", namespace, name)
        self._fail("get_configmap:%s" % name)
        found = self.configmaps.get(name) if namespace == "kube-system" else None
        return copy.deepcopy(found)

    def list_node_leases(self, limit=None):
        self._record("list_node_leases")
        self._fail("list_node_leases")
        return copy.deepcopy(self.leases)

    def list_all_pdbs(self, limit=None):
        self._record("list_all_pdbs")
        self._fail("list_all_pdbs")
        return copy.deepcopy(self.pdbs)

    def list_all_pods(self, field_selector=None, limit=None):
        """Field selectors of the form ``spec.nodeName=x,status.phase=Running`` (equality only)."""
        self._record("list_all_pods", field_selector)
        self._fail("list_all_pods")
        wanted = dict(term.split("=", 1) for term in (field_selector or "").split(",") if term)
        found = []
        for pod in self.pods.values():
            if "spec.nodeName" in wanted and pod["spec"].get("nodeName") != wanted["spec.nodeName"]:
                continue
            if "status.phase" in wanted and pod["status"].get("phase") != wanted["status.phase"]:
                continue
            found.append(copy.deepcopy(pod))
        return found

    def daemonset_exists(self, namespace, name):
        self._fail("daemonset_exists")
        return super(FakeAuditCluster, self).daemonset_exists(namespace, name)


def standard_cluster():
    """Three nodes (one control plane, one NotReady and cordoned), Leases, ConfigMaps and a blocking budget."""
    nodes = [
        audit_node("cp-1", control_plane=True),
        audit_node("w1"),
        audit_node("w2", ready=False, unschedulable=True, taint_added="2025-03-01T09:00:00Z"),
    ]
    pods = [
        make_pod("web-0", namespace="shop", node="w1", labels={"app": "web"}),
        make_pod("web-1", namespace="shop", node="w2", labels={"app": "web"}),
        make_pod("db-0", namespace="shop", node="cp-1", labels={"app": "db"}, owner=("StatefulSet", "db")),
    ]
    pdbs = [
        make_pdb("web", namespace="shop", match_labels={"app": "web"}, min_available=2, disruptions_allowed=0,
                 current_healthy=2, desired_healthy=2, expected_pods=2),
        make_pdb("db", namespace="shop", match_labels={"app": "db"}, max_unavailable=1, disruptions_allowed=1,
                 current_healthy=1, desired_healthy=0, expected_pods=1),
    ]
    leases = [lease("cp-1", "2025-03-01T09:59:55.500000Z"), lease("w1", "2025-03-01T09:59:50Z"),
              lease("w2", "2025-03-01T09:55:00Z")]
    configmaps = [configmap("kubelet-config", {"kubelet": KUBELET_CONFIG}),
                  configmap("kube-proxy", {"config.conf": KUBE_PROXY_CONFIG, "kubeconfig.conf": "..."})]
    return FakeAuditCluster(nodes=nodes, pods=pods, pdbs=pdbs, leases=leases, configmaps=configmaps)

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_k8s_rest: requests by path through the installed client's ApiClient, against a local HTTP server,
and through a stand-in of the client's earlier generation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # pragma: no cover
    pass

import pytest
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi, RestClient


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with the status and body the test set, and keeps what it received."""

    answer = (200, {"kind": "Node"})
    seen = []

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else None
        Recorder.seen.append({"method": self.command, "path": self.path, "body": json.loads(body) if body else None,
                              "headers": dict((k.lower(), v) for k, v in self.headers.items())})
        status, payload = Recorder.answer
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def api():
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.seen = []
    Recorder.answer = (200, {"kind": "Node"})
    configuration = k8s_client.Configuration()
    configuration.host = "http://127.0.0.1:%d" % server.server_address[1]
    configuration.api_key = {"authorization": "Bearer sekrit"}
    api_client = k8s_client.ApiClient(configuration)
    api_client.set_default_header("Impersonate-User", "ops")
    yield KubeApi(api_client)
    server.shutdown()
    server.server_close()


def test_a_read_sends_the_path_the_token_and_the_default_headers_and_answers_the_raw_json(api):
    response = api.read_node("lab worker/1", _preload_content=False, _request_timeout=(5, 10))
    assert json.loads(response.data) == {"kind": "Node"}
    seen = Recorder.seen[0]
    assert seen["method"] == "GET" and seen["path"] == "/api/v1/nodes/lab%20worker%2F1"
    assert seen["headers"]["authorization"] == "Bearer sekrit" and seen["headers"]["impersonate-user"] == "ops"
    assert seen["headers"]["accept"] == "application/json" and seen["body"] is None


def test_a_list_sends_its_selectors_limit_and_continue_token(api):
    api.list_pod_for_all_namespaces(field_selector="spec.nodeName=w1", label_selector=None, limit=500,
                                    _continue="abc")
    assert Recorder.seen[0]["path"] == "/api/v1/pods?fieldSelector=spec.nodeName%3Dw1&limit=500&continue=abc"


def test_a_strategic_merge_patch_and_an_eviction_send_their_bodies(api):
    api.patch_node("w1", {"spec": {"unschedulable": True}}, _content_type="application/strategic-merge-patch+json",
                   dry_run="All")
    api.create_namespaced_pod_eviction("web-0", "shop", {"kind": "Eviction"})
    patch, eviction = Recorder.seen
    assert patch["method"] == "PATCH" and patch["path"] == "/api/v1/nodes/w1?dryRun=All"
    assert patch["headers"]["content-type"] == "application/strategic-merge-patch+json"
    assert patch["body"] == {"spec": {"unschedulable": True}}
    assert eviction["method"] == "POST" and eviction["path"] == "/api/v1/namespaces/shop/pods/web-0/eviction"
    assert eviction["body"] == {"kind": "Eviction"} and eviction["headers"]["content-type"] == "application/json"


def test_the_other_groups_have_their_paths(api):
    api.read_namespaced_lease("w1", "kube-node-lease")
    api.read_namespaced_daemon_set("agent", "kube-system")
    api.list_namespaced_pod_disruption_budget("shop")
    api.delete_namespaced_pod("web-0", "shop", body={"gracePeriodSeconds": 0})
    api.get_api_resources()
    api.list_node(limit=10)
    api.read_namespaced_pod("web-0", "shop")
    assert [(s["method"], s["path"]) for s in Recorder.seen] == [
        ("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/w1"),
        ("GET", "/apis/apps/v1/namespaces/kube-system/daemonsets/agent"),
        ("GET", "/apis/policy/v1/namespaces/shop/poddisruptionbudgets"),
        ("DELETE", "/api/v1/namespaces/shop/pods/web-0"),
        ("GET", "/api/v1"), ("GET", "/api/v1/nodes?limit=10"), ("GET", "/api/v1/namespaces/shop/pods/web-0")]
    assert Recorder.seen[3]["body"] == {"gracePeriodSeconds": 0}


def test_a_status_outside_2xx_raises_the_api_exception_with_status_and_body(api):
    Recorder.answer = (429, {"kind": "Status", "code": 429, "reason": "TooManyRequests", "message": "slow down"})
    with pytest.raises(ApiException) as caught:
        api.read_node("w1")
    assert caught.value.status == 429 and json.loads(caught.value.body)["message"] == "slow down"


class LegacyApiClient(object):
    """The earlier generation's ApiClient: no param_serialize; call_api(path, method, ...) returns the
    raw response when _preload_content is False."""

    def __init__(self):
        self.calls = []

    def call_api(self, path, method, **kwargs):
        self.calls.append((path, method, kwargs))
        return "raw response"


def test_the_earlier_generation_is_called_by_path_without_preloading():
    legacy = LegacyApiClient()
    answer = RestClient(legacy).request("GET", "/api/v1/nodes", query=[("limit", 5), ("continue", None)],
                                        request_timeout=7)
    assert answer == "raw response"
    path, method, kwargs = legacy.calls[0]
    assert (path, method) == ("/api/v1/nodes", "GET")
    assert kwargs == {"query_params": [("limit", 5)], "header_params": {"Accept": "application/json"},
                      "body": None, "auth_settings": ["BearerToken"], "_return_http_data_only": True,
                      "_preload_content": False, "_request_timeout": 7}


def test_the_calls_of_the_audit_the_approver_the_join_material_and_the_windows_preflight(api):
    api.get_code()
    api.list_pod_disruption_budget_for_all_namespaces(limit=100)
    api.list_namespaced_lease("kube-node-lease", limit=100)
    api.read_namespaced_config_map("kubelet-config", "kube-system")
    api.patch_namespaced_config_map("kube-proxy", "kube-system", {"data": {}}, dry_run="All")
    api.patch_namespaced_daemon_set("flannel", "kube-flannel", {"spec": {}})
    api.list_namespaced_secret("kube-system", field_selector="type=bootstrap.kubernetes.io/token")
    api.read_namespaced_secret("bootstrap-token-abcdef", "kube-system")
    api.create_namespaced_secret("kube-system", {"kind": "Secret"})
    api.delete_namespaced_secret("bootstrap-token-abcdef", "kube-system")
    api.list_certificate_signing_request()
    api.replace_certificate_signing_request_approval("csr-1", {"kind": "CertificateSigningRequest"})
    assert [(s["method"], s["path"]) for s in Recorder.seen] == [
        ("GET", "/version"),
        ("GET", "/apis/policy/v1/poddisruptionbudgets?limit=100"),
        ("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?limit=100"),
        ("GET", "/api/v1/namespaces/kube-system/configmaps/kubelet-config"),
        ("PATCH", "/api/v1/namespaces/kube-system/configmaps/kube-proxy?dryRun=All"),
        ("PATCH", "/apis/apps/v1/namespaces/kube-flannel/daemonsets/flannel"),
        ("GET", "/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io/token"),
        ("GET", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef"),
        ("POST", "/api/v1/namespaces/kube-system/secrets"),
        ("DELETE", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef"),
        ("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests"),
        ("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval")]
    patches = [s for s in Recorder.seen if s["method"] == "PATCH"]
    assert [p["headers"]["content-type"] for p in patches] == ["application/strategic-merge-patch+json"] * 2
    assert Recorder.seen[-1]["body"] == {"kind": "CertificateSigningRequest"}


def test_the_nodelocaldns_reader_gets_plain_objects_and_none_for_a_missing_one(api):
    from ansible_collections.nodeops.kubernetes.plugins.modules.nodelocaldns_facts import ClusterReader

    Recorder.answer = (200, {"kind": "Service", "spec": {"clusterIP": "10.96.0.10"}})
    reader = ClusterReader(api, {})
    assert reader.service("kube-dns", "kube-system") == {"kind": "Service", "spec": {"clusterIP": "10.96.0.10"}}
    assert Recorder.seen[0]["path"] == "/api/v1/namespaces/kube-system/services/kube-dns"
    Recorder.answer = (404, {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"})
    assert reader.daemonset("node-local-dns", "kube-system") is None
    assert Recorder.seen[1]["path"] == "/apis/apps/v1/namespaces/kube-system/daemonsets/node-local-dns"
    Recorder.answer = (500, {"kind": "Status", "code": 500, "reason": "InternalError", "message": "etcd is away"})
    with pytest.raises(NodeOpsError) as caught:
        reader.configmap("kube-proxy", "kube-system")
    assert "reading ConfigMap kube-system/kube-proxy" in caught.value.message
    assert "etcd is away" in caught.value.message


def test_the_kubelet_configmap_calls_answer_plain_objects(api):
    from ansible_collections.nodeops.kubernetes.plugins.modules.kubelet_configmap import ConfigMapCore

    core = ConfigMapCore(api)
    Recorder.answer = (200, {"metadata": {"name": "kubelet-config", "resourceVersion": "7"}, "data": {"kubelet": "x"}})
    assert core.read_namespaced_config_map("kubelet-config", "kube-system")["metadata"]["resourceVersion"] == "7"
    Recorder.answer = (200, {"items": []})
    assert core.list_namespaced_config_map("kube-system") == {"items": []}
    core.replace_namespaced_config_map("kubelet-config", "kube-system", {"data": {"kubelet": "y"}})
    assert [(s["method"], s["path"]) for s in Recorder.seen] == [
        ("GET", "/api/v1/namespaces/kube-system/configmaps/kubelet-config"),
        ("GET", "/api/v1/namespaces/kube-system/configmaps"),
        ("PUT", "/api/v1/namespaces/kube-system/configmaps/kubelet-config")]
    assert Recorder.seen[2]["body"] == {"data": {"kubelet": "y"}}

"""The docker_dependency_scan module against a fake API server."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.modules import docker_dependency_scan as module

AGENT = {
    "metadata": {"name": "agent", "namespace": "mon", "uid": "ds1"},
    "spec": {"template": {"spec": {
        "volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}],
        "containers": [{"name": "agent", "image": "agent:1", "volumeMounts": [{"name": "sock", "mountPath": "/s"}]}],
    }}},
}
NODES = [
    {"metadata": {"name": "w1"}, "status": {"nodeInfo": {"containerRuntimeVersion": "docker://20.10.24",
                                                         "kubeletVersion": "v1.23.17"}}},
    {"metadata": {"name": "w2"}, "status": {"nodeInfo": {"containerRuntimeVersion": "containerd://1.7.2",
                                                         "kubeletVersion": "v1.23.17"}}},
]


@pytest.fixture
def api(monkeypatch):
    lists = {"/api/v1/nodes": NODES, "/apis/apps/v1/daemonsets": [AGENT]}
    calls = []

    def make_getter(params):
        def get(path, query):
            calls.append(path)
            return {"items": lists.get(path, [])}
        return get

    monkeypatch.setattr(module, "make_getter", make_getter)
    warned = []
    monkeypatch.setattr(module.AnsibleModule, "warn", lambda self, warning, **kwargs: warned.append(warning))
    return {"calls": calls, "warned": warned}


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_the_scan_reports_the_socket_mount_and_the_docker_nodes(api, capsys):
    code, result = run({}, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["blocking"] == ["docker-hostpath:daemonset/mon/agent/sock"]
    assert result["docker_nodes"] == ["w1"]
    assert [node["runtime"] for node in result["nodes"]] == ["docker", "containerd"]
    assert "/apis/batch/v1/cronjobs" in api["calls"]


def test_an_acknowledged_finding_lets_the_scan_pass_on_problem_fail(api, capsys):
    code, result = run({"acknowledge": ["docker-hostpath:daemonset/mon/agent/sock"], "on_problem": "fail"},
                       capsys)
    assert code == 0
    assert result["ok_to_switch"] is True
    assert result["findings"][0]["acknowledged"] is True


def test_on_problem_fail_fails_naming_the_finding(api, capsys):
    code, result = run({"on_problem": "fail"}, capsys)
    assert code == 1
    assert "docker-hostpath:daemonset/mon/agent/sock" in result["msg"]
    assert result["ok_to_switch"] is False


def test_namespaces_limit_the_namespaced_lists(api, capsys):
    run({"namespaces": ["mon"], "acknowledge": ["nothing"]}, capsys)
    assert "/apis/apps/v1/namespaces/mon/daemonsets" in api["calls"]
    assert "/api/v1/nodes" in api["calls"]
    assert api["warned"] == ["acknowledge entry 'nothing' matches no finding of the cluster scan"]


def test_api_errors_fail_the_task_with_the_message(monkeypatch, capsys):
    def make_getter(params):
        def get(path, query):
            raise NodeOpsError("cannot list /api/v1/nodes: forbidden (403: nodes is forbidden)")
        return get

    monkeypatch.setattr(module, "make_getter", make_getter)
    code, result = run({}, capsys)
    assert code == 1
    assert result["msg"].startswith("cannot list /api/v1/nodes: forbidden")


class FakeResponse(object):
    def __init__(self, data):
        self.data = data


class FakeApiClient(object):
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def call_api(self, path, method, **kwargs):
        self.calls.append((path, method, kwargs))
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(json.dumps(answer))


def test_the_getter_decodes_lists_and_turns_404_into_not_found(monkeypatch):
    exc = module.ApiException(status=404, reason="Not Found")
    client = FakeApiClient({"/api/v1/nodes": {"items": [1]}, "/apis/batch/v1/cronjobs": exc})
    monkeypatch.setattr(module, "get_api_client", lambda params: client)
    get = module.make_getter({})
    assert get("/api/v1/nodes", {"limit": 500}) == {"items": [1]}
    assert client.calls[0][2]["query_params"] == [("limit", 500)]
    with pytest.raises(module.NotFound):
        get("/apis/batch/v1/cronjobs", {"limit": 500})


class FakeRestResponse(object):
    def __init__(self, status, data):
        self.status = status
        self.reason = "OK" if status == 200 else "Not Found"
        self.response = None
        self.headers = {}
        self._data = data
        self.data = None

    def read(self):
        self.data = self._data
        return self.data


class FakeNewApiClient(object):
    """The request API of kubernetes >= 35: param_serialize, then call_api(method, url, ...)."""

    def __init__(self, answers):
        self.answers = answers
        self.serialized = []

    def param_serialize(self, method, resource_path, query_params=None, header_params=None, auth_settings=None,
                        **kwargs):
        self.serialized.append((method, resource_path, query_params, header_params, auth_settings))
        return method, "https://api" + resource_path, dict(header_params or {}), None, []

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        status, answer = self.answers[url[len("https://api"):]]
        return FakeRestResponse(status, json.dumps(answer).encode())


def test_the_getter_works_with_the_new_client_generation(monkeypatch):
    client = FakeNewApiClient({"/api/v1/nodes": (200, {"items": [1]}),
                               "/apis/batch/v1/cronjobs": (404, {"kind": "Status", "code": 404})})
    monkeypatch.setattr(module, "get_api_client", lambda params: client)
    get = module.make_getter({})
    assert get("/api/v1/nodes", {"limit": 500}) == {"items": [1]}
    assert client.serialized[0] == ("GET", "/api/v1/nodes", [("limit", 500)], {"Accept": "application/json"},
                                    ["BearerToken"])
    with pytest.raises(module.NotFound):
        get("/apis/batch/v1/cronjobs", {"limit": 500})


def test_the_getter_reports_forbidden_with_the_rbac_hint(monkeypatch):
    exc = module.ApiException(status=403, reason="Forbidden")
    exc.body = json.dumps({"message": "pods is forbidden"})
    monkeypatch.setattr(module, "get_api_client", lambda params: FakeApiClient({"/api/v1/pods": exc}))
    with pytest.raises(NodeOpsError) as caught:
        module.make_getter({})("/api/v1/pods", {"limit": 500})
    assert "cannot list /api/v1/pods: forbidden (403: pods is forbidden)" in caught.value.message

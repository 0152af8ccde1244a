"""KubernetesDrainClient: the facts of a failed request the drain acts upon, and the discovery of the Eviction
API."""

import json

import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_budgets import is_budget_refusal
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


class Response(object):
    def __init__(self, body):
        self.data = json.dumps(body).encode("utf-8")


def api_exception(status, body=None, headers=None):
    exc = ApiException(status=status, reason="Reason")
    exc.body = body if body is None or isinstance(body, str) else json.dumps(body)
    exc.headers = headers
    return exc


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details is not None:
        body["details"] = details
    return body


def failing(exc, name="create_namespaced_pod_eviction"):
    def method(*args, **kwargs):
        raise exc

    method.__name__ = name
    return method


def raised(exc, name="create_namespaced_pod_eviction"):
    client = _drain_client.KubernetesDrainClient(None)
    with pytest.raises(NodeOpsError) as caught:
        client._call('evict pod "default/web-0"', failing(exc, name))
    return caught.value


@pytest.mark.parametrize("body, kind", [
    (status_body(404, "NotFound", 'pods "web-0" not found', {"name": "web-0", "kind": "pods"}), "pods"),
    (status_body(404, "NotFound", "the server could not find the requested resource", {}), ""),
    (status_body(404, "NotFound", "the server could not find the requested resource"), ""),
    ("404 page not found", None),
], ids=["a Status naming the pod", "a Status naming no object", "a Status without details", "not a Status"])
def test_a_404_says_which_kind_of_object_was_not_found(body, kind):
    error = raised(api_exception(404, body))
    assert error.details["status"] == 404
    assert error.details.get("not_found_kind") == kind


class Discovery(object):
    def __init__(self, resources):
        self.resources = resources

    def get_api_resources(self, **kwargs):
        return Response({"kind": "APIResourceList", "groupVersion": "v1", "resources": self.resources})


@pytest.mark.parametrize("resources, supported", [
    ([{"name": "pods", "kind": "Pod"},
      {"name": "pods/eviction", "kind": "Eviction", "group": "policy", "version": "v1"}], True),
    ([{"name": "pods/eviction", "kind": "Eviction", "group": "policy", "version": "v1beta1"}], False),
    ([{"name": "pods", "kind": "Pod"}, {"name": "pods/status", "kind": "Pod"}], False),
], ids=["policy/v1 Eviction", "only policy/v1beta1", "no eviction subresource"])
def test_the_discovery_tells_whether_the_api_server_offers_the_policy_v1_eviction(resources, supported):
    client = _drain_client.KubernetesDrainClient(None)
    client._api = Discovery(resources)
    assert client.eviction_supported() is supported


APF_HEADERS = {"Retry-After": "3", "X-Kubernetes-Pf-Flowschema-Uid": "f1", "X-Kubernetes-Pf-Prioritylevel-Uid": "p1"}


@pytest.mark.parametrize("body, headers, retry_after, causes", [
    (status_body(429, "TooManyRequests", "Too many requests, please try again later.", {"retryAfterSeconds": 3}),
     APF_HEADERS, 3, []),
    (status_body(429, "TooManyRequests", "Too many requests, please try again later.", {"retryAfterSeconds": 2}),
     None, 2, []),
    (status_body(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
                 {"causes": [{"reason": "DisruptionBudget",
                              "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]}),
     {"X-Kubernetes-Pf-Flowschema-Uid": "f1"}, None,
     ["DisruptionBudget: The disruption budget web needs 2 healthy pods and has 2 currently"]),
    ("Too Many Requests", {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None, []),
], ids=["throttled with Retry-After", "throttled with retryAfterSeconds only", "refused by a budget",
        "not a Status, Retry-After as a date"])
def test_a_429_carries_the_retry_after_and_the_causes(body, headers, retry_after, causes):
    error = raised(api_exception(429, body, headers))
    assert error.details["status"] == 429
    assert error.details["retry_after"] == retry_after
    assert error.details["causes"] == causes


@pytest.mark.parametrize("message, causes, budget", [
    ("Cannot evict pod as it would violate the pod's disruption budget.", [], True),
    ("Too many requests", ["DisruptionBudget: The disruption budget web is still being processed by the server."],
     True),
    ("Too many requests, please try again later.", [], False),
    ("Too many requests, please try again later.", None, False),
], ids=["the eviction's own message", "a DisruptionBudget cause", "throttling", "throttling without causes"])
def test_a_429_is_a_budget_refusal_only_when_it_says_so(message, causes, budget):
    error = NodeOpsError(message, status=429, reason="TooManyRequests", causes=causes)
    assert is_budget_refusal(error) is budget


class NotJson(object):
    data = b"<html>502 Bad Gateway</html>"


def test_an_answer_that_is_not_json_is_a_node_ops_error_naming_the_request():
    def read_namespaced_pod(*args, **kwargs):
        return NotJson()

    client = _drain_client.KubernetesDrainClient(None)
    with pytest.raises(NodeOpsError) as caught:
        client._call('read pod "default/web-0"', read_namespaced_pod)
    assert caught.value.message.startswith('read pod "default/web-0": the answer of the API server is not JSON '
                                           "(JSONDecodeError: Expecting value")

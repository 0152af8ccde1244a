"""Tests of the shared connection options and the client factory."""

import json

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "lab", "cluster": {"server": "https://127.0.0.1:16443", "insecure-skip-tls-verify": True}}],
    "users": [{"name": "admin", "user": {"token": "from-kubeconfig"}}],
    "contexts": [
        {"name": "lab", "context": {"cluster": "lab", "user": "admin"}},
        {"name": "other", "context": {"cluster": "lab", "user": "admin", "namespace": "x"}},
    ],
    "current-context": "lab",
}


@pytest.fixture
def kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(KUBECONFIG))
    return str(path)


def test_auth_spec_uses_kubernetes_core_names_and_environment():
    spec = _k8s.AUTH_ARG_SPEC
    assert set(spec) == {"kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert",
                         "client_cert", "client_key", "proxy"}
    assert spec["api_key"]["no_log"] is True
    assert spec["kubeconfig"]["fallback"][1] == ["K8S_AUTH_KUBECONFIG"]
    assert spec["validate_certs"]["fallback"][1] == ["K8S_AUTH_VERIFY_SSL"]
    assert "verify_ssl" in spec["validate_certs"]["aliases"]


def test_configuration_comes_from_the_kubeconfig(kubeconfig):
    conf = _k8s.build_configuration({"kubeconfig": kubeconfig})
    assert conf.host == "https://127.0.0.1:16443"
    assert conf.api_key["BearerToken"] == "Bearer from-kubeconfig"


def test_explicit_options_override_the_kubeconfig(kubeconfig):
    conf = _k8s.build_configuration({"kubeconfig": kubeconfig, "host": "https://api.example:6443",
                                     "api_key": "explicit", "validate_certs": False, "proxy": "http://proxy:3128"})
    assert conf.host == "https://api.example:6443"
    assert conf.api_key["BearerToken"] == "Bearer explicit"
    assert conf.verify_ssl is False
    assert conf.proxy == "http://proxy:3128"


def test_host_and_token_without_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    conf = _k8s.build_configuration({"host": "https://10.0.0.1:6443", "api_key": "t"})
    assert conf.host == "https://10.0.0.1:6443"


def test_missing_kubeconfig_is_a_clear_error(tmp_path):
    with pytest.raises(NodeOpsError) as err:
        _k8s.build_configuration({"kubeconfig": str(tmp_path / "nope")})
    assert "cannot load kubeconfig" in err.value.message
    assert str(tmp_path / "nope") in err.value.message


def test_unknown_context_is_a_clear_error(kubeconfig):
    with pytest.raises(NodeOpsError) as err:
        _k8s.build_configuration({"kubeconfig": kubeconfig, "context": "missing"})
    assert "context missing" in err.value.message


def test_api_error_becomes_a_message_naming_the_action():
    exc = _k8s.ApiException(status=404, reason="Not Found")
    exc.body = json.dumps({"kind": "Status", "message": 'nodes "n1" not found', "reason": "NotFound", "code": 404})
    with pytest.raises(NodeOpsError) as err:
        _k8s.raise_for_api_error(exc, "get node n1")
    assert err.value.message == 'get node n1: nodes "n1" not found'
    assert err.value.details["reason"] == "NotFound"


def test_unauthorised_error_says_how_to_fix():
    exc = _k8s.ApiException(status=401, reason="Unauthorized")
    with pytest.raises(NodeOpsError) as err:
        _k8s.raise_for_api_error(exc, "get node n1", {"host": "https://h:6443"})
    assert "rejected the credentials" in err.value.message
    assert "https://h:6443" in err.value.message

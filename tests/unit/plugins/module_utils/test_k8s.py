"""Tests of the shared connection options and the client factory."""

import json
import os
import runpy
import sys

import pytest
import yaml

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


def _kubernetes_core_file(relative):
    for entry in sys.path:
        path = os.path.join(entry, "ansible_collections", "kubernetes", "core", relative)
        if os.path.isfile(path):
            return path
    raise AssertionError("kubernetes.core (a dependency of the collection) is not installed: %s" % relative)


def _spec_shape(spec):
    return dict((name, (option.get("type", "str"), sorted(option.get("aliases") or []),
                        bool(option.get("no_log")), _spec_shape(option.get("options") or {})))
                for name, option in spec.items())


def test_auth_spec_matches_kubernetes_core_option_for_option():
    theirs = runpy.run_path(_kubernetes_core_file("plugins/module_utils/args_common.py"))["AUTH_ARG_SPEC"]
    assert _spec_shape(_k8s.AUTH_ARG_SPEC) == _spec_shape(theirs)


def test_auth_documentation_matches_kubernetes_core_option_for_option():
    from ansible_collections.nodeops.kubernetes.plugins.doc_fragments.k8s_auth import ModuleDocFragment

    fragment = runpy.run_path(_kubernetes_core_file("plugins/doc_fragments/k8s_auth_options.py"))
    theirs = yaml.safe_load(fragment["ModuleDocFragment"].DOCUMENTATION)["options"]
    ours = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]

    def shape(options):
        return dict((name, (o.get("type", "str"), sorted(o.get("aliases") or []), o.get("elements"),
                            shape(o.get("suboptions") or {}))) for name, o in options.items())

    assert shape(ours) == shape(theirs)


@pytest.mark.parametrize("name", sorted(_k8s.AUTH_ARG_SPEC))
def test_every_auth_option_has_its_environment_variable(name):
    spec = _k8s.AUTH_ARG_SPEC[name]
    if name == "proxy_headers":
        for sub in spec["options"].values():
            assert sub["fallback"][1][0].startswith("K8S_AUTH_PROXY_HEADERS_")
    else:
        assert spec["fallback"][1] == ["K8S_AUTH_%s" % ({"validate_certs": "verify_ssl", "ca_cert": "ssl_ca_cert",
                                                         "client_cert": "cert_file", "client_key": "key_file"}
                                                        .get(name, name)).upper()]


def test_secrets_are_no_log():
    for name in ("kubeconfig", "api_key", "password"):
        assert _k8s.AUTH_ARG_SPEC[name]["no_log"] is True


def test_kubeconfig_given_as_a_dictionary():
    conf = _k8s.build_configuration({"kubeconfig": KUBECONFIG, "context": "other"})
    assert conf.host == "https://127.0.0.1:16443"
    assert conf.api_key["BearerToken"] == "Bearer from-kubeconfig"


def test_kubeconfig_of_another_type_is_refused():
    with pytest.raises(NodeOpsError) as err:
        _k8s.build_configuration({"kubeconfig": 42})
    assert "path of a kubeconfig file or a kubeconfig as a dictionary" in err.value.message


def test_basic_auth_no_proxy_and_proxy_headers(kubeconfig):
    conf = _k8s.build_configuration({"kubeconfig": kubeconfig, "username": "u", "password": "p",
                                     "proxy": "http://proxy:3128", "no_proxy": "10.0.0.0/8",
                                     "proxy_headers": {"proxy_basic_auth": "a:b", "basic_auth": None,
                                                       "user_agent": "nodeops"}})
    assert (conf.username, conf.password) == ("u", "p")
    assert conf.no_proxy == "10.0.0.0/8"
    assert conf.proxy_headers["proxy-authorization"].startswith("Basic ")
    assert conf.proxy_headers["user-agent"] == "nodeops"


def test_impersonation_headers_reach_the_api_client(kubeconfig):
    params = {"kubeconfig": kubeconfig, "impersonate_user": "alice", "impersonate_groups": ["ops", "audit"]}
    client = _k8s.get_api_client(params)
    assert client.default_headers["Impersonate-User"] == "alice"
    assert client.default_headers["Impersonate-Group"] == "ops,audit"


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
    assert "has no context named 'missing' (the context option)" in err.value.message


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

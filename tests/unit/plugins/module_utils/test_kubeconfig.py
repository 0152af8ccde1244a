"""The kubeconfig checks that run before the kubernetes client reads a kubeconfig."""

import os

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubeconfig import (
    check_kubeconfig,
    check_kubeconfig_data,
    check_kubeconfig_file,
)

GOOD = """apiVersion: v1
kind: Config
current-context: admin@k
clusters:
- name: k
  cluster:
    server: https://127.0.0.1:6443
contexts:
- name: admin@k
  context:
    cluster: k
    user: admin
users:
- name: admin
  user:
    token: abc
"""


def write(tmp_path, text, name="config"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def refusal(tmp_path, text, **kwargs):
    path = write(tmp_path, text)
    with pytest.raises(NodeOpsError) as err:
        check_kubeconfig_file(path, **kwargs)
    return path, err.value.message


def test_a_good_kubeconfig_passes(tmp_path):
    check_kubeconfig_file(write(tmp_path, GOOD))
    check_kubeconfig_data({"clusters": [], "users": []}, "given as a dictionary")


def test_a_yaml_syntax_error_names_the_file_the_line_and_the_fix(tmp_path):
    path, message = refusal(tmp_path, GOOD + "users: [\n")
    assert message.startswith("the kubeconfig %s is not valid YAML at line 18, column 1: " % path)
    assert message.endswith("fix the syntax, or use a fresh one (kubeadm: a copy of /etc/kubernetes/admin.conf, or "
                            "'kubeadm kubeconfig user')")


@pytest.mark.parametrize("text, fragment", [
    (GOOD.replace("clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:6443\n", "clusters: hello\n"),
     "has 'clusters' as a string (line 4), not a list; write it as a list of entries, each with a name and a "
     "cluster"),
    (GOOD.replace("server: https://127.0.0.1:6443", "server: 5"),
     "has clusters[0].cluster.server (k) as an integer: 5; write it as a string"),
    (GOOD.replace("- name: admin\n  user:", "- user:"), "has an entry users[0] (line 13) that is not a mapping "
     "with a name"),
    (GOOD.replace("  context:\n    cluster: k\n    user: admin\n", "  context: admin\n"),
     "has contexts[0].context (admin@k) as a string, not a mapping"),
    (GOOD.replace("current-context: admin@k", "current-context: [a]"), "has 'current-context' as a list (line 3)"),
    (GOOD.replace("current-context: admin@k", "current-context: nope"),
     "has no context named 'nope' (current-context (line 3)); it defines admin@k; give an existing context name"),
    ("", "is empty"),
    ("- a\n", "does not hold a YAML mapping (it holds a list), so it is not a kubeconfig"),
    (b"\xff\xfe", "is not valid UTF-8 text"),
])
def test_what_the_client_would_misread_is_refused_naming_the_entry(tmp_path, text, fragment):
    path, message = refusal(tmp_path, text)
    assert message.startswith("the kubeconfig %s " % path)
    assert fragment in message


def test_a_context_option_must_name_a_context_of_the_file(tmp_path):
    path, message = refusal(tmp_path, GOOD, context="other")
    assert "has no context named 'other' (the context option); it defines admin@k" in message


def test_merged_files_are_checked_each_but_contexts_may_live_in_another(tmp_path, monkeypatch):
    first = write(tmp_path, GOOD.replace("current-context: admin@k", "current-context: elsewhere"), "a")
    second = write(tmp_path, "", "b")
    check_kubeconfig({"kubeconfig": os.pathsep.join([first, second])})
    broken = write(tmp_path, GOOD.replace("server: https://127.0.0.1:6443", "server: 5"), "c")
    with pytest.raises(NodeOpsError, match="the kubeconfig %s has clusters" % broken):
        check_kubeconfig({"kubeconfig": os.pathsep.join([first, broken])})


def test_a_kubeconfig_given_as_a_dictionary_is_checked_too():
    with pytest.raises(NodeOpsError, match="the kubeconfig given as a dictionary has 'users' as a string"):
        check_kubeconfig({"kubeconfig": {"users": "admin"}})


def test_the_client_factory_refuses_a_broken_kubeconfig_option_before_the_client_reads_it(tmp_path):
    path = write(tmp_path, GOOD.replace("server: https://127.0.0.1:6443", "server: 5"))
    with pytest.raises(NodeOpsError, match=r"clusters\[0\].cluster.server \(k\) as an integer"):
        _k8s.build_configuration({"kubeconfig": path})


def test_a_broken_default_kubeconfig_is_named_when_not_in_a_cluster(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD + "users: [\n")
    monkeypatch.setenv("KUBECONFIG", path)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(NodeOpsError, match="the kubeconfig %s is not valid YAML at line 18" % path):
        _k8s.build_configuration({})


def test_a_missing_default_kubeconfig_still_says_no_connection_is_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(NodeOpsError, match="no Kubernetes connection configured"):
        _k8s.build_configuration({})

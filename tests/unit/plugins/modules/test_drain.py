"""The drain module's entry point: arguments, results, failures and warnings."""

import json
import os
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.modules import drain as drain_module

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils"))

from test_drain_fakes import FakeCluster, make_node, make_pod  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def cluster(monkeypatch):
    fake = FakeCluster(nodes=[make_node("w1"), make_node("w2")],
                       pods=[make_pod("web-0"), make_pod("agent-1", owner=("DaemonSet", "agent"))],
                       daemonsets=[("default", "agent")])
    made = []

    def make_client(params, concurrency):
        made.append((params, concurrency))
        return fake

    monkeypatch.setattr(drain_module, "make_client", make_client)
    fake.warned = []
    monkeypatch.setattr(drain_module.AnsibleModule, "warn",
                        lambda module, warning, **kwargs: fake.warned.append(warning))
    fake.made = made
    return fake


def run(args, capsys, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            drain_module.main()
    output = json.loads(capsys.readouterr().out)
    return caught.value.code, output


def test_a_drain_exits_with_the_structured_result_and_task_warnings(cluster, capsys):
    code, result = run(dict(name="w1", state="drain", ignore_daemonsets=True, poll_interval=0.01), capsys)
    assert code == 0
    assert result["changed"] is True
    assert [e["name"] for e in result["evicted"]] == ["web-0"]
    assert [s["name"] for s in result["skipped_pods"]] == ["agent-1"]
    assert result["drain_warnings"] == ["ignoring DaemonSet-managed Pods: default/agent-1"]
    assert cluster.warned == ["ignoring DaemonSet-managed Pods: default/agent-1"]
    assert result["node_left_cordoned"] is True


def test_a_refused_drain_fails_with_the_message_and_the_result(cluster, capsys):
    code, result = run(dict(name="w1", state="drain"), capsys)
    assert code == 1
    assert result["failed"] is True
    assert result["msg"].startswith('cannot drain node "w1": cannot delete DaemonSet-managed Pods '
                                    "(use ignore_daemonsets to ignore): default/agent-1")
    assert result["refused"] == [dict(namespace="default", name="agent-1", reason="DaemonSet-managed Pods",
                                      override="ignore_daemonsets")]
    assert result["changed"] is False
    assert cluster.mutations() == []


def test_check_mode_is_passed_to_the_drain(cluster, capsys):
    code, result = run(dict(name="w1", state="drain", ignore_daemonsets=True), capsys, check_mode=True)
    assert code == 0
    assert result["changed"] is True
    assert cluster.mutations() == []


@pytest.mark.parametrize("args, fragment", [
    (dict(name="w1", state="drain", grace_period=-3), "invalid grace_period -3"),
    (dict(name="w1", state="drain", timeout=-1), "invalid timeout -1"),
    (dict(name="w1", state="drain", pod_selector="app in (a"), "invalid pod_selector"),
    (dict(name="nope", state="cordon"), 'node "nope" not found: check the name with kubectl get nodes'),
], ids=["grace period below -1", "negative timeout", "malformed selector", "unknown node"])
def test_bad_input_fails_before_anything_changes(cluster, capsys, args, fragment):
    code, result = run(args, capsys)
    assert code == 1
    assert fragment in result["msg"]
    assert cluster.mutations() == []


def test_the_connection_pool_is_sized_for_the_concurrency(cluster, capsys):
    run(dict(name="w1", state="cordon", max_concurrent_evictions=7, kubeconfig="/tmp/kc"), capsys)
    params, concurrency = cluster.made[0]
    assert concurrency == 7
    assert params["kubeconfig"] == "/tmp/kc"


def test_the_argument_spec_has_the_shared_connection_options_and_documented_defaults():
    spec = drain_module.argument_spec()
    for option in ("kubeconfig", "context", "host", "api_key", "validate_certs"):
        assert option in spec
    assert spec["timeout"]["default"] == 600
    assert spec["eviction_retry_interval"]["default"] == 5
    assert spec["max_concurrent_evictions"]["default"] == 50
    assert spec["uncordon_on_failure"]["default"] is False
    assert "default" not in spec["grace_period"]


def test_an_unexpected_error_fails_the_task_with_the_account_and_no_traceback(cluster, capsys):
    def list_pods(*args):
        raise ValueError("Expecting value: line 1 column 1 (char 0)")

    cluster.list_pods = list_pods
    code, result = run(dict(name="w1", state="drain", ignore_daemonsets=True), capsys)
    assert code == 1
    assert result["msg"] == ('drain of node "w1" failed while listing the pods of the node: unexpected ValueError: '
                             "Expecting value: line 1 column 1 (char 0). Nothing was evicted and the node was not "
                             "cordoned.")
    assert result["node_left_cordoned"] is False
    assert "exception" not in result

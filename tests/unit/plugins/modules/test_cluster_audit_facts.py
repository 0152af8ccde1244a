"""The cluster_audit_facts module's entry point: arguments, the result, check mode, problems and failures."""

import json
import os
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.modules import cluster_audit_facts as audit_module

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils"))

from test_cluster_audit_fakes import forbidden, standard_cluster  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def cluster(monkeypatch):
    fake = standard_cluster()
    fake.made = []

    def make_audit_client(params):
        fake.made.append(params)
        return fake

    monkeypatch.setattr(audit_module, "make_audit_client", make_audit_client)
    fake.warned = []
    monkeypatch.setattr(audit_module.AnsibleModule, "warn",
                        lambda module, warning, **kwargs: fake.warned.append(warning))
    return fake


def run(args, capsys, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            audit_module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [False, True], ids=["normal", "check mode"])
def test_the_audit_changes_nothing_and_returns_the_contract(cluster, capsys, check_mode):
    code, result = run(dict(node_names=["w1"]), capsys, check_mode=check_mode)
    assert code == 0
    assert result["changed"] is False
    assert result["api_server"] == dict(git_version="v1.34.4", major=1, minor=34)
    assert [n["name"] for n in result["nodes"]] == ["w1"]
    assert result["kubelet_config"]["name"] == "kubelet-config"
    assert result["kube_proxy"]["mode"] == "ipvs"
    assert [(p["name"], p["pods"]) for p in result["blocking_pdbs"]] == [("web", ["shop/web-0"])]
    assert result["problems"] == []
    assert cluster.mutations() == []
    assert cluster.made[0]["kubelet_configmap"] == "kubelet-config"


def test_problems_are_returned_and_shown_as_warnings(cluster, capsys):
    cluster.errors["list_node_leases"] = forbidden('list the Leases of namespace "kube-node-lease"')
    code, result = run(dict(), capsys)
    assert code == 0
    assert len(result["problems"]) == 1
    assert cluster.warned == result["problems"]


def test_an_unreadable_node_list_fails_with_the_message(cluster, capsys):
    cluster.errors["list_nodes"] = forbidden("list the nodes")
    code, result = run(dict(), capsys)
    assert code == 1
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].startswith("cluster audit cannot go on without the node list: list the nodes: forbidden (403")
    assert result["status"] == 403

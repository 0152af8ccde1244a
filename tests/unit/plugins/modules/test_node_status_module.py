# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_status: the module's arguments and result over _node_status, with a fake API client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_status
from ansible_collections.nodeops.kubernetes.plugins.modules import node_status as module

NODE = {"metadata": {"name": "w1"}, "spec": {},
        "status": {"nodeInfo": {"containerRuntimeVersion": "containerd://2.1.4"},
                   "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "T1"}]}}


class Client(object):
    def __init__(self, node):
        self.node = node

    def get_node(self, name):
        return self.node if name == "w1" else None


@pytest.fixture
def cluster(monkeypatch):
    state = {"node": NODE}
    monkeypatch.setattr(module, "make_client", lambda params, concurrency: Client(state["node"]))
    monkeypatch.setattr(_node_status.time, "sleep", lambda seconds: None)
    return state


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_a_read_returns_the_node_as_k8s_info_does_and_its_summary(cluster, capsys):
    code, result = run_module({"name": "w1"}, capsys)
    assert code == 0 and result["changed"] is False and result["resources"] == [NODE] and result["waited"] == 0
    assert result["status"]["heartbeat"] == "T1" and result["status"]["ready"] is True


def test_a_read_of_a_missing_node_succeeds_with_no_resources(cluster, capsys):
    code, result = run_module({"name": "w9"}, capsys)
    assert code == 0 and result["resources"] == [] and result["status"]["exists"] is False


def test_a_wait_for_a_heartbeat_that_never_comes_fails_with_the_account(cluster, capsys):
    code, result = run_module({"name": "w1", "wait": True, "wait_timeout": 0, "fresh_after": "T1"}, capsys)
    assert code == 1 and result["failed"] and result["changed"] is False
    assert result["msg"].startswith('node "w1" did not become Ready within 0 s: no heartbeat since T1')
    assert result["resources"] == [NODE] and result["status"]["heartbeat"] == "T1"


def test_a_wait_that_is_met_returns_at_once(cluster, capsys):
    code, result = run_module({"name": "w1", "wait": True, "fresh_after": "T0", "runtime_prefix": "containerd://"},
                              capsys)
    assert code == 0 and result["status"]["heartbeat"] == "T1" and result["waited"] == 0.0


def test_a_sleep_under_one_second_is_refused(cluster, capsys):
    code, result = run_module({"name": "w1", "wait": True, "wait_sleep": 0}, capsys)
    assert code == 1 and "wait_sleep 1 or more (seconds); got 120 and 0" in result["msg"]


def test_a_wait_for_a_heartbeat_after_the_kubelet_stopped(cluster, capsys):
    cluster["node"] = {"metadata": {"name": "w1"}, "spec": {},
                       "status": {"conditions": [{"type": "Ready", "status": "True",
                                                  "lastHeartbeatTime": "2026-12-02T10:00:00Z"}]}}
    code, result = run_module({"name": "w1", "wait": True, "wait_timeout": 0,
                               "heartbeat_after": "2026-12-02T10:00:00.250000Z"}, capsys)
    assert code == 1 and "no heartbeat after 2026-12-02T10:00:00.250000Z" in result["msg"]
    code, result = run_module({"name": "w1", "wait": True, "heartbeat_after": "2026-12-02T09:59:59.9Z"}, capsys)
    assert code == 0 and result["status"]["ready"] is True


def test_a_heartbeat_after_that_is_no_time_is_refused_before_any_read(cluster, capsys):
    code, result = run_module({"name": "w1", "wait": True, "heartbeat_after": "after the stop"}, capsys)
    assert code == 1 and "heartbeat_after must be an RFC 3339 time" in result["msg"]
    assert "'after the stop'" in result["msg"]

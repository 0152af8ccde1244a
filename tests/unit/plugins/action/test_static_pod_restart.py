# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""static_pod_restart: the order of the steps, the proofs it waits for, the manifest always put back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.action import static_pod_restart as spr

MANIFEST = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-scheduler\n    command: [kube-scheduler]\n"


class FakeTask(object):
    def __init__(self, args, check_mode=False):
        self.args = args
        self.check_mode = check_mode
        self.diff = False
        self.async_val = 0


class FakeConnection(object):
    class _shell(object):  # noqa: N801 - mirrors the attribute name of a connection
        tmpdir = None


def pod(cid, ready=True):
    return {"metadata": {"annotations": {"kubernetes.io/config.hash": "abc"}, "uid": cid},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "c", "containerID": cid, "ready": ready,
                                              "state": {"running": {}}}]}}


class Node(object):
    """The node (files, processes) and the kubelet: a moved-out manifest stops the pod after ``stop_polls``."""

    def __init__(self, stop_polls=1, comes_back=True):
        self.manifest_in = True
        self.pids = [10]
        self.stop_polls = stop_polls
        self.comes_back = comes_back
        self.log = []

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        assert module_name == "nodeops.kubernetes.node_file" and module_args.get("state", "read") == "read"
        path = module_args["path"]
        exists = path.endswith("manifests/kube-scheduler.yaml") and self.manifest_in
        if not exists:
            return {"stat": {"exists": False}}
        import base64  # pylint: disable=import-outside-toplevel
        return {"stat": {"exists": True, "isreg": True, "isdir": False},
                "content": base64.b64encode(MANIFEST.encode()).decode()}

    def low_level(self, cmd, sudoable=True, **_kwargs):
        argv = shlex.split(cmd)
        if argv[0] == "mv":
            self.manifest_in = argv[2].endswith("manifests/kube-scheduler.yaml")
            self.log.append("mv in" if self.manifest_in else "mv out")
        elif argv[0] == "mkdir":
            pass
        else:  # the process listing
            if not self.manifest_in:
                self.stop_polls -= 1
                if self.stop_polls < 0:
                    self.pids = []
            elif not self.pids and self.comes_back:
                self.pids = [20]
            self.log.append("ps %s" % self.pids)
            return {"rc": 0, "stdout": json.dumps({"pids": self.pids}), "stderr": ""}
        return {"rc": 0, "stdout": "", "stderr": ""}


class Api(object):
    def __init__(self, node, answers):
        self.node = node
        self.answers = list(answers)
        self.last_error = "refused"

    def read(self, namespace, name):
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(self.node) if callable(answer) else answer


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)
    monkeypatch.setattr(spr.time, "sleep", lambda seconds: None)


def run(node, answers, check_mode=False, **args):
    args = dict({"name": "cp1", "static_pod": "kube-scheduler", "start_timeout": 5, "stop_timeout": 5,
                 "poll_interval": 0.01}, **args)
    action = spr.ActionModule(FakeTask(args, check_mode), FakeConnection(), None, None, None)
    action._execute_module = node.execute_module
    action._low_level_execute_command = node.low_level
    api = Api(node, answers)
    original = spr.PodApi
    spr.PodApi = lambda params: api
    try:
        return action.run(task_vars={})
    finally:
        spr.PodApi = original


def after_restart(node):
    if not node.manifest_in:
        return {} if not node.pids else pod("containerd://old")  # the kubelet deletes the mirror pod once stopped
    return pod("containerd://new") if node.pids != [10] else None


def test_the_pod_is_stopped_then_back_as_new_container_and_process():
    node = Node(stop_polls=2)
    result = run(node, [pod("containerd://old"), after_restart])
    assert not result.get("failed"), result
    assert node.log[0] == "ps [10]" and node.log[1] == "mv out" and "mv in" in node.log
    assert node.log.index("mv in") > node.log.index("ps []")
    assert result["containers_before"] == ["containerd://old"] and result["containers_after"] == ["containerd://new"]
    assert result["pids_before"] == [10] and result["pids_after"] == [20]


def test_check_mode_moves_nothing():
    node = Node()
    result = run(node, [pod("containerd://old")], check_mode=True)
    assert result["changed"] and "would move" in result["msg"] and "mv out" not in node.log


def test_nothing_is_moved_while_the_api_server_does_not_answer():
    node = Node()
    result = run(node, [None], start_timeout=0)
    assert result["failed"] and "nothing was changed" in result["msg"] and "mv out" not in node.log


def test_a_pod_that_does_not_stop_gets_its_manifest_back():
    node = Node(stop_polls=10 ** 6)
    result = run(node, [pod("containerd://old")], stop_timeout=0)
    assert result["failed"] and "to stop kube-scheduler" in result["msg"]
    assert node.log[-1] == "mv in" and node.manifest_in


def test_the_old_container_never_counts_as_back():
    node = Node()
    result = run(node, [pod("containerd://old"), lambda n: {} if not n.manifest_in else pod("containerd://old")],
                 start_timeout=0)
    assert result["failed"] and "still the old one" in result["msg"] and node.manifest_in


def test_processes_gone_is_not_enough_while_the_mirror_pod_is_still_there():
    node = Node(stop_polls=0)
    result = run(node, [pod("containerd://old")], stop_timeout=0)
    assert result["failed"] and "has not deleted mirror pod" in result["msg"] and node.manifest_in


def test_a_missing_manifest_is_refused_with_a_hint():
    node = Node()
    node.manifest_in = False
    result = run(node, [pod("containerd://old")])
    assert result["failed"] and "does not exist" in result["msg"]


class NodeOnly(Node):
    """The node without an API server: the health endpoint answers ``health`` once a new process runs."""

    def __init__(self, health=200, **kwargs):
        super(NodeOnly, self).__init__(**kwargs)
        self.health = health

    def low_level(self, cmd, sudoable=True, **_kwargs):
        argv = shlex.split(cmd)
        if len(argv) > 3 and argv[1] == "-c" and "urllib" in argv[2]:
            self.log.append("health")
            status = self.health if self.pids and self.pids != [10] else None
            return {"rc": 0, "stdout": json.dumps({"url": argv[3], "status": status, "body": "ok" if status else "",
                                                   "error": None if status else "ConnectionRefusedError"}),
                    "stderr": ""}
        return super(NodeOnly, self).low_level(cmd, sudoable=sudoable)


def test_wait_for_node_restarts_without_the_api_server():
    node = NodeOnly(stop_polls=1)
    result = run(node, [None], wait_for="node")
    assert not result.get("failed"), result
    assert node.log.index("mv in") > node.log.index("ps []") and node.log[-1] == "health"
    assert result["pids_before"] == [10] and result["pids_after"] == [20] and result["mirror_pod"] is None
    assert result["health_url"] == "https://127.0.0.1:10259/healthz" and "answering" in result["msg"]


def test_wait_for_node_needs_a_200_from_the_health_endpoint():
    node = NodeOnly(health=500)
    result = run(node, [None], wait_for="node", start_timeout=0)
    assert result["failed"] and "answers 500" in result["msg"] and node.manifest_in


def test_wait_for_node_in_check_mode_moves_nothing_and_names_the_endpoint():
    node = NodeOnly()
    result = run(node, [None], check_mode=True, wait_for="node", health_url="https://127.0.0.1:9999/livez")
    assert result["changed"] and "9999/livez" in result["msg"] and "mv out" not in node.log

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cert_expiry action plugin: one read on the node, parsing on the controller, errors as results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shlex
import sys

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.action import cert_expiry

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils"))
from certs_helpers import kubeadm_pki  # noqa: E402  pylint: disable=wrong-import-position


class FakeTask(object):
    def __init__(self, args):
        self.args = args
        self.check_mode = False
        self.diff = False
        self.async_val = 0


class FakeConnection(object):
    class _shell(object):  # noqa: N801 - mirrors the attribute name of a connection
        tmpdir = None


@pytest.fixture(autouse=True)
def no_base_run(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)


def run(files, args=None, rc=0, task_vars=None):
    commands = []

    def low_level(cmd, sudoable=True, **_kwargs):
        commands.append(cmd)
        argv = shlex.split(cmd)
        request = json.loads(argv[-1])
        wanted = request.get("pem", []) + request.get("kubeconfig", []) + request.get("exists", [])
        answer = {"files": dict((p, None if files.get(p) is None else base64.b64encode(files[p]).decode())
                                for p in wanted), "globbed": []}
        return {"rc": rc, "stdout": json.dumps(answer) if rc == 0 else "", "stderr": "boom" if rc else ""}

    action = cert_expiry.ActionModule(FakeTask(args or {}), FakeConnection(), None, None, None)
    action._low_level_execute_command = low_level
    return action.run(task_vars=task_vars or {"ansible_python_interpreter": "/usr/bin/python3"}), commands


def test_one_read_on_the_node_gives_the_whole_report():
    result, commands = run(kubeadm_pki(days={"apiserver": 5}))
    assert not result.get("failed"), result
    assert len(commands) == 1 and shlex.split(commands[0])[0] == "/usr/bin/python3"
    assert result["due"] == ["apiserver"] and result["changed"] is False
    assert result["kubeadm"]["kind"] == "CertificateExpirationInfo"


def test_the_threshold_is_an_option():
    result, dummy = run(kubeadm_pki(days={"apiserver": 5, "admin.conf": 50}), {"threshold_days": 60})
    assert result["due"] == ["admin.conf", "apiserver"]


def test_a_node_without_python_fails_with_the_cause():
    result, dummy = run({}, rc=127)
    assert result["failed"] and "exited 127: boom" in result["msg"]


def test_a_templated_interpreter_falls_back_to_python3():
    assert cert_expiry.node_python({"ansible_python_interpreter": "{{ x }}"}) == "python3"
    assert cert_expiry.node_python({}) == "python3"

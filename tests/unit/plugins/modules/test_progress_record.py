# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""progress_record: the module's arguments, result, diff and refusal over _progress_file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.modules import progress_record as module

RECORD = {"operation": "cgroup_driver", "node": "w1", "step": "started"}


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_present_writes_and_diff_shows_the_text(tmp_path, capsys):
    path = str(tmp_path / "nodeops" / "cgroup_driver.json")
    code, result = run_module({"path": path, "operation": "cgroup_driver", "record": RECORD, "_ansible_diff": True},
                              capsys)
    assert code == 0 and result["changed"] and result["existed"] is False and result["path"] == path
    assert result["record"] == RECORD
    assert result["diff"]["before"] == "" and json.loads(result["diff"]["after"]) == RECORD
    with open(path) as handle:
        assert json.load(handle) == RECORD
    code, result = run_module({"path": path, "operation": "cgroup_driver", "record": RECORD}, capsys)
    assert code == 0 and not result["changed"] and result["existed"] and "diff" not in result


def test_check_mode_writes_nothing(tmp_path, capsys):
    path = str(tmp_path / "cgroup_driver.json")
    code, result = run_module({"path": path, "operation": "cgroup_driver", "record": RECORD,
                               "_ansible_check_mode": True}, capsys)
    assert code == 0 and result["changed"] and not os.path.exists(path)
    # what would be written comes back, for the role to show and keep
    assert result["record"] == RECORD


def test_absent_removes_and_present_needs_a_record(tmp_path, capsys):
    path = str(tmp_path / "cgroup_driver.json")
    run_module({"path": path, "operation": "cgroup_driver", "record": RECORD}, capsys)
    code, result = run_module({"path": path, "operation": "cgroup_driver", "state": "absent"}, capsys)
    assert code == 0 and result["changed"] and not os.path.exists(path) and "record" not in result
    code, result = run_module({"path": path, "operation": "cgroup_driver"}, capsys)
    assert code == 1 and "record" in result["msg"]


def test_a_record_of_another_operation_fails_with_the_file_and_the_fix(tmp_path, capsys):
    path = tmp_path / "cgroup_driver.json"
    path.write_text(json.dumps({"operation": "containerd_switch"}))
    code, result = run_module({"path": str(path), "operation": "cgroup_driver", "state": "absent"}, capsys)
    assert code == 1 and result["failed"]
    assert "a record of containerd_switch, not of cgroup_driver" in result["msg"] and "Fix:" in result["msg"]
    assert result["operation"] == "containerd_switch" and path.exists()

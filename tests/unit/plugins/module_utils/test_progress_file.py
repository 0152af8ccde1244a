# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress record's file: atomic write, modes, check mode, refusals that leave the file as it was."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._progress_file import ProgressFile, render

RECORD = {"operation": "containerd_switch", "node": "w1", "step": "started", "backups": {}}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def record_path(tmp_path):
    return str(tmp_path / "state" / "containerd_switch.json")


def test_write_creates_the_directory_0700_and_the_record_0600_as_nice_json(record_path):
    outcome = ProgressFile(record_path, "containerd_switch").write(RECORD)
    assert outcome["changed"] and not outcome["existed"]
    assert mode(os.path.dirname(record_path)) == 0o700 and mode(record_path) == 0o600
    with open(record_path) as handle:
        text = handle.read()
    assert json.loads(text) == RECORD and text == render(RECORD) and text.endswith("}\n")
    assert '    "backups": {},' in text
    assert os.listdir(os.path.dirname(record_path)) == ["containerd_switch.json"]


def test_the_same_record_again_is_not_a_change_and_a_new_step_is(record_path):
    record_file = ProgressFile(record_path, "containerd_switch")
    record_file.write(RECORD)
    assert not record_file.write(dict(RECORD))["changed"]
    outcome = record_file.write(dict(RECORD, step="drained"))
    assert outcome["changed"] and outcome["existed"]
    assert json.loads(outcome["before"])["step"] == "started" and json.loads(outcome["after"])["step"] == "drained"
    with open(record_path) as handle:
        assert json.load(handle)["step"] == "drained"


def test_a_record_with_the_wrong_mode_is_rewritten_0600(record_path):
    record_file = ProgressFile(record_path, "containerd_switch")
    record_file.write(RECORD)
    os.chmod(record_path, 0o644)
    assert record_file.write(RECORD)["changed"]
    assert mode(record_path) == 0o600


def test_check_mode_writes_nothing_and_says_what_would_change(record_path):
    record_file = ProgressFile(record_path, "containerd_switch")
    outcome = record_file.write(RECORD, check_mode=True)
    assert outcome["changed"] and not os.path.exists(os.path.dirname(record_path))
    record_file.write(RECORD)
    assert record_file.remove(check_mode=True)["changed"] and os.path.exists(record_path)


@pytest.mark.parametrize("text, cause", [
    ('{"operation": "cgroup_driver", "step": "started"}', "a record of cgroup_driver, not of containerd_switch"),
    ("not json {", "not JSON"),
    ('["containerd_switch"]', "a record of no operation"),
])
def test_another_operations_record_or_garbage_is_refused_and_left_as_it_was(record_path, text, cause):
    os.makedirs(os.path.dirname(record_path))
    with open(record_path, "w") as handle:
        handle.write(text)
    record_file = ProgressFile(record_path, "containerd_switch")
    for attempt in (lambda: record_file.write(RECORD), record_file.remove):
        with pytest.raises(NodeOpsError) as caught:
            attempt()
        assert cause in caught.value.message and record_path in caught.value.message
        assert "Fix:" in caught.value.message
        with open(record_path) as handle:
            assert handle.read() == text


def test_a_record_of_another_operation_is_not_written(record_path):
    with pytest.raises(NodeOpsError) as caught:
        ProgressFile(record_path, "containerd_switch").write({"operation": "cgroup_driver"})
    assert "not one of containerd_switch" in caught.value.message
    assert not os.path.exists(record_path)


def test_remove_takes_the_record_away_and_a_missing_record_is_no_change(record_path):
    record_file = ProgressFile(record_path, "containerd_switch")
    record_file.write(RECORD)
    outcome = record_file.remove()
    assert outcome["changed"] and outcome["existed"] and not os.path.exists(record_path)
    assert json.loads(outcome["before"]) == RECORD and outcome["after"] == ""
    assert record_file.remove() == {"changed": False, "path": record_path, "existed": False, "before": "", "after": ""}


def test_a_failed_write_leaves_the_previous_record_and_no_temporary_file(record_path, monkeypatch):
    record_file = ProgressFile(record_path, "containerd_switch")
    record_file.write(RECORD)

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", full_disk)
    with pytest.raises(NodeOpsError) as caught:
        record_file.write(dict(RECORD, step="drained"))
    assert "No space left on device" in caught.value.message and "as it was" in caught.value.message
    with open(record_path) as handle:
        assert json.load(handle) == RECORD
    assert os.listdir(os.path.dirname(record_path)) == ["containerd_switch.json"]


def test_a_directory_that_cannot_be_created_names_the_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    path = str(blocker / "sub" / "containerd_switch.json")
    with pytest.raises(NodeOpsError) as caught:
        ProgressFile(path, "containerd_switch").write(RECORD)
    assert str(blocker / "sub") in caught.value.message and "become" in caught.value.message

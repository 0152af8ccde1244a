"""Tests of the daemon.json editor and the docker_daemon_config module."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import (
    cgroup_driver,
    edit_daemon_json,
    read_daemon_json,
    set_cgroup_driver,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.modules import docker_daemon_config

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "docker")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.mark.parametrize("name, before, exec_opts", [
    ("plain.json", None, ["native.cgroupdriver=systemd"]),
    ("empty.json", None, ["native.cgroupdriver=systemd"]),
    ("cgroupfs-with-other-exec-opts.json", "cgroupfs",
     ["native.umask=normal", "native.cgroupdriver=systemd", "isolation=process"]),
])
def test_the_cgroup_driver_entry_is_set_and_other_settings_kept(name, before, exec_opts):
    text = fixture(name)
    changed, old, new, new_text = edit_daemon_json(text, "/etc/docker/daemon.json", "systemd")
    assert changed
    assert old["cgroup_driver"] == before
    assert new == {"cgroup_driver": "systemd", "exec-opts": exec_opts}
    data = json.loads(new_text)
    original = json.loads(text) if text.strip() else {}
    original["exec-opts"] = exec_opts
    assert data == original
    assert list(data)[:len(original)] == list(original)


def test_an_already_set_driver_is_not_rewritten():
    text = fixture("systemd.json")
    changed, _old, _new, new_text = edit_daemon_json(text, "/etc/docker/daemon.json", "systemd")
    assert not changed
    assert new_text is text


@pytest.mark.parametrize("entry", ["native.cgroupdriver = systemd", " native.cgroupdriver=systemd ",
                                   "native.cgroupdriver= systemd"])
def test_a_driver_entry_with_spaces_already_set_is_systemd_and_not_rewritten(entry):
    text = json.dumps({"exec-opts": ["x=1", entry]}, indent=2) + "\n"
    changed, old, new, new_text = edit_daemon_json(text, "/etc/docker/daemon.json", "systemd")
    assert old["cgroup_driver"] == "systemd"
    assert not changed
    assert new_text is text
    assert new["exec-opts"] == ["x=1", entry]


def test_a_driver_entry_with_spaces_and_another_value_is_replaced():
    text = json.dumps({"exec-opts": ["native.cgroupdriver = cgroupfs"]}) + "\n"
    changed, _old, new, _new_text = edit_daemon_json(text, "/etc/docker/daemon.json", "systemd")
    assert changed and new["exec-opts"] == ["native.cgroupdriver=systemd"]


def test_duplicate_driver_entries_collapse_into_one():
    data = {"exec-opts": ["native.cgroupdriver=cgroupfs", "x=1", "native.cgroupdriver = systemd"]}
    assert set_cgroup_driver(data, "systemd")["exec-opts"] == ["native.cgroupdriver=systemd", "x=1"]
    assert cgroup_driver(data) == "systemd"


@pytest.mark.parametrize("name, message", [
    ("malformed.json", "is not valid JSON"),
    ("not-an-object.json", "must hold a JSON object"),
    ("exec-opts-not-a-list.json", "'exec-opts' must be a list of strings"),
])
def test_bad_files_are_refused_naming_the_file(name, message):
    with pytest.raises(NodeOpsError) as err:
        edit_daemon_json(fixture(name), "/etc/docker/daemon.json", "systemd")
    assert err.value.message.startswith("/etc/docker/daemon.json")
    assert message in err.value.message
    assert "left untouched" in err.value.message


@pytest.mark.parametrize("text, message", [
    ('["native.cgroupdriver=systemd"]', "must hold a JSON object ({...}), found a list"),
    ('{"exec-opts": 5}', "'exec-opts' must be a list of strings, found 5"),
    ('{"exec-opts": ["native.cgroupdriver=systemd", 5]}',
     "'exec-opts' must be a list of strings, found [\"native.cgroupdriver=systemd\", 5]"),
])
def test_wrong_types_are_refused_with_an_example_of_the_right_one(text, message):
    with pytest.raises(NodeOpsError) as err:
        edit_daemon_json(text, "/etc/docker/daemon.json", "systemd")
    assert message in err.value.message
    assert '"exec-opts": ["native.cgroupdriver=systemd"]' in err.value.message


def test_reading_a_missing_file_gives_an_empty_object(tmp_path):
    assert read_daemon_json(str(tmp_path / "daemon.json")) == {}


def test_reading_a_file_returns_its_content(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(fixture("cgroupfs-with-other-exec-opts.json"))
    assert read_daemon_json(str(path))["live-restore"] is True


def call(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            docker_daemon_config.main()
    return json.loads(capsys.readouterr().out)


def install(tmp_path, name, mode=0o640):
    path = tmp_path / "daemon.json"
    path.write_text(fixture(name))
    os.chmod(str(path), mode)
    return str(path)


def test_the_module_writes_with_a_backup_and_keeps_the_mode(tmp_path, capsys):
    path = install(tmp_path, "cgroupfs-with-other-exec-opts.json")
    result = call(capsys, path=path, cgroup_driver="systemd")
    assert result["changed"] and result["backup_file"].startswith(path + ".")
    assert read_daemon_json(path)["exec-opts"][1] == "native.cgroupdriver=systemd"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert len(os.listdir(str(tmp_path))) == 2
    again = call(capsys, path=path, cgroup_driver="systemd")
    assert not again["changed"] and "backup_file" not in again
    assert len(os.listdir(str(tmp_path))) == 2


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path, capsys):
    path = install(tmp_path, "plain.json")
    result = call(capsys, path=path, cgroup_driver="systemd", _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"]
    assert result["diff"]["before"] == fixture("plain.json")
    assert "native.cgroupdriver=systemd" in result["diff"]["after"]
    assert result["diff"]["before_header"] == path
    assert open(path).read() == fixture("plain.json")
    assert os.listdir(str(tmp_path)) == ["daemon.json"]


def test_a_missing_file_is_created(tmp_path, capsys):
    path = str(tmp_path / "daemon.json")
    result = call(capsys, path=path, cgroup_driver="cgroupfs")
    assert result["changed"] and result["created"]
    assert read_daemon_json(path) == {"exec-opts": ["native.cgroupdriver=cgroupfs"]}


def test_a_malformed_file_fails_the_task_and_is_left_untouched(tmp_path, capsys):
    path = install(tmp_path, "malformed.json")
    result = call(capsys, path=path, cgroup_driver="systemd")
    assert result["failed"]
    assert result["msg"].startswith(path + " is not valid JSON")
    assert result["path"] == path
    assert open(path).read() == fixture("malformed.json")
    assert os.listdir(str(tmp_path)) == ["daemon.json"]


def test_a_missing_directory_is_reported(tmp_path, capsys):
    result = call(capsys, path=str(tmp_path / "docker" / "daemon.json"), cgroup_driver="systemd")
    assert result["failed"] and "is Docker installed" in result["msg"]

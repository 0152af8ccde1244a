# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_file's node side: one read (stat and content), one atomic write (backup, mode kept, nothing half-written)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shutil
import stat

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_file
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.modules import node_file as module


def backup(path):
    shutil.copy2(path, path + ".bak~")
    return path + ".bak~"


def atomic_move(source, target):
    shutil.copymode(target, source)
    os.replace(source, target)


def writer():
    return _node_file.Writer(backup, atomic_move)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_read_gives_the_stat_and_the_content_of_a_regular_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("kind: KubeletConfiguration\n")
    os.chmod(str(path), 0o640)
    found = _node_file.read(str(path))
    assert found["stat"]["exists"] and found["stat"]["isreg"] and found["stat"]["mode"] == "0640"
    assert base64.b64decode(found["content"]) == b"kind: KubeletConfiguration\n"
    assert "content" not in _node_file.read(str(path), get_content=False)
    assert _node_file.read(str(tmp_path / "missing")) == {"stat": {"exists": False}}
    assert _node_file.read(str(path / "below-a-file")) == {"stat": {"exists": False}}
    directory = _node_file.read(str(tmp_path))
    assert directory["stat"]["isdir"] and "content" not in directory


def test_read_follows_a_link(tmp_path):
    (tmp_path / "real.toml").write_text("version = 2\n")
    os.symlink("real.toml", str(tmp_path / "config.toml"))
    found = _node_file.read(str(tmp_path / "config.toml"))
    assert found["stat"]["isreg"] and base64.b64decode(found["content"]) == b"version = 2\n"


def test_write_keeps_the_mode_makes_a_backup_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("old\n")
    os.chmod(str(path), 0o640)
    outcome = writer().write(str(path), "new\n", backup=True)
    assert outcome == {"changed": True, "path": str(path), "backup_file": str(path) + ".bak~"}
    assert path.read_text() == "new\n" and mode(str(path)) == 0o640
    assert (tmp_path / "config.yaml.bak~").read_text() == "old\n"
    assert sorted(os.listdir(str(tmp_path))) == ["config.yaml", "config.yaml.bak~"]
    again = writer().write(str(path), "new\n", backup=True)
    assert again == {"changed": False, "path": str(path), "backup_file": None}


def test_a_new_file_gets_the_mode_and_its_directories(tmp_path):
    path = tmp_path / "certs.d" / "docker.io" / "hosts.toml"
    outcome = writer().write(str(path), 'server = "https://registry-1.docker.io"\n', backup=True, new_file_mode="0600")
    assert outcome["changed"] and outcome["backup_file"] is None
    assert mode(str(path)) == 0o600 and path.read_text().startswith("server")


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("old\n")
    assert writer().write(str(path), "new\n", backup=True, check_mode=True)["changed"]
    assert path.read_text() == "old\n" and os.listdir(str(tmp_path)) == ["config.yaml"]


def test_a_write_through_a_link_replaces_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real.toml").write_text("old\n")
    os.symlink("real.toml", str(tmp_path / "config.toml"))
    writer().write(str(tmp_path / "config.toml"), "new\n")
    assert os.path.islink(str(tmp_path / "config.toml")) and (tmp_path / "real.toml").read_text() == "new\n"


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(NodeOpsError) as caught:
        writer().write(str(tmp_path), "x")
    assert "not a regular file" in caught.value.message


def test_a_failed_rename_leaves_the_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("old\n")

    def full(source, target):
        raise OSError(28, "No space left on device")

    with pytest.raises(NodeOpsError) as caught:
        _node_file.Writer(backup, full).write(str(path), "new\n")
    assert "No space left on device" in caught.value.message and "original file is unchanged" in caught.value.message
    assert path.read_text() == "old\n" and os.listdir(str(tmp_path)) == ["config.yaml"]


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_the_module_reads_writes_and_never_logs_the_content(tmp_path, capsys):
    path = tmp_path / "config.toml"
    code, result = run_module({"path": str(path), "state": "written", "content": "version = 3\n"}, capsys)
    assert code == 0 and result["changed"] and "backup_file" not in result
    assert "version = 3" not in json.dumps(result.get("invocation", {}))
    code, result = run_module({"path": str(path), "state": "written", "content": "version = 2\n", "backup": True},
                              capsys)
    assert code == 0 and result["changed"] and os.path.exists(result["backup_file"])
    code, result = run_module({"path": str(path)}, capsys)
    assert code == 0 and not result["changed"] and base64.b64decode(result["content"]) == b"version = 2\n"
    code, result = run_module({"path": str(tmp_path), "state": "written", "content": "x"}, capsys)
    assert code == 1 and "not a regular file" in result["msg"]

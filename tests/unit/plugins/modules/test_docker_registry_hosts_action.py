"""The containerd_registry_hosts action plugin against a fake node backed by tmp_path."""

import os
import sys
import tomllib

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.action import containerd_registry_hosts as action_plugin

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "action"))

from test_config_actions import FakeNode, run_action  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(autouse=True)
def no_base_run(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)


def args(tmp_path, **extra):
    base = {"certs_dir": str(tmp_path / "certs.d"), "proxy_dropin_path": str(tmp_path / "containerd.service.d" / "p.conf"),
            "registry_mirrors": ["https://mirror.gcr.io"], "insecure_registries": ["registry.lan:5000", "10.0.0.0/8"],
            "http_proxy": "http://proxy:3128", "no_proxy": "localhost"}
    base.update(extra)
    return base


def read_toml(path):
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def test_files_are_written_then_left_alone_on_the_second_run(tmp_path):
    node = FakeNode()
    result = run_action(action_plugin, node, args(tmp_path))
    assert not result.get("failed"), result
    assert result["changed"] is True
    hub = read_toml(str(tmp_path / "certs.d" / "docker.io" / "hosts.toml"))
    assert hub == {"server": "https://registry-1.docker.io",
                   "host": {"https://mirror.gcr.io": {"capabilities": ["pull", "resolve"]}}}
    reg = read_toml(str(tmp_path / "certs.d" / "registry.lan:5000" / "hosts.toml"))
    assert list(reg["host"]) == ["https://registry.lan:5000", "http://registry.lan:5000"]
    assert "HTTP_PROXY=http://proxy:3128" in open(str(tmp_path / "containerd.service.d" / "p.conf")).read()
    assert result["daemon_reload_needed"] is True
    assert result["untranslatable"] == ["10.0.0.0/8"]
    assert "10.0.0.0/8" in result["registry_warnings"][0]
    again = run_action(action_plugin, node, args(tmp_path))
    assert again["changed"] is False and again["daemon_reload_needed"] is False
    assert len(node.copies) == 3


def test_check_mode_with_diff_writes_nothing(tmp_path):
    node = FakeNode()
    result = run_action(action_plugin, node, args(tmp_path), check_mode=True, diff=True)
    assert result["changed"] is True
    assert node.copies == []
    assert not os.path.exists(str(tmp_path / "certs.d"))
    assert [diff["before_header"].split("/")[-2] for diff in result["diff"]] == [
        "docker.io", "registry.lan:5000", "containerd.service.d"]


def test_an_existing_hosts_file_is_merged_with_a_backup(tmp_path):
    path = tmp_path / "certs.d" / "docker.io" / "hosts.toml"
    path.parent.mkdir(parents=True)
    path.write_text('server = "https://registry-1.docker.io"\n\n[host."https://cache.lan"]\ncapabilities = ["pull"]\n')
    result = run_action(action_plugin, FakeNode(), args(tmp_path, insecure_registries=[], http_proxy=None,
                                                        no_proxy=None))
    assert result["changed"] is True
    assert list(read_toml(str(path))["host"]) == ["https://cache.lan", "https://mirror.gcr.io"]
    assert result["files"][0]["backup_file"] == str(path) + ".backup~"
    assert result["proxy_dropin"]["changed"] is False


def test_a_malformed_hosts_file_fails_and_stays(tmp_path):
    path = tmp_path / "certs.d" / "docker.io" / "hosts.toml"
    path.parent.mkdir(parents=True)
    path.write_text("server = [\n")
    node = FakeNode()
    result = run_action(action_plugin, node, args(tmp_path))
    assert result["failed"] is True
    assert "is not valid TOML" in result["msg"]
    assert node.copies == []
    assert path.read_text() == "server = [\n"


class FailingSecondCopyNode(FakeNode):
    """A node whose second copy fails (disk full after the first file)."""

    @property
    def fail_copy(self):
        return len(self.copies) == 2

    @fail_copy.setter
    def fail_copy(self, value):
        pass


def test_a_failure_after_the_first_write_reports_changed_and_names_what_was_already_written(tmp_path):
    node = FailingSecondCopyNode()
    result = run_action(action_plugin, node, args(tmp_path))
    hub = str(tmp_path / "certs.d" / "docker.io" / "hosts.toml")
    reg = str(tmp_path / "certs.d" / "registry.lan:5000" / "hosts.toml")
    assert result["failed"] is True
    assert result["changed"] is True
    assert os.path.exists(hub) and not os.path.exists(reg)
    assert result["written"] == [hub]
    assert result["path"] == reg
    assert result["msg"].startswith("writing %s on the node failed: No space left on device" % reg)
    assert "Already written by this task: %s (new file)" % hub in result["msg"]
    assert "run again" in result["msg"]
    assert [entry["changed"] for entry in result["files"]] == [True, False]
    assert result["proxy_dropin"]["changed"] is False
    assert result["daemon_reload_needed"] is False


def test_a_failure_on_the_first_write_reports_nothing_changed(tmp_path):
    node = FakeNode()
    node.fail_copy = True
    result = run_action(action_plugin, node, args(tmp_path))
    assert result["failed"] is True and result["changed"] is False
    assert "the original file is unchanged" in result["msg"]
    assert "Already written" not in result["msg"]

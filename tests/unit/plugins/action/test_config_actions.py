"""Tests of the kubelet_config and containerd_config action plugins against a fake node.

The fake node serves real files under pytest's tmp_path: ``node_file`` module
calls (run with the module's own node-side code) and read-only commands are
answered from (and written to) the local file system, so the tests see what
would happen to the node's files.
"""

import os
import shutil

import pytest
import yaml
import tomlkit

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.action import containerd_config as containerd_action
from ansible_collections.nodeops.kubernetes.plugins.action import kubelet_config as kubelet_action
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_file
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


class FakeTask(object):
    def __init__(self, args, check_mode=False, diff=False):
        self.args = dict(args)
        self.check_mode = check_mode
        self.diff = diff
        self.async_val = 0
        self.action = "test"

    def copy(self):
        return FakeTask(self.args, self.check_mode, self.diff)


def fake_backup(path):
    """Like AnsibleModule.backup_local: a copy beside the file."""
    backup = path + ".backup~"
    shutil.copy2(path, backup)
    return backup


def fake_atomic_move(source, target):
    """Like AnsibleModule.atomic_move over an existing file: the file's mode goes to the new one, then the rename."""
    shutil.copymode(target, source)
    os.replace(source, target)


class FakeNode(object):
    """Answers ``nodeops.kubernetes.node_file`` with the module's own node-side code on the local file system."""

    def __init__(self, commands=None):
        self.commands = dict(commands or {})
        self.command_calls = []
        self.module_calls = []
        self.copies = []
        self.fail_copy = False

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        self.module_calls.append((module_name, dict(module_args)))
        if module_name != "nodeops.kubernetes.node_file":
            raise AssertionError("unexpected module %s" % module_name)
        try:
            if module_args.get("state", "read") == "read":
                return _node_file.read(module_args["path"], module_args.get("get_content", True))
            self.copies.append(dict(module_args))
            if self.fail_copy:
                return {"failed": True, "msg": "No space left on device"}
            writer = _node_file.Writer(fake_backup, fake_atomic_move)
            result = writer.write(module_args["path"], module_args["content"], module_args.get("backup", False),
                                  module_args.get("mode", "0644"))
        except NodeOpsError as exc:
            return dict(exc.to_result(), failed=True)
        return {key: value for key, value in result.items() if value is not None}

    def low_level(self, cmd, sudoable=True, **_kwargs):
        self.command_calls.append(cmd)
        rc, stdout, stderr = self.commands.get(cmd, (127, "", "%s: command not found" % cmd.split()[0]))
        return {"rc": rc, "stdout": stdout, "stderr": stderr}


class FakeShared(object):
    def __init__(self, node):
        self.action_loader = None


class FakeShell(object):
    tmpdir = None


class FakeConnection(object):
    _shell = FakeShell()


@pytest.fixture(autouse=True)
def no_base_run(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)


def run_action(plugin, node, args, check_mode=False, diff=False):
    action = plugin.ActionModule(FakeTask(args, check_mode, diff), FakeConnection(), None, None, None)
    action._shared_loader_obj = FakeShared(node)
    action._execute_module = node.execute_module
    action._low_level_execute_command = node.low_level
    return action.run(task_vars={})


def put(tmp_path, name, text, mode=0o600):
    path = tmp_path / name
    path.write_text(text)
    os.chmod(str(path), mode)
    return str(path)


def listing(tmp_path):
    return sorted(os.listdir(str(tmp_path)))


# ---------------------------------------------------------------------------
# kubelet_config
# ---------------------------------------------------------------------------

def test_kubelet_config_sets_the_driver_with_a_backup_and_keeps_the_mode(tmp_path):
    path = put(tmp_path, "config.yaml", fixture("kubelet", "kubeadm-config.yaml"), mode=0o640)
    node = FakeNode()
    result = run_action(kubelet_action, node, {"path": path, "settings": {"cgroupDriver": "systemd"}})
    assert not result.get("failed"), result
    assert result["changed"]
    assert result["before"] == {"cgroupDriver": "cgroupfs"} and result["after"] == {"cgroupDriver": "systemd"}
    assert result["backup_file"] == path + ".backup~"
    assert yaml.safe_load(open(path).read())["cgroupDriver"] == "systemd"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert [name for name, _args in node.module_calls] == ["nodeops.kubernetes.node_file"] * 2
    assert node.copies[0]["backup"] is True and "mode" not in node.copies[0] or node.copies[0]["mode"] == "0644"


def test_kubelet_config_second_apply_writes_nothing(tmp_path):
    path = put(tmp_path, "config.yaml", fixture("kubelet", "kubeadm-config.yaml"))
    node = FakeNode()
    run_action(kubelet_action, node, {"path": path, "settings": {"cgroupDriver": "systemd"}})
    again = run_action(kubelet_action, node, {"path": path, "settings": {"cgroupDriver": "systemd"}})
    assert not again["changed"] and "backup_file" not in again
    assert len(node.copies) == 1
    assert listing(tmp_path) == ["config.yaml", "config.yaml.backup~"]


def test_kubelet_config_check_mode_with_diff_writes_nothing(tmp_path):
    text = fixture("kubelet", "kubeadm-config.yaml")
    path = put(tmp_path, "config.yaml", text)
    node = FakeNode()
    result = run_action(kubelet_action, node, {"path": path, "settings": {"cgroupDriver": "systemd"}},
                        check_mode=True, diff=True)
    assert result["changed"]
    assert result["diff"]["before"] == text
    assert "cgroupDriver: systemd" in result["diff"]["after"]
    assert result["diff"]["before_header"] == path == result["diff"]["after_header"]
    assert node.copies == []
    assert open(path).read() == text


def test_kubelet_config_state_absent_removes_fields(tmp_path):
    path = put(tmp_path, "config.yaml", fixture("kubelet", "kubeadm-config.yaml"))
    result = run_action(kubelet_action, FakeNode(), {"path": path, "state": "absent", "remove": ["resolvConf"]})
    assert result["changed"]
    assert "resolvConf" not in yaml.safe_load(open(path).read())


@pytest.mark.parametrize("name, message", [
    ("malformed.yaml", "is not valid YAML"),
    ("kubeadm-cluster-configuration.yaml", "is not a KubeletConfiguration"),
])
def test_kubelet_config_refuses_bad_files_and_leaves_them_untouched(tmp_path, name, message):
    text = fixture("kubelet", name)
    path = put(tmp_path, "config.yaml", text)
    node = FakeNode()
    result = run_action(kubelet_action, node, {"path": path, "settings": {"cgroupDriver": "systemd"}})
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith(path) and message in result["msg"]
    assert node.copies == []
    assert open(path).read() == text
    assert listing(tmp_path) == ["config.yaml"]


def test_kubelet_config_reports_a_missing_file(tmp_path):
    result = run_action(kubelet_action, FakeNode(), {"path": str(tmp_path / "nope.yaml"),
                                                     "settings": {"cgroupDriver": "systemd"}})
    assert result["failed"] and "does not exist on the node" in result["msg"]


def test_kubelet_config_reports_a_failed_write_and_the_file_stays(tmp_path):
    text = fixture("kubelet", "kubeadm-config.yaml")
    path = put(tmp_path, "config.yaml", text)
    node = FakeNode()
    node.fail_copy = True
    result = run_action(kubelet_action, node, {"path": path, "settings": {"cgroupDriver": "systemd"}})
    assert result["failed"] and "No space left on device" in result["msg"]
    assert "original file is unchanged" in result["msg"]
    assert open(path).read() == text


@pytest.mark.parametrize("args, message", [
    ({}, "missing: settings"),
    ({"state": "absent"}, "missing: remove"),
    ({"settings": {"a": 1}, "colour": "red"}, "colour"),
])
def test_kubelet_config_validates_its_arguments(args, message):
    from ansible.errors import AnsibleActionFail

    with pytest.raises(AnsibleActionFail, match=message):
        run_action(kubelet_action, FakeNode(), args)


# ---------------------------------------------------------------------------
# containerd_config
# ---------------------------------------------------------------------------

DEFAULT_17 = ("containerd config default", (0, fixture("containerd", "containerd-1.7-default.toml"), ""))
DEFAULT_20 = ("containerd config default", (0, fixture("containerd", "containerd-2.0-default.toml"), ""))


@pytest.mark.parametrize("name", ["containerd-1.6-default.toml", "containerd-1.7-default.toml",
                                  "containerd-2.0-default.toml", "nvidia-with-comments.toml"])
def test_containerd_config_edits_in_place_and_is_idempotent(tmp_path, name):
    path = put(tmp_path, "config.toml", fixture("containerd", name), mode=0o644)
    node = FakeNode(dict([DEFAULT_17]))
    first = run_action(containerd_action, node, {"path": path, "systemd_cgroup": True})
    second = run_action(containerd_action, node, {"path": path, "systemd_cgroup": True})
    assert first["changed"] and not first["generated_from_default"]
    assert not second["changed"] and "backup_file" not in second
    assert node.command_calls == []
    assert len(node.copies) == 1
    assert all(value is True for value in second["after"]["systemd_cgroup"].values())


def test_containerd_config_generates_the_docker_packaged_config_from_the_default(tmp_path):
    path = put(tmp_path, "config.toml", fixture("containerd", "docker-packaged.toml"), mode=0o644)
    node = FakeNode(dict([DEFAULT_17]))
    result = run_action(containerd_action, node, {"path": path, "systemd_cgroup": True,
                                                  "sandbox_image": "registry.k8s.io/pause:3.9"})
    assert not result.get("failed"), result
    assert result["generated_from_default"] and result["generation_reason"] == "cri_disabled"
    assert result["schema_version"] == 2
    assert result["before"]["disabled_plugins"] == ["cri"] and result["after"]["disabled_plugins"] == []
    assert node.command_calls == ["containerd config default"]
    data = tomlkit.parse(open(path).read()).unwrap()
    cri = data["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    assert cri["sandbox_image"] == "registry.k8s.io/pause:3.9"
    assert open(result["backup_file"]).read() == fixture("containerd", "docker-packaged.toml")


def test_containerd_config_check_mode_shows_the_generated_config_and_writes_nothing(tmp_path):
    text = fixture("containerd", "docker-packaged.toml")
    path = put(tmp_path, "config.toml", text, mode=0o644)
    node = FakeNode(dict([DEFAULT_20]))
    result = run_action(containerd_action, node, {"path": path, "systemd_cgroup": True}, check_mode=True, diff=True)
    assert result["changed"] and result["generated_from_default"] and result["schema_version"] == 3
    assert result["diff"]["before"] == text
    assert "version = 3" in result["diff"]["after"]
    assert node.copies == []
    assert open(path).read() == text


def test_containerd_config_creates_a_missing_file_and_its_directory(tmp_path):
    path = str(tmp_path / "containerd" / "config.toml")
    node = FakeNode(dict([DEFAULT_20]))
    result = run_action(containerd_action, node, {"path": path, "systemd_cgroup": True})
    assert result["changed"] and result["generation_reason"] == "missing"
    assert "backup_file" not in result
    assert node.copies[0]["mode"] == "0644" and node.copies[0]["backup"] is False
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_containerd_config_reports_a_failing_default_command(tmp_path):
    path = put(tmp_path, "config.toml", "")
    result = run_action(containerd_action, FakeNode(), {"path": path, "systemd_cgroup": True})
    assert result["failed"]
    assert "containerd config default" in result["msg"] and "command not found" in result["msg"]
    assert open(path).read() == ""


@pytest.mark.parametrize("name, message", [
    ("malformed.toml", "is not valid TOML"),
    ("version1-legacy.toml", "legacy schema version 1"),
])
def test_containerd_config_refuses_bad_files_and_leaves_them_untouched(tmp_path, name, message):
    text = fixture("containerd", name)
    path = put(tmp_path, "config.toml", text)
    node = FakeNode(dict([DEFAULT_17]))
    result = run_action(containerd_action, node, {"path": path, "systemd_cgroup": True})
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith(path) and message in result["msg"]
    assert node.copies == [] and node.command_calls == []
    assert open(path).read() == text
    assert listing(tmp_path) == ["config.toml"]


def test_containerd_config_without_systemd_cgroup_leaves_the_runtimes_alone(tmp_path):
    path = put(tmp_path, "config.toml", fixture("containerd", "containerd-1.7-default.toml"))
    result = run_action(containerd_action, FakeNode(), {"path": path, "config_path": "/etc/containerd/certs.d"},
                        diff=True)
    assert result["changed"] and result["runtimes_touched"] == []
    assert result["after"] == {"config_path": "/etc/containerd/certs.d", "disabled_plugins": []}
    assert "SystemdCgroup = false" in open(path).read()


def test_kubelet_config_edits_kubeadms_instance_configuration_as_a_patch(tmp_path):
    path = put(tmp_path, "instance-config.yaml", 'containerRuntimeEndpoint: "unix:///run/cri-dockerd.sock"\n', 0o644)
    settings = {"containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock"}
    refused = run_action(kubelet_action, FakeNode(), {"path": path, "settings": settings})
    assert refused["failed"] and "is not a KubeletConfiguration" in refused["msg"]
    node = FakeNode()
    result = run_action(kubelet_action, node, {"path": path, "settings": settings, "patch": True})
    assert not result.get("failed"), result
    assert result["changed"] and result["exists"] and result["backup_file"] == path + ".backup~"
    assert yaml.safe_load(open(path).read()) == settings and os.stat(path).st_mode & 0o777 == 0o644
    assert not run_action(kubelet_action, node, {"path": path, "settings": settings, "patch": True})["changed"]
    other = put(tmp_path, "other.yaml", "kind: KubeProxyConfiguration\napiVersion: kubeproxy.config.k8s.io/v1alpha1\n")
    refused = run_action(kubelet_action, FakeNode(), {"path": other, "settings": settings, "patch": True})
    assert refused["failed"] and "KubeProxyConfiguration" in refused["msg"]


def test_kubelet_config_skips_a_missing_file_only_when_asked(tmp_path):
    path = str(tmp_path / "instance-config.yaml")
    args = {"path": path, "settings": {"containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock"}}
    result = run_action(kubelet_action, FakeNode(), dict(args, missing="skip"))
    assert result == {"changed": False, "path": path, "exists": False, "before": {}, "after": {}}
    assert run_action(kubelet_action, FakeNode(), args)["failed"]
    assert listing(tmp_path) == []

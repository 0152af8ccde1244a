"""Tests of the node_runtime_facts action plugin and its parsers."""

import base64
import hashlib
import json
import os
import shlex

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.action import node_runtime_facts as facts_action
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _runtime_facts

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
# the command that reads a systemd unit's state
SHOW = "systemctl show --property=%s %%s" % ",".join(_runtime_facts.UNIT_PROPERTIES)


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


@pytest.mark.parametrize("text, expected", [
    (fixture("kubelet", "kubeadm-flags.env"),
     {"KUBELET_KUBEADM_ARGS": "--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock "
                              "--pod-infra-container-image=registry.k8s.io/pause:3.9 --node-ip 10.0.0.21"}),
    (fixture("kubelet", "default-kubelet"), {"KUBELET_EXTRA_ARGS": "--cgroup-driver=cgroupfs --max-pods=200"}),
    ("export KUBELET_EXTRA_ARGS=\n", {"KUBELET_EXTRA_ARGS": ""}),
])
def test_flag_files_are_read_as_shell_variables(text, expected):
    assert _runtime_facts.parse_env_file(text) == expected


def test_flags_accept_both_spellings():
    words = ["--a=1", "--b", "2", "--c", "--d=x=y"]
    assert _runtime_facts.parse_flags(words) == {"a": "1", "b": "2", "c": "true", "d": "x=y"}


@pytest.mark.parametrize("endpoint, runtime", [
    ("unix:///run/containerd/containerd.sock", "containerd"),
    ("unix:///var/run/cri-dockerd.sock", "docker"),
    ("unix:///var/run/dockershim.sock", "docker"),
    ("unix:///var/run/crio/crio.sock", "cri-o"),
    ("", None),
])
def test_the_runtime_is_named_after_its_endpoint(endpoint, runtime):
    assert _runtime_facts.runtime_from_endpoint(endpoint) == runtime


class FakeTask(object):
    def __init__(self, args):
        self.args = args
        self.check_mode = True
        self.diff = False
        self.async_val = 0


class FakeConnection(object):
    class _shell(object):  # noqa: N801 - mirrors the attribute name of a connection
        tmpdir = None


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Node(object):
    """A node that answers the reader's request from its ``files`` (path: text) and ``commands``."""

    def __init__(self, files, commands):
        self.files = files
        self.commands = commands
        self.modules = []
        self.command_lines = []

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        self.modules.append(module_name)
        raise AssertionError("no module runs on the node: %s" % module_name)

    def command(self, cmd):
        rc, out = self.commands.get(cmd, (127, ""))
        return rc, out, "" if rc == 0 else "not found"

    def low_level(self, cmd, sudoable=True, **_kwargs):
        self.command_lines.append(cmd)
        argv = shlex.split(cmd)
        assert argv[:3] == ["python3", "-c", _runtime_facts.NODE_READER], argv[:2]
        request = json.loads(argv[3])
        files = {}
        for path in request["files"]:
            text = self.files.get(path)
            files[path] = ({"exists": False} if text is None
                           else {"exists": True, "regular": True, "content": b64(text)})
        commands = {}
        for name, line, needs in request["commands"]:
            if needs and commands[needs]["rc"] != 0:
                continue
            rc, out, err = self.command(line)
            commands[name] = {"rc": rc, "stdout": b64(out), "stderr": b64(err)}
        return {"rc": 0, "stdout": json.dumps({"files": files, "commands": commands}), "stderr": ""}


@pytest.fixture(autouse=True)
def no_base_run(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)


def gather(node, args=None):
    action = facts_action.ActionModule(FakeTask(args or {}), FakeConnection(), None, None, None)
    action._execute_module = node.execute_module
    action._low_level_execute_command = node.low_level
    return action.run(task_vars={})


def systemd_show(active):
    return (0, "LoadState=loaded\nActiveState=%s\nSubState=running\nUnitFileState=enabled\n" % active)


KUBELET_SYSTEMD = fixture("kubelet", "kubeadm-config.yaml").replace("cgroupDriver: cgroupfs", "cgroupDriver: systemd")
CONTAINERD_FLAGS = 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock"\n'


def containerd_node(kubelet_config, dump, flags=CONTAINERD_FLAGS, extra_files=None):
    files = {"/var/lib/kubelet/config.yaml": kubelet_config, "/var/lib/kubelet/kubeadm-flags.env": flags}
    files.update(extra_files or {})
    commands = {
        "stat -fc %T /sys/fs/cgroup": (0, "cgroup2fs\n"),
        "containerd --version": (0, "containerd containerd.io 1.7.13 abc\n"),
        "containerd config dump": (0, dump),
        SHOW % "kubelet.service":
            systemd_show("active"),
        SHOW % "containerd.service":
            systemd_show("active"),
    }
    return Node(files, commands)


def switched(name):
    return fixture("containerd", name).replace("SystemdCgroup = false", "SystemdCgroup = true")


def test_a_node_fully_on_systemd_is_consistent():
    result = gather(containerd_node(KUBELET_SYSTEMD, switched("containerd-1.7-default.toml")))
    assert result["consistent_on_systemd"] is True, result["runtime_facts"]["problems"]
    facts = result["runtime_facts"]
    assert facts["container_runtime"] == "containerd"
    assert facts["cgroup_version"] == 2
    assert facts["containerd"]["systemd_cgroup"] == {"runc": True}
    assert facts["services"]["kubelet"] == {"exists": True, "load_state": "loaded", "active": "active",
                                            "sub_state": "running", "enabled": "enabled", "active_since": None,
                                            "inactive_since": None}
    assert facts["services"]["docker"]["exists"] is False
    assert result["ansible_facts"]["nodeops_runtime"] == facts
    assert result["changed"] is False


@pytest.mark.parametrize("kubelet, dump, flags_extra, problem", [
    (fixture("kubelet", "kubeadm-config.yaml"), switched("containerd-1.7-default.toml"), None,
     "kubelet uses the cgroupfs cgroup driver"),
    (KUBELET_SYSTEMD, fixture("containerd", "nvidia-with-comments.toml"), None,
     "without SystemdCgroup = true: nvidia, runc, runc-untrusted"),
    (KUBELET_SYSTEMD, fixture("containerd", "containerd-2.0-default.toml"), None,
     "without SystemdCgroup = true: runc"),
    (KUBELET_SYSTEMD, switched("containerd-1.7-default.toml"), fixture("kubelet", "default-kubelet"),
     "--cgroup-driver=cgroupfs"),
])
def test_any_disagreement_makes_the_node_inconsistent_and_is_explained(kubelet, dump, flags_extra, problem):
    extra = {"/etc/default/kubelet": flags_extra} if flags_extra else None
    result = gather(containerd_node(kubelet, dump, extra_files=extra))
    assert result["consistent_on_systemd"] is False
    assert any(problem in text for text in result["runtime_facts"]["problems"]), result["runtime_facts"]["problems"]


def test_a_docker_node_is_judged_by_docker_info():
    node = containerd_node(KUBELET_SYSTEMD, "", flags=fixture("kubelet", "kubeadm-flags.env"))
    node.commands["docker info --format '{{json .}}'"] = (0, json.dumps(
        {"ServerVersion": "24.0.7", "CgroupDriver": "cgroupfs", "CgroupVersion": "2"}))
    result = gather(node)
    facts = result["runtime_facts"]
    assert facts["container_runtime"] == "docker"
    assert facts["docker"]["cgroup_driver"] == "cgroupfs" and facts["docker"]["available"]
    assert facts["problems"] == ["Docker uses the cgroupfs cgroup driver"]


def test_missing_components_are_reported_not_fatal():
    node = Node({}, {})
    result = gather(node)
    facts = result["runtime_facts"]
    assert not result.get("failed")
    assert facts["kubelet"]["config_present"] is False
    assert facts["containerd"]["available"] is False and facts["docker"]["available"] is False
    assert facts["container_runtime"] is None
    assert result["consistent_on_systemd"] is False


def test_an_unreadable_kubelet_config_is_reported_in_the_facts():
    node = containerd_node(fixture("kubelet", "malformed.yaml"), switched("containerd-1.7-default.toml"))
    facts = gather(node)["runtime_facts"]
    assert "/var/lib/kubelet/config.yaml is not a readable KubeletConfiguration" in facts["kubelet"]["config_error"]


def test_the_certificate_and_cgroup_v1_settings_of_the_kubelet_are_reported():
    config = KUBELET_SYSTEMD + "serverTLSBootstrap: true\nfailCgroupV1: false\n"
    facts = gather(containerd_node(config, switched("containerd-1.7-default.toml")))["runtime_facts"]["kubelet"]
    assert facts["server_tls_bootstrap"] is True
    assert facts["fail_cgroup_v1"] is False
    assert facts["rotate_certificates"] is True


def test_settings_the_kubelet_file_leaves_out_are_none():
    config = KUBELET_SYSTEMD.replace("rotateCertificates: true\n", "")
    facts = gather(containerd_node(config, switched("containerd-1.7-default.toml")))["runtime_facts"]["kubelet"]
    assert facts["server_tls_bootstrap"] is None
    assert facts["fail_cgroup_v1"] is None
    assert facts["rotate_certificates"] is None


def test_the_node_is_read_with_one_command_and_no_module():
    node = containerd_node(KUBELET_SYSTEMD, switched("containerd-1.7-default.toml"))
    result = gather(node)
    assert not result.get("failed"), result
    assert node.modules == []
    assert len(node.command_lines) == 1


def test_the_reader_runs_with_the_hosts_python_interpreter():
    node = containerd_node(KUBELET_SYSTEMD, switched("containerd-1.7-default.toml"))
    sent = []

    def low_level(cmd, sudoable=True, **_kwargs):
        sent.append(cmd)
        return node.low_level(cmd.replace("/usr/bin/python3.9 ", "python3 ", 1), sudoable)

    action = facts_action.ActionModule(FakeTask({}), FakeConnection(), None, None, None)
    action._low_level_execute_command = low_level
    result = action.run(task_vars={"ansible_python_interpreter": "/usr/bin/python3.9"})
    assert not result.get("failed"), result
    assert shlex.split(sent[0])[0] == "/usr/bin/python3.9"


def test_a_node_whose_reader_fails_fails_with_the_cause():
    action = facts_action.ActionModule(FakeTask({}), FakeConnection(), None, None, None)
    action._low_level_execute_command = lambda cmd, sudoable=True, **kw: {
        "rc": 127, "stdout": "", "stderr": "/bin/sh: 1: python3: not found"}
    result = action.run(task_vars={"inventory_hostname": "node-1"})
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == ("cannot read the runtime facts of node-1: python3 exited 127: /bin/sh: 1: python3: not "
                             "found; the module needs the node's python3 and root (become: true)")


def test_a_file_the_node_refuses_to_read_fails_the_task_with_the_file():
    node = containerd_node(KUBELET_SYSTEMD, switched("containerd-1.7-default.toml"))
    answer = node.low_level

    def low_level(cmd, sudoable=True, **_kwargs):
        result = answer(cmd, sudoable)
        data = json.loads(result["stdout"])
        data["files"]["/etc/default/kubelet"] = {"error": "Permission denied", "stage": "read"}
        result["stdout"] = json.dumps(data)
        return result

    action = facts_action.ActionModule(FakeTask({}), FakeConnection(), None, None, None)
    action._low_level_execute_command = low_level
    result = action.run(task_vars={})
    assert result["failed"] is True and result["path"] == "/etc/default/kubelet"
    assert result["msg"].startswith("cannot read /etc/default/kubelet on the node: Permission denied")


def test_more_units_and_file_digests_come_from_the_same_reader_run():
    node = containerd_node(KUBELET_SYSTEMD, switched("containerd-1.7-default.toml"),
                           extra_files={"/etc/containerd/config.toml": "version = 2\n"})
    node.commands[SHOW % "docker.socket"] = (
        0, "LoadState=masked\nActiveState=inactive\nSubState=dead\nUnitFileState=masked\n")
    result = gather(node, {"units": ["docker.socket", "cri-docker.socket"],
                           "digest_paths": ["/etc/containerd/config.toml", "/etc/docker/daemon.json"]})
    facts = result["runtime_facts"]
    assert len(node.command_lines) == 1
    assert facts["units"] == {
        "docker.socket": {"exists": True, "load_state": "masked", "active": "inactive", "sub_state": "dead",
                          "enabled": "masked", "active_since": None, "inactive_since": None},
        "cri-docker.socket": {"exists": False, "load_state": None, "active": None, "sub_state": None,
                              "enabled": None, "active_since": None, "inactive_since": None},
    }
    assert facts["file_digests"] == {
        "/etc/containerd/config.toml": hashlib.sha256(b"version = 2\n").hexdigest(),
        "/etc/docker/daemon.json": None,
    }


def test_without_more_units_or_digests_the_facts_have_neither():
    facts = gather(containerd_node(KUBELET_SYSTEMD, switched("containerd-1.7-default.toml")))["runtime_facts"]
    assert "units" not in facts
    assert "file_digests" not in facts

"""Tests of the node_runtime_facts action plugin and its parsers."""

import base64
import json
import os

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.action import node_runtime_facts as facts_action

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


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
    assert facts_action.parse_env_file(text) == expected


def test_flags_accept_both_spellings():
    words = ["--a=1", "--b", "2", "--c", "--d=x=y"]
    assert facts_action.parse_flags(words) == {"a": "1", "b": "2", "c": "true", "d": "x=y"}


@pytest.mark.parametrize("endpoint, runtime", [
    ("unix:///run/containerd/containerd.sock", "containerd"),
    ("unix:///var/run/cri-dockerd.sock", "docker"),
    ("unix:///var/run/dockershim.sock", "docker"),
    ("unix:///var/run/crio/crio.sock", "cri-o"),
    ("", None),
])
def test_the_runtime_is_named_after_its_endpoint(endpoint, runtime):
    assert facts_action.runtime_from_endpoint(endpoint) == runtime


class FakeTask(object):
    def __init__(self, args):
        self.args = args
        self.check_mode = True
        self.diff = False
        self.async_val = 0


class FakeConnection(object):
    class _shell(object):  # noqa: N801 - mirrors the attribute name of a connection
        tmpdir = None


class Node(object):
    def __init__(self, files, commands):
        self.files = files
        self.commands = commands
        self.modules = []

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        self.modules.append(module_name)
        if module_name == "ansible.builtin.stat":
            exists = module_args["path"] in self.files
            return {"stat": {"exists": exists, "isreg": exists, "isdir": False}}
        if module_name == "ansible.builtin.slurp":
            return {"content": base64.b64encode(self.files[module_args["src"]].encode()).decode()}
        raise AssertionError(module_name)

    def low_level(self, cmd, sudoable=True, **_kwargs):
        rc, out = self.commands.get(cmd, (127, ""))
        return {"rc": rc, "stdout": out, "stderr": "" if rc == 0 else "not found"}


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
        "systemctl show --property=LoadState,ActiveState,SubState,UnitFileState kubelet.service":
            systemd_show("active"),
        "systemctl show --property=LoadState,ActiveState,SubState,UnitFileState containerd.service":
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
    assert facts["services"]["kubelet"] == {"exists": True, "active": "active", "sub_state": "running",
                                            "enabled": "enabled"}
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

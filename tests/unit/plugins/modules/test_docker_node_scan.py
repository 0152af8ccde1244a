"""The docker_node_scan module: report, verdict, failure and acknowledgements on a node tree."""

import json
import os
import types

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _docker_scan
from ansible_collections.nodeops.kubernetes.plugins.modules import docker_node_scan as module

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


@pytest.fixture
def node(tmp_path, monkeypatch):
    """Point the scanner at tmp_path as the node's root and make ss unavailable unless a test sets it."""
    original = _docker_scan.NodeScanner.__init__

    def init(self, node_name, **kwargs):
        kwargs["root"] = str(tmp_path)
        original(self, node_name, **kwargs)

    monkeypatch.setattr(_docker_scan.NodeScanner, "__init__", init)
    monkeypatch.setattr(module, "ss_connections", lambda: None)
    warned = []
    monkeypatch.setattr(module.AnsibleModule, "warn", lambda self, warning, **kwargs: warned.append(warning))
    return types.SimpleNamespace(root=tmp_path, warned=warned)


def put(root, path, text):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)


def run(args, capsys, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


DAEMON_JSON = json.dumps({
    "registry-mirrors": ["https://mirror.gcr.io"],
    "insecure-registries": ["registry.lan:5000"],
    "log-driver": "json-file",
    "log-opts": {"max-size": "50m", "max-file": "5"},
    "data-root": "/data/docker",
    "exec-opts": ["native.cgroupdriver=systemd"],
})


def test_the_report_lists_findings_and_the_settings_to_carry_over(node, capsys):
    put(node.root, "/etc/docker/daemon.json", DAEMON_JSON)
    code, result = run({"name": "w1"}, capsys, check_mode=True)
    assert code == 0
    assert result["changed"] is False
    assert result["blocking"] == ["daemon-json-data-root:node/w1"]
    assert result["ok_to_switch"] is False
    assert result["carry_over"]["registry_mirrors"] == ["https://mirror.gcr.io"]
    assert result["carry_over"]["insecure_registries"] == ["registry.lan:5000"]
    assert result["carry_over"]["cgroup_driver"] == "systemd"
    assert result["carry_over"]["log_opts"] == {"max-size": "50m", "max-file": "5"}
    assert result["summary"]["blocking"] == 1
    assert any("1 blocking finding(s)" in warning for warning in node.warned)
    finding = result["findings"][0]
    assert set(finding) >= {"id", "severity", "where", "what", "breaks", "fix", "acknowledged"}


def test_acknowledged_findings_no_longer_block_and_typos_are_warned_about(node, capsys):
    put(node.root, "/etc/docker/daemon.json", DAEMON_JSON)
    code, result = run({"name": "w1", "on_problem": "fail",
                        "acknowledge": ["daemon-json-data-root:node/*", "daemon-json-dataroot:node/w1"]}, capsys)
    assert code == 0
    assert result["ok_to_switch"] is True
    assert result["unmatched_acknowledgements"] == ["daemon-json-dataroot:node/w1"]
    assert node.warned == ["acknowledge entry 'daemon-json-dataroot:node/w1' matches no finding of node w1"]


def test_on_problem_fail_fails_with_every_blocking_finding_and_the_report(node, capsys):
    put(node.root, "/etc/docker/daemon.json", DAEMON_JSON)
    code, result = run({"name": "w1", "on_problem": "fail"}, capsys)
    assert code == 1
    assert result["msg"].startswith("node w1: 1 blocking finding(s) stop the switch to containerd")
    assert "daemon-json-data-root:node/w1" in result["msg"]
    assert result["blocking"] == ["daemon-json-data-root:node/w1"]


def test_warnings_fail_when_block_on_warnings_is_set(node, capsys):
    put(node.root, "/etc/docker/daemon.json", '{"log-opts": {"max-size": "10m"}}')
    code, result = run({"name": "w1", "on_problem": "fail", "block_on_warnings": True}, capsys)
    assert code == 1
    assert result["blocking"] == ["daemon-json-log-opts:node/w1"]


def test_malformed_daemon_json_fails_with_a_message_naming_the_file(node, capsys):
    with open(os.path.join(FIXTURES, "docker", "malformed.json")) as handle:
        put(node.root, "/etc/docker/daemon.json", handle.read())
    code, result = run({"name": "w1"}, capsys)
    assert code == 1
    assert result["msg"].startswith("/etc/docker/daemon.json is not valid JSON")
    assert result["path"] == "/etc/docker/daemon.json"


def test_the_node_name_defaults_to_the_host_name(node, capsys, monkeypatch):
    monkeypatch.setattr(module.socket, "gethostname", lambda: "host-a")
    put(node.root, "/etc/docker/daemon.json", '{"data-root": "/d"}')
    code, result = run({}, capsys)
    assert code == 0
    assert result["node"] == "host-a"
    assert result["blocking"] == ["daemon-json-data-root:node/host-a"]

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils/_node_script.py: module_utils code sent to a node as one ``python3 -c`` command."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_audit, _node_audit_options
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import command_line
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils import _node_script

PREFIX = _node_script.MODULE_UTILS + "."


def write(directory, name, text):
    with open(os.path.join(str(directory), name + ".py"), "w") as handle:
        handle.write(text)


class Node(object):
    """An action whose connection runs commands here, in a shell, and remembers them."""

    def __init__(self, rc=None, stdout=None, stderr=""):
        self.commands = []
        self.fixed = (rc, stdout, stderr) if rc is not None else None

    def _low_level_execute_command(self, cmd, sudoable=True):
        self.commands.append((cmd, sudoable))
        if self.fixed:
            rc, stdout, stderr = self.fixed
        else:
            proc = subprocess.run(["/bin/sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, check=False)
            rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        return {"rc": rc, "stdout": stdout, "stderr": stderr}


def test_the_audit_read_takes_its_module_and_every_module_it_imports_and_nothing_of_the_controller():
    sources = _node_script.module_sources("_node_audit")
    names = set(name[len(PREFIX):] for name in sources)
    # what _node_audit imports, directly and through the Docker scan
    assert {"_node_audit", "_runtime_facts_node", "_cert_expiry_node", "_dns_wire", "_errors", "_docker_daemon",
            "_docker_scan_node", "_docker_scan_sockets", "_docker_scan_words", "_file_edit"} <= names
    # the controller's parsers (YAML, TOML, X.509) stay on the controller
    assert not names & {"_node_audit_facts", "_runtime_facts", "_cert_expiry", "_k8s"}
    with open(os.path.join(_node_script.MODULE_UTILS_DIR, "_dns_wire.py")) as handle:
        assert sources[PREFIX + "_dns_wire"] == handle.read()


def test_code_importing_more_than_the_standard_library_is_refused_naming_file_and_import(tmp_path, monkeypatch):
    monkeypatch.setattr(_node_script, "MODULE_UTILS_DIR", str(tmp_path))
    write(tmp_path, "_entry", "import json\nfrom %s import _helper\n" % _node_script.MODULE_UTILS)
    write(tmp_path, "_helper", "import os.path\nfrom ansible.module_utils.basic import AnsibleModule\n")
    with pytest.raises(NodeOpsError) as caught:
        _node_script.module_sources("_entry")
    assert "module_utils/_helper.py" in caught.value.message
    assert "ansible.module_utils.basic" in caught.value.message
    write(tmp_path, "_helper", "import yaml\n")
    with pytest.raises(NodeOpsError, match="imports yaml, which is not in the standard library"):
        _node_script.module_sources("_entry")


def test_a_function_runs_on_a_bare_python_with_its_request_and_its_imports(tmp_path, monkeypatch):
    monkeypatch.setattr(_node_script, "MODULE_UTILS_DIR", str(tmp_path))
    write(tmp_path, "_entry", "import sys\nfrom %s._helper import twice\n\n"
                              "def answer(request):\n"
                              "    return {'twice': twice(request['n']), 'site': 'site' in sys.modules,\n"
                              "            'flags': [sys.flags.isolated, sys.flags.no_site]}\n"
          % _node_script.MODULE_UTILS)
    write(tmp_path, "_helper", "def twice(n):\n    return 2 * n\n")
    node = Node()
    answer = _node_script.NodeScript("_entry", "answer").run(node, {"ansible_python_interpreter": sys.executable},
                                                             {"n": 21}, "node w1")
    assert answer == {"twice": 42, "site": False, "flags": [1, 1]}
    [(cmd, sudoable)] = node.commands
    assert sudoable is True and cmd.startswith(command_line([sys.executable, "-I", "-S", "-c"]))


def test_the_audit_read_runs_on_a_python_without_site_packages_and_answers_as_it_does_in_process(tmp_path):
    """The node's entry of node_audit_facts, sent as the action sends it, answers as it does in this process
    (neither Ansible nor any package of the venv is importable there: -I -S)."""
    kubelet_config = tmp_path / "config.yaml"
    kubelet_config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                              "cgroupDriver: systemd\n")
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text(json.dumps({"log-driver": "fluentd"}))
    params = dict((name, spec.get("default")) for name, spec in _node_audit_options.ARGUMENT_SPEC.items())
    params.update(kubelet_config_path=str(kubelet_config), kubelet_flags_files=[], pki_dir=str(tmp_path / "pki"),
                  kubeconfig_dir=str(tmp_path), manifests_dir=str(tmp_path / "manifests"), name="w1",
                  daemon_json=str(daemon_json), script_paths=[], containerd_binary=str(tmp_path / "no-containerd"),
                  docker_binary=str(tmp_path / "no-docker"))
    node = Node()
    sent = _node_script.NodeScript("_node_audit", "read_this_node").run(
        node, {"ansible_python_interpreter": sys.executable}, params, "node w1")
    here = json.loads(json.dumps(_node_audit.read_node(params, "w1", None)))
    assert sent["errors"] == here["errors"] == {}
    assert "daemon-json-log-driver:node/w1" in sent["docker_node"]["blocking"]
    assert sent["docker_node"]["findings"] == here["docker_node"]["findings"]
    for part in ("runtime_answer", "certificates_answer"):
        sent_files, here_files = json.loads(sent[part])["files"], json.loads(here[part])["files"]
        assert sent_files == here_files, part
    assert json.loads(sent["runtime_answer"])["files"][str(kubelet_config)]["exists"] is True


@pytest.mark.parametrize("rc, stdout, stderr, expected", [
    (127, "", "sh: 1: /usr/bin/python3.12: not found",
     "cannot read node w1: /usr/bin/python3.12 -c exited 127: sh: 1: /usr/bin/python3.12: not found; the read "
     "needs the node's python3 (3.9 or later, standard library only) and root (become: true)"),
    (1, "", "Traceback (most recent call last):\n  ...\nPermissionError: [Errno 13] Permission denied: '/etc/x'",
     "exited 1: Traceback (most recent call last):\n  ...\nPermissionError: [Errno 13] Permission denied"),
    (0, "[1, 2]", "", "cannot read node w1: /usr/bin/python3.12 -c printed no JSON object: [1, 2]"),
    (0, "Welcome to the node!\n{}", "", "printed no JSON object: Welcome to the node!"),
])
def test_a_read_that_fails_on_the_node_says_what_the_node_said(rc, stdout, stderr, expected):
    node = Node(rc, stdout, stderr)
    with pytest.raises(NodeOpsError) as caught:
        _node_script.NodeScript("_errors", "NodeOpsError").run(
            node, {"ansible_python_interpreter": "/usr/bin/python3.12"}, {}, "node w1")
    assert expected in caught.value.message


def test_a_long_error_keeps_its_end():
    assert _node_script.last_lines("x" * 600 + "the cause") == "..." + ("x" * 600 + "the cause")[-500:]


@pytest.mark.parametrize("task_vars, expected", [
    ({}, "python3"),
    ({"ansible_python_interpreter": "/opt/python/bin/python3"}, "/opt/python/bin/python3"),
    ({"ansible_python_interpreter": "{{ discovered }}"}, "python3"),
    ({"ansible_python_interpreter": "auto_silent",
      "ansible_facts": {"discovered_interpreter_python": "/usr/libexec/platform-python"}},
     "/usr/libexec/platform-python"),
    ({"ansible_python_interpreter": "/usr/bin/env python3"}, "python3"),
])
def test_the_node_python_is_the_configured_path_else_the_discovered_one_else_python3(task_vars, expected):
    assert _node_script.node_python(task_vars) == expected


def test_the_bundle_is_built_by_the_first_worker_of_a_run_and_read_by_the_others(tmp_path, monkeypatch):
    first = _node_script.NodeScript("_node_audit", "read_this_node", cache_dir=str(tmp_path))
    bundle = first.bundle
    assert os.listdir(str(tmp_path / "nodeops_node_script")) == ["_node_audit.read_this_node"]

    def no_build(module):
        raise AssertionError("built again")

    monkeypatch.setattr(_node_script, "module_sources", no_build)
    assert _node_script.NodeScript("_node_audit", "read_this_node", cache_dir=str(tmp_path)).bundle == bundle
    with pytest.raises(AssertionError, match="built again"):
        _node_script.NodeScript("_node_audit", "other", cache_dir=str(tmp_path)).bundle


def test_a_cache_that_cannot_be_written_only_costs_a_build(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    script = _node_script.NodeScript("_errors", "NodeOpsError", cache_dir=str(blocked))
    assert script.bundle and not os.path.isdir(str(blocked))


def test_the_audit_read_fits_well_in_one_command_line_argument():
    """Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN) with "Argument list too long"; sudo and
    ``sh -c`` carry the whole command as one argument, so the bundle must stay well below that."""
    bundle = _node_script.NodeScript("_node_audit", "read_this_node", cache_dir=os.devnull).bundle
    assert len(_node_script.RUNNER) + len(bundle) < 96 * 1024


def other_pythons():
    """Pythons 3.9 or later on this machine besides the one running the tests (pyenv's, or python3.X on the PATH)."""
    found = set(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    found.update(filter(None, (shutil.which("python3.%d" % minor) for minor in range(9, 15))))
    versions = {}
    for path in sorted(found):
        proc = subprocess.run([path, "-I", "-S", "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                              stdout=subprocess.PIPE, universal_newlines=True, check=False)
        if proc.returncode == 0:
            version = tuple(int(part) for part in proc.stdout.split())
            if version >= (3, 9) and version != sys.version_info[:2]:
                versions.setdefault(version, path)
    return [versions[version] for version in sorted(versions)]


@pytest.mark.skipif(not other_pythons(), reason="no other Python 3.9 or later on this machine")
@pytest.mark.parametrize("python", other_pythons() or [None])
def test_the_audit_read_runs_on_every_other_python_of_this_machine(tmp_path, python):
    """Nodes run the Python of their distribution: the sent code must not need the controller's."""
    params = dict((name, spec.get("default")) for name, spec in _node_audit_options.ARGUMENT_SPEC.items())
    params.update(name="w1", script_paths=[], kubelet_config_path=str(tmp_path / "config.yaml"))
    answer = _node_script.NodeScript("_node_audit", "read_this_node", cache_dir=str(tmp_path)).run(
        Node(), {"ansible_python_interpreter": python}, params, "node w1")
    assert answer["errors"] == {} and answer["node"] == "w1"
    assert json.loads(answer["runtime_answer"])["files"][str(tmp_path / "config.yaml")] == {"exists": False}

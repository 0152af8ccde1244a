# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime facts split in two: the reader that runs on the node, and the parsing of its answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import base64
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _runtime_facts as rf
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")

UNIT_LINE = "systemctl show --property=LoadState,ActiveState,SubState,UnitFileState,ActiveEnterTimestampMonotonic,InactiveEnterTimestampMonotonic %s.service"


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


KUBELET_SYSTEMD = fixture("kubelet", "kubeadm-config.yaml").replace("cgroupDriver: cgroupfs", "cgroupDriver: systemd")
CONTAINERD_FLAGS = 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock"\n'
SYSTEMD_DUMP = fixture("containerd", "containerd-1.7-default.toml").replace(
    "SystemdCgroup = false", "SystemdCgroup = true")


def run_reader(request, env=None):
    """Run the node-side reader here, as the node's python3 would, and decode its answer."""
    proc = subprocess.run([sys.executable, "-c", rf.NODE_READER, json.dumps(request)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True, env=env, timeout=60)
    assert proc.stderr == b""
    return rf.decode_reader_output(proc.stdout.decode(), "node-1")


def answer(files=None, commands=None):
    """A decoded answer as the reader gives it: ``files`` path -> text, ``commands`` line -> (rc, stdout)."""
    files = files or {}
    commands = commands or {}
    request = rf.node_request()
    decoded = {"files": {}, "commands": {}}
    for path in request["files"]:
        text = files.get(path)
        decoded["files"][path] = ({"exists": False} if text is None
                                  else {"exists": True, "regular": True, "content": text.encode()})
    for name, line, needs in request["commands"]:
        if needs and decoded["commands"][needs][0] != 0:
            continue
        rc, stdout = commands.get(line, (127, ""))
        decoded["commands"][name] = (rc, stdout, "" if rc == 0 else "/bin/sh: 1: %s: not found" % line.split()[0])
    return decoded


def kubeadm_containerd_node(kubelet=KUBELET_SYSTEMD, dump=SYSTEMD_DUMP, **more_files):
    files = {"/var/lib/kubelet/config.yaml": kubelet, "/var/lib/kubelet/kubeadm-flags.env": CONTAINERD_FLAGS}
    files.update(more_files)
    commands = {
        "stat -fc %T /sys/fs/cgroup": (0, "cgroup2fs\n"),
        "containerd --version": (0, "containerd containerd.io 1.7.13 7c3aca7\n"),
        "containerd config dump": (0, dump),
        UNIT_LINE % "kubelet": (0, "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"),
        UNIT_LINE % "containerd": (0, "LoadState=loaded\nActiveState=active\nSubState=running\n"
                                      "UnitFileState=enabled\n"),
        UNIT_LINE % "docker": (0, "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n"),
    }
    return answer(files, commands)


# ---------------------------------------------------------------------------
# The request and the reader on the node.
# ---------------------------------------------------------------------------

def test_the_request_lists_each_file_once_and_every_command_quoted():
    request = rf.node_request(kubelet_flags_files=["/etc/default/kubelet", "/etc/default/kubelet"],
                              docker_binary="/opt/my docker")
    assert request["files"] == ["/var/lib/kubelet/config.yaml", "/etc/default/kubelet"]
    lines = dict((name, line) for name, line, _needs in request["commands"])
    assert lines[rf.DOCKER_INFO] == "'/opt/my docker' info --format '{{json .}}'"
    assert lines[rf.CGROUP_FS] == "stat -fc %T /sys/fs/cgroup"
    assert [needs for name, _line, needs in request["commands"] if needs] == [rf.CONTAINERD_VERSION]
    assert sorted(lines) == sorted([rf.CGROUP_FS, rf.CONTAINERD_VERSION, rf.CONTAINERD_DUMP, rf.DOCKER_INFO,
                                    "unit_kubelet", "unit_containerd", "unit_docker", "unit_cri-docker"])


def test_the_reader_is_python_3_9_standard_library_code():
    tree = ast.parse(rf.NODE_READER, feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):  # pragma: no cover - the reader uses plain imports
            imported.add(node.module)
    assert imported == {"base64", "errno", "json", "os", "stat", "subprocess", "sys", "time"}


def test_the_reader_returns_files_raw_and_opens_only_regular_files(tmp_path):
    text = tmp_path / "config.yaml"
    text.write_text("cgroupDriver: systemd\n")
    latin1 = tmp_path / "latin1.env"
    latin1.write_bytes(b"X=\xe9\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(text)
    broken = tmp_path / "broken.yaml"
    broken.symlink_to(tmp_path / "nowhere")
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    paths = [str(p) for p in (text, latin1, link, broken, fifo, tmp_path, tmp_path / "absent", text / "below")]
    files = run_reader({"files": paths, "commands": []})["files"]
    assert files[str(text)] == {"exists": True, "regular": True, "content": b"cgroupDriver: systemd\n"}
    assert files[str(latin1)]["content"] == b"X=\xe9\n"
    assert files[str(link)]["content"] == b"cgroupDriver: systemd\n"
    assert files[str(broken)] == {"exists": False}
    assert files[str(tmp_path / "absent")] == {"exists": False}
    # A FIFO is not opened (opening it would block the reader), a directory is named as one.
    assert files[str(fifo)] == {"exists": True, "regular": False, "isdir": False}
    assert files[str(tmp_path)] == {"exists": True, "regular": False, "isdir": True}
    assert files[str(text / "below")] == {"error": "Not a directory", "stage": "stat"}


def test_the_reader_gives_the_nodes_clocks_read_at_one_moment():
    before = time.time()
    clock = run_reader({"files": [], "commands": []})["clock"]
    assert before <= clock["realtime"] <= time.time() and clock["monotonic"] > 0


def test_systemd_monotonic_timestamps_become_times_of_the_nodes_clock():
    shown = ("LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
             "ActiveEnterTimestampMonotonic=995000000\nInactiveEnterTimestampMonotonic=990250000\n")
    decoded = answer(commands={UNIT_LINE % "kubelet": (0, shown)})
    # the node read its clocks 1000 s after boot, at 2026-12-02T10:00:00.5Z
    decoded["clock"] = {"realtime": 1796205600.5, "monotonic": 1000.0}
    kubelet = rf.unit_facts(decoded, "kubelet")
    assert kubelet["inactive_since"] == "2026-12-02T09:59:50.750000Z"
    assert kubelet["active_since"] == "2026-12-02T09:59:55.500000Z"
    # never entered since boot (0), or an answer without clocks (an older reader): unknown
    assert rf.unit_facts(decoded, "docker")["inactive_since"] is None
    assert rf.node_time(decoded, "0") is None and rf.node_time(decoded, "n/a") is None
    assert rf.node_time({"files": {}, "commands": {}}, "990250000") is None


def test_the_reader_runs_commands_through_the_shell_and_skips_what_needs_a_failed_one(tmp_path):
    commands = [
        ["ok", "printf 'cgroup2fs\\n'; printf warn >&2", None],
        ["missing", "no-such-binary-here --version", None],
        ["after_missing", "touch %s" % (tmp_path / "ran"), "missing"],
        ["after_ok", "exit 3", "ok"],
    ]
    result = run_reader({"files": [], "commands": commands})["commands"]
    assert result["ok"] == (0, "cgroup2fs\n", "warn")
    assert result["missing"][0] == 127 and "no-such-binary-here" in result["missing"][2]
    assert "after_missing" not in result and not (tmp_path / "ran").exists()
    assert result["after_ok"] == (3, "", "")


def write_script(directory, name, body):
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_a_node_read_by_the_reader_gives_the_facts(tmp_path):
    """The whole way, without Ansible: the reader on files and commands made here, then the parsing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dump = tmp_path / "dump.toml"
    dump.write_text(SYSTEMD_DUMP)
    containerd = write_script(bin_dir, "containerd",
                              'if [ "$1" = --version ]; then echo "containerd containerd.io 1.7.13 7c3aca7"; '
                              'else cat %s; fi\n' % dump)
    # systemctl and stat as the node's would answer (stat -fc %T /sys/fs/cgroup is the only stat call).
    write_script(bin_dir, "systemctl", 'case "$3" in kubelet.service) s=active;; *) s=inactive;; esac\n'
                                       'echo LoadState=loaded; echo ActiveState=$s; echo SubState=running; '
                                       'echo UnitFileState=enabled\n')
    write_script(bin_dir, "stat", "echo cgroup2fs\n")
    config = tmp_path / "config.yaml"
    config.write_text(KUBELET_SYSTEMD + "serverTLSBootstrap: true\n")
    flags = tmp_path / "kubeadm-flags.env"
    flags.write_text(CONTAINERD_FLAGS)
    options = dict(kubelet_config_path=str(config),
                   kubelet_flags_files=[str(flags), str(tmp_path / "default-kubelet")],
                   containerd_binary=containerd, docker_binary=str(bin_dir / "docker"))
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ.get("PATH", "/usr/bin:/bin")))
    facts = rf.runtime_facts(run_reader(rf.node_request(**options), env=env), **options)
    assert facts["consistent_on_systemd"] is True, facts["problems"]
    assert facts["kubelet"]["flags_files"] == [str(flags)]
    assert facts["kubelet"]["server_tls_bootstrap"] is True
    assert facts["container_runtime"] == "containerd"
    assert facts["cgroup_version"] == 2
    assert facts["containerd"] == {"available": True, "error": None,
                                   "version": "containerd containerd.io 1.7.13 7c3aca7",
                                   "schema_version": 2, "systemd_cgroup": {"runc": True}}
    assert facts["docker"]["available"] is False and "docker" in facts["docker"]["error"]
    assert facts["services"]["kubelet"]["active"] == "active"
    assert facts["services"]["containerd"]["active"] == "inactive"


# ---------------------------------------------------------------------------
# The answer and its parsing on the controller.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("stdout", ["Traceback (most recent call last): ...", "{}", '{"files": {}, "commands": 1}',
                                    '{"files": {"/a": {"content": "@@"}}, "commands": {}}'])
def test_an_answer_that_is_not_the_readers_json_names_the_node(stdout):
    with pytest.raises(NodeOpsError, match="runtime facts of node-1: the node's answer is not the expected JSON"):
        rf.decode_reader_output(stdout, "node-1")


def test_what_the_connection_printed_before_the_answer_is_skipped():
    stdout = "sudo: unable to resolve host node-1\r\n" + json.dumps({"files": {}, "commands": {}}) + "\r\n"
    assert rf.decode_reader_output(stdout, "node-1") == {"files": {}, "commands": {}, "clock": None}


def test_the_answer_keeps_file_bytes_and_decodes_command_outputs():
    stdout = json.dumps({"files": {"/a": {"exists": True, "regular": True,
                                          "content": base64.b64encode(b"x: 1\n").decode()}},
                         "commands": {"c": {"rc": 1, "stdout": "", "stderr": base64.b64encode(b"\xffno").decode()}}})
    decoded = rf.decode_reader_output(stdout, "node-1")
    assert decoded["files"]["/a"]["content"] == b"x: 1\n"
    assert decoded["commands"]["c"] == (1, "", u"\ufffdno")


@pytest.mark.parametrize("entry, message", [
    ({"error": "Permission denied", "stage": "stat"},
     "cannot stat /p on the node: Permission denied; check the path and that the play runs with become: true"),
    ({"error": "Permission denied", "stage": "read"},
     "cannot read /p on the node: Permission denied; check the permissions (become: true) and the path"),
    ({"exists": True, "regular": False, "isdir": True}, "/p exists on the node but is not a regular file"),
    ({"exists": True, "regular": True, "content": b"\xe9t\xe9\n"}, "/p is not valid UTF-8 text"),
])
def test_a_file_the_node_could_not_hand_over_is_refused_with_the_cause(entry, message):
    with pytest.raises(NodeOpsError) as caught:
        rf.file_text({"files": {"/p": entry}, "commands": {}}, "/p")
    assert message in caught.value.message
    assert caught.value.details["path"] == "/p"


def test_a_kubeadm_containerd_node_on_systemd_gives_every_fact():
    facts = rf.runtime_facts(kubeadm_containerd_node())
    assert facts == {
        "kubelet": {
            "config_path": "/var/lib/kubelet/config.yaml",
            "config_present": True,
            "config_error": None,
            "cgroup_driver": "systemd",
            "flags": {"container-runtime-endpoint": "unix:///run/containerd/containerd.sock"},
            "flags_files": ["/var/lib/kubelet/kubeadm-flags.env"],
            "server_tls_bootstrap": None,
            "rotate_certificates": True,
            "fail_cgroup_v1": None,
            "cgroup_driver_flag": None,
            "cgroup_driver_effective": "systemd",
            "container_runtime_endpoint": "unix:///run/containerd/containerd.sock",
        },
        "container_runtime": "containerd",
        "cgroup_version": 2,
        "containerd": {"available": True, "error": None, "version": "containerd containerd.io 1.7.13 7c3aca7",
                       "schema_version": 2, "systemd_cgroup": {"runc": True}},
        "docker": {"available": False, "error": "/bin/sh: 1: docker: not found", "cgroup_driver": None,
                   "cgroup_version": None, "server_version": None},
        "services": {
            "kubelet": {"exists": True, "load_state": "loaded", "active": "active", "sub_state": "running",
                        "enabled": "enabled", "active_since": None, "inactive_since": None},
            "containerd": {"exists": True, "load_state": "loaded", "active": "active", "sub_state": "running",
                           "enabled": "enabled", "active_since": None, "inactive_since": None},
            "docker": {"exists": False, "load_state": "not-found", "active": "inactive", "sub_state": "dead",
                       "enabled": "", "active_since": None, "inactive_since": None},
            "cri-docker": {"exists": False, "load_state": None, "active": None, "sub_state": None, "enabled": None,
                           "active_since": None, "inactive_since": None},
        },
        "consistent_on_systemd": True,
        "problems": [],
    }


@pytest.mark.parametrize("output, version", [
    ((0, "cgroup2fs\n"), 2), ((0, "tmpfs\n"), 1), ((0, "ext4\n"), None), ((1, "stat: cannot read"), None),
])
def test_the_cgroup_version_is_the_file_system_type_of_sys_fs_cgroup(output, version):
    node = kubeadm_containerd_node()
    node["commands"][rf.CGROUP_FS] = (output[0], output[1], "")
    assert rf.runtime_facts(node)["cgroup_version"] == version


def test_containerd_config_dump_that_failed_or_does_not_parse_is_an_error_of_the_facts():
    node = kubeadm_containerd_node(dump=fixture("containerd", "malformed.toml"))
    containerd = rf.runtime_facts(node)["containerd"]
    assert containerd["available"] is False
    assert containerd["error"].startswith("cannot parse the output of 'containerd config dump': ")
    node["commands"][rf.CONTAINERD_DUMP] = (1, "", "permission denied\n")
    facts = rf.runtime_facts(node)
    assert facts["containerd"]["error"] == "'containerd config dump' failed: permission denied"
    assert facts["problems"] == ["containerd's effective configuration could not be read: "
                                 "'containerd config dump' failed: permission denied"]


def test_a_containerd_that_is_not_installed_is_not_asked_for_its_configuration():
    decoded = answer()
    assert rf.CONTAINERD_DUMP not in decoded["commands"]
    containerd = rf.runtime_facts(decoded)["containerd"]
    assert containerd["available"] is False and containerd["error"] == "/bin/sh: 1: containerd: not found"


@pytest.mark.parametrize("output, expected", [
    ((0, json.dumps({"ServerVersion": "24.0.7", "CgroupDriver": "systemd", "CgroupVersion": "2"})),
     {"available": True, "error": None, "cgroup_driver": "systemd", "cgroup_version": "2", "server_version": "24.0.7"}),
    ((0, json.dumps({"ServerErrors": ["Cannot connect to the Docker daemon"]})),
     {"available": False, "error": "Cannot connect to the Docker daemon", "cgroup_driver": None,
      "cgroup_version": None, "server_version": None}),
    ((0, "{}"), {"available": False, "error": "the Docker daemon did not answer", "cgroup_driver": None,
                 "cgroup_version": None, "server_version": None}),
    ((1, ""), {"available": False, "error": "rc=1", "cgroup_driver": None, "cgroup_version": None,
               "server_version": None}),
])
def test_docker_info_is_read_as_json(output, expected):
    node = kubeadm_containerd_node()
    node["commands"][rf.DOCKER_INFO] = (output[0], output[1], "")
    assert rf.runtime_facts(node)["docker"] == expected


def test_the_flag_files_are_read_in_order_and_later_flags_win():
    node = kubeadm_containerd_node(**{"/etc/default/kubelet": fixture("kubelet", "default-kubelet")})
    kubelet = rf.runtime_facts(node)["kubelet"]
    assert kubelet["flags_files"] == ["/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet"]
    assert kubelet["flags"]["max-pods"] == "200"
    assert kubelet["cgroup_driver_flag"] == "cgroupfs" and kubelet["cgroup_driver_effective"] == "cgroupfs"


def test_a_flag_file_that_is_not_shell_words_fails_the_read():
    node = kubeadm_containerd_node(**{"/etc/default/kubelet": 'KUBELET_EXTRA_ARGS="--max-pods=1\n'})
    with pytest.raises(NodeOpsError, match="cannot split"):
        rf.runtime_facts(node)


def test_a_kubelet_configuration_that_is_not_a_mapping_is_an_error_of_the_facts():
    kubelet = rf.runtime_facts(kubeadm_containerd_node(kubelet="- a\n"))["kubelet"]
    assert kubelet["config_present"] is True
    assert kubelet["config_error"] == ("/var/lib/kubelet/config.yaml is not a readable KubeletConfiguration: "
                                       "not a mapping")
    assert kubelet["cgroup_driver_effective"] == "cgroupfs"


# ---------------------------------------------------------------------------
# The progress record an operation keeps on the node.
# ---------------------------------------------------------------------------

RECORD_PATH = "/var/lib/nodeops/cgroup_driver.json"


def test_the_progress_record_is_read_last_and_only_when_asked_for():
    assert RECORD_PATH not in rf.node_request()["files"]
    files = rf.node_request(progress_record_path=RECORD_PATH)["files"]
    assert files[-1] == RECORD_PATH and files.count(RECORD_PATH) == 1
    assert "progress_record" not in rf.runtime_facts(kubeadm_containerd_node())


def test_the_reader_hands_over_the_progress_record_with_the_other_files(tmp_path):
    record = tmp_path / "cgroup_driver.json"
    record.write_text('{"operation": "cgroup_driver", "step": "drained"}\n')
    request = rf.node_request(kubelet_config_path=str(tmp_path / "config.yaml"), kubelet_flags_files=[],
                              progress_record_path=str(record))
    request["commands"] = []
    decoded = run_reader(request)
    assert rf.progress_record(decoded, str(record)) == {
        "path": str(record), "exists": True, "error": None,
        "record": {"operation": "cgroup_driver", "step": "drained"}}


def node_with_record(entry):
    decoded = kubeadm_containerd_node()
    decoded["files"][RECORD_PATH] = entry
    return rf.runtime_facts(decoded, progress_record_path=RECORD_PATH)["progress_record"]


def test_a_missing_progress_record_is_absent_not_an_error():
    assert node_with_record({"exists": False}) == {"path": RECORD_PATH, "exists": False, "record": None,
                                                   "error": None}


@pytest.mark.parametrize("entry, error", [
    ({"error": "Permission denied", "stage": "read"}, "cannot read %s on the node: Permission denied" % RECORD_PATH),
    ({"error": "Permission denied", "stage": "stat"}, "cannot stat %s on the node: Permission denied" % RECORD_PATH),
    ({"exists": True, "regular": False, "isdir": True}, "%s is not a regular file" % RECORD_PATH),
    ({"exists": True, "regular": True, "content": b'{"step": "dra'}, "%s is not valid JSON" % RECORD_PATH),
    ({"exists": True, "regular": True, "content": b"\xff\xfe"}, "%s is not UTF-8 text" % RECORD_PATH),
    ({"exists": True, "regular": True, "content": b'["drained"]'}, "%s holds JSON but not an object" % RECORD_PATH),
])
def test_an_unusable_progress_record_is_reported_with_the_cause_not_raised(entry, error):
    read = node_with_record(entry)
    assert read["record"] is None
    assert read["error"].startswith(error), read["error"]

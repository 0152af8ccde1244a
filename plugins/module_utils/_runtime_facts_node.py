# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node side of the runtime facts (``node_runtime_facts``, ``node_audit_facts``): standard library only.

What is read and run on a node (:func:`node_request`) and the reader that does it (:data:`NODE_READER`);
the parsing of its answer is in ``_runtime_facts``, on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import command_line

DEFAULT_KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
DEFAULT_FLAGS_FILES = ("/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet")

UNITS = ("kubelet", "containerd", "docker", "cri-docker")
UNIT_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState", "ActiveEnterTimestampMonotonic",
                   "InactiveEnterTimestampMonotonic")

# Names of the commands in the reader's request and answer.
CGROUP_FS = "cgroup_fs"
CONTAINERD_VERSION = "containerd_version"
CONTAINERD_DUMP = "containerd_dump"
DOCKER_INFO = "docker_info"


def unit_command(unit):
    return "unit_%s" % unit


# Runs on the node with its own python3 (3.9+, standard library only) and prints one JSON object:
# ``files``: path -> {"exists": false} | {"exists": true, "regular": false, "isdir": bool}
#   | {"exists": true, "regular": true, "content": base64} | {"error": ..., "stage": "stat" or "read"};
# ``commands``: name -> {"rc", "stdout", "stderr"} (base64), absent when the command it needs did not exit 0;
# ``clock``: the node's realtime and monotonic clocks read at the same moment, after the commands (systemd's
# ``*TimestampMonotonic`` properties become times of the node's clock with them).
# Files are stat'ed first (following links) and only regular files are opened, so a FIFO cannot block
# it. Commands run through /bin/sh -c, as Ansible runs a command line, so a missing binary gives
# the shell's rc 127 and message.
NODE_READER = r"""
import base64, errno, json, os, stat, subprocess, sys, time
req = json.loads(sys.argv[1])
def b64(data):
    return base64.b64encode(data).decode()
files = {}
for path in req.get("files", []):
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            files[path] = {"exists": False}
        else:
            files[path] = {"error": exc.strerror or str(exc), "stage": "stat"}
        continue
    if not stat.S_ISREG(info.st_mode):
        files[path] = {"exists": True, "regular": False, "isdir": stat.S_ISDIR(info.st_mode)}
        continue
    try:
        with open(path, "rb") as handle:
            files[path] = {"exists": True, "regular": True, "content": b64(handle.read())}
    except (IOError, OSError) as exc:
        files[path] = {"error": exc.strerror or str(exc), "stage": "read"}
commands = {}
for name, line, needs in req.get("commands", []):
    if needs and commands.get(needs, {}).get("rc") != 0:
        continue
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", line], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate()
        commands[name] = {"rc": proc.returncode, "stdout": b64(out), "stderr": b64(err)}
    except OSError as exc:
        commands[name] = {"rc": 127, "stdout": "", "stderr": b64(str(exc).encode())}
print(json.dumps({"files": files, "commands": commands,
                  "clock": {"realtime": time.time(), "monotonic": time.monotonic()}}))
"""


def node_request(kubelet_config_path=DEFAULT_KUBELET_CONFIG, kubelet_flags_files=DEFAULT_FLAGS_FILES,
                 containerd_binary="containerd", docker_binary="docker", progress_record_path=None,
                 units=(), digest_paths=()):
    """What :data:`NODE_READER` reads and runs on the node for :func:`runtime_facts`.

    The files in the order they are used (the progress record, then the files to digest, last, when asked
    for); the commands as ``[name, command line, name of the command that must exit 0 first or None]``:
    ``containerd config dump`` only runs when ``containerd --version`` worked. ``units`` are systemd unit names
    (``docker.socket``) shown besides the services of :data:`UNITS`.
    """
    files = []
    extra = ([progress_record_path] if progress_record_path else []) + list(digest_paths)
    for path in [kubelet_config_path] + list(kubelet_flags_files) + extra:
        if path not in files:
            files.append(path)
    commands = [
        [CGROUP_FS, command_line(["stat", "-fc", "%T", "/sys/fs/cgroup"]), None],
        [CONTAINERD_VERSION, command_line([containerd_binary, "--version"]), None],
        [CONTAINERD_DUMP, command_line([containerd_binary, "config", "dump"]), CONTAINERD_VERSION],
        [DOCKER_INFO, command_line([docker_binary, "info", "--format", "{{json .}}"]), None],
    ]
    for unit in UNITS:
        commands.append([unit_command(unit),
                         command_line(["systemctl", "show", "--property=%s" % ",".join(UNIT_PROPERTIES),
                                       "%s.service" % unit]),
                         None])
    for unit in units:
        if unit_command(unit) not in [name for name, _line, _needs in commands]:
            commands.append([unit_command(unit),
                             command_line(["systemctl", "show", "--property=%s" % ",".join(UNIT_PROPERTIES), unit]),
                             None])
    return {"files": files, "commands": commands}

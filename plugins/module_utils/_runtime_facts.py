# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime facts of a node (``nodeops.kubernetes.node_runtime_facts``): one read on the node, parsing here.

* :data:`NODE_READER` (in ``_runtime_facts_node``, with :func:`node_request`) runs once per node with the node's python3 (standard
  library only). It reads the files and runs the read-only commands that
  :func:`node_request` lists, and prints everything raw in one JSON object;
  it parses nothing.
* :func:`decode_reader_output` checks that answer, :func:`runtime_facts`
  turns it into the facts: the kubelet configuration is parsed as YAML, the
  flag files as shell variables, ``containerd config dump`` as TOML and
  ``docker info`` as JSON, on the controller.

Plain Python over the node's answer, tested without Ansible and without a node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import json

from ansible_collections.nodeops.kubernetes.plugins.module_utils._containerd_config import effective_systemd_cgroup
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
# pylint: disable=unused-import
from ansible_collections.nodeops.kubernetes.plugins.module_utils._runtime_facts_node import (  # noqa: F401 - re-exported
    CGROUP_FS,
    CONTAINERD_DUMP,
    CONTAINERD_VERSION,
    DEFAULT_FLAGS_FILES,
    DEFAULT_KUBELET_CONFIG,
    DOCKER_INFO,
    NODE_READER,
    UNITS,
    UNIT_PROPERTIES,
    node_request,
    unit_command,
)
# pylint: enable=unused-import
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import (
    decode_text,
    not_regular_error,
    read_error,
    shell_words,
    stat_error,
)

try:
    import tomllib
except ImportError:  # pragma: no cover - the controller runs Python 3.11+ for ansible-core 2.19
    tomllib = None

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None


def _b64(value):
    return base64.b64decode(value or "", validate=True)


def decode_reader_output(stdout, source):
    """The reader's answer as ``{"files": {path: entry}, "commands": {name: (rc, stdout, stderr)}}``.

    File contents stay bytes (decoded when used, so that a file that is not UTF-8 is named); command
    outputs become text. ``source`` names the node in errors. The JSON is the reader's last line: what a
    login or sudo printed before it on a terminal (a connection with a tty mixes stderr in) is skipped.
    """
    try:
        lines = [line for line in stdout.splitlines() if line.strip()]
        answer = json.loads(lines[-1] if lines else stdout)
        files = {}
        for path, entry in answer["files"].items():
            entry = dict(entry)
            if "content" in entry:
                entry["content"] = _b64(entry["content"])
            files[path] = entry
        commands = {}
        for name, entry in answer["commands"].items():
            commands[name] = (entry["rc"], _b64(entry["stdout"]).decode("utf-8", "replace"),
                              _b64(entry["stderr"]).decode("utf-8", "replace"))
        clock = answer.get("clock")
        clock = ({"realtime": float(clock["realtime"]), "monotonic": float(clock["monotonic"])}
                 if isinstance(clock, dict) else None)
        return {"files": files, "commands": commands, "clock": clock}
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise NodeOpsError("cannot read the runtime facts of %s: the node's answer is not the expected JSON "
                           "(%s): %s" % (source, exc, stdout[:300]))


def file_entry(answer, path):
    """The reader's entry for ``path``; raises the stat or read error the node reported for it."""
    entry = answer["files"].get(path)
    if entry is None:
        raise NodeOpsError("internal error: the node's answer has no entry for %s" % path, path=path)
    if "error" in entry:
        if entry.get("stage") == "stat":
            raise stat_error(path, entry["error"])
        raise read_error(path, entry["error"])
    return entry


def file_text(answer, path):
    """The text of ``path`` in the answer, None when it does not exist; refuses what is not a regular file."""
    entry = file_entry(answer, path)
    if not entry.get("exists"):
        return None
    if not entry.get("regular"):
        raise not_regular_error(path)
    return decode_text(entry["content"], path)


def command_result(answer, name):
    """``(rc, stdout, stderr)`` of a command of the answer."""
    try:
        return answer["commands"][name]
    except KeyError:
        raise NodeOpsError("internal error: the node's answer has no result of the command %s" % name)


# ---------------------------------------------------------------------------
# Parsers of the raw inputs.
# ---------------------------------------------------------------------------

def parse_env_file(text):
    """Parse a shell-style ``NAME="value"`` file (kubeadm-flags.env, /etc/default/kubelet)."""
    variables = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        words = shell_words(stripped)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            name, sep, value = word.partition("=")
            if sep and name:
                variables[name] = value
    return variables


def parse_flags(words):
    """Turn ``--name=value`` / ``--name value`` words into a dict (last one wins, like the kubelet)."""
    flags = {}
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("--"):
            continue
        name, sep, value = word[2:].partition("=")
        if not sep:
            if index < len(words) and not words[index].startswith("--"):
                value = words[index]
                index += 1
            else:
                value = "true"
        flags[name] = value
    return flags


def runtime_from_endpoint(endpoint):
    """Name the container runtime behind a CRI endpoint."""
    if not endpoint:
        return None
    if "cri-dockerd" in endpoint:
        return "docker"
    if "dockershim" in endpoint:
        return "docker"
    if "containerd" in endpoint:
        return "containerd"
    if "crio" in endpoint:
        return "cri-o"
    return "unknown"


def parse_systemctl_show(text):
    """Parse ``systemctl show --property=...`` output (``Name=value`` lines)."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def parse_toml_dump(text):
    """Parse ``containerd config dump`` with tomllib (or tomlkit when tomllib is missing)."""
    if tomllib is not None:
        return tomllib.loads(text)
    import tomlkit  # pylint: disable=import-outside-toplevel

    return tomlkit.parse(text).unwrap()


# ---------------------------------------------------------------------------
# The facts.
# ---------------------------------------------------------------------------

def kubelet_facts(answer, config_path, flags_files):
    """The kubelet's configuration file and flag files: drivers, endpoint, certificate and cgroup v1 settings."""
    info = {"config_path": config_path, "config_present": False, "config_error": None, "cgroup_driver": None,
            "flags": {}, "flags_files": []}
    text = file_text(answer, config_path)
    config = {}
    if text is not None:
        info["config_present"] = True
        try:
            config = yaml.safe_load(text) or {}
            if not isinstance(config, dict):
                raise ValueError("not a mapping")
        except (yaml.YAMLError, ValueError) as exc:
            info["config_error"] = "%s is not a readable KubeletConfiguration: %s" % (config_path, exc)
            config = {}
    info["cgroup_driver"] = config.get("cgroupDriver")
    # What the audit and the certificate operations read besides the drivers (None when not set).
    info["server_tls_bootstrap"] = config.get("serverTLSBootstrap")
    info["rotate_certificates"] = config.get("rotateCertificates")
    info["fail_cgroup_v1"] = config.get("failCgroupV1")
    for flags_path in flags_files:
        flags_text = file_text(answer, flags_path)
        if flags_text is None:
            continue
        info["flags_files"].append(flags_path)
        for value in parse_env_file(flags_text).values():
            info["flags"].update(parse_flags(shell_words(value)))
    flags = info["flags"]
    info["cgroup_driver_flag"] = flags.get("cgroup-driver")
    # Command line flags override the configuration file.
    info["cgroup_driver_effective"] = (flags.get("cgroup-driver") or config.get("cgroupDriver") or "cgroupfs")
    info["container_runtime_endpoint"] = (flags.get("container-runtime-endpoint")
                                          or config.get("containerRuntimeEndpoint"))
    return info


def cgroup_version(answer):
    """1 or 2 from the file system type of /sys/fs/cgroup (``stat -fc %T``); None when unknown."""
    rc, stdout, _stderr = command_result(answer, CGROUP_FS)
    if rc != 0:
        return None
    kind = stdout.strip()
    if kind == "cgroup2fs":
        return 2
    if kind == "tmpfs":
        return 1
    return None


def containerd_facts(answer, binary):
    """containerd's version and the effective ``SystemdCgroup`` of its runc runtimes (``config dump``)."""
    info = {"available": False, "error": None, "version": None, "schema_version": None, "systemd_cgroup": {}}
    rc, stdout, stderr = command_result(answer, CONTAINERD_VERSION)
    if rc != 0:
        info["error"] = (stderr or stdout).strip() or "rc=%s" % rc
        return info
    info["version"] = stdout.strip()
    rc, stdout, stderr = command_result(answer, CONTAINERD_DUMP)
    if rc != 0:
        info["error"] = "'%s config dump' failed: %s" % (binary, (stderr or stdout).strip())
        return info
    try:
        data = parse_toml_dump(stdout)
    except Exception as exc:  # pylint: disable=broad-except
        info["error"] = "cannot parse the output of '%s config dump': %s" % (binary, exc)
        return info
    info["available"] = True
    info["schema_version"], info["systemd_cgroup"] = effective_systemd_cgroup(data)
    return info


def docker_facts(answer):
    """Docker's server version and cgroup driver and version (``docker info``)."""
    info = {"available": False, "error": None, "cgroup_driver": None, "cgroup_version": None,
            "server_version": None}
    rc, stdout, stderr = command_result(answer, DOCKER_INFO)
    if rc != 0:
        info["error"] = (stderr or stdout).strip() or "rc=%s" % rc
        return info
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        info["error"] = "cannot parse the output of 'docker info': %s" % exc
        return info
    if not data.get("ServerVersion"):
        info["error"] = "; ".join(data.get("ServerErrors") or []) or "the Docker daemon did not answer"
        return info
    info.update(available=True, cgroup_driver=data.get("CgroupDriver"), cgroup_version=data.get("CgroupVersion"),
                server_version=data.get("ServerVersion"))
    return info


def node_time(answer, monotonic_usec):
    """A systemd ``*TimestampMonotonic`` value (microseconds of the node's monotonic clock) as a time of the node's
    realtime clock (RFC 3339, UTC, microseconds), from the clocks the reader read at the same moment; None when the
    value is 0 (the unit never entered that state since boot), not a number, or the answer has no clock."""
    clock = answer.get("clock")
    try:
        usec = int(monotonic_usec)
    except (TypeError, ValueError):
        return None
    if not clock or usec <= 0:
        return None
    epoch = clock["realtime"] - (clock["monotonic"] - usec / 1e6)
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=epoch)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unit_facts(answer, unit):
    """Whether a systemd unit exists, its load, active and sub state, whether it is enabled, and when it last
    became active and inactive (times of the node's clock)."""
    rc, stdout, _stderr = command_result(answer, unit_command(unit))
    values = parse_systemctl_show(stdout) if rc == 0 else {}
    return {
        "exists": values.get("LoadState") not in (None, "not-found"),
        "load_state": values.get("LoadState"),
        "active": values.get("ActiveState"),
        "sub_state": values.get("SubState"),
        "enabled": values.get("UnitFileState"),
        "active_since": node_time(answer, values.get("ActiveEnterTimestampMonotonic")),
        "inactive_since": node_time(answer, values.get("InactiveEnterTimestampMonotonic")),
    }


def judge(facts):
    """Return ``(consistent_on_systemd, problems)`` for the collected facts."""
    problems = []
    kubelet = facts["kubelet"]
    if kubelet.get("cgroup_driver_effective") != "systemd":
        problems.append("kubelet uses the %s cgroup driver" % kubelet.get("cgroup_driver_effective"))
    flag = kubelet.get("cgroup_driver_flag")
    if flag and flag != (kubelet.get("cgroup_driver") or "cgroupfs"):
        problems.append("the kubelet flag --cgroup-driver=%s overrides cgroupDriver %s of its configuration file"
                        % (flag, kubelet.get("cgroup_driver")))
    runtime = facts["container_runtime"]
    if runtime == "containerd":
        containerd = facts["containerd"]
        values = containerd.get("systemd_cgroup")
        if not containerd.get("available"):
            problems.append("containerd's effective configuration could not be read: %s" % containerd.get("error"))
        elif not values:
            problems.append("containerd's effective configuration has no runc runtime")
        else:
            off = sorted(name for name, value in values.items() if value is not True)
            if off:
                problems.append("containerd runc runtimes without SystemdCgroup = true: %s" % ", ".join(off))
    elif runtime == "docker":
        docker = facts["docker"]
        if not docker.get("available"):
            problems.append("docker info could not be read: %s" % docker.get("error"))
        elif docker.get("cgroup_driver") != "systemd":
            problems.append("Docker uses the %s cgroup driver" % docker.get("cgroup_driver"))
    else:
        problems.append("the container runtime in use could not be determined (endpoint %r)"
                        % facts["kubelet"].get("container_runtime_endpoint"))
    return not problems, problems


def progress_record(answer, path):
    """The progress record an operation keeps on the node while it changes it (a JSON object), as read.

    ``{"path", "exists", "record", "error"}``: ``record`` is the parsed object, ``error`` says why a file that
    is there cannot be used (not readable, not a regular file, not UTF-8, not a JSON object). None when no
    path was asked for. Reading it never fails the facts: what to do with an unusable record is the
    operation's decision.
    """
    if not path:
        return None
    out = {"path": path, "exists": False, "record": None, "error": None}
    entry = answer["files"].get(path) or {"error": "the node's answer has no entry for it", "stage": "read"}
    if "error" in entry:
        out["exists"] = entry.get("stage") != "stat"
        out["error"] = "cannot %s %s on the node: %s" % (entry.get("stage") or "read", path, entry["error"])
        return out
    if not entry.get("exists"):
        return out
    out["exists"] = True
    if not entry.get("regular"):
        out["error"] = "%s is not a regular file" % path
        return out
    try:
        record = json.loads(entry["content"].decode("utf-8"))
    except UnicodeDecodeError as exc:
        out["error"] = "%s is not UTF-8 text (%s)" % (path, exc)
        return out
    except ValueError as exc:
        out["error"] = "%s is not valid JSON (%s)" % (path, exc)
        return out
    if not isinstance(record, dict):
        out["error"] = "%s holds JSON but not an object" % path
        return out
    out["record"] = record
    return out


def file_digest(answer, path):
    """The SHA-256 (hex) of the bytes of ``path`` in the answer; None when it does not exist or is no regular file."""
    entry = file_entry(answer, path)
    if not entry.get("exists") or not entry.get("regular"):
        return None
    return hashlib.sha256(entry["content"]).hexdigest()


def runtime_facts(answer, kubelet_config_path=DEFAULT_KUBELET_CONFIG, kubelet_flags_files=DEFAULT_FLAGS_FILES,
                  containerd_binary="containerd", docker_binary="docker", progress_record_path=None,
                  units=(), digest_paths=()):
    """The facts of a node from the decoded answer of :data:`NODE_READER` to :func:`node_request`.

    ``docker_binary`` only matters for the request; it is accepted here so that both take the same options.
    ``progress_record`` is only in the facts when ``progress_record_path`` is given, ``units`` (unit name to
    its state) when ``units`` are, ``file_digests`` (path to SHA-256, None for a missing file) when
    ``digest_paths`` are.
    """
    del docker_binary
    kubelet = kubelet_facts(answer, kubelet_config_path, kubelet_flags_files)
    runtime = runtime_from_endpoint(kubelet.get("container_runtime_endpoint"))
    if runtime is None and kubelet["flags"].get("container-runtime") == "docker":
        runtime = "docker"
    facts = {
        "kubelet": kubelet,
        "container_runtime": runtime,
        "cgroup_version": cgroup_version(answer),
        "containerd": containerd_facts(answer, containerd_binary),
        "docker": docker_facts(answer),
        "services": dict((unit, unit_facts(answer, unit)) for unit in UNITS),
    }
    facts["consistent_on_systemd"], facts["problems"] = judge(facts)
    if progress_record_path:
        facts["progress_record"] = progress_record(answer, progress_record_path)
    if units:
        facts["units"] = dict((unit, unit_facts(answer, unit)) for unit in units)
    if digest_paths:
        facts["file_digests"] = dict((path, file_digest(answer, path)) for path in digest_paths)
    return facts

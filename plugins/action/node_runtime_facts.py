# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.node_runtime_facts``.

The node only runs small read-only commands and serves files; the YAML
(kubelet configuration), TOML (``containerd config dump``) and JSON
(``docker info``) are parsed here, so the node needs nothing but a shell and a
Python for ``stat``/``slurp``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.module_utils._containerd_config import effective_systemd_cgroup
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import (
    remote_command,
    remote_read,
    shell_words,
)

try:
    import tomllib
except ImportError:  # pragma: no cover - the controller runs Python 3.11+ for ansible-core 2.19
    tomllib = None

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

ARGUMENT_SPEC = dict(
    kubelet_config_path=dict(type="path", default="/var/lib/kubelet/config.yaml"),
    kubelet_flags_files=dict(
        type="list", elements="path",
        default=["/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet"],
    ),
    containerd_binary=dict(type="str", default="containerd"),
    docker_binary=dict(type="str", default="docker"),
)

UNITS = ("kubelet", "containerd", "docker")
UNIT_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState")


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


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        facts = self._collect(args, task_vars)
        consistent, problems = judge(facts)
        facts["consistent_on_systemd"] = consistent
        facts["problems"] = problems
        return dict(changed=False, runtime_facts=facts, consistent_on_systemd=consistent,
                    ansible_facts={"nodeops_runtime": facts})

    def _command(self, argv):
        return remote_command(self, argv)

    def _collect(self, args, task_vars):
        kubelet = self._kubelet(args, task_vars)
        runtime = runtime_from_endpoint(kubelet.get("container_runtime_endpoint"))
        if runtime is None and kubelet["flags"].get("container-runtime") == "docker":
            runtime = "docker"
        return {
            "kubelet": kubelet,
            "container_runtime": runtime,
            "cgroup_version": self._cgroup_version(),
            "containerd": self._containerd(args["containerd_binary"]),
            "docker": self._docker(args["docker_binary"]),
            "services": dict((unit, self._unit(unit)) for unit in UNITS),
        }

    def _kubelet(self, args, task_vars):
        path = args["kubelet_config_path"]
        info = {"config_path": path, "config_present": False, "config_error": None, "cgroup_driver": None,
                "flags": {}, "flags_files": []}
        _stat, text = remote_read(self, path, task_vars)
        config = {}
        if text is not None:
            info["config_present"] = True
            try:
                config = yaml.safe_load(text) or {}
                if not isinstance(config, dict):
                    raise ValueError("not a mapping")
            except (yaml.YAMLError, ValueError) as exc:
                info["config_error"] = "%s is not a readable KubeletConfiguration: %s" % (path, exc)
                config = {}
        info["cgroup_driver"] = config.get("cgroupDriver")
        # What the audit and the certificate operations read besides the drivers (None when not set).
        info["server_tls_bootstrap"] = config.get("serverTLSBootstrap")
        info["rotate_certificates"] = config.get("rotateCertificates")
        info["fail_cgroup_v1"] = config.get("failCgroupV1")
        for flags_path in args["kubelet_flags_files"]:
            _stat, flags_text = remote_read(self, flags_path, task_vars)
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

    def _cgroup_version(self):
        rc, stdout, _stderr = self._command(["stat", "-fc", "%T", "/sys/fs/cgroup"])
        if rc != 0:
            return None
        kind = stdout.strip()
        if kind == "cgroup2fs":
            return 2
        if kind == "tmpfs":
            return 1
        return None

    def _containerd(self, binary):
        info = {"available": False, "error": None, "version": None, "schema_version": None, "systemd_cgroup": {}}
        rc, stdout, stderr = self._command([binary, "--version"])
        if rc != 0:
            info["error"] = (stderr or stdout).strip() or "rc=%s" % rc
            return info
        info["version"] = stdout.strip()
        rc, stdout, stderr = self._command([binary, "config", "dump"])
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

    def _docker(self, binary):
        info = {"available": False, "error": None, "cgroup_driver": None, "cgroup_version": None,
                "server_version": None}
        rc, stdout, stderr = self._command([binary, "info", "--format", "{{json .}}"])
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

    def _unit(self, unit):
        rc, stdout, _stderr = self._command(
            ["systemctl", "show", "--property=%s" % ",".join(UNIT_PROPERTIES), "%s.service" % unit])
        values = parse_systemctl_show(stdout) if rc == 0 else {}
        return {
            "exists": values.get("LoadState") not in (None, "not-found"),
            "active": values.get("ActiveState"),
            "sub_state": values.get("SubState"),
            "enabled": values.get("UnitFileState"),
        }

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's own systemd unit and drop-ins: proxies in ``Environment=``/``EnvironmentFile=`` and the settings
given as dockerd flags in ``ExecStart=``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import Severity
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_systemd import (
    UNIT_DIRS,
    parse_assignments,
    parse_env_file,
    parse_unit,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_flags import (
    split_words,
    tokenize_flags,
)

DOCKER_ENV_FILES = ("/etc/default/docker", "/etc/sysconfig/docker")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy")
# Socket schemes of dockerd's -H that stay on the node: fd:// (socket activation) and unix://.
LOCAL_HOST_SCHEMES = ("fd:", "unix:")


def proxy_settings(variables):
    """Pick HTTP_PROXY/HTTPS_PROXY/NO_PROXY out of environment variables (upper case wins)."""
    settings = {}
    for name in PROXY_VARIABLES:
        value = variables.get(name.upper()) or variables.get(name)
        if value:
            settings[name] = value
    return settings


def dockerd_flags(exec_start, where):
    """Return ``{flag: [values]}`` of a ``dockerd`` command line (repeated flags keep every value)."""
    command = exec_start.lstrip("-@+!:")
    words = split_words(command, where)
    for position, word in enumerate(words):
        if posixpath.basename(word) == "dockerd":
            words = words[position + 1:]
            break
    else:
        return {}
    values = {}
    for flag in tokenize_flags(words):
        if flag["name"]:
            values.setdefault(flag["name"], []).append(flag["value"] if flag["value"] is not None else "true")
    return values


def flags_as_daemon_json(flags):
    """The settings of dockerd's flags in the shape of daemon.json (the last of repeated single values wins)."""
    data = {"registry-mirrors": flags.get("registry-mirror", []),
            "insecure-registries": flags.get("insecure-registry", []),
            "exec-opts": flags.get("exec-opt", [])}
    root = (flags.get("data-root") or flags.get("graph") or flags.get("g") or [None])[-1]
    if root:
        data["data-root"] = root
    if flags.get("log-driver"):
        data["log-driver"] = flags["log-driver"][-1]
    log_opts = dict(opt.partition("=")[::2] for opt in flags.get("log-opt", []))
    if log_opts:
        data["log-opts"] = log_opts
    return data


def _unit_files(tree):
    """``[(path, text)]`` of docker.service (the first found) and every ``docker.service.d/*.conf``."""
    texts = []
    for directory in UNIT_DIRS:
        path = posixpath.join(directory, "docker.service")
        text = tree.read(path)
        if text is not None:
            texts.append((path, text))
            break
    for directory in UNIT_DIRS:
        dropin_dir = posixpath.join(directory, "docker.service.d")
        for name in tree.listdir(dropin_dir):
            if name.endswith(".conf"):
                path = posixpath.join(dropin_dir, name)
                text = tree.read(path)
                if text is not None:
                    texts.append((path, text))
    return texts


def _service_environment(tree, texts):
    """Return ``(variables, exec_start)``: the service's environment and ``(path, value)`` of the last
    ``ExecStart=`` (None once it is reset)."""
    variables = {}
    exec_start = None
    for path, text in texts:
        for section, key, value in parse_unit(text):
            if section != "Service":
                continue
            if key == "Environment":
                variables.update(parse_assignments(value, path))
            elif key == "EnvironmentFile":
                env_path = value.lstrip("-")
                env_text = tree.read(env_path)
                if env_text is not None:
                    variables.update(parse_env_file(env_text, env_path))
            elif key == "ExecStart":
                exec_start = (path, value) if value else None
    for env_path in DOCKER_ENV_FILES:
        env_text = tree.read(env_path)
        if env_text is not None:
            for name, value in proxy_settings(parse_env_file(env_text, env_path)).items():
                variables.setdefault(name.upper(), value)
    return variables, exec_start


def _carry_proxies(settings, variables):
    proxies = proxy_settings(variables)
    for name, value in proxies.items():
        # daemon.json's "proxies" win over the environment, as in Docker.
        if not settings.carry_over[name]:
            settings.carry_over[name] = value
    if proxies:
        listed = ", ".join("%s=%s" % (name.upper(), value) for name, value in sorted(proxies.items()))
        settings.found.add("docker-proxy", Severity.INFO, "Docker pulls through the proxy settings %s" % listed,
                           "image pulls that need the proxy fail under containerd unless it gets the same "
                           "environment",
                           "carried over by the switch to containerd.service.d/http-proxy.conf", suffix="proxy")


def _exec_start_settings(settings, path, value):
    flags = dockerd_flags(value, path)
    settings.record(flags_as_daemon_json(flags), "%s (ExecStart)" % path)
    hosts = [host for host in flags.get("H", []) + flags.get("host", []) if not host.startswith(LOCAL_HOST_SCHEMES)]
    if hosts:
        settings.found.add("dockerd-tcp", Severity.WARNING, "dockerd listens on %s (%s)" % (", ".join(hosts), path),
                           "clients of these sockets fail once Docker is stopped", "find and move the clients")


def scan_docker_unit(tree, settings):
    """Record the proxies and dockerd flags of Docker's unit; run after :func:`scan_daemon_json` (it wins)."""
    variables, exec_start = _service_environment(tree, _unit_files(tree))
    _carry_proxies(settings, variables)
    if exec_start:
        _exec_start_settings(settings, *exec_start)

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's settings on a node: what ``daemon.json`` (or dockerd's flags) set, what the switch carries over
to containerd and what it cannot translate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import (
    cgroup_driver_entries,
    parse_daemon_json,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import Severity
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

# daemon.json keys with no automatic translation, with what happens and what to do.
DAEMON_JSON_WARNINGS = {
    "default-ulimits": ("containers no longer get Docker's default ulimits; containerd's own limits "
                        "(LimitNOFILE of containerd.service) apply", "set the limits on containerd.service"),
    "userns-remap": ("user namespace remapping is not applied by containerd",
                     "use Kubernetes user namespaces (hostUsers: false) where needed"),
    "selinux-enabled": ("SELinux labelling of containers depends on containerd's enable_selinux",
                        "set enable_selinux in containerd's CRI configuration"),
    "storage-opts": ("storage options do not carry over to containerd's snapshotter",
                     "configure the containerd snapshotter if the options mattered"),
    "hosts": ("Docker's listening sockets disappear: clients of a TCP socket fail",
              "find and move the clients (they may run on other machines)"),
    "seccomp-profile": ("Docker's default seccomp profile no longer applies",
                        "use the kubelet's seccompDefault or pod seccompProfile"),
    "default-runtime": ("containerd does not know Docker's runtimes: pods relying on them fail",
                        "configure the runtime in containerd and use a RuntimeClass"),
}
DAEMON_JSON_INFO = ("storage-driver", "live-restore", "bip", "default-address-pools", "iptables", "ip-forward",
                    "dns", "dns-search", "dns-opts", "max-concurrent-downloads", "max-concurrent-uploads",
                    "debug", "log-level", "experimental", "features", "mtu", "icc", "ipv6", "fixed-cidr")
JSON_FILE_LOG_DRIVERS = ("json-file", "local")
DAEMON_JSON_PROXIES = ("http-proxy", "https-proxy", "no-proxy")


def _string_list(data, key, source):
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NodeOpsError("%s: '%s' must be a list of strings, found %r; fix it and run again"
                           % (source, key, value), path=source)
    return value


def _append_new(target, items):
    for item in items:
        if item not in target:
            target.append(item)


class DockerSettings(object):
    """Records Docker's settings into ``carry_over`` and adds the findings they call for to ``found``."""

    def __init__(self, found, carry_over):
        self.found = found
        self.carry_over = carry_over

    def record(self, data, source):
        """Record the settings of a daemon.json-shaped dict read from ``source`` (a file, or dockerd's flags)."""
        mirrors = _string_list(data, "registry-mirrors", source)
        insecure = _string_list(data, "insecure-registries", source)
        _append_new(self.carry_over["registry_mirrors"], mirrors)
        _append_new(self.carry_over["insecure_registries"], insecure)
        self._registries(mirrors, insecure, source)
        drivers = cgroup_driver_entries(data, source)  # refuses an exec-opts that is not a list of strings
        if drivers:
            self.carry_over["cgroup_driver"] = drivers[-1]
        self._data_root(data.get("data-root") or data.get("graph"), source)
        self._logging(data.get("log-driver"), data.get("log-opts"), source)

    def _registries(self, mirrors, insecure, source):
        if mirrors:
            self.found.add("registry-mirrors", Severity.INFO,
                           "%s sets the Docker Hub mirrors %s" % (source, ", ".join(mirrors)),
                           "image pulls from Docker Hub stop using the mirrors unless containerd is told",
                           "carried over by the switch to certs.d/docker.io/hosts.toml (containerd_registry_hosts)",
                           suffix="registry-mirrors")
        if not insecure:
            return
        cidrs = [item for item in insecure if "/" in item and "://" not in item]
        breaks = "pulls from them fail TLS verification under containerd unless it is told"
        fix = "carried over by the switch to certs.d/<registry>/hosts.toml with skip_verify"
        if cidrs:
            breaks += "; the CIDR ranges %s cannot be expressed for containerd" % ", ".join(cidrs)
            fix += "; list the registries of the CIDR ranges by name"
        self.found.add("insecure-registries", Severity.WARNING if cidrs else Severity.INFO,
                       "%s trusts the insecure registries %s" % (source, ", ".join(insecure)), breaks, fix,
                       suffix="insecure-registries")

    def _data_root(self, root, source):
        if not root:
            return
        self.carry_over["data_root"] = root
        breaks = ("containerd keeps images and containers in /var/lib/containerd: the disk sized for %s is "
                  "not used and the root file system may fill up" % root)
        fix = "mount the data disk at /var/lib/containerd (or set containerd's root), then acknowledge"
        self.found.add("daemon-json-data-root", Severity.BLOCKING, "%s stores Docker's data in %s" % (source, root),
                       breaks, fix)

    def _logging(self, driver, log_opts, source):
        if driver:
            self.carry_over["log_driver"] = driver
            if driver not in JSON_FILE_LOG_DRIVERS:
                self.found.add("daemon-json-log-driver", Severity.BLOCKING,
                               "%s sends container logs to the %s log driver" % (source, driver),
                               "containerd writes container logs to files under /var/log/pods only: logs stop "
                               "reaching %s" % driver,
                               "ship /var/log/pods with a log agent (DaemonSet), then acknowledge")
        if isinstance(log_opts, dict) and log_opts:
            self.carry_over["log_opts"] = dict(log_opts)
            listed = ", ".join("%s=%s" % item for item in sorted(log_opts.items()))
            self.found.add("daemon-json-log-opts", Severity.WARNING, "%s sets log options %s" % (source, listed),
                           "log rotation is then done by the kubelet with its own limits (containerLogMaxSize "
                           "10Mi, containerLogMaxFiles 5 by default)",
                           "set containerLogMaxSize/containerLogMaxFiles in the KubeletConfiguration "
                           "(kubelet_config) to match max-size/max-file")


def _key_findings(found, data, path):
    """A finding for every key of daemon.json that the switch cannot translate or that concerns Docker only."""
    for key in sorted(data):
        what = "%s sets %s = %s" % (path, key, data[key])
        if key in DAEMON_JSON_WARNINGS:
            breaks, fix = DAEMON_JSON_WARNINGS[key]
            found.add("daemon-json-%s" % key, Severity.WARNING, what, breaks, fix)
        elif key in DAEMON_JSON_INFO:
            found.add("daemon-json-%s" % key, Severity.INFO, what,
                      "nothing for Kubernetes pods: the setting only concerns Docker", "none needed")


def scan_daemon_json(tree, settings, path):
    """Read ``path`` (daemon.json) from ``tree``; a malformed file raises NodeOpsError naming it."""
    text = tree.read(path)
    data = parse_daemon_json(text, path)
    if text is None:
        return
    settings.record(data, path)
    proxies = data.get("proxies")
    if isinstance(proxies, dict):
        for key in DAEMON_JSON_PROXIES:
            if proxies.get(key):
                settings.carry_over[key.replace("-", "_")] = proxies[key]
    _key_findings(settings.found, data, path)
    if data.get("runtimes"):
        settings.found.add("daemon-json-runtimes", Severity.BLOCKING,
                           "%s defines the runtimes %s" % (path, ", ".join(sorted(data["runtimes"]))),
                           "pods needing these runtimes (for example GPU pods with nvidia) fail to start under "
                           "containerd",
                           "add the runtimes to containerd's config.toml (for nvidia: nvidia-ctk runtime configure "
                           "--runtime=containerd) and use a RuntimeClass")

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node side of the Docker dependency scan: runs every node check and assembles the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import DEFAULT_PATH
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_daemon import (
    DockerSettings,
    scan_daemon_json,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_docker_unit import scan_docker_unit
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import NodeFindings
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_report import build_report
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_kubelet import (
    KUBELET_FLAG_FILES,
    scan_kubelet_flags,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_scripts import (
    DEFAULT_SCRIPT_PATHS,
    scan_cron,
    scan_scripts,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_sockets import scan_socket_clients
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_tree import NodeTree
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_units import scan_units


def new_carry_over():
    """The settings the switch takes along to containerd, none found yet."""
    return {"registry_mirrors": [], "insecure_registries": [], "http_proxy": None, "https_proxy": None,
            "no_proxy": None, "cgroup_driver": None, "data_root": None, "log_driver": None, "log_opts": {},
            "sandbox_image": None}


class NodeScanner(object):
    """Scan one node for Docker dependencies; every path is read below ``root``.

    :meth:`scan` returns the findings and fills ``carry_over`` and
    ``docker_socket_clients`` (the processes connected to the Docker socket).
    """

    def __init__(self, node, root="/", daemon_json=DEFAULT_PATH, script_paths=DEFAULT_SCRIPT_PATHS,
                 ss_output=None, kubelet_flag_files=KUBELET_FLAG_FILES):
        self.node = node
        self.root = root
        self.daemon_json = daemon_json
        self.script_paths = list(script_paths)
        self.ss_output = ss_output
        self.kubelet_flag_files = list(kubelet_flag_files)
        self.tree = NodeTree(root)
        self.found = NodeFindings(node)
        self.carry_over = new_carry_over()
        self.docker_socket_clients = []

    @property
    def findings(self):
        """Every finding in the order found, duplicates included."""
        return self.found.items

    def scan(self):
        """Run the checks, Docker's own settings first (daemon.json before the unit: its proxies win)."""
        settings = DockerSettings(self.found, self.carry_over)
        scan_daemon_json(self.tree, settings, self.daemon_json)
        scan_docker_unit(self.tree, settings)
        scan_units(self.tree, self.found)
        scan_cron(self.tree, self.found)
        scan_scripts(self.tree, self.found, self.script_paths)
        scan_kubelet_flags(self.tree, self.found, self.carry_over, self.kubelet_flag_files)
        self.docker_socket_clients.extend(scan_socket_clients(self.tree, self.found, self.ss_output))
        return self.found.result()


# Where ss usually is, beside the PATH of a command run through sudo (which may not list the sbin directories).
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def ss_connections():
    """Output of ``ss -xpn`` run with the standard library (no AnsibleModule), None without ss or when it fails."""
    search = os.pathsep.join([os.environ.get("PATH", os.defpath)] + list(SBIN_DIRS))
    binary = shutil.which("ss", path=search)
    if not binary:
        return None
    proc = subprocess.run([binary, "-xpn"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False,
                          universal_newlines=True, env=dict(os.environ, LC_ALL="C"))
    return proc.stdout if proc.returncode == 0 else None


def scan_node(node, daemon_json=DEFAULT_PATH, script_paths=DEFAULT_SCRIPT_PATHS, ss_output=None, acknowledge=None,
              block_on_warnings=False, root="/"):
    """The report of one node's scan (what ``docker_node_scan`` returns): findings with acknowledgements and the
    verdict (:func:`build_report`), ``carry_over``, ``docker_socket_clients`` and ``node``. Raises NodeOpsError
    when a file cannot be used (a malformed daemon.json)."""
    scanner = NodeScanner(node, root=root, daemon_json=daemon_json, script_paths=script_paths, ss_output=ss_output)
    report = build_report(scanner.scan(), acknowledge, block_on_warnings)
    report.update(carry_over=scanner.carry_over, docker_socket_clients=scanner.docker_socket_clients, node=node)
    return report

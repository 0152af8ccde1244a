# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find what depends on Docker before a node is switched to containerd (read only, standard library only).

This module is the entry point the modules import; the work is done in the
``_docker_scan_*`` files, one job each:

* the report: ``_docker_scan_findings`` (a finding ``{id, severity, check,
  where, what, breaks, fix}`` and the closed set of severities) and
  ``_docker_scan_report`` (acknowledgements and the verdict, :func:`build_report`);
* the cluster side: ``_docker_scan_pods`` (one pod spec: hostPath mounts and
  Docker commands), ``_docker_scan_cluster`` (pod templates, pods and node
  runtimes as plain API dicts, :func:`scan_cluster`) and ``_docker_scan_api``
  (reading them in pages);
* the node side: :class:`NodeScanner` (``_docker_scan_node``) runs the node
  checks, each in its own file: daemon.json (``_docker_scan_daemon``),
  Docker's systemd unit and drop-ins (``_docker_scan_docker_unit``), other
  units (``_docker_scan_units``), cron and scripts (``_docker_scan_scripts``),
  kubelet flag files (``_docker_scan_kubelet``) and processes talking to the
  Docker socket (``_docker_scan_sockets``). Every path is looked up under a
  ``root`` (``_docker_scan_tree``) so the scanner can be tested on a
  directory tree.

A finding's ``id`` is ``<check>:<where>``; it does not change between runs,
so it can be acknowledged in advance (exactly, or with a shell-style
pattern such as ``daemon-json-data-root:node/*``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_api import (
    CLUSTER_RESOURCES,
    PAGE_SIZE,
    NotFound,
    read_cluster_objects,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_cluster import (
    TEMPLATE_KINDS,
    runtime_of_node,
    scan_cluster,
    template_spec,
    top_owner,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_daemon import (
    DAEMON_JSON_INFO,
    DAEMON_JSON_WARNINGS,
    JSON_FILE_LOG_DRIVERS,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_docker_unit import (
    dockerd_flags,
    proxy_settings,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import (
    SEVERITIES,
    NodeFindings,
    Severity,
    finding,
    sort_findings,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_kubelet import KUBELET_FLAG_FILES
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_node import NodeScanner
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_pods import (
    DOCKER_HOST_PATHS,
    DOCKER_LOG_DIR,
    HostPathKind,
    classify_host_path,
    fold_path,
    pod_spec_findings,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_report import (
    blocking_message,
    build_report,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_scripts import (
    CRON_DIRS,
    CRON_FILES,
    DEFAULT_SCRIPT_PATHS,
    MAX_LINES_PER_FINDING,
    MAX_SCRIPT_BYTES,
    SCRIPT_SKIP_NAMES,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_sockets import (
    DOCKER_SOCKET_PATHS,
    EXPECTED_SOCKET_CLIENTS,
    parse_proc_net_unix,
    parse_ss_unix,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_systemd import (
    UNIT_DIRS,
    parse_assignments,
    parse_env_file,
    parse_unit,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_tree import NodeTree
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_units import (
    DEPENDENCY_KEYS,
    DOCKER_UNITS,
    ORDERING_KEYS,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_words import (
    DOCKER_COMMANDS,
    HOST_ESCAPE_COMMANDS,
    docker_references,
)

__all__ = (
    # the report
    "SEVERITIES", "Severity", "finding", "sort_findings", "NodeFindings", "build_report", "blocking_message",
    # words
    "DOCKER_COMMANDS", "HOST_ESCAPE_COMMANDS", "docker_references",
    # the cluster side
    "DOCKER_HOST_PATHS", "DOCKER_LOG_DIR", "HostPathKind", "fold_path", "classify_host_path", "pod_spec_findings",
    "TEMPLATE_KINDS", "template_spec", "top_owner", "runtime_of_node", "scan_cluster",
    "CLUSTER_RESOURCES", "PAGE_SIZE", "NotFound", "read_cluster_objects",
    # the node side
    "NodeScanner", "NodeTree", "UNIT_DIRS", "parse_unit", "parse_assignments", "parse_env_file",
    "DAEMON_JSON_WARNINGS", "DAEMON_JSON_INFO", "JSON_FILE_LOG_DRIVERS", "proxy_settings", "dockerd_flags",
    "DOCKER_UNITS", "DEPENDENCY_KEYS", "ORDERING_KEYS",
    "DEFAULT_SCRIPT_PATHS", "SCRIPT_SKIP_NAMES", "CRON_FILES", "CRON_DIRS", "MAX_SCRIPT_BYTES",
    "MAX_LINES_PER_FINDING", "KUBELET_FLAG_FILES",
    "DOCKER_SOCKET_PATHS", "EXPECTED_SOCKET_CLIENTS", "parse_proc_net_unix", "parse_ss_unix",
)

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: docker_node_scan
short_description: Find what depends on Docker on a node before it is switched to containerd
version_added: 0.1.0
description:
  - Read-only scan of one node for everything that stops working, or must be carried over, when the node's
    container runtime changes from Docker (dockershim or cri-dockerd) to containerd.
  - C(/etc/docker/daemon.json) (parsed as JSON) - registry mirrors, insecure registries, proxies, log driver and
    log options, data root, cgroup driver, extra runtimes and other settings.
  - Docker's systemd unit and drop-ins (C(docker.service.d/*.conf)) - C(Environment=) and C(EnvironmentFile=)
    proxies, C(dockerd) flags in C(ExecStart=); C(/etc/default/docker) and C(/etc/sysconfig/docker).
  - Other systemd units and drop-ins that require Docker or run C(docker).
  - Cron jobs (C(/etc/crontab), C(/etc/cron.d/*), C(/var/spool/cron/crontabs/*), C(/var/spool/cron/*)) and scripts
    (O(script_paths)) that call C(docker), name the Docker socket or Docker's directories.
  - Kubelet flag files - CNI directories that containerd must be told about, the sandbox image, runtime flags
    outside C(kubeadm-flags.env) that would override the switch.
  - Processes connected to the Docker socket right now (the socket's connections from C(ss -xpn) matched with
    C(/proc/*/fd)); without C(ss) this part is reported as unknown.
  - Every finding has an C(id), a C(severity) (C(blocking), C(warning) or C(info)), C(where), C(what), what
    C(breaks) and how to C(fix) it. A blocking finding stops the switch unless its id is listed in
    O(acknowledge).
  - Never changes anything; runs the same in check mode.
author:
  - nodeops maintainers (@nodeops)
options:
  name:
    description:
      - Name of the Kubernetes node of this host (as in C(kubectl get nodes)), used in finding ids and C(where).
      - Defaults to the host name of the node.
    type: str
  daemon_json:
    description:
      - Path of Docker's daemon configuration file. A missing file is fine; a malformed one fails the task.
    type: path
    default: /etc/docker/daemon.json
  script_paths:
    description:
      - Directories (not recursive) and files searched for scripts that call Docker.
      - Binaries and files larger than 1 MiB are skipped, as are files named like Docker's own programs.
    type: list
    elements: path
    default: [/usr/local/bin, /usr/local/sbin, /etc/profile.d, /etc/cron.hourly, /etc/cron.daily, /etc/cron.weekly,
              /etc/cron.monthly, /etc/rc.local, /etc/init.d]
  acknowledge:
    description:
      - Ids of findings (or shell-style patterns such as V(daemon-json-data-root:node/*)) the operator accepts.
      - Acknowledged findings stay in the report but do not block. Entries matching nothing are reported in
        RV(unmatched_acknowledgements).
    type: list
    elements: str
    default: []
  block_on_warnings:
    description:
      - Treat unacknowledged warnings like blocking findings.
    type: bool
    default: false
  on_problem:
    description:
      - V(fail) makes the module fail when unacknowledged blocking findings remain (the full report is still
        returned); V(warn) reports them as warnings and succeeds.
      - The same choice, under the same name, as O(nodeops.kubernetes.node_capacity_check#module:on_problem).
    type: str
    choices: [fail, warn]
    default: warn
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Run it with C(become) so root's files and other users' C(/proc) entries can be read.
  - The search for Docker in commands cuts lines into words; a comment or message that contains the word
    C(docker) is reported too. Findings say which line matched.
"""

EXAMPLES = r"""
- name: Scan the node for Docker dependencies
  nodeops.kubernetes.docker_node_scan:
    name: "{{ kube_node_name }}"
    acknowledge:
      - "daemon-json-data-root:node/*"
  become: true
  register: docker_node_scan

- name: Show the blocking findings
  ansible.builtin.debug:
    var: docker_node_scan.blocking
"""

RETURN = r"""
findings:
  description: Every finding, most severe first.
  returned: always
  type: list
  elements: dict
  sample:
    - id: "daemon-json-log-driver:node/w1"
      check: daemon-json-log-driver
      severity: blocking
      where: node/w1
      what: /etc/docker/daemon.json sends container logs to the fluentd log driver
      breaks: "containerd writes container logs to files under /var/log/pods only: logs stop reaching fluentd"
      fix: ship /var/log/pods with a log agent (DaemonSet), then acknowledge
      nodes: [w1]
      acknowledged: false
blocking:
  description: Ids of the findings that still block the switch.
  returned: always
  type: list
  elements: str
  sample: ["daemon-json-log-driver:node/w1"]
unmatched_acknowledgements:
  description: Entries of O(acknowledge) that matched no finding.
  returned: always
  type: list
  elements: str
  sample: []
summary:
  description: Number of findings per severity, acknowledged, and blocking unacknowledged.
  returned: always
  type: dict
  sample: {"blocking": 1, "warning": 2, "info": 3, "acknowledged": 0, "blocking_unacknowledged": 1}
ok_to_switch:
  description: Whether no unacknowledged blocking finding remains.
  returned: always
  type: bool
  sample: false
carry_over:
  description:
    - Docker settings the switch carries over to containerd or needs to decide - C(registry_mirrors),
      C(insecure_registries), C(http_proxy), C(https_proxy), C(no_proxy), C(cgroup_driver), C(data_root),
      C(log_driver), C(log_opts) and C(sandbox_image) (from the kubelet's C(--pod-infra-container-image)).
  returned: always
  type: dict
  sample: {"registry_mirrors": ["https://mirror.example.com"], "insecure_registries": ["registry.lan:5000"],
           "http_proxy": null, "https_proxy": null, "no_proxy": null, "cgroup_driver": "systemd",
           "data_root": null, "log_driver": "json-file", "log_opts": {"max-size": "100m"},
           "sandbox_image": "k8s.gcr.io/pause:3.6"}
docker_socket_clients:
  description: Processes connected to the Docker socket, by command name.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "kubelet", "processes": [{"pid": 812, "in_pod": false}]}]
node:
  description: The node name used in the findings (O(name), else the host name).
  returned: always
  type: str
  sample: w1
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan import (
    DEFAULT_SCRIPT_PATHS,
    blocking_message,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_node import (
    scan_node,
    ss_connections,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def run(module):
    params = module.params
    node = params["name"] or socket.gethostname()
    report = scan_node(node, daemon_json=params["daemon_json"], script_paths=params["script_paths"],
                       ss_output=ss_connections(), acknowledge=params["acknowledge"],
                       block_on_warnings=params["block_on_warnings"])
    report["changed"] = False
    if report["blocking"]:
        if params["on_problem"] == "fail":
            raise NodeOpsError(blocking_message(report, "node %s" % node), **report)
        report["warnings"] = [blocking_message(report, "node %s" % node)]
    return report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            daemon_json=dict(type="path", default="/etc/docker/daemon.json"),
            script_paths=dict(type="list", elements="path", default=list(DEFAULT_SCRIPT_PATHS)),
            acknowledge=dict(type="list", elements="str", default=[]),
            block_on_warnings=dict(type="bool", default=False),
            on_problem=dict(type="str", choices=["fail", "warn"], default="warn"),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except NodeOpsError as err:
        module.fail_json(**err.to_result())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    for entry in result["unmatched_acknowledgements"]:
        module.warn("acknowledge entry %r matches no finding of node %s" % (entry, result["node"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

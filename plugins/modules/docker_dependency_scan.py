#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: docker_dependency_scan
short_description: Find the workloads that depend on Docker before nodes are switched to containerd
version_added: 0.1.0
description:
  - Read-only scan of the cluster for workloads that break when nodes switch from Docker (dockershim or
    cri-dockerd) to containerd, and of the container runtime of every node.
  - Looks at running and pending Pods and at the pod templates of DaemonSets, Deployments, StatefulSets, Jobs and
    CronJobs. A pod created by one of these controllers is reported with its controller (in the C(pods) and C(nodes) of the
    controller's finding); other pods are reported on their own.
  - C(hostPath) volumes of the Docker socket (C(/var/run/docker.sock), C(/run/docker.sock)), C(/var/run/docker),
    C(/var/lib/docker) (including C(/var/lib/docker/containers) read by log collectors), C(/etc/docker) and the
    dockershim and cri-dockerd sockets are blocking. Parent directories that expose them (C(/var/run), C(/run),
    C(/var), C(/var/lib), C(/)) are a warning, or blocking when the containers mounting them refer to Docker.
  - Privileged containers whose command, arguments or environment run C(docker), name the Docker socket or
    Docker's directories are blocking when the pod reaches the node (C(hostPID), a C(hostPath) volume,
    C(nsenter) or C(chroot)), otherwise a warning (probably Docker-in-Docker).
  - Containers with C(imagePullPolicy) V(Never) are a warning (images loaded into Docker are not in containerd).
  - Nodes are listed with their runtime from C(status.nodeInfo.containerRuntimeVersion).
  - Every finding has an C(id), a C(severity) (C(blocking), C(warning) or C(info)), C(where), C(what), what
    C(breaks) and how to C(fix) it. A blocking finding stops the switch unless its id is listed in
    O(acknowledge).
  - Needs C(list) on nodes, pods, daemonsets, deployments, statefulsets, replicasets, jobs and cronjobs.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
options:
  namespaces:
    description:
      - Namespaces to scan. Empty scans all namespaces.
    type: list
    elements: str
    default: []
  acknowledge:
    description:
      - Ids of findings (or shell-style patterns such as V(docker-hostpath:daemonset/monitoring/*)) the operator
        accepts.
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
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Scan the cluster for Docker dependencies
  nodeops.kubernetes.docker_dependency_scan:
    kubeconfig: ~/.kube/config
    acknowledge:
      - "image-pull-never:deployment/ci/builder"
  delegate_to: localhost
  register: docker_scan

- name: Stop when something still depends on Docker
  ansible.builtin.assert:
    that: docker_scan.ok_to_switch
    fail_msg: "{{ docker_scan.blocking }}"
"""

RETURN = r"""
findings:
  description: Every finding, most severe first.
  returned: always
  type: list
  elements: dict
  sample:
    - id: "docker-hostpath:daemonset/monitoring/agent/docker-sock"
      check: docker-hostpath
      severity: blocking
      where: daemonset/monitoring/agent/docker-sock
      what: mounts the Docker socket (hostPath /var/run/docker.sock) into agent
      breaks: "the Docker daemon is stopped by the switch: calls through the Docker socket fail"
      fix: use the CRI instead (crictl, unix:///run/containerd/containerd.sock) and remove the mount
      host_path: /var/run/docker.sock
      containers: [agent]
      pods: [monitoring/agent-x7k2p]
      nodes: [w1]
      acknowledged: false
blocking:
  description: Ids of the findings that still block the switch.
  returned: always
  type: list
  elements: str
  sample: ["docker-hostpath:daemonset/monitoring/agent/docker-sock"]
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
  sample: {"blocking": 1, "warning": 0, "info": 0, "acknowledged": 0, "blocking_unacknowledged": 1}
ok_to_switch:
  description: Whether no unacknowledged blocking finding remains.
  returned: always
  type: bool
  sample: false
nodes:
  description:
    - Every node with its runtime (C(docker), C(containerd)...), runtime and kubelet versions, whether it is
      cordoned (C(unschedulable)) and kubeadm's CRI socket annotation (C(cri_socket_annotation), null when absent).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "w1", "runtime": "docker", "runtime_version": "20.10.24",
            "container_runtime_version": "docker://20.10.24", "kubelet_version": "v1.23.17", "on_docker": true,
            "unschedulable": false, "cri_socket_annotation": "unix:///var/run/dockershim.sock"}]
docker_nodes:
  description: Names of the nodes that still run Docker.
  returned: always
  type: list
  elements: str
  sample: [w1]
"""

import json

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan import (
    NotFound,
    blocking_message,
    build_report,
    read_cluster_objects,
    scan_cluster,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    ApiException,
    Urllib3HTTPError,
    get_api_client,
    raise_for_api_error,
)


def _get_json(api_client, path, query):
    """GET ``path`` with ``query`` and return the raw body; errors raise ApiException.

    kubernetes >= 35 (new generator) builds requests with ``param_serialize`` and
    ``call_api(method, url, ...)`` returns the response without checking its status;
    older clients take ``call_api(path, method, query_params=...)`` and raise themselves.
    """
    headers = {"Accept": "application/json"}
    if hasattr(api_client, "param_serialize"):
        method, url, headers, body, post_params = api_client.param_serialize(
            "GET", path, query_params=list(query.items()), header_params=headers, auth_settings=["BearerToken"])
        response = api_client.call_api(method, url, header_params=headers, body=body, post_params=post_params)
        data = response.read()
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=response)
        return data
    response = api_client.call_api(
        path, "GET", query_params=list(query.items()), header_params=headers,
        auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True)
    return response.data


def make_getter(params):
    """Return ``get(path, query)`` reading a List from the API server as a plain dict."""
    api_client = get_api_client(params)

    def get(path, query):
        try:
            data = _get_json(api_client, path, query)
        except (ApiException, Urllib3HTTPError, OSError) as exc:
            if getattr(exc, "status", None) == 404:
                raise NotFound(path)
            raise_for_api_error(exc, "cannot list %s" % path, params)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise NodeOpsError("the API server sent something that is not JSON for %s: %s" % (path, exc))

    return get


def run(params):
    objects = read_cluster_objects(make_getter(params), params["namespaces"])
    findings, nodes = scan_cluster(objects)
    report = build_report(findings, params["acknowledge"], params["block_on_warnings"])
    report.update(changed=False, nodes=nodes, docker_nodes=[node["name"] for node in nodes if node["on_docker"]])
    if report["blocking"]:
        if params["on_problem"] == "fail":
            raise NodeOpsError(blocking_message(report, "cluster scan"), **report)
        report["warnings"] = [blocking_message(report, "cluster scan")]
    return report


def main():
    spec = dict(
        namespaces=dict(type="list", elements="str", default=[]),
        acknowledge=dict(type="list", elements="str", default=[]),
        block_on_warnings=dict(type="bool", default=False),
        on_problem=dict(type="str", choices=["fail", "warn"], default="warn"),
    )
    spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = run(module.params)
    except NodeOpsError as err:
        module.fail_json(**err.to_result())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    for entry in result["unmatched_acknowledgements"]:
        module.warn("acknowledge entry %r matches no finding of the cluster scan" % entry)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

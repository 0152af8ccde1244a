#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: static_pod_restart
short_description: Restart a static pod of a node and prove it runs again as a new container
version_added: 0.2.0
description:
  - Restarts one static pod (for example C(kube-apiserver)) of the node of this host the way the kubelet allows; it
    moves its manifest out of O(manifests_dir) to O(aside_dir), waits until the kubelet has really stopped the pod
    (no process of the pod's command left in the pod's cgroup on the node), moves the manifest back, and waits
    until the mirror pod C(<static_pod>-<name>) is Running and Ready with containers other than before and the node
    runs new processes of it. The mirror pod must be readable before anything is moved, so that the old containers
    are known.
  - With O(wait_for=node) the API server is not needed, for example to restart kube-apiserver on restored
    certificates while it does not answer; the pod counts as stopped when no process of its command is left on the
    node, and as back when a new one runs and the component's own health endpoint on the node (O(health_url))
    answers 200.
  - Every wait polls its condition every O(poll_interval) seconds up to its timeout; there is no fixed sleep.
  - Whatever fails after the manifest was moved out, the manifest is moved back before the task fails.
  - Used by the role C(nodeops.kubernetes.cert_renewal) after C(kubeadm certs renew).
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  name:
    description: Kubernetes name of the node of this host (the mirror pod is C(<static_pod>-<name>)).
    type: str
    required: true
  static_pod:
    description: Name of the manifest without C(.yaml), which is also the pod name prefix (C(kube-apiserver), C(etcd)...).
    type: str
    required: true
  manifests_dir:
    description: The kubelet's static pod directory (C(staticPodPath)).
    type: path
    default: /etc/kubernetes/manifests
  aside_dir:
    description: Where the manifest waits meanwhile; it must be outside O(manifests_dir).
    type: path
    default: /etc/kubernetes/manifests-aside
  namespace:
    description: Namespace of the mirror pod.
    type: str
    default: kube-system
  stop_timeout:
    description: Seconds the kubelet may take to stop the pod.
    type: int
    default: 180
  start_timeout:
    description: Seconds the pod may take to be Running and Ready again after the manifest is back.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two checks while waiting.
    type: float
    default: 1.0
  wait_for:
    description:
      - What proves the restart.
      - V(mirror_pod) reads the mirror pod through the API server before anything moves; stopped means the pod's
        processes are gone and the kubelet deleted the mirror pod; back means the mirror pod is Running and Ready
        with other containers than before and new processes run on the node.
      - V(node) needs no API server; stopped means no process of the pod's command is left on the node; back means a
        new one runs and O(health_url) answers 200 on the node.
    type: str
    choices: [mirror_pod, node]
    default: mirror_pod
  health_url:
    description:
      - The component's health endpoint, asked from the node with O(wait_for=node) (no proxy; the component's
        certificate is not verified).
      - By default the one the probes of kubeadm's manifest ask, C(https://127.0.0.1:6443/readyz) for
        C(kube-apiserver), C(http://127.0.0.1:2381/health?serializable=true) for C(etcd),
        C(https://127.0.0.1:10257/healthz) for C(kube-controller-manager) and C(https://127.0.0.1:10259/healthz) for
        C(kube-scheduler).
    type: str
attributes:
  action:
    details: Runs on the controller; the node moves the file and lists its processes, the API tells readiness.
    support: full
  check_mode:
    details: Reads the manifest, the mirror pod and the processes and says what it would do.
    support: full
  diff_mode:
    support: none
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
notes:
  - Run it with C(become=true) on the node; the connection options reach the API server from the controller.
  - With O(wait_for=node) the pod's processes are found by the name of its command only, so another process of the
    same name on the node (not in the pod) would be taken for it.
"""

EXAMPLES = r"""
- name: Restart kube-apiserver after its certificate was renewed
  nodeops.kubernetes.static_pod_restart:
    name: "{{ kube_node_name }}"
    static_pod: kube-apiserver
  become: true

- name: Restart kube-apiserver on restored certificates while it does not answer its clients
  nodeops.kubernetes.static_pod_restart:
    name: "{{ kube_node_name }}"
    static_pod: kube-apiserver
    wait_for: node
  become: true
"""

RETURN = r"""
static_pod:
  description: The static pod restarted.
  returned: success
  type: str
mirror_pod:
  description: Namespace and name of its mirror pod; null with O(wait_for=node).
  returned: success
  type: str
  sample: kube-system/kube-apiserver-cp-1
wait_for:
  description: V(node) when the restart was proved on the node.
  returned: with O(wait_for=node)
  type: str
health_url:
  description: The health endpoint that answered 200.
  returned: with O(wait_for=node)
  type: str
manifest:
  description: Path of the manifest.
  returned: success
  type: str
containers_before:
  description: Container IDs of the mirror pod before the restart (empty with O(wait_for=node)).
  returned: success
  type: list
  elements: str
containers_after:
  description: Container IDs once it was Ready again (none of them is in RV(containers_before)).
  returned: success
  type: list
  elements: str
pids_before:
  description: Processes of the pod found on the node before the restart.
  returned: success
  type: list
  elements: int
pids_after:
  description: Processes of the pod once it was Ready again (none of them is in RV(pids_before)).
  returned: success
  type: list
  elements: int
stopped_after:
  description: Seconds from moving the manifest out until the pod's processes were gone.
  returned: success
  type: float
ready_after:
  description:
    - Seconds from moving the manifest back until the pod was Running and Ready with new containers (with
      O(wait_for=node), until a new process answered its health check).
  returned: success
  type: float
"""

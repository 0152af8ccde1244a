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
"""

EXAMPLES = r"""
- name: Restart kube-apiserver after its certificate was renewed
  nodeops.kubernetes.static_pod_restart:
    name: "{{ kube_node_name }}"
    static_pod: kube-apiserver
  become: true
"""

RETURN = r"""
static_pod:
  description: The static pod restarted.
  returned: success
  type: str
mirror_pod:
  description: Namespace and name of its mirror pod.
  returned: success
  type: str
  sample: kube-system/kube-apiserver-cp-1
manifest:
  description: Path of the manifest.
  returned: success
  type: str
containers_before:
  description: Container IDs of the mirror pod before the restart.
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
  description: Seconds from moving the manifest back until the pod was Running and Ready with new containers.
  returned: success
  type: float
"""

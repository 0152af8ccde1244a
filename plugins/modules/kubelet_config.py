#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubelet_config
short_description: Set or remove top-level fields of the kubelet configuration file on a node
version_added: 0.1.0
description:
  - Edits the KubeletConfiguration file of a node (by default C(/var/lib/kubelet/config.yaml), written by kubeadm),
    for example C(cgroupDriver), C(clusterDNS), C(serverTLSBootstrap) or C(resolvConf).
  - The file is read from the node, parsed and edited on the controller with PyYAML (the node needs no YAML
    library), and written back with M(nodeops.kubernetes.node_file), which writes a temporary file and renames it over
    the original. A failure never leaves a half-written file. Owner, group and mode are kept.
  - Only the touched fields change in the text; comments, quoting and the order of the other fields are kept.
    New fields are inserted in alphabetical position when the file is sorted (as kubeadm writes it), else at the end.
    When a layout cannot be edited in place (for example a flow-style document), the whole document is written out
    again in the same key order and RV(rewritten) is true; comments are lost then (the backup keeps them).
  - A file that is not YAML, not a single mapping, or not of kind C(KubeletConfiguration) is refused and left untouched.
  - The kubelet is not restarted by this module.
author:
  - nodeops maintainers (@nodeops)
options:
  path:
    description:
      - Path of the kubelet configuration file on the node.
    type: path
    default: /var/lib/kubelet/config.yaml
  settings:
    description:
      - Top-level KubeletConfiguration fields to set, with their values.
      - A value replaces the whole field; nested mappings are not merged.
      - Required when O(state=present).
    type: dict
  remove:
    description:
      - Names of top-level fields to remove. Required when O(state=absent).
    type: list
    elements: str
  state:
    description:
      - V(present) sets O(settings); V(absent) removes the fields listed in O(remove).
    type: str
    default: present
    choices: [present, absent]
  backup:
    description:
      - Keep a timestamped copy of the file on the node before changing it.
    type: bool
    default: true
  patch:
    description:
      - The file is a partial KubeletConfiguration that may have no C(kind) and C(apiVersion), such as kubeadm's
        per-node instance configuration C(/var/lib/kubelet/instance-config.yaml) (kubeadm 1.31 and later). A file
        that names a kind must still be a KubeletConfiguration.
    type: bool
    default: false
  missing:
    description:
      - What a missing file means. V(fail) fails the task; V(skip) changes nothing and returns RV(exists) false (for
        files only some kubeadm versions write).
    type: str
    choices: [fail, skip]
    default: fail
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    details: Runs on the controller as an action plugin; the node only serves files and runs read-only commands.
    support: full
  check_mode:
    support: full
  diff_mode:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
notes:
  - The fields C(kind) and C(apiVersion) identify the document and cannot be set or removed.
  - Requires PyYAML on the controller (a dependency of ansible-core).
"""

EXAMPLES = r"""
- name: Switch the kubelet to the systemd cgroup driver
  nodeops.kubernetes.kubelet_config:
    settings:
      cgroupDriver: systemd
  become: true
  register: kubelet_cgroup

- name: Point pods at NodeLocal DNSCache
  nodeops.kubernetes.kubelet_config:
    settings:
      clusterDNS:
        - 169.254.20.10
  become: true

- name: Drop a field so the kubelet uses its default again
  nodeops.kubernetes.kubelet_config:
    state: absent
    remove:
      - resolvConf
  become: true
"""

RETURN = r"""
path:
  description: Path of the file.
  returned: always
  type: str
  sample: /var/lib/kubelet/config.yaml
before:
  description: Values of the touched fields before the run; null for a field that was absent.
  returned: success
  type: dict
  sample: {"cgroupDriver": "cgroupfs"}
after:
  description: Values of the touched fields after the run (what they would be in check mode); null when absent.
  returned: success
  type: dict
  sample: {"cgroupDriver": "systemd"}
backup_file:
  description: Name of the backup file made on the node.
  returned: when the file changed and O(backup=true)
  type: str
  sample: /var/lib/kubelet/config.yaml.4242.2024-05-01@02:00:00~
exists:
  description: Whether the file exists; false only with O(missing=skip).
  returned: success
  type: bool
  sample: true
rewritten:
  description: Whether the whole document was written out again instead of being edited in place (comments lost).
  returned: success
  type: bool
  sample: false
"""

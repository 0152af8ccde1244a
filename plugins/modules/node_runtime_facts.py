#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_runtime_facts
short_description: Report the cgroup drivers and container runtime of a Kubernetes node
version_added: 0.1.0
description:
  - Reads, without changing anything, what a cgroup driver migration or a runtime switch needs to know about a node
    and tells whether kubelet and the container runtime in use agree on the systemd cgroup driver.
  - The kubelet's C(cgroupDriver) and C(containerRuntimeEndpoint) come from its configuration file; the kubelet
    flags files (C(kubeadm-flags.env), C(/etc/default/kubelet), C(/etc/sysconfig/kubelet)) are read as shell
    variable files, and their flags override the file, as they do for the kubelet.
  - containerd's B(effective) C(SystemdCgroup) of every runc runtime comes from C(containerd config dump);
    Docker's cgroup driver from C(docker info); the host cgroup version from the file system type of
    C(/sys/fs/cgroup); the state of the kubelet, containerd, docker and cri-docker services from C(systemctl show).
  - One process on the node, the node's C(python3) with its standard library only, reads these files and runs these
    read-only commands and hands their raw content back, so a node costs one command, not one module per file.
    YAML, TOML and JSON are parsed on the controller, so the node needs no Python packages.
author:
  - nodeops maintainers (@nodeops)
options:
  kubelet_config_path:
    description:
      - Path of the kubelet configuration file.
    type: path
    default: /var/lib/kubelet/config.yaml
  kubelet_flags_files:
    description:
      - Shell-style files holding kubelet command line flags, read in this order (later flags win).
    type: list
    elements: path
    default: [/var/lib/kubelet/kubeadm-flags.env, /etc/default/kubelet, /etc/sysconfig/kubelet]
  containerd_binary:
    description:
      - Command used for C(containerd --version) and C(containerd config dump).
    type: str
    default: containerd
  docker_binary:
    description:
      - Command used for C(docker info).
    type: str
    default: docker
  progress_record_path:
    description:
      - A JSON file that an operation keeps on the node while it changes it (the cgroup driver migration's
        progress record). Read by the same process as the other files and returned as
        RV(runtime_facts.progress_record); not read when unset.
      - A file that cannot be used (unreadable, not a regular file, not a JSON object) is not an error of the
        module; C(error) in RV(runtime_facts.progress_record) says why.
    type: path
  units:
    description:
      - More systemd units (full names, for example C(docker.socket)) whose state is read by the same process and
        returned in RV(runtime_facts.units), besides the services always read.
    type: list
    elements: str
    default: []
  digest_paths:
    description:
      - Files whose SHA-256 is returned in RV(runtime_facts.file_digests), read by the same process, so that a later
        run can tell whether a file changed since it was checked.
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.facts
attributes:
  action:
    details: Runs on the controller as an action plugin; the node only runs one read-only reader process.
    support: full
  check_mode:
    details: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    details: Nothing is changed, so there is no diff.
    support: none
  facts:
    details: Sets the fact C(nodeops_runtime).
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
notes:
  - Run it with C(become=true); C(containerd config dump) and C(docker info) usually need root.
  - A component that is not installed is reported as not available; that is not an error.
  - The reader runs with the host's C(ansible_python_interpreter) when it is set to a path, else with C(python3).
"""

EXAMPLES = r"""
- name: Read the node's runtime facts
  nodeops.kubernetes.node_runtime_facts:
  become: true
  register: runtime

- name: Skip nodes that already run everything on the systemd cgroup driver
  ansible.builtin.debug:
    msg: "{{ runtime.runtime_facts.problems }}"
  when: not runtime.consistent_on_systemd
"""

RETURN = r"""
consistent_on_systemd:
  description:
    - True when kubelet uses the systemd cgroup driver (no contradicting flag) and so does the container runtime
      in use (every containerd runc runtime has C(SystemdCgroup = true), or Docker reports C(systemd)).
    - False when anything disagrees or could not be determined; RV(runtime_facts.problems) says why.
  returned: success
  type: bool
  sample: false
runtime_facts:
  description: Everything collected. Also set as the fact C(nodeops_runtime).
  returned: success
  type: dict
  contains:
    kubelet:
      description:
        - C(cgroup_driver) (from the file, null when absent), C(cgroup_driver_flag), C(cgroup_driver_effective)
          (flag, else file, else the kubelet default C(cgroupfs)), C(container_runtime_endpoint), C(flags),
          C(flags_files), C(config_path), C(config_present), C(config_error), and the fields
          C(server_tls_bootstrap), C(rotate_certificates) and C(fail_cgroup_v1) of the configuration file
          (C(serverTLSBootstrap), C(rotateCertificates), C(failCgroupV1); null when the file does not set them).
      type: dict
    container_runtime:
      description: V(containerd), V(docker) (cri-dockerd or dockershim), V(cri-o), V(unknown) or null.
      type: str
    cgroup_version:
      description: 1 or 2 for the host's cgroup hierarchy; null when unknown.
      type: int
    containerd:
      description:
        - C(available), C(version), C(schema_version), C(systemd_cgroup) (runc runtime name to its effective
          C(SystemdCgroup); null means unset, which containerd treats as false), C(error).
      type: dict
    docker:
      description: C(available), C(server_version), C(cgroup_driver), C(cgroup_version), C(error).
      type: dict
    services:
      description:
        - For kubelet, containerd, docker and cri-docker, C(exists), C(load_state), C(active), C(sub_state),
          C(enabled), and C(active_since) and C(inactive_since), the moments the unit last became active and inactive
          (RFC 3339, UTC, by the node's clock, from systemd's monotonic timestamps; null when it never did since
          boot).
      type: dict
    units:
      description: Only when O(units) is set. Each unit's name to the same keys as RV(runtime_facts.services).
      type: dict
    file_digests:
      description:
        - Only when O(digest_paths) is set. Each path to the SHA-256 (hex) of its bytes, null when the file does not
          exist or is not a regular file.
      type: dict
    problems:
      description: Why RV(consistent_on_systemd) is false.
      type: list
      elements: str
    progress_record:
      description:
        - Only when O(progress_record_path) is set. C(path), C(exists), C(record) (the parsed JSON object, null when
          the file is absent or unusable) and C(error) (why a file that is there cannot be used, else null).
      type: dict
  sample:
    kubelet:
      cgroup_driver: cgroupfs
      cgroup_driver_effective: cgroupfs
      container_runtime_endpoint: unix:///run/containerd/containerd.sock
    container_runtime: containerd
    cgroup_version: 2
    containerd: {available: true, schema_version: 2, systemd_cgroup: {runc: false}}
    problems: [kubelet uses the cgroupfs cgroup driver]
"""

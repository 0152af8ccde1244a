#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: containerd_config
short_description: Configure containerd's CRI settings (SystemdCgroup, sandbox image, registry hosts directory)
version_added: 0.1.0
description:
  - Edits containerd's C(config.toml) on a node for use by the kubelet.
  - The file is read from the node and edited on the controller with tomlkit, which keeps comments and the layout
    of everything it does not change; the result is written back with M(nodeops.kubernetes.node_file), which writes a
    temporary file and renames it over the original. A failure never leaves a half-written file.
  - Handles config schema version 2 (containerd 1.6 and 1.7, CRI plugin C(io.containerd.grpc.v1.cri)) and
    version 3 (containerd 2.x, plugins C(io.containerd.cri.v1.runtime) and C(io.containerd.cri.v1.images)).
    The file is edited in its own schema version; containerd 2.x reads version 2 files too.
  - O(systemd_cgroup) is set on B(every) runtime whose C(runtime_type) is a runc shim (C(io.containerd.runc.v2)),
    including extra runtimes such as C(nvidia); other runtimes (for example Kata) are left alone and reported in
    RV(runtimes_skipped).
  - When the file is missing, holds no setting (empty or only comments), is Docker's packaged config (only
    C(disabled_plugins = ["cri"]), no C(version)), or has no CRI runtime section while O(systemd_cgroup) is
    requested, a complete config is generated from C(containerd config default) run on the node; the settings of
    the existing file (other than C(version)) are kept on top of it. RV(generated_from_default) tells when this
    happened.
  - A file with schema version 1 (no C(version) key, or C(version = 1)) that holds other settings is refused, as
    is an unknown version or a file that is not valid TOML. The file is then left untouched.
  - containerd is not restarted by this module.
author:
  - nodeops maintainers (@nodeops)
options:
  path:
    description:
      - Path of containerd's configuration file on the node.
    type: path
    default: /etc/containerd/config.toml
  systemd_cgroup:
    description:
      - Value of C(SystemdCgroup) in the options of every runc runtime. V(true) for the systemd cgroup driver.
      - Omit it to leave the runtimes alone.
    type: bool
  sandbox_image:
    description:
      - Pause (sandbox) image, for example V(registry.k8s.io/pause:3.10).
      - Schema 2 C(plugins."io.containerd.grpc.v1.cri".sandbox_image); schema 3
        C(plugins."io.containerd.cri.v1.images".pinned_images.sandbox).
      - Omit it to leave the current value.
    type: str
  config_path:
    description:
      - Registry hosts directory (C(hosts.toml) files), for example V(/etc/containerd/certs.d).
      - Refused when the file also sets registry C(mirrors), which containerd does not accept together.
      - Omit it to leave the current value.
    type: str
  enable_cri:
    description:
      - Remove the CRI plugins (C(cri), C(io.containerd.grpc.v1.cri), C(io.containerd.cri.v1.runtime),
        C(io.containerd.cri.v1.images)) from C(disabled_plugins); other entries are kept.
      - With V(false), a file that disables the CRI plugin is refused, because the settings would have no effect.
    type: bool
    default: true
  containerd_binary:
    description:
      - Command used on the node to run C(containerd config default) when a config has to be generated.
    type: str
    default: containerd
  backup:
    description:
      - Keep a timestamped copy of the file on the node before changing it.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    details: Runs on the controller as an action plugin; the node only serves files and runs read-only commands.
    support: full
  check_mode:
    support: full
    details: C(containerd config default) is run in check mode too (it only prints), so the diff shows the
      config that would be generated.
  diff_mode:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
requirements:
  - tomlkit on the controller
"""

EXAMPLES = r"""
- name: Make containerd use the systemd cgroup driver
  nodeops.kubernetes.containerd_config:
    systemd_cgroup: true
  become: true
  register: containerd_cgroup

- name: Restart containerd when its config changed
  ansible.builtin.systemd_service:
    name: containerd
    state: restarted
  become: true
  when: containerd_cgroup is changed

- name: Prepare containerd for the switch from Docker (CRI enabled, pause image, registry hosts)
  nodeops.kubernetes.containerd_config:
    systemd_cgroup: true
    sandbox_image: registry.k8s.io/pause:3.10
    config_path: /etc/containerd/certs.d
  become: true
"""

RETURN = r"""
path:
  description: Path of the file.
  returned: always
  type: str
  sample: /etc/containerd/config.toml
schema_version:
  description: Config schema version of the resulting file (2 for containerd 1.x, 3 for containerd 2.x).
  returned: success
  type: int
  sample: 2
before:
  description:
    - Values of the requested settings before the run. C(systemd_cgroup) maps every runc runtime to its
      C(SystemdCgroup) (null when not set, which containerd reads as false).
  returned: success
  type: dict
  sample: {"systemd_cgroup": {"runc": false, "nvidia": false}, "disabled_plugins": []}
after:
  description: Values of the requested settings after the run (what they would be in check mode).
  returned: success
  type: dict
  sample: {"systemd_cgroup": {"runc": true, "nvidia": true}, "disabled_plugins": []}
runc_runtimes:
  description: Names of the runc runtimes in the resulting file.
  returned: success
  type: list
  elements: str
  sample: [nvidia, runc]
runtimes_touched:
  description: Names of the runtimes whose C(SystemdCgroup) was (or would be) set by this run.
  returned: success
  type: list
  elements: str
  sample: [nvidia, runc]
runtimes_skipped:
  description: Runtimes that are not runc runtimes, with their C(runtime_type); they are not changed.
  returned: success
  type: dict
  sample: {"kata": "io.containerd.kata.v2"}
generated_from_default:
  description: Whether the file was (or would be) generated from C(containerd config default).
  returned: success
  type: bool
  sample: false
generation_reason:
  description:
    - Why the config was generated; null when it was edited in place.
    - V(missing), V(empty), V(cri_disabled) (Docker's packaged config) or V(cri_runtimes_absent).
  returned: success
  type: str
  sample: cri_disabled
backup_file:
  description: Name of the backup file made on the node.
  returned: when an existing file changed and O(backup=true)
  type: str
  sample: /etc/containerd/config.toml.4242.2024-05-01@02:00:00~
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: containerd_registry_hosts
short_description: Carry Docker's registry mirrors, insecure registries and proxies over to containerd
version_added: 0.1.0
description:
  - Writes containerd's registry host files and proxy drop-in from the values Docker used
    (C(registry-mirrors), C(insecure-registries) and proxies of C(daemon.json) or Docker's unit, as returned by
    M(nodeops.kubernetes.docker_node_scan) in C(carry_over)).
  - Docker's registry mirrors apply to Docker Hub only. They become host entries of
    C(<certs_dir>/docker.io/hosts.toml) with C(server = "https://registry-1.docker.io") and
    C(capabilities = ["pull", "resolve"]), in Docker's order. A mirror without scheme is taken as C(https://);
    a mirror that is also an insecure registry gets C(skip_verify = true); a mirror URL with a path gets
    C(override_path = true).
  - Each insecure registry becomes C(<certs_dir>/<registry>/hosts.toml). A name without scheme
    (V(registry.lan:5000)) gets C(server = "https://registry.lan:5000") and two hosts, C(https://registry.lan:5000)
    with C(skip_verify = true) then C(http://registry.lan:5000); containerd tries them in order, like Docker tries
    HTTPS without verification, then plain HTTP. V(https://...) writes only the HTTPS host, V(http://...) only the
    plain HTTP host. CIDR ranges cannot be expressed and are returned in RV(untranslatable).
  - Existing hosts.toml files are merged, not replaced. Their entries stay first; on the hosts it writes the module
    sets C(capabilities) and, where needed, C(skip_verify) and C(override_path); an existing C(server) is kept.
  - Proxies become the systemd drop-in O(proxy_dropin_path) with C(Environment=) lines (upper and lower case names).
    The drop-in is owned by the module and rewritten when it differs. Without any proxy it is left alone.
  - containerd only reads the host files when its CRI registry C(config_path) points at O(certs_dir)
    (M(nodeops.kubernetes.containerd_config) O(nodeops.kubernetes.containerd_config#module:config_path)).
    systemd must be reloaded and containerd restarted after the drop-in changed (RV(daemon_reload_needed)).
author:
  - nodeops maintainers (@nodeops)
options:
  registry_mirrors:
    description:
      - Docker Hub mirrors, as in C(registry-mirrors) of C(daemon.json).
    type: list
    elements: str
    default: []
  insecure_registries:
    description:
      - Registries to trust without TLS verification, as in C(insecure-registries) of C(daemon.json).
    type: list
    elements: str
    default: []
  http_proxy:
    description:
      - Proxy for HTTP, written as C(HTTP_PROXY) and C(http_proxy).
    type: str
  https_proxy:
    description:
      - Proxy for HTTPS, written as C(HTTPS_PROXY) and C(https_proxy).
    type: str
  no_proxy:
    description:
      - Hosts reached without proxy, written as C(NO_PROXY) and C(no_proxy).
    type: str
  certs_dir:
    description:
      - containerd's registry hosts directory.
    type: path
    default: /etc/containerd/certs.d
  proxy_dropin_path:
    description:
      - Path of containerd's proxy drop-in.
    type: path
    default: /etc/systemd/system/containerd.service.d/http-proxy.conf
  backup:
    description:
      - Keep a timestamped copy of a file before changing it.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    details: Runs on the controller as an action plugin; the node only serves and receives files.
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
requirements:
  - tomlkit on the controller
"""

EXAMPLES = r"""
- name: Carry Docker's registry settings over to containerd
  nodeops.kubernetes.containerd_registry_hosts:
    registry_mirrors: "{{ docker_node_scan.carry_over.registry_mirrors }}"
    insecure_registries: "{{ docker_node_scan.carry_over.insecure_registries }}"
    http_proxy: "{{ docker_node_scan.carry_over.http_proxy | default(omit, true) }}"
    https_proxy: "{{ docker_node_scan.carry_over.https_proxy | default(omit, true) }}"
    no_proxy: "{{ docker_node_scan.carry_over.no_proxy | default(omit, true) }}"
  become: true
  register: registry_hosts
"""

RETURN = r"""
files:
  description: The hosts.toml files planned, whether each changed (or would change) and the hosts written.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/containerd/certs.d/docker.io/hosts.toml", "registry": "docker.io", "changed": true,
            "created": true, "hosts": ["https://mirror.example.com"]}]
proxy_dropin:
  description: Path of the proxy drop-in and whether it changed or was created.
  returned: always
  type: dict
  sample: {"path": "/etc/systemd/system/containerd.service.d/http-proxy.conf", "changed": false, "created": false}
daemon_reload_needed:
  description: Whether the proxy drop-in changed, so systemd must be reloaded before containerd restarts.
  returned: always
  type: bool
  sample: false
untranslatable:
  description: Insecure registries given as CIDR ranges, which containerd cannot express.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.0/8"]
registry_warnings:
  description: Things the operator must look at (untranslatable entries, an existing server kept).
  returned: always
  type: list
  elements: str
  sample: []
written:
  description:
    - The files written before a write failed, in order. The task then fails with C(changed=true), its
      message names these files, the one that failed (C(path)) and the fix; RV(files) and RV(proxy_dropin)
      show C(changed=true) only for what was written.
  returned: when a write failed after an earlier file of the task was written
  type: list
  elements: str
  sample: ["/etc/containerd/certs.d/docker.io/hosts.toml"]
"""

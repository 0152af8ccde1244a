#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The node side: runs once on the node. The parsing happens in the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_audit_facts
short_description: Read a node's runtime facts, certificate expiry, Docker dependencies and DNS in one process
version_added: 0.3.0
description:
  - Reads, without changing anything, what the fleet audit needs from a node, in B(one) Python process on the node
    instead of one per check, so that auditing many nodes at once costs less.
  - That process is not an AnsiballZ module run - the action plugin sends the node the collection's own
    standard-library reading code as one C(python3 -c) command (through the connection, with become), which
    saves the import of Ansible's module code on the node, most of a module run's cost.
  - Runs the checks of three modules and returns what each of them returns, they are not repeated here -
    M(nodeops.kubernetes.node_runtime_facts) (the kubelet's and the runtime's cgroup drivers, the runtime, the
    cgroup version, the services), M(nodeops.kubernetes.cert_expiry) (the expiry of kubeadm's and the kubelet's
    certificates) and M(nodeops.kubernetes.docker_node_scan) (what depends on Docker on the node).
  - The node's Python reads the files and runs the read-only commands of the first two and the Docker scan;
    the kubelet configuration, C(containerd config dump), C(docker info) and the certificates are parsed on the
    controller, as those modules do. Private keys never leave the node.
  - A part that cannot be read or parsed fails the task with every part named in RV(errors); the parts that
    were read are still returned.
  - Blocking Docker findings do not fail the task; RV(docker_node) lists them for the caller to judge.
author:
  - nodeops maintainers (@nodeops)
options:
  kubelet_config_path:
    description: Path of the kubelet configuration file (as for M(nodeops.kubernetes.node_runtime_facts)).
    type: path
    default: /var/lib/kubelet/config.yaml
  kubelet_flags_files:
    description: Shell-style files holding kubelet command line flags, read in this order (later flags win).
    type: list
    elements: path
    default: [/var/lib/kubelet/kubeadm-flags.env, /etc/default/kubelet, /etc/sysconfig/kubelet]
  containerd_binary:
    description: Command used for C(containerd --version) and C(containerd config dump).
    type: str
    default: containerd
  docker_binary:
    description: Command used for C(docker info).
    type: str
    default: docker
  threshold_days:
    description:
      - A renewable certificate whose residual time is under this many days is listed in the C(due) list of
        RV(certificates).
    type: int
    default: 30
  pki_dir:
    description: kubeadm's certificate directory (C(certificatesDir) of the ClusterConfiguration).
    type: path
    default: /etc/kubernetes/pki
  kubeconfig_dir:
    description: Directory of C(admin.conf), C(super-admin.conf), C(controller-manager.conf) and C(scheduler.conf).
    type: path
    default: /etc/kubernetes
  manifests_dir:
    description: Static pod manifests directory; an C(etcd.yaml) there means local etcd.
    type: path
    default: /etc/kubernetes/manifests
  name:
    description:
      - Name of the Kubernetes node of this host, used in the ids of the Docker findings.
      - Defaults to the host name of the node.
    type: str
  daemon_json:
    description: Path of Docker's daemon configuration file. A missing file is fine; a malformed one is an error.
    type: path
    default: /etc/docker/daemon.json
  script_paths:
    description: Directories (not recursive) and files searched for scripts that call Docker.
    type: list
    elements: path
    default: [/usr/local/bin, /usr/local/sbin, /etc/profile.d, /etc/cron.hourly, /etc/cron.daily, /etc/cron.weekly,
              /etc/cron.monthly, /etc/rc.local, /etc/init.d]
  acknowledge:
    description:
      - Ids of Docker findings (or shell-style patterns) the operator accepts; they stay in the report but do not
        block.
    type: list
    elements: str
    default: []
  block_on_warnings:
    description: Count unacknowledged Docker warnings as blocking findings.
    type: bool
    default: false
  dns_server:
    description:
      - When set, the module also asks this DNS server (for example NodeLocal DNSCache on its link-local address)
        for O(dns_qname) from the node, as M(nodeops.kubernetes.dns_query) does, and returns the answer in
        RV(dns_answer). One process per node instead of two.
      - A server that does not answer as expected does not fail the task; RV(dns_answer) says why.
    type: str
  dns_qname:
    description: The name asked for (an A record).
    type: str
    default: kubernetes.default.svc.cluster.local
  dns_expect:
    description: Addresses that must all be in the answer.
    type: list
    elements: str
    default: []
  dns_retries:
    description: Queries to send before giving up, one second apart (plus 2 seconds for each one that gets no answer).
    type: int
    default: 2
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    details: Runs on the controller as an action plugin, which runs one C(python3 -c) command on the node.
    support: full
  check_mode:
    details: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    details: Nothing is changed, so there is no diff.
    support: none
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
requirements:
  - cryptography (on the controller)
notes:
  - Run it with C(become=true); the certificates, C(containerd config dump) and C(docker info) usually need root.
  - The node needs Python 3.9 or later (its standard library only); it is the host's C(ansible_python_interpreter)
    when that is a path, else the interpreter Ansible discovered on the node, else C(python3) from its PATH.
  - One extra command runs on the node only when a kubeadm kubeconfig names its client certificate file instead
    of embedding it.
seealso:
  - module: nodeops.kubernetes.node_runtime_facts
  - module: nodeops.kubernetes.cert_expiry
  - module: nodeops.kubernetes.docker_node_scan
"""

EXAMPLES = r"""
- name: Read the runtime, the certificates and the Docker dependencies of the node at once
  nodeops.kubernetes.node_audit_facts:
    name: "{{ kube_node_name }}"
    threshold_days: 60
  become: true
  register: node_facts

- name: Show the certificates due and the Docker findings that would block a switch to containerd
  ansible.builtin.debug:
    msg:
      runtime: "{{ node_facts.runtime_facts.container_runtime }}"
      due: "{{ node_facts.certificates.due }}"
      blocking: "{{ node_facts.docker_node.blocking }}"
"""

RETURN = r"""
runtime_facts:
  description:
    - The runtime facts, as C(runtime_facts) of M(nodeops.kubernetes.node_runtime_facts) returns them (kubelet,
      container_runtime, cgroup_version, containerd, docker, services, problems, consistent_on_systemd).
    - Null when they could not be read.
  returned: always
  type: dict
  sample:
    container_runtime: containerd
    cgroup_version: 2
    kubelet: {cgroup_driver: systemd, cgroup_driver_effective: systemd}
    problems: []
certificates:
  description:
    - The certificate expiry report, as M(nodeops.kubernetes.cert_expiry) returns it (certificates,
      certificate_authorities, kubelet, other_certificates, due, expired, external_ca, local_etcd,
      soonest_residual_seconds, now, threshold_days, kubeadm, lines).
    - Null when it could not be read.
  returned: always
  type: dict
  sample:
    due: []
    expired: []
    local_etcd: true
    threshold_days: 30
docker_node:
  description:
    - The Docker dependency scan of the node, as M(nodeops.kubernetes.docker_node_scan) returns it (findings,
      blocking, unmatched_acknowledgements, summary, ok_to_switch, carry_over, docker_socket_clients, node).
    - Null when the scan failed.
  returned: always
  type: dict
  sample:
    blocking: []
    ok_to_switch: true
    node: w1
dns_answer:
  description:
    - The answer of O(dns_server), as M(nodeops.kubernetes.dns_query) returns it (rcode, addresses, seconds,
      attempts, server, qname); with C(failed=true) and C(msg) when no good answer came within O(dns_retries).
    - Null when O(dns_server) is not set.
  returned: always
  type: dict
  sample:
    rcode: NOERROR
    addresses: ["10.96.0.1"]
    seconds: 0.0012
    attempts: 1
node:
  description: The Kubernetes node name the node was read as (O(name), else the node's host name).
  returned: when the node answered
  type: str
  sample: w1
read_at:
  description: When the read finished, in seconds since the epoch by the controller's clock.
  returned: when the node answered
  type: float
  sample: 1796256000.25
errors:
  description: "The parts that could not be read, each as C(part: message); empty on success."
  returned: always
  type: list
  elements: str
  sample: []
"""

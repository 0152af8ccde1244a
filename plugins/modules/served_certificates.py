#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: served_certificates
short_description: Prove by TLS handshake which certificate each control-plane endpoint or the kubelet serves
version_added: 0.2.0
description:
  - Makes a TLS handshake, from the node of this host, with the control-plane endpoints on 127.0.0.1, namely
    C(kube-apiserver) (6443), C(etcd) (2379, presenting C(etcd/healthcheck-client.crt) since etcd asks for a client
    certificate), C(kube-controller-manager) (10257) and C(kube-scheduler) (10259).
  - On any node, C(kubelet) (10250) is the kubelet's serving certificate; with C(serverTLSBootstrap) its file is
    C(/var/lib/kubelet/pki/kubelet-server-current.pem).
  - For C(kube-apiserver) and C(etcd) the served certificate must have the serial and notAfter of the file kubeadm
    wrote (C(apiserver.crt), C(etcd/server.crt)), for C(kubelet) those of its file when it exists. kube-controller-manager and kube-scheduler make their serving
    certificate in memory at start on kubeadm clusters; for those listed in O(restarted) the served certificate must
    differ from the one in O(before) (the RV(endpoints) of an earlier run).
  - O(expected) replaces the file with a certificate given to the task (for example the one of an approved
    CertificateSigningRequest), and O(ca_file) asks that every served certificate be signed by that CA.
  - The node's python3 (standard library) makes the handshakes; the certificates are compared on the controller
    with C(cryptography). Keys never leave the node.
author:
  - nodeops maintainers (@nodeops)
options:
  endpoints:
    description: The endpoints to check.
    type: list
    elements: str
    choices: [kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kubelet]
    default: [kube-apiserver, etcd, kube-controller-manager, kube-scheduler]
  pki_dir:
    description: kubeadm's certificate directory.
    type: path
    default: /etc/kubernetes/pki
  ca_file:
    description:
      - A CA certificate file on the node (for example C(/etc/kubernetes/pki/ca.crt), the cluster CA that signs kubelet
        serving certificates); each served certificate must be issued by it and carry a valid signature of its key
        (C(signed_by_ca) in RV(endpoints)).
      - Only its public certificate is read.
    type: path
  expected:
    description:
      - Endpoint name to a PEM certificate that the endpoint must serve (same serial and notAfter), or to several
        concatenated PEM certificates, one of which it must serve; it takes the place of the endpoint's file. Every
        name must be in O(endpoints).
    type: dict
    default: {}
  before:
    description: RV(endpoints) of an earlier run of this module, before the restarts.
    type: list
    elements: dict
    default: []
  restarted:
    description: Endpoints whose component was restarted since O(before).
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds during which endpoints that do not serve what they must are probed again (a component just
        restarted may still be settling); V(0) probes once.
    type: int
    default: 120
  poll_interval:
    description: Seconds between two probes.
    type: float
    default: 2.0
  on_problem:
    description: V(fail) fails the task when an endpoint does not serve what it must; V(warn) returns warnings.
    type: str
    choices: [fail, warn]
    default: fail
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  check_mode:
    details: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    support: none
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
requirements:
  - cryptography (on the controller)
"""

EXAMPLES = r"""
- name: Prove the API server and etcd serve their renewed certificates
  nodeops.kubernetes.served_certificates:
    endpoints: [kube-apiserver, etcd]
  become: true

- name: Prove the kubelet serves the certificate of its approved CSR, signed by the cluster CA
  nodeops.kubernetes.served_certificates:
    endpoints: [kubelet]
    ca_file: /etc/kubernetes/pki/ca.crt
    expected:
      kubelet: "{{ csr.resources[0].status.certificate | b64decode }}"
  become: true
"""

RETURN = r"""
endpoints:
  description:
    - One entry per endpoint; C(served) and C(file) hold C(serial), C(not_before), C(not_after), C(subject),
      C(issuer), C(dns_names), C(ip_addresses); C(proof) is V(matches_file), V(differs_from_file),
      V(new_since_restart), V(same_as_before_restart), V(matches_expected), V(differs_from_expected) or V(serving);
      C(expected) holds the same keys for O(expected); C(signed_by_ca) (with O(ca_file)) says whether the served
      certificate is signed by that CA; C(ok) says whether it is as expected.
  returned: always
  type: list
  elements: dict
problems:
  description: What is not as expected, one sentence each.
  returned: always
  type: list
  elements: str
ok:
  description: Whether every endpoint serves what it must.
  returned: always
  type: bool
"""

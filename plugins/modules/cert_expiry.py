#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin of the same name.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cert_expiry
short_description: Report the expiry of a kubeadm control-plane node's certificates
version_added: 0.2.0
description:
  - Reads, without changing anything, the rows of C(kubeadm certs check-expiration) for the node of this host
    (every certificate under O(pki_dir), C(etcd/) included; the client certificates embedded in C(admin.conf),
    C(super-admin.conf), C(controller-manager.conf) and C(scheduler.conf); the CAs) with name, expiry, residual
    time, CA, externally managed and missing; plus the kubelet's client certificate and its serving certificate,
    which kubeadm does not list.
  - Also returns the same data in the shape of C(kubeadm certs check-expiration -o json) (RV(kubeadm)), so that
    scripts written for one can use the other.
  - kubeadm is not needed on the node, nor a recent one. The node's python3 (standard library only) serves the
    public parts of the files; private keys and kubeconfig secrets never leave the node. The X.509 parsing happens
    on the controller with the Python package C(cryptography).
  - A certificate is externally managed when its CA's key is absent (kubeadm's external CA mode); such
    certificates are never RV(due), since kubeadm cannot renew them.
  - With external etcd (no C(etcd/ca.crt) and no etcd static pod manifest) the etcd rows are left out, as kubeadm
    does.
author:
  - nodeops maintainers (@nodeops)
options:
  threshold_days:
    description:
      - A renewable certificate whose residual time is under this many days is listed in RV(due).
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
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    details: Runs on the controller as an action plugin; the node only serves the public parts of its files.
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
  - Run it with C(become=true) on control-plane nodes; the files are readable by root only.
"""

EXAMPLES = r"""
- name: Report the certificate expiry of the control plane
  nodeops.kubernetes.cert_expiry:
  become: true
  register: expiry

- name: Print kubeadm's table
  ansible.builtin.debug:
    msg: "{{ expiry.lines }}"

- name: Fail when a certificate expires within 30 days
  ansible.builtin.assert:
    that: expiry.due | length == 0
    fail_msg: "due for renewal: {{ expiry.due | join(', ') }}"

- name: Save the kubeadm-compatible JSON for other tools
  ansible.builtin.copy:
    content: "{{ expiry.kubeadm | to_nice_json }}"
    dest: "/var/tmp/{{ inventory_hostname }}-check-expiration.json"
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
certificates:
  description:
    - One row per kubeadm certificate, in kubeadm's order. The name is the argument of C(kubeadm certs renew).
    - C(kind) is V(file) or V(kubeconfig); C(static_pods) are the static pods that load it; the certificate
      details (C(serial) in hex, C(not_before), C(not_after), C(subject), C(issuer), C(common_name),
      C(organizations), C(dns_names), C(ip_addresses), C(self_signed)) are present when it is not missing.
  returned: always
  type: list
  elements: dict
  sample:
    - name: apiserver
      path: /etc/kubernetes/pki/apiserver.crt
      kind: file
      expires: "2027-11-30T19:45:01Z"
      residual_seconds: 31535000
      residual_time: 364d
      ca_name: ca
      externally_managed: false
      missing: false
      expired: false
      static_pods: [kube-apiserver]
      serial: 5f1e0c...
certificate_authorities:
  description: One row per CA (C(ca), C(etcd-ca), C(front-proxy-ca)) with the same keys, plus C(key_path).
  returned: always
  type: list
  elements: dict
kubelet:
  description:
    - The kubelet's client certificate (C(kubelet-client), C(/var/lib/kubelet/pki/kubelet-client-current.pem))
      and serving certificate (C(kubelet-serving), C(kubelet-server-current.pem) when the kubelet bootstraps it
      with CSRs, else the self-signed C(kubelet.crt)), with C(rotated_by).
  returned: always
  type: list
  elements: dict
other_certificates:
  description: Other C(.crt) files in O(pki_dir) and C(etcd/), which kubeadm does not manage.
  returned: always
  type: list
  elements: dict
due:
  description: Names of the renewable certificates (present, CA key present) whose residual time is under O(threshold_days).
  returned: always
  type: list
  elements: str
  sample: [apiserver, admin.conf]
expired:
  description: Names of the kubeadm certificates already expired.
  returned: always
  type: list
  elements: str
external_ca:
  description: Names of the CAs whose key is absent (external CA mode); their certificates are renewed by another party.
  returned: always
  type: list
  elements: str
local_etcd:
  description: Whether the node runs kubeadm's local etcd (its certificates are listed).
  returned: always
  type: bool
soonest_residual_seconds:
  description: Smallest residual time of all rows, kubelet included; null when nothing was found.
  returned: always
  type: int
now:
  description: The controller time the residual times are computed against (RFC 3339).
  returned: always
  type: str
threshold_days:
  description: The O(threshold_days) used.
  returned: always
  type: int
kubeadm:
  description:
    - The report in the shape of C(kubeadm certs check-expiration -o json) (C(output.kubeadm.k8s.io/v1alpha3),
      C(CertificateExpirationInfo)); C(residualTime) is in seconds, as kubeadm prints it.
  returned: always
  type: dict
  sample:
    kind: CertificateExpirationInfo
    apiVersion: output.kubeadm.k8s.io/v1alpha3
    certificates:
      - name: admin.conf
        expirationDate: "2027-11-30T19:45:01Z"
        residualTime: 31535000
        caName: ca
        externallyManaged: false
        missing: false
    certificateAuthorities:
      - name: ca
        expirationDate: "2036-11-28T19:45:01Z"
        residualTime: 315187000
        externallyManaged: false
        missing: false
lines:
  description: The report as kubeadm's tables, then the kubelet's certificates, one line per item.
  returned: always
  type: list
  elements: str
"""

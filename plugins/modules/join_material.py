#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: join_material
short_description: Create a bootstrap token and a verified kubeadm join command through the API
version_added: 0.3.0
description:
  - O(state=present) makes sure a bootstrap token exists for joining a node, as
    C(kubeadm token create --print-join-command) would, but through the API server and with proof. It creates the
    Secret C(kube-system/bootstrap-token-<id>) (type C(bootstrap.kubernetes.io/token), usages
    C(usage-bootstrap-authentication) and C(usage-bootstrap-signing), the extra groups of O(extra_groups), the
    expiration of O(ttl) and O(description)), unless O(reuse_token) is true and a valid token of the same
    O(description) stays valid for at least 15 more minutes.
  - It then waits (up to O(wait_timeout) seconds) for the bootstrapsigner controller of kube-controller-manager to
    sign C(kube-public/cluster-info) for the token (key C(jws-kubeconfig-<id>)), and verifies that signature
    (detached HS256 JWS keyed with the token secret) over the ConfigMap's C(kubeconfig) exactly as C(kubeadm join)
    will. A tampered or wrongly signed C(cluster-info) is refused; a token the module created is deleted again
    when the check fails.
  - The discovery hash C(sha256:<hex>) is computed from the CA in C(cluster-info)'s kubeconfig (its
    SubjectPublicKeyInfo) and, when O(ca_cert_path) is given, compared with that CA file on the controller.
  - O(state=absent) deletes the Secret of the token O(token_id).
  - The token and the join command are secrets. The module never puts them into C(msg) or warnings, but it has to
    return them; set C(no_log=true) on the task that runs it and on every task that uses RV(token) or
    RV(join_command).
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
options:
  state:
    description: V(present) makes sure a verified token exists and returns the join material; V(absent) deletes the token O(token_id).
    type: str
    choices: [present, absent]
    default: present
  token_id:
    description: The id (6 characters of C([a-z0-9])) of the token to delete. Required with O(state=absent).
    type: str
  description:
    description: The C(description) of the token Secret; also what O(reuse_token) matches tokens by.
    type: str
    default: nodeops.kubernetes join material
  ttl:
    description: How long a new token is valid, a duration such as V(1h), V(90m) or V(1h30m). Tokens that never expire are refused.
    type: str
    default: 1h
  reuse_token:
    description: Reuse a valid token of the same O(description) (valid for at least 15 more minutes) instead of creating one.
    type: bool
    default: true
  extra_groups:
    description: The C(auth-extra-groups) of a new token. The default is kubeadm's.
    type: list
    elements: str
    default: ["system:bootstrappers:kubeadm:default-node-token"]
  ca_cert_path:
    description:
      - A cluster CA certificate file (PEM) on the controller, for example a copy of C(/etc/kubernetes/pki/ca.crt).
      - When given, the CA of C(cluster-info) must be this CA (same public key), or the module fails.
    type: path
  api_server_endpoint:
    description: The C(host:port) the joining node uses; by default the server of C(cluster-info)'s kubeconfig.
    type: str
  wait_timeout:
    description: Seconds to wait for the bootstrapsigner to sign C(cluster-info) for a new token.
    type: int
    default: 120
attributes:
  check_mode:
    details:
      - Reports whether a token would be created (and the CA hash and endpoint, read from C(cluster-info)); creates and
        deletes nothing.
      - Without a real token there is no join command in check mode.
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "RBAC: C(list), C(get), C(create) and C(delete) on C(secrets) in C(kube-system); C(get) on the ConfigMap
    C(kube-public/cluster-info)."
  - The cluster must have been set up like kubeadm does it (C(cluster-info) uploaded, bootstrapsigner controller
    enabled, RBAC for C(system:bootstrappers:kubeadm:default-node-token)).
"""

EXAMPLES = r"""
- name: Create the join material of a Windows node
  nodeops.kubernetes.join_material:
    description: nodeops windows join
    ttl: 1h
    ca_cert_path: files/cluster-ca.crt
  delegate_to: localhost
  run_once: true
  no_log: true
  register: join

- name: Delete the token again after the join
  nodeops.kubernetes.join_material:
    state: absent
    token_id: "{{ join.token_id }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
token_id:
  description: The token's id (not secret).
  returned: success; null in check mode when a token would be created
  type: str
  sample: abcdef
token:
  description: The token C(<id>.<secret>). Secret, run the task with C(no_log).
  returned: state=present; null in check mode when a token would be created
  type: str
expires:
  description: The token's expiration (RFC 3339).
  returned: state=present
  type: str
  sample: "2026-12-01T06:00:00Z"
ca_cert_hash:
  description: The discovery hash of the cluster CA, C(sha256:<hex>).
  returned: state=present
  type: str
api_server_endpoint:
  description: The C(host:port) of the join command.
  returned: state=present
  type: str
  sample: 10.0.0.10:6443
join_command:
  description: The complete C(kubeadm join) command. Secret, run the task with C(no_log).
  returned: state=present; null in check mode when a token would be created
  type: str
created:
  description: Whether a new token was created (or would be in check mode).
  returned: state=present
  type: bool
reused:
  description: Whether an existing token was reused.
  returned: state=present
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _join_material
from ansible_collections.nodeops.kubernetes.plugins.module_utils._cert_expiry import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    get_api_client,
)


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        token_id=dict(type="str"),
        description=dict(type="str", default="nodeops.kubernetes join material"),
        ttl=dict(type="str", default="1h"),
        reuse_token=dict(type="bool", default=True, no_log=False),
        extra_groups=dict(type="list", elements="str",
                          default=list(_join_material.DEFAULT_GROUPS)),
        ca_cert_path=dict(type="path"),
        api_server_endpoint=dict(type="str"),
        wait_timeout=dict(type="int", default=120),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "absent", ["token_id"])])
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        api = _join_material.ClusterApi(get_api_client(module.params), module.params)
        result = _join_material.run(api, module.params, module.check_mode)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

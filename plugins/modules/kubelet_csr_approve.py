#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubelet_csr_approve
short_description: Approve kubelet serving certificate requests only when they name the Node's own addresses
version_added: 0.2.0
description:
  - Looks at the pending CertificateSigningRequests of signer C(kubernetes.io/kubelet-serving) (filed by kubelets
    with C(serverTLSBootstrap) true) and approves one only when ALL of these hold
    (1) the requester is C(system:node:<name>) in group C(system:nodes);
    (2) the request's subject is exactly CN=C(system:node:<name>), O=C(system:nodes);
    (3) the usages are exactly the serving ones (C(digital signature), C(server auth), and C(key encipherment) for
    RSA keys);
    (4) the Node C(<name>) exists;
    (5) every DNS name and IP address of the request is one of that Node's C(status.addresses), and there is at least
    one.
  - Anything else is left pending or denied (O(refused)), with every reason in RV(refused). CSRs of any other signer
    are never approved nor denied; they are listed in RV(ignored). Already approved or denied CSRs are not touched,
    so the module is idempotent and safe to schedule.
  - kube-controller-manager signs an approved request; the kubelet then fetches and serves the certificate.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
options:
  csr_names:
    description: Only these CSRs (by name); by default every CSR of the cluster is looked at.
    type: list
    elements: str
    default: []
  refused:
    description: V(leave_pending) leaves a refused CSR as it is (it expires unsigned); V(deny) marks it Denied.
    type: str
    choices: [leave_pending, deny]
    default: leave_pending
attributes:
  check_mode:
    details: Reports what would be approved and denied; nothing is changed.
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "RBAC: C(list) on C(certificatesigningrequests) and C(nodes); C(update) on
    C(certificatesigningrequests/approval); C(approve) on C(signers) C(kubernetes.io/kubelet-serving)."
"""

EXAMPLES = r"""
- name: Approve the kubelet serving certificates that name only their Node's addresses
  nodeops.kubernetes.kubelet_csr_approve:
  delegate_to: localhost
  run_once: true
  register: approval

- name: Deny what fails the checks
  nodeops.kubernetes.kubelet_csr_approve:
    refused: deny
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
approved:
  description: CSRs approved (or that would be in check mode), with C(name), C(node), C(dns_names), C(ip_addresses).
  returned: success
  type: list
  elements: dict
refused:
  description: Pending kubelet-serving CSRs not approved, with C(name), C(node), C(requester) and every C(reasons); C(denied) says whether it was denied.
  returned: success
  type: list
  elements: dict
  sample:
    - name: csr-abcde
      node: worker-1
      requester: system:node:worker-1
      reasons: ["IP address(es) 10.0.0.99 not in the addresses of Node worker-1 (10.0.0.21)"]
      denied: false
ignored:
  description: CSRs not looked at further (other signers, already approved or denied), with C(name) and C(reasons).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _csr_approver
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
        csr_names=dict(type="list", elements="str", default=[]),
        refused=dict(type="str", choices=["leave_pending", "deny"], default="leave_pending"),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        api = _csr_approver.ClusterApi(get_api_client(module.params), module.params)
        result = _csr_approver.run(api, module.params["csr_names"], module.params["refused"], module.check_mode)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

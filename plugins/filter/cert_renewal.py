# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the certificate renewal: ``cert_renewal_plan``, ``cert_renewal_outcome`` and ``cert_renewal_pod_ready``.

Thin wrappers over ``plugins/module_utils/_cert_renewal.py``; documented in the ``.yml`` files beside this file.
That module (and the ``cryptography`` it reads certificates with) is imported on the first call: a task that
uses any filter of the collection loads every filter file, so an import here would slow every such task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def _renewal():
    from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_renewal  # pylint: disable=import-outside-toplevel
    return _cert_renewal


def cert_renewal_plan(expiry, force=False, names=None, kubeadm_present=True):
    """What to renew on a node, from a ``nodeops.kubernetes.cert_expiry`` result."""
    try:
        return _renewal().renewal_plan(expiry, force=bool(force), names=names or None,
                                       kubeadm_present=bool(kubeadm_present))
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("cert_renewal_plan: the input is not a cert_expiry result (%s)" % exc)


def cert_renewal_outcome(plan, expiry_after):
    """Whether each planned certificate was really renewed, from the cert_expiry result after the renewal."""
    try:
        return _renewal().renewal_outcome(plan, expiry_after)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("cert_renewal_outcome: expects a cert_renewal_plan and a cert_expiry result (%s)"
                                 % exc)


def cert_renewal_pod_ready(pod, since):
    """Whether a mirror pod runs again, Ready, as containers started at or after ``since`` (the node's clock)."""
    try:
        ready, why = _renewal().pod_ready_since(pod or {}, since)
    except NodeOpsError as exc:
        raise AnsibleFilterError("cert_renewal_pod_ready: %s" % exc.message)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("cert_renewal_pod_ready: expects a Pod as the API returns it (%s)" % exc)
    return {"ready": ready, "why": why}


class FilterModule(object):
    """The certificate renewal filters of nodeops.kubernetes."""

    def filters(self):
        return {"cert_renewal_plan": cert_renewal_plan, "cert_renewal_outcome": cert_renewal_outcome,
                "cert_renewal_pod_ready": cert_renewal_pod_ready}

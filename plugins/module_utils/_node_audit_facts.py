# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of ``nodeops.kubernetes.node_audit_facts``: the module's answers parsed by the code of
``node_runtime_facts`` (:func:`runtime_facts`) and ``cert_expiry`` (:func:`read_expiry_report`).

The node side is ``_node_audit`` (not imported here); nothing here talks to a node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry, _runtime_facts
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._node_audit_options import (
    CERTIFICATE_OPTIONS,
    RUNTIME_OPTIONS,
    pick,
)


def audit_facts(answers, options, read_more_files, source="the node"):
    """Controller side: ``runtime_facts``, ``certificates`` and ``docker_node`` as the three modules return them.

    ``answers``: what :func:`read_node` returned. ``read_more_files(request)`` reads certificate files on the
    node when a kubeconfig names them instead of embedding them (``(files, globbed)``, as ``cert_expiry``).
    A part that cannot be parsed is None and its error is in ``errors`` (a list of ``part: message``).
    """
    result = {"runtime_facts": None, "certificates": None, "docker_node": answers.get("docker_node"),
              "dns_answer": answers.get("dns_answer"), "node": answers.get("node")}
    errors = []
    try:
        decoded = _runtime_facts.decode_reader_output(answers["runtime_answer"], source)
        result["runtime_facts"] = _runtime_facts.runtime_facts(decoded, **pick(options, RUNTIME_OPTIONS))
    except NodeOpsError as exc:
        errors.append("runtime_facts: %s" % exc.message)

    def read_files(request):
        # The first request is the one the module's reader has answered already.
        if "kubeconfig" in request:
            return _cert_expiry.decode_reader_output(answers["certificates_answer"], source)
        return read_more_files(request)

    try:
        result["certificates"] = _cert_expiry.read_expiry_report(read_files, **pick(options, CERTIFICATE_OPTIONS))
    except NodeOpsError as exc:
        errors.append("certificates: %s" % exc.message)
    errors.extend("%s: %s" % (part, message) for part, message in sorted((answers.get("errors") or {}).items()))
    result["errors"] = errors
    return result

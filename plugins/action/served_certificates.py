# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.served_certificates``.

The node's python3 makes a TLS handshake with each control-plane endpoint and hands back the DER of
the certificate it serves (and the public PEM of the file it must serve); the comparison happens here
with ``cryptography`` (plugins/module_utils/_cert_renewal.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._node_script import node_python
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry, _cert_renewal
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import remote_command

ENDPOINT_NAMES = [e[0] for e in _cert_renewal.ENDPOINTS]

ARGUMENT_SPEC = dict(
    endpoints=dict(type="list", elements="str", choices=ENDPOINT_NAMES,
                   default=list(_cert_renewal.CONTROL_PLANE_ENDPOINTS)),
    ca_file=dict(type="path"),
    expected=dict(type="dict", default={}),
    pki_dir=dict(type="path", default=_cert_expiry.DEFAULT_PKI_DIR),
    before=dict(type="list", elements="dict", default=[]),
    restarted=dict(type="list", elements="str", default=[]),
    on_problem=dict(type="str", choices=["fail", "warn"], default="fail"),
    timeout=dict(type="int", default=120),
    poll_interval=dict(type="float", default=2.0),
)


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        _cert_expiry.require_cryptography()
        unknown = sorted(set(args["expected"]) - set(args["endpoints"]))
        if unknown:
            raise NodeOpsError("expected names endpoint(s) %s that are not in endpoints (%s)"
                               % (", ".join(unknown), ", ".join(args["endpoints"])))
        request = _cert_renewal.probe_request(args["pki_dir"], only=args["endpoints"], ca_file=args["ca_file"])
        # A component that was just restarted may still be settling: probe again until every endpoint
        # serves what it must or the timeout is over.
        deadline = time.monotonic() + args["timeout"]
        while True:
            report = self._probe(request, args, task_vars)
            if report["ok"] or time.monotonic() > deadline:
                break
            time.sleep(args["poll_interval"])
        result = dict(changed=False, endpoints=report["endpoints"], problems=report["problems"], ok=report["ok"])
        if not report["ok"]:
            if args["on_problem"] == "fail":
                raise NodeOpsError("served certificates not as expected: %s" % "; ".join(report["problems"]),
                                   endpoints=report["endpoints"], problems=report["problems"], ok=False)
            result["warnings"] = report["problems"]
        return result

    def _probe(self, request, args, task_vars):
        argv = [node_python(task_vars), "-c", _cert_renewal.NODE_TLS_PROBE, json.dumps(request)]
        rc, stdout, stderr = remote_command(self, argv)
        if rc != 0:
            raise NodeOpsError("the TLS probe could not run on the node (%s exited %s): %s"
                               % (argv[0], rc, (stderr or stdout).strip()[:500]))
        return _cert_renewal.served_report(stdout, before=args["before"], restarted=args["restarted"],
                                           expected=args["expected"])

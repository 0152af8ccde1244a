# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's reads of one node in one process (``nodeops.kubernetes.node_audit_facts``), node side.

Nothing here is a check of its own; it runs the checks of three modules together. On the node
(:func:`read_this_node`, which the action plugin sends as one ``python3 -c`` command, not as an AnsiballZ
module; see ``plugin_utils/_node_script.py``): the runtime facts reader of ``node_runtime_facts`` and the
certificate reader of ``cert_expiry`` (the same ``NODE_READER`` scripts those modules run with
``python3 -c``, run here in the same interpreter by :func:`run_reader`), and the Docker dependency scan of
``docker_node_scan`` (:func:`scan_node`). Standard library only, like the readers: the parsing (YAML, TOML,
X.509) happens on the controller (``_node_audit_facts``).

A part that fails is named in ``errors``; the other parts are still returned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import io
import json
import socket
import sys

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry_node, _dns_wire, _runtime_facts_node
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_node import scan_node, ss_connections
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._node_audit_options import (
    CERTIFICATE_DIRS,
    RUNTIME_OPTIONS,
    pick,
)


def run_reader(source, request):
    """Run a node reader script in this interpreter; what it printed.

    A reader is a standard-library script that takes its request as JSON in ``sys.argv[1]`` and prints one JSON
    object. ``node_runtime_facts`` and ``cert_expiry`` run it as ``python3 -c``; here it runs without a second
    Python process.
    """
    saved = sys.argv
    printed = io.StringIO()
    sys.argv = ["nodeops-reader", json.dumps(request)]
    try:
        with contextlib.redirect_stdout(printed):
            # The collection's own reader (a constant of module_utils), not input from the task.
            exec(compile(source, "<nodeops node reader>", "exec"), {"__name__": "nodeops_reader"})  # pylint: disable=exec-used
    finally:
        sys.argv = saved
    return printed.getvalue()


def read_node(params, hostname, ss_output=None, send=None):
    """Node side: the two readers' raw answers, the Docker scan's report and the DNS answer of this node.

    Returns ``node`` (the option ``name``, else the host name), ``runtime_answer`` and ``certificates_answer`` (the
    readers' JSON text), ``docker_node`` (the report of
    ``docker_node_scan``, None when the scan failed), ``dns_answer`` (see :func:`ask_dns`) and ``errors`` (part
    name to message).
    """
    answers = {"errors": {}, "docker_node": None, "dns_answer": ask_dns(params, send),
               "node": params["name"] or hostname}
    answers["runtime_answer"] = run_reader(_runtime_facts_node.NODE_READER,
                                           _runtime_facts_node.node_request(**pick(params, RUNTIME_OPTIONS)))
    answers["certificates_answer"] = run_reader(_cert_expiry_node.NODE_READER,
                                                _cert_expiry_node.node_request(**pick(params, CERTIFICATE_DIRS)))
    try:
        answers["docker_node"] = scan_node(answers["node"], daemon_json=params["daemon_json"],
                                           script_paths=params["script_paths"], ss_output=ss_output,
                                           acknowledge=params["acknowledge"],
                                           block_on_warnings=params["block_on_warnings"])
    except NodeOpsError as exc:
        answers["errors"]["docker_node"] = exc.message
    return answers


def read_this_node(params):
    """The node's own entry: :func:`read_node` of this host, with the sockets ``ss`` lists (the function the
    action plugin of ``node_audit_facts`` sends to the node with ``plugin_utils._node_script``)."""
    return read_node(params, socket.gethostname(), ss_connections())


def ask_dns(params, send=None):
    """The answer of ``dns_server`` (the query of ``dns_query``), None when no server is given.

    A server that does not answer as expected is a finding of the audit, not a failure of the read: the
    answer is then ``failed`` with ``msg`` (and the ``rcode`` when an answer came).
    """
    if not params.get("dns_server"):
        return None
    request = dict(server=params["dns_server"], qname=params["dns_qname"], qtype="A", port=53, protocol="udp",
                   timeout=2.0, retries=params["dns_retries"], expect=params["dns_expect"])
    try:
        return _dns_wire.ask(request, send=send)
    except NodeOpsError as exc:
        answer = dict(exc.details)
        answer.update(failed=True, msg=exc.message)
        return answer

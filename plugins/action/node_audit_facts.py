# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.node_audit_facts``.

The module of the same name runs once on the node: the readers of
``node_runtime_facts`` and ``cert_expiry`` and the scan of ``docker_node_scan``
in one process. Their answers are parsed here by the code of those modules
(plugins/module_utils/_node_audit.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.action.cert_expiry import read_node_files
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_audit, _node_audit_facts
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

MODULE = "nodeops.kubernetes.node_audit_facts"


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = _node_audit.ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        host = task_vars.get("inventory_hostname", "the node")
        answers = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        if answers.get("failed") or answers.get("unreachable"):
            raise NodeOpsError("cannot read node %s: %s; the module needs the node's python3 and root (become: true)"
                               % (host, answers.get("msg", "the module failed")))

        def read_more_files(request):
            return read_node_files(self, request, task_vars, host)

        result = _node_audit_facts.audit_facts(answers, args, read_more_files, host)
        result["changed"] = False
        if result["errors"]:
            raise NodeOpsError("node %s could not be read completely: %s" % (host, "; ".join(result["errors"])),
                               **result)
        return result

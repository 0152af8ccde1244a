# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``nodeops.kubernetes.node_audit_facts``: the audit's reads of one node, in one Python process on the node.

The node runs ``_node_audit.read_this_node`` (the readers of ``node_runtime_facts`` and ``cert_expiry`` and the
scan of ``docker_node_scan``), sent as one ``python3 -c`` command (plugin_utils/_node_script.py) instead of an
AnsiballZ module: a fleet audit starts one such process per node at the same time, and AnsiballZ's own imports
were most of each one's cost. Its answers are parsed here by the code of those modules
(plugins/module_utils/_node_audit_facts.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.nodeops.kubernetes.plugins.action.cert_expiry import read_node_files
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._node_script import NodeScript
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_audit_facts, _node_audit_options
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

NODE_READ = NodeScript("_node_audit", "read_this_node")


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = _node_audit_options.ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        host = task_vars.get("inventory_hostname", "the node")
        answers = NODE_READ.run(self, task_vars, args, "node %s" % host)

        def read_more_files(request):
            return read_node_files(self, request, task_vars, host)

        result = _node_audit_facts.audit_facts(answers, args, read_more_files, host)
        result["changed"] = False
        result["read_at"] = time.time()
        if result["errors"]:
            raise NodeOpsError("node %s could not be read completely: %s" % (host, "; ".join(result["errors"])),
                               **result)
        return result

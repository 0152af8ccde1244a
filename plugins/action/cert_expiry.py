# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.cert_expiry``.

The node's own python3 (standard library only) reads the certificate files and
kubeconfigs and hands back only their public parts; the X.509 parsing happens
here with ``cryptography`` (plugins/module_utils/_cert_expiry.py). kubeadm is
not needed on the node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex

from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._node_script import node_python
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_expiry
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import remote_command

ARGUMENT_SPEC = dict(
    threshold_days=dict(type="int", default=30),
    pki_dir=dict(type="path", default=_cert_expiry.DEFAULT_PKI_DIR),
    kubeconfig_dir=dict(type="path", default=_cert_expiry.DEFAULT_KUBECONFIG_DIR),
    manifests_dir=dict(type="path", default=_cert_expiry.DEFAULT_MANIFESTS_DIR),
)


def read_node_files(action, request, task_vars, what="the node"):
    """Run the reader on the node; return ``(files, globbed)``."""
    argv = [node_python(task_vars), "-c", _cert_expiry.NODE_READER, json.dumps(request)]
    rc, stdout, stderr = remote_command(action, argv)
    if rc != 0:
        raise NodeOpsError("cannot read the certificate files of %s: %s exited %s: %s; the module needs the node's "
                           "python3 and root (become: true)" % (what, shlex.quote(argv[0]), rc,
                                                                (stderr or stdout).strip()[:500]))
    return _cert_expiry.decode_reader_output(stdout, what)


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        host = task_vars.get("inventory_hostname", "the node")
        report = _cert_expiry.read_expiry_report(lambda request: read_node_files(self, request, task_vars, host),
                                                 **args)
        report["changed"] = False
        return report

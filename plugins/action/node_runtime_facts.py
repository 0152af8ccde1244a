# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.node_runtime_facts``.

One command on the node: its python3 (standard library only) reads the kubelet
files and runs the read-only commands (``containerd --version`` and ``config
dump``, ``docker info``, ``stat -fc %T /sys/fs/cgroup``, ``systemctl show``)
and hands everything back raw. The YAML (kubelet configuration), TOML
(``containerd config dump``) and JSON (``docker info``) are parsed here
(plugins/module_utils/_runtime_facts.py), so the node needs no Python package.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex

from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._node_script import node_python
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _runtime_facts
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import remote_command

ARGUMENT_SPEC = dict(
    kubelet_config_path=dict(type="path", default=_runtime_facts.DEFAULT_KUBELET_CONFIG),
    kubelet_flags_files=dict(type="list", elements="path", default=list(_runtime_facts.DEFAULT_FLAGS_FILES)),
    containerd_binary=dict(type="str", default="containerd"),
    docker_binary=dict(type="str", default="docker"),
    progress_record_path=dict(type="path"),
    units=dict(type="list", elements="str", default=[]),
    digest_paths=dict(type="list", elements="path", default=[]),
)


def read_node(action, request, task_vars, what="the node"):
    """Run the reader on the node once; return its decoded answer."""
    argv = [node_python(task_vars), "-c", _runtime_facts.NODE_READER, json.dumps(request)]
    rc, stdout, stderr = remote_command(action, argv)
    if rc != 0:
        raise NodeOpsError("cannot read the runtime facts of %s: %s exited %s: %s; the module needs the node's "
                           "python3 and root (become: true)" % (what, shlex.quote(argv[0]), rc,
                                                                (stderr or stdout).strip()[:500]))
    return _runtime_facts.decode_reader_output(stdout, what)


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        options = dict((name, args[name]) for name in ARGUMENT_SPEC)
        answer = read_node(self, _runtime_facts.node_request(**options), task_vars,
                           task_vars.get("inventory_hostname", "the node"))
        facts = _runtime_facts.runtime_facts(answer, **options)
        return dict(changed=False, runtime_facts=facts, consistent_on_systemd=facts["consistent_on_systemd"],
                    ansible_facts={"nodeops_runtime": facts})

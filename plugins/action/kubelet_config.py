# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.kubelet_config``.

The node may have no PyYAML, so the file is read from the node, edited here
and written back through ``nodeops.kubernetes.node_file``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import (
    edit_result,
    remote_read,
    remote_write,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_config import edit_kubelet_text

DEFAULT_PATH = "/var/lib/kubelet/config.yaml"

ARGUMENT_SPEC = dict(
    path=dict(type="path", default=DEFAULT_PATH),
    settings=dict(type="dict"),
    remove=dict(type="list", elements="str"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    backup=dict(type="bool", default=True),
    patch=dict(type="bool", default=False),
    missing=dict(type="str", default="fail", choices=["fail", "skip"]),
)

REQUIRED_IF = [
    ("state", "present", ["settings"]),
    ("state", "absent", ["remove"]),
]


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = REQUIRED_IF

    def run_checked(self, args, task_vars):
        return self._apply(args, task_vars)

    def _apply(self, args, task_vars):
        path = args["path"]
        if args["state"] == "present":
            settings, remove = args["settings"] or {}, []
        else:
            settings, remove = {}, args["remove"] or []
        text = remote_read(self, path, task_vars)
        if text is None and args["missing"] == "skip":
            return {"changed": False, "path": path, "exists": False, "before": {}, "after": {}}
        if text is None:
            raise NodeOpsError(
                "%s does not exist on the node; kubeadm writes it on 'kubeadm init/join'. Check path (the kubelet's "
                "--config flag, see /var/lib/kubelet/kubeadm-flags.env and the kubelet systemd drop-ins)" % path,
                path=path,
            )
        edit = edit_kubelet_text(text, settings, remove, source=path, patch=args["patch"])
        result = edit_result(path, edit.changed, edit.before, edit.after, text, edit.text, self._task.diff,
                             rewritten=edit.rewritten, exists=True)
        if edit.changed and not self._task.check_mode:
            backup_file = remote_write(self, path, edit.text, args["backup"], task_vars)
            if backup_file:
                result["backup_file"] = backup_file
        return result

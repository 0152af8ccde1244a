# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.containerd_config``.

The TOML is edited here with tomlkit (comments kept); the node only serves the
file, runs ``containerd config default`` when a config has to be generated,
and receives the result through ``nodeops.kubernetes.node_file``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.module_utils._containerd_config import edit_containerd_text
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import (
    edit_result,
    remote_command,
    remote_read,
    remote_write,
)

DEFAULT_PATH = "/etc/containerd/config.toml"

ARGUMENT_SPEC = dict(
    path=dict(type="path", default=DEFAULT_PATH),
    systemd_cgroup=dict(type="bool"),
    sandbox_image=dict(type="str"),
    config_path=dict(type="str"),
    enable_cri=dict(type="bool", default=True),
    containerd_binary=dict(type="str", default="containerd"),
    backup=dict(type="bool", default=True),
)


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        return self._apply(args, task_vars)

    def _default_config(self, binary, path):
        rc, stdout, stderr = remote_command(self, [binary, "config", "default"])
        if rc != 0 or not stdout.strip():
            raise NodeOpsError(
                "%s has to be generated from '%s config default' on the node, but that command failed (rc=%s): %s. "
                "Is containerd installed (containerd_binary)? %s is left untouched"
                % (path, binary, rc, (stderr or stdout or "no output").strip(), path),
                path=path, rc=rc, stderr=stderr,
            )
        return stdout

    def _apply(self, args, task_vars):
        path = args["path"]
        if args["sandbox_image"] is not None and not args["sandbox_image"].strip():
            raise NodeOpsError("sandbox_image must not be empty; omit it to keep the current value")
        text = remote_read(self, path, task_vars)
        edit = edit_containerd_text(
            text,
            path,
            systemd_cgroup=args["systemd_cgroup"],
            sandbox_image=args["sandbox_image"],
            config_path=args["config_path"],
            enable_cri=args["enable_cri"],
            default_text=lambda: self._default_config(args["containerd_binary"], path),
        )
        details = edit.to_result()
        changed = details.pop("changed")
        before, after = details.pop("before"), details.pop("after")
        result = edit_result(path, changed, before, after, text or "", edit.text, self._task.diff)
        result.update(details)
        if changed and not self._task.check_mode:
            backup_file = remote_write(self, path, edit.text, args["backup"] and text is not None, task_vars)
            if backup_file:
                result["backup_file"] = backup_file
        return result

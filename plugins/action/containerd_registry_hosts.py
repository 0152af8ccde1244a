# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.containerd_registry_hosts``.

hosts.toml files are read from the node, merged with tomlkit here and written
back through ``nodeops.kubernetes.node_file``; the node needs nothing but Python's
standard library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._containerd_registry import (
    DEFAULT_CERTS_DIR,
    DEFAULT_PROXY_DROPIN,
    merge_hosts_toml,
    plan_registry_files,
    render_proxy_dropin,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import (
    make_diff,
    remote_read,
    remote_write,
)
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase

ARGUMENT_SPEC = dict(
    registry_mirrors=dict(type="list", elements="str", default=[]),
    insecure_registries=dict(type="list", elements="str", default=[]),
    http_proxy=dict(type="str"),
    https_proxy=dict(type="str"),
    no_proxy=dict(type="str"),
    certs_dir=dict(type="path", default=DEFAULT_CERTS_DIR),
    proxy_dropin_path=dict(type="path", default=DEFAULT_PROXY_DROPIN),
    backup=dict(type="bool", default=True),
)


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        result = self._apply(args, task_vars)
        for warning in result["registry_warnings"]:
            self._display.warning(warning)
        return result

    def _apply(self, args, task_vars):
        planned, untranslatable = plan_registry_files(args["certs_dir"], args["registry_mirrors"],
                                                      args["insecure_registries"])
        files = []
        diffs = []
        warnings = []
        if untranslatable:
            warnings.append("insecure registries given as CIDR ranges cannot be written for containerd: %s; "
                            "list those registries by name" % ", ".join(untranslatable))
        writes = []
        for path, plan in sorted(planned.items()):
            text = remote_read(self, path, task_vars)
            merged = merge_hosts_toml(text, path, plan["server"], plan["hosts"])
            warnings.extend(merged["warnings"])
            files.append({"path": path, "registry": plan["registry"], "changed": merged["changed"],
                          "created": text is None, "hosts": [url for url, _options in plan["hosts"]]})
            if merged["changed"]:
                diffs.append(make_diff(text or "", merged["text"], path))
                writes.append((files[-1], path, merged["text"], text is not None))
        proxy_text = render_proxy_dropin(args["http_proxy"], args["https_proxy"], args["no_proxy"])
        proxy = {"path": args["proxy_dropin_path"], "changed": False, "created": False}
        if proxy_text is not None:
            text = remote_read(self, args["proxy_dropin_path"], task_vars)
            proxy.update(changed=text != proxy_text, created=text is None)
            if proxy["changed"]:
                diffs.append(make_diff(text or "", proxy_text, args["proxy_dropin_path"]))
                writes.append((proxy, args["proxy_dropin_path"], proxy_text, text is not None))
        result = {
            "changed": bool(writes),
            "files": files,
            "proxy_dropin": proxy,
            "daemon_reload_needed": proxy["changed"],
            "untranslatable": untranslatable,
            "registry_warnings": warnings,
        }
        if not self._task.check_mode:
            self._write_all(writes, args["backup"], task_vars, result)
        if self._task.diff and diffs:
            result["diff"] = diffs
        return result

    def _write_all(self, writes, backup, task_vars, result):
        """Write the planned files in order; a failure after the first write says what was already written."""
        written = []
        for record, path, content, existed in writes:
            try:
                backup_file = remote_write(self, path, content, backup and existed, task_vars)
            except NodeOpsError as exc:
                if not written:
                    raise
                for left in writes[len(written):]:
                    left[0]["changed"] = False
                result["daemon_reload_needed"] = any(done is result["proxy_dropin"] for done in written)
                already = ", ".join(self._describe(done) for done in written)
                message = ("%s. Already written by this task: %s; they stay as written. Fix the cause and run "
                           "again: files already in place are left alone" % (exc.message.rstrip("."), already))
                raise NodeOpsError(message, **dict(result, changed=True, path=path,
                                                   written=[done["path"] for done in written]))
            if backup_file:
                record["backup_file"] = backup_file
            written.append(record)

    @staticmethod
    def _describe(record):
        if record.get("backup_file"):
            return "%s (backup %s)" % (record["path"], record["backup_file"])
        return "%s (%s)" % (record["path"], "new file" if record.get("created") else "no backup")

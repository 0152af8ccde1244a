# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class of the collection's action plugins.

It validates the task's arguments against the plugin's ``ARGUMENT_SPEC``, calls
``run_checked(args, task_vars)`` and turns a :class:`NodeOpsError` into a failed
result (``changed`` only when the error says ``changed=True``: something was
already written before the failure); the remote temporary directory is always removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from abc import abstractmethod

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


class NodeOpsActionBase(ActionBase):
    """Run an action plugin's work with one error path."""

    ARGUMENT_SPEC = {}
    REQUIRED_IF = None
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(NodeOpsActionBase, self).run(tmp, task_vars)
        del tmp
        try:
            kwargs = {"required_if": self.REQUIRED_IF} if self.REQUIRED_IF else {}
            dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC, **kwargs)
            result.update(self.run_checked(args, task_vars))
        except NodeOpsError as exc:
            result.update(exc.to_result())
            result["failed"] = True
            # A failure after some files were written says so (details changed=True).
            result["changed"] = bool(exc.details.get("changed", False))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    @abstractmethod
    def run_checked(self, args, task_vars):
        """Do the plugin's work; return the result dict or raise NodeOpsError."""

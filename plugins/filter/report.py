# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report filters shared by every operation: ``report_entry`` and ``run_report``.

Thin wrappers over ``plugins/module_utils/_report.py``; documented in ``report_entry.yml`` and
``run_report.yml`` beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _report
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def report_entry(data):
    """One node's report entry in the shape shared by every operation."""
    try:
        return _report.node_entry(data)
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


def run_report(entries, operation, hosts=None, title=None):
    """The run report (totals, node entries in run order, readable lines) of an operation."""
    try:
        return _report.run_report(operation, entries, hosts, title)
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


class FilterModule(object):
    """The report filters of nodeops.kubernetes."""

    def filters(self):
        return {"report_entry": report_entry, "run_report": run_report}

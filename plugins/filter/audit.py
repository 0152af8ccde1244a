# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's filters: ``audit_fleet_report``, ``audit_node_entry``, ``audit_report`` and ``audit_render``.

Thin wrappers over ``plugins/module_utils/_audit.py`` (the rules) and
``plugins/module_utils/_audit_report.py`` (the report and its renderings);
documented in the ``.yml`` files of the same names beside this file. Both are imported on the first call: a task
that uses any filter of the collection loads every filter file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def _rules():
    from ansible_collections.nodeops.kubernetes.plugins.module_utils import _audit  # pylint: disable=import-outside-toplevel
    return _audit


def _report():
    from ansible_collections.nodeops.kubernetes.plugins.module_utils import _audit_report  # pylint: disable=import-outside-toplevel
    return _audit_report


def audit_node_entry(inputs, host, node, cluster, threshold_days=None, marks=None, check_mode=False):
    """The report entry of one node: its findings from what the operations' checks returned."""
    rules = _rules()
    if threshold_days is None:
        threshold_days = rules.DEFAULT_THRESHOLD_DAYS
    try:
        findings = rules.node_findings(node or host, inputs, cluster, int(threshold_days))
        return _report().node_entry(host, node or host, findings, marks or {}, bool(check_mode))
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


def audit_report(entries, hosts, cluster, node_runtimes=None, generated_at=None, seconds=None,
                 generated_epoch=None):
    """The run report of the audit: the node entries, the cluster-wide findings, totals and lines."""
    try:
        found = _rules().cluster_findings(cluster, node_runtimes)
        return _report().audit_report(entries, hosts, found, generated_at, seconds, generated_epoch)
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


def audit_fleet_report(hosts, reads, unread, cluster, control_plane=None, threshold_days=None, start=None,
                       check_mode=False, dns_server=None, generated_at=None, seconds=None, generated_epoch=None):
    """The run report of the audit from every host's node read, built in one call."""
    rules = _rules()
    if threshold_days is None:
        threshold_days = rules.DEFAULT_THRESHOLD_DAYS
    if len(reads) != len(hosts) or len(unread) != len(hosts):
        raise AnsibleFilterError("audit_fleet_report: reads (%d) and unread (%d) must have one item per host (%d)"
                                 % (len(reads), len(unread), len(hosts)))
    try:
        return _report().fleet_report(list(hosts), list(reads), list(unread), cluster, list(control_plane or []),
                                      int(threshold_days), start, bool(check_mode), dns_server, generated_at, seconds,
                                      generated_epoch)
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


def audit_render(report, fmt):
    """The audit report as Markdown, HTML or a Prometheus textfile."""
    try:
        return _report().render(report, fmt)
    except NodeOpsError as exc:
        raise AnsibleFilterError(exc.message)


class FilterModule(object):
    """The audit filters of nodeops.kubernetes."""

    def filters(self):
        return {"audit_node_entry": audit_node_entry, "audit_report": audit_report, "audit_render": audit_render,
                "audit_fleet_report": audit_fleet_report}

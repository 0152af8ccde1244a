# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of a Docker dependency scan: acknowledgements, the findings still blocking and the verdict."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import (
    Severity,
    sort_findings,
)


def _blocks(severity, block_on_warnings):
    return severity is Severity.BLOCKING or (block_on_warnings and severity is Severity.WARNING)


def build_report(findings, acknowledge=None, block_on_warnings=False):
    """Return the report: findings marked ``acknowledged``, the ids still blocking and the verdict.

    A finding blocks when its severity is ``blocking`` (or ``warning`` with
    ``block_on_warnings``) and no entry of ``acknowledge`` matches its id.
    Entries are ids or shell-style patterns (``fnmatch``); entries that match
    nothing are listed in ``unmatched_acknowledgements`` (a typo must not
    pass unnoticed).
    """
    acknowledge = [str(entry) for entry in (acknowledge or [])]
    used = set()
    blocking = []
    marked = []
    for item in sort_findings(findings):
        item = dict(item)
        matches = [entry for entry in acknowledge if fnmatch.fnmatchcase(item["id"], entry)]
        used.update(matches)
        item["acknowledged"] = bool(matches)
        if _blocks(Severity.of(item["severity"]), block_on_warnings) and not matches:
            blocking.append(item["id"])
        marked.append(item)
    summary = dict((severity.value, sum(1 for item in marked if item["severity"] == severity.value))
                   for severity in Severity)
    summary["acknowledged"] = sum(1 for item in marked if item["acknowledged"])
    summary["blocking_unacknowledged"] = len(blocking)
    return {
        "findings": marked,
        "blocking": blocking,
        "unmatched_acknowledgements": [entry for entry in acknowledge if entry not in used],
        "summary": summary,
        "ok_to_switch": not blocking,
    }


def blocking_message(report, scope):
    """The failure message of a report that still has unacknowledged blocking findings."""
    lines = []
    for item in report["findings"]:
        if item["id"] in report["blocking"]:
            lines.append("%s [%s] %s; breaks: %s; fix: %s"
                         % (item["id"], item["where"], item["what"], item["breaks"], item["fix"]))
    intro = ("%s: %d blocking finding(s) stop the switch to containerd. Fix them, or acknowledge each by id in "
             "'acknowledge' once you know the consequence" % (scope, len(lines)))
    return "%s: %s" % (intro, " | ".join(lines))

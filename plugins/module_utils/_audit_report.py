# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's report, in the shape every operation shares, and its renderings.

:func:`fleet_report` builds the run report of the audit from every host's node read at once (one call for the
whole fleet, not one per host); :func:`audit_report` builds the run report with the shared code of ``_report``
(one node entry per node, action ``audited``; the node's findings in
``details.findings``; the cluster-wide findings in the run's
``details.cluster_findings``). The renderings (readable lines, Markdown, HTML,
a Prometheus textfile) are made from that report only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _audit, _report
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

OPERATION = "audit"
# What a second run of an unchanged cluster may report differently: dropped by comparable().
VOLATILE_KEYS = ("durations", "generated_at", "generated_epoch", "lease_age_seconds", "seconds",
                 "residual_seconds")


def _dict(value):
    return value if isinstance(value, dict) else {}


def _count(findings):
    counts = dict((severity, 0) for severity in _audit.SEVERITIES)
    for item in findings:
        counts[item["severity"]] += 1
    return counts


def _sorted(findings):
    return sorted(findings, key=lambda f: (-_audit.RANK[f["severity"]], f["check"], f["id"]))


def node_reason(findings):
    """One sentence for the node's row: the counts, then the most severe finding."""
    counts = _count(findings)
    worst = _audit.worst(findings)
    summary = ", ".join("%d %s" % (counts[s], s) for s in reversed(_audit.SEVERITIES) if counts[s] and s != _audit.OK)
    if worst in (_audit.OK, _audit.INFO):
        return "nothing to do" + (" (%s)" % summary if summary else "")
    first = _sorted(findings)[0]
    return "%s; first: %s: %s" % (summary, first["check"], first["reason"])


def node_entry(host, node, findings, marks, check_mode):
    """The report entry of one audited node (the shared node entry shape)."""
    findings = _sorted(findings)
    return _report.node_entry({
        "operation": OPERATION, "node": node, "host": host, "action": _report.AUDITED,
        "reason": node_reason(findings), "check_mode": check_mode, "marks": marks,
        "backups": [], "left_as_is": {},
        "details": {"worst": _audit.worst(findings), "counts": _count(findings), "findings": findings},
    })


def node_inputs(read, unread, control_plane, dns_server=None):
    """The inputs of :func:`_audit.node_findings` for one host from what the audit's node read left, or None when
    it left nothing (the host was not reached).

    ``read``: the result of ``node_audit_facts`` (its parts even when it failed); ``unread``: what the audit
    recorded when the read failed (``node``, ``error``, ``at``), else None.
    """
    read, unread = _dict(read), _dict(unread)
    if not unread and (not read or read.get("unreachable") or read.get("skipped")):
        return None
    answer = dict(_dict(read.get("dns_answer")), server=dns_server)
    return {"runtime": _dict(read.get("runtime_facts")), "certificates": read.get("certificates"),
            "docker_node": _dict(read.get("docker_node")), "nodelocaldns_answer": answer,
            "control_plane": bool(control_plane), "error": unread.get("error")}


def fleet_report(hosts, reads, unread, cluster, control_plane=(), threshold_days=_audit.DEFAULT_THRESHOLD_DAYS,
                 start=None, check_mode=False, dns_server=None, generated_at=None, seconds=None,
                 generated_epoch=None):
    """The run report of a fleet audit from every host's node read, built once for all hosts.

    ``reads`` and ``unread`` are per host of ``hosts`` (see :func:`node_inputs`); ``control_plane`` lists the
    control-plane hosts; ``start`` is when the node reads started (each node's duration runs from there to the
    end of its read). The cluster-wide findings compare the ConfigMap's cgroup driver with the nodes' drivers.
    """
    entries, runtimes = {}, {}
    for host, read, failure in zip(hosts, reads, unread):
        inputs = node_inputs(read, failure, host in (control_plane or ()), dns_server)
        if inputs is None:
            continue
        read, failure = _dict(read), _dict(failure)
        node = read.get("node") or failure.get("node") or host
        marks = {"start": start, "end": read.get("read_at") or failure.get("at")}
        entries[host] = node_entry(host, node, _audit.node_findings(node, inputs, cluster, int(threshold_days)),
                                   marks, bool(check_mode))
        runtimes[node] = inputs["runtime"]
    return audit_report(entries, hosts, _audit.cluster_findings(cluster, runtimes), generated_at, seconds,
                        generated_epoch)


def audit_report(entries, hosts, cluster_findings, generated_at=None, seconds=None, generated_epoch=None):
    """The run report: the shared shape, the audit's lines, severity totals and cluster findings in details."""
    cluster_findings = _sorted(cluster_findings or [])
    report = _report.run_report(OPERATION, entries, hosts, "Fleet audit")
    every = list(cluster_findings)
    for entry in report["nodes"]:
        every.extend(_dict(entry["details"]).get("findings") or [])
    counts = _count(every)
    report["details"] = {
        "generated_at": generated_at,
        "generated_epoch": generated_epoch,
        "seconds": seconds,
        "worst": _audit.worst(every),
        "counts": counts,
        "cluster_findings": cluster_findings,
        "action_items": [f["id"] for f in _sorted(every) if f["severity"] == _audit.ACTION],
    }
    report["lines"] = lines(report)
    return report


def _table(header, rows):
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header) - 1)]
    out = []
    for row in [header] + rows:
        out.append(("  ".join("%-*s" % (widths[i], row[i]) for i in range(len(widths))) + "  " + str(row[-1]))
                   .rstrip())
    return out


def _findings_to_show(report):
    shown = []
    for item in _dict(report.get("details")).get("cluster_findings") or []:
        shown.append(item)
    for entry in report.get("nodes") or []:
        shown.extend(_dict(entry.get("details")).get("findings") or [])
    return [f for f in _sorted(shown) if f["severity"] in (_audit.ACTION, _audit.WARN)]


def lines(report):
    """The readable table: a summary line, a row per node, then every action and warning with its fix."""
    details = _dict(report.get("details"))
    counts = details.get("counts") or {}
    nodes = report.get("nodes") or []
    took = details.get("seconds")
    out = ["Fleet audit: %d node(s)%s: %s" % (
        len(nodes), " in %.1fs" % took if took is not None else "",
        ", ".join("%d %s" % (counts.get(s, 0), s) for s in reversed(_audit.SEVERITIES)))]
    rows = []
    for entry in nodes:
        node_counts = _dict(entry.get("details")).get("counts") or {}
        worst = _dict(entry.get("details")).get("worst") or "-"
        if entry.get("action") != _report.AUDITED:
            worst = entry.get("action")
        rows.append((entry["node"], worst) + tuple(str(node_counts.get(s, 0)) for s in ("action", "warn", "info"))
                    + (entry.get("reason") or "",))
    out += _table(("node", "worst", "action", "warn", "info", "first finding"), rows)
    for item in _findings_to_show(report):
        where = item["node"] or "cluster"
        out.append("[%s] %s %s: %s%s" % (item["severity"].upper(), where, item["check"], item["reason"],
                                         " (due %s)" % item["due"] if item.get("due") and
                                         item["severity"] == _audit.ACTION else ""))
        if item.get("fix"):
            out.append("    fix: %s" % item["fix"])
    return out


def comparable(report):
    """The report without what changes between two runs of an unchanged cluster (times, ages)."""
    def strip(value):
        if isinstance(value, dict):
            return dict((k, strip(v)) for k, v in value.items() if k not in VOLATILE_KEYS)
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    kept = dict(report)
    kept.pop("lines", None)
    stripped = strip(kept)
    # reasons that quote an age or a time taken
    for entry in stripped.get("nodes") or []:
        for item in _dict(entry.get("details")).get("findings") or []:
            if item["check"] in ("node-ready", "nodelocaldns") and item["severity"] == _audit.OK:
                item["reason"] = item["check"] + " ok"
        entry["reason"] = None
    return stripped


# --------------------------------------------------------------------------- renderings

def _escape_html(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def _escape_md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report):
    """A Markdown page: the summary, a table per node, the findings to act on with their fixes."""
    details = _dict(report.get("details"))
    out = ["# Fleet audit", "", "Generated %s; %d node(s); worst severity: **%s**." % (
        details.get("generated_at") or "-", len(report.get("nodes") or []), details.get("worst")), ""]
    out += ["| severity | count |", "|---|---|"]
    out += ["| %s | %d |" % (s, (details.get("counts") or {}).get(s, 0)) for s in reversed(_audit.SEVERITIES)]
    out += ["", "## To do", ""]
    todo = _findings_to_show(report)
    if not todo:
        out.append("Nothing: no finding of severity action or warn.")
    else:
        out += ["| severity | where | check | reason | fix |", "|---|---|---|---|---|"]
        for item in todo:
            out.append("| %s | %s | %s | %s | %s |" % (item["severity"], item["node"] or "cluster", item["check"],
                                                       _escape_md(item["reason"]), _escape_md(item.get("fix") or "")))
    out += ["", "## Every finding", ""]
    out += ["| node | severity | check | reason |", "|---|---|---|---|"]
    for item in details.get("cluster_findings") or []:
        out.append("| cluster | %s | %s | %s |" % (item["severity"], item["check"], _escape_md(item["reason"])))
    for entry in report.get("nodes") or []:
        for item in _dict(entry.get("details")).get("findings") or []:
            out.append("| %s | %s | %s | %s |" % (entry["node"], item["severity"], item["check"],
                                                  _escape_md(item["reason"])))
    return "\n".join(out) + "\n"


SEVERITY_COLOURS = {"action": "#f8d7da", "warn": "#fff3cd", "info": "#e7f1ff", "ok": "#d1e7dd"}


def html(report):
    """A self-contained HTML page of the same content as :func:`markdown` (no script, no external asset)."""
    details = _dict(report.get("details"))
    rows = []
    for item in details.get("cluster_findings") or []:
        rows.append(("cluster", item))
    for entry in report.get("nodes") or []:
        for item in _dict(entry.get("details")).get("findings") or []:
            rows.append((entry["node"], item))
    body = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>Fleet audit</title>",
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;text-align:left;"
            "vertical-align:top}table{border-collapse:collapse}</style></head><body>",
            "<h1>Fleet audit</h1>",
            "<p>Generated %s; %d node(s); worst severity: <strong>%s</strong>.</p>" % (
                _escape_html(details.get("generated_at") or "-"), len(report.get("nodes") or []),
                _escape_html(details.get("worst")))]
    body.append("<p>%s</p>" % ", ".join("%s: %d" % (s, (details.get("counts") or {}).get(s, 0))
                                        for s in reversed(_audit.SEVERITIES)))
    body.append("<table><tr><th>where</th><th>severity</th><th>check</th><th>reason</th><th>fix</th></tr>")
    for where, item in sorted(rows, key=lambda r: (-_audit.RANK[r[1]["severity"]], r[0], r[1]["check"])):
        body.append("<tr style=\"background:%s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            SEVERITY_COLOURS[item["severity"]], _escape_html(where), item["severity"], _escape_html(item["check"]),
            _escape_html(item["reason"]), _escape_html(item.get("fix") or "")))
    body.append("</table></body></html>")
    return "\n".join(body) + "\n"


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _metric(out, name, labels, value):
    text = ",".join('%s="%s"' % (k, _label(v)) for k, v in sorted(labels.items()))
    out.append("%s{%s} %s" % (name, text, value) if text else "%s %s" % (name, value))


def prometheus(report):
    """A node_exporter textfile: findings by severity, certificate seconds left, cgroup driver mismatch."""
    details = _dict(report.get("details"))
    out = []
    out += ["# HELP nodeops_audit_findings Findings of the last nodeops.kubernetes audit, by node and severity.",
            "# TYPE nodeops_audit_findings gauge"]
    for item in ("cluster",):
        counts = _count(details.get("cluster_findings") or [])
        for severity in _audit.SEVERITIES:
            _metric(out, "nodeops_audit_findings", {"node": item, "severity": severity}, counts[severity])
    for entry in report.get("nodes") or []:
        counts = _dict(entry.get("details")).get("counts") or {}
        for severity in _audit.SEVERITIES:
            _metric(out, "nodeops_audit_findings", {"node": entry["node"], "severity": severity},
                    counts.get(severity, 0))
    out += ["# HELP nodeops_audit_certificate_expiry_seconds Seconds until the certificate expires (negative: "
            "expired).", "# TYPE nodeops_audit_certificate_expiry_seconds gauge"]
    certs = []
    mismatch = []
    for entry in report.get("nodes") or []:
        for item in _dict(entry.get("details")).get("findings") or []:
            value = _dict(item.get("value"))
            for cert in value.get("certificates") or []:
                certs.append((entry["node"], cert))
            if item["check"] == "cgroup-driver":
                bad = 1 if item["severity"] == _audit.ACTION else 0
                mismatch.append((entry["node"], bad))
    for node, cert in certs:
        _metric(out, "nodeops_audit_certificate_expiry_seconds", {"node": node, "certificate": cert["name"]},
                cert["residual_seconds"])
    out += ["# HELP nodeops_audit_cgroup_driver_mismatch 1 when the kubelet, the runtime or the kubelet ConfigMap "
            "disagree on the cgroup driver.", "# TYPE nodeops_audit_cgroup_driver_mismatch gauge"]
    for node, bad in mismatch:
        _metric(out, "nodeops_audit_cgroup_driver_mismatch", {"node": node}, bad)
    out += ["# HELP nodeops_audit_last_run_timestamp_seconds When the audit ran (Unix time).",
            "# TYPE nodeops_audit_last_run_timestamp_seconds gauge"]
    _metric(out, "nodeops_audit_last_run_timestamp_seconds", {}, details.get("generated_epoch") or 0)
    return "\n".join(out) + "\n"


RENDERERS = {"markdown": markdown, "html": html, "prometheus": prometheus}


def render(report, fmt):
    """The report rendered as ``fmt`` (markdown, html, prometheus)."""
    if fmt not in RENDERERS:
        raise NodeOpsError("audit report: unknown format %r; use one of %s" % (fmt, ", ".join(sorted(RENDERERS))))
    if not isinstance(report, dict) or report.get("operation") != OPERATION:
        raise NodeOpsError("audit report: the value is not a report made by nodeops.kubernetes.audit_report")
    return RENDERERS[fmt](report)

"""The audit report: the shared report shape, its lines and its renderings."""

import copy
import re

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _audit, _audit_report, _report
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

MARKS = {"start": 100.0, "end": 101.5}


def findings_of(node, cgroup_bad=False, cert_days=200):
    return [
        _audit.finding("node-ready", "ok", "Ready, Lease renewed 3s ago", node, value={"lease_age_seconds": 3.0}),
        _audit.finding("cgroup-driver", "action" if cgroup_bad else "ok",
                       "kubelet cgroupfs, runtime systemd" if cgroup_bad else "kubelet and runtime on systemd", node,
                       fix="ansible-playbook nodeops.kubernetes.migrate_cgroup_driver -e cgroup_driver_hosts=%s" % node
                       if cgroup_bad else None),
        _audit.finding("certificates", "ok", "fine", node,
                       value={"certificates": [{"name": "apiserver", "residual_seconds": cert_days * 86400}]}),
        _audit.finding("nodelocaldns", "info", "NodeLocal DNSCache is not deployed", node),
    ]


def build(cgroup_bad=False):
    entries = {
        "cp1": _audit_report.node_entry("cp1", "cp1", findings_of("cp1"), MARKS, False),
        "w1": _audit_report.node_entry("w1", "w1", findings_of("w1", cgroup_bad=cgroup_bad), MARKS, False),
    }
    cluster = [_audit.finding("kube-proxy-mode", "info", "kube-proxy runs in iptables mode")]
    return _audit_report.audit_report(entries, ["cp1", "w1"], cluster, generated_at="2026-12-01T10:00:00Z",
                                      seconds=4.2, generated_epoch=1796119200)


def test_the_report_has_the_shared_shape_and_audited_nodes():
    report = build()
    assert tuple(sorted(report)) == tuple(sorted(_report.REPORT_KEYS))
    assert [n["action"] for n in report["nodes"]] == ["audited", "audited"]
    assert all(tuple(sorted(n)) == tuple(sorted(_report.NODE_KEYS)) for n in report["nodes"])
    assert report["ok"] is True
    assert report["totals"]["audited"] == 2
    assert report["nodes"][0]["durations"]["total"] == 1.5


def test_check_mode_reports_the_same_action():
    entry = _audit_report.node_entry("w1", "w1", findings_of("w1"), MARKS, True)
    assert entry["action"] == "audited" and entry["check_mode"] is True


def test_severity_totals_and_action_items():
    report = build(cgroup_bad=True)
    details = report["details"]
    assert details["counts"] == {"ok": 5, "info": 3, "warn": 0, "action": 1}
    assert details["worst"] == "action"
    assert details["action_items"] == ["cgroup-driver:node/w1"]
    assert report["nodes"][1]["details"]["worst"] == "action"
    assert report["nodes"][1]["reason"].startswith("1 action, 1 info; first: cgroup-driver:")


def test_lines_show_a_row_per_node_and_each_action_with_its_fix():
    lines = build(cgroup_bad=True)["lines"]
    assert lines[0] == "Fleet audit: 2 node(s) in 4.2s: 1 action, 0 warn, 3 info, 5 ok"
    assert lines[1].split()[:5] == ["node", "worst", "action", "warn", "info"]
    assert lines[2].split()[:2] == ["cp1", "info"]
    assert lines[3].split()[:3] == ["w1", "action", "1"]
    assert lines[4] == "[ACTION] w1 cgroup-driver: kubelet cgroupfs, runtime systemd"
    assert lines[5] == "    fix: ansible-playbook nodeops.kubernetes.migrate_cgroup_driver -e cgroup_driver_hosts=w1"
    assert len(lines) == 6


def test_a_node_not_reached_shows_as_such():
    entries = {"cp1": _audit_report.node_entry("cp1", "cp1", findings_of("cp1"), MARKS, False)}
    report = _audit_report.audit_report(entries, ["cp1", "w9"], [])
    assert report["nodes"][1]["action"] == "not_reached"
    assert report["ok"] is False
    assert report["lines"][3].split()[:2] == ["w9", "not_reached"]


def test_two_runs_compare_equal_without_times_and_ages():
    first = build()
    second = copy.deepcopy(first)
    second["details"]["generated_at"] = "2026-12-08T10:00:00Z"
    second["details"]["seconds"] = 9.9
    second["nodes"][0]["durations"]["total"] = 3.0
    ready = [f for f in second["nodes"][0]["details"]["findings"] if f["check"] == "node-ready"][0]
    ready["value"]["lease_age_seconds"] = 17.0
    ready["reason"] = "Ready, Lease renewed 17s ago"
    assert _audit_report.comparable(first) == _audit_report.comparable(second)
    changed = copy.deepcopy(first)
    [f for f in changed["nodes"][1]["details"]["findings"] if f["check"] == "cgroup-driver"][0]["severity"] = "warn"
    assert _audit_report.comparable(first) != _audit_report.comparable(changed)


def test_markdown_lists_what_to_do():
    text = _audit_report.render(build(cgroup_bad=True), "markdown")
    assert text.startswith("# Fleet audit\n")
    assert "| action | w1 | cgroup-driver | kubelet cgroupfs, runtime systemd | ansible-playbook" in text
    assert "| cluster | info | kube-proxy-mode |" in text


def test_markdown_of_a_clean_fleet_says_nothing_to_do():
    assert "Nothing: no finding of severity action or warn." in _audit_report.render(build(), "markdown")


def test_html_escapes_and_is_self_contained():
    report = build(cgroup_bad=True)
    report["nodes"][1]["details"]["findings"][0]["reason"] = "<script>x</script>"
    text = _audit_report.render(report, "html")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "http" not in text.split("<body>", maxsplit=1)[0].replace("http-equiv", "")


def test_prometheus_textfile_follows_the_exposition_format():
    text = _audit_report.render(build(cgroup_bad=True), "prometheus")
    sample = re.compile(r'^[a-z_:][a-z0-9_:]*(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+]+$')
    names = set()
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            names.add(line.split()[2])
            continue
        assert sample.match(line), line
        assert line.split("{")[0].split(" ")[0] in names
    assert 'nodeops_audit_findings{node="w1",severity="action"} 1' in text
    assert 'nodeops_audit_cgroup_driver_mismatch{node="w1"} 1' in text
    assert 'nodeops_audit_cgroup_driver_mismatch{node="cp1"} 0' in text
    assert 'nodeops_audit_certificate_expiry_seconds{certificate="apiserver",node="cp1"} 17280000' in text
    assert "nodeops_audit_last_run_timestamp_seconds 1796119200" in text


def test_render_refuses_unknown_formats_and_foreign_reports():
    with pytest.raises(NodeOpsError, match="unknown format"):
        _audit_report.render(build(), "pdf")
    with pytest.raises(NodeOpsError, match="not a report made by"):
        _audit_report.render({"operation": "cgroup_driver"}, "markdown")

"""Findings of the Docker dependency scan: the closed set of severities and the findings of one node."""

import json

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import (
    SEVERITIES,
    NodeFindings,
    Severity,
    finding,
    sort_findings,
)


def test_the_severities_are_a_closed_set_ordered_most_severe_first():
    assert [severity.value for severity in Severity] == ["blocking", "warning", "info"]
    assert SEVERITIES == ("blocking", "warning", "info")
    assert [severity.rank for severity in Severity] == [0, 1, 2]


@pytest.mark.parametrize("severity", [Severity.WARNING, "warning"])
def test_a_finding_takes_a_severity_or_its_value_and_holds_the_plain_value(severity):
    item = finding("c", "node/w1", severity, "what", "breaks", "fix", nodes=["w1"])
    assert item["severity"] == "warning" and isinstance(item["severity"], str)
    assert json.loads(json.dumps(item)) == item


@pytest.mark.parametrize("severity", ["fatal", "Blocking", None, 1])
def test_a_severity_outside_the_set_is_refused_by_name(severity):
    with pytest.raises(ValueError, match="unknown severity"):
        finding("c", "node/w1", severity, "", "", "")


def test_findings_sort_by_severity_then_id():
    items = [finding("b", "w", "info", "", "", ""), finding("a", "w", "info", "", "", ""),
             finding("z", "w", Severity.BLOCKING, "", "", "")]
    assert [item["id"] for item in sort_findings(items)] == ["z:w", "a:w", "b:w"]


def test_the_findings_of_a_node_name_the_node_and_keep_the_first_of_one_id():
    found = NodeFindings("w1")
    found.add("daemon-json-data-root", Severity.BLOCKING, "daemon.json", "breaks", "fix")
    found.add("docker-proxy", Severity.INFO, "proxy", "breaks", "fix", suffix="proxy")
    found.add("daemon-json-data-root", Severity.BLOCKING, "ExecStart", "breaks", "fix")
    result = found.result()
    assert [(item["id"], item["what"]) for item in result] == [
        ("daemon-json-data-root:node/w1", "daemon.json"), ("docker-proxy:node/w1:proxy", "proxy")]
    assert all(item["nodes"] == ["w1"] for item in result)
    assert len(found.items) == 3

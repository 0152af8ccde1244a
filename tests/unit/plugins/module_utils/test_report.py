# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the shared report shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nodeops.kubernetes.plugins.filter import report as report_filter
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _report
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def entry(**data):
    values = {"operation": "op", "node": "w1", "host": "h1", "action": "changed", "reason": "done"}
    values.update(data)
    return _report.node_entry(values)


@pytest.mark.parametrize("action, check_mode, expected", [
    ("changed", False, "changed"),
    ("changed", True, "would_change"),
    ("skipped", True, "would_skip"),
    ("refused", True, "would_refuse"),
    ("failed", True, "failed"),
    ("rolled_back", False, "rolled_back"),
    ("not_reached", True, "not_reached"),
])
def test_action_says_what_would_happen_in_check_mode(action, check_mode, expected):
    assert entry(action=action, check_mode=check_mode)["action"] == expected


def test_unknown_action_is_refused_with_the_known_ones():
    with pytest.raises(NodeOpsError) as err:
        entry(action="migrated")
    assert "changed, skipped" in err.value.message


def test_entry_without_operation_is_refused():
    with pytest.raises(NodeOpsError):
        _report.node_entry({"node": "w1", "action": "changed"})


def test_durations_have_every_key_and_none_for_steps_that_did_not_run():
    marks = {"start": 10, "drain_start": 11, "drain_end": 15.5, "end": 20}
    assert _report.durations(marks) == {"drain": 4.5, "change": None, "verify": None, "uncordon": None,
                                        "total": 10.0}


def test_backups_and_left_as_is_are_normalised():
    out = entry(backups={"kubelet": "/a.bak", "runtime": None}, left_as_is={"cordoned": 1, "services_stopped": "kubelet"})
    assert out["backups"] == ["/a.bak"]
    assert out["left_as_is"] == {"cordoned": True, "services_stopped": ["kubelet"]}
    assert entry()["left_as_is"] == {"cordoned": None, "services_stopped": []}


def test_run_report_orders_nodes_counts_actions_and_lists_hosts_not_reached():
    out = _report.run_report("op", {"h2": entry(host="h2", node="w2")}, ["h1", "h2", "h3"])
    assert [n["host"] for n in out["nodes"]] == ["h1", "h2", "h3"]
    assert out["totals"]["not_reached"] == 2 and out["totals"]["changed"] == 1 and out["totals"]["nodes"] == 3
    assert out["ok"] is False


def test_run_report_is_ok_only_when_every_node_changed_or_was_skipped():
    good = _report.run_report("op", {"h1": entry(), "h2": entry(host="h2", action="skipped")})
    assert good["ok"] is True and good["check_mode"] is False
    assert _report.run_report("op", {})["ok"] is False


def test_run_report_refuses_entries_of_another_shape_or_operation():
    with pytest.raises(NodeOpsError):
        _report.run_report("op", {"h1": {"node": "w1", "result": "migrated"}})
    with pytest.raises(NodeOpsError):
        _report.run_report("other", {"h1": entry()})


def test_printed_table_has_a_row_per_node_and_notes_what_was_left():
    out = _report.run_report("op", {"h1": entry(left_as_is={"cordoned": True}, backups=["/b"], check_mode=True)},
                             title="Operation")
    assert out["lines"][0] == "Operation [check mode: nothing changed]: 1 node(s): 1 would change"
    assert out["lines"][1].split()[:7] == ["node", "action", "drain", "change", "verify", "uncordon", "total"]
    assert out["lines"][2].startswith("w1") and "would_change" in out["lines"][2]
    assert out["lines"][3] == "w1: left cordoned; backups: /b"


def test_filters_wrap_the_shared_code_and_raise_filter_errors():
    filters = report_filter.FilterModule().filters()
    assert set(filters) == {"report_entry", "run_report"}
    made = filters["report_entry"]({"operation": "op", "node": "w1", "action": "skipped"})
    assert filters["run_report"]({"w1": made}, "op")["totals"]["skipped"] == 1
    with pytest.raises(Exception) as err:
        filters["report_entry"]({"operation": "op", "action": "bad"})
    assert "unknown action" in str(err.value)

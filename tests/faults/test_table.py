"""The fault table: rows kept as JSON after each row, printed as Markdown."""

import json

from faults import table

COMPLETED = dict(fault="429-apf", fault_description="evictions answered 429 (APF) 3 times", operation="drain w1",
                 outcome="completed", seconds=6.44, drain_seconds=1.6, injected=3, requests=7,
                 requests_by_kind={"get pods": 2, "create pods/eviction": 5}, evicted=2, remaining=0,
                 node_left_cordoned=True, message="", anomalies=[])
FAILED = dict(fault="500-eviction", fault_description="first eviction answered 500", operation="drain w1",
              outcome="failed", seconds=5.5, drain_seconds=0.6, injected=1, requests=3,
              requests_by_kind={"list pods": 2, "create pods/eviction": 1}, evicted=1, remaining=1,
              node_left_cordoned=True, message='drain of node "w1" did not complete: 1 of 2 | pods',
              anomalies=["Python traceback"])


def test_rows_are_written_after_each_row_and_read_back(tmp_path):
    path = str(tmp_path / "sub" / "faults.json")
    recorder = table.Recorder(path)
    recorder.add(COMPLETED)
    with open(path) as handle:
        assert [row["fault"] for row in json.load(handle)["rows"]] == ["429-apf"]
    recorder.add(FAILED)
    rows = table.load(path)["rows"]
    assert [row["fault"] for row in rows] == ["429-apf", "500-eviction"]
    assert all(row["recorded_at"] for row in rows)


def test_the_markdown_table_has_one_line_per_run_with_the_requests_by_kind():
    lines = table.markdown([COMPLETED, FAILED]).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| Fault | Operation | Outcome | Seconds |")
    assert "| completed | 6.4 (drain 1.6) | 3 | 7 (create pods/eviction 5, get pods 2) | 2 / 0 |" in lines[2]
    assert "| failed, node left cordoned; **Python traceback** |" in lines[3]
    assert "1 of 2 \\| pods" in lines[3]  # a | of a message does not break the table


def test_the_script_prints_the_table_of_a_report(tmp_path, capsys):
    path = str(tmp_path / "faults.json")
    table.Recorder(path).add(COMPLETED)
    assert table.main([path]) == 0
    assert "| evictions answered 429 (APF) 3 times |" in capsys.readouterr().out


def test_the_script_says_what_to_run_when_there_is_no_report(tmp_path, capsys):
    assert table.main([str(tmp_path / "missing.json")]) == 1
    assert "run the fault tests first" in capsys.readouterr().err


def test_the_environment_chooses_the_report_path(tmp_path, monkeypatch):
    monkeypatch.setenv("NODEOPS_FAULTS_REPORT", str(tmp_path / "elsewhere.json"))
    assert table.Recorder().path == str(tmp_path / "elsewhere.json")

"""The fault x operation -> outcome table of the fault tests: rows kept as JSON, printed as Markdown.

The lab's fault tests (tests/integration/test_drain_faults_lab.py) add one row per run of an operation
under a fault with :class:`Recorder`, which rewrites the JSON file after each row (an interrupted session
keeps what it measured) and prints the Markdown table at the end of the pytest session. To print the table
of the last run again, for docs/reliability.md:

    .venv/bin/python tests/faults/table.py [.cache/faults/drain-faults.json]
"""

import datetime
import json
import os
import sys

DEFAULT_REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".cache", "faults",
                              "drain-faults.json")
MESSAGE_CHARS = 400


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def _requests(row):
    kinds = sorted((row.get("requests_by_kind") or {}).items(), key=lambda item: (-item[1], item[0]))
    detail = ", ".join("%s %d" % item for item in kinds)
    return "%d (%s)" % (row.get("requests", 0), detail) if detail else str(row.get("requests", 0))


def _outcome(row):
    text = row.get("outcome", "?")
    if row.get("outcome") == "failed" and row.get("node_left_cordoned") is not None:
        text += ", node left %s" % ("cordoned" if row["node_left_cordoned"] else "schedulable")
    for anomaly in row.get("anomalies") or []:
        text += "; **%s**" % anomaly
    return text


def _seconds(row):
    if row.get("seconds") is None:
        return ""
    text = "%.1f" % row["seconds"]
    if row.get("drain_seconds") is not None:
        text += " (drain %.1f)" % row["drain_seconds"]
    return text


def _message(row):
    message = row.get("message") or ""
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS - 3] + "..."
    return message


def markdown(rows):
    """The rows as a Markdown table, one line per (fault, operation)."""
    lines = ["| Fault | Operation | Outcome | Seconds | Faults injected | Requests (by verb and resource) | "
             "Evicted / remaining | Message of the run |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| %s |" % " | ".join(_cell(value) for value in (
            row.get("fault_description") or row.get("fault"), row.get("operation", ""), _outcome(row),
            _seconds(row), row.get("injected", ""),
            _requests(row), "%s / %s" % (row.get("evicted", ""), row.get("remaining", "")), _message(row))))
    return "\n".join(lines)


def load(path=DEFAULT_REPORT):
    with open(path) as handle:
        return json.load(handle)


class Recorder(object):
    """Collects rows into ``path`` (a fresh file per session) and prints them when pytest ends.

    Register it as a plugin (``config.pluginmanager.register(recorder)``) for the terminal summary.
    """

    def __init__(self, path=None):
        self.path = os.path.abspath(path or os.environ.get("NODEOPS_FAULTS_REPORT") or DEFAULT_REPORT)
        self.rows = []
        os.makedirs(os.path.dirname(self.path), exist_ok=True)

    def add(self, row):
        row = dict(row, recorded_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
        self.rows.append(row)
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            json.dump({"rows": self.rows}, handle, indent=2, sort_keys=True)
        os.replace(temporary, self.path)
        return row

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rows:
            return
        terminalreporter.section("fault x operation -> outcome (%s)" % self.path)
        terminalreporter.write_line(markdown(self.rows))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else DEFAULT_REPORT
    try:
        report = load(path)
    except (OSError, ValueError) as exc:
        sys.stderr.write("cannot read the fault report %s: %s (run the fault tests first: "
                         "pytest tests/integration/test_drain_faults_lab.py)\n" % (path, exc))
        return 1
    print(markdown(report["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

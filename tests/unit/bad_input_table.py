#!/usr/bin/env python
"""Print the results of the bad-input suite (tests/unit/bad_input) as Markdown.

    .venv/bin/python tests/unit/bad_input_table.py [REPORT.json]

The report is the file given, else ``$NODEOPS_BAD_INPUT_REPORT``, else ``.cache/bad-input/bad-input.json``
under the repository. The output is a table (one row per case) followed by the message of every case,
wrapped so that no line is longer than 120 characters.
"""

import json
import os
import sys
import textwrap

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_REPORT = os.path.join(REPO_ROOT, ".cache", "bad-input", "bad-input.json")
WIDTH = 120


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(rows):
    lines = ["| Case | Module | Bad input | Outcome |", "|---|---|---|---|"]
    for row in rows:
        lines.append("| `%s` | `%s` | %s | %s |" % (row["case"], row["module"], cell(row["input"]), row["outcome"]))
    return lines


def messages(rows):
    lines = []
    for row in rows:
        text = " ".join((row["message"] or "(no message)").split())
        lines.extend(textwrap.wrap("- `%s`: %s" % (row["case"], text), width=WIDTH, subsequent_indent="  ",
                                   break_long_words=False, break_on_hyphens=False))
    return lines


def render(report):
    rows = report["cases"]
    outcomes = {}
    for row in rows:
        outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + 1
    summary = ", ".join("%d %s" % (count, outcome) for outcome, count in sorted(outcomes.items()))
    lines = ["%d cases: %s." % (len(rows), summary), ""]
    lines.extend(table(rows))
    lines.extend(["", "The message of each case:", ""])
    lines.extend(messages(rows))
    return "\n".join(lines) + "\n"


def main(argv):
    path = argv[1] if len(argv) > 1 else os.environ.get("NODEOPS_BAD_INPUT_REPORT") or DEFAULT_REPORT
    try:
        with open(path) as handle:
            report = json.load(handle)
    except (IOError, OSError, ValueError) as exc:
        sys.stderr.write("cannot read the bad-input report %s: %s; run the suite first "
                         "(.venv/bin/python -m pytest tests/unit/bad_input)\n" % (path, exc))
        return 1
    sys.stdout.write(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

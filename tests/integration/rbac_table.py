"""Print the rows of the drain's RBAC tests (test_rbac_lab.py) as the Markdown table of docs/reliability.md.

    python tests/integration/rbac_table.py [.cache/rbac/drain-rbac.json]
"""

import json
import os
import re
import sys

DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".cache", "rbac", "drain-rbac.json")


# What the API server's refusal says, inside the drain's message.
REFUSAL = re.compile(r'cannot \S+ resource "[^"]+" in API group "[^"]*"(?: in the namespace "[^"]+"| at the cluster scope)')


def table(rows):
    lines = ["| Rule left out | Outcome | Failed step | Refusal named in the message | Node left cordoned |",
             "|---|---|---|---|---|"]
    for row in rows:
        found = REFUSAL.search(row["message"])
        refusal = found.group(0) if found else ("-" if not row["message"] else "(none: " + row["message"][:80] + ")")
        refusal = re.sub(r'in the namespace "drain-[^"]+"', "in the namespace of the pods", refusal)
        cells = (row["missing"], row["outcome"], row["step"] or "-", refusal.replace("|", "\\|"),
                 "yes" if row["left_cordoned"] else "no")
        lines.append("| %s | %s | %s | %s | %s |" % cells)
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NODEOPS_RBAC_REPORT") or DEFAULT) as report:
        print(table(json.load(report)))

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one report shape of every operation of the collection.

Every rolling operation (cgroup driver migration, containerd switch, node
maintenance, and the ones to come) records one entry per node with
:func:`node_entry` and ends with :func:`run_report`. The filters
``nodeops.kubernetes.report_entry`` and ``nodeops.kubernetes.run_report`` are
thin wrappers, so the shape cannot differ between operations.

A node entry::

    {"operation": "cgroup_driver", "node": "worker-1", "host": "worker-1",
     "action": "changed",            # see ACTIONS; would_* in check mode
     "reason": "why, in one sentence",
     "check_mode": False,
     "durations": {"drain": 12.5, "change": 8.1, "verify": 20.0, "uncordon": 0.4, "total": 43.2},
     "backups": ["/var/lib/kubelet/config.yaml.1234.2026-11-30@10:00:00~"],
     "left_as_is": {"cordoned": False, "services_stopped": []},
     "details": {...}}               # what only this operation knows

Durations are seconds between the controller timestamps ("marks") taken at the
start and end of each step; a step that did not run is ``None``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

CHANGED = "changed"
SKIPPED = "skipped"
REFUSED = "refused"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
NOT_REACHED = "not_reached"
# A read-only operation (the audit) looked at the node and changed nothing, in check mode or not.
AUDITED = "audited"
ACTIONS = (CHANGED, SKIPPED, REFUSED, FAILED, ROLLED_BACK, NOT_REACHED, AUDITED)

# In check mode nothing happens: the entry says what would happen.
CHECK_MODE_ACTIONS = {CHANGED: "would_change", SKIPPED: "would_skip", REFUSED: "would_refuse"}
ALL_ACTIONS = ACTIONS + tuple(CHECK_MODE_ACTIONS.values())
# Actions after which a run is not a success.
BAD_ACTIONS = (REFUSED, FAILED, ROLLED_BACK, NOT_REACHED, CHECK_MODE_ACTIONS[REFUSED])

# (key, start mark, end mark) of each duration.
DURATION_STEPS = (
    ("drain", "drain_start", "drain_end"),
    ("change", "change_start", "change_end"),
    ("verify", "change_end", "verify_end"),
    ("uncordon", "uncordon_start", "uncordon_end"),
    ("total", "start", "end"),
)
DURATION_KEYS = tuple(step[0] for step in DURATION_STEPS)

NODE_KEYS = ("operation", "node", "host", "action", "reason", "check_mode", "durations", "backups",
             "left_as_is", "details")
LEFT_AS_IS_KEYS = ("cordoned", "services_stopped")
REPORT_KEYS = ("operation", "check_mode", "ok", "totals", "nodes", "lines", "details")


def _dict(value):
    return value if isinstance(value, dict) else {}


def _seconds(marks, start, end):
    if marks.get(start) is None or marks.get(end) is None:
        return None
    try:
        return round(max(float(marks[end]) - float(marks[start]), 0.0), 2)
    except (TypeError, ValueError):
        return None


def durations(marks):
    """Seconds of each step (DURATION_KEYS) from the step marks; ``None`` for a step that did not run."""
    marks = _dict(marks)
    return dict((key, _seconds(marks, start, end)) for key, start, end in DURATION_STEPS)


def _backups(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, str):
        value = [value]
    return [str(path) for path in value or [] if path]


def _left_as_is(value):
    value = _dict(value)
    cordoned = value.get("cordoned")
    stopped = value.get("services_stopped") or []
    if isinstance(stopped, str):
        stopped = [stopped]
    return {"cordoned": None if cordoned is None else bool(cordoned), "services_stopped": sorted(set(stopped))}


def action_of(action, check_mode):
    """The reported action: ``would_*`` in check mode for what would happen."""
    if action not in ACTIONS:
        raise NodeOpsError("report entry: unknown action %r; use one of %s" % (action, ", ".join(ACTIONS)))
    return CHECK_MODE_ACTIONS.get(action, action) if check_mode else action


def node_entry(data):
    """One node's report entry.

    ``data`` keys: operation, node, host, action (one of ACTIONS, given as if not in
    check mode), reason, check_mode, marks (step timestamps, see DURATION_STEPS),
    backups (paths, a list or a dict of paths), left_as_is (cordoned, services_stopped),
    details (anything the operation adds).
    """
    data = _dict(data)
    if not data.get("operation"):
        raise NodeOpsError("report entry: operation is missing")
    check_mode = bool(data.get("check_mode"))
    node = data.get("node") or data.get("host")
    return {
        "operation": data["operation"],
        "node": node,
        "host": data.get("host") or node,
        "action": action_of(data.get("action"), check_mode),
        "reason": " ".join(str(data.get("reason") or "").split()),
        "check_mode": check_mode,
        "durations": durations(data.get("marks")),
        "backups": _backups(data.get("backups")),
        "left_as_is": _left_as_is(data.get("left_as_is")),
        "details": _dict(data.get("details")),
    }


def not_reached(operation, host):
    """The entry of a node the run stopped before."""
    return node_entry({"operation": operation, "node": host, "host": host, "action": NOT_REACHED,
                       "reason": "not reached: the run stopped before this node", "left_as_is": {}})


def _fmt_seconds(value):
    return "-" if value is None else "%.1fs" % value


def _table(nodes):
    header = ("node", "action", "drain", "change", "verify", "uncordon", "total", "reason")
    rows = [header]
    for entry in nodes:
        dur = entry["durations"]
        rows.append((entry["node"], entry["action"]) + tuple(_fmt_seconds(dur.get(k)) for k in DURATION_KEYS)
                    + (entry["reason"],))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = ["%-*s" % (widths[i], row[i]) if i < 2 else "%*s" % (widths[i], row[i]) for i in range(len(widths))]
        lines.append(("  ".join(cells) + "  " + str(row[-1])).rstrip())
    return lines


def run_report(operation, entries, hosts=None, title=None, details=None):
    """The report of a run: totals, the node entries in run order, and readable lines.

    ``entries`` maps inventory hosts to node entries (made by :func:`node_entry`); a host listed in
    ``hosts`` without an entry is reported as not reached. ``details`` holds what only this operation
    reports for the run as a whole (the audit's cluster-wide findings); ``{}`` when it has nothing.
    """
    entries = dict((h, e) for h, e in _dict(entries).items() if isinstance(e, dict) and e)
    order = list(hosts or []) or sorted(entries)
    order += [h for h in sorted(entries) if h not in order]
    nodes = []
    for host in order:
        entry = entries.get(host)
        if entry is None:
            entry = not_reached(operation, host)
        elif entry.get("operation") != operation or set(entry) != set(NODE_KEYS):
            raise NodeOpsError("report of %s: the entry of host %s is not a %s node entry made by report_entry"
                               % (operation, host, operation))
        nodes.append(entry)
    totals = dict((action, 0) for action in ALL_ACTIONS)
    for entry in nodes:
        totals[entry["action"]] += 1
    totals["nodes"] = len(nodes)
    check_mode = any(entry["check_mode"] for entry in nodes)
    ok = bool(nodes) and not any(totals[action] for action in BAD_ACTIONS)

    summary = ", ".join("%d %s" % (totals[a], a.replace("_", " ")) for a in ALL_ACTIONS if totals[a]) or "no node"
    lines = ["%s%s: %d node(s): %s" % (title or operation.replace("_", " "),
                                       " [check mode: nothing changed]" if check_mode else "", len(nodes), summary)]
    lines += _table(nodes)
    for entry in nodes:
        left = entry["left_as_is"]
        notes = []
        if left["cordoned"]:
            notes.append("left cordoned")
        if left["services_stopped"]:
            notes.append("services left stopped: %s" % ", ".join(left["services_stopped"]))
        if entry["backups"]:
            notes.append("backups: %s" % ", ".join(entry["backups"]))
        if notes:
            lines.append("%s: %s" % (entry["node"], "; ".join(notes)))
    return {"operation": operation, "check_mode": check_mode, "ok": ok, "totals": totals, "nodes": nodes,
            "lines": lines, "details": _dict(details)}

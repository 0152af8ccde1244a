# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions and the run report of the cgroup driver migration (cgroupfs to systemd).

Plain functions over plain data, used by the filters in
``plugins/filter/cgroup_report.py`` and tested without Ansible:

* :func:`drivers` condenses ``node_runtime_facts`` into the few values the
  report shows (kubelet driver, runtime, runtime driver, cgroup version).
* :func:`node_status` reads the Ready condition and the cordon of a Node.
* :func:`plan` decides, per node, ``skip``, ``migrate`` or ``refuse`` from a
  chain of small checks; every refusal names the cause and the fix.
* :func:`durations` turns the timestamps taken during a node's migration into
  the time spent in each step.
* :func:`node_entry` builds one node's report entry and :func:`summary` the
  whole run's report with readable lines.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SUPPORTED_RUNTIMES = ("containerd", "docker")

# Results of one node.
SKIPPED = "skipped"
MIGRATED = "migrated"
WOULD_MIGRATE = "would_migrate"
ROLLED_BACK = "rolled_back"
FAILED = "failed"
REFUSED = "refused"
NOT_REACHED = "not_reached"
RESULTS = (MIGRATED, WOULD_MIGRATE, SKIPPED, ROLLED_BACK, FAILED, REFUSED, NOT_REACHED)

# (name, from mark, to mark): the steps of one node, timed on the controller.
DURATION_STEPS = (
    ("preflight", "start", "drain_start"),
    ("drain", "drain_start", "drain_done"),
    ("stop_services", "stop_start", "runtime_stopped"),
    ("configure", "runtime_stopped", "configured"),
    ("runtime_start", "configured", "runtime_started"),
    ("runtime_wait", "runtime_started", "runtime_ready"),
    ("kubelet_start", "runtime_ready", "kubelet_started"),
    ("healthz_wait", "kubelet_started", "kubelet_healthy"),
    ("ready_wait", "kubelet_healthy", "node_ready"),
    ("uncordon", "node_ready", "uncordoned"),
    ("kubelet_down", "stop_start", "kubelet_healthy"),
    ("rollback", "rollback_start", "rollback_end"),
    ("total", "start", "end"),
)
RESTART_STEPS = ("stop_services", "runtime_start", "kubelet_start")
WAIT_STEPS = ("runtime_wait", "healthz_wait", "ready_wait")


def _dict(value):
    return value if isinstance(value, dict) else {}


def runtime_driver(facts):
    """Cgroup driver of the container runtime in use: systemd, cgroupfs, mixed or None (unknown)."""
    facts = _dict(facts)
    runtime = facts.get("container_runtime")
    if runtime == "containerd":
        values = _dict(_dict(facts.get("containerd")).get("systemd_cgroup"))
        if not values:
            return None
        flags = set(bool(v) for v in values.values())
        if flags == set([True]):
            return "systemd"
        if flags == set([False]):
            return "cgroupfs"
        return "mixed"
    if runtime == "docker":
        return _dict(facts.get("docker")).get("cgroup_driver")
    return None


def drivers(facts):
    """The values of ``node_runtime_facts`` that the report shows."""
    facts = _dict(facts)
    if not facts:
        return {}
    kubelet = _dict(facts.get("kubelet"))
    return {
        "kubelet": kubelet.get("cgroup_driver_effective"),
        "runtime": facts.get("container_runtime"),
        "runtime_driver": runtime_driver(facts),
        "cgroup_version": facts.get("cgroup_version"),
        "consistent_on_systemd": bool(facts.get("consistent_on_systemd")),
    }


def node_status(node):
    """Ready condition, its last heartbeat and the cordon of a Node object (a dict, or None)."""
    node = _dict(node)
    if not node:
        return {"exists": False, "ready": False, "ready_status": None, "heartbeat": None,
                "reason": "the Node object does not exist", "unschedulable": None}
    status = {"exists": True, "ready": False, "ready_status": None, "heartbeat": None,
              "reason": "no Ready condition reported",
              "unschedulable": bool(_dict(node.get("spec")).get("unschedulable"))}
    for condition in _dict(node.get("status")).get("conditions") or []:
        if _dict(condition).get("type") == "Ready":
            status["ready_status"] = condition.get("status")
            status["ready"] = condition.get("status") == "True"
            status["heartbeat"] = condition.get("lastHeartbeatTime")
            status["reason"] = "%s: %s" % (condition.get("reason"), condition.get("message"))
    return status


def fresh_ready(node, stale_heartbeat):
    """True when the Node is Ready and its heartbeat differs from the one seen while the kubelet was down.

    A Ready condition alone can be stale: after a short kubelet stop the node
    controller has not marked the Node NotReady yet. A new heartbeat proves
    that the restarted kubelet posted its status.
    """
    status = node_status(node)
    return bool(status["ready"] and status["heartbeat"] and status["heartbeat"] != stale_heartbeat)


# --------------------------------------------------------------------------- plan

def _check_facts(facts, node, options):
    if not facts:
        return ["the runtime facts of the node could not be read"]
    return []


def _check_kubelet_config(facts, node, options):
    kubelet = _dict(facts.get("kubelet"))
    path = kubelet.get("config_path") or "the kubelet configuration file"
    if kubelet.get("config_error"):
        return ["%s cannot be used (%s); fix the file first" % (path, kubelet["config_error"])]
    if not kubelet.get("config_present"):
        return ["%s does not exist; this role migrates kubeadm nodes whose kubelet reads a configuration file"
                % path]
    return []


def _check_runtime(facts, node, options):
    runtime = facts.get("container_runtime")
    if runtime not in SUPPORTED_RUNTIMES:
        return ["container runtime %s is not supported (supported: containerd, Docker with cri-dockerd or "
                "dockershim); change its cgroup driver by hand" % (runtime or "unknown")]
    section = _dict(facts.get(runtime))
    if not section.get("available"):
        return ["%s does not answer on the node (%s); it must run before the migration"
                % (runtime, section.get("error") or "not available")]
    if section.get("error"):
        return ["%s could not be inspected: %s" % (runtime, section["error"])]
    if runtime_driver(facts) is None:
        return ["the cgroup driver of %s could not be determined" % runtime]
    return []


def _check_services(facts, node, options):
    services = _dict(facts.get("services"))
    problems = []
    for name in ("kubelet", facts.get("container_runtime")):
        state = _dict(services.get(name))
        if state.get("active") != "active":
            problems.append("service %s is %s, not active; the node must run normally before the migration "
                            "(after an interrupted run, check the node and start it)"
                            % (name, state.get("active") or "unknown"))
    return problems


def _check_kubelet_flag(facts, node, options):
    kubelet = _dict(facts.get("kubelet"))
    flag = kubelet.get("cgroup_driver_flag")
    if flag and flag != "systemd":
        return ["the kubelet flag --cgroup-driver=%s in %s overrides the configuration file; remove the flag "
                "first" % (flag, ", ".join(kubelet.get("flags_files") or []) or "its flags files")]
    return []


def _check_node(facts, node, options):
    status = node_status(node)
    if not status["exists"]:
        return ["Node %s does not exist in the API; check cgroup_driver_node / kube_node_name"
                % options.get("node")]
    if options.get("require_ready", True) and not status["ready"]:
        return ["Node %s is not Ready (%s); fix it first or set cgroup_driver_require_ready: false"
                % (options.get("node"), status["reason"])]
    return []


COMMON_CHECKS = (_check_facts, _check_kubelet_config, _check_runtime)
MIGRATE_CHECKS = (_check_kubelet_flag, _check_services, _check_node)


def plan(facts, node=None, node_name=None, require_ready=True):
    """Decide what to do with one node.

    Returns ``{'action': 'skip'|'migrate'|'refuse', 'reasons': [...], 'notes': [...],
    'drivers': {...}, 'cordoned_before': bool}``. Nodes consistent on systemd
    are skipped (no drain) when their kubelet and runtime run; everything else
    must pass every check before anything is changed.
    """
    facts = _dict(facts)
    options = {"node": node_name, "require_ready": require_ready}
    status = node_status(node)
    result = {"action": "migrate", "reasons": [], "notes": [], "drivers": drivers(facts),
              "cordoned_before": bool(status["unschedulable"]), "runtime": facts.get("container_runtime")}
    for check in COMMON_CHECKS:
        result["reasons"].extend(check(facts, node, options))
        if result["reasons"]:
            result["action"] = "refuse"
            return result
    if facts.get("consistent_on_systemd"):
        result["reasons"].extend(_check_services(facts, node, options))
        if result["reasons"]:
            result["action"] = "refuse"
            return result
        result["action"] = "skip"
        result["notes"].append("kubelet and %s already use the systemd cgroup driver" % facts["container_runtime"])
        if status["unschedulable"]:
            result["notes"].append("Node %s is cordoned; it is left as it is" % node_name)
        return result
    for check in MIGRATE_CHECKS:
        result["reasons"].extend(check(facts, node, options))
    if result["reasons"]:
        result["action"] = "refuse"
        return result
    if status["unschedulable"]:
        result["notes"].append("Node %s was cordoned before the run; it stays cordoned afterwards" % node_name)
    return result


# --------------------------------------------------------------------------- rollback

def _failed(result):
    result = _dict(result)
    return bool(result.get("failed")) or (result.get("rc") not in (None, 0))


def _loop_results(result):
    return [r for r in _dict(result).get("results") or [] if isinstance(r, dict)]


def rollback_outcome(steps):
    """Judge a rollback from the registered results of its steps.

    ``steps`` keys: runtime, restores (loop result of the copies), removals
    (loop result of the removals), start_runtime (loop result), runtime_answer,
    start_kubelet, healthz, node (k8s_info result of the Ready wait), stale_heartbeat.
    Returns files_restored, backups, healthy, problems and uncordoned (false).
    """
    steps = _dict(steps)
    problems = []
    restored = []
    backups = []
    for item in _loop_results(steps.get("restores")):
        target = _dict(item.get("item"))
        if item.get("failed") or item.get("skipped"):
            problems.append("could not restore %s from %s: %s"
                            % (target.get("path"), target.get("backup_file"), item.get("msg") or "skipped"))
        else:
            restored.append(target.get("path"))
            backups.append(target.get("backup_file"))
    for item in _loop_results(steps.get("removals")):
        target = _dict(item.get("item"))
        if item.get("failed") or item.get("skipped"):
            problems.append("could not remove %s: %s" % (target.get("path"), item.get("msg") or "skipped"))
        else:
            restored.append(target.get("path"))
    for item in _loop_results(steps.get("start_runtime")):
        if item.get("failed") or item.get("msg"):
            problems.append("could not start %s: %s" % (item.get("item"), item.get("msg")))
    runtime = steps.get("runtime") or "the runtime"
    if _failed(steps.get("runtime_answer")):
        problems.append("%s does not answer" % runtime)
    start_kubelet = _dict(steps.get("start_kubelet"))
    if start_kubelet.get("failed") or start_kubelet.get("msg"):
        problems.append("could not start kubelet: %s" % start_kubelet.get("msg"))
    healthz = _dict(steps.get("healthz"))
    if healthz.get("failed") or healthz.get("status") != 200:
        problems.append("kubelet health check does not answer 200 (last: %s)"
                        % (healthz.get("status") or healthz.get("msg") or "no answer"))
    node_result = _dict(steps.get("node"))
    resources = node_result.get("resources") or []
    node = resources[0] if resources else None
    if not fresh_ready(node, steps.get("stale_heartbeat")):
        problems.append("Node is not Ready with a fresh heartbeat (%s)" % node_status(node)["reason"])
    return {"files_restored": restored, "backups": backups, "healthy": not problems,
            "problems": problems, "uncordoned": False}


# --------------------------------------------------------------------------- report

def durations(marks):
    """Seconds between the marks of each step (only the steps whose two marks exist), rounded to 0.01 s."""
    marks = _dict(marks)
    out = {}
    for name, start, end in DURATION_STEPS:
        if marks.get(start) is not None and marks.get(end) is not None:
            out[name] = round(float(marks[end]) - float(marks[start]), 2)
    restarts = [out[s] for s in RESTART_STEPS if s in out]
    waits = [out[s] for s in WAIT_STEPS if s in out]
    if restarts:
        out["restarts"] = round(sum(restarts), 2)
    if waits:
        out["waits"] = round(sum(waits), 2)
    return out


def _pod_names(pods):
    return ["%s/%s" % (p.get("namespace"), p.get("name")) for p in pods or [] if isinstance(p, dict)]


def _drain_summary(result):
    result = _dict(result)
    if not result:
        return None
    return {
        "evicted": _pod_names(result.get("evicted")) + _pod_names(result.get("deleted")),
        "evicted_uids": [p.get("uid") for p in (result.get("evicted") or []) + (result.get("deleted") or [])
                         if isinstance(p, dict) and p.get("uid")],
        "skipped_pods": len(result.get("skipped_pods") or []),
        "node_left_cordoned": result.get("node_left_cordoned"),
        "durations": result.get("durations"),
        "check_mode": bool(result.get("check_mode", False)),
    }


def _backup(edit):
    edit = _dict(edit)
    return edit.get("backup_file")


def node_entry(data):
    """One node's report entry from the values the role collected.

    ``data`` keys: node, host, result, message, check_mode, plan, facts_before,
    facts_after, marks, drain_result, kubelet_edit, runtime_edit, rollback,
    uncordoned, failed_step.
    """
    data = _dict(data)
    result = data.get("result")
    if result not in RESULTS:
        result = FAILED
    plan_ = _dict(data.get("plan"))
    entry = {
        "node": data.get("node"),
        "host": data.get("host"),
        "result": result,
        "message": data.get("message") or "",
        "check_mode": bool(data.get("check_mode")),
        "before": drivers(data.get("facts_before")) or plan_.get("drivers") or {},
        "after": drivers(data.get("facts_after")),
        "durations": durations(data.get("marks")),
        "drain": _drain_summary(data.get("drain_result")),
        "backups": dict((key, path) for key, path in (
            ("kubelet_config", _backup(data.get("kubelet_edit"))),
            ("runtime_config", _backup(data.get("runtime_edit")))) if path),
        "cordoned_before": plan_.get("cordoned_before"),
        "uncordoned": data.get("uncordoned"),
        "notes": list(plan_.get("notes") or []),
        "reasons": list(plan_.get("reasons") or []),
    }
    if data.get("failed_step"):
        entry["failed_step"] = data["failed_step"]
    if data.get("rollback"):
        entry["rollback"] = data["rollback"]
    marks = _dict(data.get("marks"))
    if marks:
        entry["marks"] = dict((k, round(float(v), 3)) for k, v in marks.items() if v is not None)
    return entry


def _fmt_seconds(value):
    return "-" if value is None else "%.1fs" % value


def _fmt_change(before, after, key):
    old = _dict(before).get(key) or "?"
    new = _dict(after).get(key)
    if not new or new == old:
        return old
    return "%s -> %s" % (old, new)


def summary(entries, hosts=None, title="cgroup driver migration (cgroupfs -> systemd)"):
    """The run's report: counts per result, entries in host order, nodes not reached, readable lines.

    ``entries`` maps host names to report entries (hosts without an entry are
    reported as not reached when listed in ``hosts``).
    """
    entries = dict((h, e) for h, e in _dict(entries).items() if isinstance(e, dict) and e)
    order = list(hosts or []) or sorted(entries)
    order += [h for h in sorted(entries) if h not in order]
    nodes = []
    for host in order:
        entry = entries.get(host)
        if entry is None:
            entry = {"node": host, "host": host, "result": NOT_REACHED, "message": "not reached in this run",
                     "before": {}, "after": {}, "durations": {}}
        nodes.append(entry)
    counts = dict((r, 0) for r in RESULTS)
    for entry in nodes:
        counts[entry.get("result", FAILED)] = counts.get(entry.get("result", FAILED), 0) + 1
    ok = not any(counts[r] for r in (ROLLED_BACK, FAILED, REFUSED))
    check_mode = any(e.get("check_mode") for e in nodes)

    lines = ["%s%s: %d node(s): %s" % (
        title, " [check mode: nothing changed]" if check_mode else "", len(nodes),
        ", ".join("%d %s" % (counts[r], r.replace("_", " ")) for r in RESULTS if counts[r]) or "none")]
    header = "%-16s %-14s %-22s %-34s %8s %9s %8s %8s" % (
        "node", "result", "kubelet driver", "runtime driver", "drain", "restarts", "waits", "total")
    lines.append(header)
    for e in nodes:
        before, after, dur = _dict(e.get("before")), _dict(e.get("after")), _dict(e.get("durations"))
        runtime = before.get("runtime") or after.get("runtime") or "?"
        lines.append("%-16s %-14s %-22s %-34s %8s %9s %8s %8s" % (
            e.get("node"), e.get("result"), _fmt_change(before, after, "kubelet"),
            "%s %s" % (runtime, _fmt_change(before, after, "runtime_driver")),
            _fmt_seconds(dur.get("drain")), _fmt_seconds(dur.get("restarts")),
            _fmt_seconds(dur.get("waits")), _fmt_seconds(dur.get("total"))))
        if e.get("message") and e.get("result") != SKIPPED:
            lines.append("  %s" % e["message"])
        for note in e.get("notes") or []:
            lines.append("  note: %s" % note)
        rollback = _dict(e.get("rollback"))
        if rollback:
            lines.append("  rollback: files restored: %s; healthy again: %s; uncordoned: %s" % (
                ", ".join(rollback.get("files_restored") or []) or "none",
                rollback.get("healthy"), rollback.get("uncordoned")))
    return {"ok": ok, "check_mode": check_mode, "counts": counts, "nodes": nodes, "lines": lines}

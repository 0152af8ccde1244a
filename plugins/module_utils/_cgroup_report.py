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
  chain of small checks; every refusal names the cause and the fix. A node
  with a progress record of an interrupted run is migrated again (resumed).
* :func:`progress` is the progress record kept on the node during its
  migration, after each step.
* :func:`durations` turns the timestamps taken during a node's migration into
  the time spent in each of its own steps.
* :func:`node_entry` builds one node's report entry in the shape every
  operation shares (``_report.py``); the run report is ``_report.run_report``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_status, _progress, _report

OPERATION = "cgroup_driver"
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
# The action of the shared report for each result (would_* in check mode is added there).
RESULT_ACTIONS = {MIGRATED: _report.CHANGED, WOULD_MIGRATE: _report.CHANGED, SKIPPED: _report.SKIPPED,
                  ROLLED_BACK: _report.ROLLED_BACK, FAILED: _report.FAILED, REFUSED: _report.REFUSED,
                  NOT_REACHED: _report.NOT_REACHED}

# (name, from mark, to mark): the steps of one node, timed on the controller.
DURATION_STEPS = (
    ("preflight", "start", "drain_start"),
    ("drain", "drain_start", "drain_end"),
    ("stop_services", "change_start", "runtime_stopped"),
    ("configure", "runtime_stopped", "configured"),
    ("runtime_start", "configured", "runtime_started"),
    ("runtime_wait", "runtime_started", "runtime_ready"),
    ("kubelet_start", "runtime_ready", "change_end"),
    ("healthz_wait", "change_end", "kubelet_healthy"),
    ("ready_wait", "kubelet_healthy", "verify_end"),
    ("uncordon", "uncordon_start", "uncordon_end"),
    ("kubelet_down", "change_start", "kubelet_healthy"),
    ("rollback", "rollback_start", "rollback_end"),
    ("total", "start", "end"),
)
RESTART_STEPS = ("stop_services", "runtime_start", "kubelet_start")

# The steps of a progress record of a migration, in order. The migration notes started (before the drain),
# drained (before it stops the services) and kubelet_configured (once the runtime's and the kubelet's files are
# on systemd, with both backups); rollback_failed is noted when a rollback did not prove the node healthy (the
# record stays, so that the next run resumes the node). services_stopped, runtime_configured, services_started and
# verified are steps that earlier releases of the collection noted too; their records are still resumed.
PROGRESS_STARTED = _progress.STARTED
PROGRESS_STEPS = (PROGRESS_STARTED, "drained", "services_stopped", "runtime_configured", "kubelet_configured",
                  "services_started", "verified", "rollback_failed")
# The edits whose backups the record keeps, by the step that notes them. A run killed between an edit and its
# note leaves a backup the record does not know; the next run finds it by its name and time (adopt_backups).
PROGRESS_EDITS = {"runtime_configured": ("runtime",), "kubelet_configured": ("runtime", "kubelet")}
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
    """Ready condition, its last heartbeat, the cordon and the runtime of a Node object (a dict, or None)."""
    return _node_status.summarize(node)


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


def _has_record(facts):
    """Whether the node holds a progress record (or a file in its place that cannot be read)."""
    return _progress.has_record(facts.get("progress_record"))


RECORD_FIX = ("check the node by hand (the drivers in its files, kubelet and the runtime running, its cordon), "
              "finish or undo the interrupted change, then remove %s")


def _check_record(facts, node, options):
    """A record of an interrupted migration is resumed; anything else at its path stops the run."""
    return _progress.check_record(facts.get("progress_record"), OPERATION, "the cgroup driver migration",
                                  PROGRESS_STEPS, RECORD_FIX)


def _check_runtime_resumed(facts, node, options):
    """The runtime checks, except for a runtime the interrupted run stopped (Docker does not answer then)."""
    runtime = facts.get("container_runtime")
    stopped = _dict(_dict(facts.get("services")).get(runtime)).get("active") != "active"
    if runtime in SUPPORTED_RUNTIMES and stopped:
        return []
    return _check_runtime(facts, node, options)


def _check_node_exists(facts, node, options):
    if not node_status(node)["exists"]:
        return ["Node %s does not exist in the API; check cgroup_driver_node / kube_node_name"
                % options.get("node")]
    return []


# A resumed node: its services may be stopped and its Node NotReady (the interrupted run did that);
# the migration starts and verifies them again.
RESUME_CHECKS = (_check_runtime_resumed, _check_kubelet_flag, _check_node_exists)


def _refused(result, checks, facts, node, options, first_only=True):
    """Run ``checks`` into ``result["reasons"]`` (stopping at the first that finds something when ``first_only``);
    mark the result refused and return True when any did."""
    for check in checks:
        result["reasons"].extend(check(facts, node, options))
        if first_only and result["reasons"]:
            break
    if result["reasons"]:
        result["action"] = "refuse"
        return True
    return False


def _resume(facts, node, options, result):
    """The plan of a node that holds a progress record: migrate it again, or refuse an unusable record."""
    if (_refused(result, (_check_facts, _check_record, _check_kubelet_config), facts, node, options)
            or _refused(result, RESUME_CHECKS, facts, node, options, first_only=False)):
        return result
    read = _dict(facts.get("progress_record"))
    record = read["record"]
    result["cordoned_before"] = record["cordoned_before"]
    result["resume"] = _progress.summary(read)
    step, at = result["resume"]["step"], result["resume"]["at"]
    result["notes"].append("resuming an interrupted migration (step %s reached at %s)" % (step, at))
    if record["cordoned_before"]:
        result["notes"].append("Node %s was cordoned before the interrupted run; it stays cordoned afterwards"
                               % options.get("node"))
    return result


def plan(facts, node=None, node_name=None, require_ready=True):
    """Decide what to do with one node.

    Returns ``{'action': 'skip'|'migrate'|'refuse', 'reasons': [...], 'notes': [...],
    'drivers': {...}, 'cordoned_before': bool}``. Nodes consistent on systemd
    are skipped (no drain) when their kubelet and runtime run; everything else
    must pass every check before anything is changed.

    A node whose facts hold a progress record (``progress_record`` of ``node_runtime_facts``) was left
    by an interrupted run: it is migrated again whatever its files say, with its services allowed to be
    stopped, its Node allowed to be NotReady, and ``cordoned_before`` taken from the record (the run that
    was interrupted cordoned it). ``resume`` then holds the record's step, its time and its backups; an
    unusable record, or one of another operation, is refused with the file, the cause and the fix.
    """
    facts = _dict(facts)
    options = {"node": node_name, "require_ready": require_ready}
    status = node_status(node)
    result = {"action": "migrate", "reasons": [], "notes": [], "drivers": drivers(facts),
              "cordoned_before": bool(status["unschedulable"]), "runtime": facts.get("container_runtime"),
              "resume": None}
    if _has_record(facts):
        return _resume(facts, node, options, result)
    if _refused(result, COMMON_CHECKS, facts, node, options):
        return result
    if facts.get("consistent_on_systemd"):
        if _refused(result, (_check_services,), facts, node, options):
            return result
        result["action"] = "skip"
        result["notes"].append("kubelet and %s already use the systemd cgroup driver" % facts["container_runtime"])
        if status["unschedulable"]:
            result["notes"].append("Node %s is cordoned; it is left as it is" % node_name)
        return result
    if _refused(result, MIGRATE_CHECKS, facts, node, options, first_only=False):
        return result
    if status["unschedulable"]:
        result["notes"].append("Node %s was cordoned before the run; it stays cordoned afterwards" % node_name)
    return result


# --------------------------------------------------------------------------- progress record

adopt_backups = _progress.adopt_backups
progress_backups = _progress.backup_files


def progress(record, step, at, node=None, controller=None, cordoned_before=None, edits=None):
    """The progress record of a node's migration once ``step`` is reached at ``at`` (a time as text).

    ``step`` ``started`` opens a record (operation, node, started, controller, cordoned_before) before the
    first change, or, for a node resumed from a record, notes the new run in ``resumed`` and keeps
    everything else. Every other step is noted in ``step``, ``steps`` (step -> time) and ``updated``.
    ``edits`` maps an edit (``runtime``, ``kubelet``) to the editor's result; the backup of an edit the step
    notes (or the fact that the file was created) joins ``backups`` unless the record
    already knows one for that file: the first attempt's backup is the one that holds the original (see
    ``_progress.progress``). Returns a new dict.
    """
    return _progress.progress(record, step, at, OPERATION, PROGRESS_STEPS, PROGRESS_EDITS, node=node,
                              controller=controller, cordoned_before=cordoned_before, edits=edits)


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
        if node is None and node_result.get("msg"):
            # No Node read at all: the wait says why (a failed read is not a Node that does not exist).
            problems.append("Node not proved Ready with a fresh heartbeat: %s" % node_result["msg"])
        else:
            problems.append("Node is not Ready with a fresh heartbeat (%s)" % node_status(node)["reason"])
    return {"files_restored": restored, "backups": backups, "healthy": not problems,
            "problems": problems, "uncordoned": False}


# --------------------------------------------------------------------------- report

def durations(marks):
    """Seconds between the marks of each detailed step (only the steps whose two marks exist), rounded to 0.01 s.

    These are the migration's own steps, reported in the entry's ``details.steps``; the durations
    every operation reports (drain, change, verify, uncordon, total) come from the shared report.
    """
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


def _entry_backups(data, plan_, progress_):
    """This run's backups, then those its progress record (or the record it resumed) kept, each once."""
    out = []
    for path in ([_backup(data.get("kubelet_edit")), _backup(data.get("runtime_edit"))]
                 + progress_backups(progress_.get("record")) + progress_backups(_dict(plan_.get("resume")))):
        if path and path not in out:
            out.append(path)
    return out


def _left_cordoned(data, plan_):
    """False once uncordoned; what a failed uncordon left (None: nobody knows); what the drain left; the plan's."""
    if data.get("uncordoned"):
        return False
    uncordon = _dict(data.get("uncordon_result"))
    if "node_left_cordoned" in uncordon:
        return None if uncordon["node_left_cordoned"] is None else bool(uncordon["node_left_cordoned"])
    drain = _dict(data.get("drain_result"))
    if drain.get("node_left_cordoned") is not None:
        return bool(drain["node_left_cordoned"])
    return plan_.get("cordoned_before")


def _services_stopped(facts):
    """The kubelet and the runtime in use, when the facts read last say they are not running."""
    facts = _dict(facts)
    services = _dict(facts.get("services"))
    return sorted(name for name in ("kubelet", facts.get("container_runtime")) if name in services
                  and _dict(services[name]).get("active") not in (None, "active"))


def node_entry(data):
    """One node's report entry, in the shape every operation shares (see ``_report.node_entry``).

    ``data`` keys: node, host, result (one of RESULTS), message, check_mode, plan, facts_before,
    facts_after, marks, drain_result, kubelet_edit, runtime_edit, rollback, uncordoned, uncordon_result (the result of
    a failed uncordon, else empty), failed_step,
    progress (the node's progress record as last known, ``{"path", "kept", "record"}``).
    The drivers before and after, the drain, the detailed steps and the rollback are in ``details``; so are
    ``resumed`` (the interrupted run this one resumed) and ``progress_record``. The backups are those of this
    run's edits and those the progress record kept from an interrupted run.
    """
    data = _dict(data)
    result = data.get("result")
    if result not in RESULTS:
        result = FAILED
    plan_ = _dict(data.get("plan"))
    details = {
        "result": result,
        "before": drivers(data.get("facts_before")) or plan_.get("drivers") or {},
        "after": drivers(data.get("facts_after")),
        "steps": durations(data.get("marks")),
        "drain": _drain_summary(data.get("drain_result")),
        "cordoned_before": plan_.get("cordoned_before"),
        "uncordoned": bool(data.get("uncordoned")),
        "notes": list(plan_.get("notes") or []),
        "reasons": list(plan_.get("reasons") or []),
    }
    if plan_.get("resume"):
        details["resumed"] = plan_["resume"]
    progress_ = _dict(data.get("progress"))
    if progress_:
        details["progress_record"] = progress_
    if data.get("failed_step"):
        details["failed_step"] = data["failed_step"]
    if data.get("rollback"):
        details["rollback"] = data["rollback"]
    marks = _dict(data.get("marks"))
    if marks:
        details["marks"] = dict((k, round(float(v), 3)) for k, v in marks.items() if v is not None)
    return _report.node_entry({
        "operation": OPERATION,
        "node": data.get("node"),
        "host": data.get("host"),
        "action": RESULT_ACTIONS[result],
        "reason": data.get("message") or "; ".join(details["reasons"] + details["notes"]),
        "check_mode": data.get("check_mode"),
        "marks": marks,
        "backups": _entry_backups(data, plan_, progress_),
        "left_as_is": {"cordoned": _left_cordoned(data, plan_),
                       "services_stopped": _services_stopped(data.get("facts_after"))},
        "details": details,
    })

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the cgroup driver migration's decisions and report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cgroup_report as report
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _report as shared

CONTAINERD_CGROUPFS = {
    "cgroup_version": 2,
    "consistent_on_systemd": False,
    "container_runtime": "containerd",
    "containerd": {"available": True, "error": None, "schema_version": 2, "systemd_cgroup": {"runc": False}},
    "docker": {"available": False, "cgroup_driver": None, "error": "not running"},
    "kubelet": {"cgroup_driver": "cgroupfs", "cgroup_driver_effective": "cgroupfs", "cgroup_driver_flag": None,
                "config_error": None, "config_present": True, "config_path": "/var/lib/kubelet/config.yaml",
                "container_runtime_endpoint": "unix:///run/containerd/containerd.sock",
                "flags_files": ["/var/lib/kubelet/kubeadm-flags.env"]},
    "problems": ["kubelet uses the cgroupfs cgroup driver"],
    "services": {"kubelet": {"active": "active"}, "containerd": {"active": "active"},
                 "docker": {"active": "inactive"}},
}


def facts(**changes):
    out = copy.deepcopy(CONTAINERD_CGROUPFS)
    for key, value in changes.items():
        section, dummy, field = key.partition("__")
        if field:
            out[section][field] = value
        else:
            out[section] = value
    return out


def node(ready="True", heartbeat="2024-05-01T02:00:00Z", unschedulable=False):
    return {"metadata": {"name": "w1"}, "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat,
                                       "reason": "KubeletReady", "message": "kubelet is posting ready status"}]}}


SYSTEMD = facts(consistent_on_systemd=True, containerd__systemd_cgroup={"runc": True},
                kubelet__cgroup_driver_effective="systemd")


@pytest.mark.parametrize("values, expected", [
    ({"runc": True}, "systemd"),
    ({"runc": False}, "cgroupfs"),
    ({"runc": None}, "cgroupfs"),
    ({"runc": True, "nvidia": False}, "mixed"),
    ({}, None),
])
def test_runtime_driver_of_containerd_follows_every_runc_runtime(values, expected):
    assert report.runtime_driver(facts(containerd__systemd_cgroup=values)) == expected


def test_runtime_driver_of_docker_is_what_docker_reports():
    assert report.runtime_driver(facts(container_runtime="docker", docker__cgroup_driver="systemd")) == "systemd"


def test_drivers_summarise_the_facts():
    assert report.drivers(CONTAINERD_CGROUPFS) == {
        "kubelet": "cgroupfs", "runtime": "containerd", "runtime_driver": "cgroupfs", "cgroup_version": 2,
        "consistent_on_systemd": False}
    assert report.drivers(None) == {}


def test_node_status_reads_ready_heartbeat_and_cordon():
    status = report.node_status(node(unschedulable=True))
    assert status["ready"] and status["heartbeat"] == "2024-05-01T02:00:00Z" and status["unschedulable"]
    assert report.node_status(None)["exists"] is False


@pytest.mark.parametrize("obj, stale, expected", [
    (node(heartbeat="t2"), "t1", True),
    (node(heartbeat="t1"), "t1", False),
    (node(ready="Unknown", heartbeat="t2"), "t1", False),
    (None, "t1", False),
])
def test_fresh_ready_needs_a_heartbeat_newer_than_the_stale_one(obj, stale, expected):
    assert report.fresh_ready(obj, stale) is expected


def test_plan_migrates_a_ready_node_on_cgroupfs():
    plan = report.plan(CONTAINERD_CGROUPFS, node(), "w1")
    assert plan["action"] == "migrate" and plan["reasons"] == [] and plan["runtime"] == "containerd"
    assert plan["cordoned_before"] is False


def test_plan_skips_a_node_consistent_on_systemd_without_looking_at_readiness():
    plan = report.plan(SYSTEMD, node(ready="False"), "w1")
    assert plan["action"] == "skip"


def test_plan_notes_that_a_cordoned_node_stays_cordoned():
    plan = report.plan(CONTAINERD_CGROUPFS, node(unschedulable=True), "w1")
    assert plan["action"] == "migrate" and plan["cordoned_before"] is True
    assert "stays cordoned" in plan["notes"][0]


@pytest.mark.parametrize("changed, fragment", [
    (dict(container_runtime="cri-o"), "container runtime cri-o is not supported"),
    (dict(container_runtime=None), "container runtime unknown is not supported"),
    (dict(kubelet__config_present=False), "does not exist"),
    (dict(kubelet__config_error="line 3: bad indent"), "line 3: bad indent"),
    (dict(containerd__available=False), "containerd does not answer"),
    (dict(containerd__systemd_cgroup={}), "could not be determined"),
    (dict(kubelet__cgroup_driver_flag="cgroupfs"), "--cgroup-driver=cgroupfs"),
    (dict(services={"kubelet": {"active": "inactive"}, "containerd": {"active": "active"}}),
     "service kubelet is inactive"),
])
def test_plan_refuses_unsupported_or_unhealthy_nodes_with_the_cause(changed, fragment):
    plan = report.plan(facts(**changed), node(), "w1")
    assert plan["action"] == "refuse"
    assert any(fragment in reason for reason in plan["reasons"]), plan["reasons"]


def test_plan_refuses_a_node_that_is_not_ready_unless_allowed():
    assert report.plan(CONTAINERD_CGROUPFS, node(ready="Unknown"), "w1")["action"] == "refuse"
    assert report.plan(CONTAINERD_CGROUPFS, node(ready="Unknown"), "w1", require_ready=False)["action"] == "migrate"


def test_plan_refuses_a_missing_node_object():
    plan = report.plan(CONTAINERD_CGROUPFS, None, "w9")
    assert plan["action"] == "refuse" and "Node w9 does not exist" in plan["reasons"][0]


def test_plan_refuses_a_systemd_node_whose_kubelet_is_down():
    down = copy.deepcopy(SYSTEMD)
    down["services"]["kubelet"]["active"] = "failed"
    plan = report.plan(down, node(), "w1")
    assert plan["action"] == "refuse" and "interrupted run" in plan["reasons"][0]


def test_durations_are_computed_from_the_marks_present():
    marks = {"start": 0, "drain_start": 1, "drain_end": 11, "change_start": 11, "runtime_stopped": 13,
             "configured": 14, "runtime_started": 15, "runtime_ready": 17, "change_end": 18,
             "kubelet_healthy": 21, "verify_end": 25, "uncordon_start": 25, "uncordon_end": 26, "end": 27}
    out = report.durations(marks)
    assert out["drain"] == 10 and out["stop_services"] == 2 and out["ready_wait"] == 4
    assert out["restarts"] == 2 + 1 + 1 and out["waits"] == 2 + 3 + 4
    assert out["kubelet_down"] == 10 and out["total"] == 27
    assert "rollback" not in out
    assert report.durations({}) == {}


def test_rollback_outcome_is_healthy_when_every_step_worked():
    steps = {
        "runtime": "containerd",
        "restores": {"results": [{"item": {"path": "/a", "backup_file": "/a.bak"}, "changed": True}]},
        "removals": {"results": []},
        "start_runtime": {"results": [{"item": "containerd.service", "changed": True}]},
        "runtime_answer": {"rc": 0},
        "start_kubelet": {"changed": True},
        "healthz": {"status": 200},
        "node": {"resources": [node(heartbeat="t2")]},
        "stale_heartbeat": "t1",
    }
    out = report.rollback_outcome(steps)
    assert out == {"files_restored": ["/a"], "backups": ["/a.bak"], "healthy": True, "problems": [],
                   "uncordoned": False}


def test_rollback_outcome_lists_every_problem():
    steps = {
        "restores": {"results": [{"item": {"path": "/a", "backup_file": "/a.bak"}, "failed": True, "msg": "io"}]},
        "start_runtime": {"results": [{"item": "containerd.service", "msg": "unit failed"}]},
        "runtime_answer": {"rc": 1, "failed": True},
        "start_kubelet": {"msg": "no unit"},
        "healthz": {"failed": True, "status": -1},
        "node": {"resources": [node(heartbeat="t1")]},
        "stale_heartbeat": "t1",
    }
    out = report.rollback_outcome(steps)
    assert out["healthy"] is False and len(out["problems"]) == 6


def test_rollback_outcome_says_why_no_node_was_read_instead_of_calling_it_missing():
    steps = {
        "runtime": "containerd", "runtime_answer": {"rc": 0}, "healthz": {"status": 200},
        "node": {"failed": True, "resources": [],
                 "msg": 'node "w1" did not become Ready within 30 s: the last read failed: read node "w1": the API '
                        "server is unavailable"},
        "stale_heartbeat": "t1",
    }
    out = report.rollback_outcome(steps)
    assert out["problems"] == ['Node not proved Ready with a fresh heartbeat: node "w1" did not become Ready within '
                               '30 s: the last read failed: read node "w1": the API server is unavailable']
    assert "does not exist" not in out["problems"][0]


@pytest.mark.parametrize("left, expected", [(None, None), (True, True), (False, False)])
def test_a_failed_uncordon_tells_whether_the_node_is_left_cordoned(left, expected):
    # null: the uncordon got no answer and the node could not be read afterwards, so nobody knows
    entry = report.node_entry({
        "node": "w1", "host": "w1", "result": "failed", "message": "uncordon failed", "plan": {"cordoned_before": False},
        "drain_result": {"node_left_cordoned": True},
        "uncordon_result": {"failed": True, "node_left_cordoned": left},
    })
    assert entry["left_as_is"]["cordoned"] is expected


def test_node_entry_has_the_shared_shape_with_the_migration_in_details():
    entry = report.node_entry({
        "node": "w1", "host": "w1", "result": "migrated", "message": "ok", "plan": {"cordoned_before": False},
        "facts_before": CONTAINERD_CGROUPFS, "facts_after": SYSTEMD, "uncordoned": True,
        "marks": {"start": 0, "end": 30.5, "drain_start": 1, "drain_end": 5},
        "drain_result": {"evicted": [{"namespace": "a", "name": "p", "uid": "u1"}], "node_left_cordoned": True},
        "kubelet_edit": {"backup_file": "/k.bak"}, "runtime_edit": {},
    })
    assert set(entry) == set(shared.NODE_KEYS)
    assert entry["action"] == "changed" and entry["reason"] == "ok"
    assert entry["durations"]["drain"] == 4 and entry["durations"]["total"] == 30.5
    assert entry["durations"]["change"] is None
    assert entry["backups"] == ["/k.bak"]
    assert entry["left_as_is"] == {"cordoned": False, "services_stopped": []}
    assert entry["details"]["after"]["kubelet"] == "systemd" and entry["details"]["drain"]["evicted"] == ["a/p"]
    assert entry["details"]["drain"]["evicted_uids"] == ["u1"] and entry["details"]["result"] == "migrated"


def test_check_mode_migration_is_reported_as_would_change():
    entry = report.node_entry({"node": "w1", "result": "would_migrate", "check_mode": True, "message": "would"})
    assert entry["action"] == "would_change"


def test_failed_node_reports_what_was_left_as_is():
    stopped = dict(SYSTEMD, services={"kubelet": {"active": "inactive"}, "containerd": {"active": "active"}})
    entry = report.node_entry({"node": "w1", "result": "failed", "message": "rollback did not restore",
                               "facts_after": stopped, "drain_result": {"node_left_cordoned": True},
                               "rollback": {"healthy": False, "problems": ["x"]}})
    assert entry["left_as_is"] == {"cordoned": True, "services_stopped": ["kubelet"]}
    assert entry["details"]["rollback"]["healthy"] is False


def test_run_report_of_the_migration_lists_every_host_and_is_not_ok_after_a_rollback():
    entry = report.node_entry({"node": "w1", "host": "w1", "result": "rolled_back", "message": "rolled back"})
    out = shared.run_report("cgroup_driver", {"w1": entry}, ["cp", "w1", "w2"])
    assert [n["action"] for n in out["nodes"]] == ["not_reached", "rolled_back", "not_reached"]
    assert not out["ok"] and out["totals"]["rolled_back"] == 1 and out["totals"]["nodes"] == 3


def test_unknown_results_count_as_failed():
    assert report.node_entry({"result": "weird"})["action"] == "failed"


# --------------------------------------------------------------------------- interrupted runs

RECORD_PATH = "/var/lib/nodeops/cgroup_driver.json"
BACKUPS = {"runtime": {"path": "/etc/containerd/config.toml", "backup_file": "/etc/containerd/config.toml.1.bak"},
           "kubelet": {"path": "/var/lib/kubelet/config.yaml", "backup_file": "/var/lib/kubelet/config.yaml.2.bak"}}


def record(**changes):
    out = {"operation": "cgroup_driver", "node": "w1", "started": "2024-05-01T02:00:00Z", "controller": "ctl",
           "cordoned_before": False, "step": "kubelet_configured", "updated": "2024-05-01T02:01:10Z",
           "steps": {"started": "2024-05-01T02:00:00Z", "drained": "2024-05-01T02:00:40Z",
                     "services_stopped": "2024-05-01T02:01:00Z", "runtime_configured": "2024-05-01T02:01:05Z",
                     "kubelet_configured": "2024-05-01T02:01:10Z"},
           "backups": copy.deepcopy(BACKUPS), "resumed": []}
    out.update(changes)
    return out


def with_record(base, content=None, error=None, exists=True):
    out = copy.deepcopy(base)
    out["progress_record"] = {"path": RECORD_PATH, "exists": exists, "record": content, "error": error}
    return out


STOPPED = {"kubelet": {"active": "inactive"}, "containerd": {"active": "inactive"}, "docker": {"active": "inactive"}}
# What an interruption after both edits leaves: the files say systemd, kubelet and containerd are stopped.
EDITED_AND_STOPPED = dict(copy.deepcopy(SYSTEMD), services=STOPPED)


def test_plan_without_a_record_file_is_not_a_resume():
    plan = report.plan(with_record(CONTAINERD_CGROUPFS, exists=False), node(), "w1")
    assert plan["action"] == "migrate" and plan["resume"] is None
    assert report.plan(with_record(SYSTEMD, exists=False), node(), "w1")["action"] == "skip"


def test_plan_resumes_a_node_interrupted_after_its_edits_with_its_services_stopped():
    plan = report.plan(with_record(EDITED_AND_STOPPED, record()), node(ready="Unknown"), "w1")
    assert plan["action"] == "migrate", plan["reasons"]
    assert plan["reasons"] == []
    assert plan["notes"][0] == ("resuming an interrupted migration (step kubelet_configured reached at "
                                "2024-05-01T02:01:10Z)")
    assert plan["resume"] == {"path": RECORD_PATH, "step": "kubelet_configured", "at": "2024-05-01T02:01:10Z",
                              "started": "2024-05-01T02:00:00Z", "controller": "ctl", "backups": BACKUPS}


def test_plan_does_not_skip_a_node_whose_files_say_systemd_when_it_has_a_record():
    """Someone started the services again: the processes may still run on cgroupfs, so they are restarted."""
    plan = report.plan(with_record(SYSTEMD, record()), node(unschedulable=True), "w1")
    assert plan["action"] == "migrate"
    assert not any("left as it is" in note for note in plan["notes"])


@pytest.mark.parametrize("cordoned_now, cordoned_in_record", [(True, False), (False, True)])
def test_plan_takes_the_cordon_from_before_the_interrupted_run_from_the_record(cordoned_now, cordoned_in_record):
    plan = report.plan(with_record(SYSTEMD, record(cordoned_before=cordoned_in_record)),
                       node(unschedulable=cordoned_now), "w1")
    assert plan["cordoned_before"] is cordoned_in_record
    assert any("stays cordoned" in note for note in plan["notes"]) is cordoned_in_record


def test_plan_resumes_a_node_interrupted_during_its_drain():
    plan = report.plan(with_record(CONTAINERD_CGROUPFS, record(step="started", steps={"started": "t0"})),
                       node(unschedulable=True), "w1")
    assert plan["action"] == "migrate" and plan["cordoned_before"] is False
    assert "(step started reached at t0)" in plan["notes"][0]


def test_plan_resumes_a_docker_node_whose_stopped_daemon_does_not_answer():
    docker = facts(container_runtime="docker", docker__available=False, docker__error="Cannot connect",
                   services={"kubelet": {"active": "inactive"}, "docker": {"active": "inactive"}})
    assert report.plan(with_record(docker, record()), node(), "w1")["action"] == "migrate"
    docker["services"]["docker"]["active"] = "active"
    plan = report.plan(with_record(docker, record()), node(), "w1")
    assert plan["action"] == "refuse" and "docker does not answer" in plan["reasons"][0]


@pytest.mark.parametrize("content, error, fragment", [
    (None, "%s is not valid JSON (Expecting value: line 1 column 1 (char 0))" % RECORD_PATH,
     "the progress record %s cannot be used: %s is not valid JSON" % (RECORD_PATH, RECORD_PATH)),
    (None, "cannot read %s on the node: Permission denied" % RECORD_PATH, "Permission denied"),
    (record(operation="containerd_switch"), None,
     "%s is not a progress record of the cgroup driver migration (operation: containerd_switch, started: "
     "2024-05-01T02:00:00Z, controller: ctl); finish that operation first" % RECORD_PATH),
    ({"step": "drained"}, None, "(operation: none, started: unknown, controller: unknown)"),
    (record(step="half-way"), None, "names no known step (step: half-way"),
    (record(cordoned_before=None), None, "does not say whether the Node was cordoned before"),
])
def test_plan_refuses_a_record_it_cannot_resume_from_naming_the_file_the_cause_and_the_fix(content, error, fragment):
    plan = report.plan(with_record(EDITED_AND_STOPPED, content, error), node(), "w1")
    assert plan["action"] == "refuse" and len(plan["reasons"]) == 1
    assert fragment in plan["reasons"][0], plan["reasons"]
    assert plan["reasons"][0].endswith("then remove %s" % RECORD_PATH)
    assert plan["resume"] is None


@pytest.mark.parametrize("changed, fragment", [
    (dict(kubelet__config_error="line 3: bad indent"), "line 3: bad indent"),
    (dict(container_runtime="cri-o"), "container runtime cri-o is not supported"),
    (dict(kubelet__cgroup_driver_flag="cgroupfs"), "--cgroup-driver=cgroupfs"),
])
def test_plan_still_refuses_what_a_resume_cannot_fix(changed, fragment):
    plan = report.plan(with_record(facts(**changed), record()), node(), "w1")
    assert plan["action"] == "refuse"
    assert any(fragment in reason for reason in plan["reasons"]), plan["reasons"]


def test_plan_refuses_to_resume_a_node_missing_from_the_api():
    plan = report.plan(with_record(EDITED_AND_STOPPED, record()), None, "w9")
    assert plan["action"] == "refuse" and "Node w9 does not exist" in plan["reasons"][0]


def test_progress_opens_a_record_before_the_first_change():
    opened = report.progress({}, "started", "t0", node="w1", controller="ctl", cordoned_before=False)
    assert opened == {"operation": "cgroup_driver", "node": "w1", "started": "t0", "controller": "ctl",
                      "cordoned_before": False, "step": "started", "steps": {"started": "t0"}, "updated": "t0",
                      "backups": {}, "resumed": []}


def test_progress_of_a_resumed_node_keeps_the_first_run_and_notes_the_new_one():
    first = record()
    resumed = report.progress(first, "started", "t9", node="w1", controller="other", cordoned_before=True)
    assert resumed["resumed"] == [{"at": "t9", "controller": "other"}]
    assert {k: v for k, v in resumed.items() if k != "resumed"} == {k: v for k, v in first.items() if k != "resumed"}
    assert first["resumed"] == []


def test_progress_notes_each_step_and_keeps_the_backups_of_its_edits():
    opened = report.progress({}, "started", "t0", node="w1", controller="ctl", cordoned_before=False)
    runtime_edit = {"changed": True, "path": "/etc/containerd/config.toml", "backup_file": "/r.bak"}
    after = report.progress(opened, "runtime_configured", "t1", edits={"runtime": runtime_edit})
    after = report.progress(after, "kubelet_configured", "t2",
                            edits={"kubelet": {"changed": True, "path": "/var/lib/kubelet/config.yaml",
                                               "backup_file": "/k.bak"}})
    assert after["step"] == "kubelet_configured" and after["updated"] == "t2"
    assert after["steps"] == {"started": "t0", "runtime_configured": "t1", "kubelet_configured": "t2"}
    assert after["backups"] == {"runtime": {"path": "/etc/containerd/config.toml", "backup_file": "/r.bak"},
                                "kubelet": {"path": "/var/lib/kubelet/config.yaml", "backup_file": "/k.bak"}}
    assert opened["backups"] == {}


def test_progress_notes_both_edits_once_the_kubelet_is_configured():
    """The role notes the runtime and kubelet edits together; the drain note before them knows no backup."""
    opened = report.progress({}, "started", "t0", node="w1", controller="ctl", cordoned_before=False)
    drained = report.progress(opened, "drained", "t1",
                              edits={"runtime": {"changed": True, "path": "/r", "backup_file": "/r.bak"}})
    assert drained["backups"] == {}
    after = report.progress(drained, "kubelet_configured", "t2",
                            edits={"runtime": {"changed": True, "path": "/r", "backup_file": "/r.bak"},
                                   "kubelet": {"changed": False, "path": "/k"}})
    assert after["steps"] == {"started": "t0", "drained": "t1", "kubelet_configured": "t2"}
    assert after["backups"] == {"runtime": {"path": "/r", "backup_file": "/r.bak"}}


def test_progress_keeps_the_first_attempts_backup_when_the_resumed_edit_changes_nothing_or_again():
    first = record()
    unchanged = report.progress(first, "runtime_configured", "t9",
                                edits={"runtime": {"changed": False, "path": "/etc/containerd/config.toml"}})
    again = report.progress(first, "runtime_configured", "t9",
                            edits={"runtime": {"changed": True, "path": "/etc/containerd/config.toml",
                                               "backup_file": "/new"}})
    assert unchanged["backups"] == BACKUPS and again["backups"] == BACKUPS


def test_progress_notes_a_file_the_run_created():
    out = report.progress({}, "runtime_configured", "t1",
                          edits={"runtime": {"changed": True, "path": "/etc/containerd/config.toml"}})
    assert out["backups"] == {"runtime": {"path": "/etc/containerd/config.toml", "created": True}}


def test_progress_refuses_an_unknown_step():
    with pytest.raises(ValueError):
        report.progress({}, "half-way", "t1")


def test_node_entry_of_a_resumed_node_lists_the_first_attempts_backups_and_the_resume():
    plan = report.plan(with_record(EDITED_AND_STOPPED, record()), node(), "w1")
    entry = report.node_entry({"node": "w1", "result": "migrated", "message": "ok", "plan": plan,
                               "kubelet_edit": {"changed": False}, "runtime_edit": {"changed": False},
                               "progress": {"path": RECORD_PATH, "kept": False, "record": record()}})
    assert entry["backups"] == ["/var/lib/kubelet/config.yaml.2.bak", "/etc/containerd/config.toml.1.bak"]
    assert entry["details"]["resumed"]["step"] == "kubelet_configured"
    assert entry["details"]["progress_record"]["kept"] is False


def test_adopt_backups_finds_the_backup_made_by_a_run_killed_before_it_noted_it():
    first = record(backups={"runtime": BACKUPS["runtime"]})  # killed right after the kubelet edit
    started = 1714528800  # 2024-05-01T02:00:00Z
    kubelet = "/var/lib/kubelet/config.yaml"
    found = [
        {"path": kubelet + ".77.2024-04-01@10:00:00~", "ctime": started - 86400},  # an earlier run's
        {"path": kubelet + ".90.2024-05-01@02:01:20~", "ctime": started + 80},  # a later attempt's
        # the interrupted run's, whose mtime is the original's (the backup keeps it)
        {"path": kubelet + ".88.2024-05-01@02:01:08~", "ctime": started + 68, "mtime": started - 86400 * 30},
        {"path": kubelet + ".orig", "ctime": started + 70},
        {"path": "/etc/containerd/config.toml.5.2024-05-01@02:01:30~", "ctime": started + 90},
    ]
    paths = {"kubelet": kubelet, "runtime": "/etc/containerd/config.toml"}
    adopted = report.adopt_backups(first, found, paths)
    assert adopted["backups"]["kubelet"] == {"path": kubelet, "backup_file": kubelet + ".88.2024-05-01@02:01:08~",
                                             "found": True}
    assert adopted["backups"]["runtime"] == BACKUPS["runtime"]
    assert "kubelet" not in first["backups"]


def test_adopt_backups_adopts_nothing_without_a_backup_since_the_start():
    first = record(backups={})
    old = [{"path": "/var/lib/kubelet/config.yaml.1.2024-04-01@10:00:00~", "ctime": 1700000000}]
    assert report.adopt_backups(first, old, {"kubelet": "/var/lib/kubelet/config.yaml"})["backups"] == {}
    assert report.adopt_backups(record(started="soon"), old, {"kubelet": "/x"})["backups"] == BACKUPS

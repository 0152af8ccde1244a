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

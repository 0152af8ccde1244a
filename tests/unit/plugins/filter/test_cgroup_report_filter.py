# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the cgroup_driver filter plugin wrappers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.filter import cgroup_report


def test_filters_are_registered():
    names = set(cgroup_report.FilterModule().filters())
    assert {"cgroup_driver_plan", "cgroup_driver_node_status", "cgroup_driver_fresh_ready", "cgroup_driver_drivers",
            "cgroup_driver_rollback_outcome", "cgroup_driver_node_entry", "cgroup_driver_progress",
            "cgroup_driver_progress_adopt"} == names


def test_node_filters_accept_a_k8s_info_result():
    node = {"status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t2"}]}}
    result = {"resources": [node]}
    assert cgroup_report.cgroup_driver_node_status(result)["ready"] is True
    assert cgroup_report.cgroup_driver_fresh_ready(result, "t1") is True
    assert cgroup_report.cgroup_driver_node_status({"resources": []})["exists"] is False


def test_progress_filter_passes_its_keywords():
    record = cgroup_report.cgroup_driver_progress({}, "started", "t0", node="w1", controller="ctl",
                                                  cordoned_before=True)
    assert (record["node"], record["controller"], record["cordoned_before"]) == ("w1", "ctl", True)
    edit = {"changed": True, "path": "/etc/containerd/config.toml", "backup_file": "/b"}
    record = cgroup_report.cgroup_driver_progress(record, "runtime_configured", "t1", edits={"runtime": edit})
    assert record["backups"]["runtime"]["backup_file"] == "/b"


def test_progress_filter_names_this_controller_when_a_run_opens_the_record():
    import socket
    assert cgroup_report.cgroup_driver_progress({}, "started", "t0")["controller"] == socket.gethostname()

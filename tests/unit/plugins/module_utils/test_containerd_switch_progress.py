# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _containerd_switch_progress as switch

PATH = "/var/lib/nodeops/containerd_switch.json"
FLAGS = {"changed": True, "path": "/var/lib/kubelet/kubeadm-flags.env",
         "backup_file": "/var/lib/kubelet/kubeadm-flags.env.7.2024-05-01@02:01:08~"}
CONFIG = {"changed": True, "path": "/etc/containerd/config.toml",
          "backup_file": "/etc/containerd/config.toml.7.2024-05-01@02:01:00~"}
MEMO = {"old_cri_socket": "unix:///run/cri-dockerd.sock", "carry_over": {"registry_mirrors": ["https://m"]}}


def killed_after_the_kubelet_edits(cordoned_before=False):
    record = switch.progress({}, "started", "2024-05-01T02:00:00Z", node="w2", controller="ctl",
                             cordoned_before=cordoned_before, memo=MEMO)
    for step, at, edits in (("drained", "2024-05-01T02:00:40Z", None),
                            ("kubelet_switched", "2024-05-01T02:01:10Z",
                             {"containerd_config": CONFIG, "kubelet_flags": FLAGS, "kubelet_config": {"changed": False},
                              "instance_config": {}})):
        record = switch.progress(record, step, at, edits=edits)
    return record


def test_a_node_killed_after_the_drain_note_is_resumed_as_stopped_without_a_second_drain():
    """The drain note is the last before the stop: the kubelet and Docker may be stopped, and a failure rolls back."""
    record = switch.progress({}, "started", "t0", node="w2", controller="ctl", memo=MEMO)
    record = switch.progress(record, "drained", "t1")
    decision = switch.resume(read(record), "w2")
    assert decision["action"] == "resume" and decision["step"] == "drained"
    assert decision["drained"] is True and decision["docker_stopped"] is True
    assert decision["backups"] == {}


@pytest.mark.parametrize("step", ["docker_stopped", "containerd_configured", "verified"])
def test_a_record_with_a_step_earlier_releases_noted_is_still_resumed(step):
    record = switch.progress({}, "started", "t0", node="w2", controller="ctl", memo=MEMO)
    record = switch.progress(record, "drained", "t1")
    record = switch.progress(record, step, "t2", edits={"containerd_config": CONFIG})
    decision = switch.resume(read(record), "w2")
    assert decision["action"] == "resume" and decision["step"] == step, decision["reasons"]
    assert decision["drained"] is True and decision["docker_stopped"] is True
    expected = {"containerd_config": {"path": CONFIG["path"], "backup_file": CONFIG["backup_file"]}}
    assert decision["backups"] == (expected if step == "containerd_configured" else {})


def read(record=None, error=None, exists=True):
    return {"path": PATH, "exists": exists, "record": record, "error": error}


def test_the_record_of_a_switch_keeps_its_backups_by_edit():
    record = killed_after_the_kubelet_edits()
    assert record["operation"] == "containerd_switch" and record["step"] == "kubelet_switched"
    assert record["backups"] == {"containerd_config": {"path": CONFIG["path"], "backup_file": CONFIG["backup_file"]},
                                 "kubelet_flags": {"path": FLAGS["path"], "backup_file": FLAGS["backup_file"]}}
    assert record["memo"] == MEMO
    assert switch.backup_files(record) == [CONFIG["backup_file"], FLAGS["backup_file"]]


def test_a_node_without_a_record_is_switched_or_skipped_as_usual():
    for found in (read(exists=False), None, {}):
        decision = switch.resume(found, "w2")
        assert decision["action"] == "none" and decision["reasons"] == [] and decision["drained"] is False


def test_a_node_killed_after_its_edits_is_resumed_without_a_second_drain():
    decision = switch.resume(read(killed_after_the_kubelet_edits()), "w2")
    assert decision["action"] == "resume", decision["reasons"]
    assert (decision["step"], decision["at"]) == ("kubelet_switched", "2024-05-01T02:01:10Z")
    assert decision["drained"] is True and decision["docker_stopped"] is True
    assert decision["cordoned_before"] is False
    assert decision["memo"] == MEMO
    assert decision["backups"]["kubelet_flags"]["backup_file"] == FLAGS["backup_file"]
    assert decision["notes"] == ["resuming an interrupted switch (step kubelet_switched reached at "
                                 "2024-05-01T02:01:10Z)"]


def test_a_node_killed_during_its_drain_is_drained_again_and_keeps_its_cordon_from_the_record():
    record = switch.progress({}, "started", "t0", node="w2", controller="ctl", cordoned_before=True, memo=MEMO)
    decision = switch.resume(read(record), "w2")
    assert decision["action"] == "resume"
    assert decision["drained"] is False and decision["docker_stopped"] is False
    assert decision["cordoned_before"] is True
    assert "Node w2 was cordoned before the interrupted run; it stays cordoned afterwards" in decision["notes"]


@pytest.mark.parametrize("found, cause", [
    (read(error="%s is not valid JSON (Expecting value)" % PATH), "cannot be used: %s is not valid JSON" % PATH),
    (read({"operation": "cgroup_driver", "step": "drained", "cordoned_before": False, "started": "t0"}),
     "is not a progress record of the containerd switch (operation: cgroup_driver, started: t0"),
    (read(dict(killed_after_the_kubelet_edits(), step="sailing")), "names no known step (step: sailing"),
    (read(dict(killed_after_the_kubelet_edits(), node="w1")), "is of node w1, not of w2"),
])
def test_an_unusable_record_or_one_of_another_operation_or_node_is_refused(found, cause):
    decision = switch.resume(found, "w2")
    assert decision["action"] == "refuse"
    assert len(decision["reasons"]) == 1
    reason = decision["reasons"][0]
    assert PATH in reason and cause in reason, reason
    assert reason.endswith("finish or undo the interrupted switch, then remove %s" % PATH)


def test_an_unknown_step_is_not_noted():
    with pytest.raises(ValueError):
        switch.progress({}, "services_stopped", "t0")

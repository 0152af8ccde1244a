"""Verify the migration killed in the middle of lab-worker2 (prepare.yml) and its resumption by the converge.

prepare.yml killed the run of the workers right after lab-worker2's kubelet configuration was edited and kept
how it ended (killed-run-result.json) and what it left on lab-worker2 (left-by-the-kill.json). The converge,
over k8s_cluster, must have resumed lab-worker2 from its progress record (migrated, uncordoned, the first
attempt's backups reported and still on the node) without evicting anything again.
"""

import glob
import json
import os

import pytest
import testinfra

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
# Killed right after the kubelet edit, before the note of both edits: the drain's note is the last one, unless
# the kill came late enough for the next.
STEPS_AT_THE_KILL = ("drained", "kubelet_configured")

testinfra_hosts = ["lab-worker2"]


def load(name):
    with open(os.path.join(EPHEMERAL, name)) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def killed():
    return load("killed-run-result.json")


@pytest.fixture(scope="module")
def left():
    return load("left-by-the-kill.json")


@pytest.fixture(scope="module")
def resumed():
    """lab-worker2's entry in the converge's report (the second report of the scenario)."""
    paths = sorted(glob.glob(os.path.join(EPHEMERAL, "cgroup-driver-report-*.json")))
    assert len(paths) >= 3, paths
    with open(paths[1]) as handle:
        report = json.load(handle)
    return [e for e in report["nodes"] if e["node"] == "lab-worker2"][0]


def test_the_run_was_killed_right_after_lab_worker2s_kubelet_configuration_was_edited(killed):
    assert killed["interrupted"], killed
    assert "lab-worker2" in killed["line"], killed
    assert killed["signals"][0] == "SIGTERM" and killed["rc"] != 0, killed


def test_the_kill_left_lab_worker2_drained_and_stopped_with_a_progress_record(left):
    record = left["record"]
    assert isinstance(record, dict), left
    assert left["record_mode"] == "0600"
    assert record["operation"] == "cgroup_driver" and record["node"] == "lab-worker2"
    assert record["cordoned_before"] is False
    assert record["step"] in STEPS_AT_THE_KILL, record
    assert record["controller"]
    assert left["kubelet"] != "active" and left["containerd"] != "active", left
    assert left["unschedulable"] is True, left


def test_the_converge_resumed_lab_worker2_from_its_record(resumed, left):
    details = resumed["details"]
    assert details["result"] == "migrated", resumed
    assert ("resuming an interrupted migration (step %s reached at " % left["record"]["step"]) in resumed["reason"]
    assert details["resumed"]["step"] == left["record"]["step"]
    assert details["resumed"]["started"] == left["record"]["started"]
    assert details["cordoned_before"] is False and details["uncordoned"] is True
    assert resumed["left_as_is"] == {"cordoned": False, "services_stopped": []}
    # Drained already: the second drain found the node cordoned and nothing to evict.
    assert details["drain"]["evicted"] == []
    assert details["progress_record"]["kept"] is False
    assert details["after"] == dict(details["after"], kubelet="systemd", runtime_driver="systemd")


def test_the_first_attempts_backups_are_reported_and_still_on_the_node(resumed, left, host):
    backups = resumed["details"]["progress_record"]["record"]["backups"]
    assert len(resumed["backups"]) == 2, resumed["backups"]
    assert backups["runtime"]["backup_file"] in resumed["backups"]
    assert backups["kubelet"]["backup_file"] in resumed["backups"]
    # Killed before the edits were noted: the rerun found both backups by their names and times.
    assert "kubelet" in (left["record"].get("backups") or {}) or (
        backups["kubelet"]["found"] and backups["runtime"]["found"]), backups
    node = testinfra.get_host("podman://" + host.ansible.get_variables()["ansible_host"])
    for path in resumed["backups"]:
        assert node.file(path).exists, path

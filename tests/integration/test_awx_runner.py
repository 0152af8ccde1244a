"""Every playbook run as AWX runs it: through ansible-runner, against the lab's kubespray inventory.

AWX hands a job's ``set_stats`` data to the next node of a workflow through the
stats event's ``artifact_data``; these tests read the report from there, as a
workflow would, and check the exit status AWX shows for a refused run.
All runs are check mode, so the lab is left as it was.
"""

import os
import shutil

import ansible_runner
import pytest

from conftest import COLLECTIONS, REPO_ROOT, W1, W2

PLAYBOOKS = os.path.join(REPO_ROOT, "playbooks")
# The seed holds a bare pod and a pod with an emptyDir: a drain needs both overrides.
DRAIN_OVERRIDES = {"node_maintenance_force": True, "node_maintenance_delete_emptydir_data": True}


def run(cluster, tmp_path, playbook, extravars=None):
    """One ansible-runner job in check mode; returns (runner, artifact data of the stats event)."""
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    shutil.copy(cluster.paths.inventory, str(private / "inventory.yml"))
    env = {
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "CONTAINERS_CONF": cluster.paths.containers_conf,
        "PATH": os.path.dirname(cluster.kubectl_bin) + os.pathsep + os.environ["PATH"],
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
    }
    runner = ansible_runner.run(
        private_data_dir=str(private), playbook=os.path.join(PLAYBOOKS, playbook),
        inventory=str(private / "inventory.yml"), extravars=dict(extravars or {}), cmdline="--check",
        envvars=env, quiet=True, timeout=900)
    artifacts = {}
    for event in runner.events:
        if event.get("event") == "playbook_on_stats":
            artifacts = (event.get("event_data") or {}).get("artifact_data") or {}
    return runner, artifacts


def stdout_of(runner):
    return runner.stdout.read()


# The rolling operations' dry runs take one worker (their variable of hosts): what is checked here is
# the hand-over to AWX (each node's dry run is the same code; the order of the nodes, control plane
# first, is checked by the reports of the cgroup_driver and cgroup_driver_rollback Molecule scenarios).
@pytest.mark.parametrize("playbook,operation,extravars,expected", [
    ("migrate_cgroup_driver.yml", "cgroup_driver", dict(DRAIN_OVERRIDES, cgroup_driver_hosts=W1), {"would_change"}),
    ("switch_to_containerd.yml", "containerd_switch", dict(DRAIN_OVERRIDES, containerd_switch_hosts=W1),
     {"would_skip"}),
    ("node_maintenance.yml", "node_maintenance", dict(DRAIN_OVERRIDES, node_maintenance_hosts=W2),
     {"would_change"}),
    # nothing is due on a lab whose certificates are a year old at most: the control plane is skipped
    ("renew_certificates.yml", "cert_renewal", {}, {"would_skip"}),
    # the lab has no cache yet: every node would get it
    ("nodelocaldns.yml", "nodelocaldns", {}, {"would_change"}),
    # read-only: the same action in check mode
    ("audit.yml", "audit", {}, {"audited"}),
])
def test_a_dry_run_hands_the_report_to_the_workflow(cluster, tmp_path, playbook, operation, extravars, expected):
    runner, artifacts = run(cluster, tmp_path, playbook, extravars)
    assert (runner.status, runner.rc) == ("successful", 0), stdout_of(runner)[-4000:]
    report = artifacts.get("nodeops_%s_report" % operation)
    assert report, "no nodeops_%s_report in the stats artifact data: %s" % (operation, sorted(artifacts))
    assert report["check_mode"] is True and report["operation"] == operation
    nodes = report["nodes"]
    names = [n["node"] for n in nodes]
    if operation == "node_maintenance":
        assert names == [W2]
    elif operation in ("cgroup_driver", "containerd_switch"):
        assert names == [W1]
    elif operation == "cert_renewal":
        # kube_control_plane only
        assert names == ["lab-cp1"]
    else:
        # kubespray's k8s_cluster, control plane first
        assert names[0] == "lab-cp1" and sorted(names[1:]) == ["lab-worker1", "lab-worker2"], names
    assert {n["action"] for n in nodes} == expected, nodes
    for entry in nodes:
        assert set(entry["durations"]) >= {"drain", "change", "verify", "uncordon", "total"}
        assert entry["reason"]
    assert report["totals"]["nodes"] == len(nodes)
    if operation == "nodelocaldns":
        # check mode is kubernetes.core's server-side dry run: the API server validated every rendered object
        for entry in nodes:
            assert set(entry["details"]["objects_changed"]) == {
                "Service/kube-dns-upstream", "ServiceAccount/node-local-dns", "ConfigMap/node-local-dns",
                "DaemonSet/node-local-dns", "Service/node-local-dns"}, entry
    if operation == "audit":
        # the lab as kubeadm left it: nothing to do now
        assert report["details"]["action_items"] == [], report["lines"]
        assert all(entry["details"]["findings"] for entry in nodes)


@pytest.mark.parametrize("playbook", ["join_windows_node.yml", "upgrade_windows_node.yml"])
def test_the_windows_playbooks_find_no_windows_node_in_the_lab_and_fail_the_job(cluster, tmp_path, playbook):
    """The lab's kubespray inventory has no kube_windows_node group: with no extra variables the job
    fails before anything is done, naming the pattern and the variable to set."""
    runner, artifacts = run(cluster, tmp_path, playbook)
    out = stdout_of(runner)
    assert runner.status == "failed" and runner.rc != 0, out[-3000:]
    assert "kube_windows_node" in out and "windows_node_hosts" in out
    assert "nodeops_windows_node_report" not in artifacts


def test_a_pattern_that_matches_no_node_fails_the_job(cluster, tmp_path):
    runner, _artifacts = run(cluster, tmp_path, "node_maintenance.yml", {"node_maintenance_hosts": "no-such-group"})
    out = stdout_of(runner)
    assert runner.status == "failed" and runner.rc != 0, out[-3000:]
    assert "no-such-group" in out and "node_maintenance_hosts" in out


def test_a_refused_drain_fails_the_job_and_still_reports(cluster, tmp_path):
    """lab-worker2 holds a bare pod (the seed's standalone): without force, the drain is refused."""
    runner, artifacts = run(cluster, tmp_path, "node_maintenance.yml", {"node_maintenance_hosts": W2})
    out = stdout_of(runner)
    assert runner.status == "failed" and runner.rc != 0, out[-3000:]
    assert "standalone" in out
    report = artifacts.get("nodeops_node_maintenance_report")
    assert report, "the refusal must reach the workflow too: %s" % sorted(artifacts)
    assert [n["action"] for n in report["nodes"]] in (["would_refuse"], ["refused"]), report["nodes"]
    assert not cluster.unschedulable(W2), "a refused dry run must leave the node schedulable"

"""The drain module and role against the simulated API server.

Every test seeds its own server with w1 (schedulable) and w2 (cordoned), waits
until the workloads run on w1, makes w2 schedulable and then drains w1, so the
evicted pods have exactly one place to go.
"""

import json
import os
import subprocess
import threading

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from conftest import daemonset, deployment, job, node, pdb, pod, statefulset

KUBECTL = "/usr/bin/kubectl"


def ready_on_w1(start_lab, docs, running):
    lab = start_lab([node("w1"), node("w2", unschedulable=True)] + docs)
    if running:
        lab.wait_running(running, "w1")
    lab.set_unschedulable("w2", False)
    return lab


def kubectl(lab, *args, **kwargs):
    return subprocess.run([KUBECTL, "--kubeconfig", lab.kubeconfig] + list(args), check=True,
                          stdout=subprocess.PIPE, universal_newlines=True, **kwargs).stdout


def uids(lab, node_name):
    return dict((p["metadata"]["name"], p["metadata"]["uid"]) for p in lab.pods(node_name))


class HealthyWatcher(object):
    """Samples, while a drain runs, how many pods of an app are Ready and not being deleted."""

    def __init__(self, lab, app):
        self.lab = lab
        self.app = app
        self.samples = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def healthy(self):
        count = 0
        for item in self.lab.pods():
            meta = item["metadata"]
            if (meta.get("labels") or {}).get("app") != self.app or meta.get("deletionTimestamp"):
                continue
            if any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (item.get("status") or {}).get("conditions") or []):
                count += 1
        return count

    def run(self):
        while not self.stop.is_set():
            self.samples.append(self.healthy())
            self.stop.wait(0.03)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


# ---------------------------------------------------------------- budgets honoured

@pytest.mark.parametrize("budget, floor", [
    (dict(min_available=3), 3),
    (dict(max_unavailable=1), 3),
], ids=["minAvailable 3 of 4", "maxUnavailable 1 of 4"])
def test_a_deployment_under_a_budget_is_drained_without_breaking_the_budget(start_lab, budget, floor):
    lab = ready_on_w1(start_lab, [deployment("web", 4), pdb("web", "web", **budget)], running=4)
    with HealthyWatcher(lab, "web") as watcher:
        result = lab.drain(timeout=120)
    assert result["changed"] is True
    assert len(result["evicted"]) == 4
    assert result["remaining"] == [] and result["blocked"] == []
    assert lab.pod_names("w1") == []
    assert min(watcher.samples) >= floor, watcher.samples
    assert lab.unschedulable("w1") is True


def test_statefulset_pods_recreated_under_the_same_name_count_as_gone(start_lab):
    lab = ready_on_w1(start_lab, [statefulset("db", 2), pdb("db", "db", max_unavailable=1)], running=2)
    before = uids(lab, "w1")
    result = lab.drain(timeout=120)
    assert sorted(e["name"] for e in result["evicted"]) == ["db-0", "db-1"]
    lab.wait_running(2, "w2")
    after = uids(lab, "w2")
    assert set(after) == {"db-0", "db-1"}
    assert all(after[name] != before[name] for name in after)


# ---------------------------------------------------------------- filters against the server

def test_daemonset_pods_are_refused_by_default_and_skipped_with_ignore_daemonsets(start_lab):
    lab = ready_on_w1(start_lab, [daemonset("agent"), deployment("web", 1)], running=2)
    before = uids(lab, "w1")
    with pytest.raises(NodeOpsError) as caught:
        lab.drain()
    assert "cannot delete DaemonSet-managed Pods (use ignore_daemonsets to ignore): kube-system/agent-" \
        in caught.value.message
    assert lab.unschedulable("w1") is False
    assert uids(lab, "w1") == before

    result = lab.drain(ignore_daemonsets=True)
    assert [s["reason"] for s in result["skipped_pods"]] == ["DaemonSet-managed Pod (ignore_daemonsets)"]
    assert [p for p in lab.pod_names("w1") if p.startswith("agent-")]
    assert not [p for p in lab.pod_names("w1") if p.startswith("web-")]
    assert any(w.startswith("ignoring DaemonSet-managed Pods: kube-system/agent-") for w in result["drain_warnings"])


def test_a_pod_of_a_daemonset_that_no_longer_exists_needs_force(start_lab):
    lab = ready_on_w1(start_lab, [], running=0)
    namespace_uid = json.loads(kubectl(lab, "get", "namespace", "default", "-o", "json"))["metadata"]["uid"]
    orphan = pod("agent-orphan", node_name="w1", owner={
        "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "gone", "uid": namespace_uid, "controller": True})
    kubectl(lab, "create", "-f", "-", input=json.dumps(orphan))
    lab.wait_running(1, "w1")
    with pytest.raises(NodeOpsError) as caught:
        lab.drain(ignore_daemonsets=True)
    assert ("cannot delete Pods of a DaemonSet that no longer exists (use force to override): "
            "default/agent-orphan") in caught.value.message
    result = lab.drain(ignore_daemonsets=True, force=True)
    assert [e["name"] for e in result["evicted"]] == ["agent-orphan"]
    assert result["drain_warnings"] == ["deleting Pods whose DaemonSet no longer exists: default/agent-orphan"]


@pytest.mark.parametrize("docs, refusal, override", [
    ([pod("bare")], "cannot delete Pods that declare no controller (use force to override): default/bare",
     dict(force=True)),
    ([deployment("cache", 1, emptydir=True)],
     "cannot delete Pods with local storage (use delete_emptydir_data to override): default/cache-",
     dict(delete_emptydir_data=True)),
], ids=["a bare pod needs force", "an emptyDir pod needs delete_emptydir_data"])
def test_refused_pods_change_nothing_until_the_override_is_given(start_lab, docs, refusal, override):
    lab = ready_on_w1(start_lab, docs + [deployment("web", 1)], running=2)
    before = uids(lab, "w1")
    with pytest.raises(NodeOpsError) as caught:
        lab.drain()
    assert refusal in caught.value.message
    assert caught.value.details["node_left_cordoned"] is False
    assert lab.unschedulable("w1") is False
    assert uids(lab, "w1") == before
    result = lab.drain(**override)
    assert len(result["evicted"]) == 2
    assert lab.pod_names("w1") == []


def test_completed_job_pods_are_removed_without_any_override(start_lab):
    lab = ready_on_w1(start_lab, [job("batch", completions=2)], running=0)
    lab.wait_for(lambda: sum(1 for p in lab.pods("w1") if p["status"].get("phase") == "Succeeded") == 2,
                 what="two Succeeded job pods")
    lab.set_unschedulable("w2", False)
    result = lab.drain()
    assert sorted(e["name"][:5] for e in result["evicted"]) == ["batch", "batch"]
    assert lab.pod_names("w1") == []


def test_mirror_pods_are_skipped(start_lab):
    mirror = pod("kube-apiserver-w1", node_name="w1", annotations={"kubernetes.io/config.mirror": "abc123"})
    lab = ready_on_w1(start_lab, [mirror, deployment("web", 1)], running=2)
    result = lab.drain()
    assert result["skipped_pods"] == [dict(namespace="default", name="kube-apiserver-w1",
                                           reason="mirror Pod (static Pod managed by the kubelet)")]
    assert lab.pod_names("w1") == ["kube-apiserver-w1"]


def test_a_pod_selected_by_two_budgets_is_reported_clearly(start_lab):
    lab = ready_on_w1(start_lab, [deployment("web", 2), pdb("web-a", "web", max_unavailable=1),
                                  pdb("web-b", "web", max_unavailable=1)], running=2)
    with pytest.raises(NodeOpsError) as caught:
        lab.drain(timeout=30)
    assert "selected by more than one PodDisruptionBudget" in caught.value.message
    assert len(caught.value.details["remaining"]) == 2


# ---------------------------------------------------------------- through Ansible

DRAIN_TASK = """
- name: Drain w1
  nodeops.kubernetes.drain:
    name: w1
    state: drain
    ignore_daemonsets: true
    timeout: {timeout}
    poll_interval: 0.2
    eviction_retry_interval: 0.3
    uncordon_on_failure: {uncordon}
  register: result
"""


@pytest.mark.parametrize("uncordon, left_cordoned", [(False, True), (True, False)],
                         ids=["the node is left cordoned", "uncordon_on_failure uncordons it"])
def test_a_budget_that_never_allows_eviction_fails_at_the_timeout_naming_the_budget(
        start_lab, uncordon, left_cordoned):
    lab = ready_on_w1(start_lab, [deployment("web", 2), pdb("web", "web", min_available=2)], running=2)
    rc, result, output = lab.playbook(DRAIN_TASK.format(timeout=4, uncordon=str(uncordon).lower()))
    assert rc != 0, output
    assert result["failed"] is True
    assert result["msg"].startswith('drain of node "w1" did not complete within 4 seconds (timeout): '
                                    "0 of 2 pods evicted; 2 blocked by PodDisruptionBudgets: default/web-")
    assert "PodDisruptionBudget default/web (minAvailable 2): 0 disruptions allowed, 2 healthy of 2 desired, " \
        "2 expected pods" in result["msg"]
    assert [b["pdbs"][0]["name"] for b in result["blocked"]] == ["web", "web"]
    assert result["blocked"][0]["pdbs"][0]["disruptions_allowed"] == 0
    assert result["node_left_cordoned"] is left_cordoned
    assert lab.unschedulable("w1") is left_cordoned
    assert len(lab.pod_names("w1")) == 2


def test_check_mode_reports_the_plan_and_changes_nothing(start_lab):
    lab = ready_on_w1(start_lab, [daemonset("agent"), deployment("web", 2), pdb("web", "web", min_available=2),
                                  deployment("api", 1)], running=4)
    before = uids(lab, "w1")
    rc, result, output = lab.playbook(DRAIN_TASK.format(timeout=30, uncordon="false"), check=True)
    assert rc == 0, output
    assert result["changed"] is True
    assert [e["name"][:4] for e in result["evicted"]] == ["api-"]
    assert sorted(b["name"][:4] for b in result["would_be_blocked"]) == ["web-", "web-"]
    assert result["would_be_blocked"][0]["pdbs"][0]["name"] == "web"
    assert [s["name"][:6] for s in result["skipped_pods"]] == ["agent-"]
    assert lab.unschedulable("w1") is False
    assert uids(lab, "w1") == before


def test_a_second_drain_and_a_second_uncordon_report_no_change(start_lab):
    lab = ready_on_w1(start_lab, [daemonset("agent"), deployment("web", 2), pdb("web", "web", max_unavailable=1)],
                      running=3)
    tasks = DRAIN_TASK.format(timeout=60, uncordon="false") + """
- name: Drain w1 again
  nodeops.kubernetes.drain:
    name: w1
    state: drain
    ignore_daemonsets: true
  register: again
- name: Uncordon w1 once Ready
  nodeops.kubernetes.drain:
    name: w1
    state: uncordon
    ready_timeout: 30
  register: uncordoned
- name: Uncordon w1 again
  nodeops.kubernetes.drain:
    name: w1
    state: uncordon
  register: uncordoned_again
- name: Collect
  ansible.builtin.set_fact:
    result:
      first: "{{ result.changed }}"
      second: "{{ again.changed }}"
      second_evicted: "{{ again.evicted | length }}"
      uncordon: "{{ uncordoned.changed }}"
      uncordon_again: "{{ uncordoned_again.changed }}"
"""
    rc, result, output = lab.playbook(tasks)
    assert rc == 0, output
    assert result == dict(first=True, second=False, second_evicted=0, uncordon=True, uncordon_again=False)
    assert lab.unschedulable("w1") is False


@pytest.mark.parametrize("connection", ["play", "role"],
                         ids=["connection from the play's module_defaults",
                              "node_maintenance_kubeconfig overrides the play's module_defaults"])
def test_the_role_drains_runs_the_work_and_uncordons(start_lab, connection):
    lab = ready_on_w1(start_lab, [daemonset("agent"), deployment("web", 3), pdb("web", "web", max_unavailable=1)],
                      running=4)
    work = os.path.join(lab.state_dir, "work.yml")
    with open(work, "w") as handle:
        handle.write("- name: Record the pods left during the work\n"
                     "  ansible.builtin.set_fact:\n"
                     "    pods_during_work: \"{{ node_maintenance_drain_result.evicted | length }}\"\n")
    tasks = """
- name: Maintain w1
  ansible.builtin.include_role:
    name: nodeops.kubernetes.node_maintenance
  vars:
    node_maintenance_node: w1
    node_maintenance_work_tasks: %s
    node_maintenance_eviction_retry_interval: 0.3
    node_maintenance_ready_timeout: 30
    node_maintenance_kubeconfig: %s
- name: Collect
  ansible.builtin.set_fact:
    result:
      capacity_ok: "{{ node_maintenance_capacity_result.ok }}"
      evicted: "{{ node_maintenance_drain_result.evicted | length }}"
      during_work: "{{ pods_during_work }}"
      uncordoned: "{{ node_maintenance_uncordon_result.changed }}"
""" % (work, '""' if connection == "play" else lab.kubeconfig)
    rc, result, output = lab.playbook(tasks, kubeconfig=None if connection == "play" else "/nonexistent")
    assert rc == 0, output
    assert int(result.pop("during_work")) == 3
    assert result == dict(capacity_ok=True, evicted=3, uncordoned=True)
    assert lab.unschedulable("w1") is False
    assert "Drain node w1" in output and "Wait until Ready, then uncordon node w1" in output

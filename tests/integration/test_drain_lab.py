"""The drain module and role against the real kubeadm lab.

Every test has its own namespace. Its workloads are started on lab-worker1
while lab-worker2 is cordoned; then lab-worker2 is made schedulable and
lab-worker1 is drained, so the evicted pods have exactly one place to go.
lab-worker1 also runs the cluster's own DaemonSet pods (kube-proxy, the seed's
node-agent), which every drain skips with ignore_daemonsets; assertions on
lists look at the test's namespace (``lab.ours``).

Beyond the port of the former tests: the real disruption controller (budget
status moving as pods go), graceful termination completed by a real kubelet,
the API server's real refusal of a pod under two budgets, and the real static
pods of the control plane.
"""

import time

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from conftest import (CP, STUBBORN, W1, W2, Sampler, daemonset, deployment, is_ready, job, pdb, pod,
                      statefulset)


def uids(lab, node_name):
    return dict((p["metadata"]["name"], p["metadata"]["uid"]) for p in lab.pods(node_name))


def names(entries):
    return sorted(e["name"] for e in entries)


def healthy(lab, app):
    """Pods of ``app`` that are Ready and not being deleted."""
    return sum(1 for item in lab.pods()
               if (item["metadata"].get("labels") or {}).get("app") == app
               and not item["metadata"].get("deletionTimestamp") and is_ready(item))


# ---------------------------------------------------------------- budgets honoured

@pytest.mark.parametrize("budget, floor", [
    (dict(min_available=3), 3),
    (dict(max_unavailable=1), 3),
], ids=["minAvailable 3 of 4", "maxUnavailable 1 of 4"])
def test_a_deployment_under_a_budget_is_drained_without_breaking_the_budget(lab, budget, floor):
    lab.ready_on_w1([deployment("web", 4), pdb("web", "web", **budget)], running=4)
    with Sampler(lambda: healthy(lab, "web"), interval=0.05) as watcher:
        result = lab.drain(timeout=300)  # each replacement must become Ready first; slow on a loaded machine
    assert result["changed"] is True
    assert len(lab.ours(result["evicted"])) == 4
    assert result["remaining"] == [] and result["blocked"] == []
    assert lab.pod_names(W1) == []
    assert watcher.samples and min(watcher.samples) >= floor, watcher.samples
    assert lab.unschedulable(W1) is True


def test_statefulset_pods_recreated_under_the_same_name_count_as_gone(lab):
    lab.ready_on_w1([statefulset("db", 2), pdb("db", "db", max_unavailable=1)], running=2)
    before = uids(lab, W1)
    result = lab.drain(timeout=120)
    assert names(lab.ours(result["evicted"])) == ["db-0", "db-1"]
    lab.wait_running(2, W2)
    after = uids(lab, W2)
    assert set(after) == {"db-0", "db-1"}
    assert all(after[name] != before[name] for name in after)


# ---------------------------------------------------------------- the real disruption controller

def test_the_disruption_controller_moves_the_budget_status_as_pods_go(lab):
    """kube-controller-manager recomputes the budget as each pod is evicted and its replacement is Ready;
    the drain waits for it: the budget is never broken and ends healthy on lab-worker2."""
    lab.ready_on_w1([deployment("web", 3), pdb("web", "web", max_unavailable=1)], running=3)
    start = lab.pdb_status("web")
    assert (start["currentHealthy"], start["desiredHealthy"], start["disruptionsAllowed"], start["expectedPods"]) \
        == (3, 2, 1, 3)
    with Sampler(lambda: lab.pdb_status("web"), interval=0.05) as watcher:
        result = lab.drain(timeout=120)
    assert len(lab.ours(result["evicted"])) == 3
    samples = watcher.samples
    assert not watcher.errors, watcher.errors
    # The budget went to 0 allowed disruptions while a pod was gone, and came back: one pod at a time.
    assert any(s.get("disruptionsAllowed") == 0 for s in samples), samples
    assert all(s.get("currentHealthy", 0) >= s.get("desiredHealthy", 0) == 2 for s in samples), samples
    # The eviction subresource records each evicted pod in disruptedPods until the controller sees it go.
    disrupted = set()
    for sample in samples:
        disrupted.update((sample.get("disruptedPods") or {}).keys())
    evicted = set(e["name"] for e in lab.ours(result["evicted"]))
    # An entry stays only until the controller sees the pod go, which can fall between two samples on a
    # loaded machine: what was seen must be ours, but seeing none is not a failure of the drain.
    assert disrupted <= evicted, (disrupted, evicted)

    def healthy_again():
        status = lab.pdb_status("web")
        return (status.get("currentHealthy"), status.get("disruptionsAllowed")) == (3, 1) and not status.get(
            "disruptedPods")

    lab.wait_for(healthy_again, timeout=60, what="the budget healthy again")
    assert len([p for p in lab.pods(W2) if is_ready(p)]) == 3
    assert lab.pod_names(W1) == []


# ---------------------------------------------------------------- graceful termination by a real kubelet

@pytest.mark.parametrize("command, pod_grace, grace_period, low, high", [
    (STUBBORN, 6, None, 5.5, 25),
    (["sh", "-c", "trap 'sleep 2; exit 0' TERM; while true; do sleep 1; done"], 40, None, 1.5, 12),
    (STUBBORN, 40, 1, 0.5, 12),
], ids=["a pod ignoring SIGTERM is killed after its own grace period",
        "a pod that exits 2 s after SIGTERM is gone then, long before its grace period",
        "grace_period 1 overrides the pod's 40 s"])
def test_graceful_termination_is_completed_by_the_kubelet(lab, command, pod_grace, grace_period, low, high):
    lab.ready_on_w1([deployment("slow", 1, grace=pod_grace, command=command)], running=1)
    [victim] = lab.pods(W1)

    def observe():
        return [(p["metadata"]["uid"], bool(p["metadata"].get("deletionTimestamp")))
                for p in lab.pods(W1)]

    started = time.monotonic()
    with Sampler(observe, interval=0.1) as watcher:
        result = lab.drain(timeout=90, grace_period=grace_period)
    elapsed = time.monotonic() - started
    [entry] = lab.ours(result["evicted"])
    assert entry["uid"] == victim["metadata"]["uid"]
    # The pod stayed on the node, terminating, until the kubelet had stopped it; then it was gone.
    terminating = [s for s in watcher.samples if (victim["metadata"]["uid"], True) in s]
    assert terminating, watcher.samples
    assert low <= entry["duration"] <= high, entry
    assert elapsed >= entry["duration"]
    assert victim["metadata"]["uid"] not in [uid for uid, _deleting in observe()]
    assert lab.pod_names(W1) == []
    lab.wait_running(1, W2)


# ---------------------------------------------------------------- filters against the server

def test_daemonset_pods_are_refused_by_default_and_skipped_with_ignore_daemonsets(lab):
    lab.ready_on_w1([daemonset("agent"), deployment("web", 1)], running=2)
    before = uids(lab, W1)
    with pytest.raises(NodeOpsError) as caught:
        lab.drain(ignore_daemonsets=False)
    assert "cannot delete DaemonSet-managed Pods (use ignore_daemonsets to ignore): " in caught.value.message
    assert "%s/agent-" % lab.namespace in caught.value.message
    # The cluster's own DaemonSets are refused too: kube-proxy runs on every kubeadm node.
    assert "kube-system/kube-proxy-" in caught.value.message
    assert lab.unschedulable(W1) is False
    assert uids(lab, W1) == before

    result = lab.drain(ignore_daemonsets=True)
    assert [s["reason"] for s in lab.ours(result["skipped_pods"])] == ["DaemonSet-managed Pod (ignore_daemonsets)"]
    assert [p for p in lab.pod_names(W1) if p.startswith("agent-")]
    assert not [p for p in lab.pod_names(W1) if p.startswith("web-")]
    assert any(w.startswith("ignoring DaemonSet-managed Pods: ") and "%s/agent-" % lab.namespace in w
               for w in result["drain_warnings"])


def test_a_pod_of_a_daemonset_that_no_longer_exists_needs_force(lab):
    """On a real cluster such a pod is one whose DaemonSet was deleted while it still terminates: the
    garbage collector deletes it, the kubelet holds it for its grace period (it ignores SIGTERM)."""
    lab.ready_on_w1([daemonset("agent", grace=30, command=STUBBORN)], running=1)
    [orphan] = lab.pods(W1)
    name = orphan["metadata"]["name"]
    lab.kubectl("-n", lab.namespace, "delete", "daemonset", "agent", "--wait=false")
    lab.wait_for(lambda: [p for p in lab.pods(W1) if p["metadata"]["name"] == name
                          and p["metadata"].get("deletionTimestamp")],
                 timeout=30, what="the garbage collector deleting the pod of the deleted DaemonSet")
    with pytest.raises(NodeOpsError) as caught:
        lab.drain(ignore_daemonsets=True)
    assert ("cannot delete Pods of a DaemonSet that no longer exists (use force to override): "
            "%s/%s" % (lab.namespace, name)) in caught.value.message
    result = lab.drain(ignore_daemonsets=True, force=True, timeout=60)
    assert [e["name"] for e in lab.ours(result["evicted"])] == [name]
    assert "deleting Pods whose DaemonSet no longer exists: %s/%s" % (lab.namespace, name) \
        in result["drain_warnings"]
    assert lab.pod_names(W1) == []


@pytest.mark.parametrize("docs, refusal, override", [
    ([pod("bare")], "cannot delete Pods that declare no controller (use force to override): {ns}/bare",
     dict(force=True)),
    ([deployment("cache", 1, emptydir=True)],
     "cannot delete Pods with local storage (use delete_emptydir_data to override): {ns}/cache-",
     dict(delete_emptydir_data=True)),
], ids=["a bare pod needs force", "an emptyDir pod needs delete_emptydir_data"])
def test_refused_pods_change_nothing_until_the_override_is_given(lab, docs, refusal, override):
    lab.ready_on_w1(docs + [deployment("web", 1)], running=2)
    before = uids(lab, W1)
    with pytest.raises(NodeOpsError) as caught:
        lab.drain()
    assert refusal.format(ns=lab.namespace) in caught.value.message
    assert caught.value.details["node_left_cordoned"] is False
    assert lab.unschedulable(W1) is False
    assert uids(lab, W1) == before
    result = lab.drain(**override)
    assert len(lab.ours(result["evicted"])) == 2
    assert lab.pod_names(W1) == []


def test_completed_job_pods_are_removed_without_any_override(lab):
    lab.ready_on_w1([job("batch", completions=2)], running=0,
                    until=lambda: sum(1 for p in lab.pods(W1) if p["status"].get("phase") == "Succeeded") == 2,
                    what="two Succeeded job pods on " + W1)
    result = lab.drain()
    assert sorted(e["name"][:5] for e in lab.ours(result["evicted"])) == ["batch", "batch"]
    assert lab.pod_names(W1) == []


def test_mirror_pods_are_skipped(lab):
    """A real static pod: its manifest in the worker's /etc/kubernetes/manifests, its mirror pod made by the
    worker's kubelet."""
    mirror = lab.write_static_pod(W1, pod("static-web"))
    lab.ready_on_w1([deployment("web", 1)], running=2)
    [item] = [p for p in lab.pods(W1) if p["metadata"]["name"] == mirror]
    assert "kubernetes.io/config.mirror" in item["metadata"]["annotations"]
    result = lab.drain()
    assert lab.ours(result["skipped_pods"]) == [dict(namespace=lab.namespace, name=mirror,
                                                     reason="mirror Pod (static Pod managed by the kubelet)")]
    assert lab.pod_names(W1) == [mirror]
    assert lab.pods(W1)[0]["metadata"]["uid"] == item["metadata"]["uid"]


def test_the_control_plane_static_pods_are_skipped_in_a_check_mode_drain_of_the_control_plane(lab):
    before = dict((p["metadata"]["name"], p["metadata"]["uid"]) for p in lab.cluster.node_pods(CP))
    result = lab.drain(name=CP, check_mode=True)
    mirrors = dict((s["name"], s["reason"]) for s in result["skipped_pods"] if s["namespace"] == "kube-system"
                   and not s["name"].startswith("kube-proxy-"))
    assert sorted(mirrors) == sorted("%s-%s" % (component, CP) for component in
                                     ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"))
    assert set(mirrors.values()) == {"mirror Pod (static Pod managed by the kubelet)"}
    # Whatever else runs there (CoreDNS, when the lab deploys it) would be evicted; the static pods never.
    assert not set(mirrors) & set(e["name"] for e in result["evicted"])
    assert result["remaining"] == []
    assert lab.unschedulable(CP) is False
    assert dict((p["metadata"]["name"], p["metadata"]["uid"]) for p in lab.cluster.node_pods(CP)) == before


def test_a_pod_selected_by_two_budgets_is_reported_clearly(lab):
    lab.ready_on_w1([deployment("web", 2), pdb("web-a", "web", max_unavailable=1),
                     pdb("web-b", "web", max_unavailable=1)], running=2, budgets_healthy=False)
    # Only the budgets' generation is awaited: the real disruption controller does not bring a budget whose
    # pods another budget also selects to "all healthy" (the simulation did).
    with pytest.raises(NodeOpsError) as caught:
        lab.drain(timeout=30)
    message = caught.value.message
    assert "selected by more than one PodDisruptionBudget" in message
    assert len(lab.ours(caught.value.details["remaining"])) == 2
    # The real API server's answer (HTTP 500), quoted, and the budgets named, which the server does not do.
    assert "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support" \
        in message
    assert "(%s/web-a, %s/web-b)" % (lab.namespace, lab.namespace) in message
    for entry in lab.ours(caught.value.details["remaining"]):
        assert "%s/web-a, %s/web-b" % (lab.namespace, lab.namespace) in entry["reason"]
    assert len(lab.pod_names(W1)) == 2


# ---------------------------------------------------------------- through Ansible

DRAIN_TASK = """
- name: Drain lab-worker1
  nodeops.kubernetes.drain:
    name: lab-worker1
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
def test_a_budget_that_never_allows_eviction_fails_at_the_timeout_naming_the_budget(lab, uncordon, left_cordoned):
    lab.ready_on_w1([deployment("web", 2), pdb("web", "web", min_available=2)], running=2)
    rc, result, output = lab.playbook(DRAIN_TASK.format(timeout=8, uncordon=str(uncordon).lower()))
    assert rc != 0, output
    assert result["failed"] is True
    assert result["msg"].startswith('drain of node "lab-worker1" did not complete within 8 seconds (timeout): '
                                    "0 of 2 pods evicted; 2 blocked by PodDisruptionBudgets: %s/web-"
                                    % lab.namespace), result["msg"]
    assert "PodDisruptionBudget %s/web (minAvailable 2): 0 disruptions allowed, 2 healthy of 2 desired, " \
        "2 expected pods" % lab.namespace in result["msg"]
    assert [b["pdbs"][0]["name"] for b in result["blocked"]] == ["web", "web"]
    assert result["blocked"][0]["pdbs"][0]["disruptions_allowed"] == 0
    assert result["node_left_cordoned"] is left_cordoned
    assert lab.unschedulable(W1) is left_cordoned
    assert len(lab.pod_names(W1)) == 2


def test_check_mode_reports_the_plan_and_changes_nothing(lab):
    lab.ready_on_w1([daemonset("agent"), deployment("web", 2), pdb("web", "web", min_available=2),
                     deployment("api", 1)], running=4)
    before = uids(lab, W1)
    rc, result, output = lab.playbook(DRAIN_TASK.format(timeout=30, uncordon="false"), check=True)
    assert rc == 0, output
    assert result["changed"] is True
    assert [e["name"][:4] for e in lab.ours(result["evicted"])] == ["api-"]
    assert sorted(b["name"][:4] for b in lab.ours(result["would_be_blocked"])) == ["web-", "web-"]
    assert lab.ours(result["would_be_blocked"])[0]["pdbs"][0]["name"] == "web"
    assert [s["name"][:6] for s in lab.ours(result["skipped_pods"])] == ["agent-"]
    assert lab.unschedulable(W1) is False
    assert uids(lab, W1) == before


def test_a_second_drain_and_a_second_uncordon_report_no_change(lab):
    lab.ready_on_w1([daemonset("agent"), deployment("web", 2), pdb("web", "web", max_unavailable=1)], running=3)
    tasks = DRAIN_TASK.format(timeout=60, uncordon="false") + """
- name: Drain lab-worker1 again
  nodeops.kubernetes.drain:
    name: lab-worker1
    state: drain
    ignore_daemonsets: true
  register: again
- name: Uncordon lab-worker1 once Ready
  nodeops.kubernetes.drain:
    name: lab-worker1
    state: uncordon
    ready_timeout: 30
  register: uncordoned
- name: Uncordon lab-worker1 again
  nodeops.kubernetes.drain:
    name: lab-worker1
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
      ready_evidence: "{{ uncordoned.ready_evidence | default('') }}"
"""
    rc, result, output = lab.playbook(tasks)
    assert rc == 0, output
    # The real kubelet renews its Lease in kube-node-lease: the uncordon saw it alive.
    assert result.pop("ready_evidence").endswith("Lease renewed")
    assert result == dict(first=True, second=False, second_evicted=0, uncordon=True, uncordon_again=False)
    assert lab.unschedulable(W1) is False


def test_the_role_drains_runs_the_work_and_uncordons(lab):
    # The role has no connection variables of its own any more (node_maintenance_kubeconfig was removed):
    # the play's module_defaults of group/nodeops.kubernetes.k8s reach it.
    lab.ready_on_w1([daemonset("agent"), deployment("web", 3), pdb("web", "web", max_unavailable=1)], running=4)
    work = "%s/work.yml" % lab.state_dir
    with open(work, "w") as handle:
        handle.write("- name: Record the pods evicted before the work\n"
                     "  ansible.builtin.set_fact:\n"
                     "    pods_during_work: \"{{ node_maintenance_drain_result.evicted | length }}\"\n")
    tasks = """
- name: Maintain lab-worker1
  ansible.builtin.include_role:
    name: nodeops.kubernetes.node_maintenance
  vars:
    node_maintenance_node: lab-worker1
    node_maintenance_work_tasks: %s
    node_maintenance_eviction_retry_interval: 0.3
    node_maintenance_ready_timeout: 60
- name: Collect
  ansible.builtin.set_fact:
    result:
      capacity_ok: "{{ node_maintenance_capacity_result.ok }}"
      evicted: "{{ node_maintenance_drain_result.evicted | selectattr('namespace', 'equalto', '%s') | length }}"
      during_work: "{{ pods_during_work }}"
      uncordoned: "{{ node_maintenance_uncordon_result.changed }}"
""" % (work, lab.namespace)
    rc, result, output = lab.playbook(tasks)
    assert rc == 0, output
    assert int(result.pop("during_work")) == 3
    assert result == dict(capacity_ok=True, evicted=3, uncordoned=True)
    assert lab.unschedulable(W1) is False
    assert "Drain node lab-worker1" in output and "Wait until Ready, then uncordon node lab-worker1" in output

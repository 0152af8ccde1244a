"""Pods refused by a PodDisruptionBudget are released as their budget has room, never more."""

import itertools

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_budgets import release_allowed
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_filters import PodDecision
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_result import Outcome

from test_drain_fakes import FakeCluster, make_pdb, make_pod

_sequence = itertools.count()


def scheduled(*names):
    return [(1.0, next(_sequence), Outcome(PodDecision(make_pod(name, labels={"app": "web"})), 0.0))
            for name in names]


def test_a_budget_with_room_for_one_releases_the_first_due_pod_only():
    cluster = FakeCluster(pdbs=[make_pdb("web", match_labels={"app": "web"}, disruptions_allowed=1)])
    entries = scheduled("web-0", "web-1")
    released, kept = release_allowed(entries, cluster.list_pdbs, stop=lambda: False)
    assert [o.decision.name for o in released] == ["web-0"]
    assert [e[2].decision.name for e in kept] == ["web-1"]
    assert len(cluster.calls_of("list_pdbs")) == 1


def test_pods_selected_by_two_budgets_or_none_keep_their_schedule():
    cluster = FakeCluster(pdbs=[make_pdb("a", match_labels={"app": "web"}, disruptions_allowed=5),
                                make_pdb("b", match_labels={"app": "web"}, disruptions_allowed=5)])
    released, kept = release_allowed(scheduled("web-0"), cluster.list_pdbs, stop=lambda: False)
    assert released == [] and len(kept) == 1


def test_nothing_is_read_or_released_once_the_drain_must_stop():
    cluster = FakeCluster(pdbs=[make_pdb("web", match_labels={"app": "web"}, disruptions_allowed=3)])
    released, kept = release_allowed(scheduled("web-0", "web-1"), cluster.list_pdbs, stop=lambda: True)
    assert released == [] and len(kept) == 2
    assert cluster.calls_of("list_pdbs") == []

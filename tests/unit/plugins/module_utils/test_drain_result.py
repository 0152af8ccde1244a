"""The outcome of each pod of a drain is one of a closed set of kinds, and each kind has its place in the
result."""

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_filters import PodDecision
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import DrainOptions
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_result import (
    DONE,
    DrainReport,
    Kind,
    Outcome,
    Refusal,
    new_result,
)

from test_drain_fakes import FakeCluster, make_pod


def outcome(name="web-0", kind=None):
    found = Outcome(PodDecision(make_pod(name)), started=0.0)
    if kind is not None:
        found.kind = kind
    return found


@pytest.mark.parametrize("value", ["gone", "accepted", None, 3])
def test_an_outcome_takes_no_kind_outside_the_closed_set(value):
    with pytest.raises(TypeError):
        outcome().kind = value


def test_an_outcome_starts_pending_and_takes_any_kind_of_the_set():
    found = outcome()
    assert found.kind is Kind.PENDING
    for kind in Kind:
        found.kind = kind
        assert found.kind is kind


@pytest.mark.parametrize("value", ["budget", "throttled", 429])
def test_an_outcome_takes_no_refusal_outside_the_closed_set(value):
    with pytest.raises(TypeError):
        outcome().refusal = value


@pytest.mark.parametrize("kind", [kind for kind in Kind if kind is not Kind.PENDING], ids=lambda kind: kind.value)
def test_every_final_kind_has_exactly_one_place_in_the_result(kind):
    result = new_result("w1", "drain")
    report = DrainReport(result, FakeCluster(), DrainOptions(), clock=lambda: 1.0)
    found = outcome(kind=kind)
    found.message = "the last answer"
    report.record([found])
    places = [key for key in ("evicted", "remaining", "would_be_blocked") if result[key]]
    assert places == ["evicted" if kind in DONE else "would_be_blocked" if kind is Kind.WOULD_BE_BLOCKED
                      else "remaining"]
    if places == ["remaining"]:
        assert result["remaining"][0]["reason"]


def test_a_refusal_is_a_budget_or_throttling():
    assert {refusal.value for refusal in Refusal} == {"budget", "throttled"}

"""The pod filters and the label selector parser of the drain, table-driven."""

import datetime

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as f
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from test_drain_fakes import make_pod

NOW = datetime.datetime(2024, 1, 1, 12, 0, 0, tzinfo=f.UTC)


def exists(*known):
    return lambda namespace, name: (namespace, name) in known


def opts(**kwargs):
    return f.FilterOptions(**kwargs)


# ---------------------------------------------------------------- filters alone

@pytest.mark.parametrize("pod, options, expected", [
    (make_pod("web-1"), opts(), f.EVICT),
    (make_pod("web-1", deleting_since="2024-01-01T11:00:00Z"), opts(), f.EVICT),
    (make_pod("web-1", deleting_since="2024-01-01T11:00:00Z"), opts(skip_wait_for_delete_timeout=60), f.SKIP),
    (make_pod("web-1", deleting_since="2024-01-01T11:59:30Z"), opts(skip_wait_for_delete_timeout=60), f.EVICT),
    (make_pod("web-1"), opts(skip_wait_for_delete_timeout=60), f.EVICT),
], ids=[
    "a running pod passes",
    "a pod being deleted is evicted again and waited for when skip_wait_for_delete_timeout is off",
    "a pod deleting for longer than skip_wait_for_delete_timeout is skipped",
    "a pod deleting for less than skip_wait_for_delete_timeout is still evicted",
    "a pod not being deleted ignores skip_wait_for_delete_timeout",
])
def test_the_deleting_filter(pod, options, expected):
    assert f.filter_deleting(pod, options, exists(), NOW)[0] == expected


DS = ("DaemonSet", "agent")


@pytest.mark.parametrize("pod, options, known, expected, override", [
    (make_pod("agent-x", owner=DS), opts(), [("default", "agent")], f.REFUSE, "ignore_daemonsets"),
    (make_pod("agent-x", owner=DS), opts(ignore_daemonsets=True), [("default", "agent")], f.SKIP, None),
    (make_pod("agent-x", owner=DS), opts(ignore_daemonsets=True), [], f.REFUSE, "force"),
    (make_pod("agent-x", owner=DS), opts(ignore_daemonsets=True, force=True), [], f.EVICT, None),
    (make_pod("agent-x", owner=DS, phase="Succeeded"), opts(), [("default", "agent")], f.EVICT, None),
    (make_pod("agent-x", owner=DS, phase="Failed"), opts(), [], f.EVICT, None),
    (make_pod("web-1"), opts(), [], f.EVICT, None),
    (make_pod("bare", owner=None), opts(), [], f.EVICT, None),
], ids=[
    "a DaemonSet pod is refused without ignore_daemonsets",
    "a DaemonSet pod is skipped with ignore_daemonsets",
    "a pod of a vanished DaemonSet is refused without force even with ignore_daemonsets",
    "a pod of a vanished DaemonSet is deleted with force",
    "a finished DaemonSet pod is removed",
    "a failed pod of a vanished DaemonSet is removed",
    "a ReplicaSet pod is not the DaemonSet filter's business",
    "a bare pod is not the DaemonSet filter's business",
])
def test_the_daemonset_filter(pod, options, known, expected, override):
    action, _reason, got_override, _warning = f.filter_daemonset(pod, options, exists(*known), NOW)
    assert (action, got_override) == (expected, override)


def test_a_daemonset_owner_of_another_api_group_is_not_a_daemonset():
    pod = make_pod("agent-x", owner=DS)
    pod["metadata"]["ownerReferences"][0]["apiVersion"] = "example.com/v1"
    assert f.filter_daemonset(pod, opts(), exists(), NOW)[0] == f.EVICT


@pytest.mark.parametrize("pod, expected", [
    (make_pod("kube-apiserver-w1", owner=("Node", "w1"), mirror=True), f.SKIP),
    (make_pod("web-1"), f.EVICT),
], ids=["a mirror pod is skipped", "a normal pod passes"])
def test_the_mirror_filter(pod, expected):
    assert f.filter_mirror(pod, opts(), exists(), NOW)[0] == expected


@pytest.mark.parametrize("pod, options, expected, warning", [
    (make_pod("cache-1", emptydir=True), opts(), f.REFUSE, None),
    (make_pod("cache-1", emptydir=True), opts(delete_emptydir_data=True), f.EVICT, f.WARN_LOCAL_STORAGE),
    (make_pod("cache-1", emptydir=True, phase="Succeeded"), opts(), f.EVICT, None),
    (make_pod("cache-1", emptydir=True, phase="Failed"), opts(), f.EVICT, None),
    (make_pod("web-1"), opts(), f.EVICT, None),
], ids=[
    "a running pod with emptyDir is refused without delete_emptydir_data",
    "a running pod with emptyDir is evicted with a warning under delete_emptydir_data",
    "a succeeded pod with emptyDir is removed",
    "a failed pod with emptyDir is removed",
    "a pod without emptyDir passes",
])
def test_the_local_storage_filter(pod, options, expected, warning):
    action, _reason, _override, got_warning = f.filter_local_storage(pod, options, exists(), NOW)
    assert (action, got_warning) == (expected, warning)


@pytest.mark.parametrize("pod, options, expected, warning", [
    (make_pod("bare", owner=None), opts(), f.REFUSE, None),
    (make_pod("bare", owner=None), opts(force=True), f.EVICT, f.WARN_UNMANAGED),
    (make_pod("bare", owner=None, phase="Succeeded"), opts(), f.EVICT, None),
    (make_pod("job-x", owner=("Job", "job")), opts(), f.EVICT, None),
], ids=[
    "a bare pod is refused without force",
    "a bare pod is deleted with a warning under force",
    "a finished bare pod is removed",
    "a Job pod has a controller and passes",
])
def test_the_unreplicated_filter(pod, options, expected, warning):
    action, _reason, _override, got_warning = f.filter_unreplicated(pod, options, exists(), NOW)
    assert (action, got_warning) == (expected, warning)


# ---------------------------------------------------------------- the chain

@pytest.mark.parametrize("pod, options, known, action, reason", [
    (make_pod("web-1"), opts(), [], f.EVICT, None),
    (make_pod("agent-x", owner=DS), opts(ignore_daemonsets=True), [("default", "agent")], f.SKIP,
     "DaemonSet-managed Pod (ignore_daemonsets)"),
    (make_pod("agent-x", owner=DS, emptydir=True), opts(ignore_daemonsets=True), [("default", "agent")], f.SKIP,
     "DaemonSet-managed Pod (ignore_daemonsets)"),
    (make_pod("agent-x", owner=DS), opts(), [], f.REFUSE, "Pods of a DaemonSet that no longer exists"),
    (make_pod("agent-x", owner=DS, emptydir=True), opts(force=True), [], f.REFUSE, "Pods with local storage"),
    (make_pod("etcd-w1", owner=None, mirror=True), opts(), [], f.SKIP, f.SKIP_MIRROR),
    (make_pod("bare", owner=None, emptydir=True), opts(), [], f.REFUSE, "Pods with local storage"),
    (make_pod("bare", owner=None, emptydir=True), opts(delete_emptydir_data=True), [], f.REFUSE,
     "Pods that declare no controller"),
    (make_pod("bare", owner=None, emptydir=True), opts(delete_emptydir_data=True, force=True), [], f.EVICT, None),
    (make_pod("done", owner=None, phase="Succeeded", emptydir=True), opts(), [], f.EVICT, None),
    (make_pod("old", owner=DS, deleting_since="2024-01-01T10:00:00Z"), opts(skip_wait_for_delete_timeout=5), [],
     f.SKIP, "deletion started more than 5 seconds ago (skip_wait_for_delete_timeout)"),
], ids=[
    "a ReplicaSet pod is evicted",
    "a DaemonSet pod is skipped under ignore_daemonsets",
    "a skipped DaemonSet pod never reaches the local storage filter",
    "an orphaned DaemonSet pod is refused",
    "an orphaned DaemonSet pod under force still needs delete_emptydir_data for its emptyDir",
    "a mirror pod is skipped",
    "a bare pod with emptyDir is first refused for its local storage",
    "a bare pod with emptyDir allowed is then refused for having no controller",
    "a bare pod with emptyDir is evicted with both overrides",
    "a finished bare pod with emptyDir is removed without overrides",
    "a long-deleting pod is skipped before any other filter runs",
])
def test_the_filter_chain_keeps_kubectl_order(pod, options, known, action, reason):
    decision = f.decide(pod, options, exists(*known), NOW)
    assert (decision.action, decision.reason) == (action, reason)


def test_the_chain_collects_every_warning_of_an_evicted_pod():
    pod = make_pod("bare", owner=None, emptydir=True)
    decision = f.decide(pod, opts(delete_emptydir_data=True, force=True), exists(), NOW)
    assert decision.warnings == [f.WARN_LOCAL_STORAGE, f.WARN_UNMANAGED]


def test_each_daemonset_is_looked_up_once():
    lookups = []

    def lookup(namespace, name):
        lookups.append((namespace, name))
        return True

    pods = [make_pod("agent-%d" % i, owner=DS) for i in range(5)]
    f.decide_all(pods, opts(ignore_daemonsets=True), lookup, NOW)
    assert lookups == [("default", "agent")]


def test_refusals_are_grouped_by_cause_in_kubectl_words_with_our_option_names():
    pods = [
        make_pod("agent-a", namespace="kube-system", owner=DS),
        make_pod("agent-b", namespace="kube-system", owner=DS),
        make_pod("cache-1", namespace="shop", emptydir=True),
        make_pod("bare", namespace="dev", owner=None),
        make_pod("web-1"),
    ]
    decisions = f.decide_all(pods, opts(), exists(("kube-system", "agent")), NOW)
    assert f.refusal_message(decisions) == (
        "cannot delete DaemonSet-managed Pods (use ignore_daemonsets to ignore): kube-system/agent-a, "
        "kube-system/agent-b; "
        "cannot delete Pods with local storage (use delete_emptydir_data to override): shop/cache-1; "
        "cannot delete Pods that declare no controller (use force to override): dev/bare")
    assert [(d.name, d.override) for d in decisions if d.action == f.REFUSE] == [
        ("agent-a", "ignore_daemonsets"), ("agent-b", "ignore_daemonsets"), ("cache-1", "delete_emptydir_data"),
        ("bare", "force")]


def test_no_refusal_gives_no_message():
    decisions = f.decide_all([make_pod("web-1")], opts(), exists(), NOW)
    assert f.refusal_message(decisions) is None


def test_warnings_are_grouped_like_kubectl():
    pods = [make_pod("agent-a", owner=DS), make_pod("agent-b", owner=DS), make_pod("bare", owner=None)]
    decisions = f.decide_all(pods, opts(ignore_daemonsets=True, force=True), exists(("default", "agent")), NOW)
    assert f.warning_messages(decisions) == [
        "ignoring DaemonSet-managed Pods: default/agent-a, default/agent-b",
        "deleting Pods that declare no controller: default/bare",
    ]


# ---------------------------------------------------------------- label selectors

@pytest.mark.parametrize("text, labels, matches", [
    ("", {"app": "x"}, True),
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "web"}, True),
    ("app=web", {"app": "db"}, False),
    ("app!=web", {"app": "db"}, True),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("tier in (front, back)", {"tier": "back"}, True),
    ("tier in (front,back)", {"tier": "db"}, False),
    ("tier notin (front,back)", {"tier": "db"}, True),
    ("tier notin (front,back)", {}, True),
    ("canary", {"canary": ""}, True),
    ("canary", {}, False),
    ("!canary", {}, True),
    ("!canary", {"canary": "yes"}, False),
    ("app=web,!canary,tier in (a)", {"app": "web", "tier": "a"}, True),
    ("example.com/team=ops", {"example.com/team": "ops"}, True),
    ("app=", {"app": ""}, True),
    ("prio>5", {"prio": "7"}, True),
    ("prio<5", {"prio": "7"}, False),
    ("  app = web ,  tier  ", {"app": "web", "tier": "x"}, True),
], ids=lambda value: repr(value) if isinstance(value, str) else None)
def test_selectors_match_like_the_api_server(text, labels, matches):
    assert f.parse_label_selector(text).matches(labels) is matches


@pytest.mark.parametrize("text, fragment", [
    ("app=web=x", "expected ','"),
    ("app in web", "expected '('"),
    ("app in (a,b", "expected ',' or ')'"),
    ("=web", "expected a label key"),
    ("app=web,", "expected a label key"),
    ("-app=web", "name part of label key"),
    ("Example.com/app=x", "prefix of label key"),
    ("app=" + "x" * 64, "label value"),
    ("app=-web", "label value"),
    ("!app=web", "cannot be followed by an operator"),
    ("prio>high", "must be an integer"),
    ("app web", "expected an operator"),
    ("/app=x", "empty prefix"),
], ids=repr)
def test_invalid_selectors_are_refused_with_the_position_and_an_example(text, fragment):
    with pytest.raises(NodeOpsError) as caught:
        f.parse_label_selector(text)
    assert fragment in caught.value.message
    assert "invalid pod_selector" in caught.value.message
    assert "at character" in caught.value.message


def test_a_parsed_selector_prints_in_the_api_syntax():
    assert str(f.parse_label_selector("app = web, tier in (b,a), !canary, x")) == "app=web,tier in (a,b),!canary,x"


@pytest.mark.parametrize("selector, labels, matches", [
    (None, {"app": "web"}, False),
    ({}, {"app": "web"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]}, {"tier": "a"}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {"tier": "a"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True),
], ids=["a null selector selects nothing", "an empty selector selects everything", "matchLabels subset",
        "matchLabels mismatch", "In", "NotIn", "Exists", "DoesNotExist"])
def test_pod_disruption_budget_selectors(selector, labels, matches):
    assert f.object_selector_matches(selector, labels) is matches


@pytest.mark.parametrize("text, expected", [
    ("2024-01-01T12:00:00Z", datetime.datetime(2024, 1, 1, 12, tzinfo=f.UTC)),
    ("2024-01-01T12:00:00.5Z", datetime.datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=f.UTC)),
    ("2024-01-01T14:00:00+02:00", datetime.datetime(2024, 1, 1, 12, tzinfo=f.UTC)),
    (None, None),
])
def test_api_timestamps_are_parsed(text, expected):
    assert f.parse_timestamp(text) == expected

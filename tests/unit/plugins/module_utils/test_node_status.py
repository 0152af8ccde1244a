# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_node_status: the summary of a Node, what it lacks, and the wait for a fresh Ready."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _node_status as ns
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def node(ready="True", heartbeat="2026-12-02T10:00:00Z", runtime="containerd://2.1.4", unschedulable=False):
    return {"metadata": {"name": "w1"}, "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"nodeInfo": {"containerRuntimeVersion": runtime, "kubeletVersion": "v1.34.4"},
                       "conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat,
                                       "reason": "KubeletReady", "message": "kubelet is posting ready status"}]}}


def test_summarize_reads_ready_heartbeat_cordon_and_runtime():
    summary = ns.summarize(node(unschedulable=True))
    assert summary == {"exists": True, "ready": True, "ready_status": "True", "heartbeat": "2026-12-02T10:00:00Z",
                       "reason": "KubeletReady: kubelet is posting ready status", "unschedulable": True,
                       "runtime_version": "containerd://2.1.4", "kubelet_version": "v1.34.4"}


def test_summarize_of_a_missing_node_and_of_one_without_conditions():
    assert ns.summarize(None)["exists"] is False and ns.summarize({})["ready"] is False
    bare = ns.summarize({"metadata": {"name": "w1"}})
    assert bare["exists"] and not bare["ready"] and bare["reason"] == "no Ready condition reported"
    assert bare["unschedulable"] is False and bare["runtime_version"] is None


def test_unmet_names_each_missing_part():
    assert ns.unmet(ns.summarize(node())) == []
    assert ns.unmet(ns.summarize(None)) == ["the Node object does not exist"]
    stale = ns.unmet(ns.summarize(node()), fresh_after="2026-12-02T10:00:00Z")
    assert stale == ["no heartbeat since 2026-12-02T10:00:00Z (the kubelet has not posted its status since then)"]
    assert ns.unmet(ns.summarize(node()), fresh_after="2026-12-02T09:59:00Z") == []
    docker = ns.unmet(ns.summarize(node(runtime="docker://28.2.2")), runtime_prefix="containerd://")
    assert docker == ["its runtime is docker://28.2.2, not containerd://..."]
    not_ready = ns.unmet(ns.summarize(node(ready="Unknown")))
    assert not_ready == ["not Ready (Ready=Unknown, KubeletReady: kubelet is posting ready status)"]


@pytest.mark.parametrize("text, seconds", [
    ("2026-12-02T10:00:00Z", 1796205600),
    ("2026-12-02T10:00:00.999999Z", 1796205600),
    ("2026-12-02T11:30:00+01:30", 1796205600),
    ("2026-12-02T08:00:00-02:00", 1796205600),
    ("2026-12-02T10:00:00", None),
    ("2026-02-30T10:00:00Z", None),
    ("yesterday", None),
    (None, None),
])
def test_epoch_second_reads_rfc3339_times_to_the_whole_second(text, seconds):
    assert ns.epoch_second(text) == seconds


def test_a_heartbeat_counts_only_from_the_second_after_the_moment_given():
    stopped = "2026-12-02T10:00:00.734512Z"
    assert not ns.heartbeat_is_after("2026-12-02T09:59:59Z", stopped)
    # posted in the second of the stop: maybe by the kubelet that was stopped, so not proof
    assert not ns.heartbeat_is_after("2026-12-02T10:00:00Z", stopped)
    assert ns.heartbeat_is_after("2026-12-02T10:00:01Z", stopped)
    assert not ns.heartbeat_is_after(None, stopped) and not ns.heartbeat_is_after("2026-12-02T10:00:01Z", "soon")
    missing = ns.unmet(ns.summarize(node(heartbeat="2026-12-02T10:00:00Z")), heartbeat_after=stopped)
    assert missing == ["no heartbeat after 2026-12-02T10:00:00.734512Z (its last is 2026-12-02T10:00:00Z: the "
                       "kubelet started since has not posted its status yet)"]
    assert ns.unmet(ns.summarize(node(heartbeat="2026-12-02T10:00:05Z")), heartbeat_after=stopped) == []


def test_wait_reads_until_a_heartbeat_posted_after_the_stop():
    clock = Clock()
    client = Client(node(heartbeat="2026-12-02T10:00:00Z"), node(ready="False", heartbeat="2026-12-02T10:00:03Z"),
                    node(heartbeat="2026-12-02T10:00:04Z"))
    _found, summary, waited = ns.NodeStatusWait(client, clock, clock.sleep).wait(
        "w1", 60, 2, heartbeat_after="2026-12-02T10:00:00.500000Z")
    assert client.reads == 3 and waited == 4.0 and summary["heartbeat"] == "2026-12-02T10:00:04Z"


class Clock(object):
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Client(object):
    """Answers get_node with the given Nodes in turn (the last one again when they run out)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.reads = 0

    def get_node(self, name):
        assert name == "w1"
        self.reads += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_wait_reads_until_a_fresh_heartbeat_then_returns_the_node_and_the_time_waited():
    clock = Clock()
    client = Client(node(heartbeat="T0"), node(ready="Unknown", heartbeat="T0"), node(heartbeat="T1"))
    found, summary, waited = ns.NodeStatusWait(client, clock, clock.sleep).wait("w1", 60, 2, fresh_after="T0")
    assert client.reads == 3 and clock.sleeps == [2, 2] and waited == 4.0
    assert summary["heartbeat"] == "T1" and found["status"]["conditions"][1]["lastHeartbeatTime"] == "T1"


def test_wait_returns_at_once_when_nothing_is_missing():
    clock = Clock()
    client = Client(node())
    found, summary, waited = ns.NodeStatusWait(client, clock, clock.sleep).wait("w1", 60, 2)
    assert summary["ready"] and waited == 0.0 and clock.sleeps == [] and client.reads == 1
    assert found["metadata"]["name"] == "w1"


def test_wait_fails_after_the_timeout_naming_the_node_and_what_it_lacked():
    clock = Clock()
    client = Client(node(runtime="docker://28.2.2"))
    with pytest.raises(NodeOpsError) as caught:
        ns.NodeStatusWait(client, clock, clock.sleep).wait("w1", 10, 3, runtime_prefix="containerd://")
    message = caught.value.message
    assert 'node "w1" did not become Ready within 10 s' in message
    assert "its runtime is docker://28.2.2, not containerd://..." in message and "journalctl -u kubelet" in message
    assert clock.sleeps == [3, 3, 3] and client.reads == 4
    details = caught.value.details
    assert details["status"]["runtime_version"] == "docker://28.2.2" and details["waited"] == 9.0
    assert details["resources"][0]["metadata"]["name"] == "w1"


def test_wait_for_a_node_that_does_not_exist_fails_with_no_resources():
    clock = Clock()
    with pytest.raises(NodeOpsError) as caught:
        ns.NodeStatusWait(Client(None), clock, clock.sleep).wait("w1", 0, 2)
    assert "the Node object does not exist" in caught.value.message
    assert caught.value.details["resources"] == [] and clock.sleeps == []


class FlakyClient(Client):
    """Fails the reads listed in ``failures`` (read number -> NodeOpsError), answers the others."""

    def __init__(self, failures, *answers):
        super(FlakyClient, self).__init__(*answers)
        self.failures = failures
        self.limit = None

    def limit_requests(self, time_left, longest=None):
        self.limit = time_left
        self.longest = longest

    def get_node(self, name):
        self.reads += 1
        if self.reads in self.failures:
            raise self.failures[self.reads]
        self.reads -= 1
        return super(FlakyClient, self).get_node(name)


def test_wait_reads_again_after_an_api_server_that_is_restarting_and_bounds_the_requests():
    clock = Clock()
    client = FlakyClient({1: NodeOpsError("read node: 503", status=503),
                          2: NodeOpsError("read node: cannot reach", api_unreachable=True)}, node(heartbeat="T1"))
    found, summary, waited = ns.NodeStatusWait(client, clock, clock.sleep).wait("w1", 60, 2, fresh_after="T0")
    assert summary["heartbeat"] == "T1" and waited == 4.0 and client.reads == 3
    assert found["status"]["conditions"][1]["lastHeartbeatTime"] == "T1"
    assert client.limit() == 56.0
    assert client.longest == ns.READ_REQUEST_SECONDS  # one unanswered read cannot use up the whole wait


def test_wait_ends_at_once_on_an_error_that_will_not_pass():
    clock = Clock()
    client = FlakyClient({1: NodeOpsError("read node: 404 page not found", status=404)}, node())
    with pytest.raises(NodeOpsError) as caught:
        ns.NodeStatusWait(client, clock, clock.sleep).wait("w1", 60, 2)
    assert caught.value.message == "read node: 404 page not found" and clock.sleeps == []


def test_wait_reads_again_after_a_refusal_of_an_api_server_still_loading_its_rbac_bindings():
    clock = Clock()
    client = FlakyClient({1: NodeOpsError("read node: forbidden", status=403)}, node())
    found, summary, waited = ns.NodeStatusWait(client, clock, clock.sleep).wait("w1", 60, 2)
    assert found["metadata"]["name"] == "w1" and summary["ready"] and waited == 2.0 and client.reads == 2


def test_wait_that_times_out_on_errors_says_what_the_last_read_answered():
    clock = Clock()
    client = FlakyClient(dict((n, NodeOpsError("read node: 500 etcd", status=500)) for n in range(1, 9)), node())
    with pytest.raises(NodeOpsError) as caught:
        ns.NodeStatusWait(client, clock, clock.sleep).wait("w1", 4, 2)
    assert caught.value.message.startswith('node "w1" did not become Ready within 4 s: the last read failed: '
                                           "read node: 500 etcd")
    assert caught.value.details["resources"] == [] and caught.value.details["status"]["exists"] is False

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_query.run: every failure is tried again within the tries; the last one is reported."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.modules import dns_query as module

PARAMS = dict(server="169.254.20.10", qname="kubernetes.default.svc.cluster.local", qtype="A", port=53,
              protocol="udp", timeout=2.0, retries=4, expect=["10.96.0.1"])


class Server(object):
    """Answers (dicts) or errors (NodeOpsError) in turn, one per query; counts the sleeps."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.queries = 0
        self.sleeps = 0

    def send(self, server, qname, **kwargs):
        self.queries += 1
        answer = self.answers.pop(0)
        if isinstance(answer, NodeOpsError):
            raise answer
        return dict(answer)

    def sleep(self, seconds):
        self.sleeps += 1


def good():
    return {"rcode": "NOERROR", "addresses": ["10.96.0.1"], "seconds": 0.001}


def test_a_good_first_answer_is_returned_without_a_wait():
    server = Server(good())
    result = module.run(dict(PARAMS), sleep=server.sleep, send=server.send)
    assert result["addresses"] == ["10.96.0.1"] and result["attempts"] == 1 and result["changed"] is False
    assert server.sleeps == 0


def test_no_answer_then_servfail_then_no_address_then_a_good_answer():
    server = Server(NodeOpsError("no answer from 169.254.20.10:53/udp within 2.0 s"),
                    {"rcode": "SERVFAIL", "addresses": [], "seconds": 0.001},
                    {"rcode": "NOERROR", "addresses": [], "seconds": 0.001},
                    good())
    result = module.run(dict(PARAMS), sleep=server.sleep, send=server.send)
    assert result["attempts"] == 4 and server.queries == 4 and server.sleeps == 3


def test_the_last_failure_is_reported_with_the_tries():
    server = Server(NodeOpsError("no answer"), {"rcode": "NXDOMAIN", "addresses": [], "seconds": 0.001})
    with pytest.raises(NodeOpsError) as caught:
        module.run(dict(PARAMS, retries=2), sleep=server.sleep, send=server.send)
    assert caught.value.message == ("169.254.20.10:53/udp answered NXDOMAIN for kubernetes.default.svc.cluster.local"
                                    " (after 2 tries)")
    assert caught.value.details["rcode"] == "NXDOMAIN" and caught.value.details["attempts"] == 2


def test_a_missing_expected_address_names_it():
    wrong = {"rcode": "NOERROR", "addresses": ["10.96.0.2"], "seconds": 0.001}
    server = Server(wrong, dict(wrong))
    with pytest.raises(NodeOpsError) as caught:
        module.run(dict(PARAMS, retries=2), sleep=server.sleep, send=server.send)
    assert "answered 10.96.0.2" in caught.value.message and "without the expected 10.96.0.1" in caught.value.message


def test_zero_retries_still_sends_one_query():
    server = Server(NodeOpsError("no answer"))
    with pytest.raises(NodeOpsError) as caught:
        module.run(dict(PARAMS, retries=0), sleep=server.sleep, send=server.send)
    assert server.queries == 1 and caught.value.details["attempts"] == 1

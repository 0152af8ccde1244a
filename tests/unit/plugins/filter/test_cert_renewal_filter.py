# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the cert_renewal filter plugin wrappers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.kubernetes.plugins.filter import cert_renewal


def _pod(started):
    return {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "kube-apiserver", "containerID": "containerd://1", "ready": True,
                                              "state": {"running": {"startedAt": started}}}]}}


def test_filters_are_registered():
    assert set(cert_renewal.FilterModule().filters()) == {"cert_renewal_plan", "cert_renewal_outcome",
                                                          "cert_renewal_pod_ready"}


def test_pod_ready_answers_ready_and_why():
    assert cert_renewal.cert_renewal_pod_ready(_pod("2026-12-01T12:26:01Z"), "2026-12-01T12:25:00Z")["ready"] is True
    stale = cert_renewal.cert_renewal_pod_ready(_pod("2026-12-01T12:20:47Z"), "2026-12-01T12:25:00Z")
    assert stale["ready"] is False and "before the restart" in stale["why"]
    # No pod (k8s_info found none, or the API server did not answer): not ready, said so.
    missing = cert_renewal.cert_renewal_pod_ready(None, "2026-12-01T12:25:00Z")
    assert missing == {"ready": False, "why": "the mirror pod does not exist yet"}


@pytest.mark.parametrize("pod, since, words", [
    (_pod("2026-12-01T12:26:01Z"), "yesterday", "not an RFC 3339 UTC time"),
    ({"status": "Running"}, "2026-12-01T12:25:00Z", "expects a Pod"),
])
def test_pod_ready_turns_bad_input_into_a_filter_error(pod, since, words):
    with pytest.raises(AnsibleFilterError, match=words):
        cert_renewal.cert_renewal_pod_ready(pod, since)

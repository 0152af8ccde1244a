# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings of the Docker dependency scan: the closed set of severities and the one shape of a finding.

A finding is a plain dict ``{id, check, severity, where, what, breaks, fix}``
plus optional details (``nodes``, ``containers``, ``path``, ``lines``...); it
goes into the module result as it is. Its ``id`` is ``<check>:<where>`` and
does not change between runs, so it can be acknowledged in advance.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from enum import Enum


class Severity(Enum):
    """How much a finding matters for the switch to containerd, most severe first."""

    # Something stops working after the switch and the switch does not handle it.
    BLOCKING = "blocking"
    # Something probably needs work, but Kubernetes workloads keep running.
    WARNING = "warning"
    # Carried over automatically, or harmless.
    INFO = "info"

    @classmethod
    def of(cls, value):
        """Return the member for a member or its value (``"blocking"``); anything else is a ValueError."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError("unknown severity %r" % (value,))

    @property
    def rank(self):
        """0 for the most severe."""
        return _RANKS[self]


_RANKS = dict((severity, rank) for rank, severity in enumerate(Severity))
SEVERITIES = tuple(severity.value for severity in Severity)


def finding(check, where, severity, what, breaks, fix, **extra):
    """Build one finding; ``id`` is ``<check>:<where>``; ``severity`` is a :class:`Severity` or its value."""
    item = {"id": "%s:%s" % (check, where), "check": check, "severity": Severity.of(severity).value,
            "where": where, "what": what, "breaks": breaks, "fix": fix}
    item.update(extra)
    return item


def sort_findings(findings):
    """Most severe first, then by id."""
    return sorted(findings, key=lambda item: (Severity.of(item["severity"]).rank, item["id"]))


class NodeFindings(object):
    """The findings of one node, where ``where`` is ``node/<name>`` or ``node/<name>:<suffix>``."""

    def __init__(self, node):
        self.node = node
        self.items = []

    def where(self, suffix=None):
        return "node/%s%s" % (self.node, (":" + suffix) if suffix else "")

    def add(self, check, severity, what, breaks, fix, suffix=None, **extra):
        self.items.append(finding(check, self.where(suffix), severity, what, breaks, fix, nodes=[self.node],
                                  **extra))

    def result(self):
        """The findings sorted most severe first; of several findings with one id the first one found counts."""
        unique = {}
        for item in self.items:
            unique.setdefault(item["id"], item)
        return sort_findings(unique.values())

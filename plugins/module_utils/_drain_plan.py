# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of a drain: the pods of the node through the filters of kubectl drain (its GetPodsForDeletion)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain_filters as filters


class DrainPlanner(object):
    """Lists the pods of the node and decides for each: evict, skip or refuse.

    ``after_request()`` runs after each API request (the drain checks its deadline there);
    ``now()`` returns the current aware UTC datetime.
    """

    def __init__(self, client, node_name, options, now, after_request):
        self.client = client
        self.node_name = node_name
        self.options = options
        self.now = now
        self.after_request = after_request

    def plan(self, result):
        """The decisions of the pods to evict; skipped and refused pods and the warnings go to ``result``.

        Any refused pod stops the drain with every refused pod and the option that overrides it.
        """
        pods = self.client.list_pods(self.node_name, str(self.options.selector), self.options.chunk_size)
        self.after_request()
        decisions = filters.decide_all(pods, self.options.filter_options(), self._daemonset_exists, now=self.now())
        result["skipped_pods"] = [dict(namespace=d.namespace, name=d.name, reason=d.reason)
                                  for d in decisions if d.action == filters.SKIP]
        result["refused"] = [dict(namespace=d.namespace, name=d.name, reason=d.reason, override=d.override)
                             for d in decisions if d.action == filters.REFUSE]
        result["drain_warnings"] = filters.warning_messages(decisions)
        message = filters.refusal_message(decisions)
        if message:
            raise NodeOpsError('cannot drain node "%s": %s' % (self.node_name, message))
        return [d for d in decisions if d.action == filters.EVICT]

    def _daemonset_exists(self, namespace, name):
        found = self.client.daemonset_exists(namespace, name)
        self.after_request()
        return found

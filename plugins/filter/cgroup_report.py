# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the cgroup_driver role: per-node plan, Node readiness and the run report.

The logic lives in ``plugins/module_utils/_cgroup_report.py``; these are thin wrappers:

* ``cgroup_driver_plan(facts, node, node_name, require_ready=True)``: skip, migrate or refuse, with reasons.
* ``cgroup_driver_node_status(node)``: Ready, last heartbeat and cordon of a Node object.
* ``cgroup_driver_fresh_ready(node, stale_heartbeat)``: Ready with a heartbeat newer than the stale one.
* ``cgroup_driver_drivers(facts)``: kubelet driver, runtime, runtime driver, cgroup version.
* ``cgroup_driver_rollback_outcome(steps)``: whether a rollback restored a healthy node, and what it did.
* ``cgroup_driver_node_entry(data)``: one node's report entry, in the shape every operation shares.
* ``cgroup_driver_progress(record, step, at, ...)``: the node's progress record once a step is reached.
* ``cgroup_driver_progress_adopt(record, found, paths)``: the backups an interrupted run made but did not note.

The run report comes from the shared filter ``nodeops.kubernetes.run_report``. Each filter is
documented in the ``.yml`` file of its name beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cgroup_report as report


def _resource(value):
    """The first resource of a k8s_info result, a bare object, or None."""
    if isinstance(value, dict) and "resources" in value:
        resources = value.get("resources") or []
        return resources[0] if resources else None
    return value or None


def cgroup_driver_plan(facts, node=None, node_name=None, require_ready=True):
    return report.plan(facts, _resource(node), node_name=node_name, require_ready=require_ready)


def cgroup_driver_node_status(node):
    return report.node_status(_resource(node))


def cgroup_driver_fresh_ready(node, stale_heartbeat=None):
    return report.fresh_ready(_resource(node), stale_heartbeat)


def cgroup_driver_drivers(facts):
    return report.drivers(facts)


def cgroup_driver_rollback_outcome(steps):
    return report.rollback_outcome(steps)


def cgroup_driver_node_entry(data):
    return report.node_entry(data)


def cgroup_driver_progress(record, step, at, node=None, controller=None, cordoned_before=None, edits=None):
    if step == report.PROGRESS_STARTED and not controller:
        # The filter runs on the controller: its host name names the run that opened or resumed the record.
        controller = socket.gethostname()
    return report.progress(record, step, at, node=node, controller=controller, cordoned_before=cordoned_before,
                           edits=edits)


def cgroup_driver_progress_adopt(record, found, paths):
    return report.adopt_backups(record, found, paths)


class FilterModule(object):
    """Filters of the cgroup driver migration."""

    def filters(self):
        return {
            "cgroup_driver_plan": cgroup_driver_plan,
            "cgroup_driver_node_status": cgroup_driver_node_status,
            "cgroup_driver_fresh_ready": cgroup_driver_fresh_ready,
            "cgroup_driver_drivers": cgroup_driver_drivers,
            "cgroup_driver_rollback_outcome": cgroup_driver_rollback_outcome,
            "cgroup_driver_node_entry": cgroup_driver_node_entry,
            "cgroup_driver_progress": cgroup_driver_progress,
            "cgroup_driver_progress_adopt": cgroup_driver_progress_adopt,
        }

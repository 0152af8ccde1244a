# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the containerd_switch role: the node's progress record and what a rerun does with it.

The logic lives in ``plugins/module_utils/_containerd_switch_progress.py`` and the shared
``plugins/module_utils/_progress.py``; these are thin wrappers:

* ``containerd_switch_progress(record, step, at, ...)``: the node's progress record once a step is reached.
* ``containerd_switch_resume(read, node_name)``: switch as usual, resume or refuse, from the record read on the node.
* ``containerd_switch_progress_adopt(record, found, paths)``: the backups an interrupted run made but did not note.
* ``containerd_switch_restores(record, edits)``: the files a rollback copies back, the first attempt's backups first.

Each filter is documented in the ``.yml`` file of its name beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _containerd_switch_progress as progress
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _progress


def containerd_switch_progress(record, step, at, node=None, controller=None, cordoned_before=None, edits=None,
                               memo=None):
    if step == progress.STARTED and not controller:
        # The filter runs on the controller: its host name names the run that opened or resumed the record.
        controller = socket.gethostname()
    return progress.progress(record, step, at, node=node, controller=controller, cordoned_before=cordoned_before,
                             edits=edits, memo=memo)


def containerd_switch_resume(read, node_name=None):
    return progress.resume(read, node_name)


def containerd_switch_progress_adopt(record, found, paths):
    return _progress.adopt_backups(record, found, paths)


def containerd_switch_restores(record, edits=None):
    return _progress.restores(record, edits)


class FilterModule(object):
    """Filters of the containerd switch."""

    def filters(self):
        return {
            "containerd_switch_progress": containerd_switch_progress,
            "containerd_switch_resume": containerd_switch_resume,
            "containerd_switch_progress_adopt": containerd_switch_progress_adopt,
            "containerd_switch_restores": containerd_switch_restores,
        }

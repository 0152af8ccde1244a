# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the attributes shared by the collection's modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Nothing by itself: use one of the named fragments below.
    DOCUMENTATION = r"""
options: {}
"""

    # Every member of the action group nodeops.kubernetes.k8s (meta/runtime.yml).
    ACTION_GROUP = r"""
attributes:
  action_group:
    description:
      - Member of the action group C(nodeops.kubernetes.k8s). Set the connection options once per play with
        C(module_defaults) of C(group/nodeops.kubernetes.k8s); the group extends C(kubernetes.core.k8s), so the same
        defaults reach the C(kubernetes.core) modules of the play too.
    support: full
    membership:
      - nodeops.kubernetes.k8s
"""

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type of the collection.

Library code raises :class:`NodeOpsError`; only a module's ``main()`` (or an
action plugin's ``run()``) turns it into ``fail_json``. A message names the
object, the cause and the fix; ``details`` carries structured data that ends
up in the module result next to ``msg``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class NodeOpsError(Exception):
    """A failure that must be reported to the operator as it is."""

    def __init__(self, message, **details):
        super(NodeOpsError, self).__init__(message)
        self.message = message
        self.details = details

    def to_result(self):
        """Return the keyword arguments for ``fail_json``."""
        result = dict(self.details)
        result["msg"] = self.message
        return result

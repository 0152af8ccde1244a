# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One option name per concept across the modules of the collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest
import yaml

MODULES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
NAMES = sorted(name[:-3] for name in os.listdir(MODULES) if name.endswith(".py") and not name.startswith("_"))

# Names that an earlier version used for a concept that now has one name.
RETIRED = {"node_name": "name", "fail_on_blocking": "on_problem", "fail_on_problem": "on_problem"}


def options(module):
    with open(os.path.join(MODULES, module + ".py")) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value).get("options") or {}
    raise AssertionError("%s has no DOCUMENTATION" % module)


@pytest.mark.parametrize("module", NAMES)
def test_retired_option_names_are_gone(module):
    for name in options(module):
        assert name not in RETIRED, "%s: option %s is called %s in this collection" % (module, name, RETIRED[name])


@pytest.mark.parametrize("module", NAMES)
def test_a_fail_or_warn_choice_is_called_on_problem(module):
    for name, option in options(module).items():
        if set(option.get("choices") or []) == {"fail", "warn"}:
            assert name == "on_problem", "%s: the fail-or-warn choice %s must be called on_problem" % (module, name)

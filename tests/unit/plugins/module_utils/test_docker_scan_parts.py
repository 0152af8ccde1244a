"""The Docker dependency scan's entry point: it re-exports its parts and makes Ansible ship every one of them.

Ansible sends a module's module_utils to the node by following the module's
imports, so every ``_docker_scan_*`` file must be reached from
``_docker_scan.py`` through absolute collection imports.
"""

import ast
import glob
import os

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _docker_scan

MODULE_UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "module_utils")
PACKAGE = "ansible_collections.nodeops.kubernetes.plugins.module_utils."


def _imports(name):
    with open(os.path.join(MODULE_UTILS, name + ".py")) as handle:
        tree = ast.parse(handle.read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, "%s: relative import" % name
            if node.module and node.module.startswith(PACKAGE):
                found.append(node.module[len(PACKAGE):])
    return found


def test_every_part_is_reached_from_the_entry_point_by_absolute_imports():
    parts = set(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(MODULE_UTILS, "_docker_scan_*.py")))
    reached = set()
    pending = ["_docker_scan"]
    while pending:
        name = pending.pop()
        for imported in _imports(name):
            if imported not in reached:
                reached.add(imported)
                pending.append(imported)
    assert parts and parts <= reached


def test_the_entry_point_exports_every_name_it_lists():
    assert all(hasattr(_docker_scan, name) for name in _docker_scan.__all__)
    for name in ("NodeScanner", "build_report", "blocking_message", "DEFAULT_SCRIPT_PATHS", "NotFound",
                 "read_cluster_objects", "scan_cluster"):
        assert name in _docker_scan.__all__

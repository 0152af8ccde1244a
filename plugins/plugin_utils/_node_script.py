# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a function of the collection's module_utils on a node as one ``python3 -c`` command, without AnsiballZ.

A module run starts a Python on the node whose AnsiballZ loader imports ``ansible.module_utils.basic`` (and
compiles it from source, every run) before the module does anything: about 0.25 CPU-seconds of a 0.43 s read.
Node-side code that needs only the standard library does not need that. :class:`NodeScript` sends such code
as it is: the source of the module_utils file that holds the function and of every module_utils file it
imports (found by reading their ``import`` statements), compressed, as one argument of ``python3 -c``; a
small runner (:data:`RUNNER`) makes them importable under their usual names, calls the function with the
request and prints its JSON answer.

The command goes through the connection with become, like the readers of ``node_runtime_facts`` and
``cert_expiry``, so it also runs in check mode; nothing is written on the node. Code that imports
anything outside the standard library cannot be sent: :func:`module_sources` refuses it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import base64
import json
import os
import shlex
import sys
import tempfile
import zlib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import remote_command

MODULE_UTILS = "ansible_collections.nodeops.kubernetes.plugins.module_utils"
MODULE_UTILS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")

# The runner: argv[1] is the bundle (zlib-compressed JSON, base64) of the sources, the module and the function;
# argv[2] the request (JSON). Only the standard library of Python 3.9+; the node's site-packages are not used
# (``-I -S``), so nothing installed there (an Ansible of the node, say) can stand in for the sent code.
RUNNER = r"""
import base64, importlib, importlib.util, json, sys, zlib
bundle = json.loads(zlib.decompress(base64.b64decode(sys.argv[1])).decode("utf-8"))
sources = bundle["sources"]
class SentCode(object):
    def find_spec(self, name, path=None, target=None):
        package = any(known.startswith(name + ".") for known in sources)
        if name in sources or package:
            return importlib.util.spec_from_loader(name, self, is_package=package)
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        if module.__name__ in sources:
            exec(compile(sources[module.__name__], "<sent %s>" % module.__name__, "exec"), module.__dict__)
sys.meta_path.insert(0, SentCode())
function = getattr(importlib.import_module(bundle["module"]), bundle["function"])
sys.stdout.write(json.dumps(function(json.loads(sys.argv[2]))))
"""


def module_sources(module):
    """``{module name: source}`` of a module_utils module and of every module_utils module it imports.

    ``module`` is the short name (``_node_audit``). Raises NodeOpsError when one of them imports anything but
    the standard library and module_utils (Ansible, say, or a package installed on the controller).
    """
    sources = {}
    pending = [module]
    while pending:
        name = pending.pop()
        if name in sources:
            continue
        path = os.path.join(MODULE_UTILS_DIR, name + ".py")
        with open(path) as handle:
            sources[name] = handle.read()
        for imported in imported_modules(sources[name], name):
            if imported.startswith(MODULE_UTILS + "."):
                pending.append(imported[len(MODULE_UTILS) + 1:])
            elif not standard_library(imported):
                raise NodeOpsError("module_utils/%s.py cannot be sent to a node as a python3 -c command: it imports "
                                   "%s, which is not in the standard library" % (name, imported))
    return dict((MODULE_UTILS + "." + name, source) for name, source in sources.items())


def standard_library(module):
    """Whether ``module`` is part of Python's standard library (by the controller's list of its modules)."""
    return module.split(".")[0] in sys.stdlib_module_names


def imported_modules(source, name):
    """The full names of the modules ``source`` imports (``from package import module`` names the module)."""
    imported = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == MODULE_UTILS:
                imported.extend(MODULE_UTILS + "." + alias.name for alias in node.names)
            elif node.module != "__future__":
                imported.append(node.module)
    return imported


class NodeScript(object):
    """``module.function(request)`` of module_utils, run on a node by its own Python.

    The bundle is built once per run of ``ansible-playbook``, not once per host: each host's task runs in its own
    forked worker, so the first worker keeps it in a file of the run's local temporary directory (where Ansible
    keeps its AnsiballZ cache, removed at the end of the run) and the others read it.
    """

    def __init__(self, module, function, cache_dir=None):
        self.module, self.function = module, function
        self.cache_dir = cache_dir
        self._bundle = None

    @property
    def bundle(self):
        if self._bundle is None:
            self._bundle = self._cached() or self._build()
        return self._bundle

    def _build(self):
        text = json.dumps({"sources": module_sources(self.module), "module": MODULE_UTILS + "." + self.module,
                           "function": self.function}, sort_keys=True)
        bundle = base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")
        self._keep(bundle)
        return bundle

    def _path(self):
        directory = self.cache_dir
        if directory is None:
            from ansible import constants  # pylint: disable=import-outside-toplevel
            directory = constants.DEFAULT_LOCAL_TMP
        return os.path.join(directory, "nodeops_node_script", "%s.%s" % (self.module, self.function))

    def _cached(self):
        try:
            with open(self._path()) as handle:
                return handle.read() or None
        except (IOError, OSError):
            return None

    def _keep(self, bundle):
        """Write the bundle for the other workers (whole or not at all: a temporary file renamed); a cache that
        cannot be written only costs the others the build."""
        path = self._path()
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle = tempfile.NamedTemporaryFile("w", dir=os.path.dirname(path), delete=False)
            with handle:
                handle.write(bundle)
            os.replace(handle.name, path)
        except (IOError, OSError):
            pass

    def argv(self, python, request):
        return [python, "-I", "-S", "-c", RUNNER, self.bundle, json.dumps(request, sort_keys=True)]

    def run(self, action, task_vars, request, what):
        """The function's answer on the node of ``action``'s connection (with become when the task has it).

        ``what`` names the node in errors. Raises NodeOpsError when the Python does not start, the function
        raises, or the answer is not a JSON object.
        """
        python = node_python(task_vars)
        rc, stdout, stderr = remote_command(action, self.argv(python, request))
        if rc != 0:
            raise NodeOpsError("cannot read %s: %s -c exited %s: %s; the read needs the node's python3 (3.9 or "
                               "later, standard library only) and root (become: true)"
                               % (what, shlex.quote(python), rc, last_lines(stderr or stdout)))
        try:
            answer = json.loads(stdout)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise NodeOpsError("cannot read %s: %s -c printed no JSON object: %s"
                               % (what, shlex.quote(python), last_lines(stdout or stderr)))
        return answer


def node_python(task_vars):
    """The node's Python: the host's ``ansible_python_interpreter`` when it is a plain path, else the one Ansible
    discovered on the node, else ``python3`` from the node's PATH."""
    for interpreter in (task_vars.get("ansible_python_interpreter"),
                        (task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python")):
        if isinstance(interpreter, str) and interpreter.startswith("/") and not set(interpreter) & set(" {"):
            return interpreter
    return "python3"


def last_lines(text, limit=500):
    """The end of a command's output, where a Python traceback says what went wrong."""
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]

"""What the bad-input suite needs to run a module or an action plugin the way Ansible does.

This file holds no tests itself. It provides:

* :class:`FakeNode` (from the action plugin tests), a managed node whose files are real files under ``tmp_path``
  (``node_file`` module calls read and write them, with the module's own node-side code);
* :func:`run_action` and :func:`run_module`, which run an action plugin's ``run()`` or a module's
  ``main()`` and return an :class:`Outcome` (failed with a message, succeeded, or crashed with a
  traceback);
* :class:`Snapshot`, the bytes, mtime and directory listing of a file, to prove it was left untouched;
* :class:`Report`, the JSON file of the results that ``tests/unit/bad_input_table.py`` renders.
"""

import json
import os
import stat as stat_module
import sys
import traceback

from ansible.module_utils.testing import patch_module_args

# The fake managed node of the action plugin tests (files on the local file system, through node_file).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "plugins", "action"))
from test_config_actions import FakeConnection, FakeNode, FakeShared, FakeTask  # noqa: E402 pylint: disable=wrong-import-position

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEFAULT_REPORT = os.path.join(REPO_ROOT, ".cache", "bad-input", "bad-input.json")
REPORT_ENV = "NODEOPS_BAD_INPUT_REPORT"


class Outcome(object):
    """How one run ended: ``failed`` (fail_json / failed result), ``succeeded`` or ``crashed``."""

    def __init__(self, status, message="", result=None):
        self.status = status
        self.message = message or ""
        self.result = result or {}

    def __repr__(self):
        return "Outcome(%s, %r)" % (self.status, self.message)


# --------------------------------------------------------------------------- action plugins

def run_action(plugin, args, node=None, task_vars=None):
    """Run ``plugin.ActionModule(...).run()`` against ``node``; an escaping exception is a crash."""
    node = node or FakeNode()
    action = plugin.ActionModule(FakeTask(args), FakeConnection(), None, None, None)
    action._shared_loader_obj = FakeShared(node)
    action._execute_module = node.execute_module
    action._low_level_execute_command = node.low_level
    try:
        result = action.run(task_vars=dict(task_vars or {}))
    except Exception:  # pylint: disable=broad-except
        return Outcome("crashed", traceback.format_exc())
    if result.get("failed"):
        return Outcome("failed", result.get("msg"), result)
    return Outcome("succeeded", result.get("msg"), result)


# --------------------------------------------------------------------------- modules

def run_module(module, args, capsys):
    """Run ``module.main()`` with ``args`` as Ansible would; read the JSON it prints."""
    capsys.readouterr()
    with patch_module_args(args):
        try:
            module.main()
        except SystemExit as exit_:
            code = exit_.code
        except Exception:  # pylint: disable=broad-except
            return Outcome("crashed", traceback.format_exc())
        else:
            return Outcome("crashed", "main() returned without exit_json or fail_json")
    output = capsys.readouterr().out
    try:
        result = json.loads(output)
    except ValueError:
        return Outcome("crashed", "not JSON: %s" % output[:500])
    if code != 0 or result.get("failed"):
        return Outcome("failed", result.get("msg"), result)
    return Outcome("succeeded", result.get("msg"), result)


# --------------------------------------------------------------------------- files

class Snapshot(object):
    """Bytes, mtime and mode of a file (or its absence), and the names in its directory."""

    def __init__(self, path):
        self.path = path
        self.directory = os.path.dirname(path)
        self.content, self.mtime_ns, self.mode = self._read()
        self.listing = self._listing()

    def _read(self):
        if not os.path.exists(self.path):
            return None, None, None
        with open(self.path, "rb") as handle:
            content = handle.read()
        info = os.stat(self.path)
        return content, info.st_mtime_ns, stat_module.S_IMODE(info.st_mode)

    def _listing(self):
        if not os.path.isdir(self.directory):
            return None
        return sorted(os.listdir(self.directory))

    def changes(self):
        """What differs now, in words; empty when the file and its directory are as they were."""
        found = []
        content, mtime_ns, mode = self._read()
        if content != self.content:
            found.append("content changed" if content is not None and self.content is not None
                         else "file created" if self.content is None else "file removed")
        if mtime_ns != self.mtime_ns:
            found.append("mtime changed")
        if mode != self.mode:
            found.append("mode changed")
        listing = self._listing()
        if listing != self.listing:
            before, after = set(self.listing or ()), set(listing or ())
            found.append("directory %s: new %s, gone %s" % (self.directory, sorted(after - before),
                                                            sorted(before - after)))
        return found


def write_file(path, content, mode=0o600):
    """Write ``content`` (text or bytes) to ``path``, creating its directory; return the path as a string."""
    path = str(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    # An mtime in the past, so a rewrite within the same clock tick still shows.
    os.utime(path, ns=(1500000000 * 10 ** 9, 1500000000 * 10 ** 9))
    return path


# --------------------------------------------------------------------------- the report

class Report(object):
    """The results of the session, written as JSON after every case."""

    def __init__(self, path=None):
        self.path = path or os.environ.get(REPORT_ENV) or DEFAULT_REPORT
        self.rows = []

    def add(self, case, outcome, root):
        message = (outcome.message or "").replace(str(root), "")
        self.rows.append({
            "case": case.id,
            "module": case.module,
            "input": case.input,
            "outcome": outcome.status,
            "message": message,
        })
        self.write()

    def write(self):
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        rows = sorted(self.rows, key=lambda row: row["case"])
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump({"python": sys.version.split()[0], "cases": rows}, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, self.path)

"""What the bad-input suite needs to run a module or an action plugin the way Ansible does.

This file holds no tests itself. It provides:

* :class:`FakeNode`, a managed node whose files are real files under pytest's ``tmp_path``
  (``stat``, ``slurp`` and ``file`` module calls and the ``copy`` action read and write them);
* :func:`run_action` and :func:`run_module`, which run an action plugin's ``run()`` or a module's
  ``main()`` and return an :class:`Outcome` (failed with a message, succeeded, or crashed with a
  traceback);
* :class:`Snapshot`, the bytes, mtime and directory listing of a file, to prove it was left untouched;
* :class:`Report`, the JSON file of the results that ``tests/unit/bad_input_table.py`` renders.
"""

import base64
import json
import os
import stat as stat_module
import sys
import traceback

from ansible.module_utils.testing import patch_module_args

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

class _Task(object):
    def __init__(self, args, check_mode=False):
        self.args = dict(args)
        self.check_mode = check_mode
        self.diff = False
        self.async_val = 0
        self.action = "bad_input"

    def copy(self):
        return _Task(self.args, self.check_mode)


class _CopyAction(object):
    """Writes like ansible.builtin.copy (temporary file, rename); records every write."""

    def __init__(self, node, task):
        self.node = node
        self.task = task

    def run(self, task_vars=None):
        args = self.task.args
        self.node.writes.append(args["dest"])
        tmp = args["dest"] + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(args["content"])
        os.replace(tmp, args["dest"])
        return {"changed": True, "dest": args["dest"]}


class _Loader(object):
    def __init__(self, node):
        self.action_loader = self
        self.node = node

    def get(self, name, task=None, **_kwargs):
        assert name == "ansible.builtin.copy", name
        return _CopyAction(self.node, task)


class _Shell(object):
    tmpdir = None


class _Connection(object):
    _shell = _Shell()


class FakeNode(object):
    """A managed node whose file system is the local one; commands come from ``commands``."""

    def __init__(self, commands=None):
        self.commands = dict(commands or {})
        self.writes = []

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        if module_name == "ansible.builtin.stat":
            path = module_args["path"]
            if not os.path.exists(path):
                return {"stat": {"exists": False}}
            info = os.stat(path)
            return {"stat": {"exists": True, "isreg": stat_module.S_ISREG(info.st_mode),
                             "isdir": stat_module.S_ISDIR(info.st_mode),
                             "mode": "%04o" % stat_module.S_IMODE(info.st_mode),
                             "pw_name": "root", "gr_name": "root"}}
        if module_name == "ansible.builtin.slurp":
            with open(module_args["src"], "rb") as handle:
                return {"content": base64.b64encode(handle.read()).decode(), "encoding": "base64"}
        if module_name == "ansible.builtin.file":
            os.makedirs(module_args["path"], exist_ok=True)
            return {"changed": True}
        raise AssertionError("unexpected module %s" % module_name)

    def low_level(self, cmd, sudoable=True, **_kwargs):
        rc, stdout, stderr = self.commands.get(cmd, (127, "", "%s: command not found" % cmd.split()[0]))
        return {"rc": rc, "stdout": stdout, "stderr": stderr}


def run_action(plugin, args, node=None, task_vars=None):
    """Run ``plugin.ActionModule(...).run()`` against ``node``; an escaping exception is a crash."""
    node = node or FakeNode()
    action = plugin.ActionModule(_Task(args), _Connection(), None, None, None)
    action._shared_loader_obj = _Loader(node)
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

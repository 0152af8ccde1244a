# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridged traffic through iptables on a Linux node (``net.bridge.bridge-nf-call-iptables=1``).

Windows nodes on Flannel VXLAN need every Linux node to pass bridged pod traffic to iptables (the
seed's section 2.3, step 1). The value lives in ``/proc/sys/net/bridge/bridge-nf-call-iptables``,
which exists only once the ``br_netfilter`` kernel module is loaded (or built in).

What is read, as the boot would apply it:

* the running value (``/proc/sys``) and whether ``br_netfilter`` is a loaded module (``/proc/modules``;
  a value without the module there means it is built into the kernel);
* the value the next boot sets (none set: the kernel's default, 1): the ``*.conf`` files of the
  sysctl.d directories (a file name in an earlier directory hides the same name in a later one; files
  apply in name order, later wins), then ``/etc/sysctl.conf``;
* whether the module is loaded at boot: the modules-load.d directories (same hiding) and ``/etc/modules``.

Each check returns a finding (``check``, ``status``, ``message``, ``fix``); status ``error`` is a
problem, ``warning`` is returned to the caller, ``fixed``/``would_fix`` say what the fix did or would
do. Files are parsed, edited in place (comments kept) and written atomically with a backup.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

KEY = "net.bridge.bridge-nf-call-iptables"
MODULE = "br_netfilter"
PROC_VALUE = "/proc/sys/net/bridge/bridge-nf-call-iptables"
PROC_MODULES = "/proc/modules"
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
MODULES_LOAD_DIRS = ("/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d",
                     "/usr/lib/modules-load.d", "/lib/modules-load.d")
ETC_MODULES = "/etc/modules"
DEFAULT_SYSCTL_FILE = "/etc/sysctl.d/99-nodeops-bridge-netfilter.conf"
DEFAULT_MODULES_FILE = "/etc/modules-load.d/nodeops-br_netfilter.conf"
FIX_HINT = "fix=true does it"

OK = "ok"
ERROR = "error"
WARNING = "warning"
FIXED = "fixed"
WOULD_FIX = "would_fix"

_ASSIGNMENT = re.compile(r"^(\s*-?\s*)([^=\s][^=]*?)(\s*=\s*)(.*?)(\s*)$")


def finding(check, status, message, fix=None):
    """One finding of a check."""
    return {"check": check, "status": status, "message": message, "fix": fix}


def normalize_key(key):
    """A sysctl key with ``.`` separators (sysctl.d also takes ``/``) and without the ignore-errors ``-``."""
    return key.strip().lstrip("-").strip().replace("/", ".")


def parse_sysctl(text, path):
    """``[(line number, key, value)]`` of a sysctl.d file; raises NodeOpsError on a line that is no assignment."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        match = _ASSIGNMENT.match(line)
        if not match:
            raise NodeOpsError("%s line %d is not 'key = value': %r; fix or remove the line (the file is not "
                               "rewritten from a guess)" % (path, number, line), path=path, line=number)
        found.append((number, normalize_key(match.group(2)), match.group(4)))
    return found


def sysctl_value(text, path, key=KEY):
    """The last value ``text`` gives ``key``, or None."""
    value = None
    for dummy, name, found in parse_sysctl(text, path):
        if name == key:
            value = found
    return value


def set_sysctl(text, key=KEY, value="1"):
    """``text`` with every assignment of ``key`` set to ``value`` (spacing and comments kept), or one line added."""
    lines = text.splitlines(True)
    done = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        match = _ASSIGNMENT.match(line.rstrip("\r\n"))
        if match and normalize_key(match.group(2)) == key:
            ending = line[len(line.rstrip("\r\n")):]
            lines[index] = match.group(1) + match.group(2) + match.group(3) + value + match.group(5) + ending
            done = True
    if not done:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append("%s = %s\n" % (key, value))
    return "".join(lines)


def module_names(text):
    """The module names of a modules-load.d file (or ``/etc/modules``), ``-`` written as ``_``."""
    names = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        names.append(stripped.split()[0].replace("-", "_"))
    return names


def add_module(text, name=MODULE):
    """``text`` with ``name`` on a line of its own (unchanged when it is listed already)."""
    if name in module_names(text):
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + name + "\n"


def effective_files(system, directories, extra_last=None, override=None):
    """``[(path, text)]`` in the order they apply: by file name, an earlier directory hiding a later one.

    ``override`` maps paths to the text they would have (a file not written yet counts as present).
    """
    override = override or {}
    chosen = {}
    for directory in directories:
        names = set(system.listdir(directory))
        names.update(os.path.basename(path) for path in override if os.path.dirname(path) == directory)
        for name in sorted(names):
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = os.path.join(directory, name)
    paths = [chosen[name] for name in sorted(chosen)]
    if extra_last and (system.exists(extra_last) or extra_last in override):
        paths.append(extra_last)
    files = [(path, override[path] if path in override else system.read(path)) for path in paths]
    return [(path, text) for path, text in files if text is not None]


def persisted_sysctl(files, key=KEY):
    """``(value, path)`` the boot applies for ``key`` (the last assignment wins), or ``(None, None)``."""
    value, where = None, None
    for path, text in files:
        found = sysctl_value(text, path, key)
        if found is not None:
            value, where = found, path
    return value, where


def module_listed(files, name=MODULE):
    """The first file that loads ``name`` at boot, or None."""
    for path, text in files:
        if name in module_names(text):
            return path
    return None


def check_paths(sysctl_file, modules_file):
    """Both files must be where the boot reads them; raises NodeOpsError naming the option."""
    if sysctl_file != SYSCTL_CONF and (os.path.dirname(sysctl_file) not in SYSCTL_DIRS
                                       or not sysctl_file.endswith(".conf")):
        raise NodeOpsError("sysctl_file %s is not read at boot; give a .conf file in %s"
                           % (sysctl_file, SYSCTL_DIRS[0]))
    if os.path.dirname(modules_file) not in MODULES_LOAD_DIRS or not modules_file.endswith(".conf"):
        raise NodeOpsError("modules_file %s is not read at boot; give a .conf file in %s"
                           % (modules_file, MODULES_LOAD_DIRS[0]))


class State(object):
    """What the node has now, and what its next boot would apply."""

    def __init__(self, system, sysctl_file, modules_file):
        self.system = system
        raw = system.read(PROC_VALUE)
        self.value = raw.strip() if raw is not None else None
        modules = system.read(PROC_MODULES) or ""
        self.module_loaded = any(line.split(" ", 1)[0] == MODULE for line in modules.splitlines())
        self.built_in = self.value is not None and not self.module_loaded
        self.sysctl_files = effective_files(system, SYSCTL_DIRS, SYSCTL_CONF)
        self.persisted_value, self.persisted_in = persisted_sysctl(self.sysctl_files)
        self.module_files = effective_files(system, MODULES_LOAD_DIRS, ETC_MODULES)
        self.module_persisted_in = module_listed(self.module_files)
        self.sysctl_file = sysctl_file
        self.modules_file = modules_file


def check_loaded(state):
    """The value exists only once br_netfilter is loaded (or built in)."""
    if state.value is None:
        return finding("br_netfilter", ERROR,
                       "%s does not exist: the %s kernel module is not loaded, so bridged pod traffic bypasses "
                       "iptables" % (PROC_VALUE, MODULE),
                       "modprobe %s and persist it in %s (%s)" % (MODULE, state.modules_file, FIX_HINT))
    how = "built into the kernel" if state.built_in else "loaded"
    return finding("br_netfilter", OK, "the %s kernel module is %s" % (MODULE, how))


def check_value(state):
    """``net.bridge.bridge-nf-call-iptables`` must be 1 (checked only when the value exists)."""
    if state.value is None:
        return None
    if state.value != "1":
        return finding("bridge_nf_call_iptables", ERROR,
                       "%s is %s: bridged pod traffic bypasses iptables (Services and NetworkPolicies break for "
                       "traffic to and from Windows nodes)" % (KEY, state.value),
                       "sysctl -w %s=1 (%s)" % (KEY, FIX_HINT))
    return finding("bridge_nf_call_iptables", OK, "%s is 1" % KEY)


def check_persisted_module(state):
    """A loaded (not built-in) module must also be loaded at boot."""
    if state.built_in:
        return finding("br_netfilter_at_boot", OK, "%s is built into the kernel" % MODULE)
    if state.module_persisted_in:
        return finding("br_netfilter_at_boot", OK, "%s is loaded at boot (%s)" % (MODULE, state.module_persisted_in))
    return finding("br_netfilter_at_boot", WARNING,
                   "no modules-load.d file loads %s at boot: a reboot leaves it unloaded" % MODULE,
                   "add %s to %s (%s)" % (MODULE, state.modules_file, FIX_HINT))


def check_persisted_value(state):
    """The boot must not set another value (nothing set leaves the kernel's default, 1)."""
    if state.persisted_value == "1":
        return finding("bridge_nf_call_iptables_at_boot", OK, "%s = 1 at boot (%s)" % (KEY, state.persisted_in))
    if state.persisted_value is None:
        return finding("bridge_nf_call_iptables_at_boot", OK,
                       "no sysctl.d file sets %s, so the boot keeps the kernel's default 1" % KEY)
    return finding("bridge_nf_call_iptables_at_boot", WARNING,
                   "%s sets %s = %s, which the next boot applies" % (state.persisted_in, KEY, state.persisted_value),
                   "set %s = 1 in %s (%s)" % (KEY, state.sysctl_file, FIX_HINT))


def plan_files(state):
    """The writes that make the boot load the module and keep 1: ``[(path, text before or None, text after)]``.

    Raises NodeOpsError when a file that applies after ``sysctl_file`` would set another value again.
    """
    writes = []
    if not state.built_in and not state.module_persisted_in:
        before = state.system.read(state.modules_file)
        writes.append((state.modules_file, before, add_module(before or "")))
    if state.persisted_value not in (None, "1"):
        before = state.system.read(state.sysctl_file)
        after = set_sysctl(before or "")
        files = effective_files(state.system, SYSCTL_DIRS, SYSCTL_CONF, override={state.sysctl_file: after})
        value, where = persisted_sysctl(files)
        if value != "1":
            raise NodeOpsError("%s sets %s = %s and applies after %s at boot; edit %s (files of others are not "
                               "changed from here) or set sysctl_file to a name that sorts after it"
                               % (where, KEY, value, state.sysctl_file, where), path=where)
        writes.append((state.sysctl_file, before, after))
    return writes


def checks(state):
    """Every finding of ``state``."""
    found = [check_loaded(state), check_value(state), check_persisted_module(state), check_persisted_value(state)]
    return [f for f in found if f is not None]


def apply_fix(system, state, params, check_mode):
    """Load, set and persist what is missing; return ``(actions, diffs)`` (what would be done in check mode)."""
    actions, diffs = [], []
    if state.value is None:
        actions.append("modprobe %s" % MODULE)
        if not check_mode:
            system.modprobe(MODULE)
            state = State(system, state.sysctl_file, state.modules_file)
            if state.value is None:
                raise NodeOpsError("modprobe %s worked but %s still does not exist; check that the kernel has "
                                   "bridge netfilter" % (MODULE, PROC_VALUE))
    if state.value != "1":
        actions.append("sysctl -w %s=1" % KEY)
        if not check_mode:
            system.write(PROC_VALUE, "1\n", proc=True)
    if params.get("persist", True):
        for path, before, after in plan_files(state):
            actions.append("write %s" % path)
            diffs.append({"before": before or "", "after": after, "before_header": path, "after_header": path})
            if not check_mode:
                system.write(path, after)
    return actions, diffs


def run(system, params, check_mode, diff_mode=False):
    """Check the node, fix it when asked (then check again); return the module result."""
    sysctl_file = params.get("sysctl_file") or DEFAULT_SYSCTL_FILE
    modules_file = params.get("modules_file") or DEFAULT_MODULES_FILE
    check_paths(sysctl_file, modules_file)
    state = State(system, sysctl_file, modules_file)
    findings = checks(state)
    actions, diffs = [], []
    if params.get("fix") and any(f["status"] in (ERROR, WARNING) for f in findings):
        actions, diffs = apply_fix(system, state, params, check_mode)
        if check_mode:
            persisted = params.get("persist", True)
            findings = [dict(f, status=WOULD_FIX) if f["status"] == ERROR
                        or (f["status"] == WARNING and persisted) else f for f in findings]
        else:
            state = State(system, sysctl_file, modules_file)
            findings = checks(state)
        if actions:
            findings.append(finding("fix", WOULD_FIX if check_mode else FIXED,
                                    "%s%s" % ("would " if check_mode else "", "; ".join(actions))))
    problems = ["%s (fix: %s)" % (f["message"], f["fix"]) for f in findings if f["status"] == ERROR]
    warnings = ["%s (fix: %s)" % (f["message"], f["fix"]) for f in findings if f["status"] == WARNING]
    result = {"changed": bool(actions), "findings": findings, "problems": problems, "actions": actions,
              "value": state.value, "module_loaded": state.value is not None,
              "backups": list(getattr(system, "backups", []))}
    if diff_mode and diffs:
        result["diff"] = diffs
    if problems:
        message = "bridge netfilter: %d problem(s): %s" % (len(problems), "; ".join(problems))
        if params.get("on_problem", "fail") == "fail":
            raise NodeOpsError(message, **result)
        result["msg"] = message
        warnings = problems + warnings
    elif actions:
        result["msg"] = "bridge netfilter: %s%s" % ("would " if check_mode else "", "; ".join(actions))
    else:
        result["msg"] = "bridge netfilter: %s is 1 and %s loaded" % (KEY, MODULE)
    if warnings:
        result["warnings"] = warnings
    return result


class NodeSystem(object):
    """The files of a node under ``root`` (``/`` on a node, a directory in tests).

    ``run_command`` runs a command (``which`` finds it), ``backup`` copies a file before it is replaced
    and returns the copy's path, ``atomic_move`` renames a temporary file over the target keeping its
    mode and owner; the module passes AnsibleModule's own functions.
    """

    def __init__(self, root="/", run_command=None, which=None, backup=None, atomic_move=None):
        self.root = root
        self.run_command = run_command
        self.which = which
        self.backup = backup
        self.atomic_move = atomic_move
        self.backups = []

    def _path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def exists(self, path):
        return os.path.exists(self._path(path))

    def listdir(self, directory):
        try:
            return sorted(os.listdir(self._path(directory)))
        except OSError:
            return []

    def read(self, path):
        """The text of ``path``, or None when it does not exist."""
        try:
            with open(self._path(path), "rb") as handle:
                data = handle.read()
        except (IOError, OSError) as exc:
            if not os.path.exists(self._path(path)):
                return None
            raise NodeOpsError("cannot read %s: %s" % (path, exc), path=path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NodeOpsError("%s is not UTF-8 text (%s); the file is left untouched" % (path, exc), path=path)

    def write(self, path, text, proc=False):
        """Write ``text``: in place for a /proc file, else atomically with a backup of an existing file."""
        target = self._path(path)
        try:
            if proc:
                with open(target, "w") as handle:
                    handle.write(text)
                return
            directory = os.path.dirname(target)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            if os.path.exists(target) and self.backup is not None:
                self.backups.append(self.backup(target))
            temporary = "%s.nodeops-%d.tmp" % (target, os.getpid())
            with open(temporary, "w") as handle:
                handle.write(text)
            if not os.path.exists(target):
                os.chmod(temporary, 0o644)
            if self.atomic_move is not None:
                self.atomic_move(temporary, target)
            else:
                os.rename(temporary, target)
        except (IOError, OSError) as exc:
            raise NodeOpsError("cannot write %s: %s" % (path, exc), path=path)

    def modprobe(self, name):
        command = self.which("modprobe") if self.which is not None else "modprobe"
        if self.run_command is None or not command:
            raise NodeOpsError("modprobe is not installed on this node (package kmod); install it or load %s "
                               "another way" % name)
        rc, out, err = self.run_command([command, name])
        if rc != 0:
            raise NodeOpsError("modprobe %s failed (rc %d): %s; install the kernel's extra modules package (the "
                               "module ships with the kernel) and run it again" % (name, rc, (err or out).strip()))

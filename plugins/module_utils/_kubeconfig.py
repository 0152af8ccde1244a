# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a kubeconfig before the kubernetes client reads it.

The client answers a kubeconfig it cannot read with its own exceptions, some of them not about the
file at all (``'int' object has no attribute 'rstrip'``, a YAML parser error with a traceback). These
checks read the same file first and name the file, the line or the entry, what is wrong and how to
fix it. They only look at what the client would trip over; everything else is left to the client.
Runs where the Kubernetes client runs (the controller), so PyYAML is there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import yaml

    HAS_YAML = True
    YAML_ERRORS = (yaml.YAMLError,)
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core and the kubernetes client
    HAS_YAML = False
    YAML_ERRORS = ()

DEFAULT_LOCATION = "~/.kube/config"
FIX = ("fix it (kubectl config view --kubeconfig <file> shows how kubectl reads it) or use a fresh one "
       "(kubeadm: a copy of /etc/kubernetes/admin.conf, or 'kubeadm kubeconfig user')")

# section -> (key of each entry's body, {field: (type name, check)})
_STRING = ("a string", lambda value: isinstance(value, str))
_BOOLEAN = ("a boolean", lambda value: isinstance(value, bool))
SECTIONS = {
    "clusters": ("cluster", {
        "server": _STRING, "certificate-authority": _STRING, "certificate-authority-data": _STRING,
        "insecure-skip-tls-verify": _BOOLEAN, "tls-server-name": _STRING, "proxy-url": _STRING,
    }),
    "contexts": ("context", {"cluster": _STRING, "user": _STRING, "namespace": _STRING}),
    "users": ("user", {
        "token": _STRING, "tokenFile": _STRING, "client-certificate": _STRING, "client-certificate-data": _STRING,
        "client-key": _STRING, "client-key-data": _STRING, "username": _STRING, "password": _STRING,
    }),
}


def kind_of(value):
    """Name the YAML type of a parsed value for a message: 'a string', 'an integer', ..."""
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                       (list, "a list"), (dict, "a mapping")):
        if isinstance(value, kind):
            return name
    return "empty (null)"


def _error(source, what, fix=FIX, **details):
    return NodeOpsError("the kubeconfig %s %s; %s" % (source, what, fix), **details)


def _top_level_lines(root):
    if not HAS_YAML or not isinstance(root, yaml.MappingNode):
        return {}
    return dict((key.value, key.start_mark.line + 1) for key, _value in root.value if hasattr(key, "value"))


def check_kubeconfig_data(data, source, root=None, context=None, single=True, general=FIX):
    """Refuse a parsed kubeconfig the client would misread; ``source`` names it in the message.

    ``single`` is false when the file is one of several merged ones (``KUBECONFIG=a:b``): a context
    may then be defined in another file. ``general`` is the fix offered for any damage.
    """
    if not isinstance(data, dict):
        raise _error(source, "does not hold a YAML mapping (it holds %s), so it is not a kubeconfig"
                     % kind_of(data), general)
    lines = _top_level_lines(root)

    def where(key):
        return " (line %d)" % lines[key] if key in lines else ""

    for section, (body_key, fields) in sorted(SECTIONS.items()):
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise _error(source, "has '%s' as %s%s, not a list" % (section, kind_of(entries), where(section)),
                         "write it as a list of entries, each with a name and a %s, or %s" % (body_key, general))
        for index, entry in enumerate(entries):
            label = "%s[%d]" % (section, index)
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise _error(source, "has an entry %s%s that is not a mapping with a name (it is %r)"
                             % (label, where(section), entry),
                             "write each entry as '- name: ...' with its %s, or %s" % (body_key, general))
            body = entry.get(body_key)
            if body is None:
                continue
            if not isinstance(body, dict):
                what = "has %s.%s (%s) as %s, not a mapping" % (label, body_key, entry["name"], kind_of(body))
                raise _error(source, what, "write it as a mapping of settings, or %s" % general)
            for field, (type_name, check) in sorted(fields.items()):
                if field in body and not check(body[field]):
                    raise _error(source, "has %s.%s.%s (%s) as %s: %r" % (label, body_key, field, entry["name"],
                                                                          kind_of(body[field]), body[field]),
                                 "write it as %s, or %s" % (type_name, general))
    current = data.get("current-context")
    if current is not None and not isinstance(current, str):
        raise _error(source, "has 'current-context' as %s%s" % (kind_of(current), where("current-context")),
                     "write it as the name of a context, or %s" % general)
    if single:
        names = [entry["name"] for entry in data.get("contexts") or []]
        wanted = context or current
        if wanted and wanted not in names:
            option = "the context option" if context else "current-context%s" % where("current-context")
            raise _error(source, "has no context named %r (%s); it defines %s"
                         % (wanted, option, ", ".join(names) or "no context"),
                         "give an existing context name (kubectl config get-contexts lists them) or fix the file")


def check_kubeconfig_file(path, context=None, single=True):
    """Read and check the kubeconfig file ``path`` (which exists)."""
    if not HAS_YAML:  # pragma: no cover
        return
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise _error(path, "cannot be read (%s)" % exc, "check the path and its permissions")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(path, "is not valid UTF-8 text (%s), so it is not a kubeconfig" % exc,
                     "check that the path points at the kubeconfig, then %s" % FIX)
    if not text.strip():
        if single:
            raise _error(path, "is empty", "point kubeconfig at a real one, or %s" % FIX)
        return
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        at = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _error(path, "is not valid YAML%s: %s" % (at, problem),
                     "fix the syntax, or use a fresh one (kubeadm: a copy of /etc/kubernetes/admin.conf, or "
                     "'kubeadm kubeconfig user')")
    check_kubeconfig_data(data, path, root, context=context, single=single)


def kubeconfig_files(kubeconfig):
    """The existing files a kubeconfig option (or, when None, ``$KUBECONFIG`` / the default) names."""
    if kubeconfig is None:
        kubeconfig = os.environ.get("KUBECONFIG") or DEFAULT_LOCATION
    paths = [os.path.expanduser(part) for part in kubeconfig.split(os.pathsep) if part]
    return [path for path in paths if os.path.isfile(path)]


def check_kubeconfig(params):
    """Check the kubeconfig the connection options make the client read; raise NodeOpsError if it is bad."""
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    if isinstance(kubeconfig, dict):
        check_kubeconfig_data(kubeconfig, "given as a dictionary", context=context)
        return
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        return  # the loader names the wrong type
    files = kubeconfig_files(kubeconfig)
    for path in files:
        check_kubeconfig_file(path, context=context, single=len(files) == 1)

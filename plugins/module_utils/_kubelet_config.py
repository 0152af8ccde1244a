# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edit top-level fields of a KubeletConfiguration YAML document.

Used on the controller (action plugin ``kubelet_config``) and by the
``kubelet_configmap`` module, so it needs PyYAML, which ansible-core and the
kubernetes client both depend on. The node never runs this code.

The document is parsed with PyYAML. To keep the diff an operator reviews as
small as possible, the edit is made on the text at the positions the parser
reports for the touched fields, so comments, quoting and every other line stay
as they are; the result is parsed again and must be exactly the expected data.
If that check fails (unusual layouts such as a flow-style document), the whole
document is written out again with PyYAML in the same key order (comments are
then lost; the backup keeps them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

KIND = "KubeletConfiguration"
API_GROUP = "kubelet.config.k8s.io"
# kubelet's own default when the field is absent.
DEFAULT_CGROUP_DRIVER = "cgroupfs"


# The types the kubelet requires of the fields operators (and this collection) touch most. A file that
# holds another type makes the kubelet refuse to start, so an edit that would keep or write one is refused.
_STRING = ("a string", lambda v: isinstance(v, str))
_INTEGER = ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
_BOOLEAN = ("a boolean (true or false)", lambda v: isinstance(v, bool))
_STRINGS = ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v))
_STRING_MAP = ("a mapping of names to strings",
               lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()))
_BOOLEAN_MAP = ("a mapping of names to booleans",
                lambda v: isinstance(v, dict) and all(isinstance(i, bool) for i in v.values()))
_MAPPING = ("a mapping", lambda v: isinstance(v, dict))
FIELD_TYPES = {
    "cgroupDriver": ("a string (systemd or cgroupfs)", lambda v: v in ("systemd", "cgroupfs")),
    "clusterDNS": ("a list of IP addresses (clusterDNS: [10.96.0.10])", _STRINGS[1]),
    "clusterDomain": _STRING,
    "containerRuntimeEndpoint": _STRING,
    "resolvConf": _STRING,
    "staticPodPath": _STRING,
    "address": _STRING,
    "cgroupRoot": _STRING,
    "maxPods": _INTEGER,
    "podPidsLimit": _INTEGER,
    "port": _INTEGER,
    "readOnlyPort": _INTEGER,
    "healthzPort": _INTEGER,
    "failSwapOn": _BOOLEAN,
    "rotateCertificates": _BOOLEAN,
    "serverTLSBootstrap": _BOOLEAN,
    "cgroupsPerQOS": _BOOLEAN,
    "protectKernelDefaults": _BOOLEAN,
    "tlsCipherSuites": _STRINGS,
    "enforceNodeAllocatable": _STRINGS,
    "evictionHard": _STRING_MAP,
    "evictionSoft": _STRING_MAP,
    "systemReserved": _STRING_MAP,
    "kubeReserved": _STRING_MAP,
    "featureGates": _BOOLEAN_MAP,
    "authentication": _MAPPING,
    "authorization": _MAPPING,
}


def _kind_of(value):
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                       (list, "a list"), (dict, "a mapping")):
        if isinstance(value, kind):
            return name
    return "null"


def check_field_types(data, root, source, settings):
    """Refuse a known field whose value the kubelet cannot read, in ``data`` (the planned document).

    A wrong value given in ``settings`` is the task's error; one read from the file (and not replaced by
    ``settings``) is the file's, named with its line.
    """
    lines = dict((k.value, k.start_mark.line + 1) for k, _v in root.value)
    for name in sorted(data):
        if name not in FIELD_TYPES or FIELD_TYPES[name][1](data[name]):
            continue
        expected = FIELD_TYPES[name][0]
        if name in settings:
            raise NodeOpsError(
                "settings.%s is %r (%s), but the kubelet reads %s; %s is left untouched. Give settings.%s as %s "
                "and run again" % (name, data[name], _kind_of(data[name]), expected, source, name, expected),
                path=source, field=name,
            )
        raise NodeOpsError(
            "%s: the field %s is %r (%s, line %d), but the kubelet reads %s and would refuse to start with it. "
            "The file is left untouched; fix the value by hand (or set it with settings) and run again"
            % (source, name, data[name], _kind_of(data[name]), lines.get(name, 0), expected),
            path=source, field=name,
        )


class KubeletEdit(object):
    """Outcome of :func:`edit_kubelet_text`."""

    def __init__(self, changed, before, after, text, rewritten=False):
        self.changed = changed
        self.before = before
        self.after = after
        self.text = text
        # True when the document had to be written out again as a whole.
        self.rewritten = rewritten


def plain(value):
    """Return ``value`` with only plain Python types (``str`` subclasses become ``str``)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dict):
        return dict((plain(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    raise NodeOpsError("unsupported value %r of type %s in settings; use strings, numbers, booleans, "
                       "lists and dictionaries" % (value, type(value).__name__))


def _require_yaml():
    if not HAS_YAML:
        raise NodeOpsError("PyYAML is required on the controller to edit kubelet configuration; "
                           "install it with 'pip install pyyaml'")


def _yaml_error(source, exc):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = ""
    if mark is not None:
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1)
    problem = getattr(exc, "problem", None) or str(exc)
    return NodeOpsError(
        "%s is not valid YAML%s: %s. The file is left untouched; fix the syntax (or restore the file from "
        "its backup) and run again" % (source, where, problem),
        path=source,
    )


def parse_kubelet_text(text, source, patch=False):
    """Parse and validate a KubeletConfiguration; return ``(root_node, data)``.

    Raises :class:`NodeOpsError` naming ``source`` when the text is not YAML,
    not a single mapping, or not a KubeletConfiguration. With ``patch``, a
    mapping without ``kind`` and ``apiVersion`` (kubeadm's per-node instance
    configuration) is one too.
    """
    _require_yaml()
    if text is None or not text.strip():
        raise NodeOpsError(
            "%s is empty; it is not a KubeletConfiguration. kubeadm writes it on 'kubeadm init/join' "
            "(or 'kubeadm upgrade node phase kubelet-config'); restore it before editing it" % source,
            path=source,
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(source, exc)
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise NodeOpsError(
            "%s does not hold a YAML mapping, so it is not a KubeletConfiguration; the file is left untouched. "
            "Check that path points at the kubelet configuration file" % source,
            path=source,
        )
    kind = data.get("kind")
    api_version = data.get("apiVersion")
    unnamed_patch = patch and "kind" not in data and "apiVersion" not in data
    if not unnamed_patch and (kind != KIND or not isinstance(api_version, str)
                              or not api_version.startswith(API_GROUP + "/")):
        raise NodeOpsError(
            "%s is not a KubeletConfiguration (kind: %r, apiVersion: %r; expected kind: %s and apiVersion: "
            "%s/v1beta1); the file is left untouched. Check that path points at the kubelet configuration "
            "(kubeadm: /var/lib/kubelet/config.yaml)" % (source, kind, api_version, KIND, API_GROUP),
            path=source,
            kind=kind,
            api_version=api_version,
        )
    seen = set()
    for key_node, _value_node in root.value:
        name = key_node.value
        if name in seen:
            raise NodeOpsError(
                "%s defines the field %r more than once (line %d); kubelet would silently use one of them. "
                "Remove the duplicate by hand and run again" % (source, name, key_node.start_mark.line + 1),
                path=source,
            )
        seen.add(name)
    return root, data


def _render_entry(key, value):
    text = yaml.safe_dump({key: value}, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1000)
    return text


def _is_sorted(keys):
    return all(keys[i] <= keys[i + 1] for i in range(len(keys) - 1))


def _plan(data, settings, remove):
    """Return the expected new mapping and the insertion rule for new keys."""
    keys = list(data)
    sorted_file = len(keys) > 1 and _is_sorted(keys)
    new = copy.deepcopy(data)
    for name in remove:
        new.pop(name, None)
    for name, value in settings.items():
        new[name] = value
    if sorted_file:
        # Keep a sorted file (kubeadm writes one) sorted.
        ordered = [k for k in keys if k in new]
        for name in settings:
            if name not in data:
                ordered.append(name)
        ordered.sort()
        new = dict((k, new[k]) for k in ordered)
    return new, sorted_file


def _splice(text, root, data, settings, remove, sorted_file):
    """Edit ``text`` in place at the positions of the touched fields."""
    entries = dict((k.value, (k, v)) for k, v in root.value)
    if any(k.start_mark.column != 0 for k, _v in root.value) or root.flow_style:
        return None
    edits = []  # (start, end, replacement)
    for name in remove:
        if name not in entries or name in settings:
            continue
        key_node, value_node = entries[name]
        start = key_node.start_mark.index
        end = value_node.end_mark.index
        if not text[start:end].endswith("\n"):
            newline = text.find("\n", end)
            end = len(text) if newline < 0 else newline + 1
        edits.append((start, end, ""))
    additions = []
    for name, value in settings.items():
        if name in data:
            if _same(data[name], value):
                continue
            key_node, value_node = entries[name]
            start = key_node.start_mark.index
            end = value_node.end_mark.index
            rendered = _render_entry(name, value)
            if not text[start:end].endswith("\n"):
                rendered = rendered.rstrip("\n")
            edits.append((start, end, rendered))
        else:
            additions.append(name)
    existing = [k.value for k, _v in root.value]
    for name in additions:
        rendered = _render_entry(name, settings[name])
        position = None
        if sorted_file:
            for key_name in existing:
                if key_name > name:
                    position = entries[key_name][0].start_mark.index
                    break
        if position is None:
            position = root.end_mark.index
            if position > 0 and text[position - 1] != "\n":
                rendered = "\n" + rendered
        edits.append((position, position, rendered))
    # Apply from the end so earlier positions stay valid; insertions at the
    # same position keep the order of ``additions``.
    edits.sort(key=lambda edit: (edit[0], edit[1]))
    result = text
    for start, end, replacement in reversed(edits):
        result = result[:start] + replacement + result[end:]
    return result


def _same(a, b):
    """Deep equality that also tells ``1`` from ``True`` and ``"1"`` from ``1``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def edit_kubelet_text(text, settings, remove=None, source="kubelet configuration", patch=False):
    """Set ``settings`` (and drop ``remove``) in the KubeletConfiguration ``text``.

    ``patch``: the text may lack ``kind`` and ``apiVersion`` (see :func:`parse_kubelet_text`).

    Returns a :class:`KubeletEdit`; ``before``/``after`` hold the values of
    the touched fields (None for an absent field).
    """
    settings = plain(settings or {})
    remove = [plain(name) for name in (remove or [])]
    for name in list(settings) + remove:
        if not isinstance(name, str) or not name:
            raise NodeOpsError("field names in settings and remove must be non-empty strings, got %r" % (name,))
        if name in ("kind", "apiVersion"):
            raise NodeOpsError("the field %r identifies the document and cannot be set or removed" % name)
    both = set(settings) & set(remove)
    if both:
        raise NodeOpsError("the fields %s are both in settings and in remove; keep each in one of them"
                           % ", ".join(sorted(both)))
    root, data = parse_kubelet_text(text, source, patch)
    touched = list(settings) + [name for name in remove if name not in settings]
    before = dict((name, copy.deepcopy(data.get(name))) for name in touched)
    expected, sorted_file = _plan(data, settings, remove)
    check_field_types(expected, root, source, settings)
    after = dict((name, copy.deepcopy(expected.get(name))) for name in touched)
    if _same(expected, data):
        return KubeletEdit(False, before, after, text)
    new_text = _splice(text, root, data, settings, remove, sorted_file)
    rewritten = False
    if new_text is None or not _parses_to(new_text, expected):
        rewritten = True
        new_text = yaml.safe_dump(expected, default_flow_style=False, sort_keys=False, allow_unicode=True)
        if not _parses_to(new_text, expected):  # pragma: no cover - safe_dump round-trips plain data
            raise NodeOpsError("internal error: the edited %s does not read back as the expected data; "
                               "nothing was written" % source)
    return KubeletEdit(True, before, after, new_text, rewritten=rewritten)


def _parses_to(text, expected):
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return _same(loaded, expected)


def cgroup_driver(data):
    """Return the effective cgroup driver of a parsed KubeletConfiguration."""
    return data.get("cgroupDriver") or DEFAULT_CGROUP_DRIVER

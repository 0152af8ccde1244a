# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edit containerd's ``config.toml`` for Kubernetes (CRI) use.

Runs on the controller (action plugin ``containerd_config``) and needs
tomlkit, which keeps comments and layout of the parts it does not change.

Config schema versions (the top-level ``version`` key):

* 2: containerd 1.x. The CRI plugin is ``plugins."io.containerd.grpc.v1.cri"``;
  runtimes under ``.containerd.runtimes.<name>``, ``sandbox_image`` on the
  plugin, registry ``config_path`` under ``.registry``.
* 3: containerd 2.x. Runtimes under
  ``plugins."io.containerd.cri.v1.runtime".containerd.runtimes.<name>``, the
  sandbox image under ``plugins."io.containerd.cri.v1.images".pinned_images.sandbox``
  and ``config_path`` under ``plugins."io.containerd.cri.v1.images".registry``.
* 1 (or no ``version`` key, which containerd reads as 1): the legacy layout
  (``[plugins.cri]``). It is refused, except for a file without any setting
  other than ``disabled_plugins`` (Docker's packaged config), which is replaced
  by a generated default config.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    HAS_TOMLKIT = True
except ImportError:
    HAS_TOMLKIT = False

    class TOMLKitError(Exception):  # pylint: disable=missing-class-docstring
        pass


CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3_RUNTIME = "io.containerd.cri.v1.runtime"
CRI_V3_IMAGES = "io.containerd.cri.v1.images"
# Names under which the CRI plugins can be listed in ``disabled_plugins``.
CRI_PLUGIN_NAMES = ("cri", CRI_V2, CRI_V3_RUNTIME, CRI_V3_IMAGES)
RUNC_TYPE_PREFIX = "io.containerd.runc."

SCHEMAS = {
    2: {
        "runtimes": ("plugins", CRI_V2, "containerd", "runtimes"),
        "sandbox_image": ("plugins", CRI_V2, "sandbox_image"),
        "registry": ("plugins", CRI_V2, "registry"),
    },
    3: {
        "runtimes": ("plugins", CRI_V3_RUNTIME, "containerd", "runtimes"),
        "sandbox_image": ("plugins", CRI_V3_IMAGES, "pinned_images", "sandbox"),
        "registry": ("plugins", CRI_V3_IMAGES, "registry"),
    },
}

# Why a config is generated from ``containerd config default``.
REASON_MISSING = "missing"
REASON_EMPTY = "empty"
REASON_CRI_DISABLED = "cri_disabled"
REASON_NO_RUNTIMES = "cri_runtimes_absent"


class ContainerdEdit(object):
    """Outcome of :func:`edit_containerd_text`."""

    def __init__(self, **fields):
        self.changed = fields.get("changed", False)
        self.text = fields.get("text")
        self.version = fields.get("version")
        self.before = fields.get("before", {})
        self.after = fields.get("after", {})
        self.runc_runtimes = fields.get("runc_runtimes", [])
        self.runtimes_touched = fields.get("runtimes_touched", [])
        self.runtimes_skipped = fields.get("runtimes_skipped", {})
        self.generated_from_default = fields.get("generated_from_default", False)
        self.generation_reason = fields.get("generation_reason")

    def to_result(self):
        return {
            "changed": self.changed,
            "schema_version": self.version,
            "before": self.before,
            "after": self.after,
            "runc_runtimes": self.runc_runtimes,
            "runtimes_touched": self.runtimes_touched,
            "runtimes_skipped": self.runtimes_skipped,
            "generated_from_default": self.generated_from_default,
            "generation_reason": self.generation_reason,
        }


def _require_tomlkit():
    if not HAS_TOMLKIT:
        raise NodeOpsError(
            "the Python package 'tomlkit' is required on the controller to edit containerd's config.toml "
            "(it keeps comments and layout); install it with 'pip install tomlkit' in the controller's "
            "Python environment (or the execution environment image)"
        )


def parse_toml(text, source):
    """Parse TOML with tomlkit; a syntax error names the file, line and column."""
    _require_tomlkit()
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        line = getattr(exc, "line", None)
        col = getattr(exc, "col", None)
        where = " at line %s, column %s" % (line, col) if line is not None else ""
        raise NodeOpsError(
            "%s is not valid TOML%s: %s. The file is left untouched; fix the syntax (or restore it from its "
            "backup, or move it away to have a default config generated) and run again" % (source, where, exc),
            path=source,
        )


def _unwrap(value):
    """Return a plain Python value of a tomlkit item."""
    if hasattr(value, "unwrap"):
        return value.unwrap()
    return value


def _get(doc, path):
    node = doc
    for key in path:
        if not hasattr(node, "get") or not isinstance(node, dict):
            return None
        node = node.get(key)
        if node is None:
            return None
    return node


def schema_version(doc, source):
    """Return the schema version of a parsed config (1 when the key is absent)."""
    version = _unwrap(doc.get("version", 1))
    if isinstance(version, bool) or not isinstance(version, int):
        raise NodeOpsError("%s: the top-level 'version' must be an integer (2 for containerd 1.x, 3 for "
                           "containerd 2.x), found %r; write it as version = 2 or version = 3 (no quotes) and "
                           "run again; the file is left untouched" % (source, version),
                           path=source)
    return version


def disabled_cri_entries(doc):
    """Return the entries of ``disabled_plugins`` that disable the CRI plugin."""
    entries = _unwrap(doc.get("disabled_plugins")) or []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if entry in CRI_PLUGIN_NAMES]


def _is_runc(runtime):
    runtime_type = _unwrap(runtime.get("runtime_type")) if isinstance(runtime, dict) else None
    return isinstance(runtime_type, str) and runtime_type.startswith(RUNC_TYPE_PREFIX)


def runtimes(doc, version):
    """Return ``(runc, skipped)``: runc-type runtime tables by name and the other runtimes' types."""
    table = _get(doc, SCHEMAS[version]["runtimes"])
    runc = {}
    skipped = {}
    if not isinstance(table, dict):
        return runc, skipped
    for name, runtime in table.items():
        if _is_runc(runtime):
            runc[name] = runtime
        else:
            skipped[name] = _unwrap(runtime.get("runtime_type")) if isinstance(runtime, dict) else None
    return runc, skipped


def systemd_cgroup_values(doc, version):
    """Return ``{runtime: SystemdCgroup}`` of every runc-type runtime (None when not set)."""
    runc, _skipped = runtimes(doc, version)
    values = {}
    for name, runtime in runc.items():
        options = runtime.get("options")
        values[name] = _unwrap(options.get("SystemdCgroup")) if isinstance(options, dict) else None
    return values


def read_settings(doc, version):
    """Return the current values of every setting this editor manages."""
    return {
        "systemd_cgroup": systemd_cgroup_values(doc, version),
        "sandbox_image": _unwrap(_get(doc, SCHEMAS[version]["sandbox_image"])),
        "config_path": _unwrap(_get(doc, SCHEMAS[version]["registry"] + ("config_path",))),
        "disabled_plugins": list(_unwrap(doc.get("disabled_plugins")) or []),
    }


def _leading_indent(item):
    trivia = getattr(item, "trivia", None)
    return len(trivia.indent) if trivia is not None else 0


def _new_table(parent, values):
    """Create a table inside ``parent`` indented like the rest of the file."""
    table = tomlkit.table()
    for key, value in values.items():
        table[key] = value
    step = 0
    parent_indent = _leading_indent(parent)
    body = getattr(getattr(parent, "value", None), "body", None) or []
    for key, item in body:
        if key is not None and not isinstance(item, dict):
            step = max(0, _leading_indent(item) - parent_indent)
            break
    if step:
        table.trivia.indent = " " * step
        for _key, item in table.value.body:
            item.trivia.indent = " " * (parent_indent + 2 * step)
    if values:
        table.add(tomlkit.nl())
    return table


def _set_key(table, key, value):
    """Set ``table[key]`` keeping the quoting style of the value and the indentation of the table."""
    existing = table.get(key)
    if existing is not None:
        style = getattr(existing, "type", None)
        if (isinstance(value, str) and getattr(style, "name", "") == "SLL" and "'" not in value
                and "\n" not in value):
            value = tomlkit.string(value, literal=True)
        table[key] = value
        return
    indent = None
    body = getattr(getattr(table, "value", None), "body", None) or []
    for name, item in body:
        if name is not None and not isinstance(item, dict):
            indent = item.trivia.indent
    table[key] = value
    if indent is not None and hasattr(table, "value"):
        table.value.item(key).trivia.indent = indent


def _ensure_path(doc, path):
    """Return the table at ``path``, creating the missing tables."""
    node = doc
    for key in path:
        child = node.get(key)
        if child is None:
            child = _new_table(node, {})
            node[key] = child
            child = node[key]
        elif not isinstance(child, dict):
            raise NodeOpsError("expected a table at %s, found %r" % (".".join(path), _unwrap(child)))
        node = child
    return node


def _set_leaf(doc, path, value):
    parent = _ensure_path(doc, path[:-1])
    current = _unwrap(parent.get(path[-1]))
    if type(current) is not type(value) or current != value:
        _set_key(parent, path[-1], value)


def _toml_kind(value):
    """Name the TOML type of a plain value for a message: 'a boolean', 'a string', ..."""
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
                       (list, "an array"), (dict, "a table")):
        if isinstance(value, kind):
            return name
    return "a %s" % type(value).__name__


def check_disabled_plugins(doc, source):
    """Refuse a ``disabled_plugins`` that is not an array of strings (containerd refuses it too)."""
    entries = _unwrap(doc.get("disabled_plugins"))
    if entries is None:
        return
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        kind = _toml_kind(entries) if not isinstance(entries, list) else "an array with non-string entries"
        raise NodeOpsError(
            "%s: 'disabled_plugins' is %s (%s); containerd reads only an array of plugin names. Write it "
            "as disabled_plugins = [] (or a list of plugin names as strings) and run again; "
            "the file is left untouched" % (source, kind, doc.item("disabled_plugins").as_string().strip()),
            path=source, key="disabled_plugins",
        )


def _dotted(path):
    return ".".join('"%s"' % part if "." in part else part for part in path)


def check_tables(doc, version, source):
    """Refuse a key on the way to the edited settings that is not a table (``plugins = "cri"``).

    containerd refuses such a file too; generating a config would replace the value with the default's
    table, and editing it would have to guess what was meant.
    """
    if version not in SCHEMAS:
        return
    for key_path in SCHEMAS[version].values():
        for depth in range(1, len(key_path)):
            value = _unwrap(_get(doc, key_path[:depth]))
            if value is not None and not isinstance(value, dict):
                key = _dotted(key_path[:depth])
                raise NodeOpsError(
                    "%s: '%s' is %s (%s); containerd reads it as a table of settings. Write it as a table "
                    "([%s] ...) or remove it, then run again; the file is left untouched"
                    % (source, key, _toml_kind(value), tomlkit.item(value).as_string(), key),
                    path=source, key=key,
                )


def _check_registry(doc, version, config_path, source):
    key_path = SCHEMAS[version]["registry"] + ("mirrors",)
    mirrors = _unwrap(_get(doc, key_path))
    if config_path and mirrors is not None and not isinstance(mirrors, dict):
        key = _dotted(key_path)
        raise NodeOpsError(
            "%s: %s is %s (%s), not a table of registries; containerd cannot read it, and refuses 'mirrors' "
            "together with 'config_path' anyway. Remove it (mirrors go to hosts.toml files under %s) and run "
            "again; the file is left untouched"
            % (source, key, _toml_kind(mirrors), tomlkit.item(mirrors).as_string(), config_path),
            path=source, key=key,
        )
    if config_path and mirrors:
        raise NodeOpsError(
            "%s sets registry mirrors (%s) in the CRI registry section; containerd refuses to start when both "
            "'mirrors' and 'config_path' are set. Move the mirrors to hosts.toml files under %s and remove the "
            "mirrors tables, then run again" % (source, ", ".join(sorted(mirrors)), config_path),
            path=source,
        )


def _apply(doc, version, source, systemd_cgroup, sandbox_image, config_path, enable_cri):
    """Apply the settings to ``doc`` in place; return ``(runtimes_touched, runtimes_skipped)``."""
    if enable_cri:
        entries = doc.get("disabled_plugins")
        if entries is not None and disabled_cri_entries(doc):
            for index in reversed(range(len(entries))):
                if _unwrap(entries[index]) in CRI_PLUGIN_NAMES:
                    del entries[index]
    touched = []
    runc, skipped = runtimes(doc, version)
    if systemd_cgroup is not None:
        if not runc:
            raise NodeOpsError(
                "%s defines no runc runtime (runtime_type io.containerd.runc.v2) under %s, so there is no "
                "SystemdCgroup to set; add the runc runtime (see 'containerd config default') and run again"
                % (source, ".".join(SCHEMAS[version]["runtimes"])),
                path=source,
            )
        for name, runtime in runc.items():
            options = runtime.get("options")
            if options is None:
                runtime["options"] = _new_table(runtime, {"SystemdCgroup": systemd_cgroup})
                touched.append(name)
            elif not isinstance(options, dict):
                key = _dotted(SCHEMAS[version]["runtimes"] + (name, "options"))
                raise NodeOpsError(
                    "%s: the options of runtime %r are %s (options = %s); containerd reads them as a table. "
                    "Write them as a table ([%s] with SystemdCgroup = true or false) or remove the key, then run "
                    "again; the file is left untouched"
                    % (source, name, _toml_kind(_unwrap(options)), tomlkit.item(_unwrap(options)).as_string(), key),
                    path=source, key=key,
                )
            elif _unwrap(options.get("SystemdCgroup")) is not systemd_cgroup:
                _set_key(options, "SystemdCgroup", systemd_cgroup)
                touched.append(name)
    if sandbox_image is not None:
        _set_leaf(doc, SCHEMAS[version]["sandbox_image"], sandbox_image)
    if config_path is not None:
        _check_registry(doc, version, config_path, source)
        _set_leaf(doc, SCHEMAS[version]["registry"] + ("config_path",), config_path)
    return sorted(touched), skipped


def _requested(values, systemd_cgroup, sandbox_image, config_path, enable_cri):
    out = {}
    if systemd_cgroup is not None:
        out["systemd_cgroup"] = values["systemd_cgroup"]
    if sandbox_image is not None:
        out["sandbox_image"] = values["sandbox_image"]
    if config_path is not None:
        out["config_path"] = values["config_path"]
    if enable_cri:
        out["disabled_plugins"] = values["disabled_plugins"]
    return out


def _has_settings(doc, ignore=()):
    return any(key not in ignore for key in doc.keys())


def generation_reason(text, doc, version, systemd_cgroup):
    """Return why the config must be generated from the default one, or None."""
    if text is None:
        return REASON_MISSING
    if not _has_settings(doc):
        return REASON_EMPTY
    if version == 1 and not _has_settings(doc, ignore=("disabled_plugins",)):
        # Docker's containerd.io package: only ``disabled_plugins = ["cri"]``.
        return REASON_CRI_DISABLED if disabled_cri_entries(doc) else REASON_EMPTY
    if version in SCHEMAS and systemd_cgroup is not None:
        runc, _skipped = runtimes(doc, version)
        if not runc and _get(doc, SCHEMAS[version]["runtimes"]) is None:
            return REASON_NO_RUNTIMES
    return None


def _merge(target, overlay):
    """Copy every key of ``overlay`` into ``target``; tables are merged key by key."""
    for key, value in overlay.items():
        existing = target.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            _merge(existing, value)
        else:
            target[key] = copy.deepcopy(value)


def _default_doc(default_text, source):
    default_doc = parse_toml(default_text, "the output of 'containerd config default'")
    version = schema_version(default_doc, "the output of 'containerd config default'")
    if version not in SCHEMAS:
        raise NodeOpsError("'containerd config default' on the node printed a config with schema version %s, "
                           "which this module does not know (it handles 2 and 3); nothing was written to %s"
                           % (version, source), path=source)
    if not runtimes(default_doc, version)[0]:
        raise NodeOpsError("'containerd config default' on the node printed no CRI runc runtime; is the "
                           "containerd build missing the CRI plugin? Nothing was written to %s" % source,
                           path=source)
    return default_doc, version


def edit_containerd_text(text, source, systemd_cgroup=None, sandbox_image=None, config_path=None,
                         enable_cri=True, default_text=None):
    """Apply the settings to the config ``text`` (None: the file does not exist).

    ``default_text`` is a callable returning the output of ``containerd config
    default`` on the node; it is only called when the config has to be
    generated. Returns a :class:`ContainerdEdit`.
    """
    _require_tomlkit()
    if systemd_cgroup is not None and not isinstance(systemd_cgroup, bool):
        raise NodeOpsError("systemd_cgroup must be a boolean, got %r" % (systemd_cgroup,))
    doc = parse_toml(text if text is not None else "", source)
    version = schema_version(doc, source)
    check_disabled_plugins(doc, source)
    check_tables(doc, version, source)
    reason = generation_reason(text, doc, version, systemd_cgroup)
    original_values = read_settings(doc, version) if version in SCHEMAS else {
        "systemd_cgroup": {}, "sandbox_image": None, "config_path": None,
        "disabled_plugins": list(_unwrap(doc.get("disabled_plugins")) or [])}
    if reason is None:
        if version == 1:
            raise NodeOpsError(
                "%s has no 'version' key (or version = 1), which containerd reads as the legacy schema version "
                "1 ([plugins.cri]); this module edits only schema version 2 (containerd 1.x) and 3 (containerd "
                "2.x). Convert it ('containerd config migrate' on containerd 2.x, or regenerate it with "
                "'containerd config default' and carry your settings over), or move it away to have a default "
                "config generated; the file is left untouched" % source,
                path=source, schema_version=version,
            )
        if version not in SCHEMAS:
            raise NodeOpsError(
                "%s declares schema version %s; this module knows versions 2 (containerd 1.x) and 3 (containerd "
                "2.x) only; the file is left untouched" % (source, version),
                path=source, schema_version=version,
            )
        if disabled_cri_entries(doc) and not enable_cri:
            raise NodeOpsError(
                "%s disables the CRI plugin (disabled_plugins: %s), so kubelet cannot use containerd and the "
                "requested settings would have no effect; set enable_cri: true" % (source, ", ".join(
                    disabled_cri_entries(doc))),
                path=source,
            )
        new_doc = doc
    else:
        if disabled_cri_entries(doc) and not enable_cri:
            raise NodeOpsError(
                "%s disables the CRI plugin (disabled_plugins: %s) and has no CRI configuration; set "
                "enable_cri: true to have a complete config generated from 'containerd config default'"
                % (source, ", ".join(disabled_cri_entries(doc))),
                path=source,
            )
        if default_text is None:
            raise NodeOpsError("%s must be generated from 'containerd config default' (%s) but no default "
                               "config is available" % (source, reason), path=source)
        new_doc, default_version = _default_doc(default_text(), source)
        if reason == REASON_NO_RUNTIMES:
            if version != default_version:
                raise NodeOpsError(
                    "%s uses schema version %s but the containerd on the node generates version %s; generating "
                    "a config would mix both layouts. Convert the file to version %s first; the file is left "
                    "untouched" % (source, version, default_version, default_version),
                    path=source, schema_version=version,
                )
            _merge(new_doc, dict((k, v) for k, v in doc.items() if k != "version"))
        elif doc.get("disabled_plugins") is not None:
            new_doc["disabled_plugins"] = copy.deepcopy(doc["disabled_plugins"])
        version = default_version
    touched, skipped = _apply(new_doc, version, source, systemd_cgroup, sandbox_image, config_path, enable_cri)
    new_text = tomlkit.dumps(new_doc)
    final_values = read_settings(parse_toml(new_text, source), version)
    _verify(final_values, source, systemd_cgroup, sandbox_image, config_path, enable_cri)
    runc_names = sorted(final_values["systemd_cgroup"])
    return ContainerdEdit(
        changed=new_text != (text or "") or text is None,
        text=new_text,
        version=version,
        before=_requested(original_values, systemd_cgroup, sandbox_image, config_path, enable_cri),
        after=_requested(final_values, systemd_cgroup, sandbox_image, config_path, enable_cri),
        runc_runtimes=runc_names,
        runtimes_touched=touched if reason is None else runc_names if systemd_cgroup is not None else [],
        runtimes_skipped=skipped,
        generated_from_default=reason is not None,
        generation_reason=reason,
    )


def _verify(values, source, systemd_cgroup, sandbox_image, config_path, enable_cri):
    """Check the edited text reads back with the requested values before anything is written."""
    problems = []
    if systemd_cgroup is not None:
        wrong = [name for name, value in values["systemd_cgroup"].items() if value is not systemd_cgroup]
        if wrong:
            problems.append("SystemdCgroup of %s" % ", ".join(wrong))
    if sandbox_image is not None and values["sandbox_image"] != sandbox_image:
        problems.append("sandbox image")
    if config_path is not None and values["config_path"] != config_path:
        problems.append("registry config_path")
    if enable_cri and any(entry in CRI_PLUGIN_NAMES for entry in values["disabled_plugins"]):
        problems.append("disabled_plugins")
    if problems:  # pragma: no cover - guards against tomlkit surprises
        raise NodeOpsError("internal error: the edited %s does not read back with the requested %s; nothing "
                           "was written" % (source, " and ".join(problems)), path=source)


def effective_systemd_cgroup(data):
    """Return ``(version, {runtime: SystemdCgroup})`` of plain parsed config data (``containerd config dump``).

    Works on the result of ``tomllib.loads`` (no tomlkit needed). Absent
    values are reported as None; containerd treats them as false.
    """
    version = data.get("version", 1)
    if version not in SCHEMAS:
        return version, {}
    table = data
    for key in SCHEMAS[version]["runtimes"]:
        table = table.get(key) if isinstance(table, dict) else None
    values = {}
    for name, runtime in (table or {}).items():
        if isinstance(runtime, dict) and str(runtime.get("runtime_type", "")).startswith(RUNC_TYPE_PREFIX):
            options = runtime.get("options") or {}
            values[name] = options.get("SystemdCgroup") if isinstance(options, dict) else None
    return version, values

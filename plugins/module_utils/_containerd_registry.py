# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Translate Docker's registry and proxy settings into containerd's files (controller side).

* ``registry-mirrors`` of daemon.json (they apply to Docker Hub only) become
  host entries of ``<certs_dir>/docker.io/hosts.toml``;
* ``insecure-registries`` become ``<certs_dir>/<registry>/hosts.toml`` with
  ``skip_verify = true`` (see :func:`insecure_hosts` for the HTTP rule);
* HTTP(S)_PROXY / NO_PROXY become the systemd drop-in
  ``/etc/systemd/system/containerd.service.d/http-proxy.conf``.

hosts.toml files are edited with tomlkit: existing files are merged into, not
replaced. Entries already there stay (and stay first, since containerd tries
hosts in file order); the keys this code owns on its own host entries are
``capabilities`` and ``skip_verify``; ``server`` is only written when absent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
    from tomlkit.items import InlineTable

    HAS_TOMLKIT = True
except ImportError:  # pragma: no cover - only the controller needs it
    tomlkit = None
    TOMLKitError = ValueError
    InlineTable = dict
    HAS_TOMLKIT = False

DEFAULT_CERTS_DIR = "/etc/containerd/certs.d"
DEFAULT_PROXY_DROPIN = "/etc/systemd/system/containerd.service.d/http-proxy.conf"
DOCKER_HUB = "docker.io"
DOCKER_HUB_SERVER = "https://registry-1.docker.io"
# Docker Hub's names in insecure-registries; its registry API is served by registry-1.docker.io.
DOCKER_HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io")
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
MIRROR_CAPABILITIES = ["pull", "resolve"]
REGISTRY_CAPABILITIES = ["pull", "resolve", "push"]


def _require_tomlkit():
    if not HAS_TOMLKIT:
        raise NodeOpsError("the Python package 'tomlkit' is required on the controller; install it with "
                           "'pip install tomlkit' (or add it to the execution environment)")


def split_registry(entry, what):
    """Return ``(scheme or None, host[:port], path)`` of a registry or mirror entry of daemon.json."""
    if not isinstance(entry, str) or not entry.strip():
        raise NodeOpsError("%s entry %r is not a registry name; fix the value and run again" % (what, entry))
    text = entry.strip()
    scheme = None
    if "://" in text:
        scheme, text = text.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise NodeOpsError("%s entry %r: only http:// and https:// can be translated" % (what, entry))
    host, sep, path = text.partition("/")
    if not host:
        raise NodeOpsError("%s entry %r has no host name" % (what, entry))
    return scheme, host.lower(), ("/" + path.rstrip("/")) if sep and path.strip("/") else ""


def is_cidr(entry):
    """Docker accepts CIDR ranges in insecure-registries (``10.0.0.0/8``); containerd has no equivalent."""
    if not isinstance(entry, str) or "://" in entry or "/" not in entry:
        return False
    address, _sep, bits = entry.partition("/")
    return bits.isdigit() and (address.count(".") == 3 or ":" in address)


def insecure_hosts(insecure_registries):
    """Plan the hosts of each insecure registry: ``({registry: {server, hosts}}, untranslatable)``.

    The rule, chosen to behave like Docker (which tries HTTPS without
    verification, then plain HTTP, for an insecure registry):

    * ``reg:5000`` (no scheme): ``server = "https://reg:5000"`` with the hosts
      ``https://reg:5000`` (``skip_verify = true``) then ``http://reg:5000``;
      containerd tries them in order and moves on when one fails;
    * ``https://reg:5000``: only the HTTPS host, ``skip_verify = true``;
    * ``http://reg:5000``: only the plain HTTP host (and server).

    Docker Hub (``docker.io``, ``index.docker.io``) is planned under
    ``docker.io`` with the API endpoint ``registry-1.docker.io``, the one
    containerd and Docker use for it (not ``https://docker.io``).

    CIDR ranges cannot be expressed in hosts.toml and are returned in
    ``untranslatable``.
    """
    plans = {}
    untranslatable = []
    for entry in insecure_registries or []:
        if is_cidr(entry):
            untranslatable.append(entry)
            continue
        scheme, host, _path = split_registry(entry, "insecure-registries")
        endpoint = host
        if host in DOCKER_HUB_NAMES:
            host, endpoint = DOCKER_HUB, DOCKER_HUB_ENDPOINT
        hosts = []
        if scheme in (None, "https"):
            hosts.append(("https://%s" % endpoint,
                          {"capabilities": list(REGISTRY_CAPABILITIES), "skip_verify": True}))
        if scheme in (None, "http"):
            hosts.append(("http://%s" % endpoint, {"capabilities": list(REGISTRY_CAPABILITIES)}))
        plan = plans.setdefault(host, {"server": hosts[0][0], "hosts": []})
        known = [url for url, _opts in plan["hosts"]]
        plan["hosts"].extend((url, opts) for url, opts in hosts if url not in known)
    return plans, untranslatable


def mirror_hosts(registry_mirrors, insecure_registries=None):
    """Plan Docker Hub's hosts.toml from ``registry-mirrors``: ``{server, hosts}``.

    A mirror listed in ``insecure-registries`` too gets ``skip_verify = true``
    (Docker trusts it without verification as well). A mirror URL with a path
    gets ``override_path = true`` so containerd uses the path as given.
    """
    insecure = set()
    for entry in insecure_registries or []:
        if not is_cidr(entry):
            insecure.add(split_registry(entry, "insecure-registries")[1])
    hosts = []
    for entry in registry_mirrors or []:
        scheme, host, path = split_registry(entry, "registry-mirrors")
        url = "%s://%s%s" % (scheme or "https", host, path)
        options = {"capabilities": list(MIRROR_CAPABILITIES)}
        if (scheme or "https") == "https" and host in insecure:
            options["skip_verify"] = True
        if path:
            options["override_path"] = True
        if url not in [known for known, _opts in hosts]:
            hosts.append((url, options))
    return {"server": DOCKER_HUB_SERVER, "hosts": hosts}


def plan_registry_files(certs_dir, registry_mirrors, insecure_registries):
    """Return ``(files, untranslatable)``; files maps a hosts.toml path to its ``{registry, server, hosts}``."""
    files = {}
    plans, untranslatable = insecure_hosts(insecure_registries)
    if registry_mirrors:
        plans.setdefault(DOCKER_HUB, {"server": DOCKER_HUB_SERVER, "hosts": []})
        mirrors = mirror_hosts(registry_mirrors, insecure_registries)
        # Mirrors first: Docker tries them before Docker Hub itself.
        plans[DOCKER_HUB]["hosts"] = mirrors["hosts"] + plans[DOCKER_HUB]["hosts"]
    for registry, plan in sorted(plans.items()):
        path = posixpath.join(certs_dir, registry, "hosts.toml")
        files[path] = {"registry": registry, "server": plan["server"], "hosts": plan["hosts"]}
    return files, untranslatable


def _toml_kind(item):
    """Name the TOML type of a parsed value for a message: 'a string', 'an integer', ..."""
    value = item.unwrap() if hasattr(item, "unwrap") else item
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
                       (list, "an array")):
        if isinstance(value, kind):
            return name
    return "a %s" % type(value).__name__


def merge_hosts_toml(text, path, server, hosts):
    """Merge the planned server and hosts into a hosts.toml text.

    Returns a dict with ``changed``, ``text``, ``before``/``after`` (the parsed
    data) and ``warnings`` (for an existing ``server`` that differs).
    """
    _require_tomlkit()
    try:
        document = tomlkit.parse(text or "")
    except TOMLKitError as exc:
        raise NodeOpsError("%s is not valid TOML (%s); the file is left untouched. Fix or remove it and run again"
                           % (path, exc), path=path)
    before = document.unwrap()
    if "server" in document and not isinstance(before["server"], str):
        raise NodeOpsError("%s: 'server' is %s (server = %s), not the URL of the registry; the file is left "
                           "untouched. Write it as a URL in quotes (server = \"%s\") or remove it and run again"
                           % (path, _toml_kind(document["server"]), document.item("server").as_string(), server),
                           path=path, key="server")
    warnings = []
    if "server" not in document:
        document.add("server", server)
    elif document["server"] != server:
        warnings.append("%s keeps its server %s (the translation would have set %s)"
                        % (path, document["server"], server))
    if "host" not in document:
        document.add("host", tomlkit.table(is_super_table=True))
    host_table = document["host"]
    if not isinstance(host_table, dict):
        raise NodeOpsError("%s: 'host' is %s, not a table of hosts; the file is left untouched. Write each host as "
                           "[host.\"<url>\"] (or remove 'host') and run again"
                           % (path, _toml_kind(host_table)), path=path, key="host")
    inline = isinstance(host_table, InlineTable)
    for url, options in hosts:
        if url not in host_table:
            # An inline ``host = { ... }`` can only hold inline tables.
            entry = tomlkit.inline_table() if inline else tomlkit.table()
            for key, value in options.items():
                entry[key] = value
            host_table[url] = entry
            continue
        entry = host_table[url]
        if not isinstance(entry, dict):
            raise NodeOpsError("%s: host.\"%s\" is %s, not a table; the file is left untouched. Write it as a "
                               "table ([host.\"%s\"] with capabilities = [...]) or remove it and run again"
                               % (path, url, _toml_kind(entry), url),
                               path=path, key="host.%s" % url)
        for key, value in options.items():
            if entry.get(key) != value:
                entry[key] = value
    new_text = tomlkit.dumps(document)
    after = tomlkit.parse(new_text).unwrap()
    changed = after != before
    return {"changed": changed, "text": new_text if changed else (text or ""), "before": before, "after": after,
            "warnings": warnings}


def _systemd_quote(assignment):
    """Quote ``NAME=value`` for ``Environment=``: backslash and double quote escaped, ``%`` doubled."""
    if "\n" in assignment:
        raise NodeOpsError("a proxy setting must be one line, got %r" % assignment)
    escaped = assignment.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"%s"' % escaped


def render_proxy_dropin(http_proxy=None, https_proxy=None, no_proxy=None):
    """Render the containerd proxy drop-in; None when no proxy is set.

    Both spellings (upper and lower case) are written: Go's proxy support reads
    the upper-case names first, other tools started by containerd read the
    lower-case ones.
    """
    pairs = [("HTTP_PROXY", http_proxy), ("HTTPS_PROXY", https_proxy), ("NO_PROXY", no_proxy)]
    pairs = [(name, value) for name, value in pairs if value]
    if not pairs:
        return None
    lines = ["# Proxy settings of containerd, carried over from Docker's configuration.", "[Service]"]
    for name, value in pairs:
        for spelled in (name, name.lower()):
            lines.append("Environment=%s" % _systemd_quote("%s=%s" % (spelled, value)))
    return "\n".join(lines) + "\n"

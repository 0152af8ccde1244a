# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find what depends on Docker before a node is switched to containerd (read only, standard library only).

Three parts:

* the report: findings ``{id, severity, check, where, what, breaks, fix}``,
  acknowledgements and the verdict (:func:`build_report`);
* the cluster side: pod specs and pod templates as plain API dicts
  (:func:`scan_cluster`);
* the node side: daemon.json, Docker's systemd units and drop-ins, other
  units, cron, scripts, kubelet flag files and processes talking to the
  Docker socket (:class:`NodeScanner`). Every path is looked up under a
  ``root`` so the scanner can be tested on a directory tree.

A finding's ``id`` is ``<check>:<where>``; it does not change between runs,
so it can be acknowledged in advance (exactly, or with a shell-style
pattern such as ``daemon-json-data-root:node/*``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import posixpath
import re

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_daemon import (
    cgroup_driver_entries,
    parse_daemon_json,
    read_text,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_flags import (
    CNI_DEFAULTS,
    DOCKERSHIM_ONLY_FLAGS,
    find_variable,
    flags_dict,
    parse_version,
    split_words,
    tokenize_flags,
)

SEVERITIES = ("blocking", "warning", "info")

# ---------------------------------------------------------------------------
# Findings and the report
# ---------------------------------------------------------------------------


def finding(check, where, severity, what, breaks, fix, **extra):
    """Build one finding; ``id`` is ``<check>:<where>``."""
    if severity not in SEVERITIES:
        raise ValueError("unknown severity %r" % severity)
    item = {"id": "%s:%s" % (check, where), "check": check, "severity": severity, "where": where,
            "what": what, "breaks": breaks, "fix": fix}
    item.update(extra)
    return item


def sort_findings(findings):
    return sorted(findings, key=lambda item: (SEVERITIES.index(item["severity"]), item["id"]))


def build_report(findings, acknowledge=None, block_on_warnings=False):
    """Return the report: findings marked ``acknowledged``, the ids still blocking and the verdict.

    A finding blocks when its severity is ``blocking`` (or ``warning`` with
    ``block_on_warnings``) and no entry of ``acknowledge`` matches its id.
    Entries are ids or shell-style patterns (``fnmatch``); entries that match
    nothing are listed in ``unmatched_acknowledgements`` (a typo must not
    pass unnoticed).
    """
    acknowledge = [str(entry) for entry in (acknowledge or [])]
    used = set()
    blocking = []
    marked = []
    for item in sort_findings(findings):
        item = dict(item)
        matches = [entry for entry in acknowledge if fnmatch.fnmatchcase(item["id"], entry)]
        used.update(matches)
        item["acknowledged"] = bool(matches)
        blocks = item["severity"] == "blocking" or (block_on_warnings and item["severity"] == "warning")
        if blocks and not matches:
            blocking.append(item["id"])
        marked.append(item)
    summary = dict((severity, sum(1 for item in marked if item["severity"] == severity)) for severity in SEVERITIES)
    summary["acknowledged"] = sum(1 for item in marked if item["acknowledged"])
    summary["blocking_unacknowledged"] = len(blocking)
    return {
        "findings": marked,
        "blocking": blocking,
        "unmatched_acknowledgements": [entry for entry in acknowledge if entry not in used],
        "summary": summary,
        "ok_to_switch": not blocking,
    }


def blocking_message(report, scope):
    """The failure message of a report that still has unacknowledged blocking findings."""
    lines = []
    for item in report["findings"]:
        if item["id"] in report["blocking"]:
            lines.append("%s [%s] %s; breaks: %s; fix: %s"
                         % (item["id"], item["where"], item["what"], item["breaks"], item["fix"]))
    return ("%s: %d blocking finding(s) stop the switch to containerd. Fix them, or acknowledge each by id in "
            "'acknowledge' once you know the consequence: %s" % (scope, len(lines), " | ".join(lines)))


# ---------------------------------------------------------------------------
# Words that show a dependency on Docker
# ---------------------------------------------------------------------------

_WORD_SEPARATORS = re.compile(r"[\s;|&()<>`'\"=,$]+")
DOCKER_COMMANDS = ("docker", "dockerd", "docker-compose")
HOST_ESCAPE_COMMANDS = ("nsenter", "chroot")


def docker_references(text):
    """Return why a command line or script line depends on Docker (sorted reasons), ``[]`` when it does not.

    The text is cut into words at blanks and shell punctuation; a word counts
    when it is the ``docker``/``dockerd``/``docker-compose`` command (any
    path), names the Docker socket, or a path under ``/etc/docker`` or
    ``/var/lib/docker``.
    """
    reasons = set()
    for word in _WORD_SEPARATORS.split(text or ""):
        word = word.strip().lower()
        if not word:
            continue
        if posixpath.basename(word) in DOCKER_COMMANDS:
            reasons.add("runs %s" % posixpath.basename(word))
        elif "docker.sock" in word:
            reasons.add("uses the Docker socket")
        elif word.startswith("/etc/docker"):
            reasons.add("uses Docker's configuration (/etc/docker)")
        elif word.startswith("/var/lib/docker"):
            reasons.add("uses Docker's data directory (/var/lib/docker)")
        elif word in ("docker.service", "docker.socket"):
            reasons.add("manages the Docker service")
    return sorted(reasons)


def _escapes_to_host(text):
    return any(posixpath.basename(word.lower()) in HOST_ESCAPE_COMMANDS for word in _WORD_SEPARATORS.split(text or ""))


# ---------------------------------------------------------------------------
# Cluster side
# ---------------------------------------------------------------------------

# Paths are compared with /var/run folded into /run (/var/run is a link to /run).
DOCKER_HOST_PATHS = {
    "/run/docker.sock": "the Docker socket",
    "/run/docker": "Docker's runtime directory",
    "/var/lib/docker": "Docker's data directory",
    "/etc/docker": "Docker's configuration directory",
    "/run/dockershim.sock": "the dockershim socket",
    "/run/cri-dockerd.sock": "the cri-dockerd socket",
}
DOCKER_LOG_DIR = "/var/lib/docker/containers"

TEMPLATE_KINDS = ("DaemonSet", "Deployment", "StatefulSet", "Job", "CronJob")


def fold_path(path):
    """Normalise a host path for comparisons: ``/var/run`` is ``/run``."""
    path = posixpath.normpath("/" + (path or "").lstrip("/"))
    if path == "/var/run" or path.startswith("/var/run/"):
        path = "/run" + path[len("/var/run"):]
    return path


def _under(path, parent):
    return path == parent or parent == "/" or path.startswith(parent + "/")


def classify_host_path(path):
    """Return ``("docker", label)`` for a Docker path or one below it, ``("parent", labels)`` for a directory
    that contains Docker paths, ``(None, None)`` otherwise."""
    folded = fold_path(path)
    for docker_path, label in sorted(DOCKER_HOST_PATHS.items()):
        if _under(folded, docker_path):
            return "docker", label
    exposed = sorted(label for docker_path, label in DOCKER_HOST_PATHS.items() if _under(docker_path, folded))
    if exposed:
        return "parent", exposed
    return None, None


def _containers(spec):
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _container_text(container):
    parts = list(container.get("command") or []) + list(container.get("args") or [])
    for env in container.get("env") or []:
        if env.get("value"):
            parts.append("%s=%s" % (env.get("name"), env.get("value")))
    return " ".join(str(part) for part in parts)


def pod_spec_findings(spec, where):
    """Findings of one pod spec (of a pod or a pod template) at ``where`` (for example ``daemonset/ns/name``)."""
    findings = []
    spec = spec or {}
    mounts_by_volume = {}
    for container in _containers(spec):
        for mount in container.get("volumeMounts") or []:
            mounts_by_volume.setdefault(mount.get("name"), []).append(container.get("name"))
    references = {}
    for container in _containers(spec):
        refs = docker_references(_container_text(container))
        if refs:
            references[container.get("name")] = refs
    host_path_volumes = [volume for volume in spec.get("volumes") or [] if volume.get("hostPath")]
    for volume in host_path_volumes:
        path = volume["hostPath"].get("path") or ""
        kind, label = classify_host_path(path)
        users = sorted(set(mounts_by_volume.get(volume.get("name"), [])))
        users_text = ", ".join(users) if users else "no container (volume unused)"
        if kind == "docker":
            if _under(fold_path(path), DOCKER_LOG_DIR) or fold_path(path) == "/var/lib/docker":
                breaks = ("container logs are no longer written under /var/lib/docker/containers: log collectors "
                          "reading there see nothing new" if _under(fold_path(path), DOCKER_LOG_DIR)
                          else "Docker's data directory no longer holds the Kubernetes containers and images")
                fix = "read container logs from /var/log/pods (and /var/log/containers) and drop the mount"
            else:
                breaks = ("the Docker daemon is stopped by the switch: calls through %s fail (or the hostPath is "
                          "recreated as an empty directory)" % label)
                fix = ("use the CRI instead (crictl, unix:///run/containerd/containerd.sock) or a "
                       "containerd-aware version of the tool, and remove the mount")
            findings.append(finding(
                "docker-hostpath", "%s/%s" % (where, volume.get("name")), "blocking",
                "mounts %s (hostPath %s) into %s" % (label, path, users_text), breaks, fix,
                host_path=path, containers=users))
        elif kind == "parent":
            refs = dict((name, refs) for name, refs in references.items() if name in users)
            severity = "blocking" if refs else "warning"
            findings.append(finding(
                "docker-hostpath-parent", "%s/%s" % (where, volume.get("name")), severity,
                "mounts hostPath %s, which contains %s, into %s%s" % (
                    path, ", ".join(label), users_text,
                    "; the containers refer to Docker (%s)" % "; ".join(
                        "%s: %s" % (name, ", ".join(value)) for name, value in sorted(refs.items())) if refs else ""),
                "anything in the pod that reaches Docker through this mount fails once Docker is stopped",
                "check what the containers do under %s; move Docker calls to the CRI (crictl) or acknowledge when "
                "they do not use Docker" % path, host_path=path, containers=users))
    reaches_host = bool(spec.get("hostPID")) or bool(host_path_volumes)
    for container in _containers(spec):
        name = container.get("name")
        text = _container_text(container)
        if "DOCKER_HOST=tcp:" in text:
            findings.append(finding(
                "docker-host-tcp", "%s/%s" % (where, name), "warning",
                "container %s talks to a Docker daemon over TCP (DOCKER_HOST)" % name,
                "if that daemon is a node's Docker, it no longer runs the Kubernetes containers",
                "check which daemon DOCKER_HOST points at", containers=[name]))
        if name not in references:
            continue
        privileged = bool((container.get("securityContext") or {}).get("privileged"))
        if privileged:
            host = reaches_host or _escapes_to_host(text)
            findings.append(finding(
                "privileged-docker-command", "%s/%s" % (where, name), "blocking" if host else "warning",
                "privileged container %s %s" % (name, ", ".join(references[name])),
                "Docker commands on the node fail after the switch (no Docker daemon, or one that no longer runs "
                "the Kubernetes containers)" if host else
                "probably Docker-in-Docker (no hostPID, no hostPath): unaffected unless it talks to the node's Docker",
                "rewrite the commands for crictl/ctr (namespace k8s.io) or acknowledge after checking",
                containers=[name]))
    never = sorted(container.get("name") for container in _containers(spec)
                   if container.get("imagePullPolicy") == "Never")
    if never:
        findings.append(finding(
            "image-pull-never", where, "warning",
            "containers %s use imagePullPolicy: Never" % ", ".join(never),
            "images loaded into Docker are not in containerd's image store: the pods fail with ErrImageNeverPull",
            "import the images on each node (ctr -n k8s.io images import) before the pods come back, or let "
            "them be pulled", containers=never))
    return findings


def _meta(obj):
    return obj.get("metadata") or {}


def _ref(kind, obj):
    meta = _meta(obj)
    return "%s/%s/%s" % (kind.lower(), meta.get("namespace", ""), meta.get("name", ""))


def template_spec(kind, obj):
    """Return the pod spec inside a controller object."""
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _controller_of(obj):
    for owner in _meta(obj).get("ownerReferences") or []:
        if owner.get("controller"):
            return owner
    return None


def top_owner(obj, kind, index):
    """Follow controller owner references (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob).

    Returns ``(kind, namespace/name key)`` of the top object that is known in ``index``.
    """
    namespace = _meta(obj).get("namespace", "")
    current_kind, current = kind, obj
    for _depth in range(5):
        owner = _controller_of(current)
        if not owner or owner.get("uid") not in index:
            break
        current_kind, current = index[owner["uid"]]
    return current_kind, "%s/%s" % (namespace, _meta(current).get("name", ""))


def runtime_of_node(node):
    """Return ``{name, runtime, runtime_version, kubelet_version, on_docker}`` of a Node dict."""
    info = ((node.get("status") or {}).get("nodeInfo")) or {}
    version = info.get("containerRuntimeVersion") or ""
    runtime, sep, runtime_version = version.partition("://")
    return {
        "name": _meta(node).get("name"),
        "runtime": runtime if sep else (version or None),
        "runtime_version": runtime_version if sep else None,
        "container_runtime_version": version or None,
        "kubelet_version": info.get("kubeletVersion"),
        "on_docker": runtime == "docker",
    }


def scan_cluster(objects):
    """Scan API objects given as ``{kind: [dict, ...]}`` (Pod, DaemonSet, Deployment, StatefulSet, Job, CronJob,
    ReplicaSet, Node). Returns ``(findings, nodes)``.

    Templates of the controllers are scanned once; a pod created by a scanned
    controller is not reported on its own, it adds its name and node to the
    controller's findings (``pods``, ``nodes``). Finished pods are ignored.
    """
    index = {}
    for kind in TEMPLATE_KINDS + ("ReplicaSet",):
        for obj in objects.get(kind) or []:
            uid = _meta(obj).get("uid")
            if uid:
                index[uid] = (kind, obj)
    by_object = {}
    for kind in TEMPLATE_KINDS:
        for obj in objects.get(kind) or []:
            owner_kind, _key = top_owner(obj, kind, index)
            if owner_kind != kind:
                continue  # a Job of a CronJob: the CronJob's template is scanned
            key = (kind, "%s/%s" % (_meta(obj).get("namespace", ""), _meta(obj).get("name", "")))
            by_object[key] = pod_spec_findings(template_spec(kind, obj), _ref(kind, obj))
    findings = []
    for pod in objects.get("Pod") or []:
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            continue
        node_name = (pod.get("spec") or {}).get("nodeName")
        owner_kind, key = top_owner(pod, "Pod", index)
        pod_name = "%s/%s" % (_meta(pod).get("namespace", ""), _meta(pod).get("name", ""))
        if (owner_kind, key) in by_object:
            for item in by_object[(owner_kind, key)]:
                item.setdefault("pods", []).append(pod_name)
                if node_name and node_name not in item.setdefault("nodes", []):
                    item["nodes"].append(node_name)
            continue
        for item in pod_spec_findings(pod.get("spec"), _ref("Pod", pod)):
            item["pods"] = [pod_name]
            item["nodes"] = [node_name] if node_name else []
            findings.append(item)
    for items in by_object.values():
        for item in items:
            item.setdefault("pods", [])
            item.setdefault("nodes", [])
            item["nodes"].sort()
            findings.append(item)
    nodes = sorted((runtime_of_node(node) for node in objects.get("Node") or []), key=lambda node: node["name"])
    for node in nodes:
        where = "node/%s" % node["name"]
        if node["runtime"] == "docker" and _version_at_least(node["kubelet_version"], (1, 24)):
            findings.append(finding(
                "cri-dockerd", where, "info",
                "kubelet %s uses Docker through cri-dockerd (%s)"
                % (node["kubelet_version"], node["container_runtime_version"]),
                "nothing by itself; cri-dockerd is stopped together with Docker",
                "disable cri-docker.service and cri-docker.socket after the switch", nodes=[node["name"]]))
        elif node["runtime"] not in ("docker", "containerd"):
            findings.append(finding(
                "unknown-runtime", where, "info",
                "runtime %r is neither Docker nor containerd" % node["container_runtime_version"],
                "the switch is meant for Docker nodes", "leave this node out of the switch",
                nodes=[node["name"]]))
    return findings, nodes


def _version_at_least(text, wanted):
    version = parse_version(text)
    return version is not None and version >= wanted


# ---------------------------------------------------------------------------
# Node side: parsers
# ---------------------------------------------------------------------------

def parse_unit(text):
    """Parse a systemd unit or drop-in into ``[(section, key, value)]`` in file order.

    Comments (``#``, ``;``) and blank lines are skipped; a line ending with a
    backslash continues on the next line, as for systemd.
    """
    entries = []
    section = None
    pending = ""
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    if pending.strip():
        key, sep, value = pending.partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    return entries


def parse_assignments(value, where):
    """Split an ``Environment=`` value (or an env-file line) into ``{NAME: value}``."""
    variables = {}
    words = split_words(value, where)
    if words and words[0] == "export":
        words = words[1:]
    for word in words:
        name, sep, val = word.partition("=")
        if sep and name:
            variables[name] = val
    return variables


def parse_env_file(text, where):
    """Read a shell-style ``NAME=value`` file (EnvironmentFile=, /etc/default/docker)."""
    variables = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        variables.update(parse_assignments(stripped, "%s line %d" % (where, number)))
    return variables


def proxy_settings(variables):
    """Pick HTTP_PROXY/HTTPS_PROXY/NO_PROXY out of environment variables (upper case wins)."""
    settings = {}
    for name in ("http_proxy", "https_proxy", "no_proxy"):
        value = variables.get(name.upper()) or variables.get(name)
        if value:
            settings[name] = value
    return settings


def dockerd_flags(exec_start, where):
    """Return ``{flag: [values]}`` of a ``dockerd`` command line (repeated flags keep every value)."""
    command = exec_start.lstrip("-@+!:")
    words = split_words(command, where)
    for position, word in enumerate(words):
        if posixpath.basename(word) == "dockerd":
            words = words[position + 1:]
            break
    else:
        return {}
    values = {}
    for flag in tokenize_flags(words):
        if flag["name"]:
            values.setdefault(flag["name"], []).append(flag["value"] if flag["value"] is not None else "true")
    return values


def parse_proc_net_unix(text):
    """Return ``{inode: path}`` of the bound sockets in ``/proc/net/unix``."""
    sockets = {}
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[6].isdigit():
            sockets[fields[6]] = fields[7]
    return sockets


def parse_ss_unix(text):
    """Parse ``ss -xpn`` output into ``[{local, local_inode, peer_inode}]``."""
    entries = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] == "Netid":
            continue
        if not fields[5].isdigit() or not fields[7].isdigit():
            continue
        entries.append({"local": fields[4], "local_inode": fields[5], "peer_inode": fields[7]})
    return entries


# ---------------------------------------------------------------------------
# Node side: the scanner
# ---------------------------------------------------------------------------

DOCKER_SOCKET_PATHS = ("/run/docker.sock", "/var/run/docker.sock")
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
             "/lib/systemd/system")
DOCKER_UNITS = ("docker.service", "docker.socket", "cri-docker.service", "cri-docker.socket", "containerd.service")
DEFAULT_SCRIPT_PATHS = ("/usr/local/bin", "/usr/local/sbin", "/etc/profile.d", "/etc/cron.hourly", "/etc/cron.daily",
                        "/etc/cron.weekly", "/etc/cron.monthly", "/etc/rc.local", "/etc/init.d")
SCRIPT_SKIP_NAMES = ("docker", "dockerd", "containerd", "cri-docker", "cri-dockerd", "docker-init", "docker-proxy")
CRON_FILES = ("/etc/crontab",)
CRON_DIRS = ("/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron")
KUBELET_FLAG_FILES = ("/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet")
EXPECTED_SOCKET_CLIENTS = ("kubelet", "dockerd", "containerd", "cri-dockerd", "systemd", "docker-proxy")
DEPENDENCY_KEYS = ("Requires", "BindsTo", "Requisite", "PartOf")
ORDERING_KEYS = ("After", "Before", "Wants", "WantedBy")
MAX_SCRIPT_BYTES = 1024 * 1024
MAX_LINES_PER_FINDING = 5

# daemon.json keys with no automatic translation, with what happens and what to do.
DAEMON_JSON_WARNINGS = {
    "default-ulimits": ("containers no longer get Docker's default ulimits; containerd's own limits "
                        "(LimitNOFILE of containerd.service) apply", "set the limits on containerd.service"),
    "userns-remap": ("user namespace remapping is not applied by containerd",
                     "use Kubernetes user namespaces (hostUsers: false) where needed"),
    "selinux-enabled": ("SELinux labelling of containers depends on containerd's enable_selinux",
                        "set enable_selinux in containerd's CRI configuration"),
    "storage-opts": ("storage options do not carry over to containerd's snapshotter",
                     "configure the containerd snapshotter if the options mattered"),
    "hosts": ("Docker's listening sockets disappear: clients of a TCP socket fail",
              "find and move the clients (they may run on other machines)"),
    "seccomp-profile": ("Docker's default seccomp profile no longer applies",
                        "use the kubelet's seccompDefault or pod seccompProfile"),
    "default-runtime": ("containerd does not know Docker's runtimes: pods relying on them fail",
                        "configure the runtime in containerd and use a RuntimeClass"),
}
DAEMON_JSON_INFO = ("storage-driver", "live-restore", "bip", "default-address-pools", "iptables", "ip-forward",
                    "dns", "dns-search", "dns-opts", "max-concurrent-downloads", "max-concurrent-uploads",
                    "debug", "log-level", "experimental", "features", "mtu", "icc", "ipv6", "fixed-cidr")
JSON_FILE_LOG_DRIVERS = ("json-file", "local")


class NodeScanner(object):
    """Scan one node for Docker dependencies; every path is read below ``root``."""

    def __init__(self, node, root="/", daemon_json="/etc/docker/daemon.json", script_paths=DEFAULT_SCRIPT_PATHS,
                 ss_output=None, kubelet_flag_files=KUBELET_FLAG_FILES):
        self.node = node
        self.root = root
        self.daemon_json = daemon_json
        self.script_paths = list(script_paths)
        self.ss_output = ss_output
        self.kubelet_flag_files = list(kubelet_flag_files)
        self.findings = []
        self.carry_over = {"registry_mirrors": [], "insecure_registries": [], "http_proxy": None,
                           "https_proxy": None, "no_proxy": None, "cgroup_driver": None, "data_root": None,
                           "log_driver": None, "log_opts": {}, "sandbox_image": None}
        self.docker_socket_clients = []

    # -- helpers ----------------------------------------------------------
    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def where(self, suffix=None):
        return "node/%s%s" % (self.node, (":" + suffix) if suffix else "")

    def add(self, check, severity, what, breaks, fix, suffix=None, **extra):
        self.findings.append(finding(check, self.where(suffix), severity, what, breaks, fix, nodes=[self.node],
                                     **extra))

    def read(self, path):
        """Text of a file below root, None when missing or not a regular file."""
        full = self.path(path)
        if not os.path.isfile(full):
            return None
        return read_text(full)

    def listdir(self, path):
        full = self.path(path)
        if not os.path.isdir(full):
            return []
        try:
            return sorted(os.listdir(full))
        except OSError:
            return []

    # -- the scan ---------------------------------------------------------
    def scan(self):
        self.scan_daemon_json()
        self.scan_docker_unit()
        self.scan_units()
        self.scan_cron()
        self.scan_scripts()
        self.scan_kubelet_flags()
        self.scan_socket_clients()
        unique = {}
        for item in self.findings:
            unique.setdefault(item["id"], item)
        return sort_findings(unique.values())

    def scan_daemon_json(self):
        text = self.read(self.daemon_json)
        data = parse_daemon_json(text, self.daemon_json)
        if text is None:
            return
        self._daemon_settings(data, self.daemon_json)
        proxies = data.get("proxies")
        if isinstance(proxies, dict):
            for key in ("http-proxy", "https-proxy", "no-proxy"):
                if proxies.get(key):
                    self.carry_over[key.replace("-", "_")] = proxies[key]
        for key in sorted(data):
            if key in DAEMON_JSON_WARNINGS:
                breaks, fix = DAEMON_JSON_WARNINGS[key]
                self.add("daemon-json-%s" % key, "warning", "%s sets %s = %s" % (self.daemon_json, key, data[key]),
                         breaks, fix)
            elif key in DAEMON_JSON_INFO:
                self.add("daemon-json-%s" % key, "info", "%s sets %s = %s" % (self.daemon_json, key, data[key]),
                         "nothing for Kubernetes pods: the setting only concerns Docker", "none needed")
        if data.get("runtimes"):
            self.add("daemon-json-runtimes", "blocking",
                     "%s defines the runtimes %s" % (self.daemon_json, ", ".join(sorted(data["runtimes"]))),
                     "pods needing these runtimes (for example GPU pods with nvidia) fail to start under containerd",
                     "add the runtimes to containerd's config.toml (for nvidia: nvidia-ctk runtime configure "
                     "--runtime=containerd) and use a RuntimeClass")

    def _daemon_settings(self, data, source):
        """Record the settings that the switch carries over or must warn about (daemon.json or dockerd flags)."""
        mirrors = data.get("registry-mirrors") or []
        insecure = data.get("insecure-registries") or []
        for key, value in (("registry-mirrors", mirrors), ("insecure-registries", insecure)):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise NodeOpsError("%s: '%s' must be a list of strings, found %r; fix it and run again"
                                   % (source, key, value), path=source)
        for item in mirrors:
            if item not in self.carry_over["registry_mirrors"]:
                self.carry_over["registry_mirrors"].append(item)
        for item in insecure:
            if item not in self.carry_over["insecure_registries"]:
                self.carry_over["insecure_registries"].append(item)
        if mirrors:
            self.add("registry-mirrors", "info", "%s sets the Docker Hub mirrors %s" % (source, ", ".join(mirrors)),
                     "image pulls from Docker Hub stop using the mirrors unless containerd is told",
                     "carried over by the switch to certs.d/docker.io/hosts.toml (containerd_registry_hosts)",
                     suffix="registry-mirrors")
        if insecure:
            cidrs = [item for item in insecure if "/" in item and "://" not in item]
            self.add("insecure-registries", "warning" if cidrs else "info",
                     "%s trusts the insecure registries %s" % (source, ", ".join(insecure)),
                     "pulls from them fail TLS verification under containerd unless it is told"
                     + ("; the CIDR ranges %s cannot be expressed for containerd" % ", ".join(cidrs) if cidrs else ""),
                     "carried over by the switch to certs.d/<registry>/hosts.toml with skip_verify"
                     + ("; list the registries of the CIDR ranges by name" if cidrs else ""),
                     suffix="insecure-registries")
        drivers = cgroup_driver_entries(data, source)  # refuses an exec-opts that is not a list of strings
        if drivers:
            self.carry_over["cgroup_driver"] = drivers[-1]
        if data.get("data-root") or data.get("graph"):
            root = data.get("data-root") or data.get("graph")
            self.carry_over["data_root"] = root
            self.add("daemon-json-data-root", "blocking", "%s stores Docker's data in %s" % (source, root),
                     "containerd keeps images and containers in /var/lib/containerd: the disk sized for %s is "
                     "not used and the root file system may fill up" % root,
                     "mount the data disk at /var/lib/containerd (or set containerd's root), then acknowledge")
        driver = data.get("log-driver")
        if driver:
            self.carry_over["log_driver"] = driver
            if driver not in JSON_FILE_LOG_DRIVERS:
                self.add("daemon-json-log-driver", "blocking", "%s sends container logs to the %s log driver"
                         % (source, driver),
                         "containerd writes container logs to files under /var/log/pods only: logs stop reaching %s"
                         % driver,
                         "ship /var/log/pods with a log agent (DaemonSet), then acknowledge")
        log_opts = data.get("log-opts")
        if isinstance(log_opts, dict) and log_opts:
            self.carry_over["log_opts"] = dict(log_opts)
            self.add("daemon-json-log-opts", "warning", "%s sets log options %s" % (
                source, ", ".join("%s=%s" % item for item in sorted(log_opts.items()))),
                "log rotation is then done by the kubelet with its own limits (containerLogMaxSize 10Mi, "
                "containerLogMaxFiles 5 by default)",
                "set containerLogMaxSize/containerLogMaxFiles in the KubeletConfiguration (kubelet_config) to "
                "match max-size/max-file")

    def scan_docker_unit(self):
        """Docker's own unit and drop-ins: proxies in Environment=/EnvironmentFile=, dockerd flags in ExecStart=."""
        texts = []
        for directory in UNIT_DIRS:
            text = self.read(posixpath.join(directory, "docker.service"))
            if text is not None:
                texts.append((posixpath.join(directory, "docker.service"), text))
                break
        for directory in UNIT_DIRS:
            dropin_dir = posixpath.join(directory, "docker.service.d")
            for name in self.listdir(dropin_dir):
                if name.endswith(".conf"):
                    path = posixpath.join(dropin_dir, name)
                    text = self.read(path)
                    if text is not None:
                        texts.append((path, text))
        variables = {}
        exec_start = None
        for path, text in texts:
            for section, key, value in parse_unit(text):
                if section != "Service":
                    continue
                if key == "Environment":
                    variables.update(parse_assignments(value, path))
                elif key == "EnvironmentFile":
                    env_path = value.lstrip("-")
                    env_text = self.read(env_path)
                    if env_text is not None:
                        variables.update(parse_env_file(env_text, env_path))
                elif key == "ExecStart":
                    exec_start = (path, value) if value else None
        for env_path in ("/etc/default/docker", "/etc/sysconfig/docker"):
            env_text = self.read(env_path)
            if env_text is not None:
                env = parse_env_file(env_text, env_path)
                for name, value in proxy_settings(env).items():
                    variables.setdefault(name.upper(), value)
        proxies = proxy_settings(variables)
        for name, value in proxies.items():
            # daemon.json's "proxies" win over the environment, as in Docker.
            if not self.carry_over[name]:
                self.carry_over[name] = value
        if proxies:
            self.add("docker-proxy", "info", "Docker pulls through the proxy settings %s"
                     % ", ".join("%s=%s" % (name.upper(), value) for name, value in sorted(proxies.items())),
                     "image pulls that need the proxy fail under containerd unless it gets the same environment",
                     "carried over by the switch to containerd.service.d/http-proxy.conf", suffix="proxy")
        if exec_start:
            path, value = exec_start
            flags = dockerd_flags(value, path)
            data = {"registry-mirrors": flags.get("registry-mirror", []),
                    "insecure-registries": flags.get("insecure-registry", []),
                    "exec-opts": flags.get("exec-opt", [])}
            root = (flags.get("data-root") or flags.get("graph") or flags.get("g") or [None])[-1]
            if root:
                data["data-root"] = root
            if flags.get("log-driver"):
                data["log-driver"] = flags["log-driver"][-1]
            log_opts = dict(opt.partition("=")[::2] for opt in flags.get("log-opt", []))
            if log_opts:
                data["log-opts"] = log_opts
            self._daemon_settings(data, "%s (ExecStart)" % path)
            hosts = [host for host in flags.get("H", []) + flags.get("host", []) if not host.startswith(("fd:", "unix:"))]
            if hosts:
                self.add("dockerd-tcp", "warning", "dockerd listens on %s (%s)" % (", ".join(hosts), path),
                         "clients of these sockets fail once Docker is stopped", "find and move the clients")

    def scan_units(self):
        seen = set()
        seen_files = set()
        for directory in UNIT_DIRS:
            names = self.listdir(directory)
            for name in names:
                full = self.path(posixpath.join(directory, name))
                if name.endswith(".service.d") and os.path.isdir(full):
                    unit = name[:-2]
                    if unit in DOCKER_UNITS:
                        continue
                    for conf in self.listdir(posixpath.join(directory, name)):
                        real = os.path.realpath(os.path.join(full, conf))
                        if conf.endswith(".conf") and real not in seen_files:
                            seen_files.add(real)
                            self._scan_unit(unit, posixpath.join(directory, name, conf))
                    continue
                if not name.endswith(".service") or name in DOCKER_UNITS or name in seen or os.path.islink(full):
                    continue
                seen.add(name)
                self._scan_unit(name, posixpath.join(directory, name))

    def _scan_unit(self, unit, path):
        text = self.read(path)
        if text is None:
            return
        depends, ordered, execs = [], [], []
        for _section, key, value in parse_unit(text):
            words = value.split()
            if key in DEPENDENCY_KEYS and any(word in ("docker.service", "docker.socket") for word in words):
                depends.append("%s=%s" % (key, value))
            elif key in ORDERING_KEYS and any(word in ("docker.service", "docker.socket") for word in words):
                ordered.append("%s=%s" % (key, value))
            elif key.startswith("Exec") and docker_references(value):
                execs.append("%s=%s" % (key, value))
        suffix = path
        if unit == "kubelet.service" and depends:
            self.add("kubelet-requires-docker", "blocking", "%s: %s" % (path, "; ".join(depends)),
                     "systemd stops the kubelet together with Docker and does not start it without Docker",
                     "remove the dependency on Docker (depend on containerd.service instead)", suffix=suffix)
        elif depends or execs:
            self.add("unit-docker", "warning", "unit %s depends on Docker: %s" % (unit, "; ".join(depends + execs)),
                     "the unit stops with Docker (Requires/BindsTo/PartOf) or its Docker commands fail",
                     "move the unit off Docker, or keep Docker installed for it (containerd_switch can leave Docker "
                     "installed)", suffix=suffix, path=path)
        elif ordered:
            self.add("unit-docker-ordering", "info", "unit %s is ordered against Docker: %s"
                     % (unit, "; ".join(ordered)), "nothing: ordering against a stopped unit is ignored",
                     "drop the ordering when Docker is removed", suffix=suffix, path=path)

    def _lines_referencing_docker(self, text, cron=False):
        hits = []
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if cron and "=" in stripped.split(None, 1)[0] and stripped[0] not in "0123456789*@":
                continue  # a variable assignment of the crontab
            reasons = docker_references(stripped)
            if reasons:
                hits.append({"line": number, "text": stripped[:200], "reasons": reasons})
        return hits

    def scan_cron(self):
        files = [path for path in CRON_FILES if os.path.isfile(self.path(path))]
        for directory in CRON_DIRS:
            for name in self.listdir(directory):
                path = posixpath.join(directory, name)
                if os.path.isfile(self.path(path)) and not name.startswith("."):
                    files.append(path)
        for path in files:
            hits = self._text_hits(path, cron=True)
            if hits:
                self.add("cron-docker", "warning", "cron jobs in %s call Docker: %s" % (path, self._hits_text(hits)),
                         "these jobs fail once Docker is stopped or removed",
                         "rewrite them for crictl/ctr or keep Docker installed for them", suffix=path, path=path,
                         lines=hits[:MAX_LINES_PER_FINDING])

    def scan_scripts(self):
        for path in self.script_paths:
            full = self.path(path)
            if os.path.isdir(full):
                candidates = [posixpath.join(path, name) for name in self.listdir(path)]
            else:
                candidates = [path]
            for candidate in candidates:
                name = posixpath.basename(candidate)
                if name in SCRIPT_SKIP_NAMES or not os.path.isfile(self.path(candidate)):
                    continue
                hits = self._text_hits(candidate)
                if hits:
                    self.add("script-docker", "warning", "%s calls Docker: %s" % (candidate, self._hits_text(hits)),
                             "the script fails once Docker is stopped or removed",
                             "rewrite it for crictl/ctr (namespace k8s.io) or keep Docker installed for it",
                             suffix=candidate, path=candidate, lines=hits[:MAX_LINES_PER_FINDING])

    def _text_hits(self, path, cron=False):
        full = self.path(path)
        try:
            if os.path.getsize(full) > MAX_SCRIPT_BYTES:
                return []
            with open(full, "rb") as handle:
                data = handle.read()
        except (IOError, OSError):
            return []
        if b"\0" in data[:4096]:
            return []  # a binary
        return self._lines_referencing_docker(data.decode("utf-8", "replace"), cron=cron)

    @staticmethod
    def _hits_text(hits):
        return "; ".join("line %d: %s" % (hit["line"], hit["text"]) for hit in hits[:MAX_LINES_PER_FINDING])

    def scan_kubelet_flags(self):
        for path in self.kubelet_flag_files:
            text = self.read(path)
            if text is None:
                continue
            flags = {}
            for variable in _variables(text, path):
                _lines, _index, value = find_variable(text, variable, path)
                flags.update(flags_dict(tokenize_flags(split_words(value or "", "%s (%s)" % (path, variable)))))
            if flags.get("pod-infra-container-image"):
                self.carry_over["sandbox_image"] = flags["pod-infra-container-image"]
            for name, default in sorted(CNI_DEFAULTS.items()):
                if flags.get(name) and flags[name].rstrip("/") != default:
                    self.add("kubelet-cni-dir", "warning", "%s sets --%s=%s" % (path, name, flags[name]),
                             "containerd looks for CNI in its own directories (default %s): the pod network does not "
                             "come up" % default,
                             "set containerd's CRI cni bin_dir/conf_dir to %s before the switch" % flags[name],
                             suffix="%s:%s" % (path, name))
            if path == KUBELET_FLAG_FILES[0]:
                continue
            runtime_flags = sorted(name for name in flags
                                   if name in DOCKERSHIM_ONLY_FLAGS + ("container-runtime", "container-runtime-endpoint"))
            if runtime_flags:
                self.add("kubelet-flags-elsewhere", "blocking",
                         "%s sets runtime flags %s" % (path, ", ".join("--%s" % name for name in runtime_flags)),
                         "these flags come after kubeadm-flags.env on the kubelet command line and override the "
                         "switch (the kubelet keeps using Docker, or refuses to start)",
                         "remove them from %s, or edit that file with nodeops.kubernetes.kubelet_flags "
                         "(path, variable)" % path, suffix=path)

    def scan_socket_clients(self):
        server_inodes = set()
        sockets = parse_proc_net_unix(self.read("/proc/net/unix"))
        for inode, path in sockets.items():
            if path in DOCKER_SOCKET_PATHS:
                server_inodes.add(inode)
        if not server_inodes:
            return
        if self.ss_output is None:
            self.add("docker-socket-clients-unknown", "info",
                     "the processes talking to the Docker socket could not be listed (ss from iproute2 is missing)",
                     "nothing by itself", "install iproute2 and scan again to see live Docker clients")
            return
        peers = set(entry["peer_inode"] for entry in parse_ss_unix(self.ss_output)
                    if entry["local"] in DOCKER_SOCKET_PATHS or entry["local_inode"] in server_inodes)
        clients = {}
        for pid in self.listdir("/proc"):
            if not pid.isdigit():
                continue
            fd_dir = posixpath.join("/proc", pid, "fd")
            for fd in self.listdir(fd_dir):
                try:
                    target = os.readlink(self.path(posixpath.join(fd_dir, fd)))
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in peers:
                    comm = (self.read(posixpath.join("/proc", pid, "comm")) or "?").strip()
                    cgroup = self.read(posixpath.join("/proc", pid, "cgroup")) or ""
                    clients.setdefault(comm, []).append({"pid": int(pid), "in_pod": "kubepods" in cgroup})
                    break
        for comm, processes in sorted(clients.items()):
            self.docker_socket_clients.append({"name": comm, "processes": processes})
            pids = ", ".join(str(process["pid"]) for process in processes)
            in_pod = any(process["in_pod"] for process in processes)
            if comm in EXPECTED_SOCKET_CLIENTS:
                self.add("docker-socket-client", "info", "%s (pid %s) is connected to the Docker socket" % (comm, pids),
                         "nothing: it is part of the runtime being replaced", "none needed", suffix=comm)
                continue
            self.add("docker-socket-client", "blocking",
                     "%s (pid %s%s) is connected to the Docker socket right now" % (
                         comm, pids, ", inside a Kubernetes pod" if in_pod else ""),
                     "it loses its connection when Docker stops and fails from then on",
                     "find out what %s uses Docker for and move it to the CRI, or acknowledge" % comm, suffix=comm)


def _variables(text, path):
    names = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        words = split_words(stripped, "%s line %d" % (path, number))
        if words and words[0] == "export":
            words = words[1:]
        if len(words) == 1 and "=" in words[0]:
            name = words[0].partition("=")[0]
            if name not in names:
                names.append(name)
    return names


# ---------------------------------------------------------------------------
# Cluster side: reading the objects
# ---------------------------------------------------------------------------

# kind, API group path, plural, fallback group paths for older clusters, namespaced
CLUSTER_RESOURCES = (
    ("Node", "/api/v1", "nodes", (), False),
    ("Pod", "/api/v1", "pods", (), True),
    ("DaemonSet", "/apis/apps/v1", "daemonsets", (), True),
    ("Deployment", "/apis/apps/v1", "deployments", (), True),
    ("StatefulSet", "/apis/apps/v1", "statefulsets", (), True),
    ("ReplicaSet", "/apis/apps/v1", "replicasets", (), True),
    ("Job", "/apis/batch/v1", "jobs", (), True),
    # batch/v1 CronJob exists since Kubernetes 1.21; older dockershim-era clusters only serve v1beta1.
    ("CronJob", "/apis/batch/v1", "cronjobs", ("/apis/batch/v1beta1",), True),
)
PAGE_SIZE = 500


class NotFound(Exception):
    """Raised by a ``get`` callable when the API answers 404 (the resource version is not served)."""


def read_cluster_objects(get, namespaces=None):
    """Read the objects :func:`scan_cluster` needs through ``get(path, query) -> dict`` (a decoded List).

    ``namespaces`` limits the namespaced kinds; empty means all namespaces.
    Lists are read in pages of 500.
    """
    objects = {}
    for kind, group, plural, fallbacks, namespaced in CLUSTER_RESOURCES:
        prefixes = ["%s/namespaces/%s" % (group, ns) for ns in namespaces] if namespaced and namespaces else [group]
        items = []
        for prefix in prefixes:
            for candidate in [prefix] + [prefix.replace(group, fallback, 1) for fallback in fallbacks]:
                try:
                    items.extend(_read_pages(get, "%s/%s" % (candidate, plural)))
                    break
                except NotFound:
                    continue
        objects[kind] = items
    return objects


def _read_pages(get, path):
    items = []
    token = None
    while True:
        query = {"limit": PAGE_SIZE}
        if token:
            query["continue"] = token
        page = get(path, query) or {}
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items

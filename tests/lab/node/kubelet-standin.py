#!/usr/bin/python3
"""nodeops-lab kubelet SIMULATION (installed as /usr/bin/kubelet on lab nodes).

This is NOT the real kubelet.  It runs no pods.  It imitates the parts of the
kubelet that node maintenance automation interacts with:

* command-line flags as systemd passes them (kubeadm's 10-kubeadm.conf drop-in,
  /var/lib/kubelet/kubeadm-flags.env, /etc/default/kubelet) and the
  KubeletConfiguration file (--config);
* start-up refusals worded like the real kubelet: flags removed in the
  configured version, an unreachable container runtime or a missing CRI
  plugin, a cgroup driver that differs from the runtime's;
* /healthz on healthzBindAddress:healthzPort;
* Node registration, Node status heartbeats and the node Lease, sent to the
  API server named in --kubeconfig with the node's client certificate;
* Ready=False "container runtime is down" when the runtime stops answering.

The configured kubelet version comes from /etc/nodeops-lab/kubelet-version
(override: env NODEOPS_LAB_KUBELET_VERSION).  See docs/lab-nodes.md.

Standard library plus PyYAML only; Python 3.9 compatible; reads TOML with
tomllib (Python 3.11+, as in the lab image) or tomli when available.
"""
import base64
import datetime
import http.server
import json
import os
import platform
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    import yaml
except ImportError:  # pragma: no cover - the lab image ships python3-yaml
    yaml = None

try:
    import tomllib as _toml
except ImportError:  # pragma: no cover
    try:
        import tomli as _toml
    except ImportError:
        _toml = None

SIMULATION = "nodeops-lab kubelet simulation"
VERSION_FILE = "/etc/nodeops-lab/kubelet-version"
DEFAULT_VERSION = "v1.30.2"
CAPACITY_FILE = "/etc/nodeops-lab/capacity.yaml"
OS_RELEASE = "/etc/os-release"

# Lab values (the simulation does not measure the host).
DEFAULT_CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}
EVICTION_HARD_MEMORY_MI = 100

# How long the runtime may fail to answer before Ready turns False.  The real
# kubelet waits 30s (it is 2 x the 15s runtime-up check period); the lab
# uses 3 x nodeStatusUpdateFrequency, capped at 30s.
REAL_RUNTIME_DOWN_THRESHOLD = 30.0
# The real kubelet's /healthz "syncloop" check fails when the sync loop has
# not run for 5 minutes, which happens while the runtime is down.
SYNCLOOP_HEALTH_THRESHOLD = 300.0
# The real PLEG relist threshold.
PLEG_THRESHOLD = 180.0


# --------------------------------------------------------------------------- errors

class KubeletError(Exception):
    """A start-up failure: printed like the real kubelet, exit status 1."""

    FLAG_PREFIX = "failed to parse kubelet flag: "

    def __init__(self, message):
        Exception.__init__(self, message)
        self.message = message


# --------------------------------------------------------------------------- versions

def q(text):
    """Go's %q quoting (double quotes), as in the real kubelet's messages."""
    return json.dumps(str(text))


def parse_version(text):
    """'v1.30.2' -> (1, 30, 2)."""
    m = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        raise ValueError("not a Kubernetes version: %r" % (text,))
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def configured_version(path=VERSION_FILE):
    env = os.environ.get("NODEOPS_LAB_KUBELET_VERSION")
    if env:
        return env.strip()
    try:
        with open(path) as fh:
            text = fh.read().strip()
        if text:
            return text
    except OSError:
        pass
    return DEFAULT_VERSION


# --------------------------------------------------------------------------- logging

_VERBOSITY = [0]
_LOG_LOCK = threading.Lock()


def _klog_value(value):
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


def klog(severity, where, msg, stream=None, **kv):
    """Write one klog-style structured line (as the real kubelet logs)."""
    now = datetime.datetime.now()
    line = "%s%s %s %7d %s] %s" % (
        severity, now.strftime("%m%d"), now.strftime("%H:%M:%S.%f"), os.getpid(), where,
        json.dumps(msg))
    for key, value in kv.items():
        line += " %s=%s" % (key, _klog_value(value))
    with _LOG_LOCK:
        out = stream or (sys.stderr if severity in "EWF" else sys.stdout)
        out.write(line + "\n")
        out.flush()


def info(where, msg, v=0, **kv):
    if v <= _VERBOSITY[0]:
        klog("I", where, msg, **kv)


def warn(where, msg, **kv):
    klog("W", where, msg, **kv)


def error(where, msg, **kv):
    klog("E", where, msg, **kv)


def report_fatal(exc, version):
    """Print a start-up failure the way the configured kubelet version does.

    >= 1.26: one klog line from run.go ("command failed");
    1.24-1.25: the command framework's "Error: ..." line;
    < 1.24: klog lines "Failed to parse kubelet flag" / "Failed to run kubelet".
    """
    v = parse_version(version)
    if v >= (1, 26):
        klog("E", "run.go:74", "command failed", err=exc.message)
    elif v >= (1, 24):
        sys.stderr.write("Error: %s\n" % exc.message)
        sys.stderr.flush()
    elif exc.message.startswith(KubeletError.FLAG_PREFIX):
        klog("E", "server.go:206", "Failed to parse kubelet flag",
             err=exc.message[len(KubeletError.FLAG_PREFIX):])
    else:
        klog("E", "server.go:302", "Failed to run kubelet", err=exc.message)


# --------------------------------------------------------------------------- flags

# name -> (takes_value, removed_in, deprecation message or None)
# Only flags the lab deals with (and a few common ones) are known; the real
# kubelet accepts many more.
FLAGS = {
    "config": (True, None, None),
    "kubeconfig": (True, None, None),
    "bootstrap-kubeconfig": (True, None, None),
    "container-runtime-endpoint": (True, None,
                                   "This parameter should be set via the config file specified by the "
                                   "Kubelet's --config flag. See https://kubernetes.io/docs/tasks/"
                                   "administer-cluster/kubelet-config-file/ for more information."),
    "image-service-endpoint": (True, None, None),
    "container-runtime": (True, (1, 27), None),
    "network-plugin": (True, (1, 24), None),
    "network-plugin-mtu": (True, (1, 24), None),
    "cni-bin-dir": (True, (1, 24), None),
    "cni-conf-dir": (True, (1, 24), None),
    "cni-cache-dir": (True, (1, 24), None),
    "docker-endpoint": (True, (1, 24), None),
    "pod-infra-container-image": (True, None,
                                  "will be removed in a future release. Image garbage collector will "
                                  "get sandbox image information from CRI."),
    "hostname-override": (True, None, None),
    "node-ip": (True, None, None),
    "cgroup-driver": (True, None,
                      "This parameter should be set via the config file specified by the Kubelet's "
                      "--config flag. See https://kubernetes.io/docs/tasks/administer-cluster/"
                      "kubelet-config-file/ for more information."),
    "node-labels": (True, None, None),
    "register-with-taints": (True, None,
                             "This parameter should be set via the config file specified by the "
                             "Kubelet's --config flag. See https://kubernetes.io/docs/tasks/"
                             "administer-cluster/kubelet-config-file/ for more information."),
    "register-node": (False, None, None),
    "v": (True, None, None),
    "root-dir": (True, None, None),
    "cert-dir": (True, None, None),
    "fail-swap-on": (False, None, None),
    "resolv-conf": (True, None, None),
    "cloud-provider": (True, None, None),
    "provider-id": (True, None, None),
    "runtime-request-timeout": (True, None, None),
    "rotate-certificates": (False, None, None),
    "healthz-port": (True, None, None),
    "healthz-bind-address": (True, None, None),
    "node-status-update-frequency": (True, None, None),
    "max-pods": (True, None, None),
    "logging-format": (True, None, None),
    "feature-gates": (True, None, None),
    "help": (False, None, None),
    "version": (False, None, None),
}
SHORTHANDS = {"v": "v", "h": "help"}
BOOL_FLAGS_WITH_OPTIONAL_VALUE = ("register-node", "fail-swap-on", "rotate-certificates", "help")


def flag_known(name, version):
    spec = FLAGS.get(name)
    if spec is None:
        return False
    removed_in = spec[1]
    return removed_in is None or parse_version(version)[:2] < removed_in


def parse_flags(argv, version):
    """Parse kubelet flags like pflag does.  Returns (flags dict, warnings).

    Raises KubeletError worded like the real kubelet on an unknown flag.
    """
    flags = {}
    warnings = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            break
        if arg.startswith("--"):
            body = arg[2:]
        elif arg.startswith("-") and len(arg) > 1:
            short = arg[1:].split("=", 1)[0]
            if short not in SHORTHANDS:
                raise KubeletError("failed to parse kubelet flag: unknown shorthand flag: %s in %s"
                                   % (q(short[:1]), arg))
            body = SHORTHANDS[short] + arg[1 + len(short):]
        else:
            # positional arguments are ignored by the real kubelet with a warning
            warnings.append(("unexpected positional argument", arg))
            continue
        if "=" in body:
            name, value = body.split("=", 1)
            has_value = True
        else:
            name, value, has_value = body, None, False
        if not flag_known(name, version):
            raise KubeletError("failed to parse kubelet flag: unknown flag: --%s" % name)
        takes_value = FLAGS[name][0]
        if takes_value and not has_value:
            if i >= len(argv):
                raise KubeletError("failed to parse kubelet flag: flag needs an argument: --%s" % name)
            value = argv[i]
            i += 1
        elif not takes_value and not has_value:
            value = "true"
        flags[name] = value
        if FLAGS[name][2]:
            warnings.append(("deprecated", name))
    return flags, warnings


def parse_key_values(text):
    """'a=b,c=' -> {'a': 'b', 'c': ''} (the --node-labels format)."""
    out = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def parse_taints(text):
    """'k=v:NoSchedule,k2:NoExecute' -> list of taint dicts (--register-with-taints)."""
    taints = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if ":" not in item:
            raise KubeletError("failed to parse kubelet flag: invalid argument %s for "
                               "\"--register-with-taints\" flag: invalid taint spec: %s" % (q(text), item))
        kv, effect = item.rsplit(":", 1)
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise KubeletError("failed to parse kubelet flag: invalid argument %s for "
                               "\"--register-with-taints\" flag: invalid taint effect: %s, "
                               "unsupported taint effect" % (q(text), effect))
        key, _, value = kv.partition("=")
        taint = {"key": key, "effect": effect}
        if value:
            taint["value"] = value
        taints.append(taint)
    return taints


def parse_duration(text, default):
    """Go duration ('3s', '1m30s', '500ms', '0s') -> seconds."""
    if text is None or text == "":
        return default
    if isinstance(text, (int, float)):
        return float(text) / 1e9  # nanoseconds, as in a JSON duration number
    total = 0.0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    pos = 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text):
        if m.start() != pos:
            raise ValueError("invalid duration %r" % text)
        total += float(m.group(1)) * units[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ValueError("invalid duration %r" % text)
    return total


# --------------------------------------------------------------------------- configuration

def load_config_file(path):
    """Read the KubeletConfiguration file; errors worded like the real kubelet."""
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError as exc:
        reason = "open %s: %s" % (path, (exc.strerror or str(exc)).lower())
        raise KubeletError(
            "failed to load kubelet config file, path: %s, error: failed to load Kubelet config file "
            "%s, error failed to read kubelet config file \"%s\", error: %s" % (path, path, path, reason))
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise KubeletError("failed to load kubelet config file, path: %s, error: failed to load Kubelet "
                           "config file %s, error failed to decode: %s" % (path, path, exc))
    if not isinstance(data, dict) or data.get("kind") != "KubeletConfiguration":
        raise KubeletError("failed to load kubelet config file, path: %s, error: failed to load Kubelet "
                           "config file %s, error failed to decode: no kind \"%s\" is registered for "
                           "version \"%s\" in scheme \"pkg/kubelet/apis/config/scheme/scheme.go:28\""
                           % (path, path, data.get("kind") if isinstance(data, dict) else "",
                              data.get("apiVersion") if isinstance(data, dict) else ""))
    return data


def effective_settings(flags, config, version):
    """Merge flags over the config file (flags win, as in the real kubelet)."""
    s = {}
    s["version"] = version
    legacy = parse_version(version) < (1, 24)
    s["cgroup_driver"] = flags.get("cgroup-driver") or config.get("cgroupDriver") or "cgroupfs"
    if s["cgroup_driver"] not in ("cgroupfs", "systemd"):
        raise KubeletError("failed to validate kubelet configuration, error: invalid configuration: "
                           "cgroupDriver (--cgroup-driver) %s is not supported" % q(s["cgroup_driver"]))
    s["container_runtime"] = flags.get("container-runtime") or ("docker" if legacy else "remote")
    if legacy:
        default_endpoint = "unix:///var/run/dockershim.sock"
    else:
        default_endpoint = "unix:///run/containerd/containerd.sock"
    # containerRuntimeEndpoint exists in the config file since 1.27
    config_endpoint = config.get("containerRuntimeEndpoint") if parse_version(version) >= (1, 27) else None
    s["runtime_endpoint"] = flags.get("container-runtime-endpoint") or config_endpoint or default_endpoint
    s["healthz_port"] = int(flags.get("healthz-port") or config.get("healthzPort", 10248))
    s["healthz_bind"] = flags.get("healthz-bind-address") or config.get("healthzBindAddress", "127.0.0.1")
    s["status_frequency"] = parse_duration(flags.get("node-status-update-frequency")
                                           or config.get("nodeStatusUpdateFrequency"), 10.0) or 10.0
    s["hostname_override"] = flags.get("hostname-override")
    s["node_ip"] = flags.get("node-ip")
    s["node_labels"] = parse_key_values(flags.get("node-labels"))
    taints = parse_taints(flags.get("register-with-taints"))
    if not taints and config.get("registerWithTaints"):
        taints = list(config.get("registerWithTaints"))
    s["taints"] = taints
    s["register_node"] = (flags.get("register-node", str(config.get("registerNode", True))).lower() != "false")
    s["kubeconfig"] = flags.get("kubeconfig")
    s["bootstrap_kubeconfig"] = flags.get("bootstrap-kubeconfig")
    s["pod_infra_image"] = flags.get("pod-infra-container-image")
    s["network_plugin"] = flags.get("network-plugin")
    s["max_pods"] = int(flags.get("max-pods") or config.get("maxPods", 110))
    return s


# --node-labels the kubelet may set in the kubernetes.io / k8s.io namespaces
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
KUBELET_LABELS = ("beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os",
                  "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
                  "kubernetes.io/arch", "kubernetes.io/hostname", "kubernetes.io/os",
                  "node.kubernetes.io/instance-type", "topology.kubernetes.io/region",
                  "topology.kubernetes.io/zone")


def restricted_node_labels(labels):
    """--node-labels keys the real kubelet refuses (kubernetes.io/k8s.io namespaces)."""
    bad = []
    for key in labels:
        prefix = key.split("/", 1)[0] if "/" in key else ""
        in_k8s_ns = any(prefix == ns or prefix.endswith("." + ns) for ns in ("kubernetes.io", "k8s.io"))
        if not in_k8s_ns or key in KUBELET_LABELS:
            continue
        if any(prefix == ns or prefix.endswith("." + ns) for ns in KUBELET_LABEL_NAMESPACES):
            continue
        bad.append(key)
    return sorted(bad)


def validate_settings(s):
    """Checks the real kubelet does on flags before touching the runtime."""
    version = parse_version(s["version"])
    bad = restricted_node_labels(s["node_labels"])
    if bad:
        raise KubeletError(
            "failed to validate kubelet flags: unknown 'kubernetes.io' or 'k8s.io' labels specified with "
            "--node-labels: [%s]\n--node-labels in the 'kubernetes.io' namespace must begin with an allowed "
            "prefix (%s) or be in the specifically allowed set (%s)"
            % (" ".join(bad), ", ".join(KUBELET_LABEL_NAMESPACES), ", ".join(KUBELET_LABELS)))
    runtime = s["container_runtime"]
    if version >= (1, 24) and runtime != "remote":
        raise KubeletError("failed to validate kubelet flags: unsupported CRI runtime: %s, only %s is "
                           "currently supported" % (q(runtime), q("remote")))
    if version < (1, 24) and runtime not in ("docker", "remote"):
        raise KubeletError("failed to run Kubelet: unsupported container runtime %s" % q(runtime))


# --------------------------------------------------------------------------- runtime checks

def endpoint_path(endpoint):
    if endpoint.startswith("unix://"):
        return endpoint[len("unix://"):]
    return endpoint


def _run(cmd, timeout=10):
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr
    except FileNotFoundError as exc:
        return 127, "", str(exc)
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %ss" % timeout


def cri_unavailable_message(endpoint, detail):
    return ("failed to run Kubelet: validate service connection: validate CRI v1 runtime API for "
            "endpoint %s: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: %s\""
            % (json.dumps(endpoint), detail))


def cri_unimplemented_message(endpoint):
    return ("failed to run Kubelet: validate service connection: validate CRI v1 runtime API for "
            "endpoint %s: rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService" % json.dumps(endpoint))


def parse_ctr_server_version(text):
    """Server version from `ctr version` output."""
    in_server = False
    for line in text.splitlines():
        if line.strip() == "Server:":
            in_server = True
            continue
        if in_server:
            m = re.match(r"\s*Version:\s*(\S+)", line)
            if m:
                return m.group(1)
    return None


def cri_plugin_state(plugins_ls_output):
    """'ok', 'error', 'skip' ... for the CRI plugin in `ctr plugins ls`, or None if absent."""
    for line in plugins_ls_output.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[0] in ("io.containerd.grpc.v1", "io.containerd.cri.v1") \
                and cols[1] in ("cri", "runtime"):
            return cols[-1]
    return None


def containerd_cgroup_driver(config_text):
    """Cgroup driver of containerd's CRI runc runtimes from `containerd config dump`.

    Returns 'systemd' or 'cgroupfs' (the default runtime's setting when the
    runtimes disagree), or None when no runc runtime is configured.
    """
    if _toml is None:
        raise RuntimeError("no TOML parser (needs Python 3.11 tomllib or tomli)")
    doc = _toml.loads(config_text)
    plugins = doc.get("plugins", {})
    candidates = []
    # config version 2 (containerd 1.x) and version 3 (containerd 2.x)
    for section in (plugins.get("io.containerd.grpc.v1.cri", {}).get("containerd", {}),
                    plugins.get("io.containerd.cri.v1.runtime", {}).get("containerd", {})):
        runtimes = section.get("runtimes", {})
        default_name = section.get("default_runtime_name", "runc")
        for name, rt in sorted(runtimes.items()):
            rtype = rt.get("runtime_type", "")
            if "runc" not in rtype and name != "runc":
                continue
            systemd = bool(rt.get("options", {}).get("SystemdCgroup", False))
            candidates.append((name == default_name, "systemd" if systemd else "cgroupfs"))
    # legacy v1 shim setting
    legacy = plugins.get("io.containerd.grpc.v1.cri", {}).get("systemd_cgroup")
    if not candidates:
        if legacy is not None:
            return "systemd" if legacy else "cgroupfs"
        return None
    drivers = set(d for _, d in candidates)
    if len(drivers) == 1:
        return drivers.pop()
    for is_default, driver in candidates:
        if is_default:
            return driver
    return candidates[0][1]


class Runtime(object):
    """The container runtime the simulated kubelet talks to (by CLI tools)."""

    def __init__(self, settings):
        self.settings = settings
        self.kind = "docker" if settings["container_runtime"] == "docker" else "cri"
        self.endpoint = settings["runtime_endpoint"]

    # -- modern (CRI) ------------------------------------------------------
    def _ctr(self, *args):
        return _run(["ctr", "--address", endpoint_path(self.endpoint), "--timeout", "5s"] + list(args))

    def check(self):
        """Raise KubeletError (wording of the real kubelet) unless the runtime answers.

        Returns the runtime version string, e.g. 'containerd://1.6.20'.
        """
        if self.kind == "docker":
            return self._check_docker()
        path = endpoint_path(self.endpoint)
        if not os.path.exists(path):
            raise KubeletError(cri_unavailable_message(
                self.endpoint, "dial unix %s: connect: no such file or directory" % path))
        rc, out, err = self._ctr("version")
        server = parse_ctr_server_version(out) if rc == 0 else None
        if rc != 0 or not server:
            detail = "dial unix %s: connect: connection refused" % path
            raise KubeletError(cri_unavailable_message(self.endpoint, detail))
        rc, out, err = self._ctr("plugins", "ls")
        state = cri_plugin_state(out) if rc == 0 else None
        if state != "ok":
            raise KubeletError(cri_unimplemented_message(self.endpoint))
        return "containerd://" + server

    def cgroup_driver(self):
        if self.kind == "docker":
            rc, out, err = _run(["docker", "info", "--format", "{{.CgroupDriver}}"])
            if rc != 0:
                raise KubeletError("failed to run Kubelet: failed to get docker info: %s" % err.strip())
            return out.strip()
        rc, out, err = _run(["containerd", "config", "dump"])
        if rc != 0:
            raise KubeletError("failed to run Kubelet: %s: containerd config dump failed: %s"
                               % (SIMULATION, err.strip()))
        return containerd_cgroup_driver(out)

    def runtime_name(self):
        return "docker" if self.kind == "docker" else "containerd"

    # -- old era (dockershim) ------------------------------------------------
    def _check_docker(self):
        rc, out, err = _run(["docker", "version", "--format", "{{.Server.Version}}"])
        if rc != 0 or not out.strip():
            raise KubeletError("failed to run Kubelet: failed to create kubelet: failed to get docker "
                               "version: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                               "Is the docker daemon running?")
        return "docker://" + out.strip()


def check_cgroup_driver(settings, runtime):
    """Refuse to start when the kubelet and runtime cgroup drivers differ.

    For docker this is the real dockershim-era check and message.  For
    containerd the real kubelet does not refuse on its own (pods fail later);
    the simulation refuses with the same kind of message so the mismatch is
    visible and testable.
    """
    driver = runtime.cgroup_driver()
    if driver and driver != settings["cgroup_driver"]:
        raise KubeletError("failed to run Kubelet: misconfiguration: kubelet cgroup driver: %s is "
                           "different from %s cgroup driver: %s"
                           % (json.dumps(settings["cgroup_driver"]), runtime.runtime_name(),
                              json.dumps(driver)))
    return driver


# --------------------------------------------------------------------------- API client

def load_kubeconfig(path):
    with open(path) as fh:
        cfg = yaml.safe_load(fh) or {}
    base = os.path.dirname(os.path.abspath(path))
    ctx_name = cfg.get("current-context")
    contexts = {c["name"]: c.get("context", {}) for c in cfg.get("contexts", []) or []}
    ctx = contexts.get(ctx_name) or (list(contexts.values())[0] if contexts else {})
    clusters = {c["name"]: c.get("cluster", {}) for c in cfg.get("clusters", []) or []}
    users = {u["name"]: u.get("user", {}) for u in cfg.get("users", []) or []}
    cluster = clusters.get(ctx.get("cluster")) or (list(clusters.values())[0] if clusters else {})
    user = users.get(ctx.get("user")) or (list(users.values())[0] if users else {})

    def resolve(p):
        return p if os.path.isabs(p) else os.path.join(base, p)

    out = {"server": cluster.get("server")}
    for key, src, field in (("ca", cluster, "certificate-authority"), ("cert", user, "client-certificate"),
                            ("key", user, "client-key")):
        if src.get(field + "-data"):
            out[key + "_pem"] = base64.b64decode(src[field + "-data"])
        elif src.get(field):
            with open(resolve(src[field]), "rb") as fh:
                out[key + "_pem"] = fh.read()
    out["token"] = user.get("token")
    out["insecure"] = bool(cluster.get("insecure-skip-tls-verify"))
    if not out["server"]:
        raise KubeletError("failed to run Kubelet: invalid kubeconfig %s: no server found" % path)
    return out


class ApiError(Exception):
    def __init__(self, status, body):
        Exception.__init__(self, "HTTP %s: %s" % (status, body[:300]))
        self.status = status
        self.body = body


class ApiClient(object):
    def __init__(self, kubeconfig, user_agent):
        self.server = kubeconfig["server"].rstrip("/")
        self.token = kubeconfig.get("token")
        self.user_agent = user_agent
        ctx = ssl.create_default_context()
        if kubeconfig.get("insecure"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif kubeconfig.get("ca_pem"):
            ctx.load_verify_locations(cadata=kubeconfig["ca_pem"].decode())
        if kubeconfig.get("cert_pem") and kubeconfig.get("key_pem"):
            # ssl wants files: keep them in a private temporary directory
            tmpdir = tempfile.mkdtemp(prefix="kubelet-sim-")
            os.chmod(tmpdir, 0o700)
            cert = os.path.join(tmpdir, "client.crt")
            key = os.path.join(tmpdir, "client.key")
            with open(cert, "wb") as fh:
                fh.write(kubeconfig["cert_pem"])
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(kubeconfig["key_pem"])
            try:
                ctx.load_cert_chain(cert, key)
            finally:
                os.unlink(cert)
                os.unlink(key)
                os.rmdir(tmpdir)
        self.ssl = ctx

    def request(self, method, path, body=None, content_type="application/json", timeout=10):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", self.user_agent)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=timeout) as resp:
                raw = resp.read()
                return json.loads(raw) if raw else {}
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode("utf-8", "replace"))

    def host_and_port(self):
        parsed = urllib.parse.urlparse(self.server)
        return parsed.hostname, parsed.port or 443


# --------------------------------------------------------------------------- node facts

def rfc3339(ts=None):
    return datetime.datetime.fromtimestamp(ts if ts is not None else time.time(), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def micro_time(ts=None):
    return datetime.datetime.fromtimestamp(ts if ts is not None else time.time(), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def os_image(path=OS_RELEASE):
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return shlex.split(line.split("=", 1)[1])[0]
    except (OSError, IndexError, ValueError):
        pass
    return "Linux"


def go_arch():
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
            "s390x": "s390x"}.get(machine, machine)


def read_first_line(path, default=""):
    try:
        with open(path) as fh:
            return fh.readline().strip()
    except OSError:
        return default


def primary_ip(towards_host, towards_port):
    """The local address used to reach the API server (no packet is sent)."""
    try:
        family = socket.AF_INET6 if ":" in (towards_host or "") else socket.AF_INET
        infos = socket.getaddrinfo(towards_host, towards_port, family, socket.SOCK_DGRAM)
        s = socket.socket(infos[0][0], socket.SOCK_DGRAM)
        try:
            s.connect(infos[0][4])
            return s.getsockname()[0]
        finally:
            s.close()
    except (OSError, IndexError):
        return None


def quantity_to_ki(quantity):
    """'8Gi' -> 8388608 (KiB); a plain number is bytes."""
    units = {"Ki": 1, "Mi": 1024, "Gi": 1024 ** 2, "Ti": 1024 ** 3}
    m = re.match(r"^(\d+)(Ki|Mi|Gi|Ti)?$", str(quantity))
    if not m:
        raise ValueError("unsupported quantity %r" % (quantity,))
    if m.group(2):
        return int(m.group(1)) * units[m.group(2)]
    return int(m.group(1)) // 1024


def lab_capacity(max_pods=110, path=CAPACITY_FILE):
    cap = dict(DEFAULT_CAPACITY)
    cap["pods"] = str(max_pods)
    try:
        with open(path) as fh:
            extra = yaml.safe_load(fh) or {}
        cap.update({str(k): str(v) for k, v in extra.items()})
    except OSError:
        pass
    mem_ki = quantity_to_ki(cap["memory"])
    try:
        st = os.statvfs("/var/lib/kubelet")
        eph_ki = st.f_blocks * st.f_frsize // 1024
    except OSError:
        eph_ki = 100 * 1024 * 1024
    capacity = {"cpu": cap["cpu"], "memory": "%dKi" % mem_ki, "pods": cap["pods"],
                "ephemeral-storage": "%dKi" % eph_ki, "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    allocatable = dict(capacity)
    allocatable["memory"] = "%dKi" % (mem_ki - EVICTION_HARD_MEMORY_MI * 1024)
    # default evictionHard nodefs.available 10%
    allocatable["ephemeral-storage"] = str(eph_ki * 1024 * 9 // 10)
    return capacity, allocatable


# --------------------------------------------------------------------------- node status

CONDITION_TEXT = {
    "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
}


class NodeState(object):
    """Holds condition transition times between heartbeats."""

    def __init__(self):
        self.transitions = {}

    def seed_from(self, node):
        for cond in (node.get("status") or {}).get("conditions") or []:
            if cond.get("type") and cond.get("lastTransitionTime"):
                self.transitions[cond["type"]] = (cond.get("status"), cond["lastTransitionTime"])

    def condition(self, ctype, status, reason, message, now):
        prev = self.transitions.get(ctype)
        if prev and prev[0] == status:
            transition = prev[1]
        else:
            transition = rfc3339(now)
            self.transitions[ctype] = (status, transition)
        return {"type": ctype, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": rfc3339(now), "lastTransitionTime": transition}

    def conditions(self, runtime_errors, now):
        out = []
        for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            reason, message = CONDITION_TEXT[ctype]
            out.append(self.condition(ctype, "False", reason, message, now))
        if runtime_errors:
            message = runtime_errors[0] if len(runtime_errors) == 1 else "[%s]" % ", ".join(runtime_errors)
            out.append(self.condition("Ready", "False", "KubeletNotReady", message, now))
        else:
            out.append(self.condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now))
        return out


def runtime_errors_for(last_ok, started, now, threshold):
    """The kubelet's runtime state errors (wording of the real kubelet)."""
    errors = []
    if last_ok is None:
        if now - started > threshold:
            errors.append("container runtime is down")
        else:
            errors.append("container runtime status check may not have completed yet")
        return errors
    down_for = now - last_ok
    if down_for > threshold:
        errors.append("container runtime is down")
    if down_for > PLEG_THRESHOLD:
        errors.append("PLEG is not healthy: pleg was last seen active %s ago; threshold is 3m0s"
                      % go_duration(down_for))
    return errors


def go_duration(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%dm%ds" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)
    if seconds >= 60:
        return "%dm%ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


# --------------------------------------------------------------------------- healthz

class HealthState(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.sync_loop_ok_at = time.time()

    def healthz(self, now=None):
        now = time.time() if now is None else now
        with self.lock:
            stale = now - self.sync_loop_ok_at > SYNCLOOP_HEALTH_THRESHOLD
        if stale:
            return 500, ("[+]ping ok\n[+]log ok\n[-]syncloop failed: reason withheld\n"
                         "healthz check failed\n")
        return 200, "ok"


def start_healthz(bind, port, health):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "kubelet-simulation"

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path in ("/healthz", "/healthz/"):
                code, body = health.healthz()
            elif path == "/healthz/ping":
                code, body = 200, "ok"
            else:
                code, body = 404, "404 page not found\n"
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    try:
        httpd = Server((bind, port), Handler)
    except OSError as exc:
        raise KubeletError("failed to run Kubelet: listen tcp %s:%d: bind: %s"
                           % (bind, port, (exc.strerror or str(exc)).lower()))
    thread = threading.Thread(target=httpd.serve_forever, name="healthz", daemon=True)
    thread.start()
    return httpd


# --------------------------------------------------------------------------- the kubelet

class Kubelet(object):
    def __init__(self, settings, api, runtime):
        self.s = settings
        self.api = api
        self.runtime = runtime
        self.health = HealthState()
        self.state = NodeState()
        self.started = time.time()
        self.last_runtime_ok = None
        self.runtime_version = None
        self.runtime_was_down = False
        self.node_uid = None
        self.registered = False
        self.stop = threading.Event()
        host, port = api.host_and_port()
        self.node_name = (settings["hostname_override"] or socket.gethostname()).strip().lower()
        self.hostname = self.node_name
        self.node_ip = settings["node_ip"] or primary_ip(host, port) or "127.0.0.1"
        threshold = min(REAL_RUNTIME_DOWN_THRESHOLD, 3 * settings["status_frequency"])
        self.runtime_down_threshold = max(threshold, 1.0)

    # -- status content ------------------------------------------------------
    def labels(self):
        labels = {"kubernetes.io/hostname": self.hostname, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": go_arch(), "beta.kubernetes.io/os": "linux",
                  "beta.kubernetes.io/arch": go_arch()}
        return labels

    def node_info(self):
        machine_id = read_first_line("/etc/machine-id")
        return {
            "machineID": machine_id,
            "systemUUID": read_first_line("/sys/class/dmi/id/product_uuid", machine_id),
            "bootID": read_first_line("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": platform.release(),
            "osImage": os_image(),
            "containerRuntimeVersion": self.runtime_version or "",
            "kubeletVersion": self.s["version"],
            "kubeProxyVersion": self.s["version"],
            "operatingSystem": "linux",
            "architecture": go_arch(),
        }

    def status(self, runtime_errors, now):
        capacity, allocatable = lab_capacity(self.s["max_pods"])
        return {
            "conditions": self.state.conditions(runtime_errors, now),
            "addresses": [{"type": "InternalIP", "address": self.node_ip},
                          {"type": "Hostname", "address": self.hostname}],
            "capacity": capacity,
            "allocatable": allocatable,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": self.node_info(),
        }

    # -- API calls -------------------------------------------------------------
    def register(self):
        now = time.time()
        labels = self.labels()
        labels.update(self.s["node_labels"])
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": labels,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
            },
            "spec": {},
            "status": self.status(self.runtime_errors(now), now),
        }
        if self.s["taints"]:
            node["spec"]["taints"] = self.s["taints"]
        info("kubelet_node_status.go:73", "Attempting to register node", node=self.node_name)
        try:
            created = self.api.request("POST", "/api/v1/nodes", node)
            self.node_uid = created.get("metadata", {}).get("uid")
            info("kubelet_node_status.go:76", "Successfully registered node", node=self.node_name)
        except ApiError as exc:
            if exc.status != 409:
                raise
            existing = self.api.request("GET", "/api/v1/nodes/" + self.node_name)
            self.node_uid = existing.get("metadata", {}).get("uid")
            self.state.seed_from(existing)
            # like the real kubelet: default labels are reconciled, --node-labels
            # and --register-with-taints only apply at first registration
            current = existing.get("metadata", {}).get("labels") or {}
            missing = {k: v for k, v in self.labels().items() if current.get(k) != v}
            if missing:
                self.api.request("PATCH", "/api/v1/nodes/" + self.node_name,
                                 {"metadata": {"labels": missing}},
                                 content_type="application/strategic-merge-patch+json")
            info("kubelet_node_status.go:111", "Node was previously registered", node=self.node_name)
        self.registered = True

    def post_status(self, now):
        patch = {"status": self.status(self.runtime_errors(now), now)}
        self.api.request("PATCH", "/api/v1/nodes/%s/status" % self.node_name, patch,
                         content_type="application/strategic-merge-patch+json")

    def renew_lease(self, now):
        path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + self.node_name
        duration = 40
        try:
            lease = self.api.request("GET", path)
        except ApiError as exc:
            if exc.status != 404:
                raise
            lease = {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.node_name, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": self.node_name, "leaseDurationSeconds": duration,
                         "renewTime": micro_time(now)},
            }
            if self.node_uid:
                lease["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                                         "name": self.node_name, "uid": self.node_uid}]
            self.api.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease)
            return
        lease.setdefault("spec", {})
        lease["spec"]["holderIdentity"] = self.node_name
        lease["spec"]["leaseDurationSeconds"] = duration
        lease["spec"]["renewTime"] = micro_time(now)
        self.api.request("PUT", path, lease)

    # -- runtime ------------------------------------------------------------------
    def runtime_errors(self, now):
        return runtime_errors_for(self.last_runtime_ok, self.started, now, self.runtime_down_threshold)

    def check_runtime(self, now):
        try:
            self.runtime_version = self.runtime.check()
        except KubeletError as exc:
            if not self.runtime_was_down:
                error("kubelet.go:2862", "Container runtime sanity check failed", err=exc.message)
            self.runtime_was_down = True
            return False
        if self.runtime_was_down:
            info("kubelet.go:2862", "Container runtime is answering again", runtime=self.runtime_version)
        self.runtime_was_down = False
        self.last_runtime_ok = now
        with self.health.lock:
            self.health.sync_loop_ok_at = now
        return True

    # -- main loop --------------------------------------------------------------
    def _runtime_loop(self):
        """Probe the runtime on its own thread, as the real kubelet's runtime
        health checks run apart from its node status updates: a slow or hung
        runtime never delays the heartbeat."""
        while not self.stop.wait(self.s["status_frequency"]):
            self.check_runtime(time.time())

    def run(self):
        freq = self.s["status_frequency"]
        self.check_runtime(time.time())
        threading.Thread(target=self._runtime_loop, name="runtime-probe", daemon=True).start()
        while not self.stop.is_set():
            now = time.time()
            errors = self.runtime_errors(now)
            if errors and self.last_runtime_ok is not None:
                aggregate = errors[0] if len(errors) == 1 else "[%s]" % ", ".join(errors)
                error("kubelet.go:2400", "Skipping pod synchronization", err=aggregate)
            if not self.registered and self.s["register_node"]:
                try:
                    self.register()
                except (ApiError, urllib.error.URLError, OSError, ValueError) as exc:
                    error("kubelet_node_status.go:96", "Unable to register node with API server",
                          err=str(exc), node=self.node_name)
            try:
                if self.registered:
                    self.post_status(now)
                    self.renew_lease(now)
            except (ApiError, urllib.error.URLError, OSError, ValueError) as exc:
                error("kubelet_node_status.go:540", "Error updating node status, will retry", err=str(exc))
            self.stop.wait(freq)


# --------------------------------------------------------------------------- main

HELP = """The kubelet is the primary "node agent" that runs on each node.

THIS IS THE %s: it runs no pods; it registers the
node, posts node status and a lease, serves /healthz and refuses to start on
the misconfigurations the nodeops lab exercises (see docs/lab-nodes.md).

Usage:
  kubelet [flags]
""" % SIMULATION.upper()


def startup(argv, version):
    """Everything the kubelet checks before it starts running.  Returns a Kubelet."""
    flags, warnings = parse_flags(argv, version)
    if flags.get("help") == "true":
        sys.stdout.write(HELP)
        raise SystemExit(0)
    if flags.get("version"):
        sys.stdout.write("Kubernetes %s\n" % version)
        raise SystemExit(0)
    for kind, detail in warnings:
        if kind == "deprecated":
            sys.stderr.write("Flag --%s has been deprecated, %s\n" % (detail, FLAGS[detail][2]))
    if flags.get("v"):
        try:
            _VERBOSITY[0] = int(flags["v"])
        except ValueError:
            raise KubeletError("failed to parse kubelet flag: invalid argument %s for \"-v, --v\" "
                               "flag: strconv.ParseInt: parsing %s: invalid syntax"
                               % (q(flags["v"]), q(flags["v"])))
    config = {}
    if flags.get("config"):
        config = load_config_file(flags["config"])
    settings = effective_settings(flags, config, version)
    validate_settings(settings)
    info("server.go:484", "Kubelet version", kubeletVersion=version)
    info("server.go:486", "%s: this is not the real kubelet; no pods are run" % SIMULATION)
    info("server.go:486", "Golang settings", GOGC="", GOMAXPROCS="", GOTRACEBACK="")

    kubeconfig_path = settings["kubeconfig"]
    if not kubeconfig_path or not os.path.exists(kubeconfig_path):
        boot = settings["bootstrap_kubeconfig"]
        if not kubeconfig_path:
            raise KubeletError("failed to run Kubelet: no kubeconfig given (standalone mode is not "
                               "simulated by the %s)" % SIMULATION)
        if not boot or not os.path.exists(boot):
            raise KubeletError("failed to run Kubelet: unable to load bootstrap kubeconfig: stat %s: "
                               "no such file or directory" % (boot or ""))
        raise KubeletError("failed to run Kubelet: %s: TLS bootstrapping with %s is not simulated; "
                           "write %s (the lab's join step does)" % (SIMULATION, boot, kubeconfig_path))
    try:
        kubeconfig = load_kubeconfig(kubeconfig_path)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise KubeletError("failed to run Kubelet: invalid kubeconfig: %s" % exc)

    runtime = Runtime(settings)
    if runtime.kind == "cri":
        info("remote_runtime.go:76", "Connecting to runtime service", endpoint=settings["runtime_endpoint"])
    runtime_version = runtime.check()
    driver = check_cgroup_driver(settings, runtime)
    info("server.go:739", "Runtime answered", runtime=runtime_version, cgroupDriver=driver or "")
    if runtime.kind == "docker" and settings["network_plugin"]:
        info("docker_service.go:260", "Docker cri networking managed by the network plugin",
             networkPluginName=settings["network_plugin"])

    user_agent = "kubelet/%s (linux/%s) nodeops-lab-simulation" % (version, go_arch())
    api = ApiClient(kubeconfig, user_agent)
    kubelet = Kubelet(settings, api, runtime)
    kubelet.runtime_version = runtime_version
    kubelet.last_runtime_ok = time.time()
    start_healthz(settings["healthz_bind"], settings["healthz_port"], kubelet.health)
    info("server.go:163", "Starting to listen", address=settings["healthz_bind"],
         port=settings["healthz_port"], endpoint="/healthz")
    return kubelet


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    version = configured_version()
    try:
        kubelet = startup(argv, version)
    except KubeletError as exc:
        report_fatal(exc, version)
        return 1

    def on_signal(signum, frame):
        info("server.go:1240", "Shutting down the kubelet simulation", signal=signum)
        kubelet.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    kubelet.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

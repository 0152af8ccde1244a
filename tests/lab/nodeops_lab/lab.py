"""nodeops lab orchestration: node containers, the simulated API server, join.

    PYTHONPATH=tests/lab python -m nodeops_lab.lab up [--workers N] [--port 16443]
    PYTHONPATH=tests/lab python -m nodeops_lab.lab down
    PYTHONPATH=tests/lab python -m nodeops_lab.lab join --container NAME --node-name NAME [--control-plane]
    PYTHONPATH=tests/lab python -m nodeops_lab.lab status
    PYTHONPATH=tests/lab python -m nodeops_lab.lab build-image [--force]

The lab is a simulation: the API server is ``nodeops_lab.apiserver`` (not
kube-apiserver) and the nodes are podman containers running systemd,
containerd, docker.io and a kubelet SIMULATION (tests/lab/node/
kubelet-standin.py) that registers the Node and keeps its status.  No pods
run in the containers.  See docs/lab-nodes.md.

State lives in ``$NODEOPS_LAB_DIR`` (default ``<repo>/.lab``): the API
server's state dir (pki/, kubeconfig, apiserver.pid), apiserver.log,
containers.conf, inventory.yml and cache/ (debootstrap downloads, kept by
``down``).
"""

import argparse
import base64
import datetime
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml

from nodeops_lab import pki
from nodeops_lab.podman import Podman, PodmanError, ulimit_args, write_containers_conf

HERE = os.path.dirname(os.path.abspath(__file__))
LAB_ROOT = os.path.dirname(HERE)                      # tests/lab
REPO_ROOT = os.path.dirname(os.path.dirname(LAB_ROOT))
NODE_DIR = os.path.join(LAB_ROOT, "node")
SEED_FILE = os.path.join(LAB_ROOT, "seeds", "cluster.yaml")

IMAGE_REPO = "localhost/nodeops-lab-node"
IMAGE = IMAGE_REPO + ":latest"
DEFAULT_PORT = int(os.environ.get("NODEOPS_LAB_PORT") or 16443)
# The simulated API server divides its controller timings by this factor's
# inverse (0.25 -> a 40s node grace period becomes 10s).  The kubelet
# simulation posts status every 3s, so 0.25 keeps Ready stable and fast.
DEFAULT_TIME_SCALE = 0.25
HOST_FROM_CONTAINERS = "host.containers.internal"
LABEL = "nodeops-lab"
# Container names are <prefix>cp1, <prefix>w1...; another prefix allows a second lab.
CONTAINER_PREFIX = os.environ.get("NODEOPS_LAB_CONTAINER_PREFIX") or "nodeops-lab-"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane:NoSchedule"

# Kubelet flags written to /var/lib/kubelet/kubeadm-flags.env, per era.
MODERN_VERSION = "v1.30.2"
MODERN_FLAGS = ("--container-runtime-endpoint=unix:///run/containerd/containerd.sock "
                "--pod-infra-container-image=registry.k8s.io/pause:3.9")
DOCKERSHIM_VERSION = "v1.23.17"
DOCKERSHIM_FLAGS = "--container-runtime=docker --network-plugin=cni --pod-infra-container-image=k8s.gcr.io/pause:3.6"


def log(msg):
    print("[lab] " + msg, flush=True)


# --------------------------------------------------------------------------- paths

class Paths(object):
    def __init__(self, lab_dir=None):
        self.lab_dir = os.path.abspath(lab_dir or os.environ.get("NODEOPS_LAB_DIR")
                                       or os.path.join(REPO_ROOT, ".lab"))
        d = self.lab_dir
        self.containers_conf = os.path.join(d, "containers.conf")
        self.kubeconfig = os.path.join(d, "kubeconfig")
        self.pki = os.path.join(d, "pki")
        self.ca_crt = os.path.join(self.pki, "ca.crt")
        self.pid_file = os.path.join(d, "apiserver.pid")
        self.apiserver_log = os.path.join(d, "apiserver.log")
        self.inventory = os.path.join(d, "inventory.yml")
        self.lab_state = os.path.join(d, "lab.json")
        self.cache = os.path.abspath(os.environ.get("NODEOPS_LAB_CACHE_DIR") or os.path.join(d, "cache"))


def podman_for(paths):
    write_containers_conf(paths.containers_conf)
    return Podman(paths.containers_conf)


def node_specs(workers):
    specs = [(CONTAINER_PREFIX + "cp1", "lab-cp1", True)]
    for i in range(1, workers + 1):
        specs.append((CONTAINER_PREFIX + "w%d" % i, "lab-worker%d" % i, False))
    return specs


def read_state(paths):
    try:
        with open(paths.lab_state) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def write_state(paths, state):
    os.makedirs(paths.lab_dir, exist_ok=True)
    with open(paths.lab_state, "w") as fh:
        json.dump(state, fh, indent=2, sort_keys=True)


# --------------------------------------------------------------------------- image

def ensure_image(paths, force=False):
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = write_containers_conf(paths.containers_conf)
    env["NODEOPS_LAB_DIR"] = paths.lab_dir
    cmd = [sys.executable, os.path.join(NODE_DIR, "build_image.py"), "--cache-dir", paths.cache]
    if force:
        cmd.append("--force")
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        if line.startswith("[build-image]"):
            print(line, flush=True)
    return out.strip().splitlines()[-1]


# --------------------------------------------------------------------------- API server

def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_apiserver(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return b"nodeops_lab.apiserver" in fh.read()
    except OSError:
        return False


def apiserver_pid(paths):
    try:
        with open(paths.pid_file) as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    if _pid_alive(pid) and _is_apiserver(pid):
        return pid
    return None


def _ssl_context(paths):
    ctx = ssl.create_default_context(cafile=paths.ca_crt)
    ctx.check_hostname = False  # the kubeconfig may say 127.0.0.1 or localhost
    return ctx


def admin_token(paths):
    try:
        with open(paths.kubeconfig) as fh:
            cfg = yaml.safe_load(fh) or {}
        for user in cfg.get("users") or []:
            token = (user.get("user") or {}).get("token")
            if token:
                return token
    except OSError:
        pass
    return None


def apiserver_ready(paths, port, timeout=3):
    if not os.path.exists(paths.ca_crt):
        return False
    req = urllib.request.Request("https://127.0.0.1:%d/readyz" % port)
    token = admin_token(paths)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, context=_ssl_context(paths), timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


def start_apiserver(paths, port, time_scale, seed=SEED_FILE, wait=60):
    pid = apiserver_pid(paths)
    if pid and apiserver_ready(paths, port):
        log("simulated API server already running (pid %d, port %d)" % (pid, port))
        return pid
    if pid:
        log("API server pid %d is not ready; waiting" % pid)
    else:
        if port_in_use(port):
            raise SystemExit("port %d is in use by another process; pick another with --port or "
                             "NODEOPS_LAB_PORT" % port)
        os.makedirs(paths.lab_dir, exist_ok=True)
        cmd = [sys.executable, "-m", "nodeops_lab.apiserver", "--port", str(port),
               "--state-dir", paths.lab_dir, "--time-scale", str(time_scale)]
        if seed and os.path.exists(seed):
            cmd += ["--seed", seed]
        env = dict(os.environ)
        env["PYTHONPATH"] = LAB_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        logf = open(paths.apiserver_log, "ab")
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=REPO_ROOT, start_new_session=True)
        logf.close()
        pid = proc.pid
        log("started simulated API server pid %d on port %d (log %s)" % (pid, port, paths.apiserver_log))
    deadline = time.time() + wait
    while time.time() < deadline:
        if apiserver_ready(paths, port):
            # the server writes its own pid file; keep ours in step if it has not yet
            if not os.path.exists(paths.pid_file):
                with open(paths.pid_file, "w") as fh:
                    fh.write("%d\n" % pid)
            return pid
        if not _pid_alive(pid):
            raise SystemExit("simulated API server exited; see %s:\n%s" % (paths.apiserver_log, _tail(paths.apiserver_log)))
        time.sleep(0.3)
    raise SystemExit("simulated API server did not become ready in %ds; see %s" % (wait, paths.apiserver_log))


def port_in_use(port):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("0.0.0.0", port))
    except OSError:
        return True
    finally:
        s.close()
    return False


def _tail(path, lines=20):
    try:
        with open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def apiserver_pids_for_dir(lab_dir):
    """Simulated API servers started with --state-dir <lab_dir> (even without a pid file)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as fh:
                argv = fh.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if "nodeops_lab.apiserver" not in argv:
            continue
        for i, arg in enumerate(argv):
            value = argv[i + 1] if arg == "--state-dir" and i + 1 < len(argv) else \
                (arg.split("=", 1)[1] if arg.startswith("--state-dir=") else None)
            if value and os.path.abspath(value) == lab_dir:
                pids.append(int(entry))
    return pids


def stop_apiserver(paths, timeout=15):
    pids = set(apiserver_pids_for_dir(paths.lab_dir))
    pid = apiserver_pid(paths)
    if pid:
        pids.add(pid)
    for pid in sorted(pids):
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while time.time() < deadline and _pid_alive(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.2)
        if _pid_alive(pid) and _is_apiserver(pid):
            os.kill(pid, signal.SIGKILL)
        log("stopped simulated API server (pid %d)" % pid)
    return bool(pids)


# --------------------------------------------------------------------------- kubernetes client

def core_api(paths):
    from kubernetes import client, config
    api_client = config.new_client_from_config(config_file=paths.kubeconfig)
    return client.CoreV1Api(api_client)


def node_ready(node):
    for cond in (node.status.conditions or []) if node.status else []:
        if cond.type == "Ready":
            return cond.status
    return "Unknown"


def wait_nodes_ready(paths, names, timeout=180):
    api = core_api(paths)
    deadline = time.time() + timeout
    pending = set(names)
    while True:
        states = {}
        for node in api.list_node().items:
            states[node.metadata.name] = node_ready(node)
        pending = {n for n in names if states.get(n) != "True"}
        if not pending:
            return states
        if time.time() > deadline:
            raise SystemExit("nodes not Ready after %ds: %s" % (timeout, ", ".join(
                "%s=%s" % (n, states.get(n, "absent")) for n in sorted(pending))))
        time.sleep(1)


def label_node(paths, name, labels):
    api = core_api(paths)
    api.patch_node(name, {"metadata": {"labels": labels}})


def seed_namespaces(seed=SEED_FILE):
    namespaces = set()
    try:
        with open(seed) as fh:
            for doc in yaml.safe_load_all(fh):
                if not doc:
                    continue
                if doc.get("kind") == "Namespace":
                    namespaces.add(doc["metadata"]["name"])
                elif doc.get("metadata", {}).get("namespace"):
                    namespaces.add(doc["metadata"]["namespace"])
    except OSError:
        pass
    return sorted(namespaces)


def seed_workload_status(paths, namespaces):
    """{'ns/pod': phase} for the pods in the seed namespaces."""
    api = core_api(paths)
    out = {}
    for ns in namespaces:
        for pod in api.list_namespaced_pod(ns).items:
            out["%s/%s" % (ns, pod.metadata.name)] = pod.status.phase if pod.status else None
    return out


def wait_seed_running(paths, timeout=120):
    namespaces = seed_namespaces()
    if not namespaces:
        return {}
    deadline = time.time() + timeout
    while True:
        phases = seed_workload_status(paths, namespaces)
        waiting = {k: v for k, v in phases.items() if v not in ("Running", "Succeeded")}
        if phases and not waiting:
            return phases
        if time.time() > deadline:
            raise SystemExit("seed workloads not Running after %ds: %s"
                             % (timeout, ", ".join("%s=%s" % kv for kv in sorted(waiting.items())) or "no pods"))
        time.sleep(1)


# --------------------------------------------------------------------------- containers

def container_running(podman, name):
    info = podman.inspect(name)
    return bool(info and info.get("State", {}).get("Running"))


def ensure_container(podman, paths, container, node_name, control_plane, image=IMAGE):
    info = podman.inspect(container)
    if info:
        labels = info.get("Config", {}).get("Labels") or {}
        if labels.get(LABEL + ".dir") != paths.lab_dir:
            raise SystemExit("container %s exists but does not belong to this lab (%s); remove it or use "
                             "its NODEOPS_LAB_DIR" % (container, labels.get(LABEL + ".dir")))
        current = podman.run("image", "inspect", "--format", "{{.Id}}", image, check=False).stdout.strip()
        if current and info.get("Image") and info["Image"] != current:
            log("note: %s runs an older node image; `lab down` and `lab up` to use the new one" % container)
        if not info.get("State", {}).get("Running"):
            log("starting existing container %s" % container)
            podman.run("start", container)
        return False
    log("creating container %s (node %s)" % (container, node_name))
    args = ["run", "-d", "--name", container, "--hostname", node_name,
            "--label", LABEL + "=1", "--label", LABEL + ".dir=" + paths.lab_dir,
            "--label", LABEL + ".node=" + node_name,
            "--label", LABEL + ".role=" + ("control-plane" if control_plane else "worker"),
            "--privileged", "--systemd=always", "--runtime", "runc",
            "--tmpfs", "/run", "--tmpfs", "/tmp"] + ulimit_args() + [image, "/sbin/init"]
    podman.run(*args)
    return True


def wait_systemd(podman, container, timeout=60):
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        proc = podman.exec(container, "systemctl", "is-system-running", check=False)
        state = (proc.stdout or "").strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(0.5)
    raise SystemExit("systemd in %s did not finish booting (state %r)" % (container, state))


def kubelet_kubeconfig(server, ca_pem):
    """kubelet.conf as kubeadm leaves it after TLS bootstrap (rotating cert files)."""
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "default-cluster", "cluster": {
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
            "server": server}}],
        "contexts": [{"name": "default-context", "context": {
            "cluster": "default-cluster", "namespace": "default", "user": "default-auth"}}],
        "current-context": "default-context",
        "preferences": {},
        "users": [{"name": "default-auth", "user": {
            "client-certificate": "/var/lib/kubelet/pki/kubelet-client-current.pem",
            "client-key": "/var/lib/kubelet/pki/kubelet-client-current.pem"}}],
    }, default_flow_style=False, sort_keys=False)


def kubeadm_flags_env(control_plane, era="modern"):
    flags = MODERN_FLAGS if era == "modern" else DOCKERSHIM_FLAGS
    if control_plane:
        flags += " --register-with-taints=" + CONTROL_PLANE_TAINT
    return 'KUBELET_KUBEADM_ARGS="%s"\n' % flags


def lab_port(paths, default=DEFAULT_PORT):
    return int(read_state(paths).get("port", default))


def join(paths, container, node_name, control_plane=False, port=None, era="modern", wait=True,
         podman=None, mark_control_plane=True):
    """Join one node container to the lab's simulated API server.

    Issues the node's client certificate (CN system:node:<name>, O system:nodes),
    writes /etc/kubernetes/pki/ca.crt, /etc/kubernetes/kubelet.conf,
    /var/lib/kubelet/pki/kubelet-client-*.pem and kubeadm-flags.env, enables
    and starts containerd (docker too for the dockershim era) and the kubelet
    simulation, and (control plane) labels the Node like kubeadm's
    mark-control-plane phase.
    """
    podman = podman or podman_for(paths)
    port = port or lab_port(paths)
    if not container_running(podman, container):
        raise SystemExit("container %s is not running" % container)
    if not os.path.exists(paths.ca_crt):
        raise SystemExit("no lab CA at %s: run `lab up` (or start the simulated API server) first" % paths.ca_crt)
    wait_systemd(podman, container)
    with open(paths.ca_crt, "rb") as fh:
        ca_pem = fh.read()
    crt, key = pki.issue_cert(paths.pki, "kubelet-" + node_name, "system:node:" + node_name,
                              organizations=("system:nodes",), client=True)
    with open(crt, "rb") as fh:
        crt_pem = fh.read()
    with open(key, "rb") as fh:
        key_pem = fh.read()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")
    pem_name = "kubelet-client-%s.pem" % stamp
    server = "https://%s:%d" % (HOST_FROM_CONTAINERS, port)

    # kubelet restarts in a loop until joined: keep it stopped while its files change
    podman.exec(container, "systemctl", "stop", "kubelet.service")
    podman.write_file(container, "/etc/kubernetes/pki/ca.crt", ca_pem, "0644")
    podman.write_file(container, "/var/lib/kubelet/pki/" + pem_name, crt_pem + key_pem, "0600")
    podman.exec(container, "ln", "-sfn", "/var/lib/kubelet/pki/" + pem_name,
                "/var/lib/kubelet/pki/kubelet-client-current.pem")
    podman.write_file(container, "/etc/kubernetes/kubelet.conf", kubelet_kubeconfig(server, ca_pem), "0600")
    podman.write_file(container, "/var/lib/kubelet/kubeadm-flags.env", kubeadm_flags_env(control_plane, era))
    if era == "dockershim":
        podman.write_file(container, "/etc/nodeops-lab/kubelet-version", DOCKERSHIM_VERSION + "\n")
        podman.exec(container, "systemctl", "enable", "--now", "docker.service")
    podman.exec(container, "systemctl", "enable", "--now", "containerd.service")
    podman.exec(container, "systemctl", "enable", "kubelet.service")
    podman.exec(container, "systemctl", "start", "kubelet.service")
    log("joined %s as node %s%s" % (container, node_name, " (control plane)" if control_plane else ""))
    if wait or (control_plane and mark_control_plane):
        wait_nodes_ready(paths, [node_name], timeout=120)
    if control_plane and mark_control_plane:
        label_node(paths, node_name, {CONTROL_PLANE_LABEL: ""})


# --------------------------------------------------------------------------- inventory

def write_inventory(paths, specs):
    cp_hosts, worker_hosts = {}, {}
    for container, node_name, control_plane in specs:
        host = {
            "ansible_connection": "containers.podman.podman",
            "ansible_host": container,
            "ansible_python_interpreter": "/usr/bin/python3",
            "kube_node_name": node_name,
        }
        (cp_hosts if control_plane else worker_hosts)[node_name] = host
    inventory = {"all": {"children": {"lab_nodes": {
        "vars": {"nodeops_kubeconfig": paths.kubeconfig},
        "children": {
            "lab_control_plane": {"hosts": cp_hosts},
            "lab_workers": {"hosts": worker_hosts},
        }}}}}
    header = ("# nodeops lab inventory, written by `python -m nodeops_lab.lab up`.\n"
              "# Hosts are podman containers (containers.podman.podman connection);\n"
              "# nodeops_kubeconfig is the controller-side kubeconfig of the simulated API server.\n")
    with open(paths.inventory, "w") as fh:
        fh.write(header + yaml.safe_dump(inventory, default_flow_style=False, sort_keys=False))
    return paths.inventory


# --------------------------------------------------------------------------- commands

def cmd_up(args):
    started = time.time()
    paths = Paths()
    os.makedirs(paths.lab_dir, exist_ok=True)
    podman = podman_for(paths)
    ensure_image(paths)
    state = read_state(paths)
    port = args.port or state.get("port") or DEFAULT_PORT
    if apiserver_pid(paths) and state.get("port") and state["port"] != port:
        raise SystemExit("the lab's API server already runs on port %s; `lab down` first" % state["port"])
    workers = args.workers if args.workers is not None else state.get("workers", 2)
    state.update({"port": port, "workers": workers, "time_scale": args.time_scale})
    write_state(paths, state)
    start_apiserver(paths, port, args.time_scale)
    specs = node_specs(workers)
    created = {}
    for container, node_name, control_plane in specs:
        created[container] = ensure_container(podman, paths, container, node_name, control_plane)
    # Nodes that do not exist yet are pre-registered cordoned, so the seed pods
    # are only scheduled once every node is Ready, spread over the workers.
    cordoned = precreate_nodes(paths, specs)
    for container, node_name, control_plane in specs:
        if created[container] or not _node_is_ready(paths, node_name):
            join(paths, container, node_name, control_plane, port=port, wait=False, podman=podman,
                 mark_control_plane=False)
    states = wait_nodes_ready(paths, [n for _, n, _ in specs], timeout=args.timeout)
    for container, node_name, control_plane in specs:
        if control_plane:
            label_node(paths, node_name, {CONTROL_PLANE_LABEL: ""})
    uncordon_together(paths, cordoned)
    phases = wait_seed_running(paths, timeout=args.timeout)
    write_inventory(paths, specs)
    log("lab up in %.1fs" % (time.time() - started))
    print_summary(paths, port, states, phases)
    return 0


def precreate_nodes(paths, specs):
    """Create absent Node objects cordoned, with kubeadm's control-plane label and taint.

    The kubelet simulation then finds its Node registered (HTTP 409) and only
    posts status, like a real kubelet whose Node object already exists.
    Returns the names created (to be uncordoned once all are Ready).
    """
    from kubernetes.client.rest import ApiException
    api = core_api(paths)
    existing = {n.metadata.name for n in api.list_node().items}
    created = []
    for _container, node_name, control_plane in specs:
        if node_name in existing:
            continue
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node_name, "labels": {"kubernetes.io/hostname": node_name,
                                                           "kubernetes.io/os": "linux"}},
                "spec": {"unschedulable": True}}
        if control_plane:
            body["metadata"]["labels"][CONTROL_PLANE_LABEL] = ""
            body["spec"]["taints"] = [{"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"}]
        try:
            api.create_node(body)
            created.append(node_name)
        except ApiException as exc:
            if exc.status != 409:
                raise
    return created


def uncordon_together(paths, names):
    """Uncordon nodes with concurrent requests (one connection each), so the
    simulated scheduler sees them become schedulable at (nearly) the same time."""
    import threading
    apis = [core_api(paths) for _ in names]
    barrier = threading.Barrier(len(names)) if names else None
    errors = []

    def uncordon(api, name):
        barrier.wait()
        try:
            api.patch_node(name, {"spec": {"unschedulable": None}})
        except Exception as exc:  # reported below
            errors.append("%s: %s" % (name, exc))

    threads = [threading.Thread(target=uncordon, args=(api, name)) for api, name in zip(apis, names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("uncordon failed: " + "; ".join(errors))


def _node_is_ready(paths, name):
    try:
        node = core_api(paths).read_node(name)
    except Exception:  # absent or API trouble: (re)join
        return False
    return node_ready(node) == "True"


def print_summary(paths, port, states, phases=None):
    print("API server (simulation): https://127.0.0.1:%d (nodes use https://%s:%d)"
          % (port, HOST_FROM_CONTAINERS, port))
    print("kubeconfig:  %s" % paths.kubeconfig)
    print("inventory:   %s" % paths.inventory)
    print("nodes:")
    for name in sorted(states):
        print("  %-14s Ready=%s" % (name, states[name]))
    if phases is not None:
        running = sum(1 for v in phases.values() if v == "Running")
        print("seed pods:   %d Running of %d" % (running, len(phases)))


def cmd_down(args):
    paths = Paths()
    podman = podman_for(paths)
    for c in podman.containers(LABEL + "=1", LABEL + ".dir=" + paths.lab_dir):
        name = (c.get("Names") or [c.get("Id")])[0]
        log("removing container %s" % name)
        podman.run("rm", "-f", "-v", "-t", "5", name, check=False)
    stop_apiserver(paths)
    if os.path.isdir(paths.lab_dir):
        for entry in os.listdir(paths.lab_dir):
            if entry == "cache" or os.path.join(paths.lab_dir, entry) == paths.cache:
                continue
            path = os.path.join(paths.lab_dir, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    log("lab is down (kept %s)" % paths.cache)
    return 0


def cmd_join(args):
    paths = Paths()
    join(paths, args.container, args.node_name, control_plane=args.control_plane,
         port=args.port, era=args.era, wait=not args.no_wait)
    return 0


def cmd_status(args):
    paths = Paths()
    podman = podman_for(paths)
    state = read_state(paths)
    port = state.get("port", DEFAULT_PORT)
    pid = apiserver_pid(paths)
    ready = bool(pid) and apiserver_ready(paths, port)
    print("lab dir:     %s" % paths.lab_dir)
    print("image:       %s (%s)" % (IMAGE, "present" if podman.image_exists(IMAGE) else "absent"))
    print("API server (simulation): %s" % (
        "pid %d, https://127.0.0.1:%d, %s" % (pid, port, "ready" if ready else "NOT ready") if pid else "not running"))
    print("containers:")
    containers = podman.containers(LABEL + "=1", LABEL + ".dir=" + paths.lab_dir)
    for c in sorted(containers, key=lambda c: c.get("Names", [""])[0]):
        labels = c.get("Labels") or {}
        print("  %-22s %-10s node=%s" % (c.get("Names", ["?"])[0], c.get("State"), labels.get(LABEL + ".node")))
    if not containers:
        print("  (none)")
    if ready:
        print("nodes:")
        for node in core_api(paths).list_node().items:
            print("  %-14s Ready=%s" % (node.metadata.name, node_ready(node)))
    if os.path.exists(paths.inventory):
        print("inventory:   %s" % paths.inventory)
    return 0


def cmd_build_image(args):
    paths = Paths()
    print(ensure_image(paths, force=args.force))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nodeops_lab.lab", description="nodeops lab (simulation) control")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="build the image if needed, start the API server and nodes, join them")
    p.add_argument("--workers", type=int, default=None, help="number of worker nodes (default 2)")
    p.add_argument("--port", type=int, default=None, help="API server port (default %d)" % DEFAULT_PORT)
    p.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE,
                   help="API server --time-scale (default %s)" % DEFAULT_TIME_SCALE)
    p.add_argument("--timeout", type=int, default=180, help="seconds to wait for Ready nodes and seed pods")
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("down", help="remove the lab's containers and state (keeps the image and cache)")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("join", help="join one running node container to the lab")
    p.add_argument("--container", required=True)
    p.add_argument("--node-name", required=True)
    p.add_argument("--control-plane", action="store_true")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--era", choices=("modern", "dockershim"), default="modern",
                   help="modern: kubelet %s on containerd; dockershim: kubelet %s with "
                        "--container-runtime=docker --network-plugin=cni" % (MODERN_VERSION, DOCKERSHIM_VERSION))
    p.add_argument("--no-wait", action="store_true", help="do not wait for the Node to be Ready")
    p.set_defaults(func=cmd_join)
    p = sub.add_parser("status", help="print the lab's state")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("build-image", help="build the node image if its inputs changed")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_build_image)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PodmanError as exc:
        raise SystemExit(str(exc))


if __name__ == "__main__":
    sys.exit(main())

"""nodeops lab: a real kubeadm cluster in podman node containers.

    PYTHONPATH=tests/lab python -m nodeops_lab.lab up [--workers N] [--docker-workers N] [--port 16443]
    PYTHONPATH=tests/lab python -m nodeops_lab.lab down
    PYTHONPATH=tests/lab python -m nodeops_lab.lab join --container NAME --node-name NAME
    PYTHONPATH=tests/lab python -m nodeops_lab.lab status
    PYTHONPATH=tests/lab python -m nodeops_lab.lab build [--force]

Everything in the cluster is real: kube-apiserver, kube-controller-manager,
kube-scheduler, etcd and kube-proxy run as kubeadm made them (static pods and
a DaemonSet) under the real kubelet, on containerd, in node containers with
systemd as PID 1.  The binaries are built from the pinned k8s.io/kubernetes
module (tests/lab/k8s); the images are written locally (nodeops_lab.images)
and imported into each node's containerd, since no registry is reachable.
What is not real is listed in docs/lab.md.

``--docker-workers N`` makes the last N workers Docker-era nodes, as
clusters were before the containerd switch: Docker with cri-dockerd (built
from its module), the kubelet on unix:///run/cri-dockerd.sock, and Docker's
own containerd configuration (CRI plugin disabled).

State lives in ``$NODEOPS_LAB_DIR`` (default ``<repo>/.lab``): kubeconfig
(admin, server https://127.0.0.1:<port>), inventory.yml (kubespray groups),
lab.json, containers.conf and cache/ (debootstrap downloads, kept by ``down``).
"""

import argparse
import concurrent.futures
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import yaml

from nodeops_lab.images import (BUSYBOX_TAG, ETCD_TAG, IMAGE_REPOSITORY, NODE_CACHE_IMAGE, NODE_CACHE_TAG,
                                image_name)
from nodeops_lab import bytecode_cache
from nodeops_lab.podman import Podman, PodmanError, ulimit_args, write_containers_conf

HERE = os.path.dirname(os.path.abspath(__file__))
LAB_ROOT = os.path.dirname(HERE)                      # tests/lab
REPO_ROOT = os.path.dirname(os.path.dirname(LAB_ROOT))
NODE_DIR = os.path.join(LAB_ROOT, "node")
K8S_DIR = os.path.join(LAB_ROOT, "k8s")
SEED_FILE = os.path.join(LAB_ROOT, "seeds", "cluster.yaml")

IMAGE_REPO = "localhost/nodeops-lab-node"
IMAGE = IMAGE_REPO + ":latest"
DEFAULT_PORT = int(os.environ.get("NODEOPS_LAB_PORT") or 16443)
LABEL = "nodeops-lab"
# The connection plugin of the lab's inventory (tests/lab/collection, linked into .cache/collections by
# tests/ci/setup.sh): one `podman exec -i` per command, with pipelining, as SSH with pipelining on real nodes.
LAB_CONNECTION = "nodeops_lab.lab.nsenter"
# Container names are <prefix>cp1, <prefix>w1...; another prefix allows a second lab.
CONTAINER_PREFIX = os.environ.get("NODEOPS_LAB_CONTAINER_PREFIX") or "nodeops-lab-"
CRI_SOCKET = "unix:///run/containerd/containerd.sock"
DOCKER_CRI_SOCKET = "unix:///run/cri-dockerd.sock"
# What Docker's own containerd package ships: containerd for Docker only.
DOCKER_CONTAINERD_CONFIG = ('# containerd as Docker installs it: the CRI plugin is disabled, Docker\n'
                            '# talks to containerd directly (lab Docker-era worker).\n'
                            'disabled_plugins = ["cri"]\n')
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/16"
API_PORT = 6443
IMAGES_IN_NODE = "/opt/nodeops-lab/images"
# What a worker runs: kube-proxy, CoreDNS, NodeLocal DNSCache, the workloads and their sandboxes
# (the control plane's static pods and etcd run on the control-plane node only).
WORKER_IMAGES = ("pause", "busybox", "coredns", "kube-proxy", "k8s-dns-node-cache")
NODE_PYTHON_DIR = "/usr/lib/python3/dist-packages"
NODE_BYTECODE_CACHE = "/var/cache/nodeops-lab/bytecode"
CNI_CONFIG = "/etc/cni/net.d/10-nodeops-lab.conflist"
# PID 1 of a node container: mounts name=systemd in the container's own cgroup namespace, then runs systemd
NODE_INIT = "/usr/local/sbin/nodeops-lab-init"
# Every node runs systemd, a kubelet and containerd, each with inotify instances of their own: the
# kernel's default of 128 per user is spent by two or three labs ("Too many open files" from systemd).
HOST_SYSCTLS = {"fs.inotify.max_user_instances": 8192, "fs.inotify.max_user_watches": 524288}

# kubeadm preflight checks the node container cannot pass, each for a reason
# that belongs to the host, not to the cluster (docs/lab.md):
#   SystemVerification: the host is cgroup v1; kubeadm 1.34 warns, 1.35 and
#     later fail (and the kubelet needs failCgroupV1: false there).
IGNORE_PREFLIGHT = ["SystemVerification"]


def log(msg):
    print("[lab] " + msg, flush=True)


class LabError(SystemExit):
    pass


# --------------------------------------------------------------------------- paths

class Paths(object):
    def __init__(self, lab_dir=None):
        self.lab_dir = os.path.abspath(lab_dir or os.environ.get("NODEOPS_LAB_DIR")
                                       or os.path.join(REPO_ROOT, ".lab"))
        d = self.lab_dir
        self.containers_conf = os.path.join(d, "containers.conf")
        self.kubeconfig = os.path.join(d, "kubeconfig")
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


def docker_nodes(specs, docker_workers):
    """Node names of the last ``docker_workers`` workers."""
    workers = [name for _, name, control_plane in specs if not control_plane]
    return set(workers[len(workers) - docker_workers:]) if docker_workers else set()


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


# --------------------------------------------------------------------------- builds

@functools.lru_cache(maxsize=None)
def k8s_binaries():
    """Build what is missing of the pinned Kubernetes (tests/lab/k8s/build.sh, once per process); its directory."""
    out = subprocess.run([os.path.join(K8S_DIR, "build.sh")], check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        print(line, flush=True)
    last = out.strip().splitlines()[-1]
    # "build: binaries in <dir> (N built)"
    return last.split(" in ", 1)[1].rsplit(" (", 1)[0]


def kubernetes_version(k8s_dir):
    return os.path.basename(os.path.normpath(k8s_dir))[len("k8s-"):]


def kubectl_path(k8s_dir=None):
    return os.path.join(k8s_dir or k8s_binaries(), "kubectl")


def ensure_image(paths, k8s_dir, force=False):
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = write_containers_conf(paths.containers_conf)
    env["NODEOPS_LAB_DIR"] = paths.lab_dir
    cmd = [sys.executable, os.path.join(NODE_DIR, "build_image.py"), "--cache-dir", paths.cache,
           "--k8s-dir", k8s_dir]
    if force:
        cmd.append("--force")
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        if line.startswith("[build-image]"):
            print(line, flush=True)
    return out.strip().splitlines()[-1]


# --------------------------------------------------------------------------- containers

def ensure_host_limits():
    """Raise the host's inotify limits to what the lab needs (never lowers them)."""
    for key, wanted in HOST_SYSCTLS.items():
        path = "/proc/sys/" + key.replace(".", "/")
        with open(path) as fh:
            current = int(fh.read().strip())
        if current < wanted:
            with open(path, "w") as fh:
                fh.write("%d\n" % wanted)
            log("raised %s from %d to %d" % (key, current, wanted))


def container_running(podman, name):
    info = podman.inspect(name)
    return bool(info and info.get("State", {}).get("Running"))


def container_ip(podman, container):
    info = podman.inspect(container) or {}
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    for net in networks.values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    raise LabError("container %s has no IP address" % container)


def ensure_container(podman, paths, container, node_name, control_plane, port, image=IMAGE):
    info = podman.inspect(container)
    if info:
        labels = info.get("Config", {}).get("Labels") or {}
        if labels.get(LABEL + ".dir") != paths.lab_dir:
            raise LabError("container %s exists but does not belong to this lab (%s); remove it or use "
                           "its NODEOPS_LAB_DIR" % (container, labels.get(LABEL + ".dir")))
        if not info.get("State", {}).get("Running"):
            log("starting existing container %s" % container)
            podman.run("start", container)
        return False
    log("creating container %s (node %s)" % (container, node_name))
    args = ["run", "-d", "--name", container, "--hostname", node_name,
            "--label", LABEL + "=1", "--label", LABEL + ".dir=" + paths.lab_dir,
            "--label", LABEL + ".node=" + node_name,
            "--label", LABEL + ".role=" + ("control-plane" if control_plane else "worker"),
            "--privileged", "--systemd=always", "--runtime", "runc", "--cgroupns=private",
            "--tmpfs", "/run", "--tmpfs", "/tmp",
            # overlayfs snapshots cannot sit on the container's own overlay root
            "--mount", "type=volume,src=%s-containerd,dst=/var/lib/containerd" % container,
            "--mount", "type=volume,src=%s-docker,dst=/var/lib/docker" % container]
    if os.path.isdir("/lib/modules"):   # absent on hosts whose kernel has no modules
        args += ["-v", "/lib/modules:/lib/modules:ro"]
    if control_plane:
        args += ["-p", "127.0.0.1:%d:%d" % (port, API_PORT)]
    podman.run(*(args + ulimit_args() + [image, NODE_INIT]))
    return True


def prepare_node(podman, container, created, docker, control_plane=True):
    """A node container booted, its sysctls applied; a new one gets the lab's images (and Docker).

    A worker gets only the images a worker runs (WORKER_IMAGES): the control plane's are 60 % of the
    bytes every node would otherwise unpack.
    """
    wait_systemd(podman, container)
    podman.exec(container, "sysctl", "--system", "-q")
    if created:
        if os.environ.get(bytecode_cache.ENV):
            install_bytecode_cache(podman, container)
        images = None if control_plane else WORKER_IMAGES
        import_images(podman, container, images)
        if docker:
            make_docker_node(podman, container, images)


def install_bytecode_cache(podman, container):
    """The test stages' bytecode cache for Ansible's modules (nodeops_lab.bytecode_cache) in the node's Python.

    Only when NODEOPS_LAB_BYTECODE_CACHE is set (tests/ci/run-tests.sh); labs of the benchmarks run without it.
    """
    with open(bytecode_cache.__file__) as fh:
        podman.write_file(container, NODE_PYTHON_DIR + "/nodeops_lab_bytecode_cache.py", fh.read())
    podman.write_file(container, NODE_PYTHON_DIR + "/nodeops-lab-bytecode-cache.pth",
                      "import nodeops_lab_bytecode_cache; nodeops_lab_bytecode_cache.install(%r)\n"
                      % NODE_BYTECODE_CACHE)


def wait_systemd(podman, container, timeout=90):
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        proc = podman.exec(container, "systemctl", "is-system-running", check=False)
        state = (proc.stdout or "").strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(0.5)
    raise LabError("systemd in %s did not finish booting (state %r)" % (container, state))


def image_archives(images=None):
    """The shell words of the image archives in the node: all of them, or those named."""
    if images is None:
        return IMAGES_IN_NODE + "/*.tar"
    return " ".join("%s/%s.tar" % (IMAGES_IN_NODE, name) for name in images)


def import_images(podman, container, images=None):
    """Side-load the lab's images (or those named) into the node's containerd (namespace k8s.io), pinned against GC."""
    podman.exec(container, "sh", "-c",
                "for f in %s; do ctr -n k8s.io images import --label io.cri-containerd.pinned=pinned "
                "--all-platforms \"$f\" >/dev/null || exit 1; done" % image_archives(images), timeout=600)


def make_docker_node(podman, container, images=None):
    """Docker + cri-dockerd as the node's runtime, the lab's images loaded into Docker."""
    # runc-oom-clamp: see its docstring (a limit of the lab machine, docs/lab.md)
    podman.exec(container, "sh", "-c",
                "dpkg-divert --local --quiet --rename --divert /usr/sbin/runc.lab-real --add /usr/sbin/runc && "
                "install -m 0755 /usr/lib/nodeops-lab/runc-oom-clamp /usr/sbin/runc")
    podman.write_file(container, "/etc/containerd/config.toml", DOCKER_CONTAINERD_CONFIG)
    podman.exec(container, "systemctl", "restart", "containerd.service")
    podman.exec(container, "systemctl", "enable", "--now", "docker.service", "cri-docker.socket",
                "cri-docker.service", timeout=180)
    podman.exec(container, "sh", "-c", "for f in %s; do docker load -q -i \"$f\" >/dev/null || exit 1; done"
                % image_archives(images), timeout=600)


def kubelet_active(podman, container):
    return podman.exec(container, "test", "-f", "/etc/kubernetes/kubelet.conf", check=False).returncode == 0


# --------------------------------------------------------------------------- kubeadm

def kubeadm_init_config(node_name, node_ip, version, cert_validity=None):
    docs = [
        {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "InitConfiguration",
         "localAPIEndpoint": {"advertiseAddress": node_ip, "bindPort": API_PORT},
         "nodeRegistration": {"name": node_name, "criSocket": CRI_SOCKET,
                              "ignorePreflightErrors": IGNORE_PREFLIGHT}},
        {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
         "clusterName": "nodeops-lab",
         "kubernetesVersion": version,
         "imageRepository": IMAGE_REPOSITORY,
         "controlPlaneEndpoint": "%s:%d" % (node_ip, API_PORT),
         "apiServer": {"certSANs": ["127.0.0.1", "localhost", node_ip, node_name]},
         # One control-plane node: nothing to elect. Without it the two renew their leases every 2 s,
         # which a lab that waits most of the time pays for in kube-apiserver and etcd.
         "controllerManager": {"extraArgs": [{"name": "leader-elect", "value": "false"}]},
         "scheduler": {"extraArgs": [{"name": "leader-elect", "value": "false"}]},
         "etcd": {"local": {"imageRepository": IMAGE_REPOSITORY, "imageTag": ETCD_TAG}},
         "networking": {"podSubnet": POD_SUBNET, "serviceSubnet": SERVICE_SUBNET,
                        "dnsDomain": "cluster.local"}},
        # The lab's starting state: cgroupfs, which the cgroup driver migration
        # moves to systemd.  Image GC off: the side-loaded images cannot be pulled again.
        {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
         "cgroupDriver": "cgroupfs",
         "failSwapOn": False,
         "imageGCHighThresholdPercent": 100,
         "evictionHard": {"nodefs.available": "0%", "nodefs.inodesFree": "0%", "imagefs.available": "0%"}},
        {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
         "mode": "iptables",
         # the node container cannot set the host's nf_conntrack_max
         "conntrack": {"maxPerCore": 0}},
    ]
    if cert_validity:
        # certificates that fall due soon, for the certificate renewal tests
        docs[1]["certificateValidityPeriod"] = cert_validity
    return yaml.safe_dump_all(docs, default_flow_style=False, sort_keys=False)


def kubeadm_join_config(node_name, endpoint, token, ca_hash, cri_socket=CRI_SOCKET):
    return yaml.safe_dump({
        "apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {"apiServerEndpoint": endpoint, "token": token,
                                         "caCertHashes": [ca_hash]}},
        "nodeRegistration": {"name": node_name, "criSocket": cri_socket,
                             "ignorePreflightErrors": IGNORE_PREFLIGHT},
    }, default_flow_style=False, sort_keys=False)


def kubeadm(podman, container, *args, timeout=600):
    proc = podman.exec(container, "kubeadm", *args, check=False, timeout=timeout)
    if proc.returncode != 0:
        raise LabError("kubeadm %s on %s failed (%d):\n%s\n%s" % (args[0], container, proc.returncode,
                                                                  proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.stdout


def kubeadm_init(podman, container, node_name, version, cert_validity=None):
    node_ip = container_ip(podman, container)
    podman.write_file(container, "/etc/kubernetes/nodeops-lab-kubeadm.yaml",
                      kubeadm_init_config(node_name, node_ip, version, cert_validity), "0600")
    started = time.time()
    kubeadm(podman, container, "init", "--config", "/etc/kubernetes/nodeops-lab-kubeadm.yaml")
    log("kubeadm init on %s in %.0fs" % (container, time.time() - started))


def join_material(podman, cp_container):
    """(endpoint, token, ca hash) from a fresh bootstrap token on the control plane."""
    line = kubeadm(podman, cp_container, "token", "create", "--ttl", "1h", "--print-join-command").strip()
    words = line.split()
    endpoint = words[words.index("join") + 1]
    token = words[words.index("--token") + 1]
    ca_hash = words[words.index("--discovery-token-ca-cert-hash") + 1]
    return endpoint, token, ca_hash


def kubeadm_join(podman, container, node_name, material, cri_socket=CRI_SOCKET):
    endpoint, token, ca_hash = material
    podman.write_file(container, "/etc/kubernetes/nodeops-lab-join.yaml",
                      kubeadm_join_config(node_name, endpoint, token, ca_hash, cri_socket), "0600")
    started = time.time()
    kubeadm(podman, container, "join", "--config", "/etc/kubernetes/nodeops-lab-join.yaml")
    log("kubeadm join of %s in %.0fs" % (node_name, time.time() - started))


# --------------------------------------------------------------------------- networking

def cni_config(pod_cidr):
    return json.dumps({
        "cniVersion": "1.0.0",
        "name": "nodeops-lab",
        "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": pod_cidr}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }, indent=2) + "\n"


def pod_cidrs(kubectl, kubeconfig, names, timeout=120):
    """{node: podCIDR} once the controller manager has given each node one."""
    deadline = time.time() + timeout
    while True:
        out = kubectl_json(kubectl, kubeconfig, "get", "nodes")
        cidrs = {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in out["items"]}
        if all(cidrs.get(n) for n in names):
            return {n: cidrs[n] for n in names}
        if time.time() > deadline:
            raise LabError("nodes without a podCIDR after %ds: %s" % (
                timeout, ", ".join(n for n in names if not cidrs.get(n))))
        time.sleep(1)


def configure_pod_network(podman, specs, cidrs):
    """A bridge CNI network per node on its podCIDR, and routes to the other nodes' pods."""
    ips = {name: container_ip(podman, container) for container, name, _ in specs}
    for container, name, _ in specs:
        podman.write_file(container, CNI_CONFIG, cni_config(cidrs[name]))
        for _other_container, other, _ in specs:
            if other != name:
                podman.exec(container, "ip", "route", "replace", cidrs[other], "via", ips[other])


# --------------------------------------------------------------------------- kubectl

def kubectl_run(kubectl, kubeconfig, *args, check=True, input=None, timeout=120):
    proc = subprocess.run([kubectl, "--kubeconfig", kubeconfig] + list(args), input=input,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError("kubectl %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


def kubectl_json(kubectl, kubeconfig, *args):
    return json.loads(kubectl_run(kubectl, kubeconfig, *(list(args) + ["-o", "json"])).stdout)


def node_ready(node):
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status")
    return "Unknown"


def wait_nodes_ready(kubectl, kubeconfig, names, timeout=240):
    """Wait until each node is Ready and its kubelet has renewed its Lease in kube-node-lease.

    A kubelet that has just joined reports Ready a moment before it creates its Lease; a lab handed over
    in that moment looks like a node whose kubelet stopped renewing (the audit warns about it)."""
    deadline = time.time() + timeout
    while True:
        states = {n["metadata"]["name"]: node_ready(n)
                  for n in kubectl_json(kubectl, kubeconfig, "get", "nodes")["items"]}
        renewed = {(lease.get("metadata") or {}).get("name") for lease in kubectl_json(
            kubectl, kubeconfig, "get", "leases", "-n", "kube-node-lease")["items"]
            if (lease.get("spec") or {}).get("renewTime")}
        for name in names:
            if states.get(name) == "True" and name not in renewed:
                states[name] = "True, no Lease renewed yet"
        pending = [n for n in names if states.get(n) != "True"]
        if not pending:
            return states
        if time.time() > deadline:
            raise LabError("nodes not Ready after %ds: %s" % (timeout, ", ".join(
                "%s=%s" % (n, states.get(n, "absent")) for n in sorted(pending))))
        time.sleep(2)


def wait_api(kubectl, kubeconfig, timeout=120):
    deadline = time.time() + timeout
    while True:
        proc = kubectl_run(kubectl, kubeconfig, "get", "--raw", "/readyz", check=False, timeout=15)
        if proc.returncode == 0:
            return
        if time.time() > deadline:
            raise LabError("the API server at %s is not ready after %ds: %s" % (kubeconfig, timeout,
                                                                                  proc.stderr.strip()))
        time.sleep(2)


def seed_namespaces(seed=SEED_FILE):
    with open(seed) as fh:
        return sorted({d["metadata"]["name"] for d in yaml.safe_load_all(fh) if d and d.get("kind") == "Namespace"})


def wait_seed_running(kubectl, kubeconfig, timeout=240):
    deadline = time.time() + timeout
    namespaces = seed_namespaces()
    while True:
        phases = {}
        for ns in namespaces:
            for pod in kubectl_json(kubectl, kubeconfig, "-n", ns, "get", "pods")["items"]:
                ready = all(c.get("ready") for c in pod["status"].get("containerStatuses") or [{}])
                phases["%s/%s" % (ns, pod["metadata"]["name"])] = (
                    "Running" if pod["status"].get("phase") == "Running" and ready else pod["status"].get("phase"))
        waiting = {k: v for k, v in phases.items() if v != "Running"}
        if phases and not waiting:
            return phases
        if time.time() > deadline:
            raise LabError("seed workloads not Running after %ds: %s"
                           % (timeout, ", ".join("%s=%s" % kv for kv in sorted(waiting.items())) or "no pods"))
        time.sleep(2)


def write_admin_kubeconfig(podman, paths, cp_container, port):
    """/etc/kubernetes/admin.conf of the control plane, pointed at the published port."""
    text = podman.exec(cp_container, "cat", "/etc/kubernetes/admin.conf").stdout
    cfg = yaml.safe_load(text)
    for cluster in cfg["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:%d" % port
    os.makedirs(paths.lab_dir, exist_ok=True)
    fd = os.open(paths.kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(cfg, fh, default_flow_style=False, sort_keys=False)
    return paths.kubeconfig


# --------------------------------------------------------------------------- inventory

def inventory_vars(paths):
    """The k8s_cluster vars: the lab's kubeconfig and the images roles take from the lab."""
    return {
        "nodeops_kubeconfig": paths.kubeconfig,
        # NodeLocal DNSCache: the lab's stand-in image (k8s.io/dns cannot be built here, docs/lab.md)
        # and the lab's busybox for the role's probe pods; the nodes cannot pull anything.
        "nodelocaldns_image_registry": IMAGE_REPOSITORY,
        "nodelocaldns_image_name": NODE_CACHE_IMAGE,
        "nodelocaldns_image_tag": NODE_CACHE_TAG,
        "nodelocaldns_probe_image": image_name("busybox", BUSYBOX_TAG),
    }


def write_inventory(paths, specs):
    """The lab as a kubespray inventory: k8s_cluster with kube_control_plane and kube_node."""
    cp_hosts, worker_hosts = {}, {}
    for container, node_name, control_plane in specs:
        host = {
            # the lab's connection (tests/lab/collection): one `podman exec -i` per command, pipelined
            "ansible_connection": LAB_CONNECTION,
            "ansible_host": container,
            "ansible_python_interpreter": "/usr/bin/python3",
            "kube_node_name": node_name,
        }
        (cp_hosts if control_plane else worker_hosts)[node_name] = host
    inventory = {"all": {"children": {"k8s_cluster": {
        "vars": inventory_vars(paths),
        "children": {
            "kube_control_plane": {"hosts": cp_hosts},
            "kube_node": {"hosts": worker_hosts},
        }}}}}
    header = ("# nodeops lab inventory, written by `python -m nodeops_lab.lab up`, with kubespray's groups.\n"
              "# Hosts are podman containers (%s: one pipelined `nsenter` into the container per command);\n"
              "# nodeops_kubeconfig is the controller-side admin kubeconfig of the lab's kube-apiserver;\n"
              "# nodelocaldns_image_* name the lab's NodeLocal DNSCache stand-in (a simulation, docs/lab.md).\n"
              % LAB_CONNECTION)
    with open(paths.inventory, "w") as fh:
        fh.write(header + yaml.safe_dump(inventory, default_flow_style=False, sort_keys=False))
    return paths.inventory


# --------------------------------------------------------------------------- commands

def port_in_use(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        return True
    finally:
        s.close()
    return False


def bring_up(paths, workers, port, timeout=300, docker_workers=0, cert_validity=None, seed=True):
    started = time.time()
    os.makedirs(paths.lab_dir, exist_ok=True)
    podman = podman_for(paths)
    k8s_dir = k8s_binaries()
    version = kubernetes_version(k8s_dir)
    kubectl = kubectl_path(k8s_dir)
    # The hashed tag of this checkout's inputs, not :latest, which a lab of another checkout may have moved.
    image = ensure_image(paths, k8s_dir)
    image = image if image.startswith(IMAGE_REPO + ":") else IMAGE
    ensure_host_limits()
    state = read_state(paths)
    if state.get("port") and state["port"] != port and podman.inspect(CONTAINER_PREFIX + "cp1"):
        raise LabError("the lab's API server is already published on port %s; `lab down` first" % state["port"])
    specs = node_specs(workers)
    cp_container, cp_name = specs[0][0], specs[0][1]
    if not podman.inspect(cp_container) and port_in_use(port):
        raise LabError("port %d is in use by another process; pick another with --port or NODEOPS_LAB_PORT" % port)
    if docker_workers > workers:
        raise LabError("--docker-workers %d is more than the %d workers" % (docker_workers, workers))
    docker = docker_nodes(specs, docker_workers)
    state.update({"port": port, "workers": workers, "docker_workers": docker_workers, "kubernetes_version": version})
    write_state(paths, state)

    created = {}
    for container, node_name, control_plane in specs:
        created[container] = ensure_container(podman, paths, container, node_name, control_plane, port, image)
    # The nodes boot and load their images at the same time (mostly waiting on systemd, ctr and dockerd);
    # the control plane is initialised as soon as its own node is ready, the workers join together after.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(specs)) as pool:
        prepared = dict((container, pool.submit(prepare_node, podman, container, created[container],
                                                node_name in docker, control_plane))
                        for container, node_name, control_plane in specs)
        prepared[cp_container].result()
        if not kubelet_active(podman, cp_container):
            kubeadm_init(podman, cp_container, cp_name, version, cert_validity)
        write_admin_kubeconfig(podman, paths, cp_container, port)
        wait_api(kubectl, paths.kubeconfig)
        for future in prepared.values():
            future.result()
        joining = [(container, node_name) for container, node_name, _ in specs[1:]
                   if not kubelet_active(podman, container)]
        material = join_material(podman, cp_container) if joining else None
        joins = [pool.submit(kubeadm_join, podman, container, node_name, material,
                             DOCKER_CRI_SOCKET if node_name in docker else CRI_SOCKET)
                 for container, node_name in joining]
        for future in joins:
            future.result()
    names = [n for _, n, _ in specs]
    configure_pod_network(podman, specs, pod_cidrs(kubectl, paths.kubeconfig, names))
    states = wait_nodes_ready(kubectl, paths.kubeconfig, names, timeout=timeout)
    phases = None
    if seed:
        kubectl_run(kubectl, paths.kubeconfig, "apply", "--server-side", "--field-manager", "nodeops-lab",
                    "-f", SEED_FILE)
        phases = wait_seed_running(kubectl, paths.kubeconfig, timeout=timeout)
    write_inventory(paths, specs)
    log("lab up in %.1fs (Kubernetes %s%s)" % (time.time() - started, version,
                                            ", Docker + cri-dockerd on " + ", ".join(sorted(docker)) if docker else ""))
    print_summary(paths, port, states, phases)
    return specs


def cmd_up(args):
    paths = Paths()
    state = read_state(paths)
    port = args.port or state.get("port") or DEFAULT_PORT
    workers = args.workers if args.workers is not None else state.get("workers", 2)
    docker_workers = args.docker_workers if args.docker_workers is not None else state.get("docker_workers", 0)
    bring_up(paths, workers, port, timeout=args.timeout, docker_workers=docker_workers,
             cert_validity=args.cert_validity)
    return 0


def print_summary(paths, port, states, phases=None):
    print("API server:  https://127.0.0.1:%d (kube-apiserver, static pod on the control-plane node)" % port)
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
        for suffix in ("-containerd", "-docker"):
            podman.run("volume", "rm", "-f", name + suffix, check=False)
    if os.path.isdir(paths.lab_dir):
        for entry in os.listdir(paths.lab_dir):
            path = os.path.join(paths.lab_dir, entry)
            if entry == "cache" or path == paths.cache:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    log("lab is down (kept %s)" % paths.cache)
    return 0


def cmd_join(args):
    """Join one more running node container (made by the caller) as a worker."""
    paths = Paths()
    podman = podman_for(paths)
    if not container_running(podman, args.container):
        raise LabError("container %s is not running" % args.container)
    wait_systemd(podman, args.container)
    if os.environ.get(bytecode_cache.ENV):
        install_bytecode_cache(podman, args.container)
    import_images(podman, args.container, WORKER_IMAGES)
    kubeadm_join(podman, args.container, args.node_name, join_material(podman, CONTAINER_PREFIX + "cp1"))
    return 0


def cmd_status(args):
    paths = Paths()
    podman = podman_for(paths)
    state = read_state(paths)
    print("lab dir:     %s" % paths.lab_dir)
    print("image:       %s (%s)" % (IMAGE, "present" if podman.image_exists(IMAGE) else "absent"))
    print("kubernetes:  %s, API https://127.0.0.1:%s" % (state.get("kubernetes_version", "?"),
                                                         state.get("port", DEFAULT_PORT)))
    print("containers:")
    containers = podman.containers(LABEL + "=1", LABEL + ".dir=" + paths.lab_dir)
    for c in sorted(containers, key=lambda c: c.get("Names", [""])[0]):
        labels = c.get("Labels") or {}
        print("  %-22s %-10s node=%s" % (c.get("Names", ["?"])[0], c.get("State"), labels.get(LABEL + ".node")))
    if not containers:
        print("  (none)")
    if containers and os.path.exists(paths.kubeconfig):
        kubectl = kubectl_path()
        proc = kubectl_run(kubectl, paths.kubeconfig, "get", "nodes", "-o", "wide", check=False)
        print(proc.stdout or proc.stderr)
    if os.path.exists(paths.inventory):
        print("inventory:   %s" % paths.inventory)
    return 0


def cmd_build(args):
    paths = Paths()
    print(ensure_image(paths, k8s_binaries(), force=args.force))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nodeops_lab.lab", description="nodeops lab (real kubeadm cluster) control")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="build what is missing, start the node containers, kubeadm init and join")
    p.add_argument("--workers", type=int, default=None, help="number of worker nodes (default 2)")
    p.add_argument("--docker-workers", type=int, default=None,
                   help="make the last N workers Docker-era nodes (Docker + cri-dockerd; default 0)")
    p.add_argument("--port", type=int, default=None, help="API server port on 127.0.0.1 (default %d)" % DEFAULT_PORT)
    p.add_argument("--cert-validity", default=None, metavar="DURATION",
                   help="kubeadm certificateValidityPeriod at init (e.g. 240h: certificates due within days)")
    p.add_argument("--timeout", type=int, default=300, help="seconds to wait for Ready nodes and seed pods")
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("down", help="remove the lab's containers, volumes and state (keeps the image and cache)")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("join", help="kubeadm join one more running node container as a worker")
    p.add_argument("--container", required=True)
    p.add_argument("--node-name", required=True)
    p.set_defaults(func=cmd_join)
    p = sub.add_parser("status", help="print the lab's state")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("build", help="build the Kubernetes binaries and the node image if their inputs changed")
    p.add_argument("--force", action="store_true", help="rebuild the node image")
    p.set_defaults(func=cmd_build)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (PodmanError, subprocess.CalledProcessError) as exc:
        raise LabError(str(exc))


if __name__ == "__main__":
    sys.exit(main())

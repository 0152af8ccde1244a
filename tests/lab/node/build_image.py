#!/usr/bin/env python3
"""Build the nodeops lab node image (a systemd Debian bookworm rootfs).

    python3 tests/lab/node/build_image.py --k8s-dir DIR [--force] [--print-tag] [--cache-dir DIR]

Steps: debootstrap --variant=minbase bookworm (with packages.txt), copy the
lab files (the files/ overlay), install the real kubelet, kubeadm and kubectl
from --k8s-dir (built by tests/lab/k8s/build.sh), write the container images
the nodes run (control plane, kube-proxy, etcd, pause, busybox workload, the
NodeLocal DNSCache stand-in) as OCI archives under /opt/nodeops-lab/images
(nodeops_lab.images), run
configure-rootfs.py inside the chroot, trim, then `podman import` the tree as
localhost/nodeops-lab-node:<inputs hash> and tag it :latest as well.

The inputs hash is a sha256 over every file under tests/lab/node and
nodeops_lab/images.py (path and content), the Kubernetes version of
--k8s-dir and the versions build.sh wrote for the image's binaries that are
not at that version (etcd, CoreDNS, cri-dockerd, node-cache-sim, whose
version is a hash of its sources), so the image is rebuilt only when a build
input changes.  The
build is skipped when the hashed tag already exists.

The Debian mirror is read from the host's apt sources (/etc/apt/sources.list,
/etc/apt/sources.list.d/*.list and *.sources) unless the environment variable
NODEOPS_LAB_DEBIAN_MIRROR is set.  Downloaded .debs are kept in the cache
directory (default: $NODEOPS_LAB_DIR/cache/debootstrap or <repo>/.lab/cache/debootstrap).

podman commands run with the caller's environment; set CONTAINERS_CONF to the
lab's containers.conf (the lab CLI does so).

Standard library only; Python 3.9+.
"""
import argparse
import fcntl
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

NODE_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(NODE_DIR, "..", "..", ".."))
IMAGE_REPO = "localhost/nodeops-lab-node"
SUITE = "bookworm"
MIRROR_ENV = "NODEOPS_LAB_DEBIAN_MIRROR"
# files/ is copied over the rootfs; these must be there
REQUIRED_FILES = ("etc/systemd/system/kubelet.service",
                  "etc/systemd/system/kubelet.service.d/10-kubeadm.conf")
LAB_ROOT = os.path.dirname(NODE_DIR)
sys.path.insert(0, LAB_ROOT)
from nodeops_lab import images  # noqa: E402  (tests/lab on the path above)

IMAGES_DIR = "opt/nodeops-lab/images"
NODE_BINARIES = ("kubelet", "kubeadm", "kubectl", "cri-dockerd")
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
BUSYBOX = "/bin/busybox"   # Debian's busybox-static on the build machine
# kube-proxy programs the node's netfilter through the iptables commands of
# its own image: the node's iptables (nft and legacy) and conntrack.
IPTABLES_COMMANDS = ("iptables", "iptables-save", "iptables-restore",
                     "ip6tables", "ip6tables-save", "ip6tables-restore")
# Binaries of the image whose version build.sh writes beside them (<name>.version)
# because it is not the Kubernetes version; part of the inputs hash.
VERSIONED_BINARIES = ("etcd", "coredns", "cri-dockerd", "node-cache-sim")


def log(msg):
    print("[build-image] " + msg, flush=True)


def input_files():
    files = [os.path.join(LAB_ROOT, "nodeops_lab", "images.py")]
    for dirpath, dirnames, filenames in os.walk(NODE_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            files.append(os.path.join(dirpath, name))
    return sorted(files, key=lambda p: os.path.relpath(p, NODE_DIR))


def k8s_version(k8s_dir):
    """The version of the binaries in ``k8s_dir`` (its name is k8s-<version>)."""
    name = os.path.basename(os.path.normpath(k8s_dir))
    if not name.startswith("k8s-v"):
        raise SystemExit("build-image: %s is not a k8s-<version> directory of tests/lab/k8s/build.sh" % k8s_dir)
    return name[len("k8s-"):]


def binary_versions(k8s_dir):
    """{binary: version} of VERSIONED_BINARIES from the <binary>.version files of build.sh."""
    versions = {}
    for name in VERSIONED_BINARIES:
        try:
            with open(os.path.join(k8s_dir, name + ".version")) as fh:
                versions[name] = fh.read().strip()
        except FileNotFoundError:
            pass
    return versions


def inputs_hash(k8s_dir):
    digest = hashlib.sha256()
    digest.update(k8s_version(k8s_dir).encode() + b"\0")
    for name, version in sorted(binary_versions(k8s_dir).items()):
        digest.update(("%s=%s" % (name, version)).encode() + b"\0")
    for path in input_files():
        rel = os.path.relpath(path, NODE_DIR)
        digest.update(rel.encode() + b"\0")
        st = os.stat(path)
        digest.update(b"x" if st.st_mode & 0o111 else b"-")
        with open(path, "rb") as fh:
            digest.update(fh.read())
        digest.update(b"\0")
    return digest.hexdigest()


def image_tag(k8s_dir):
    return "%s:%s" % (IMAGE_REPO, inputs_hash(k8s_dir)[:16])


def read_packages():
    pkgs = []
    with open(os.path.join(NODE_DIR, "packages.txt")) as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if line:
                pkgs.append(line)
    return pkgs


def _one_line_entries(text):
    """(uri, suites) from one-line-style sources.list text."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line[4:])
        parts = line.split()
        if len(parts) >= 2:
            yield parts[0], [parts[1]]


def _deb822_entries(text):
    """(uri, suites) from deb822-style .sources text."""
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


def host_debian_mirror(root="/"):
    """The host's Debian mirror URL for the main archive (not security)."""
    sources = []
    main_list = os.path.join(root, "etc/apt/sources.list")
    if os.path.exists(main_list):
        sources.append(main_list)
    sources += sorted(glob.glob(os.path.join(root, "etc/apt/sources.list.d/*.list")))
    sources += sorted(glob.glob(os.path.join(root, "etc/apt/sources.list.d/*.sources")))
    candidates = []
    for path in sources:
        with open(path) as fh:
            text = fh.read()
        entries = _deb822_entries(text) if path.endswith(".sources") else _one_line_entries(text)
        for uri, suites in entries:
            if SUITE in suites or any(s.startswith(SUITE + "-") and s != SUITE + "-security" for s in suites):
                if SUITE in suites:
                    candidates.insert(0, uri)
                else:
                    candidates.append(uri)
    for uri in candidates:
        if "security" not in uri:
            return uri.rstrip("/")
    return None


def debian_mirror():
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return mirror.rstrip("/")
    mirror = host_debian_mirror()
    if not mirror:
        raise SystemExit("build-image: no Debian %s mirror found in the host's apt sources; "
                         "set %s" % (SUITE, MIRROR_ENV))
    return mirror


def podman(*args, check=True, capture=False, **kw):
    return subprocess.run(["podman"] + list(args), check=check,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None,
                          text=True, **kw)


def image_exists(tag):
    return podman("image", "exists", tag, check=False, capture=True).returncode == 0


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def trim_rootfs(root):
    for sub in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
                "usr/share/lintian", "usr/share/linda", "var/cache/man"):
        path = os.path.join(root, sub)
        if os.path.isdir(path):
            shutil.rmtree(path)
            os.makedirs(path)
    for pattern in ("var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
                    "var/lib/apt/lists/*_*", "var/log/*.log", "var/log/apt/*",
                    "var/cache/debconf/*-old", "dev/*", "tmp/*", "var/tmp/*", "root/.bash_history"):
        for path in glob.glob(os.path.join(root, pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    # systemd creates a fresh machine id on first boot.
    with open(os.path.join(root, "etc/machine-id"), "w"):
        pass
    dbus_id = os.path.join(root, "var/lib/dbus/machine-id")
    if os.path.lexists(dbus_id):
        os.unlink(dbus_id)


def install_lab_files(root):
    overlay = os.path.join(NODE_DIR, "files")
    for required in REQUIRED_FILES:
        if not os.path.isfile(os.path.join(overlay, required)):
            raise SystemExit("build-image: missing build input %s" % os.path.join(overlay, required))
    for dirpath, _dirnames, filenames in os.walk(overlay):
        rel = os.path.relpath(dirpath, overlay)
        dest_dir = os.path.normpath(os.path.join(root, rel))
        os.makedirs(dest_dir, exist_ok=True)
        for name in filenames:
            shutil.copyfile(os.path.join(dirpath, name), os.path.join(dest_dir, name))
            executable = os.stat(os.path.join(dirpath, name)).st_mode & 0o111
            os.chmod(os.path.join(dest_dir, name), 0o755 if executable else 0o644)
    for d in ("etc/kubernetes/manifests", "etc/kubernetes/pki", "var/lib/kubelet/pki", "etc/cni/net.d", "opt/cni"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "var/lib/kubelet/pki"), 0o700)
    # Debian's containernetworking-plugins live in /usr/lib/cni; kubelet and
    # containerd look in /opt/cni/bin.
    os.symlink("/usr/lib/cni", os.path.join(root, "opt/cni/bin"))


def install_kubernetes(root, k8s_dir):
    """The real kubelet, kubeadm, kubectl (and cri-dockerd) in /usr/bin, as their packages put them."""
    for name in NODE_BINARIES:
        dest = os.path.join(root, "usr/bin", name)
        shutil.copyfile(os.path.join(k8s_dir, name), dest)
        os.chmod(dest, 0o755)


def library_closure(root, programs):
    """Paths (inside ``root``) of ``programs`` and every shared library they load, links included.

    ``programs`` may be executables or shared objects (such as the xtables
    extensions iptables loads at run time, which an executable's ldd does not list).
    """
    programs = list(programs)
    if not programs:
        return set()
    # one ldd for all: with several files it heads each file's list with "<file>:"
    out = subprocess.run(["chroot", root, "ldd"] + programs, check=True, capture_output=True, text=True).stdout
    libs = programs + [part for line in out.splitlines() for part in line.split()
                       if part.startswith("/") and not part.endswith(":")]
    wanted = set()
    for lib in libs:
        path = lib
        while True:
            wanted.add(path)
            full = os.path.join(root, path.lstrip("/"))
            if not os.path.islink(full):
                break
            path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(full)))
    return wanted


def iptables_image_paths(root, programs=()):
    """(paths in ``root``, symlinks) that give an image the node's iptables (nft and legacy).

    The paths are xtables-nft-multi, xtables-legacy-multi, their extensions and
    every library any of them loads, plus ``programs`` with theirs; the symlinks name
    IPTABLES_COMMANDS (iptables is the nft backend, as on the node) and their
    -legacy twins.
    """
    xtables = "/usr/lib/x86_64-linux-gnu/xtables"
    extensions = sorted(os.path.join(xtables, name) for name in os.listdir(os.path.join(root, xtables.lstrip("/"))))
    # the extensions' own libraries too: libxt_statistic.so (kube-proxy's load balancing over
    # two or more endpoints) needs libm, which neither xtables-*-multi loads
    paths = library_closure(root, ["/usr/sbin/xtables-nft-multi", "/usr/sbin/xtables-legacy-multi"]
                            + list(programs) + [e for e in extensions if e.endswith(".so")])
    paths.update(extensions)
    links = []
    for command in IPTABLES_COMMANDS:
        links.append(("/usr/sbin/" + command, "xtables-nft-multi"))
        legacy = command.replace("tables", "tables-legacy", 1)
        links.append(("/usr/sbin/" + legacy, "xtables-legacy-multi"))
    return sorted(paths), links


def write_images(root, k8s_dir):
    """The OCI archives every node imports into containerd (namespace k8s.io)."""
    version = k8s_version(k8s_dir)
    out = os.path.join(root, IMAGES_DIR)
    os.makedirs(out, exist_ok=True)
    bin_ = lambda name: os.path.join(k8s_dir, name)  # noqa: E731
    for component in CONTROL_PLANE:
        images.binary_image(os.path.join(out, component + ".tar"), images.image_name(component, version),
                            bin_(component), component)
    images.binary_image(os.path.join(out, "etcd.tar"), images.image_name("etcd", images.ETCD_TAG),
                        bin_("etcd"), "etcd")
    # kubeadm's CoreDNS Deployment passes only -conf: the image's entrypoint is the binary
    images.binary_image(os.path.join(out, "coredns.tar"), images.image_name("coredns", images.COREDNS_TAG),
                        bin_("coredns"), "coredns", at="/", entrypoint=["/coredns"])
    images.pause_image(os.path.join(out, "pause.tar"), images.image_name("pause", images.PAUSE_TAG), bin_("pause"))
    if not os.path.exists(BUSYBOX):
        raise SystemExit("build-image: %s is missing: install the Debian package busybox-static" % BUSYBOX)
    images.busybox_image(os.path.join(out, "busybox.tar"), images.image_name("busybox", images.BUSYBOX_TAG),
                         BUSYBOX)
    layer_paths, links = iptables_image_paths(root, ["/usr/sbin/conntrack"])
    images.rootfs_image(os.path.join(out, "kube-proxy.tar"), images.image_name("kube-proxy", version),
                        root, layer_paths, extra_files=[("/usr/local/bin/kube-proxy", bin_("kube-proxy"))],
                        symlinks=links)
    # NodeLocal DNSCache, simulated: the lab's node-cache-sim as /node-cache (the real image's
    # entrypoint) around the real CoreDNS, with the node's iptables; it writes /etc/Corefile.
    layer_paths, links = iptables_image_paths(root)
    images.rootfs_image(os.path.join(out, "k8s-dns-node-cache.tar"),
                        images.image_name(images.NODE_CACHE_IMAGE, images.NODE_CACHE_TAG),
                        root, layer_paths + ["etc"],
                        extra_files=[("/node-cache", bin_("node-cache-sim")),
                                     ("/usr/local/bin/coredns", bin_("coredns"))],
                        symlinks=links, entrypoint=["/node-cache"])
    log("wrote %d image archives in /%s" % (len(os.listdir(out)), IMAGES_DIR))


def build(tag, cache_dir, k8s_dir):
    started = time.time()
    mirror = debian_mirror()
    packages = read_packages()
    os.makedirs(cache_dir, exist_ok=True)
    debs = os.path.join(cache_dir, "debootstrap")
    os.makedirs(debs, exist_ok=True)
    work = tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir)
    root = os.path.join(work, "root")
    try:
        log("debootstrap %s from %s (%d packages)" % (SUITE, mirror, len(packages)))
        t0 = time.time()
        run(["debootstrap", "--variant=minbase", "--components=main",
             "--include=" + ",".join(packages), "--cache-dir=" + debs,
             SUITE, root, mirror],
            stdout=subprocess.DEVNULL if os.environ.get("NODEOPS_LAB_QUIET") else None)
        log("debootstrap done in %.0fs" % (time.time() - t0))

        install_lab_files(root)
        install_kubernetes(root, k8s_dir)
        write_images(root, k8s_dir)
        shutil.copyfile(os.path.join(NODE_DIR, "configure-rootfs.py"),
                        os.path.join(root, "tmp/configure-rootfs.py"))
        run(["chroot", root, "/usr/bin/python3", "/tmp/configure-rootfs.py"])
        trim_rootfs(root)

        log("podman import -> %s" % tag)
        t0 = time.time()
        tar = subprocess.Popen(["tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", "-", "."],
                               stdout=subprocess.PIPE)
        try:
            podman("import",
                   "--change", "CMD [\"/usr/local/sbin/nodeops-lab-init\"]",
                   "--change", "STOPSIGNAL=SIGRTMIN+3",
                   "--change", "ENV=container=podman",
                   "--change", "LABEL=nodeops-lab.image=node",
                   "--change", "LABEL=nodeops-lab.inputs-hash=" + tag.rsplit(":", 1)[1],
                   "--message", "nodeops lab node image (kubelet %s, containerd, docker.io)" % k8s_version(k8s_dir),
                   "-", tag, stdin=tar.stdout, capture=True)
        finally:
            tar.stdout.close()
            if tar.wait() != 0:
                raise SystemExit("build-image: tar of the rootfs failed")
        log("import done in %.0fs" % (time.time() - t0))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log("built %s in %.0fs" % (tag, time.time() - started))


def default_cache_dir():
    lab_dir = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(REPO_ROOT, ".lab")
    return os.path.join(lab_dir, "cache")


def ensure_image(k8s_dir, force=False, cache_dir=None):
    """Build the image when its inputs changed; returns the hashed tag.

    Labs brought up at the same time (Molecule scenarios run side by side) take turns here, under
    a lock of the machine's, so the image is built once and never pruned under another's feet.
    """
    tag = image_tag(k8s_dir)
    with open(os.path.join(tempfile.gettempdir(), "nodeops-lab-node-image.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or not image_exists(tag):
            build(tag, os.path.abspath(cache_dir or default_cache_dir()), k8s_dir)
        else:
            log("%s is up to date (inputs unchanged), build skipped" % tag)
        podman("tag", tag, IMAGE_REPO + ":latest", capture=True)
        prune_old_images(tag)
    return tag


def prune_old_images(keep):
    """Remove older hashed tags of the node image unless a container uses them."""
    proc = podman("images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPO, check=False, capture=True)
    for ref in (proc.stdout or "").split():
        if ref in (keep, IMAGE_REPO + ":latest") or not ref.startswith(IMAGE_REPO + ":"):
            continue
        if podman("rmi", ref, check=False, capture=True).returncode == 0:
            log("removed old image %s" % ref)
    # untagged leftovers of --force rebuilds (only this image's, by label)
    proc = podman("images", "-q", "--filter", "dangling=true", "--filter", "label=nodeops-lab.image=node",
                  check=False, capture=True)
    for image_id in (proc.stdout or "").split():
        podman("rmi", image_id, check=False, capture=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    parser.add_argument("--print-tag", action="store_true", help="print the image tag for the current inputs and exit")
    parser.add_argument("--print-mirror", action="store_true", help="print the Debian mirror that would be used and exit")
    parser.add_argument("--cache-dir", help="where debootstrap's .deb cache and the temporary rootfs live")
    parser.add_argument("--k8s-dir", required=True,
                        help="the binaries of tests/lab/k8s/build.sh (~/.cache/nodeops-lab/k8s-<version>)")
    args = parser.parse_args(argv)
    if args.print_tag:
        print(image_tag(args.k8s_dir))
        return 0
    if args.print_mirror:
        print(debian_mirror())
        return 0
    if os.geteuid() != 0:
        raise SystemExit("build-image: must run as root (debootstrap, chroot, rootful podman)")
    print(ensure_image(args.k8s_dir, force=args.force, cache_dir=args.cache_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Build the nodeops lab node image (a systemd Debian bookworm rootfs).

    python3 tests/lab/node/build_image.py [--force] [--print-tag] [--cache-dir DIR]

Steps: debootstrap --variant=minbase bookworm (with packages.txt), copy the
lab files (the files/ overlay and the kubelet simulation), run
configure-rootfs.py inside the chroot, trim, then `podman import` the tree as
localhost/nodeops-lab-node:<inputs hash> and tag it :latest as well.

The inputs hash is a sha256 over every file under tests/lab/node (path and
content), so the image is rebuilt only when a build input changes.  The build
is skipped when the hashed tag already exists.

The Debian mirror is read from the host's apt sources (/etc/apt/sources.list,
/etc/apt/sources.list.d/*.list and *.sources) unless the environment variable
NODEOPS_LAB_DEBIAN_MIRROR is set.  Downloaded .debs are kept in the cache
directory (default: $NODEOPS_LAB_DIR/cache/debootstrap or <repo>/.lab/cache/debootstrap).

podman commands run with the caller's environment; set CONTAINERS_CONF to the
lab's containers.conf (the lab CLI does so).

Standard library only; Python 3.9+.
"""
import argparse
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
                  "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
                  "var/lib/kubelet/config.yaml", "var/lib/kubelet/kubeadm-flags.env",
                  "etc/nodeops-lab/kubelet-version")


def log(msg):
    print("[build-image] " + msg, flush=True)


def input_files():
    files = []
    for dirpath, dirnames, filenames in os.walk(NODE_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            files.append(os.path.join(dirpath, name))
    return sorted(files, key=lambda p: os.path.relpath(p, NODE_DIR))


def inputs_hash():
    digest = hashlib.sha256()
    for path in input_files():
        rel = os.path.relpath(path, NODE_DIR)
        digest.update(rel.encode() + b"\0")
        st = os.stat(path)
        digest.update(b"x" if st.st_mode & 0o111 else b"-")
        with open(path, "rb") as fh:
            digest.update(fh.read())
        digest.update(b"\0")
    return digest.hexdigest()


def image_tag(digest=None):
    return "%s:%s" % (IMAGE_REPO, (digest or inputs_hash())[:16])


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
            os.chmod(os.path.join(dest_dir, name), 0o644)
    kubelet = os.path.join(root, "usr/bin/kubelet")
    shutil.copyfile(os.path.join(NODE_DIR, "kubelet-standin.py"), kubelet)
    os.chmod(kubelet, 0o755)
    for d in ("etc/kubernetes/manifests", "etc/kubernetes/pki", "var/lib/kubelet/pki"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "var/lib/kubelet/pki"), 0o700)


def build(tag, cache_dir):
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
                   "--change", "CMD [\"/sbin/init\"]",
                   "--change", "STOPSIGNAL=SIGRTMIN+3",
                   "--change", "ENV=container=podman",
                   "--change", "LABEL=nodeops-lab.image=node",
                   "--change", "LABEL=nodeops-lab.inputs-hash=" + tag.rsplit(":", 1)[1],
                   "--message", "nodeops lab node image (kubelet simulation, containerd, docker.io)",
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


def ensure_image(force=False, cache_dir=None):
    """Build the image when its inputs changed; returns the hashed tag."""
    tag = image_tag()
    if force or not image_exists(tag):
        build(tag, os.path.abspath(cache_dir or default_cache_dir()))
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
    args = parser.parse_args(argv)
    if args.print_tag:
        print(image_tag())
        return 0
    if args.print_mirror:
        print(debian_mirror())
        return 0
    if os.geteuid() != 0:
        raise SystemExit("build-image: must run as root (debootstrap, chroot, rootful podman)")
    print(ensure_image(force=args.force, cache_dir=args.cache_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())

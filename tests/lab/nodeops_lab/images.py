"""Container images of the lab, written as OCI archives without a registry.

No registry is reachable from the lab machines, so every image a lab node
runs is made here from files already on the machine: the Kubernetes
binaries built from the pinned Go module (tests/lab/k8s), the lab's own
pause process, Debian's busybox-static, and (for kube-proxy and the
NodeLocal DNSCache stand-in) the node image's iptables with the libraries
it loads.  Each image is one layer.

An archive is an OCI image layout in a tar (``oci-layout``, ``index.json``,
``blobs/sha256/...``).  Its index entry carries the full image name in the
``io.containerd.image.name`` annotation, which is what
``ctr -n k8s.io images import`` names the image by.  The same tar also has
Docker's ``manifest.json`` over the same blobs, so ``docker load`` (Docker
20.10 reads only that format) takes it too, for the Docker-era workers.

Standard library only.
"""

import hashlib
import io
import json
import os
import tarfile

IMAGE_REPOSITORY = "localhost/nodeops-lab"
PAUSE_TAG = "3.10.1"
ETCD_TAG = "3.6.4-0"      # the etcd server k8s.io/kubernetes v1.34.4 requires (kubeadm would deploy 3.6.5-0)
COREDNS_TAG = "v1.12.1"   # what kubeadm 1.34 deploys
BUSYBOX_TAG = "1.37"
# NodeLocal DNSCache: registry.k8s.io/dns/k8s-dns-node-cache is built from k8s.io/dns, which
# the Go module proxy here does not serve.  The lab's image of that name is a stand-in
# (tests/lab/k8s/cmd/node-cache-sim around the real CoreDNS); "-sim" says so in every
# place the image name shows (pods, `crictl images`, inventories).
NODE_CACHE_IMAGE = "k8s-dns-node-cache"
NODE_CACHE_TAG = "1.26.4-sim"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_APPLETS = ("sh", "sleep", "cat", "echo", "ls", "httpd", "nc", "nslookup", "wget", "date",
                   "hostname", "ps", "true", "false", "mkdir", "rm", "touch", "tail", "env", "id")
# Fixed timestamps keep the archives byte-identical from run to run.
MTIME = 0


def image_name(component, tag, repository=IMAGE_REPOSITORY):
    return "%s/%s:%s" % (repository, component, tag.replace("+", "_"))


class Layer(object):
    """One uncompressed layer tar, built in memory from (path, source) entries."""

    def __init__(self):
        self._buf = io.BytesIO()
        self._tar = tarfile.open(fileobj=self._buf, mode="w", format=tarfile.PAX_FORMAT)
        self._dirs = set()

    def _info(self, path, kind, mode):
        info = tarfile.TarInfo(path.lstrip("/"))
        info.type = kind
        info.mode = mode
        info.mtime = MTIME
        info.uid = info.gid = 0
        return info

    def directory(self, path, mode=0o755):
        path = path.strip("/")
        if not path or path in self._dirs:
            return
        self.directory(os.path.dirname(path))
        self._dirs.add(path)
        self._tar.addfile(self._info(path, tarfile.DIRTYPE, mode))

    def file(self, path, data=None, source=None, mode=0o755):
        """Add a regular file from bytes or from a file on this machine."""
        self.directory(os.path.dirname(path.strip("/")))
        if source is not None:
            with open(source, "rb") as fh:
                data = fh.read()
        info = self._info(path, tarfile.REGTYPE, mode)
        info.size = len(data)
        self._tar.addfile(info, io.BytesIO(data))

    def symlink(self, path, target):
        self.directory(os.path.dirname(path.strip("/")))
        info = self._info(path, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self._tar.addfile(info)

    def tree(self, root, paths):
        """Copy files and symlinks, by their path inside ``root`` (a rootfs), keeping links."""
        for rel in sorted(set(p.lstrip("/") for p in paths)):
            src = os.path.join(root, rel)
            if os.path.islink(src):
                self.symlink(rel, os.readlink(src))
            elif os.path.isdir(src):
                self.directory(rel)
            else:
                self.file(rel, source=src, mode=os.stat(src).st_mode & 0o7777)

    def bytes(self):
        self._tar.close()
        return self._buf.getvalue()


def _descriptor(media_type, blob, annotations=None):
    desc = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(), "size": len(blob)}
    if annotations:
        desc["annotations"] = annotations
    return desc


def write_archive(path, name, layer, entrypoint=None, cmd=None, env=None, workdir="/"):
    """Write ``layer`` (a :class:`Layer`) as an OCI archive at ``path`` named ``name``."""
    layer_blob = layer.bytes()
    diff_id = "sha256:" + hashlib.sha256(layer_blob).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Env": list(env or ["PATH=" + DEFAULT_PATH]), "WorkingDir": workdir},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "nodeops lab images.py"}],
    }
    if entrypoint:
        config["config"]["Entrypoint"] = list(entrypoint)
    if cmd:
        config["config"]["Cmd"] = list(cmd)
    config_blob = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": _descriptor("application/vnd.oci.image.config.v1+json", config_blob),
        "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar", layer_blob)],
    }
    manifest_blob = json.dumps(manifest, sort_keys=True).encode()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [_descriptor("application/vnd.oci.image.manifest.v1+json", manifest_blob, {
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1],
        })],
    }
    tmp = path + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as out:
        def add(member, data):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o644
            out.addfile(info, io.BytesIO(data))
        add("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add("index.json", json.dumps(index, sort_keys=True).encode())
        add("manifest.json", json.dumps([{
            "Config": "blobs/sha256/" + hashlib.sha256(config_blob).hexdigest(),
            "RepoTags": [name],
            "Layers": ["blobs/sha256/" + hashlib.sha256(layer_blob).hexdigest()],
        }], sort_keys=True).encode())
        for blob in (layer_blob, config_blob, manifest_blob):
            add("blobs/sha256/" + hashlib.sha256(blob).hexdigest(), blob)
    os.replace(tmp, path)
    return manifest["config"]["digest"]


def binary_image(path, name, binary, command_name, at="/usr/local/bin/", entrypoint=None):
    """An image holding one static binary at <at><command_name>, run as ``entrypoint`` if given."""
    layer = Layer()
    layer.file(at + command_name, source=binary)
    for d in ("tmp", "var/run", "etc/kubernetes"):
        layer.directory(d)
    layer.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", mode=0o644)
    layer.file("/etc/group", b"root:x:0:\nnogroup:x:65534:\n", mode=0o644)
    return write_archive(path, name, layer, entrypoint=entrypoint)


def busybox_image(path, name, busybox):
    """The lab's workload image: Debian's static busybox with its common applets."""
    layer = Layer()
    layer.file("/bin/busybox", source=busybox)
    for applet in BUSYBOX_APPLETS:
        layer.symlink("/bin/" + applet, "busybox")
    layer.directory("tmp", mode=0o1777)
    layer.directory("var/www")
    layer.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
    return write_archive(path, name, layer, cmd=["sh"])


def pause_image(path, name, pause):
    layer = Layer()
    layer.file("/pause", source=pause)
    return write_archive(path, name, layer, entrypoint=["/pause"])


def rootfs_image(path, name, root, paths, extra_files=(), symlinks=(), entrypoint=None):
    """An image of chosen paths of a rootfs (with the libraries they need) plus extra files.

    ``extra_files`` is a list of (path in image, file on this machine),
    ``symlinks`` a list of (path in image, link target).
    """
    layer = Layer()
    layer.tree(root, paths)
    for dest, source in extra_files:
        layer.file(dest, source=source)
    for dest, target in symlinks:
        layer.symlink(dest, target)
    return write_archive(path, name, layer, entrypoint=entrypoint)

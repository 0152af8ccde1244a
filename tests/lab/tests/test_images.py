"""nodeops_lab.images: OCI archives that containerd can import, written without a registry."""

import hashlib
import io
import json
import os
import tarfile

from nodeops_lab import images


def _members(path):
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_archive_is_an_oci_layout_named_for_containerd(tmp_path):
    binary = tmp_path / "tool"
    binary.write_bytes(b"#!/bin/sh\necho hi\n")
    out = str(tmp_path / "tool.tar")
    name = images.image_name("tool", "v1.2.3+meta")
    assert name == "localhost/nodeops-lab/tool:v1.2.3_meta"
    images.binary_image(out, name, str(binary), "tool")
    files = _members(out)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    desc = index["manifests"][0]
    assert desc["annotations"]["io.containerd.image.name"] == name
    docker = json.loads(files["manifest.json"])
    assert docker[0]["RepoTags"] == [name]
    assert all(path in files for path in [docker[0]["Config"]] + docker[0]["Layers"])
    # every descriptor points at a blob with that digest and size
    manifest_blob = files["blobs/sha256/" + desc["digest"].split(":")[1]]
    assert len(manifest_blob) == desc["size"]
    manifest = json.loads(manifest_blob)
    config_blob = files["blobs/sha256/" + manifest["config"]["digest"].split(":")[1]]
    layer_blob = files["blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]]
    config = json.loads(config_blob)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer_blob).hexdigest()]
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    with tarfile.open(fileobj=io.BytesIO(layer_blob)) as layer:
        member = layer.getmember("usr/local/bin/tool")
        assert member.mode == 0o755
        assert layer.extractfile(member).read() == binary.read_bytes()
        names = layer.getnames()
    # parent directories come before their contents
    assert names.index("usr") < names.index("usr/local") < names.index("usr/local/bin/tool")


def test_archives_are_reproducible(tmp_path):
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF fake")
    first, second = str(tmp_path / "a.tar"), str(tmp_path / "b.tar")
    images.pause_image(first, "localhost/nodeops-lab/pause:1", str(binary))
    images.pause_image(second, "localhost/nodeops-lab/pause:1", str(binary))
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read()


def test_rootfs_image_keeps_links_and_adds_files(tmp_path):
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/libx.so.1.0").write_bytes(b"lib")
    os.symlink("libx.so.1.0", str(root / "usr/lib/libx.so.1"))
    extra = tmp_path / "kube-proxy"
    extra.write_bytes(b"proxy")
    out = str(tmp_path / "img.tar")
    images.rootfs_image(out, "localhost/nodeops-lab/kube-proxy:v1", str(root),
                        ["/usr/lib/libx.so.1", "/usr/lib/libx.so.1.0"],
                        extra_files=[("/usr/local/bin/kube-proxy", str(extra))],
                        symlinks=[("/usr/sbin/iptables", "xtables-nft-multi")])
    files = _members(out)
    manifest = json.loads(files["blobs/sha256/" + json.loads(files["index.json"])["manifests"][0]["digest"][7:]])
    layer_blob = files["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
    with tarfile.open(fileobj=io.BytesIO(layer_blob)) as layer:
        assert layer.getmember("usr/lib/libx.so.1").issym()
        assert layer.getmember("usr/lib/libx.so.1").linkname == "libx.so.1.0"
        assert layer.getmember("usr/sbin/iptables").linkname == "xtables-nft-multi"
        assert layer.extractfile("usr/local/bin/kube-proxy").read() == b"proxy"


def test_rootfs_image_entrypoint(tmp_path):
    """The NodeLocal DNSCache stand-in runs /node-cache, as the real image does."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    sim = tmp_path / "node-cache-sim"
    sim.write_bytes(b"sim")
    name = images.image_name(images.NODE_CACHE_IMAGE, images.NODE_CACHE_TAG)
    assert name == "localhost/nodeops-lab/k8s-dns-node-cache:1.26.4-sim"
    out = str(tmp_path / "nc.tar")
    images.rootfs_image(out, name, str(root), ["etc"], extra_files=[("/node-cache", str(sim))],
                        entrypoint=["/node-cache"])
    files = _members(out)
    manifest = json.loads(files["blobs/sha256/" + json.loads(files["index.json"])["manifests"][0]["digest"][7:]])
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"][7:]])
    assert config["config"]["Entrypoint"] == ["/node-cache"]
    assert "Cmd" not in config["config"]
    with tarfile.open(fileobj=io.BytesIO(files["blobs/sha256/" + manifest["layers"][0]["digest"][7:]])) as layer:
        assert layer.getmember("etc").isdir()
        assert layer.getmember("node-cache").mode == 0o755

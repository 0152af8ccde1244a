"""The node's files below a root, as the Docker dependency scan reads them."""

import os

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_tree import NodeTree


def write(root, path, data):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as handle:
        handle.write(data)
    return full


def test_node_paths_are_read_below_the_root(tmp_path):
    write(tmp_path, "/etc/docker/daemon.json", b"{}")
    tree = NodeTree(str(tmp_path))
    assert tree.path("/etc/docker/daemon.json") == os.path.join(str(tmp_path), "etc/docker/daemon.json")
    assert tree.read("/etc/docker/daemon.json") == "{}"
    assert tree.is_file("/etc/docker/daemon.json") and tree.is_dir("/etc/docker")


def test_missing_files_and_directories_read_as_nothing(tmp_path):
    tree = NodeTree(str(tmp_path))
    os.makedirs(os.path.join(str(tmp_path), "etc", "crontab"))
    assert tree.read("/etc/crontab") is None
    assert tree.read("/etc/missing") is None
    assert tree.listdir("/etc/missing") == []
    assert tree.read_bytes("/etc/missing", 10) is None


def test_directories_are_listed_sorted_and_large_files_are_not_read(tmp_path):
    write(tmp_path, "/usr/local/bin/b", b"12345")
    write(tmp_path, "/usr/local/bin/a", b"123456")
    tree = NodeTree(str(tmp_path))
    assert tree.listdir("/usr/local/bin") == ["a", "b"]
    assert tree.read_bytes("/usr/local/bin/b", 5) == b"12345"
    assert tree.read_bytes("/usr/local/bin/a", 5) is None


def test_links_are_followed_to_tell_one_file_from_two(tmp_path):
    target = write(tmp_path, "/usr/lib/systemd/system/x.service.d/a.conf", b"")
    os.makedirs(os.path.join(str(tmp_path), "lib/systemd/system/x.service.d"))
    os.symlink(target, os.path.join(str(tmp_path), "lib/systemd/system/x.service.d/a.conf"))
    tree = NodeTree(str(tmp_path))
    assert tree.is_link("/lib/systemd/system/x.service.d/a.conf")
    assert tree.readlink("/lib/systemd/system/x.service.d/a.conf") == target
    assert (tree.identity("/lib/systemd/system/x.service.d/a.conf")
            == tree.identity("/usr/lib/systemd/system/x.service.d/a.conf"))

"""Make the collection importable as ``ansible_collections.nodeops.kubernetes``.

The repository root is the collection root; a symlink under ``.cache`` gives it
the path Ansible's import machinery expects.
"""

import os
import sys

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _collection_path():
    parts = REPO_ROOT.split(os.sep)
    if len(parts) >= 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])
    base = os.path.join(REPO_ROOT, ".cache", "collections")
    link_dir = os.path.join(base, "ansible_collections", "nodeops")
    link = os.path.join(link_dir, "kubernetes")
    if not os.path.islink(link):
        os.makedirs(link_dir, exist_ok=True)
        os.symlink(REPO_ROOT, link)
    return base


sys.path.insert(0, _collection_path())

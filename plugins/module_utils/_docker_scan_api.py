# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the objects of the cluster side of the Docker dependency scan, in pages, through a ``get`` callable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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

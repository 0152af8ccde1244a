# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings of one pod spec: hostPath mounts of Docker's paths and containers that run Docker commands."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import (
    Severity,
    finding,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_words import (
    docker_references,
    escapes_to_host,
)

# Paths are compared with /var/run folded into /run (/var/run is a link to /run).
DOCKER_HOST_PATHS = {
    "/run/docker.sock": "the Docker socket",
    "/run/docker": "Docker's runtime directory",
    "/var/lib/docker": "Docker's data directory",
    "/etc/docker": "Docker's configuration directory",
    "/run/dockershim.sock": "the dockershim socket",
    "/run/cri-dockerd.sock": "the cri-dockerd socket",
}
DOCKER_DATA_DIR = "/var/lib/docker"
DOCKER_LOG_DIR = "/var/lib/docker/containers"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class HostPathKind(object):
    """What a hostPath is to Docker: the first value :func:`classify_host_path` returns (or None)."""

    DOCKER = "docker"  # a Docker path, or a path below one
    PARENT = "parent"  # a directory that contains Docker paths


def fold_path(path):
    """Normalise a host path for comparisons: ``/var/run`` is ``/run``."""
    path = posixpath.normpath("/" + (path or "").lstrip("/"))
    if path == "/var/run" or path.startswith("/var/run/"):
        path = "/run" + path[len("/var/run"):]
    return path


def _under(path, parent):
    return path == parent or parent == "/" or path.startswith(parent + "/")


def classify_host_path(path):
    """Return ``("docker", label)`` for a Docker path or one below it, ``("parent", labels)`` for a directory
    that contains Docker paths, ``(None, None)`` otherwise."""
    folded = fold_path(path)
    for docker_path, label in sorted(DOCKER_HOST_PATHS.items()):
        if _under(folded, docker_path):
            return HostPathKind.DOCKER, label
    exposed = sorted(label for docker_path, label in DOCKER_HOST_PATHS.items() if _under(docker_path, folded))
    if exposed:
        return HostPathKind.PARENT, exposed
    return None, None


def _containers(spec):
    for key in CONTAINER_LISTS:
        yield from spec.get(key) or []


def _container_text(container):
    parts = list(container.get("command") or []) + list(container.get("args") or [])
    for env in container.get("env") or []:
        if env.get("value"):
            parts.append("%s=%s" % (env.get("name"), env.get("value")))
    return " ".join(str(part) for part in parts)


def _docker_path_finding(where, path, label, users_text, users):
    folded = fold_path(path)
    if _under(folded, DOCKER_LOG_DIR):
        breaks = ("container logs are no longer written under /var/lib/docker/containers: log collectors "
                  "reading there see nothing new")
        fix = "read container logs from /var/log/pods (and /var/log/containers) and drop the mount"
    elif folded == DOCKER_DATA_DIR:
        breaks = "Docker's data directory no longer holds the Kubernetes containers and images"
        fix = "read container logs from /var/log/pods (and /var/log/containers) and drop the mount"
    else:
        breaks = ("the Docker daemon is stopped by the switch: calls through %s fail (or the hostPath is "
                  "recreated as an empty directory)" % label)
        fix = ("use the CRI instead (crictl, unix:///run/containerd/containerd.sock) or a "
               "containerd-aware version of the tool, and remove the mount")
    what = "mounts %s (hostPath %s) into %s" % (label, path, users_text)
    return finding("docker-hostpath", where, Severity.BLOCKING, what, breaks, fix, host_path=path, containers=users)


def _parent_path_finding(where, path, labels, users_text, users, references):
    refs = dict((name, value) for name, value in references.items() if name in users)
    what = "mounts hostPath %s, which contains %s, into %s" % (path, ", ".join(labels), users_text)
    if refs:
        listed = "; ".join("%s: %s" % (name, ", ".join(value)) for name, value in sorted(refs.items()))
        what += "; the containers refer to Docker (%s)" % listed
    fix = ("check what the containers do under %s; move Docker calls to the CRI (crictl) or acknowledge when "
           "they do not use Docker" % path)
    return finding("docker-hostpath-parent", where, Severity.BLOCKING if refs else Severity.WARNING, what,
                   "anything in the pod that reaches Docker through this mount fails once Docker is stopped",
                   fix, host_path=path, containers=users)


def _host_path_findings(volumes, containers, references, where):
    """Findings of the hostPath volumes that are, or contain, Docker's paths."""
    mounts_by_volume = {}
    for container in containers:
        for mount in container.get("volumeMounts") or []:
            mounts_by_volume.setdefault(mount.get("name"), []).append(container.get("name"))
    findings = []
    for volume in volumes:
        path = volume["hostPath"].get("path") or ""
        kind, label = classify_host_path(path)
        users = sorted(set(mounts_by_volume.get(volume.get("name"), [])))
        users_text = ", ".join(users) if users else "no container (volume unused)"
        volume_where = "%s/%s" % (where, volume.get("name"))
        if kind == HostPathKind.DOCKER:
            findings.append(_docker_path_finding(volume_where, path, label, users_text, users))
        elif kind == HostPathKind.PARENT:
            findings.append(_parent_path_finding(volume_where, path, label, users_text, users, references))
    return findings


def _container_findings(container, references, reaches_host, where):
    """Findings of one container: DOCKER_HOST over TCP, and Docker commands in a privileged container."""
    findings = []
    name = container.get("name")
    text = _container_text(container)
    if "DOCKER_HOST=tcp:" in text:
        findings.append(finding(
            "docker-host-tcp", "%s/%s" % (where, name), Severity.WARNING,
            "container %s talks to a Docker daemon over TCP (DOCKER_HOST)" % name,
            "if that daemon is a node's Docker, it no longer runs the Kubernetes containers",
            "check which daemon DOCKER_HOST points at", containers=[name]))
    if not references or not (container.get("securityContext") or {}).get("privileged"):
        return findings
    host = reaches_host or escapes_to_host(text)
    if host:
        breaks = ("Docker commands on the node fail after the switch (no Docker daemon, or one that no longer runs "
                  "the Kubernetes containers)")
    else:
        breaks = ("probably Docker-in-Docker (no hostPID, no hostPath): unaffected unless it talks to the node's "
                  "Docker")
    findings.append(finding(
        "privileged-docker-command", "%s/%s" % (where, name), Severity.BLOCKING if host else Severity.WARNING,
        "privileged container %s %s" % (name, ", ".join(references)), breaks,
        "rewrite the commands for crictl/ctr (namespace k8s.io) or acknowledge after checking",
        containers=[name]))
    return findings


def _pull_never_findings(containers, where):
    never = sorted(container.get("name") for container in containers if container.get("imagePullPolicy") == "Never")
    if not never:
        return []
    return [finding(
        "image-pull-never", where, Severity.WARNING,
        "containers %s use imagePullPolicy: Never" % ", ".join(never),
        "images loaded into Docker are not in containerd's image store: the pods fail with ErrImageNeverPull",
        "import the images on each node (ctr -n k8s.io images import) before the pods come back, or let "
        "them be pulled", containers=never)]


def pod_spec_findings(spec, where):
    """Findings of one pod spec (of a pod or a pod template) at ``where`` (for example ``daemonset/ns/name``)."""
    spec = spec or {}
    containers = list(_containers(spec))
    references = {}
    for container in containers:
        refs = docker_references(_container_text(container))
        if refs:
            references[container.get("name")] = refs
    host_path_volumes = [volume for volume in spec.get("volumes") or [] if volume.get("hostPath")]
    findings = _host_path_findings(host_path_volumes, containers, references, where)
    reaches_host = bool(spec.get("hostPID")) or bool(host_path_volumes)
    for container in containers:
        findings.extend(_container_findings(container, references.get(container.get("name")), reaches_host, where))
    return findings + _pull_never_findings(containers, where)

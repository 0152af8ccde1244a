# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Processes connected to the Docker socket right now, found through ``/proc/net/unix``, ``ss -xpn`` and
``/proc/<pid>/fd``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_findings import Severity

DOCKER_SOCKET_PATHS = ("/run/docker.sock", "/var/run/docker.sock")
# Clients that are part of the runtime being replaced.
EXPECTED_SOCKET_CLIENTS = ("kubelet", "dockerd", "containerd", "cri-dockerd", "systemd", "docker-proxy")
SOCKET_LINK_PREFIX = "socket:["


def parse_proc_net_unix(text):
    """Return ``{inode: path}`` of the bound sockets in ``/proc/net/unix``."""
    sockets = {}
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[6].isdigit():
            sockets[fields[6]] = fields[7]
    return sockets


def parse_ss_unix(text):
    """Parse ``ss -xpn`` output into ``[{local, local_inode, peer_inode}]``."""
    entries = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] == "Netid":
            continue
        if not fields[5].isdigit() or not fields[7].isdigit():
            continue
        entries.append({"local": fields[4], "local_inode": fields[5], "peer_inode": fields[7]})
    return entries


def _socket_inode(tree, fd_path):
    """Inode of the socket a file descriptor is, None for anything else."""
    try:
        target = tree.readlink(fd_path)
    except OSError:
        return None
    if target.startswith(SOCKET_LINK_PREFIX):
        return target[len(SOCKET_LINK_PREFIX):-1]
    return None


def _clients(tree, peers):
    """``{command name: [{pid, in_pod}]}`` of the processes holding one of the ``peers`` socket inodes."""
    clients = {}
    for pid in tree.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = posixpath.join("/proc", pid, "fd")
        for fd in tree.listdir(fd_dir):
            if _socket_inode(tree, posixpath.join(fd_dir, fd)) in peers:
                comm = (tree.read(posixpath.join("/proc", pid, "comm")) or "?").strip()
                cgroup = tree.read(posixpath.join("/proc", pid, "cgroup")) or ""
                clients.setdefault(comm, []).append({"pid": int(pid), "in_pod": "kubepods" in cgroup})
                break
    return clients


def _client_finding(found, comm, processes):
    pids = ", ".join(str(process["pid"]) for process in processes)
    if comm in EXPECTED_SOCKET_CLIENTS:
        found.add("docker-socket-client", Severity.INFO, "%s (pid %s) is connected to the Docker socket" % (comm, pids),
                  "nothing: it is part of the runtime being replaced", "none needed", suffix=comm)
        return
    in_pod = any(process["in_pod"] for process in processes)
    found.add("docker-socket-client", Severity.BLOCKING,
              "%s (pid %s%s) is connected to the Docker socket right now" % (
                  comm, pids, ", inside a Kubernetes pod" if in_pod else ""),
              "it loses its connection when Docker stops and fails from then on",
              "find out what %s uses Docker for and move it to the CRI, or acknowledge" % comm, suffix=comm)


def scan_socket_clients(tree, found, ss_output):
    """Return ``[{name, processes: [{pid, in_pod}]}]`` of the Docker socket's clients, with their findings.

    ``ss_output`` is the output of ``ss -xpn`` (it pairs the socket's connections with their peers), None when
    ss is missing.
    """
    sockets = parse_proc_net_unix(tree.read("/proc/net/unix"))
    server_inodes = set(inode for inode, path in sockets.items() if path in DOCKER_SOCKET_PATHS)
    if not server_inodes:
        return []
    if ss_output is None:
        found.add("docker-socket-clients-unknown", Severity.INFO,
                  "the processes talking to the Docker socket could not be listed (ss from iproute2 is missing)",
                  "nothing by itself", "install iproute2 and scan again to see live Docker clients")
        return []
    peers = set(entry["peer_inode"] for entry in parse_ss_unix(ss_output)
                if entry["local"] in DOCKER_SOCKET_PATHS or entry["local_inode"] in server_inodes)
    result = []
    for comm, processes in sorted(_clients(tree, peers).items()):
        result.append({"name": comm, "processes": processes})
        _client_finding(found, comm, processes)
    return result

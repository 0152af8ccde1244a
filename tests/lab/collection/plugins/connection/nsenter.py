# The lab's connection to its node containers: nsenter into the container's namespaces, pipelined.
"""Connection plugin nodeops_lab.lab.nsenter (a test tool of the lab, not part of nodeops.kubernetes)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: nsenter
short_description: Run commands in a lab node container through nsenter, pipelined
description:
  - Runs each command inside a running podman container by entering the namespaces (mount, UTS, IPC,
    network, PID, cgroup) of the container's init process with C(nsenter), the module's code on its
    standard input when pipelining is on, as SSH does with pipelining.
  - C(podman exec) costs a podman, a conmon and a runc process per command, over a second of latency
    on a loaded two-core machine; C(nsenter) costs one small process. The container's init PID and
    environment are read once with C(podman container inspect) and kept in a small cache file, checked
    on every use against the process's start time, so a restarted or recreated container is read again.
  - The command gets the container's environment (from its configuration), not the controller's.
  - Files are copied through C(sh -c 'cat > file'), fetched with C(cat).
author: nodeops.kubernetes maintainers
options:
  remote_addr:
    description: The container's name.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman command (to find the container's init process).
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  cache_dir:
    description: Where the container's init PID, start time and environment are kept.
    default: /tmp/nodeops-lab-nsenter
    env:
      - name: NODEOPS_LAB_NSENTER_CACHE
  pipelining:
    description: Send the module on standard input instead of copying it first.
    default: true
    type: boolean
    vars:
      - name: ansible_pipelining
    env:
      - name: ANSIBLE_PIPELINING
"""

import json
import os
import shlex
import subprocess
import tempfile

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

# The namespaces of the container a command enters; -r and -w take the init process's root and cwd.
NSENTER_ARGS = ["--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "-r", "-w"]


def start_time(pid):
    """The start time (clock ticks after boot) of process ``pid``, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            stat = fh.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return int(stat[stat.rindex(")") + 2:].split()[19])


class InitProcess(object):
    """The init process of one container: its PID and environment, cached by container name."""

    def __init__(self, podman, cache_dir, container):
        self.podman = podman
        self.container = container
        self.path = os.path.join(cache_dir, container.replace("/", "_") + ".json")

    def _cached(self):
        try:
            with open(self.path) as fh:
                entry = json.load(fh)
        except (OSError, ValueError):
            return None
        if start_time(entry.get("pid", 0)) != entry.get("start"):
            return None
        return entry

    def _inspect(self):
        proc = subprocess.run([self.podman, "container", "inspect", self.container],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise AnsibleConnectionFailure("cannot inspect container %s: %s"
                                           % (self.container, to_native(proc.stderr).strip()))
        data = json.loads(proc.stdout)[0]
        pid = data["State"]["Pid"]
        if not data["State"].get("Running") or not pid:
            raise AnsibleConnectionFailure("container %s is not running" % self.container)
        env = dict(item.split("=", 1) for item in data["Config"].get("Env") or [] if "=" in item)
        entry = {"pid": pid, "start": start_time(pid), "env": env}
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory)
        with os.fdopen(fd, "w") as fh:
            json.dump(entry, fh)
        os.replace(tmp, self.path)
        return entry

    def get(self):
        return self._cached() or self._inspect()


class Connection(ConnectionBase):
    """nsenter into the container named by remote_addr; no state between commands."""

    transport = "nodeops_lab.lab.nsenter"
    has_pipelining = True

    def _container(self):
        return self.get_option("remote_addr") or self._play_context.remote_addr

    def _run(self, argv, in_data=None):
        init = InitProcess(self.get_option("podman_executable"), self.get_option("cache_dir"),
                           self._container()).get()
        command = ["nsenter", "--target", str(init["pid"])] + NSENTER_ARGS + ["--"] + argv
        display.vvv("RUN %s" % (command,), host=self._container())
        env = dict(init["env"])
        env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        try:
            proc = subprocess.run(
                [to_bytes(arg, errors="surrogate_or_strict") for arg in command],
                input=in_data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
        except OSError as exc:
            raise AnsibleConnectionFailure("cannot run nsenter: %s" % exc) from exc
        return proc.returncode, proc.stdout, proc.stderr

    def _connect(self):
        super()._connect()
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        return self._run(shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as fh:
            data = fh.read()
        rc, _out, err = self._run(["/bin/sh", "-c", "cat > %s" % shlex.quote(out_path)], data)
        if rc != 0:
            raise AnsibleError("cannot copy %s to %s in container %s: %s"
                               % (in_path, out_path, self._container(), to_native(err)))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        rc, out, err = self._run(["cat", in_path])
        if rc != 0:
            raise AnsibleError("cannot fetch %s from container %s: %s"
                               % (in_path, self._container(), to_native(err)))
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as fh:
            fh.write(out)

    def close(self):
        super().close()
        self._connected = False

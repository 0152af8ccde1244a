# The lab's connection to its node containers: one ``podman exec -i`` per command, with pipelining.
"""Connection plugin nodeops_lab.lab.podman (a test tool of the lab, not part of nodeops.kubernetes)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: podman
short_description: Run commands in a lab node container with podman exec, pipelined
description:
  - Runs each command in a running podman container with one C(podman exec -i), the module's
    code on its standard input when pipelining is on, as SSH does with pipelining.
  - Files are copied through C(podman exec -i ... sh -c 'cat > file'), fetched with C(cat).
author: nodeops.kubernetes maintainers
options:
  remote_addr:
    description: The container's name.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman command.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Send the module on standard input instead of copying it first.
    default: true
    type: boolean
    vars:
      - name: ansible_pipelining
    env:
      - name: ANSIBLE_PIPELINING
"""

import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()


class Connection(ConnectionBase):
    """podman exec into the container named by remote_addr; no state between commands."""

    transport = "nodeops_lab.lab.podman"
    has_pipelining = True

    def _container(self):
        return self.get_option("remote_addr") or self._play_context.remote_addr

    def _run(self, args, in_data=None):
        command = [self.get_option("podman_executable")] + args
        display.vvv("RUN %s" % (command,), host=self._container())
        try:
            proc = subprocess.run(
                [to_bytes(arg, errors="surrogate_or_strict") for arg in command],
                input=in_data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        except OSError as exc:
            raise AnsibleConnectionFailure("cannot run %s: %s" % (command[0], exc)) from exc
        return proc.returncode, proc.stdout, proc.stderr

    def _connect(self):
        super()._connect()
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec"] + (["-i"] if in_data is not None else []) + [self._container()]
        args += shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        return self._run(args, in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as fh:
            data = fh.read()
        rc, _out, err = self._run(["exec", "-i", self._container(), "/bin/sh", "-c",
                                   "cat > %s" % shlex.quote(out_path)], data)
        if rc != 0:
            raise AnsibleError("cannot copy %s to %s in container %s: %s"
                               % (in_path, out_path, self._container(), to_native(err)))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        rc, out, err = self._run(["exec", self._container(), "cat", in_path])
        if rc != 0:
            raise AnsibleError("cannot fetch %s from container %s: %s"
                               % (in_path, self._container(), to_native(err)))
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as fh:
            fh.write(out)

    def close(self):
        super().close()
        self._connected = False

"""Thin helpers around the podman CLI for the nodeops lab.

Every podman call made through this module runs with ``CONTAINERS_CONF``
pointing at the lab's own containers.conf (written by
:func:`write_containers_conf`), so the host's /etc/containers is never edited.
"""

import json
import os
import resource
import subprocess

# What rootful podman needs on the lab machines: crun refuses hybrid cgroup
# hosts, so the lab uses runc; ulimits must stay within the host's hard limits.
RUNTIME = "runc"
NOFILE_CAP = 65536
NPROC_CAP = 32768


class PodmanError(RuntimeError):
    pass


def host_ulimits():
    """(nofile, nproc) not above the host's hard limits."""
    nofile_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    if nofile_hard == resource.RLIM_INFINITY:
        nofile_hard = NOFILE_CAP
    if nproc_hard == resource.RLIM_INFINITY:
        nproc_hard = NPROC_CAP
    return min(nofile_hard, NOFILE_CAP), min(nproc_hard, NPROC_CAP)


def ulimit_args():
    nofile, nproc = host_ulimits()
    return ["--ulimit", "nofile=%d:%d" % (nofile, nofile), "--ulimit", "nproc=%d:%d" % (nproc, nproc)]


def write_containers_conf(path):
    """Write the lab's containers.conf (idempotent); returns its path."""
    nofile, nproc = host_ulimits()
    text = (
        "# containers.conf used by the nodeops lab (selected with CONTAINERS_CONF).\n"
        "# Written by `python -m nodeops_lab.lab up`; do not edit, it is rewritten.\n"
        "[containers]\n"
        "default_ulimits = [\n"
        '  "nofile=%d:%d",\n'
        '  "nproc=%d:%d",\n'
        "]\n"
        "\n"
        "[engine]\n"
        "# crun refuses hybrid cgroup hierarchies on these hosts; runc works.\n"
        'runtime = "%s"\n' % (nofile, nofile, nproc, nproc, RUNTIME)
    )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    old = None
    if os.path.exists(path):
        with open(path) as fh:
            old = fh.read()
    if old != text:
        with open(path, "w") as fh:
            fh.write(text)
    return path


class Podman(object):
    """Runs podman with the lab's CONTAINERS_CONF."""

    def __init__(self, containers_conf):
        self.containers_conf = containers_conf

    def env(self):
        env = dict(os.environ)
        env["CONTAINERS_CONF"] = self.containers_conf
        return env

    def run(self, *args, check=True, input=None, timeout=600):
        cmd = ["podman"] + [str(a) for a in args]
        proc = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.env(), timeout=timeout,
                              text=not isinstance(input, bytes))
        if check and proc.returncode != 0:
            err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode("utf-8", "replace")
            raise PodmanError("%s failed (%d): %s" % (" ".join(cmd[:4]), proc.returncode, err.strip()))
        return proc

    def exec(self, container, *cmd, check=True, input=None, timeout=300):
        args = ["exec"]
        if input is not None:
            args.append("-i")
        return self.run(*(args + [container] + list(cmd)), check=check, input=input, timeout=timeout)

    def write_file(self, container, path, content, mode="0644"):
        """Write ``content`` (str or bytes) to ``path`` inside the container."""
        data = content.encode() if isinstance(content, str) else content
        script = ('set -e; d=$(dirname "$1"); mkdir -p "$d"; tmp="$1.lab-tmp"; '
                  'cat > "$tmp"; chmod "$2" "$tmp"; mv -f "$tmp" "$1"')
        self.exec(container, "sh", "-c", script, "sh", path, mode, input=data)

    def inspect(self, container):
        proc = self.run("container", "inspect", container, check=False)
        if proc.returncode != 0:
            return None
        data = json.loads(proc.stdout)
        return data[0] if data else None

    def containers(self, *label_filters):
        args = ["ps", "-a", "--format", "json"]
        for flt in label_filters:
            args += ["--filter", "label=" + flt]
        proc = self.run(*args)
        return json.loads(proc.stdout or "[]")

    def image_exists(self, ref):
        return self.run("image", "exists", ref, check=False).returncode == 0

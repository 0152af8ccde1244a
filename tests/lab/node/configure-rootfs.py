"""Runs INSIDE the lab node rootfs (chroot) at image build time.

Writes the lab's starting-state containerd configuration and sets which
systemd units start at boot.  Standard library only (the image's python3).

Starting state of a lab node (what the nodeops.kubernetes roles migrate away
from):
  * containerd with its CRI plugin enabled and the runc runtime using
    cgroupfs (SystemdCgroup = false);
  * the sandbox (pause) image is the lab's own, side-loaded (no registry);
  * kubelet (the real one; kubeadm writes its configuration at init/join,
    with cgroupDriver: cgroupfs);
  * docker.io installed but not started (used only for the Docker-era
    variant of the lab, see docs/lab.md).
"""
import subprocess
import sys
import tomllib

CONFIG = "/etc/containerd/config.toml"
RUNC_OPTIONS = ("plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc", "options")
RUNC_OPTIONS_HEADER = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'
CRI_HEADER = '[plugins."io.containerd.grpc.v1.cri"]'
SANDBOX_IMAGE = "localhost/nodeops-lab/pause:3.10.1"


def dig(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def set_systemd_cgroup(text, value):
    """Set SystemdCgroup in the runc options table with a minimal line edit.

    Only the lines of the one table are touched; the result is re-parsed
    with tomllib by the caller.
    """
    literal = "true" if value else "false"
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == RUNC_OPTIONS_HEADER)
    except StopIteration:
        raise SystemExit("configure-rootfs: runc options table not found in containerd default config")
    end = len(lines)
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            end = i
            break
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())] + "  "
    for i in range(start + 1, end):
        if lines[i].strip().split("=")[0].strip() == "SystemdCgroup":
            lines[i] = indent + "SystemdCgroup = " + literal
            break
    else:
        lines.insert(start + 1, indent + "SystemdCgroup = " + literal)
    return "\n".join(lines) + "\n"


def set_cri_option(text, key, literal):
    """Set ``key`` in the CRI plugin table (a one-line edit, re-parsed by the caller)."""
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.strip() == CRI_HEADER))
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if lines[i].strip().split("=")[0].strip() == key:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i] = "%s%s = %s" % (indent, key, literal)
            return "\n".join(lines) + "\n"
    raise SystemExit("configure-rootfs: %s not found in the CRI plugin table" % key)


def write_containerd_config():
    text = subprocess.run(["containerd", "config", "default"], check=True,
                          capture_output=True, text=True).stdout
    text = set_systemd_cgroup(text, False)
    text = set_cri_option(text, "sandbox_image", '"%s"' % SANDBOX_IMAGE)
    # The lab machine withholds CAP_SYS_RESOURCE, so no process in a node may
    # lower its oom_score_adj (the kubelet asks -998 for pod sandboxes):
    # containerd clamps the value instead, as it does for rootless nodes.
    text = set_cri_option(text, "restrict_oom_score_adj", "true")
    doc = tomllib.loads(text)
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]
    if cri.get("sandbox_image") != SANDBOX_IMAGE or cri.get("restrict_oom_score_adj") is not True:
        raise SystemExit("configure-rootfs: CRI option edits did not take")
    if dig(doc, RUNC_OPTIONS).get("SystemdCgroup") is not False:
        raise SystemExit("configure-rootfs: SystemdCgroup edit did not take")
    if "cri" in doc.get("disabled_plugins", []) or "io.containerd.grpc.v1.cri" in doc.get("disabled_plugins", []):
        raise SystemExit("configure-rootfs: CRI plugin is disabled in the generated config")
    header = ("# containerd configuration of the nodeops lab node image (starting state):\n"
              "# `containerd config default` with the CRI plugin enabled and\n"
              "# runc SystemdCgroup = false (cgroupfs), the lab's own sandbox image,\n"
              "# restrict_oom_score_adj (the lab machine withholds CAP_SYS_RESOURCE).\n")
    with open(CONFIG, "w") as fh:
        fh.write(header + text)
    print("configure-rootfs: wrote %s (SystemdCgroup=false, CRI enabled)" % CONFIG)


def systemctl(*args):
    subprocess.run(["systemctl"] + list(args), check=True)


def main():
    write_containerd_config()
    # Like kubeadm nodes: kubelet and containerd start at boot (kubelet
    # restarts in a loop until the node has joined and has a kubeconfig).
    systemctl("enable", "containerd.service", "kubelet.service")
    # docker.io stays installed but off in the modern (containerd) lab.
    systemctl("disable", "docker.service", "docker.socket")
    # Units that make no sense in a container.
    systemctl("mask", "console-getty.service", "getty@.service",
              "systemd-udevd.service", "systemd-udev-trigger.service",
              "systemd-modules-load.service", "apt-daily.timer",
              "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer")
    return 0


if __name__ == "__main__":
    sys.exit(main())

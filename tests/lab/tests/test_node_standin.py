"""Unit tests of the kubelet simulation's pure functions (no containers needed)."""

import base64
import io
import os
import sys

import pytest

from nodes_fixtures import load_standin

k = load_standin()

CONTAINERD_V2 = """
version = 2
disabled_plugins = []
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.6"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = %s
"""

CONTAINERD_V3 = """
version = 3
[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      SystemdCgroup = true
"""


def test_versions():
    assert k.parse_version("v1.30.2") == (1, 30, 2)
    assert k.parse_version("1.23") == (1, 23, 0)
    with pytest.raises(ValueError):
        k.parse_version("latest")


def test_flags_as_systemd_passes_them():
    argv = ("--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf "
            "--config=/var/lib/kubelet/config.yaml "
            "--container-runtime-endpoint=unix:///run/containerd/containerd.sock "
            "--pod-infra-container-image=registry.k8s.io/pause:3.9 --node-ip 10.0.0.5 -v=2").split()
    flags, warnings = k.parse_flags(argv, "v1.30.2")
    assert flags["kubeconfig"] == "/etc/kubernetes/kubelet.conf"
    assert flags["node-ip"] == "10.0.0.5"
    assert flags["v"] == "2"
    assert ("deprecated", "container-runtime-endpoint") in warnings


@pytest.mark.parametrize("flag,version,known", [
    ("--network-plugin=cni", "v1.23.17", True),
    ("--network-plugin=cni", "v1.24.0", False),
    ("--container-runtime=remote", "v1.26.5", True),
    ("--container-runtime=remote", "v1.27.0", False),
    ("--no-such-flag", "v1.30.2", False),
])
def test_removed_and_unknown_flags(flag, version, known):
    if known:
        k.parse_flags([flag], version)
    else:
        with pytest.raises(k.KubeletError) as err:
            k.parse_flags([flag], version)
        assert err.value.message == "failed to parse kubelet flag: unknown flag: " + flag.split("=")[0]


def test_fatal_wording_per_version(capsys):
    exc = k.KubeletError("failed to parse kubelet flag: unknown flag: --network-plugin")
    k.report_fatal(exc, "v1.30.2")
    err = capsys.readouterr().err
    assert 'run.go:74] "command failed" err="failed to parse kubelet flag: unknown flag: --network-plugin"' in err
    k.report_fatal(exc, "v1.24.2")
    assert capsys.readouterr().err == "Error: failed to parse kubelet flag: unknown flag: --network-plugin\n"
    k.report_fatal(k.KubeletError("failed to run Kubelet: x"), "v1.23.17")
    assert '"Failed to run kubelet" err="failed to run Kubelet: x"' in capsys.readouterr().err


def test_flags_override_config():
    config = {"kind": "KubeletConfiguration", "cgroupDriver": "cgroupfs", "healthzPort": 10248,
              "nodeStatusUpdateFrequency": "3s",
              "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock"}
    s = k.effective_settings({"cgroup-driver": "systemd", "node-labels": "a=b,node.kubernetes.io/pool=x"},
                             config, "v1.30.2")
    assert s["cgroup_driver"] == "systemd"
    assert s["status_frequency"] == 3.0
    assert s["node_labels"] == {"a": "b", "node.kubernetes.io/pool": "x"}
    assert s["runtime_endpoint"] == "unix:///run/containerd/containerd.sock"
    old = k.effective_settings({"container-runtime": "docker"}, config, "v1.23.17")
    assert old["container_runtime"] == "docker"
    assert old["runtime_endpoint"] == "unix:///var/run/dockershim.sock"  # config field is 1.27+


def test_docker_runtime_refused_after_dockershim_removal():
    s = k.effective_settings({"container-runtime": "docker"}, {}, "v1.25.0")
    with pytest.raises(k.KubeletError) as err:
        k.validate_settings(s)
    assert err.value.message == ('failed to validate kubelet flags: unsupported CRI runtime: "docker", '
                                 'only "remote" is currently supported')


def test_node_role_label_refused():
    s = k.effective_settings({"node-labels": "node-role.kubernetes.io/control-plane="}, {}, "v1.30.2")
    with pytest.raises(k.KubeletError) as err:
        k.validate_settings(s)
    assert "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels" in err.value.message


def test_taints():
    assert k.parse_taints("node-role.kubernetes.io/control-plane:NoSchedule,a=b:NoExecute") == [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        {"key": "a", "value": "b", "effect": "NoExecute"}]
    with pytest.raises(k.KubeletError):
        k.parse_taints("a=b:Sometimes")


def test_durations():
    assert k.parse_duration("3s", 10) == 3
    assert k.parse_duration("1m30s", 10) == 90
    assert k.parse_duration("500ms", 10) == 0.5
    assert k.parse_duration(None, 10) == 10


def test_missing_config_file_wording(tmp_path):
    with pytest.raises(k.KubeletError) as err:
        k.load_config_file(str(tmp_path / "config.yaml"))
    assert "failed to load kubelet config file, path: " in err.value.message
    assert "no such file or directory" in err.value.message


@pytest.mark.skipif(k._toml is None, reason="needs tomllib")
def test_containerd_cgroup_driver():
    assert k.containerd_cgroup_driver(CONTAINERD_V2 % "false") == "cgroupfs"
    assert k.containerd_cgroup_driver(CONTAINERD_V2 % "true") == "systemd"
    assert k.containerd_cgroup_driver(CONTAINERD_V3) == "systemd"
    assert k.containerd_cgroup_driver("version = 2\n") is None


def test_ctr_output_parsing():
    out = ("Client:\n  Version:  1.6.20~ds1\n  Revision: x\n\nServer:\n  Version:  1.6.20~ds1\n"
           "  Revision: 1.6.20~ds1-1+deb12u3\n")
    assert k.parse_ctr_server_version(out) == "1.6.20~ds1"
    plugins = ("TYPE                            ID                       PLATFORMS      STATUS\n"
               "io.containerd.grpc.v1           cri                      linux/amd64    ok\n")
    assert k.cri_plugin_state(plugins) == "ok"
    assert k.cri_plugin_state("TYPE ID PLATFORMS STATUS\n") is None


def test_runtime_errors_and_conditions():
    assert k.runtime_errors_for(100.0, 0.0, 105.0, 9.0) == []
    assert k.runtime_errors_for(100.0, 0.0, 110.0, 9.0) == ["container runtime is down"]
    assert k.runtime_errors_for(None, 0.0, 1.0, 9.0) == ["container runtime status check may not have completed yet"]
    long_down = k.runtime_errors_for(0.0, 0.0, 200.0, 9.0)
    assert long_down[0] == "container runtime is down" and long_down[1].startswith("PLEG is not healthy")
    state = k.NodeState()
    conds = {c["type"]: c for c in state.conditions([], 1000.0)}
    assert conds["Ready"]["status"] == "True" and conds["Ready"]["reason"] == "KubeletReady"
    assert conds["Ready"]["message"] == "kubelet is posting ready status"
    conds2 = {c["type"]: c for c in state.conditions(["container runtime is down"], 2000.0)}
    assert conds2["Ready"]["status"] == "False" and conds2["Ready"]["reason"] == "KubeletNotReady"
    assert conds2["Ready"]["message"] == "container runtime is down"
    assert conds2["Ready"]["lastTransitionTime"] != conds["Ready"]["lastTransitionTime"]
    assert conds2["MemoryPressure"]["lastTransitionTime"] == conds["MemoryPressure"]["lastTransitionTime"]


def test_healthz_state():
    h = k.HealthState()
    assert h.healthz(h.sync_loop_ok_at + 10) == (200, "ok")
    code, body = h.healthz(h.sync_loop_ok_at + k.SYNCLOOP_HEALTH_THRESHOLD + 1)
    assert code == 500 and "[-]syncloop failed" in body


def test_kubeconfig_embedded_and_files(tmp_path):
    pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    (tmp_path / "ca.crt").write_bytes(pem)
    (tmp_path / "client.pem").write_bytes(pem)
    embedded = tmp_path / "embedded.conf"
    embedded.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://h:1', certificate-authority-data: %s}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "users: [{name: u, user: {client-certificate-data: %s, client-key-data: %s}}]\n"
        % ((base64.b64encode(pem).decode(),) * 3))
    files = tmp_path / "files.conf"
    files.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://h:2', certificate-authority: ca.crt}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "users: [{name: u, user: {client-certificate: %s, client-key: %s}}]\n"
        % (tmp_path / "client.pem", tmp_path / "client.pem"))
    for path, server in ((embedded, "https://h:1"), (files, "https://h:2")):
        cfg = k.load_kubeconfig(str(path))
        assert cfg["server"] == server
        assert cfg["ca_pem"] == pem and cfg["cert_pem"] == pem and cfg["key_pem"] == pem


def test_standin_is_python39_syntax():
    import ast
    with open(os.path.join(os.path.dirname(k.__file__), "kubelet-standin.py")) as fh:
        source = fh.read()
    if sys.version_info >= (3, 8):
        ast.parse(source, feature_version=(3, 9))
    assert "SIMULATION" in source

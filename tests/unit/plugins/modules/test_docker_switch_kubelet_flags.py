"""The kubelet_flags module on a real file: write, backup, mode, check mode, diff, idempotence."""

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.nodeops.kubernetes.plugins.modules import kubelet_flags as module

DOCKERSHIM_ERA = ('KUBELET_KUBEADM_ARGS="--container-runtime=docker --network-plugin=cni '
                  '--pod-infra-container-image=k8s.gcr.io/pause:3.6"\n')
SWITCHED = ('KUBELET_KUBEADM_ARGS="--container-runtime=remote --pod-infra-container-image=k8s.gcr.io/pause:3.6 '
            '--container-runtime-endpoint=unix:///run/containerd/containerd.sock"\n')


def run(args, capsys, check_mode=False, diff=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    if diff:
        args = dict(args, _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture
def flags_file(tmp_path):
    path = tmp_path / "kubeadm-flags.env"
    path.write_text(DOCKERSHIM_ERA)
    os.chmod(str(path), 0o600)
    return str(path)


def test_the_switch_writes_the_file_with_a_backup_and_keeps_the_mode(flags_file, capsys):
    code, result = run({"path": flags_file, "kubelet_version": "v1.23.17"}, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert open(flags_file).read() == SWITCHED
    assert os.stat(flags_file).st_mode & 0o777 == 0o600
    assert open(result["backup_file"]).read() == DOCKERSHIM_ERA
    assert result["removed"] == [{"name": "network-plugin", "value": "cni"}]
    assert result["after"]["container-runtime"] == "remote"


def test_a_second_run_is_unchanged_and_makes_no_backup(flags_file, capsys):
    run({"path": flags_file, "kubelet_version": "v1.23.17"}, capsys)
    code, result = run({"path": flags_file, "kubelet_version": "v1.23.17"}, capsys)
    assert code == 0
    assert result["changed"] is False
    assert "backup_file" not in result
    assert len(os.listdir(os.path.dirname(flags_file))) == 2


def test_check_mode_with_diff_reports_and_writes_nothing(flags_file, capsys):
    code, result = run({"path": flags_file, "kubelet_version": "v1.23.17"}, capsys, check_mode=True, diff=True)
    assert code == 0
    assert result["changed"] is True
    assert result["diff"]["before"] == DOCKERSHIM_ERA
    assert result["diff"]["after"] == SWITCHED
    assert open(flags_file).read() == DOCKERSHIM_ERA
    assert os.listdir(os.path.dirname(flags_file)) == ["kubeadm-flags.env"]


def test_the_kubelet_version_comes_from_the_kubelet_binary_when_not_given(flags_file, capsys, monkeypatch):
    monkeypatch.setattr(module.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/kubelet")
    monkeypatch.setattr(module.AnsibleModule, "run_command",
                        lambda self, argv, **kwargs: (0, "Kubernetes v1.25.16\n", ""))
    code, result = run({"path": flags_file}, capsys)
    assert code == 0
    assert result["kubelet_version"] == "Kubernetes v1.25.16"
    assert "container-runtime" not in result["after"]


def test_without_a_kubelet_version_the_task_fails_and_the_file_stays(flags_file, capsys, monkeypatch):
    monkeypatch.setattr(module.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: None)
    code, result = run({"path": flags_file}, capsys)
    assert code == 1
    assert "give kubelet_version" in result["msg"]
    assert open(flags_file).read() == DOCKERSHIM_ERA


def test_a_missing_file_fails_naming_it(tmp_path, capsys):
    code, result = run({"path": str(tmp_path / "nope.env"), "kubelet_version": "v1.23.17"}, capsys)
    assert code == 1
    assert result["msg"].startswith("%s does not exist" % (tmp_path / "nope.env"))


def test_non_default_cni_dirs_are_task_warnings(tmp_path, capsys, monkeypatch):
    warned = []
    monkeypatch.setattr(module.AnsibleModule, "warn", lambda self, warning, **kwargs: warned.append(warning))
    path = tmp_path / "f.env"
    path.write_text('KUBELET_KUBEADM_ARGS="--network-plugin=cni --cni-conf-dir=/etc/kubernetes/cni"\n')
    code, result = run({"path": str(path), "kubelet_version": "v1.23.17", "backup": False}, capsys)
    assert code == 0
    assert warned == result["flag_warnings"] and len(warned) == 1
    assert "backup_file" not in result

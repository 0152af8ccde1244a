"""The Windows upgrade of one node, run by ansible-playbook through the role's own tasks against a fake
Windows host, API server and drain (windows_fakes.py): backups before the change, the new kubelet
proven, and the rollback when it is not Ready in time, with the report it leaves.

No lab and no Windows host: what this proves is the role's flow (order of steps, conditions, the
rollback and the report), not the behaviour of Windows, containerd or the kubelet. About 20 s per
test on a loaded two-core machine, hence here and not among the unit tests."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from windows_fakes import COMMON, MODULES

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
KUBELET, KUBEADM, CONFIG = "C:\\k\\kubelet.exe", "C:\\k\\kubeadm.exe", "C:\\var\\lib\\kubelet\\config.yaml"
BACKUPS = [path + ".v1.34.3.bak" for path in (KUBELET, KUBEADM, CONFIG)]

PLAYBOOK = """
- name: Upgrade one Windows node against fakes
  hosts: win-1
  gather_facts: false
  vars:
    windows_node_operation: upgrade
    windows_node_cluster_version: v1.34.4
    windows_node_kubelet_checksum: "0"
    windows_node_kubeadm_checksum: "0"
    windows_node_ready_timeout: 2
    windows_node_poll_interval: 1
    node_maintenance_capacity_check: skip
  tasks:
    - name: Put the node into the run's group
      ansible.builtin.group_by:
        key: nodeops_windows_node_targets
    - name: Upgrade it
      block:
        - name: Upgrade the node with the role
          ansible.builtin.include_role:
            name: nodeops.kubernetes.windows_node
            tasks_from: upgrade.yml
      rescue:
        - name: Go on to keep the report
          ansible.builtin.debug:
            msg: "{{ ansible_failed_result.msg }}"
    - name: Keep the report
      ansible.builtin.copy:
        content: "{{ windows_node_report | to_json }}"
        dest: "{{ report_path }}"
        mode: "0644"
      check_mode: false
"""


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    """The collection with a fake drain module, and fake ansible.windows and kubernetes.core modules."""
    base = tmp_path_factory.mktemp("collections")
    ours = base / "ansible_collections" / "nodeops" / "kubernetes"
    for part in ("roles", "plugins", "meta"):
        shutil.copytree(os.path.join(ROOT, part), str(ours / part))
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), str(ours / "galaxy.yml"))
    for path, body in MODULES.items():
        target = base / "ansible_collections" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(COMMON + textwrap.dedent(body))
    return str(base)


def upgrade(collections, tmp_path, check_mode=False, cordoned=False, broken=(), **switches):
    state = {"files": {KUBELET: "v1.34.3", KUBEADM: "v1.34.3", CONFIG: "v1.34.3"}, "kubelet": "running",
             "running": "v1.34.3", "renew": 0, "broken": list(broken), "cordoned": cordoned, "events": []}
    state.update(switches)
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory").write_text("win-1 ansible_connection=local ansible_python_interpreter=%s\n"
                                        % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, WINDOWS_FAKE_STATE=str(tmp_path / "state.json"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    argv = [ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "inventory"), str(tmp_path / "play.yml"),
            "-e", "report_path=%s" % (tmp_path / "report.json")] + (["--check"] if check_mode else [])
    run = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    return report, json.loads((tmp_path / "state.json").read_text())


def test_an_upgrade_keeps_backups_before_the_change_and_proves_the_new_kubelet(collections, tmp_path):
    report, state = upgrade(collections, tmp_path)
    assert report["action"] == "changed" and report["reason"] == "kubelet v1.34.3 -> v1.34.4"
    assert report["backups"] == BACKUPS
    assert all(state["files"][backup] == "v1.34.3" for backup in BACKUPS)
    events = state["events"]
    replaced = events.index("copy %s.new -> %s" % (KUBEADM, KUBEADM))
    assert events.index("copy %s -> %s" % (KUBEADM, BACKUPS[1])) < replaced
    assert events[-5:] == ["run upgrade node", "kubelet stopped", "copy %s.new -> %s" % (KUBELET, KUBELET),
                           "kubelet running", "uncordon"]
    assert state["running"] == "v1.34.4" and not state["cordoned"]


def test_a_kubelet_not_ready_in_time_is_rolled_back_and_the_node_uncordoned(collections, tmp_path):
    report, state = upgrade(collections, tmp_path, broken=["v1.34.4"])
    assert report["action"] == "rolled_back"
    assert report["reason"].startswith("rolled back to kubelet v1.34.3 (files restored, Ready with a renewed Lease, "
                                       "uncordoned) after")
    assert "was not Ready on kubelet v1.34.4 with a renewed Lease within 2 s" in report["reason"]
    rollback = report["details"]["rollback"]
    assert rollback["healthy"] and rollback["uncordoned"] and rollback["restored"] == [KUBELET, KUBEADM, CONFIG]
    assert [state["files"][path] for path in (KUBELET, KUBEADM, CONFIG)] == ["v1.34.3"] * 3
    assert state["running"] == "v1.34.3" and state["kubelet"] == "running" and not state["cordoned"]
    assert report["left_as_is"] == {"cordoned": False, "services_stopped": []}


def test_a_failed_kubeadm_upgrade_node_is_rolled_back_and_a_cordoned_node_stays_cordoned(collections, tmp_path):
    report, state = upgrade(collections, tmp_path, kubeadm_fails=True, cordoned=True)
    assert report["action"] == "rolled_back" and "kubeadm upgrade node failed" in report["reason"]
    assert state["files"][KUBEADM] == "v1.34.3" and state["running"] == "v1.34.3"
    assert not report["details"]["rollback"]["uncordoned"]
    assert state["cordoned"] and report["left_as_is"]["cordoned"]


def test_a_rollback_that_does_not_bring_the_node_back_is_reported_failed_and_left_cordoned(collections, tmp_path):
    report, state = upgrade(collections, tmp_path, broken=["v1.34.4", "v1.34.3"],
                            unreadable=[BACKUPS[0]])
    assert report["action"] == "failed"
    assert report["reason"].startswith("THE ROLLBACK DID NOT BRING BACK A WORKING KUBELET (restoring "
                                       "C:\\k\\kubelet.exe:")
    assert report["details"]["rollback"]["restored"] == [KUBEADM, CONFIG]
    assert state["cordoned"] and report["left_as_is"]["cordoned"]


def test_check_mode_changes_nothing_and_says_what_would_change(collections, tmp_path):
    report, state = upgrade(collections, tmp_path, check_mode=True)
    assert report["action"] == "would_change" and report["backups"] == []
    assert state["events"] == [] and state["files"] == {KUBELET: "v1.34.3", KUBEADM: "v1.34.3", CONFIG: "v1.34.3"}

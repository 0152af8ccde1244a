# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""net.bridge.bridge-nf-call-iptables on a Linux node: parsers, each check, then the whole run on a fake root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _bridge_netfilter as bn
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

SYSCTL_FILE = bn.DEFAULT_SYSCTL_FILE
MODULES_FILE = bn.DEFAULT_MODULES_FILE


class Node(object):
    """A node's files under a temporary root; modprobe loads br_netfilter with the kernel default 1."""

    def __init__(self, root, value=None, module=True, files=None, modprobe_rc=0):
        self.root = str(root)
        self.modprobe_calls = []
        self.modprobe_rc = modprobe_rc
        self.put("/proc/modules", "overlay 151552 0 - Live 0x0\n")
        if value is not None:
            self.load(value, module)
        for path, text in (files or {}).items():
            self.put(path, text)
        self.system = bn.NodeSystem(self.root, run_command=self.run_command, which=lambda name: "/sbin/" + name,
                                    backup=self.backup)

    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def put(self, path, text):
        if not os.path.isdir(os.path.dirname(self.path(path))):
            os.makedirs(os.path.dirname(self.path(path)))
        with open(self.path(path), "w") as handle:
            handle.write(text)

    def get(self, path):
        if not os.path.exists(self.path(path)):
            return None
        with open(self.path(path)) as handle:
            return handle.read()

    def load(self, value="1", module=True):
        self.put(bn.PROC_VALUE, "%s\n" % value)
        if module:
            self.put("/proc/modules", self.get("/proc/modules") + "br_netfilter 32768 0 - Live 0x0\n")

    def run_command(self, argv):
        self.modprobe_calls.append(argv)
        if self.modprobe_rc:
            return self.modprobe_rc, "", "modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/6.1"
        self.load()
        return 0, "", ""

    def backup(self, path):
        copy = path + ".1234.2026-11-30@12:00:00~"
        shutil.copy2(path, copy)
        return copy


def run(node, check_mode=False, diff_mode=False, **params):
    params.setdefault("on_problem", "warn")
    return bn.run(node.system, params, check_mode, diff_mode)


def statuses(result):
    return dict((f["check"], f["status"]) for f in result["findings"])


# --- parsers ---------------------------------------------------------------------------------------

def test_sysctl_keys_take_dots_or_slashes_and_the_last_assignment_wins():
    text = "# comment\n; other\nnet/bridge/bridge-nf-call-iptables=0\n-net.bridge.bridge-nf-call-iptables = 1\n"
    assert bn.sysctl_value(text, "f.conf") == "1"
    assert bn.sysctl_value("vm.swappiness = 10\n", "f.conf") is None


def test_a_sysctl_line_that_is_no_assignment_is_refused_with_the_file_and_line():
    with pytest.raises(NodeOpsError, match=r"f.conf line 2 is not 'key = value'"):
        bn.parse_sysctl("a = 1\nnot an assignment\n", "f.conf")


def test_setting_the_key_keeps_comments_and_spacing():
    text = "# keep me\nnet.bridge.bridge-nf-call-iptables   =   0   \nvm.swappiness=10\n"
    assert bn.set_sysctl(text) == "# keep me\nnet.bridge.bridge-nf-call-iptables   =   1   \nvm.swappiness=10\n"
    assert bn.set_sysctl("vm.swappiness=10") == "vm.swappiness=10\nnet.bridge.bridge-nf-call-iptables = 1\n"
    assert bn.set_sysctl("") == "net.bridge.bridge-nf-call-iptables = 1\n"


def test_module_lists_ignore_comments_and_treat_dash_as_underscore():
    assert bn.module_names("# br_netfilter\nbr-netfilter\noverlay\n") == ["br_netfilter", "overlay"]
    assert bn.add_module("overlay") == "overlay\nbr_netfilter\n"
    assert bn.add_module("br_netfilter\n") == "br_netfilter\n"


# --- what the boot applies -------------------------------------------------------------------------

def test_an_etc_file_hides_the_same_name_in_usr_lib_and_files_apply_in_name_order(tmp_path):
    node = Node(tmp_path, value="1", files={
        "/usr/lib/sysctl.d/50-bridge.conf": "net.bridge.bridge-nf-call-iptables = 0\n",
        "/etc/sysctl.d/50-bridge.conf": "net.bridge.bridge-nf-call-iptables = 1\n",
        "/usr/lib/sysctl.d/10-early.conf": "net.bridge.bridge-nf-call-iptables = 0\n",
    })
    state = bn.State(node.system, SYSCTL_FILE, MODULES_FILE)
    assert (state.persisted_value, state.persisted_in) == ("1", "/etc/sysctl.d/50-bridge.conf")


def test_etc_sysctl_conf_applies_last(tmp_path):
    node = Node(tmp_path, value="1", files={"/etc/sysctl.d/99-k8s.conf": "net.bridge.bridge-nf-call-iptables=1\n",
                                            "/etc/sysctl.conf": "net.bridge.bridge-nf-call-iptables=0\n"})
    state = bn.State(node.system, SYSCTL_FILE, MODULES_FILE)
    assert (state.persisted_value, state.persisted_in) == ("0", "/etc/sysctl.conf")


def test_the_module_loaded_at_boot_is_found_in_modules_load_d_or_etc_modules(tmp_path):
    node = Node(tmp_path, value="1", files={"/etc/modules": "# Debian\nbr_netfilter\n"})
    assert bn.State(node.system, SYSCTL_FILE, MODULES_FILE).module_persisted_in == "/etc/modules"


# --- each check ------------------------------------------------------------------------------------

def test_a_node_set_up_like_kubeadm_asks_passes(tmp_path):
    node = Node(tmp_path, value="1", files={"/etc/modules-load.d/k8s.conf": "overlay\nbr_netfilter\n",
                                            "/etc/sysctl.d/k8s.conf": "net.bridge.bridge-nf-call-iptables = 1\n"})
    result = run(node)
    assert set(statuses(result).values()) == {bn.OK}
    assert result["problems"] == [] and not result["changed"] and "warnings" not in result
    assert result["value"] == "1" and result["module_loaded"]


def test_an_absent_value_means_br_netfilter_is_not_loaded(tmp_path):
    result = run(Node(tmp_path))
    assert statuses(result)["br_netfilter"] == bn.ERROR
    assert "bridge_nf_call_iptables" not in statuses(result)
    assert "the br_netfilter kernel module is not loaded" in result["problems"][0]
    assert "modprobe br_netfilter" in result["problems"][0] and "fix=true" in result["problems"][0]
    assert result["value"] is None and not result["module_loaded"]


def test_a_value_of_zero_is_a_problem_naming_the_sysctl_fix(tmp_path):
    result = run(Node(tmp_path, value="0"))
    assert statuses(result)["bridge_nf_call_iptables"] == bn.ERROR
    assert "net.bridge.bridge-nf-call-iptables is 0" in result["problems"][0]
    assert "sysctl -w net.bridge.bridge-nf-call-iptables=1" in result["problems"][0]


def test_a_setting_lost_at_reboot_is_a_warning_not_a_problem(tmp_path):
    node = Node(tmp_path, value="1",
                files={"/usr/lib/sysctl.d/00-system.conf": "net.bridge.bridge-nf-call-iptables=0\n"})
    result = run(node)
    assert statuses(result)["br_netfilter_at_boot"] == bn.WARNING
    assert statuses(result)["bridge_nf_call_iptables_at_boot"] == bn.WARNING
    assert "/usr/lib/sysctl.d/00-system.conf sets net.bridge.bridge-nf-call-iptables = 0" in result["warnings"][1]
    assert result["problems"] == [] and len(result["warnings"]) == 2


def test_no_file_setting_the_key_keeps_the_kernel_default(tmp_path):
    result = run(Node(tmp_path, value="1"))
    assert statuses(result)["bridge_nf_call_iptables_at_boot"] == bn.OK
    assert "kernel's default 1" in result["findings"][-1]["message"]


def test_a_built_in_module_needs_no_modules_load_file(tmp_path):
    result = run(Node(tmp_path, value="1", module=False))
    assert statuses(result)["br_netfilter_at_boot"] == bn.OK
    assert "built into the kernel" in result["findings"][0]["message"]


def test_on_problem_fail_raises_with_the_findings(tmp_path):
    with pytest.raises(NodeOpsError) as raised:
        run(Node(tmp_path, value="0"), on_problem="fail")
    assert "1 problem(s)" in raised.value.message
    assert raised.value.details["problems"] and raised.value.details["findings"]


# --- the fix ---------------------------------------------------------------------------------------

def test_check_mode_says_what_would_change_and_changes_nothing(tmp_path):
    node = Node(tmp_path)
    result = run(node, check_mode=True, diff_mode=True, fix=True)
    assert result["changed"] and result["problems"] == []
    assert result["actions"] == ["modprobe br_netfilter", "sysctl -w net.bridge.bridge-nf-call-iptables=1",
                                 "write " + MODULES_FILE]
    assert statuses(result)["br_netfilter"] == bn.WOULD_FIX and statuses(result)["fix"] == bn.WOULD_FIX
    assert result["msg"].startswith("bridge netfilter: would modprobe br_netfilter")
    assert [(d["after_header"], d["after"]) for d in result["diff"]] == [(MODULES_FILE, "br_netfilter\n")]
    assert node.modprobe_calls == [] and node.get(bn.PROC_VALUE) is None
    assert node.get(SYSCTL_FILE) is None and node.get(MODULES_FILE) is None


def test_fix_loads_sets_and_persists_then_a_second_run_changes_nothing(tmp_path):
    node = Node(tmp_path)
    result = run(node, fix=True)
    assert result["changed"] and node.modprobe_calls == [["/sbin/modprobe", "br_netfilter"]]
    assert node.get(MODULES_FILE) == "br_netfilter\n" and node.get(SYSCTL_FILE) is None
    assert node.get(bn.PROC_VALUE).strip() == "1"
    assert statuses(result)["fix"] == bn.FIXED
    assert all(status in (bn.OK, bn.FIXED) for status in statuses(result).values())
    assert result["value"] == "1" and result["module_loaded"] and result["backups"] == []

    again = run(node, fix=True)
    assert not again["changed"] and again["actions"] == []
    assert node.modprobe_calls == [["/sbin/modprobe", "br_netfilter"]]


def test_fix_overrides_a_distribution_default_of_zero_with_its_own_later_file(tmp_path):
    node = Node(tmp_path, value="0",
                files={"/etc/modules-load.d/k8s.conf": "br_netfilter\n",
                       "/usr/lib/sysctl.d/00-system.conf": "net.bridge.bridge-nf-call-iptables=0\n"})
    result = run(node, check_mode=True, diff_mode=True, fix=True)
    assert result["diff"] == [{"before": "", "after": "net.bridge.bridge-nf-call-iptables = 1\n",
                               "before_header": SYSCTL_FILE, "after_header": SYSCTL_FILE}]
    result = run(node, fix=True)
    assert node.get(SYSCTL_FILE) == "net.bridge.bridge-nf-call-iptables = 1\n"
    assert node.get("/usr/lib/sysctl.d/00-system.conf") == "net.bridge.bridge-nf-call-iptables=0\n"
    assert statuses(result)["bridge_nf_call_iptables_at_boot"] == bn.OK
    assert not run(node, fix=True)["changed"]


def test_fix_sets_a_zero_value_and_edits_its_own_file_in_place_with_a_backup(tmp_path):
    node = Node(tmp_path, value="0", files={
        "/etc/modules-load.d/k8s.conf": "br_netfilter\n",
        SYSCTL_FILE: "# managed by hand once\nnet.bridge.bridge-nf-call-iptables = 0\n",
    })
    result = run(node, fix=True)
    assert result["actions"] == ["sysctl -w net.bridge.bridge-nf-call-iptables=1", "write " + SYSCTL_FILE]
    assert node.get(SYSCTL_FILE) == "# managed by hand once\nnet.bridge.bridge-nf-call-iptables = 1\n"
    assert len(result["backups"]) == 1 and "= 0" in node.get(result["backups"][0][len(node.root):])
    assert node.get(bn.PROC_VALUE).strip() == "1"


def test_fix_without_persist_leaves_the_boot_files_alone_and_keeps_the_warning(tmp_path):
    node = Node(tmp_path, value="0")
    result = run(node, fix=True, persist=False)
    assert result["actions"] == ["sysctl -w net.bridge.bridge-nf-call-iptables=1"]
    assert node.get(MODULES_FILE) is None and len(result["warnings"]) == 1


def test_a_later_file_of_someone_else_setting_zero_is_refused_naming_it(tmp_path):
    node = Node(tmp_path, value="0", files={"/etc/sysctl.conf": "net.bridge.bridge-nf-call-iptables = 0\n",
                                            "/etc/modules-load.d/k8s.conf": "br_netfilter\n"})
    with pytest.raises(NodeOpsError, match="/etc/sysctl.conf sets net.bridge.bridge-nf-call-iptables = 0 and "
                                           "applies after " + SYSCTL_FILE):
        run(node, fix=True)
    assert node.get(SYSCTL_FILE) is None


def test_a_failing_modprobe_names_the_cause(tmp_path):
    with pytest.raises(NodeOpsError, match="modprobe br_netfilter failed .rc 1.: modprobe: FATAL"):
        run(Node(tmp_path, modprobe_rc=1), fix=True)


@pytest.mark.parametrize("option, path", [("sysctl_file", "/etc/sysctl.d/bridge.txt"),
                                          ("sysctl_file", "/opt/bridge.conf"),
                                          ("modules_file", "/etc/modules")])
def test_a_file_the_boot_does_not_read_is_refused(tmp_path, option, path):
    with pytest.raises(NodeOpsError, match="%s %s is not read at boot" % (option, path)):
        run(Node(tmp_path, value="1"), **{option: path})

"""Decisions of the windows_node role's tasks, rendered with Ansible's own templating: the verdict
over the Linux nodes' bridge netfilter checks and when the join's bootstrap token is deleted."""

import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

TASKS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "windows_node", "tasks")


def task(file_name, name_start):
    with open(os.path.join(TASKS, file_name)) as handle:
        tasks = yaml.safe_load(handle)
    return [t for t in tasks if t["name"].startswith(name_start)][0]


def render(expression, **variables):
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(expression))


# --- the Linux nodes -----------------------------------------------------------------------------

VERDICT = task("linux_nodes.yml", "Refuse when a Linux node does not pass")
PROBLEM = ("net.bridge.bridge-nf-call-iptables is 0: bridged pod traffic bypasses iptables (fix: sysctl -w "
           "net.bridge.bridge-nf-call-iptables=1 (fix=true does it))")


def verdict(results, fix=False):
    problems = render(VERDICT["vars"]["windows_node_linux_problems"],
                      windows_node_bridge_netfilter={"results": results})
    message = render(VERDICT["ansible.builtin.assert"]["fail_msg"], windows_node_linux_problems=problems,
                     windows_node_fix_bridge_netfilter=fix)
    return problems, " ".join(message.split())


def test_passing_linux_nodes_give_no_problem():
    assert verdict([{"item": "cp-1", "problems": []}, {"item": "worker-1", "problems": []}])[0] == []


def test_a_failing_linux_node_is_named_with_the_cause_the_fix_and_the_variable_that_fixes_it():
    problems, message = verdict([{"item": "cp-1", "problems": []}, {"item": "worker-1", "problems": [PROBLEM]}])
    assert problems == ["Linux node worker-1: " + PROBLEM]
    assert message.startswith("windows_node: Linux node worker-1: net.bridge.bridge-nf-call-iptables is 0")
    assert "-e windows_node_fix_bridge_netfilter=true" in message


def test_the_fix_variable_is_not_suggested_when_it_was_set():
    assert "windows_node_fix_bridge_netfilter" not in verdict([{"item": "w", "problems": [PROBLEM]}], fix=True)[1]


@pytest.mark.parametrize("result, expected", [
    ({"item": "worker-2", "unreachable": True, "msg": "ssh: connect to host 10.0.0.12 port 22: timed out"},
     "Linux node worker-2 cannot be reached (ssh: connect to host 10.0.0.12 port 22: timed out); fix its "
     "connection, or leave it out of windows_node_linux_hosts"),
    ({"item": "worker-3", "failed": False, "msg": "modprobe br_netfilter failed (rc 1): not found"},
     "Linux node worker-3: the check failed: modprobe br_netfilter failed (rc 1): not found"),
])
def test_an_unreachable_or_failing_linux_node_refuses_the_run_too(result, expected):
    problems, message = verdict([result])
    assert problems == [expected]
    assert "windows_node_fix_bridge_netfilter" not in message


# --- the bootstrap token ---------------------------------------------------------------------------

CLEANUP = task("material.yml", "Delete the bootstrap token created")


@pytest.mark.parametrize("cleanup, created, check_mode, deleted", [
    (True, True, False, True),
    (True, False, False, False),   # a reused token expires with its TTL
    (False, True, False, False),   # the operator keeps tokens until their TTL
    (True, True, True, False),     # check mode creates no token
])
def test_only_the_token_this_join_created_is_deleted_and_only_when_asked(cleanup, created, check_mode, deleted):
    variables = {"windows_node_token_cleanup": cleanup, "ansible_check_mode": check_mode,
                 "windows_node_material": {"created": created, "token_id": "abcdef"}}
    assert all(render("{{ %s }}" % condition, **variables) for condition in CLEANUP["when"]) is deleted
    module = CLEANUP["nodeops.kubernetes.join_material"]
    assert module["state"] == "absent" and render(module["token_id"], **variables) == "abcdef"

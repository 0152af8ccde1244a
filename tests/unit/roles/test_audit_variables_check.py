"""The audit playbook checks the role's variables once (entry point fleet), before any read, wherever they are
set: extra variables, or the group variables of the nodes (which the first node of the run sees)."""

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PLAYBOOK = os.path.join(ROOT, "playbooks", "audit.yml")


def audit(tmp_path, extra=(), group_vars=None):
    collections = [p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "nodeops"))][0]
    hosts = dict(("w%d" % n, {"ansible_connection": "local", "ansible_python_interpreter": sys.executable})
                 for n in (1, 2, 3))
    inventory = {"all": {"children": {"k8s_cluster": {"hosts": hosts, "vars": dict(group_vars or {})}}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(path), PLAYBOOK]
    for item in extra:
        argv += ["-e", item]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False, timeout=300)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("extra, group_vars", [
    (["audit_threshold_days=soon"], None),
    ([], {"audit_threshold_days": "soon"}),
], ids=["extra variable", "group variable of the nodes"])
def test_a_bad_variable_stops_the_audit_before_any_read_naming_it(tmp_path, extra, group_vars):
    rc, out = audit(tmp_path, extra, group_vars)
    assert rc != 0, out
    assert "Check the audit's variables once" in out
    assert "audit_threshold_days" in out and "cannot be converted to an int" in out, out[-3000:]
    # stopped there: no cluster read, no node read, no per-host check
    assert "Read the nodes, their Leases" not in out and "Read the runtime and cgroup drivers" not in out
    assert "Validating arguments against arg spec" not in out

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_audit_facts: one Python process on the node (sent as python3 -c), parsed on the controller into what the
three modules return."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.kubernetes.plugins.action import node_audit_facts as action_plugin
from ansible_collections.nodeops.kubernetes.plugins.module_utils import (
    _cert_expiry,
    _docker_scan,
    _node_audit,
    _node_audit_facts,
    _node_audit_options,
    _runtime_facts,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._docker_scan_node import scan_node
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.modules import node_audit_facts as module  # the documentation

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils"))
from certs_helpers import certificate, kubeadm_pki, kubeconfig, pem  # noqa: E402  pylint: disable=wrong-import-position

KUBELET_CONFIG = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n"
FLAGS = 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock"\n'
DAEMON_JSON = json.dumps({"log-driver": "fluentd", "registry-mirrors": ["https://mirror.example.com"]})


def put(root, path, data):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    return full


@pytest.fixture
def node(tmp_path, monkeypatch):
    """A node tree below tmp_path: a kubelet, a kubeadm control plane's PKI, Docker's daemon.json; no ss."""
    root = str(tmp_path)
    for path, data in kubeadm_pki(days={"apiserver": 5}).items():
        put(root, path, data)
    put(root, "/var/lib/kubelet/config.yaml", KUBELET_CONFIG)
    put(root, "/var/lib/kubelet/kubeadm-flags.env", FLAGS)
    put(root, "/etc/docker/daemon.json", DAEMON_JSON)
    original = _docker_scan.NodeScanner.__init__

    def init(self, node_name, **kwargs):
        kwargs["root"] = root
        original(self, node_name, **kwargs)

    monkeypatch.setattr(_docker_scan.NodeScanner, "__init__", init)
    monkeypatch.setattr(_node_audit, "ss_connections", lambda: None)
    return root


def options(root, **more):
    """The module's options for the tree: every path below root, binaries that do not exist."""
    params = dict((name, spec.get("default")) for name, spec in _node_audit_options.ARGUMENT_SPEC.items())
    params.update(
        kubelet_config_path=os.path.join(root, "var/lib/kubelet/config.yaml"),
        kubelet_flags_files=[os.path.join(root, "var/lib/kubelet/kubeadm-flags.env")],
        containerd_binary=os.path.join(root, "no-containerd"), docker_binary=os.path.join(root, "no-docker"),
        pki_dir=os.path.join(root, "etc/kubernetes/pki"), kubeconfig_dir=os.path.join(root, "etc/kubernetes"),
        manifests_dir=os.path.join(root, "etc/kubernetes/manifests"), name="w1",
        daemon_json="/etc/docker/daemon.json", script_paths=[])
    params.update(more)
    return params


def node_answers(args):
    """What the node answers (through JSON, as it travels): its entry function run here, where the tree's root
    can be patched; test_node_script_runs_the_entry_on_a_bare_python runs it as the node does."""
    return json.loads(json.dumps(_node_audit.read_this_node(args)))


def python_c(source, request):
    """What node_runtime_facts and cert_expiry get from the node: the reader run as ``python3 -c``."""
    return subprocess.run([sys.executable, "-c", source, json.dumps(request)], stdout=subprocess.PIPE,
                          universal_newlines=True, check=True).stdout


def no_more_reads(request):
    raise AssertionError("unexpected second read %r" % (request,))


def test_a_reader_run_in_the_module_prints_what_python_c_prints(node):
    request = _cert_expiry.node_request(pki_dir=os.path.join(node, "etc/kubernetes/pki"),
                                        kubeconfig_dir=os.path.join(node, "etc/kubernetes"))
    assert _node_audit.run_reader(_cert_expiry.NODE_READER, request) == python_c(_cert_expiry.NODE_READER, request)
    assert sys.argv[0] != "nodeops-reader"


def test_the_module_returns_both_readers_answers_and_the_docker_scan_in_one_run(node):
    result = node_answers(options(node))
    assert result["errors"] == {} and "changed" not in result
    runtime = json.loads(result["runtime_answer"])
    assert runtime["files"][os.path.join(node, "var/lib/kubelet/config.yaml")]["exists"] is True
    assert os.path.join(node, "etc/kubernetes/pki/apiserver.crt") in json.loads(result["certificates_answer"])["files"]
    assert result["docker_node"]["node"] == "w1"
    assert "daemon-json-log-driver:node/w1" in result["docker_node"]["blocking"]


def test_no_dns_server_no_query(node):
    result = node_answers(options(node))
    assert result["dns_answer"] is None


class Cache(object):
    """A DNS server's answers in turn (dicts, or NodeOpsError for no answer); the questions asked."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = []

    def send(self, server, qname, **kwargs):
        self.asked.append((server, qname, kwargs["qtype"], kwargs["port"]))
        answer = self.answers.pop(0)
        if isinstance(answer, NodeOpsError):
            raise answer
        return dict(answer)


DNS = dict(dns_server="169.254.20.10", dns_qname="kubernetes.default.svc.cluster.local", dns_expect=["10.96.0.1"])


def test_the_dns_answer_comes_from_the_same_run(node):
    cache = Cache({"rcode": "NOERROR", "addresses": ["10.96.0.1"], "seconds": 0.001})
    answers = _node_audit.read_node(options(node, **DNS), "w1", send=cache.send)
    assert cache.asked == [("169.254.20.10", "kubernetes.default.svc.cluster.local", "A", 53)]
    assert answers["dns_answer"]["rcode"] == "NOERROR" and answers["dns_answer"]["attempts"] == 1
    assert answers["errors"] == {}
    result = _node_audit_facts.audit_facts(answers, options(node, **DNS), no_more_reads, "w1")
    assert result["dns_answer"] == answers["dns_answer"] and result["errors"] == []


def test_a_cache_that_does_not_answer_well_is_an_answer_not_an_error(node, monkeypatch):
    monkeypatch.setattr(_node_audit._dns_wire.time, "sleep", lambda seconds: None)
    cache = Cache(NodeOpsError("no answer from 169.254.20.10:53/udp within 2.0 s"),
                  {"rcode": "SERVFAIL", "addresses": [], "seconds": 0.001})
    answers = _node_audit.read_node(options(node, **DNS), "w1", send=cache.send)
    answer = answers["dns_answer"]
    assert answer["failed"] is True and answer["rcode"] == "SERVFAIL" and answer["attempts"] == 2
    assert answer["msg"].startswith("169.254.20.10:53/udp answered SERVFAIL") and len(cache.asked) == 2
    assert answers["errors"] == {}


def test_the_parts_are_what_the_three_modules_return(node):
    params = options(node)
    answers = node_answers(params)
    facts = _node_audit_facts.audit_facts(answers, params, no_more_reads, "w1")
    assert facts["errors"] == []
    runtime_options = _node_audit_options.pick(params, _node_audit_options.RUNTIME_OPTIONS)
    own = python_c(_runtime_facts.NODE_READER, _runtime_facts.node_request(**runtime_options))
    expected_runtime = _runtime_facts.runtime_facts(_runtime_facts.decode_reader_output(own, "w1"), **runtime_options)
    # the commands (systemctl and stat on this machine) ran twice; the files decide the rest
    for key in ("kubelet", "container_runtime", "containerd", "docker"):
        assert facts["runtime_facts"][key] == expected_runtime[key]
    assert facts["runtime_facts"]["kubelet"]["cgroup_driver"] == "systemd"

    def read_here(request):
        return _cert_expiry.decode_reader_output(python_c(_cert_expiry.NODE_READER, request), "w1")

    expected_certs = _cert_expiry.read_expiry_report(read_here, **_node_audit_options.pick(params, _node_audit_options.CERTIFICATE_OPTIONS))
    for report in (facts["certificates"], expected_certs):
        report.pop("now")
        report.pop("soonest_residual_seconds")
        report.pop("kubeadm")
        for row in report["certificates"] + report["certificate_authorities"] + report["kubelet"]:
            row.pop("residual_seconds", None)
            row.pop("residual_time", None)
    assert facts["certificates"] == expected_certs
    assert facts["certificates"]["due"] == ["apiserver"]
    expected_docker = scan_node("w1", daemon_json="/etc/docker/daemon.json", script_paths=[])
    assert facts["docker_node"] == expected_docker


def test_a_malformed_daemon_json_is_an_error_of_the_docker_part_only(node):
    put(node, "/etc/docker/daemon.json", "{not json")
    params = options(node)
    answers = node_answers(params)
    assert answers["docker_node"] is None and "daemon.json" in answers["errors"]["docker_node"]
    facts = _node_audit_facts.audit_facts(answers, params, no_more_reads, "w1")
    assert facts["runtime_facts"]["kubelet"]["cgroup_driver"] == "systemd"
    assert facts["certificates"]["due"] == ["apiserver"]
    assert len(facts["errors"]) == 1 and facts["errors"][0].startswith("docker_node: ")


def test_an_unreadable_answer_names_its_part_and_keeps_the_others(node):
    params = options(node)
    answers = node_answers(params)
    answers["runtime_answer"] = "not json"
    facts = _node_audit_facts.audit_facts(answers, params, no_more_reads, "w1")
    assert facts["runtime_facts"] is None and facts["certificates"]["due"] == ["apiserver"]
    assert facts["errors"][0].startswith("runtime_facts: cannot read the runtime facts of w1")


def test_client_certificate_files_named_by_a_kubeconfig_are_read_in_a_second_request(node):
    client = os.path.join(node, "etc/kubernetes/pki/admin-client.pem")
    cert = certificate("kubernetes-admin", 200, issuer=certificate("kubernetes", 3650, ca=True))
    put(node, "/etc/kubernetes/admin.conf",
        kubeconfig(cert, embed=False).replace(b"/var/lib/kubelet/pki/kubelet-client-current.pem", client.encode()))
    params = options(node)
    answers = node_answers(params)
    asked = []

    def read_more(request):
        asked.append(request)
        return {client: pem(cert)}, []

    facts = _node_audit_facts.audit_facts(answers, params, read_more, "w1")
    assert asked == [{"pem": [client]}]
    admin = [row for row in facts["certificates"]["certificates"] if row["name"] == "admin.conf"][0]
    assert admin["missing"] is False and admin["residual_time"].endswith("d")


# --------------------------------------------------------------------------- the action plugin

class FakeTask(object):
    def __init__(self, args):
        self.args = args
        self.check_mode = False
        self.diff = False
        self.async_val = 0


class FakeConnection(object):
    class _shell(object):  # noqa: N801 - mirrors the attribute name of a connection
        tmpdir = None


@pytest.fixture
def action_run(monkeypatch):
    """Run the action with a connection that runs its commands here (the node is this machine)."""
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)

    def run(args, fixed=None):
        commands = []
        action = action_plugin.ActionModule(FakeTask(args), FakeConnection(), None, None, None)

        def execute(cmd, sudoable=True):
            commands.append((cmd, sudoable))
            if fixed:
                return dict(fixed)
            proc = subprocess.run(["/bin/sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, check=False)
            return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

        action._low_level_execute_command = execute
        action._execute_module = None  # no module runs on the node
        return action.run(task_vars={"inventory_hostname": "w1", "ansible_python_interpreter": sys.executable}), commands

    return run


def on_this_machine(root, **more):
    """Options whose files are below root, read by a process that cannot see the patched NodeScanner root."""
    return options(root, daemon_json=os.path.join(root, "etc/docker/daemon.json"), **more)


def test_the_action_reads_the_node_in_one_command_and_returns_the_three_parts(node, action_run):
    result, commands = action_run(on_this_machine(node))
    assert not result.get("failed"), result
    [(command, sudoable)] = commands
    assert sudoable is True and command.startswith("%s -I -S -c " % sys.executable)
    assert result["changed"] is False and result["errors"] == []
    assert result["certificates"]["due"] == ["apiserver"]
    assert result["runtime_facts"]["kubelet"]["cgroup_driver"] == "systemd"
    assert result["docker_node"]["ok_to_switch"] is False and result["docker_node"]["node"] == "w1"
    assert "daemon-json-log-driver:node/w1" in result["docker_node"]["blocking"]


def test_the_action_fails_with_the_parts_that_were_read(node, action_run):
    put(node, "/etc/docker/daemon.json", "{not json")
    result, dummy = action_run(on_this_machine(node))
    assert result["failed"] and "node w1 could not be read completely: docker_node: " in result["msg"]
    assert result["certificates"]["due"] == ["apiserver"] and result["docker_node"] is None


def test_a_node_without_its_python_fails_the_task_with_the_cause(action_run):
    result, dummy = action_run({}, {"rc": 127, "stdout": "", "stderr": "/bin/sh: 1: python3: not found"})
    assert result["failed"] and result["changed"] is False
    assert "cannot read node w1: " in result["msg"] and "exited 127: /bin/sh: 1: python3: not found" in result["msg"]


def test_the_module_documents_exactly_its_options():
    import yaml  # pylint: disable=import-outside-toplevel

    documented = yaml.safe_load(module.DOCUMENTATION)["options"]
    returned = yaml.safe_load(module.RETURN)
    assert sorted(returned) == ["certificates", "dns_answer", "docker_node", "errors", "node", "read_at",
                                "runtime_facts"]
    assert yaml.safe_load(module.EXAMPLES)
    assert sorted(documented) == sorted(_node_audit_options.ARGUMENT_SPEC)
    for name, spec in _node_audit_options.ARGUMENT_SPEC.items():
        assert documented[name]["type"] == spec["type"], name
        assert documented[name].get("default") == spec.get("default"), name
        assert documented[name].get("elements") == spec.get("elements"), name

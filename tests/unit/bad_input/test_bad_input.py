"""Bad input: every module that reads node files, and every node name, against inputs that are wrong.

Each case runs one module's real entry point (an action plugin's ``run()`` against a fake node whose
files are real files, or a module's ``main()`` with its arguments patched in) on one bad input. The
case passes when the run

* fails the task (``fail_json`` or a failed result), never with a traceback;
* names the object (the file's path, the node's or ConfigMap's name), the cause and the fix;
* leaves the file byte for byte as it was, with the same mtime and mode, and nothing new next to it
  (no backup, no temporary file).

Every result is added to ``.cache/bad-input/bad-input.json`` (or ``$NODEOPS_BAD_INPUT_REPORT``);
``tests/unit/bad_input_table.py`` prints it as the Markdown table of docs/reliability.md.
"""

import collections
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "plugins", "module_utils"))

from bad_input_harness import FakeNode, Snapshot, run_action, run_module, write_file  # noqa: E402
from test_drain_fakes import FakeCluster, make_node  # noqa: E402

from ansible_collections.nodeops.kubernetes.plugins.action import cert_expiry as cert_expiry_action  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.action import containerd_config as containerd_action  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.action import containerd_registry_hosts as hosts_action  # noqa: E402,E501
from ansible_collections.nodeops.kubernetes.plugins.action import kubelet_config as kubelet_action  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.action import static_pod_restart as restart_action  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.modules import docker_daemon_config  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.modules import drain  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.modules import kubelet_configmap  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.modules import kubelet_flags  # noqa: E402
from ansible_collections.nodeops.kubernetes.plugins.modules import node_capacity_check  # noqa: E402

Case = collections.namedtuple("Case", "id module input kind content obj cause fix extra")


def case(id_, module_name, input_, kind, content, obj, cause, fix, **extra):
    """One bad input: ``kind`` picks the runner, ``obj``/``cause``/``fix`` are words the message must hold."""
    return Case(id_, module_name, input_, kind, content, obj, cause, fix, extra)


# --------------------------------------------------------------------------- valid files, then broken

KUBELET = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
"""

RUNC = 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc'
CONTAINERD = """version = 2

[%s]
  runtime_type = "io.containerd.runc.v2"
  [%s.options]
    SystemdCgroup = false
""" % (RUNC, RUNC)

HOSTS = """server = "https://registry-1.docker.io"

[host."https://mirror.example.com"]
  capabilities = ["pull", "resolve"]
"""

DAEMON = '{\n  "exec-opts": ["native.cgroupdriver=cgroupfs"],\n  "log-driver": "json-file"\n}\n'

FLAGS = 'KUBELET_KUBEADM_ARGS="--container-runtime=docker --network-plugin=cni"\n'

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: admin@k
clusters:
- name: k
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: admin@k
  context:
    cluster: k
    user: admin
users:
- name: admin
  user:
    token: abc
"""

MANIFEST = """apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - name: kube-apiserver
    command:
    - kube-apiserver
"""

NOT_UTF8 = b"\xff\xfe\x00\x01 binary garbage\n"

PATHS = {
    "kubelet_config": "/var/lib/kubelet/config.yaml",
    "containerd_config": "/etc/containerd/config.toml",
    "registry_hosts": "/etc/containerd/certs.d/docker.io/hosts.toml",
    "docker_daemon": "/etc/docker/daemon.json",
    "kubelet_flags": "/var/lib/kubelet/kubeadm-flags.env",
    "kubeconfig": "/root/.kube/config",
    "manifest": "/etc/kubernetes/manifests/kube-apiserver.yaml",
    "pki": "/etc/kubernetes/pki/ca.crt",
    "admin_conf": "/etc/kubernetes/admin.conf",
}

CASES = [
    # kubelet configuration (action plugin kubelet_config; the node's file is read and edited on the controller)
    case("kubelet-config-malformed", "kubelet_config", "YAML syntax error (unclosed flow sequence)",
         "kubelet_config", KUBELET + "clusterDNS: [10.96.0.10\n", PATHS["kubelet_config"],
         "not valid YAML at line", "fix the syntax"),
    case("kubelet-config-empty", "kubelet_config", "empty file", "kubelet_config", "", PATHS["kubelet_config"],
         "is empty", "restore it"),
    case("kubelet-config-list", "kubelet_config", "a YAML list instead of a mapping", "kubelet_config",
         "- cgroupDriver: systemd\n", PATHS["kubelet_config"], "does not hold a YAML mapping",
         "check that path points at"),
    case("kubelet-config-kind", "kubelet_config", "another kind (a Pod manifest)", "kubelet_config", MANIFEST,
         PATHS["kubelet_config"], "is not a KubeletConfiguration", "check that path points at"),
    case("kubelet-config-duplicate", "kubelet_config", "a field defined twice", "kubelet_config",
         KUBELET + "cgroupDriver: systemd\n", PATHS["kubelet_config"], "more than once", "remove the duplicate"),
    case("kubelet-config-not-utf8", "kubelet_config", "binary content (not UTF-8)", "kubelet_config", NOT_UTF8,
         PATHS["kubelet_config"], "not valid UTF-8", "restore it from a backup"),
    case("kubelet-config-cgroupdriver-int", "kubelet_config", "`cgroupDriver: 5` (a number)", "kubelet_config",
         KUBELET.replace("cgroupDriver: cgroupfs", "cgroupDriver: 5"), PATHS["kubelet_config"],
         "cgroupDriver is 5", "fix the value", settings={"clusterDomain": "cluster.example"}),
    case("kubelet-config-clusterdns-string", "kubelet_config", "`clusterDNS: \"10.0.0.10\"` (not a list)",
         "kubelet_config", KUBELET.replace("clusterDNS:\n- 10.96.0.10", 'clusterDNS: "10.0.0.10"'),
         PATHS["kubelet_config"], "clusterDNS is '10.0.0.10'", "fix the value"),
    case("kubelet-config-setting-wrong-type", "kubelet_config", "settings `maxPods: \"many\"` (task input)",
         "kubelet_config", KUBELET, PATHS["kubelet_config"], "maxPods", "give settings.maxPods",
         settings={"maxPods": "many"}),

    # containerd config.toml (action plugin containerd_config)
    case("containerd-config-malformed", "containerd_config", "TOML syntax error (unclosed table header)",
         "containerd_config", "version = 2\n[plugins\n", PATHS["containerd_config"], "not valid TOML at line",
         "fix the syntax"),
    case("containerd-config-version-string", "containerd_config", "`version = \"2\"` (a string)",
         "containerd_config", CONTAINERD.replace("version = 2", 'version = "2"'), PATHS["containerd_config"],
         "'version' must be an integer", "version = 2 or version = 3"),
    case("containerd-config-disabled-plugins-bool", "containerd_config", "`disabled_plugins = true`",
         "containerd_config", "disabled_plugins = true\n" + CONTAINERD, PATHS["containerd_config"],
         "'disabled_plugins' is a boolean", "disabled_plugins = []"),
    case("containerd-config-plugins-string", "containerd_config", "`plugins = \"cri\"` (not a table)",
         "containerd_config", 'version = 2\nplugins = "cri"\n', PATHS["containerd_config"],
         "'plugins' is a string", "write it as a table"),
    case("containerd-config-options-string", "containerd_config", "runc `options = \"fast\"` (not a table)",
         "containerd_config", CONTAINERD.replace("  [%s.options]\n    SystemdCgroup = false\n" % RUNC,
                                                 '  options = "fast"\n'),
         PATHS["containerd_config"], "options of runtime 'runc' are a string", "write them as a table"),
    case("containerd-config-not-utf8", "containerd_config", "binary content (not UTF-8)", "containerd_config",
         NOT_UTF8, PATHS["containerd_config"], "not valid UTF-8", "restore it from a backup"),

    # hosts.toml of a registry (action plugin containerd_registry_hosts)
    case("registry-hosts-malformed", "containerd_registry_hosts", "TOML syntax error", "registry_hosts",
         HOSTS + "[host.\n", PATHS["registry_hosts"], "not valid TOML", "fix or remove it"),
    case("registry-hosts-host-string", "containerd_registry_hosts", "`host = \"mirror\"` (not a table)",
         "registry_hosts", 'server = "https://registry-1.docker.io"\nhost = "mirror"\n', PATHS["registry_hosts"],
         "'host' is a string", "write each host as"),
    case("registry-hosts-entry-int", "containerd_registry_hosts", "a host entry that is a number",
         "registry_hosts", 'host = { "https://mirror.example.com" = 5 }\n', PATHS["registry_hosts"],
         "is an integer, not a table", "write it as a table"),
    case("registry-hosts-server-int", "containerd_registry_hosts", "`server = 5` (not a URL)", "registry_hosts",
         HOSTS.replace('"https://registry-1.docker.io"', "5"), PATHS["registry_hosts"], "'server' is an integer",
         "write it as a URL"),

    # daemon.json (module docker_daemon_config, runs on the node)
    case("daemon-json-malformed", "docker_daemon_config", "JSON syntax error (trailing comma)", "docker_daemon",
         DAEMON.replace('"json-file"\n', '"json-file",\n'), PATHS["docker_daemon"], "not valid JSON",
         "json.tool"),
    case("daemon-json-list", "docker_daemon_config", "a JSON list instead of an object", "docker_daemon",
         '["native.cgroupdriver=systemd"]\n', PATHS["docker_daemon"], "must hold a JSON object", "write it as"),
    case("daemon-json-exec-opts-number", "docker_daemon_config", "`\"exec-opts\": 5` (a number)", "docker_daemon",
         DAEMON.replace('["native.cgroupdriver=cgroupfs"]', "5"), PATHS["docker_daemon"],
         "'exec-opts' must be a list of strings", "write it as"),
    case("daemon-json-exec-opts-entry", "docker_daemon_config", "`exec-opts` holding a number", "docker_daemon",
         DAEMON.replace('["native.cgroupdriver=cgroupfs"]', '["native.cgroupdriver=cgroupfs", 5]'),
         PATHS["docker_daemon"], "'exec-opts' must be a list of strings", "write it as"),
    case("daemon-json-not-utf8", "docker_daemon_config", "binary content (not UTF-8)", "docker_daemon", NOT_UTF8,
         PATHS["docker_daemon"], "not UTF-8", "restore it from a backup"),

    # kubeadm-flags.env (module kubelet_flags, runs on the node)
    case("kubelet-flags-unclosed-quote", "kubelet_flags", "an unclosed quote", "kubelet_flags",
         'KUBELET_KUBEADM_ARGS="--container-runtime=docker\n', PATHS["kubelet_flags"],
         "cannot be read as shell words", "fix the quoting"),
    case("kubelet-flags-twice", "kubelet_flags", "the variable assigned twice", "kubelet_flags", FLAGS + FLAGS,
         PATHS["kubelet_flags"], "assigns KUBELET_KUBEADM_ARGS on 2 lines", "keep one assignment"),
    case("kubelet-flags-stray-words", "kubelet_flags", "words that are not flags", "kubelet_flags",
         'KUBELET_KUBEADM_ARGS="container-runtime=docker --network-plugin=cni"\n', PATHS["kubelet_flags"],
         "not kubelet flags: container-runtime=docker", "write every flag as --name=value"),
    case("kubelet-flags-not-assignment", "kubelet_flags", "a line that is not VARIABLE=value", "kubelet_flags",
         "--container-runtime=docker --network-plugin=cni\n", PATHS["kubelet_flags"],
         "line 1 is not a VARIABLE=value assignment", "write it as"),
    case("kubelet-flags-missing", "kubelet_flags", "the file does not exist", "kubelet_flags", None,
         PATHS["kubelet_flags"], "does not exist", "check the path"),
    case("kubelet-flags-not-utf8", "kubelet_flags", "binary content (not UTF-8)", "kubelet_flags", NOT_UTF8,
         PATHS["kubelet_flags"], "not UTF-8", "restore it from a backup"),

    # kubeconfig (modules that build a Kubernetes client; the same loader serves all of them). A path given in
    # the kubeconfig option is masked in the module's output (the option is no_log, as in kubernetes.core), so
    # those messages show "kubeconfig ********"; a kubeconfig found through $KUBECONFIG is named.
    case("kubeconfig-malformed-drain", "drain", "kubeconfig option: YAML syntax error", "kubeconfig",
         KUBECONFIG + "clusters: [\n", PATHS["kubeconfig"], "not valid YAML at line", "fix the syntax",
         module=drain, args=dict(name="w1", state="cordon"), via="option"),
    case("kubeconfig-empty-capacity", "node_capacity_check", "$KUBECONFIG: empty file", "kubeconfig", "",
         PATHS["kubeconfig"], "is empty", "kubeadm kubeconfig user", module=node_capacity_check,
         args=dict(name="w1"), via="env"),
    case("kubeconfig-list-configmap", "kubelet_configmap", "$KUBECONFIG: a YAML list", "kubeconfig",
         "- a\n- b\n", PATHS["kubeconfig"], "does not hold a YAML mapping", "kubeadm kubeconfig user",
         module=kubelet_configmap, args=dict(settings={"cgroupDriver": "systemd"}), via="env"),
    case("kubeconfig-clusters-string-drain", "drain", "kubeconfig option: `clusters: hello` (not a list)",
         "kubeconfig", KUBECONFIG.replace("clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:1\n",
                                          "clusters: hello\n"),
         PATHS["kubeconfig"], "'clusters' as a string (line 4), not a list", "write it as a list", module=drain,
         args=dict(name="w1", state="cordon"), via="option"),
    case("kubeconfig-server-int-capacity", "node_capacity_check", "$KUBECONFIG: cluster `server: 5`",
         "kubeconfig", KUBECONFIG.replace("server: https://127.0.0.1:1", "server: 5"), PATHS["kubeconfig"],
         "clusters[0].cluster.server (k) as an integer", "write it as a string", module=node_capacity_check,
         args=dict(name="w1"), via="env"),
    case("kubeconfig-unknown-context-configmap", "kubelet_configmap", "$KUBECONFIG: unknown current-context",
         "kubeconfig", KUBECONFIG.replace("current-context: admin@k", "current-context: nope"),
         PATHS["kubeconfig"], "no context named 'nope'", "existing context name", module=kubelet_configmap,
         args=dict(settings={"cgroupDriver": "systemd"}), via="env"),
    case("kubeconfig-context-option-drain", "drain", "kubeconfig option: a context option naming no context",
         "kubeconfig", KUBECONFIG, PATHS["kubeconfig"], "no context named 'other' (the context option)",
         "existing context name", module=drain, args=dict(name="w1", state="cordon", context="other"), via="option"),
    case("kubeconfig-not-utf8-drain", "drain", "kubeconfig option: binary content (not UTF-8)", "kubeconfig",
         NOT_UTF8, PATHS["kubeconfig"], "not valid UTF-8", "kubeadm kubeconfig user", module=drain,
         args=dict(name="w1", state="cordon"), via="option"),

    # node and object names against a fake API server
    case("node-unknown-drain", "drain", "a node name that does not exist (drain)", "node", None, "nope",
         'node "nope" not found', "kubectl get nodes", module=drain,
         args=dict(name="nope", state="drain", ignore_daemonsets=True)),
    case("node-unknown-uncordon", "drain", "a node name that does not exist (uncordon)", "node", None, "nope",
         'node "nope" not found', "kubectl get nodes", module=drain, args=dict(name="nope", state="uncordon")),
    case("node-unknown-capacity", "node_capacity_check", "a node name that does not exist", "node", None, "nope",
         "not found", "kubectl get nodes", module=node_capacity_check, args=dict(name="nope")),
    case("configmap-unknown", "kubelet_configmap", "a ConfigMap name that does not exist", "configmap", None,
         "kubelet-config-9.99", "does not exist", "check name",
         args=dict(name="kubelet-config-9.99", settings={"cgroupDriver": "systemd"})),

    # static pod manifests and PKI files read by static_pod_restart and cert_expiry
    case("static-pod-manifest-malformed", "static_pod_restart", "manifest with a YAML syntax error", "manifest",
         MANIFEST + "  volumes: [\n", PATHS["manifest"], "not valid YAML", "restore it"),
    case("static-pod-manifest-list", "static_pod_restart", "manifest that is a YAML list", "manifest",
         "- kube-apiserver\n", PATHS["manifest"], "is not a static pod manifest", "restore it"),
    case("static-pod-manifest-containers-string", "static_pod_restart", "`containers: kube-apiserver` (a string)",
         "manifest", MANIFEST.split("  containers:", maxsplit=1)[0] + "  containers: kube-apiserver\n", PATHS["manifest"],
         "is not a static pod manifest", "restore it"),
    case("cert-expiry-pki-garbage", "cert_expiry", "ca.crt that holds no PEM certificate", "pki",
         "not a certificate\n", PATHS["pki"], "holds no PEM certificate", "restore it from a backup"),
    case("cert-expiry-pki-bad-pem", "cert_expiry", "ca.crt with a damaged PEM body", "pki",
         "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", PATHS["pki"],
         "not a readable PEM certificate", "restore it from a backup"),
    case("cert-expiry-admin-conf-malformed", "cert_expiry", "admin.conf with a YAML syntax error", "admin_conf",
         KUBECONFIG + "users: [\n", PATHS["admin_conf"], "not a readable kubeconfig", "kubeadm init phase kubeconfig"),
    case("cert-expiry-admin-conf-users-string", "cert_expiry", "admin.conf with `users: admin` (not a list)",
         "admin_conf", KUBECONFIG.split("users:", maxsplit=1)[0] + "users: admin\n", PATHS["admin_conf"],
         "'users' as a string (line 13), not a list", "kubeadm init phase kubeconfig"),
    case("cert-expiry-admin-conf-cert-path-int", "cert_expiry", "admin.conf with `client-certificate: 5`",
         "admin_conf", KUBECONFIG.replace("token: abc", "client-certificate: 5"), PATHS["admin_conf"],
         "client-certificate (admin) as an integer", "kubeadm init phase kubeconfig"),
]


# --------------------------------------------------------------------------- runners, by kind of input

def _under(root, path):
    return str(root) + path


def _run_kubelet_config(c, root, capsys, monkeypatch):
    settings = c.extra.get("settings", {"cgroupDriver": "systemd"})
    return run_action(kubelet_action, dict(path=_under(root, c.obj), settings=settings))


def _run_containerd_config(c, root, capsys, monkeypatch):
    return run_action(containerd_action, dict(path=_under(root, c.obj), systemd_cgroup=True))


def _run_registry_hosts(c, root, capsys, monkeypatch):
    args = dict(certs_dir=_under(root, "/etc/containerd/certs.d"), registry_mirrors=["https://mirror.example.com"],
                proxy_dropin_path=_under(root, "/etc/systemd/system/containerd.service.d/http-proxy.conf"))
    return run_action(hosts_action, args)


def _run_docker_daemon(c, root, capsys, monkeypatch):
    return run_module(docker_daemon_config, dict(path=_under(root, c.obj), cgroup_driver="systemd"), capsys)


def _run_kubelet_flags(c, root, capsys, monkeypatch):
    return run_module(kubelet_flags, dict(path=_under(root, c.obj), kubelet_version="v1.23.17"), capsys)


def _run_kubeconfig(c, root, capsys, monkeypatch):
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_") or name == "KUBECONFIG":
            monkeypatch.delenv(name)
    args = dict(c.extra["args"])
    if c.extra["via"] == "option":
        args["kubeconfig"] = _under(root, c.obj)
    else:
        monkeypatch.setenv("KUBECONFIG", _under(root, c.obj))
    return run_module(c.extra["module"], args, capsys)


def _run_node(c, root, capsys, monkeypatch):
    cluster = FakeCluster(nodes=[make_node("w1"), make_node("w2")])
    module = c.extra["module"]
    monkeypatch.setattr(module, "make_client", lambda *args: cluster)
    outcome = run_module(module, c.extra["args"], capsys)
    outcome.mutations = cluster.mutations()
    return outcome


class _NoConfigMaps(object):
    def read_namespaced_config_map(self, name, namespace):
        from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel

        exc = ApiException(status=404, reason="Not Found")
        exc.body = json.dumps({"kind": "Status", "reason": "NotFound",
                               "message": 'configmaps "%s" not found' % name})
        raise exc


def _run_configmap(c, root, capsys, monkeypatch):
    monkeypatch.setattr(kubelet_configmap, "get_api_client", lambda params: None)
    monkeypatch.setattr(kubelet_configmap, "ConfigMapCore", lambda api: _NoConfigMaps())
    return run_module(kubelet_configmap, c.extra["args"], capsys)


def _run_manifest(c, root, capsys, monkeypatch):
    args = dict(name="cp1", static_pod="kube-apiserver", manifests_dir=_under(root, "/etc/kubernetes/manifests"),
                aside_dir=_under(root, "/etc/kubernetes/manifests-aside"), start_timeout=1, poll_interval=0.1)
    return run_action(restart_action, args)


class _LocalNode(FakeNode):
    """Runs the read-only commands for real: the certificate reader of cert_expiry reads local files."""

    def low_level(self, cmd, sudoable=True, **_kwargs):
        import subprocess  # pylint: disable=import-outside-toplevel

        done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60, check=False)
        return {"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def _run_cert_expiry(c, root, capsys, monkeypatch):
    args = dict(pki_dir=_under(root, "/etc/kubernetes/pki"), kubeconfig_dir=_under(root, "/etc/kubernetes"),
                manifests_dir=_under(root, "/etc/kubernetes/manifests"))
    return run_action(cert_expiry_action, args, node=_LocalNode(),
                      task_vars=dict(ansible_python_interpreter=sys.executable, inventory_hostname="cp1"))


RUNNERS = {
    "kubelet_config": _run_kubelet_config,
    "containerd_config": _run_containerd_config,
    "registry_hosts": _run_registry_hosts,
    "docker_daemon": _run_docker_daemon,
    "kubelet_flags": _run_kubelet_flags,
    "kubeconfig": _run_kubeconfig,
    "node": _run_node,
    "configmap": _run_configmap,
    "manifest": _run_manifest,
    "pki": _run_cert_expiry,
    "admin_conf": _run_cert_expiry,
}

FILE_KINDS = ("kubelet_config", "containerd_config", "registry_hosts", "docker_daemon", "kubelet_flags",
              "kubeconfig", "manifest", "pki", "admin_conf")


def _contains(message, words):
    return words.lower() in message.lower()


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_naming_the_object_the_cause_and_the_fix_and_leaves_the_file_untouched(
        c, tmp_path, capsys, monkeypatch, bad_input_report):
    snapshot = None
    if c.kind in FILE_KINDS:
        path = _under(tmp_path, c.obj)
        if c.content is None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        else:
            write_file(path, c.content)
        snapshot = Snapshot(path)
    outcome = RUNNERS[c.kind](c, tmp_path, capsys, monkeypatch)
    bad_input_report.add(c, outcome, tmp_path)

    assert outcome.status == "failed", outcome.message
    assert "Traceback" not in outcome.message
    assert "exception" not in outcome.result, outcome.result.get("exception")
    obj = _under(tmp_path, c.obj) if snapshot else c.obj
    if c.extra.get("via") == "option":
        obj = "the kubeconfig ********"  # the option is no_log: Ansible masks its value in the output
    assert _contains(outcome.message, obj), "the message does not name %s: %s" % (obj, outcome.message)
    assert _contains(outcome.message, c.cause), "the message does not say %r: %s" % (c.cause, outcome.message)
    assert _contains(outcome.message, c.fix), "the message does not say %r: %s" % (c.fix, outcome.message)
    assert not outcome.result.get("changed"), outcome.result
    if snapshot:
        assert snapshot.changes() == []
    assert getattr(outcome, "mutations", []) == []


def test_the_cases_cover_every_module_that_reads_node_files_and_every_kind_of_input():
    modules = set(c.module for c in CASES)
    assert modules >= {"kubelet_config", "containerd_config", "containerd_registry_hosts", "docker_daemon_config",
                       "kubelet_flags", "drain", "node_capacity_check", "kubelet_configmap", "static_pod_restart",
                       "cert_expiry"}
    assert set(c.kind for c in CASES) == set(RUNNERS)
    assert len(set(c.id for c in CASES)) == len(CASES)


def test_a_snapshot_sees_a_rewrite_an_mtime_change_and_a_file_left_behind(tmp_path):
    path = write_file(tmp_path / "etc" / "a.conf", "a = 1\n")
    snapshot = Snapshot(path)
    assert snapshot.changes() == []
    os.utime(path, None)
    assert snapshot.changes() == ["mtime changed"]
    snapshot = Snapshot(path)
    write_file(path, "a = 2\n")
    assert "content changed" in snapshot.changes()
    snapshot = Snapshot(path)
    write_file(str(tmp_path / "etc" / "a.conf.backup~"), "a = 1\n")
    assert snapshot.changes() == ["directory %s: new ['a.conf.backup~'], gone []" % (tmp_path / "etc")]


def test_a_crash_is_told_from_a_failure(capsys):
    class Module(object):
        @staticmethod
        def main():
            raise KeyError("spec")

    outcome = run_module(Module, {}, capsys)
    assert outcome.status == "crashed" and "KeyError" in outcome.message


def test_the_table_script_prints_one_row_per_case_and_wraps_the_messages():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import bad_input_table  # pylint: disable=import-outside-toplevel

    rows = [{"case": "a-case", "module": "kubelet_flags", "input": "a | pipe", "outcome": "failed",
             "message": "/var/lib/kubelet/kubeadm-flags.env " + "word " * 60},
            {"case": "b-case", "module": "drain", "input": "x", "outcome": "crashed", "message": ""}]
    text = bad_input_table.render({"cases": rows})
    lines = text.splitlines()
    assert lines[0] == "2 cases: 1 crashed, 1 failed."
    assert "| `a-case` | `kubelet_flags` | a \\| pipe | failed |" in lines
    assert "- `b-case`: (no message)" in lines
    assert max(len(line) for line in lines) <= 120
    assert sum(1 for line in lines if line.startswith("  word")) >= 2

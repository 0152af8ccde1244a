"""Docker dependency scan: the report, the cluster checks, the node checks and the API reading."""

import os

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _docker_scan as ds

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


# -- the report ---------------------------------------------------------------

def _f(check, where, severity):
    return ds.finding(check, where, severity, "what", "breaks", "fix")


def test_blocking_findings_block_until_acknowledged_by_id_or_pattern():
    findings = [_f("a", "node/w1", "blocking"), _f("a", "node/w2", "blocking"), _f("b", "pod/x/y", "warning"),
                _f("c", "node/w1", "info")]
    report = ds.build_report(findings)
    assert report["blocking"] == ["a:node/w1", "a:node/w2"]
    assert report["ok_to_switch"] is False
    report = ds.build_report(findings, ["a:node/w1"])
    assert report["blocking"] == ["a:node/w2"]
    report = ds.build_report(findings, ["a:node/*", "typo:node/w1"])
    assert report["blocking"] == [] and report["ok_to_switch"] is True
    assert report["unmatched_acknowledgements"] == ["typo:node/w1"]
    assert report["summary"] == {"blocking": 2, "warning": 1, "info": 1, "acknowledged": 2,
                                 "blocking_unacknowledged": 0}


def test_warnings_block_only_when_asked():
    findings = [_f("b", "pod/x/y", "warning")]
    assert ds.build_report(findings)["blocking"] == []
    assert ds.build_report(findings, block_on_warnings=True)["blocking"] == ["b:pod/x/y"]


def test_findings_are_sorted_most_severe_first_and_the_message_lists_each_blocking_one():
    report = ds.build_report([_f("z", "w", "info"), _f("y", "w", "warning"), _f("x", "w", "blocking")])
    assert [item["severity"] for item in report["findings"]] == ["blocking", "warning", "info"]
    message = ds.blocking_message(report, "node w1")
    assert message.startswith("node w1: 1 blocking finding(s) stop the switch to containerd")
    assert "x:w [w] what; breaks: breaks; fix: fix" in message


def test_an_unknown_severity_is_a_programming_error():
    with pytest.raises(ValueError):
        ds.finding("a", "b", "fatal", "", "", "")


# -- words --------------------------------------------------------------------

@pytest.mark.parametrize("text, reasons", [
    ("docker ps -q", ["runs docker"]),
    ("/usr/bin/docker system prune -af", ["runs docker"]),
    ("sh -c 'sleep 5; docker restart x'", ["runs docker"]),
    ("systemctl restart docker.service", ["manages the Docker service"]),
    ("curl --unix-socket /var/run/docker.sock http://x/containers/json", ["uses the Docker socket"]),
    ("DOCKER_HOST=unix:///run/docker.sock", ["uses the Docker socket"]),
    ("sed -i s/a/b/ /etc/docker/daemon.json", ["uses Docker's configuration (/etc/docker)"]),
    ("du -sh /var/lib/docker/overlay2", ["uses Docker's data directory (/var/lib/docker)"]),
    ("crictl ps", []),
    ("docker-credential-gcr configure", []),
    ("echo dockerized", []),
])
def test_docker_references_recognise_commands_socket_and_paths(text, reasons):
    assert ds.docker_references(text) == reasons


# -- pod specs ----------------------------------------------------------------

def _spec(volumes=(), containers=None, **extra):
    spec = {"volumes": list(volumes), "containers": containers or [{"name": "main", "image": "x"}]}
    spec.update(extra)
    return spec


def _host_path(name, path):
    return {"name": name, "hostPath": {"path": path}}


def _container(name="main", mounts=(), command=None, args=None, privileged=False, env=None, policy=None):
    container = {"name": name, "image": "x", "volumeMounts": [{"name": m, "mountPath": "/m"} for m in mounts]}
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    if privileged:
        container["securityContext"] = {"privileged": True}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if policy:
        container["imagePullPolicy"] = policy
    return container


@pytest.mark.parametrize("path", ["/var/run/docker.sock", "/run/docker.sock", "/var/run/docker", "/var/lib/docker",
                                  "/var/lib/docker/containers", "/run/docker.sock/", "/etc/docker",
                                  "/var/run/cri-dockerd.sock"])
def test_docker_paths_mounted_through_hostpath_are_blocking(path):
    findings = ds.pod_spec_findings(_spec([_host_path("sock", path)], [_container(mounts=["sock"])]),
                                    "daemonset/mon/agent")
    assert [(item["id"], item["severity"]) for item in findings] == [
        ("docker-hostpath:daemonset/mon/agent/sock", "blocking")]
    assert findings[0]["containers"] == ["main"]


def test_container_logs_read_from_docker_get_the_log_advice():
    findings = ds.pod_spec_findings(_spec([_host_path("logs", "/var/lib/docker/containers")],
                                          [_container(mounts=["logs"])]), "daemonset/logging/fluentd")
    assert "/var/log/pods" in findings[0]["fix"]


@pytest.mark.parametrize("path", ["/var/run", "/run", "/var", "/var/lib", "/"])
def test_parent_directories_are_a_warning_without_docker_commands(path):
    findings = ds.pod_spec_findings(_spec([_host_path("run", path)], [_container(mounts=["run"])]), "pod/a/b")
    assert [(item["check"], item["severity"]) for item in findings] == [("docker-hostpath-parent", "warning")]


def test_parent_directories_are_blocking_when_the_containers_refer_to_docker():
    spec = _spec([_host_path("run", "/var/run")],
                 [_container(mounts=["run"], env={"DOCKER_HOST": "unix:///var/run/docker.sock"})])
    findings = ds.pod_spec_findings(spec, "pod/a/b")
    assert [(item["check"], item["severity"]) for item in findings] == [("docker-hostpath-parent", "blocking")]


@pytest.mark.parametrize("path", ["/var/log", "/var/lib/kubelet", "/run/containerd", "/etc/cni"])
def test_unrelated_host_paths_are_not_reported(path):
    assert ds.pod_spec_findings(_spec([_host_path("x", path)], [_container(mounts=["x"])]), "pod/a/b") == []


def test_a_privileged_container_running_docker_on_the_host_is_blocking():
    spec = _spec([], [_container(command=["nsenter", "-t", "1", "-m", "--", "docker", "ps"], privileged=True)],
                 hostPID=True)
    findings = ds.pod_spec_findings(spec, "daemonset/ops/debug")
    assert [(item["id"], item["severity"]) for item in findings] == [
        ("privileged-docker-command:daemonset/ops/debug/main", "blocking")]


def test_a_privileged_docker_in_docker_container_is_only_a_warning():
    findings = ds.pod_spec_findings(_spec([], [_container(command=["dockerd"], privileged=True)]), "pod/ci/dind")
    assert [(item["check"], item["severity"]) for item in findings] == [("privileged-docker-command", "warning")]


def test_an_unprivileged_container_running_docker_without_a_mount_is_not_reported():
    assert ds.pod_spec_findings(_spec([], [_container(command=["docker", "build", "."])]), "pod/ci/b") == []


def test_a_docker_host_over_tcp_is_a_warning():
    findings = ds.pod_spec_findings(_spec([], [_container(env={"DOCKER_HOST": "tcp://10.0.0.1:2375"})]), "pod/a/b")
    assert [item["check"] for item in findings] == ["docker-host-tcp"]


def test_image_pull_policy_never_is_a_warning():
    findings = ds.pod_spec_findings(_spec([], [_container(policy="Never")]), "deployment/a/b")
    assert [(item["id"], item["severity"]) for item in findings] == [("image-pull-never:deployment/a/b", "warning")]


# -- the cluster ----------------------------------------------------------------

def _meta(name, uid, namespace="mon", owner=None):
    meta = {"name": name, "namespace": namespace, "uid": uid}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "uid": owner[2], "controller": True}]
    return meta


SOCKET_SPEC = _spec([_host_path("sock", "/var/run/docker.sock")], [_container(mounts=["sock"])])


def _node(name, runtime, kubelet):
    return {"metadata": {"name": name},
            "status": {"nodeInfo": {"containerRuntimeVersion": runtime, "kubeletVersion": kubelet}}}


def test_pods_of_scanned_controllers_are_folded_into_the_controller_finding():
    objects = {
        "DaemonSet": [{"metadata": _meta("agent", "ds1"), "spec": {"template": {"spec": SOCKET_SPEC}}}],
        "Deployment": [{"metadata": _meta("web", "d1"), "spec": {"template": {"spec": SOCKET_SPEC}}}],
        "ReplicaSet": [{"metadata": _meta("web-5d", "rs1", owner=("Deployment", "web", "d1"))}],
        "CronJob": [{"metadata": _meta("clean", "cj1"),
                     "spec": {"jobTemplate": {"spec": {"template": {"spec": SOCKET_SPEC}}}}}],
        "Job": [{"metadata": _meta("clean-1", "j1", owner=("CronJob", "clean", "cj1")),
                 "spec": {"template": {"spec": SOCKET_SPEC}}}],
        "Pod": [
            {"metadata": _meta("agent-a", "p1", owner=("DaemonSet", "agent", "ds1")), "spec": dict(SOCKET_SPEC, nodeName="w2")},
            {"metadata": _meta("agent-b", "p2", owner=("DaemonSet", "agent", "ds1")), "spec": dict(SOCKET_SPEC, nodeName="w1")},
            {"metadata": _meta("web-5d-x", "p3", owner=("ReplicaSet", "web-5d", "rs1")), "spec": dict(SOCKET_SPEC, nodeName="w1")},
            {"metadata": _meta("bare", "p4"), "spec": dict(SOCKET_SPEC, nodeName="w1")},
            {"metadata": _meta("done", "p5"), "spec": dict(SOCKET_SPEC, nodeName="w1"), "status": {"phase": "Succeeded"}},
        ],
        "Node": [_node("w2", "docker://20.10.24", "v1.23.17"), _node("w1", "containerd://1.7.2", "v1.23.17")],
    }
    findings, nodes = ds.scan_cluster(objects)
    by_id = dict((item["id"], item) for item in findings)
    assert sorted(by_id) == ["docker-hostpath:cronjob/mon/clean/sock", "docker-hostpath:daemonset/mon/agent/sock",
                             "docker-hostpath:deployment/mon/web/sock", "docker-hostpath:pod/mon/bare/sock"]
    assert by_id["docker-hostpath:daemonset/mon/agent/sock"]["pods"] == ["mon/agent-a", "mon/agent-b"]
    assert by_id["docker-hostpath:daemonset/mon/agent/sock"]["nodes"] == ["w1", "w2"]
    assert by_id["docker-hostpath:deployment/mon/web/sock"]["pods"] == ["mon/web-5d-x"]
    assert by_id["docker-hostpath:pod/mon/bare/sock"]["nodes"] == ["w1"]
    assert [(node["name"], node["runtime"], node["on_docker"]) for node in nodes] == [
        ("w1", "containerd", False), ("w2", "docker", True)]


def test_node_runtimes_are_read_from_container_runtime_version():
    findings, nodes = ds.scan_cluster({"Node": [_node("a", "docker://20.10.24", "v1.25.0"),
                                                _node("b", "cri-o://1.28", "v1.28.0"),
                                                _node("c", "", "v1.28.0")]})
    assert nodes[0] == {"name": "a", "runtime": "docker", "runtime_version": "20.10.24",
                        "container_runtime_version": "docker://20.10.24", "kubelet_version": "v1.25.0",
                        "on_docker": True, "unschedulable": False, "cri_socket_annotation": None}
    assert nodes[2]["runtime"] is None
    assert sorted(item["id"] for item in findings) == ["cri-dockerd:node/a", "unknown-runtime:node/b",
                                                       "unknown-runtime:node/c"]


def test_cluster_objects_are_read_in_pages_with_a_cronjob_fallback_for_old_clusters():
    calls = []

    def get(path, query):
        calls.append((path, dict(query)))
        if path == "/apis/batch/v1/namespaces/a/cronjobs":
            raise ds.NotFound(path)
        if path == "/api/v1/namespaces/a/pods" and "continue" not in query:
            return {"items": [{"n": 1}], "metadata": {"continue": "t1"}}
        if path == "/api/v1/namespaces/a/pods":
            return {"items": [{"n": 2}], "metadata": {}}
        return {"items": []}

    objects = ds.read_cluster_objects(get, ["a"])
    assert objects["Pod"] == [{"n": 1}, {"n": 2}]
    assert ("/apis/batch/v1beta1/namespaces/a/cronjobs", {"limit": 500}) in calls
    assert ("/api/v1/nodes", {"limit": 500}) in calls
    assert ("/api/v1/namespaces/a/pods", {"limit": 500, "continue": "t1"}) in calls


# -- node parsers ---------------------------------------------------------------

def test_unit_files_are_parsed_with_sections_comments_and_continuations():
    text = "[Unit]\n# c\nRequires=docker.service\n[Service]\nExecStart=/bin/sh -c \\\n  'docker ps'\n; x\n"
    assert ds.parse_unit(text) == [("Unit", "Requires", "docker.service"),
                                   ("Service", "ExecStart", "/bin/sh -c  'docker ps'")]


def test_environment_assignments_and_proxies_are_read():
    env = ds.parse_assignments('"HTTP_PROXY=http://p:3128" NO_PROXY=localhost', "x")
    assert ds.proxy_settings(env) == {"http_proxy": "http://p:3128", "no_proxy": "localhost"}
    assert ds.proxy_settings({"https_proxy": "http://low", "HTTPS_PROXY": "http://up"}) == {"https_proxy": "http://up"}


def test_dockerd_flags_keep_repeated_values():
    flags = ds.dockerd_flags("-/usr/bin/dockerd -H fd:// --registry-mirror=https://m1 --registry-mirror https://m2 "
                             "--data-root /data/docker", "x")
    assert flags == {"H": ["fd://"], "registry-mirror": ["https://m1", "https://m2"], "data-root": ["/data/docker"]}
    assert ds.dockerd_flags("/bin/true", "x") == {}


def test_proc_net_unix_and_ss_output_are_parsed():
    unix = ("Num       RefCount Protocol Flags    Type St Inode Path\n"
            "0000: 00000002 00000000 00010000 0001 01 1001 /run/docker.sock\n"
            "0000: 00000003 00000000 00000000 0001 03 1002 /run/docker.sock\n"
            "0000: 00000003 00000000 00000000 0001 03 1003\n")
    assert ds.parse_proc_net_unix(unix) == {"1001": "/run/docker.sock", "1002": "/run/docker.sock"}
    ss = ("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
          'u_str ESTAB 0 0 /run/docker.sock 1002 * 2002 users:(("dockerd",pid=10,fd=8))\n'
          'u_str ESTAB 0 0 * 2002 * 1002 users:(("agent",pid=20,fd=3))\n')
    assert ds.parse_ss_unix(ss) == [{"local": "/run/docker.sock", "local_inode": "1002", "peer_inode": "2002"},
                                    {"local": "*", "local_inode": "2002", "peer_inode": "1002"}]


# -- the node scanner on a directory tree -----------------------------------------

def write(root, path, text, mode=0o644):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    os.chmod(full, mode)
    return full


def scan(root, **kwargs):
    scanner = ds.NodeScanner("w1", root=str(root), **kwargs)
    return scanner, dict((item["id"], item) for item in scanner.scan())


def test_an_empty_node_has_no_findings(tmp_path):
    scanner, findings = scan(tmp_path)
    assert findings == {}
    assert scanner.carry_over["registry_mirrors"] == []


DAEMON_JSON_VARIANTS = {
    "mirrors": ('{"registry-mirrors": ["https://mirror.gcr.io", "https://m2.lan"]}',
                {"registry-mirrors:node/w1:registry-mirrors": "info"},
                {"registry_mirrors": ["https://mirror.gcr.io", "https://m2.lan"]}),
    "insecure": ('{"insecure-registries": ["registry.lan:5000", "10.0.0.0/8"]}',
                 {"insecure-registries:node/w1:insecure-registries": "warning"},
                 {"insecure_registries": ["registry.lan:5000", "10.0.0.0/8"]}),
    "log opts": ('{"log-driver": "json-file", "log-opts": {"max-size": "100m", "max-file": "3"}}',
                 {"daemon-json-log-opts:node/w1": "warning"},
                 {"log_driver": "json-file", "log_opts": {"max-size": "100m", "max-file": "3"}}),
    "log driver": ('{"log-driver": "fluentd", "log-opts": {"fluentd-address": "10.0.0.9:24224"}}',
                   {"daemon-json-log-driver:node/w1": "blocking", "daemon-json-log-opts:node/w1": "warning"},
                   {"log_driver": "fluentd"}),
    "data root": ('{"data-root": "/data/docker", "storage-driver": "overlay2"}',
                  {"daemon-json-data-root:node/w1": "blocking", "daemon-json-storage-driver:node/w1": "info"},
                  {"data_root": "/data/docker"}),
    "exec opts and proxies": ('{"exec-opts": ["native.cgroupdriver=systemd"], "proxies": '
                              '{"http-proxy": "http://p:3128", "no-proxy": "localhost"}}',
                              {}, {"cgroup_driver": "systemd", "http_proxy": "http://p:3128", "no_proxy": "localhost"}),
    "nvidia": ('{"default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}',
               {"daemon-json-runtimes:node/w1": "blocking", "daemon-json-default-runtime:node/w1": "warning"}, {}),
}


@pytest.mark.parametrize("name", sorted(DAEMON_JSON_VARIANTS))
def test_daemon_json_variants(tmp_path, name):
    text, expected, carry = DAEMON_JSON_VARIANTS[name]
    write(tmp_path, "/etc/docker/daemon.json", text)
    scanner, findings = scan(tmp_path)
    assert dict((key, item["severity"]) for key, item in findings.items()) == expected
    for key, value in carry.items():
        assert scanner.carry_over[key] == value


@pytest.mark.parametrize("fixture, fragment", [
    ("malformed.json", "is not valid JSON"),
    ("not-an-object.json", "must hold a JSON object"),
])
def test_a_broken_daemon_json_fails_naming_the_file(tmp_path, fixture, fragment):
    with open(os.path.join(FIXTURES, "docker", fixture)) as handle:
        write(tmp_path, "/etc/docker/daemon.json", handle.read())
    with pytest.raises(NodeOpsError) as caught:
        scan(tmp_path)
    assert "/etc/docker/daemon.json" in caught.value.message
    assert fragment in caught.value.message


def test_registry_mirrors_that_are_not_strings_are_refused(tmp_path):
    write(tmp_path, "/etc/docker/daemon.json", '{"registry-mirrors": "https://m"}')
    with pytest.raises(NodeOpsError, match="'registry-mirrors' must be a list of strings"):
        scan(tmp_path)


@pytest.mark.parametrize("text", ['{"exec-opts": 1}', '{"exec-opts": "native.cgroupdriver=systemd"}',
                                  '{"exec-opts": [1]}'])
def test_exec_opts_that_are_not_a_list_of_strings_are_refused_naming_the_file(tmp_path, text):
    write(tmp_path, "/etc/docker/daemon.json", text)
    with pytest.raises(NodeOpsError) as caught:
        scan(tmp_path)
    assert caught.value.message.startswith("/etc/docker/daemon.json: 'exec-opts' must be a list of strings")
    assert "write it as a list of strings" in caught.value.message and "run again" in caught.value.message


def test_the_last_cgroup_driver_entry_is_carried_over_with_spaces_trimmed(tmp_path):
    write(tmp_path, "/etc/docker/daemon.json",
          '{"exec-opts": ["native.cgroupdriver=cgroupfs", " native.cgroupdriver = systemd "]}')
    scanner, _findings = scan(tmp_path)
    assert scanner.carry_over["cgroup_driver"] == "systemd"


def test_proxies_and_flags_of_docker_dropins_are_carried_over(tmp_path):
    write(tmp_path, "/lib/systemd/system/docker.service",
          "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n")
    write(tmp_path, "/etc/systemd/system/docker.service.d/http-proxy.conf",
          '[Service]\nEnvironment="HTTP_PROXY=http://proxy:3128" "NO_PROXY=localhost,.lan"\n'
          "EnvironmentFile=-/etc/docker/proxy.env\n")
    write(tmp_path, "/etc/docker/proxy.env", "# proxy\nHTTPS_PROXY='http://secure-proxy:3129'\n")
    write(tmp_path, "/etc/systemd/system/docker.service.d/override.conf",
          "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375 "
          "--registry-mirror=https://m.lan --insecure-registry reg.lan:5000\n")
    scanner, findings = scan(tmp_path)
    assert scanner.carry_over["http_proxy"] == "http://proxy:3128"
    assert scanner.carry_over["https_proxy"] == "http://secure-proxy:3129"
    assert scanner.carry_over["no_proxy"] == "localhost,.lan"
    assert scanner.carry_over["registry_mirrors"] == ["https://m.lan"]
    assert scanner.carry_over["insecure_registries"] == ["reg.lan:5000"]
    assert findings["dockerd-tcp:node/w1"]["severity"] == "warning"
    assert findings["docker-proxy:node/w1:proxy"]["severity"] == "info"


def test_daemon_json_proxies_win_over_the_unit_environment(tmp_path):
    write(tmp_path, "/etc/docker/daemon.json", '{"proxies": {"http-proxy": "http://json:1"}}')
    write(tmp_path, "/etc/systemd/system/docker.service.d/p.conf", '[Service]\nEnvironment="HTTP_PROXY=http://env:2"\n')
    scanner, _findings = scan(tmp_path)
    assert scanner.carry_over["http_proxy"] == "http://json:1"


def test_units_depending_on_docker_are_reported_by_strength(tmp_path):
    write(tmp_path, "/etc/systemd/system/agent.service",
          "[Unit]\nRequires=docker.service\n[Service]\nExecStart=/usr/bin/docker run --rm agent\n")
    write(tmp_path, "/etc/systemd/system/late.service", "[Unit]\nAfter=network.target docker.service\n")
    write(tmp_path, "/lib/systemd/system/other.service", "[Service]\nExecStart=/bin/true\n")
    write(tmp_path, "/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd\n")
    write(tmp_path, "/etc/systemd/system/kubelet.service.d/20-docker.conf", "[Unit]\nBindsTo=docker.service\n")
    _scanner, findings = scan(tmp_path)
    assert dict((key, item["severity"]) for key, item in findings.items()) == {
        "unit-docker:node/w1:/etc/systemd/system/agent.service": "warning",
        "unit-docker-ordering:node/w1:/etc/systemd/system/late.service": "info",
        "kubelet-requires-docker:node/w1:/etc/systemd/system/kubelet.service.d/20-docker.conf": "blocking",
    }


def test_cron_jobs_and_scripts_calling_docker_are_warnings(tmp_path):
    write(tmp_path, "/etc/crontab", "SHELL=/bin/sh\nDOCKER=1\n0 3 * * * root docker system prune -af\n")
    write(tmp_path, "/etc/cron.d/ok", "*/5 * * * * root /usr/local/bin/health\n")
    write(tmp_path, "/var/spool/cron/crontabs/ops", "@reboot /usr/bin/docker start monitor\n")
    write(tmp_path, "/usr/local/bin/cleanup.sh", "#!/bin/sh\n# uses docker? no, only this comment\nDOCKER_HOST=unix:///var/run/docker.sock docker ps\n", 0o755)
    write(tmp_path, "/usr/local/bin/crictl-wrap", "#!/bin/sh\ncrictl ps\n", 0o755)
    write(tmp_path, "/usr/local/bin/docker", "#!/bin/sh\nexec dockerd\n", 0o755)
    with open(write(tmp_path, "/usr/local/bin/tool", ""), "wb") as handle:
        handle.write(b"\x7fELF\0\0docker ps")
    _scanner, findings = scan(tmp_path)
    assert sorted(findings) == ["cron-docker:node/w1:/etc/crontab", "cron-docker:node/w1:/var/spool/cron/crontabs/ops",
                                "script-docker:node/w1:/usr/local/bin/cleanup.sh"]
    assert findings["cron-docker:node/w1:/etc/crontab"]["lines"] == [
        {"line": 3, "text": "0 3 * * * root docker system prune -af", "reasons": ["runs docker"]}]
    assert [hit["line"] for hit in findings["script-docker:node/w1:/usr/local/bin/cleanup.sh"]["lines"]] == [3]


def test_kubelet_flag_files_give_the_sandbox_image_cni_warnings_and_overrides(tmp_path):
    write(tmp_path, "/var/lib/kubelet/kubeadm-flags.env",
          'KUBELET_KUBEADM_ARGS="--container-runtime=docker --network-plugin=cni --cni-bin-dir=/usr/libexec/cni '
          '--pod-infra-container-image=k8s.gcr.io/pause:3.6"\n')
    write(tmp_path, "/etc/default/kubelet", "KUBELET_EXTRA_ARGS='--container-runtime=docker --max-pods=200'\n")
    scanner, findings = scan(tmp_path)
    assert scanner.carry_over["sandbox_image"] == "k8s.gcr.io/pause:3.6"
    assert findings["kubelet-cni-dir:node/w1:/var/lib/kubelet/kubeadm-flags.env:cni-bin-dir"]["severity"] == "warning"
    assert findings["kubelet-flags-elsewhere:node/w1:/etc/default/kubelet"]["severity"] == "blocking"


def _fake_proc(root, pid, comm, inode, cgroup="0::/system.slice/x.service\n"):
    write(root, "/proc/%d/comm" % pid, comm + "\n")
    write(root, "/proc/%d/cgroup" % pid, cgroup)
    fd_dir = os.path.join(str(root), "proc", str(pid), "fd")
    os.makedirs(fd_dir, exist_ok=True)
    os.symlink("socket:[%s]" % inode, os.path.join(fd_dir, "3"))


SS_OUTPUT = ('u_str LISTEN 0 4096 /run/docker.sock 1001 * 0 users:(("dockerd",pid=10,fd=4))\n'
             'u_str ESTAB 0 0 /run/docker.sock 1002 * 2002 users:(("dockerd",pid=10,fd=8))\n'
             'u_str ESTAB 0 0 /run/docker.sock 1003 * 2003 users:(("dockerd",pid=10,fd=9))\n'
             'u_str ESTAB 0 0 /run/docker.sock 1004 * 2004 users:(("dockerd",pid=10,fd=10))\n')


def test_processes_connected_to_the_docker_socket_are_found_through_proc(tmp_path):
    write(tmp_path, "/proc/net/unix", "Num RefCount Protocol Flags Type St Inode Path\n"
          "0: 2 0 10000 1 1 1001 /run/docker.sock\n0: 3 0 0 1 3 1002 /run/docker.sock\n")
    _fake_proc(tmp_path, 10, "dockerd", "1002")
    _fake_proc(tmp_path, 20, "kubelet", "2002")
    _fake_proc(tmp_path, 30, "datadog-agent", "2003", "0::/kubepods.slice/kubepods-pod1.slice/cri-x\n")
    _fake_proc(tmp_path, 40, "sshd", "9999")
    scanner, findings = scan(tmp_path, ss_output=SS_OUTPUT)
    assert findings["docker-socket-client:node/w1:datadog-agent"]["severity"] == "blocking"
    assert "inside a Kubernetes pod" in findings["docker-socket-client:node/w1:datadog-agent"]["what"]
    assert findings["docker-socket-client:node/w1:kubelet"]["severity"] == "info"
    assert [client["name"] for client in scanner.docker_socket_clients] == ["datadog-agent", "kubelet"]


def test_without_ss_the_clients_are_reported_as_unknown(tmp_path):
    write(tmp_path, "/proc/net/unix", "Num RefCount Protocol Flags Type St Inode Path\n"
          "0: 2 0 10000 1 1 1001 /var/run/docker.sock\n")
    _scanner, findings = scan(tmp_path)
    assert list(findings) == ["docker-socket-clients-unknown:node/w1"]


def test_a_node_entry_keeps_the_cordon_and_kubeadms_cri_socket_annotation():
    cordoned = _node("a", "docker://20.10.24", "v1.25.0")
    cordoned["spec"] = {"unschedulable": True}
    cordoned["metadata"]["annotations"] = {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/cri-dockerd.sock"}
    _findings, nodes = ds.scan_cluster({"Node": [cordoned, _node("b", "containerd://2.1", "v1.34.4")]})
    assert (nodes[0]["unschedulable"], nodes[0]["cri_socket_annotation"]) == (True, "unix:///var/run/cri-dockerd.sock")
    assert (nodes[1]["unschedulable"], nodes[1]["cri_socket_annotation"]) == (False, None)

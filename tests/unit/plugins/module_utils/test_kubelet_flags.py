"""kubeadm-flags.env: reading and switching the kubelet's flags to containerd."""

import os

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _kubelet_flags as kf

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kubelet")
ENDPOINT = "unix:///run/containerd/containerd.sock"
DOCKERSHIM_ERA = ('KUBELET_KUBEADM_ARGS="--container-runtime=docker --network-plugin=cni '
                  '--pod-infra-container-image=k8s.gcr.io/pause:3.6"\n')


@pytest.mark.parametrize("text, expected", [
    ("v1.23.17", (1, 23)),
    ("Kubernetes v1.30.2", (1, 30)),
    ("1.24", (1, 24)),
    ("v1.27.0-rc.1", (1, 27)),
    ("", None),
    ("garbage", None),
    (None, None),
])
def test_kubelet_versions_are_read_from_the_usual_spellings(text, expected):
    assert kf.parse_version(text) == expected


def test_a_pre_1_24_kubelet_gets_container_runtime_remote_and_loses_the_dockershim_flags():
    plan = kf.switch_to_containerd(DOCKERSHIM_ERA, "/f", "v1.23.17")
    assert plan["changed"] is True
    assert plan["text"] == ('KUBELET_KUBEADM_ARGS="--container-runtime=remote '
                            '--pod-infra-container-image=k8s.gcr.io/pause:3.6 '
                            '--container-runtime-endpoint=unix:///run/containerd/containerd.sock"\n')
    assert plan["removed"] == [{"name": "network-plugin", "value": "cni"}]
    assert {"name": "container-runtime", "before": "docker", "after": "remote"} in plan["set"]
    assert plan["after"] == {"container-runtime": "remote", "container-runtime-endpoint": ENDPOINT,
                             "pod-infra-container-image": "k8s.gcr.io/pause:3.6"}


@pytest.mark.parametrize("version", ["v1.24.0", "v1.26.5", "v1.30.2"])
def test_a_1_24_or_newer_kubelet_loses_container_runtime_entirely(version):
    plan = kf.switch_to_containerd(DOCKERSHIM_ERA, "/f", version)
    assert "container-runtime" not in plan["after"]
    assert {"name": "container-runtime", "value": "docker"} in plan["removed"]


def test_a_second_run_changes_nothing():
    first = kf.switch_to_containerd(DOCKERSHIM_ERA, "/f", "v1.23.17")
    second = kf.switch_to_containerd(first["text"], "/f", "v1.23.17")
    assert second["changed"] is False
    assert second["text"] == first["text"]
    assert second["removed"] == [] and second["set"] == []


def test_every_dockershim_only_flag_is_dropped_and_other_flags_keep_their_spelling_and_order():
    text = ('# written by kubeadm\n'
            'KUBELET_KUBEADM_ARGS="--node-ip 10.0.0.5 --docker-endpoint=unix:///var/run/docker.sock '
            '--image-pull-progress-deadline=2m --network-plugin=cni --network-plugin-mtu=1450 '
            '--cni-bin-dir=/opt/cni/bin --cni-conf-dir=/etc/cni/net.d --cni-cache-dir=/var/lib/cni/cache '
            '--v=2 --container-runtime=docker"\n'
            'OTHER=keep\n')
    plan = kf.switch_to_containerd(text, "/f", "v1.23.17")
    lines = plan["text"].splitlines()
    assert lines[0] == "# written by kubeadm"
    assert lines[2] == "OTHER=keep"
    assert lines[1] == ('KUBELET_KUBEADM_ARGS="--node-ip 10.0.0.5 --v=2 --container-runtime=remote '
                        '--container-runtime-endpoint=unix:///run/containerd/containerd.sock"')
    assert sorted(item["name"] for item in plan["removed"]) == sorted(
        ["docker-endpoint", "image-pull-progress-deadline", "network-plugin", "network-plugin-mtu",
         "cni-bin-dir", "cni-conf-dir", "cni-cache-dir"])
    assert plan["warnings"] == []


def test_the_cri_dockerd_endpoint_is_replaced_in_place():
    with open(os.path.join(FIXTURES, "kubeadm-flags.env")) as handle:
        text = handle.read()
    plan = kf.switch_to_containerd(text, "/f", "v1.30.2")
    assert plan["text"].startswith('KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=%s ' % ENDPOINT)
    assert plan["set"] == [{"name": "container-runtime-endpoint", "before": "unix:///var/run/cri-dockerd.sock",
                            "after": ENDPOINT}]
    assert "--node-ip 10.0.0.21" in plan["text"]


def test_non_default_cni_directories_produce_a_warning():
    text = 'KUBELET_KUBEADM_ARGS="--network-plugin=cni --cni-bin-dir=/usr/libexec/cni"\n'
    plan = kf.switch_to_containerd(text, "/f", "v1.23.17")
    assert len(plan["warnings"]) == 1
    assert "--cni-bin-dir=/usr/libexec/cni" in plan["warnings"][0]


def test_single_quotes_and_export_are_read_and_the_line_is_rewritten_in_double_quotes():
    text = "export KUBELET_KUBEADM_ARGS='--container-runtime=docker'\n"
    plan = kf.switch_to_containerd(text, "/f", "v1.25.0")
    assert plan["text"] == 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=%s"\n' % ENDPOINT


def test_a_missing_variable_is_added_as_a_new_line():
    plan = kf.switch_to_containerd("# empty\nOTHER=1", "/f", "v1.25.0")
    assert plan["text"] == '# empty\nOTHER=1\nKUBELET_KUBEADM_ARGS="--container-runtime-endpoint=%s"\n' % ENDPOINT


def test_extra_flags_can_be_set_and_removed():
    plan = kf.switch_to_containerd(DOCKERSHIM_ERA, "/f", "v1.25.0", extra_set={"runtime-request-timeout": "15m"},
                                   extra_remove=["pod-infra-container-image"])
    assert plan["after"] == {"container-runtime-endpoint": ENDPOINT, "runtime-request-timeout": "15m"}


def test_duplicate_flags_are_collapsed_into_one():
    text = 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///a --container-runtime-endpoint unix:///b"\n'
    plan = kf.switch_to_containerd(text, "/f", "v1.25.0")
    assert plan["text"] == 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=%s"\n' % ENDPOINT


@pytest.mark.parametrize("text, version, fragment", [
    (None, "v1.23.17", "does not exist"),
    ('KUBELET_KUBEADM_ARGS="--a=1"\nKUBELET_KUBEADM_ARGS="--b=2"\n', "v1.23.17", "on 2 lines (1, 2)"),
    ('KUBELET_KUBEADM_ARGS="--a=1\n', "v1.23.17", "cannot be read as shell words"),
    ('KUBELET_KUBEADM_ARGS="stray --a=1"\n', "v1.23.17", "not kubelet flags: stray"),
    (DOCKERSHIM_ERA, "unknown", "give kubelet_version"),
    ('KUBELET_KUBEADM_ARGS="--node-labels=\'a b\' --container-runtime=docker"\n', "v1.23.17", "cannot be rewritten"),
])
def test_unsafe_input_is_refused_with_a_message_naming_the_cause(text, version, fragment):
    with pytest.raises(NodeOpsError) as caught:
        kf.switch_to_containerd(text, "/var/lib/kubelet/kubeadm-flags.env", version)
    assert fragment in caught.value.message


def test_an_endpoint_that_is_not_a_unix_socket_is_refused():
    with pytest.raises(NodeOpsError, match="unix://"):
        kf.switch_to_containerd(DOCKERSHIM_ERA, "/f", "v1.23.17", endpoint="tcp://1.2.3.4:1")


def test_read_flags_reads_the_variable_and_tolerates_a_missing_file():
    assert kf.read_flags(DOCKERSHIM_ERA, "/f")["container-runtime"] == "docker"
    assert kf.read_flags(None, "/f") == {}
    assert kf.read_flags("OTHER=1\n", "/f") == {}


def test_boolean_flags_and_separate_values_are_tokenized():
    flags = kf.tokenize_flags(["--fail-swap-on", "--node-ip", "10.0.0.1", "-v", "2", "--x=y"])
    assert kf.flags_dict(flags) == {"fail-swap-on": "true", "node-ip": "10.0.0.1", "v": "2", "x": "y"}


def test_from_1_27_the_endpoint_flag_is_not_added_where_kubeadm_keeps_it_in_the_config_file():
    """kubeadm 1.27+ writes containerRuntimeEndpoint into config.yaml; the flag is deprecated there."""
    text = 'KUBELET_KUBEADM_ARGS="--pod-infra-container-image=localhost/nodeops-lab/pause:3.10.1"\n'
    plan = kf.switch_to_containerd(text, "/f", "v1.34.4")
    assert plan["changed"] is False and plan["text"] == text
    assert "container-runtime-endpoint" not in plan["after"]


def test_from_1_27_an_endpoint_flag_already_there_is_corrected():
    text = 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/cri-dockerd.sock"\n'
    plan = kf.switch_to_containerd(text, "/f", "v1.30.2")
    assert plan["after"]["container-runtime-endpoint"] == ENDPOINT
    assert plan["set"] == [{"name": "container-runtime-endpoint", "before": "unix:///run/cri-dockerd.sock",
                            "after": ENDPOINT}]


@pytest.mark.parametrize("line", ["--container-runtime=docker --network-plugin=cni", "KUBELET_KUBEADM_ARGS",
                                  "1X=--v=2"])
def test_a_line_that_is_not_an_assignment_is_refused_naming_the_line_and_the_fix(line):
    text = "# kubeadm\n" + line + "\n"
    with pytest.raises(NodeOpsError) as err:
        kf.switch_to_containerd(text, "/var/lib/kubelet/kubeadm-flags.env", "v1.23.17")
    assert err.value.message.startswith("/var/lib/kubelet/kubeadm-flags.env line 2 is not a VARIABLE=value "
                                        "assignment (%s)" % line)
    assert 'write it as KUBELET_KUBEADM_ARGS="..." (or comment it out with #)' in err.value.message
    assert err.value.details["line"] == 2


def test_other_assignments_and_export_lines_are_still_read():
    text = 'export OTHER=1\nKUBELET_KUBEADM_ARGS="--container-runtime=docker"\nSPACED=a b\n'
    assert kf.read_flags(text, "flags.env") == {"container-runtime": "docker"}


def test_words_that_are_not_flags_are_refused_saying_how_flags_are_written():
    text = 'KUBELET_KUBEADM_ARGS="container-runtime=docker --v=2"\n'
    with pytest.raises(NodeOpsError) as err:
        kf.switch_to_containerd(text, "flags.env", "v1.23.17")
    assert err.value.message == ("flags.env (KUBELET_KUBEADM_ARGS) holds words that are not kubelet flags: "
                                 "container-runtime=docker; the file is left untouched. Write every flag as "
                                 "--name=value (or --name value) and run again")

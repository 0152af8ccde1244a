"""Tests of the KubeletConfiguration editor."""

import os

import pytest
import yaml

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_config import (
    cgroup_driver,
    edit_kubelet_text,
    parse_kubelet_text,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kubelet")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def changed_lines(before, after):
    old, new = before.splitlines(), after.splitlines()
    return [line for line in old if line not in new], [line for line in new if line not in old]


@pytest.mark.parametrize("name", ["kubeadm-config.yaml", "hand-written-with-comments.yaml", "flow-style.yaml"])
def test_setting_the_cgroup_driver_changes_only_that_field(name):
    text = fixture(name)
    edit = edit_kubelet_text(text, {"cgroupDriver": "systemd"}, source=name)
    assert edit.changed
    assert edit.before == {"cgroupDriver": "cgroupfs"}
    assert edit.after == {"cgroupDriver": "systemd"}
    old, new = yaml.safe_load(text), yaml.safe_load(edit.text)
    old["cgroupDriver"] = "systemd"
    assert new == old
    assert list(new) == list(yaml.safe_load(text))


def test_kubeadm_file_diff_is_one_line():
    text = fixture("kubeadm-config.yaml")
    edit = edit_kubelet_text(text, {"cgroupDriver": "systemd"})
    assert changed_lines(text, edit.text) == (["cgroupDriver: cgroupfs"], ["cgroupDriver: systemd"])
    assert not edit.rewritten


def test_comments_and_quoting_survive_an_edit():
    text = fixture("hand-written-with-comments.yaml")
    edit = edit_kubelet_text(text, {"cgroupDriver": "systemd", "clusterDNS": ["169.254.20.10"]})
    assert "# Kubelet configuration maintained by the platform team." in edit.text
    assert 'memory.available: "200Mi"   # raised after the March incident' in edit.text
    assert "cgroupDriver: systemd   # migrated to systemd during the maintenance window" in edit.text
    assert not edit.rewritten


@pytest.mark.parametrize("settings", [
    {"cgroupDriver": "systemd"},
    {"clusterDNS": ["169.254.20.10"], "serverTLSBootstrap": True},
    {"resolvConf": "/etc/resolv.conf", "evictionHard": {"memory.available": "500Mi"}},
])
def test_a_second_apply_changes_nothing(settings):
    first = edit_kubelet_text(fixture("kubeadm-config.yaml"), settings)
    second = edit_kubelet_text(first.text, settings)
    assert first.changed
    assert not second.changed
    assert second.text == first.text


def test_an_already_set_field_leaves_the_text_identical():
    text = fixture("kubeadm-config.yaml")
    edit = edit_kubelet_text(text, {"clusterDomain": "cluster.local", "rotateCertificates": True})
    assert not edit.changed
    assert edit.text is text


def test_new_fields_go_to_their_alphabetical_place_in_a_sorted_file():
    text = fixture("kubeadm-config.yaml")
    edit = edit_kubelet_text(text, {"serverTLSBootstrap": True})
    keys = list(yaml.safe_load(edit.text))
    assert keys == sorted(keys)
    assert edit.before == {"serverTLSBootstrap": None}
    assert changed_lines(text, edit.text) == ([], ["serverTLSBootstrap: true"])


def test_new_fields_go_to_the_end_of_an_unsorted_file():
    edit = edit_kubelet_text(fixture("hand-written-with-comments.yaml"), {"serverTLSBootstrap": True})
    assert list(yaml.safe_load(edit.text))[-1] == "serverTLSBootstrap"


@pytest.mark.parametrize("value, expected", [("1", "'1'"), (True, "true"), ("true", "'true'"), (10, "10")])
def test_values_keep_their_yaml_type(value, expected):
    # A field whose type the editor does not check (maxPods must be an integer, see below).
    edit = edit_kubelet_text(fixture("kubeadm-config.yaml"), {"exampleField": value})
    assert "exampleField: %s" % expected in edit.text
    assert yaml.safe_load(edit.text)["exampleField"] == value


def test_a_string_is_not_the_same_as_a_boolean():
    text = fixture("kubeadm-config.yaml").replace("rotateCertificates: true", "rotateCertificates: 'true'")
    edit = edit_kubelet_text(text, {"rotateCertificates": True})
    assert edit.changed
    assert yaml.safe_load(edit.text)["rotateCertificates"] is True


def test_removing_a_field_removes_its_whole_entry():
    text = fixture("hand-written-with-comments.yaml")
    edit = edit_kubelet_text(text, {}, remove=["evictionHard", "notThere"])
    data = yaml.safe_load(edit.text)
    assert "evictionHard" not in data
    assert "raised after the March incident" not in edit.text
    assert edit.before["evictionHard"] == {"memory.available": "200Mi", "nodefs.available": "10%"}
    assert edit.after == {"evictionHard": None, "notThere": None}
    assert not edit_kubelet_text(edit.text, {}, remove=["evictionHard"]).changed


def test_a_flow_style_document_is_rewritten_and_says_so():
    edit = edit_kubelet_text(fixture("flow-style.yaml"), {"cgroupDriver": "systemd"})
    assert edit.rewritten
    assert yaml.safe_load(edit.text)["cgroupDriver"] == "systemd"


@pytest.mark.parametrize("name, cause", [
    ("malformed.yaml", "is not valid YAML at line"),
    ("kubeadm-cluster-configuration.yaml", "is not a KubeletConfiguration"),
    ("two-documents.yaml", "is not valid YAML"),
    ("duplicate-field.yaml", "defines the field 'cgroupDriver' more than once"),
])
def test_bad_files_are_refused_with_the_file_name_and_the_cause(name, cause):
    with pytest.raises(NodeOpsError) as err:
        edit_kubelet_text(fixture(name), {"cgroupDriver": "systemd"}, source="/var/lib/kubelet/config.yaml")
    assert err.value.message.startswith("/var/lib/kubelet/config.yaml")
    assert cause in err.value.message
    assert err.value.to_result()["path"] == "/var/lib/kubelet/config.yaml"


@pytest.mark.parametrize("text", ["", "   \n", "- a\n- b\n", "just a string\n"])
def test_empty_or_non_mapping_text_is_refused(text):
    with pytest.raises(NodeOpsError, match="config.yaml"):
        parse_kubelet_text(text, "config.yaml")


@pytest.mark.parametrize("settings, remove, message", [
    ({"kind": "Other"}, [], "identifies the document"),
    ({}, ["apiVersion"], "identifies the document"),
    ({"cgroupDriver": "systemd"}, ["cgroupDriver"], "both in settings and in remove"),
    ({"": 1}, [], "non-empty strings"),
])
def test_contradictory_requests_are_refused(settings, remove, message):
    with pytest.raises(NodeOpsError, match=message):
        edit_kubelet_text(fixture("kubeadm-config.yaml"), settings, remove)


def test_str_subclasses_from_templating_are_written_as_plain_strings():
    class Tagged(str):
        pass

    edit = edit_kubelet_text(fixture("kubeadm-config.yaml"), {"cgroupDriver": Tagged("systemd"),
                                                              "clusterDNS": [Tagged("169.254.20.10")]})
    assert "cgroupDriver: systemd\n" in edit.text
    assert "- 169.254.20.10\n" in edit.text


@pytest.mark.parametrize("data, expected", [({}, "cgroupfs"), ({"cgroupDriver": "systemd"}, "systemd")])
def test_the_kubelet_default_cgroup_driver_is_cgroupfs(data, expected):
    assert cgroup_driver(data) == expected


def test_a_field_of_the_wrong_type_in_the_file_is_refused_naming_the_line_and_the_fix():
    text = fixture("kubeadm-config.yaml").replace("cgroupDriver: cgroupfs", "cgroupDriver: 5")
    line = text.splitlines().index("cgroupDriver: 5") + 1
    with pytest.raises(NodeOpsError) as err:
        edit_kubelet_text(text, {"maxPods": 50}, source="config.yaml")
    assert err.value.message.startswith("config.yaml: the field cgroupDriver is 5 (an integer, line %d), but the "
                                        "kubelet reads a string (systemd or cgroupfs)" % line)
    assert "fix the value by hand (or set it with settings)" in err.value.message
    assert err.value.details == {"path": "config.yaml", "field": "cgroupDriver"}


def test_a_list_field_given_as_a_string_is_refused():
    text = fixture("kubeadm-config.yaml") + "tlsCipherSuites: TLS_AES_128_GCM_SHA256\n"
    with pytest.raises(NodeOpsError, match="the field tlsCipherSuites is 'TLS_AES_128_GCM_SHA256' "
                                           r"\(a string, line \d+\), but the kubelet reads a list of strings"):
        edit_kubelet_text(text, {"cgroupDriver": "systemd"})


def test_a_setting_of_the_wrong_type_is_the_task_s_error():
    with pytest.raises(NodeOpsError) as err:
        edit_kubelet_text(fixture("kubeadm-config.yaml"), {"failSwapOn": "no"}, source="config.yaml")
    assert err.value.message == ("settings.failSwapOn is 'no' (a string), but the kubelet reads a boolean (true or "
                                 "false); config.yaml is left untouched. Give settings.failSwapOn as a boolean "
                                 "(true or false) and run again")


def test_a_wrong_value_in_the_file_may_be_replaced_by_a_setting():
    text = fixture("kubeadm-config.yaml").replace("cgroupDriver: cgroupfs", "cgroupDriver: 5")
    edit = edit_kubelet_text(text, {"cgroupDriver": "systemd"})
    assert edit.before == {"cgroupDriver": 5} and edit.after == {"cgroupDriver": "systemd"}
    assert yaml.safe_load(edit.text)["cgroupDriver"] == "systemd"

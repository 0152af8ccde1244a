"""Tests of the containerd config.toml editor."""

import os

import pytest
import tomlkit

from ansible_collections.nodeops.kubernetes.plugins.module_utils._containerd_config import (
    edit_containerd_text,
    effective_systemd_cgroup,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "containerd")
PATH = "/etc/containerd/config.toml"


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def default_of(name):
    calls = []

    def provide():
        calls.append(name)
        return fixture(name)

    provide.calls = calls
    return provide


def changed_lines(before, after):
    old, new = before.splitlines(), after.splitlines()
    return [line.strip() for line in old if line not in new], [line.strip() for line in new if line not in old]


RUNTIMES_V2 = ("plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes")
RUNTIMES_V3 = ("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes")


def dig(data, path):
    for key in path:
        data = data[key]
    return data


@pytest.mark.parametrize("name, version, runtimes_path", [
    ("containerd-1.6-default.toml", 2, RUNTIMES_V2),
    ("containerd-1.7-default.toml", 2, RUNTIMES_V2),
    ("containerd-2.0-default.toml", 3, RUNTIMES_V3),
])
def test_default_configs_get_systemd_cgroup_on_runc(name, version, runtimes_path):
    text = fixture(name)
    provider = default_of(name)
    edit = edit_containerd_text(text, PATH, systemd_cgroup=True, default_text=provider)
    assert edit.changed and edit.version == version
    assert not edit.generated_from_default and provider.calls == []
    assert edit.runtimes_touched == ["runc"]
    assert dig(tomlkit.parse(edit.text).unwrap(), runtimes_path)["runc"]["options"]["SystemdCgroup"] is True
    removed, added = changed_lines(text, edit.text)
    assert added == ["SystemdCgroup = true"]
    assert removed in ([], ["SystemdCgroup = false"])


@pytest.mark.parametrize("name", ["containerd-1.6-default.toml", "containerd-1.7-default.toml",
                                  "containerd-2.0-default.toml", "nvidia-with-comments.toml"])
def test_a_second_apply_changes_nothing(name):
    options = dict(systemd_cgroup=True, sandbox_image="registry.k8s.io/pause:3.10",
                   config_path="/etc/containerd/certs.d")
    first = edit_containerd_text(fixture(name), PATH, **options)
    second = edit_containerd_text(first.text, PATH, **options)
    assert first.changed
    assert not second.changed
    assert second.text == first.text
    assert second.runtimes_touched == []


def test_every_runc_runtime_is_switched_and_other_runtimes_are_left_alone():
    edit = edit_containerd_text(fixture("nvidia-with-comments.toml"), PATH, systemd_cgroup=True)
    data = dig(tomlkit.parse(edit.text).unwrap(), RUNTIMES_V2)
    assert edit.runtimes_touched == ["nvidia", "runc", "runc-untrusted"]
    assert edit.runtimes_skipped == {"kata": "io.containerd.kata.v2"}
    assert edit.before["systemd_cgroup"] == {"nvidia": False, "runc": False, "runc-untrusted": None}
    assert edit.after["systemd_cgroup"] == {"nvidia": True, "runc": True, "runc-untrusted": True}
    assert "options" not in data["kata"]
    assert data["nvidia"]["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"


def test_comments_and_unrelated_settings_are_preserved():
    text = fixture("nvidia-with-comments.toml")
    edit = edit_containerd_text(text, PATH, systemd_cgroup=True)
    for comment in ("# containerd configuration for the GPU node pool.",
                    "# Pinned to the pause image mirrored in the internal registry.",
                    "SystemdCgroup = true  # flipped during the cgroup driver migration",
                    "# Kata is not a runc runtime: its cgroup handling is configured elsewhere."):
        assert comment in edit.text
    old, new = tomlkit.parse(text).unwrap(), tomlkit.parse(edit.text).unwrap()
    for runtime in ("nvidia", "runc", "runc-untrusted"):
        dig(old, RUNTIMES_V2)[runtime].setdefault("options", {})["SystemdCgroup"] = True
    assert new == old


def test_a_missing_options_table_is_created_with_the_file_indentation():
    edit = edit_containerd_text(fixture("nvidia-with-comments.toml"), PATH, systemd_cgroup=True)
    assert ('          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-untrusted.options]\n'
            '            SystemdCgroup = true\n') in edit.text


@pytest.mark.parametrize("name, version, sandbox_line, registry_line", [
    ("containerd-1.7-default.toml", 2, 'sandbox_image = "registry.k8s.io/pause:3.10"',
     'config_path = "/etc/containerd/certs.d"'),
    ("containerd-2.0-default.toml", 3, "sandbox = 'registry.k8s.io/pause:3.10'",
     "config_path = '/etc/containerd/certs.d'"),
])
def test_sandbox_image_and_registry_hosts_go_where_the_schema_wants_them(name, version, sandbox_line, registry_line):
    edit = edit_containerd_text(fixture(name), PATH, sandbox_image="registry.k8s.io/pause:3.10",
                                config_path="/etc/containerd/certs.d")
    assert edit.version == version
    assert sandbox_line in edit.text
    assert registry_line in edit.text
    assert edit.after["sandbox_image"] == "registry.k8s.io/pause:3.10"
    assert edit.after["config_path"] == "/etc/containerd/certs.d"
    assert "systemd_cgroup" not in edit.after


@pytest.mark.parametrize("name, reason, default", [
    ("empty.toml", "empty", "containerd-1.7-default.toml"),
    ("comments-only.toml", "empty", "containerd-2.0-default.toml"),
    ("docker-packaged.toml", "cri_disabled", "containerd-1.6-default.toml"),
])
def test_files_without_cri_configuration_are_generated_from_the_default(name, reason, default):
    provider = default_of(default)
    edit = edit_containerd_text(fixture(name), PATH, systemd_cgroup=True, default_text=provider)
    assert provider.calls == [default]
    assert edit.generated_from_default and edit.generation_reason == reason
    assert edit.changed
    assert edit.after["disabled_plugins"] == []
    assert edit.after["systemd_cgroup"] == {"runc": True}
    assert not edit_containerd_text(edit.text, PATH, systemd_cgroup=True, default_text=provider).changed


def test_a_missing_file_is_generated_from_the_default():
    edit = edit_containerd_text(None, PATH, systemd_cgroup=True,
                                default_text=default_of("containerd-2.0-default.toml"))
    assert edit.generation_reason == "missing"
    assert edit.version == 3
    assert edit.before == {"systemd_cgroup": {}, "disabled_plugins": []}


def test_cri_disabled_in_a_full_config_is_just_re_enabled():
    text = fixture("containerd-1.7-default.toml").replace("disabled_plugins = []",
                                                          'disabled_plugins = ["cri", "io.containerd.internal.v1.opt"]')
    edit = edit_containerd_text(text, PATH, systemd_cgroup=True)
    assert not edit.generated_from_default
    assert edit.before["disabled_plugins"] == ["cri", "io.containerd.internal.v1.opt"]
    assert edit.after["disabled_plugins"] == ["io.containerd.internal.v1.opt"]


def test_a_partial_config_without_runtimes_keeps_its_settings_on_top_of_the_default():
    text = 'version = 2\nroot = "/data/containerd"\n'
    edit = edit_containerd_text(text, PATH, systemd_cgroup=True, default_text=default_of("containerd-1.6-default.toml"))
    assert edit.generation_reason == "cri_runtimes_absent"
    data = tomlkit.parse(edit.text).unwrap()
    assert data["root"] == "/data/containerd"
    assert data["state"] == "/run/containerd"


@pytest.mark.parametrize("name, options, message", [
    ("malformed.toml", {"systemd_cgroup": True}, "is not valid TOML at line"),
    ("version1-legacy.toml", {"systemd_cgroup": True}, "legacy schema version 1"),
    ("version4-unknown.toml", {"systemd_cgroup": True}, "declares schema version 4"),
    ("registry-mirrors.toml", {"config_path": "/etc/containerd/certs.d"}, "both 'mirrors' and 'config_path'"),
    ("docker-packaged.toml", {"systemd_cgroup": True, "enable_cri": False}, "disables the CRI plugin"),
])
def test_files_that_cannot_be_edited_safely_are_refused_naming_the_file(name, options, message):
    provider = default_of("containerd-1.7-default.toml")
    with pytest.raises(NodeOpsError) as err:
        edit_containerd_text(fixture(name), PATH, default_text=provider, **options)
    assert err.value.message.startswith(PATH)
    assert message in err.value.message
    assert provider.calls == []


@pytest.mark.parametrize("value, kind", [
    ("true", "a boolean"),
    ('"cri"', "a string"),
    ("[1]", "an array with non-string entries"),
])
@pytest.mark.parametrize("name", ["containerd-1.7-default.toml", "empty.toml"])
def test_disabled_plugins_that_is_not_an_array_of_names_is_refused_naming_the_key(value, kind, name):
    text = "disabled_plugins = %s\n" % value + fixture(name).replace("disabled_plugins = []\n", "")
    provider = default_of("containerd-1.7-default.toml")
    with pytest.raises(NodeOpsError) as err:
        edit_containerd_text(text, PATH, systemd_cgroup=True, default_text=provider)
    assert err.value.message.startswith("%s: 'disabled_plugins' is %s" % (PATH, kind))
    assert "disabled_plugins = []" in err.value.message and "left untouched" in err.value.message
    assert err.value.details == {"path": PATH, "key": "disabled_plugins"}
    assert provider.calls == []


@pytest.mark.parametrize("name, header, registry", [
    ("containerd-1.7-default.toml", '[plugins."io.containerd.grpc.v1.cri".registry]\n',
     'plugins."io.containerd.grpc.v1.cri".registry'),
    ("containerd-2.0-default.toml", "[plugins.'io.containerd.cri.v1.images'.registry]\n",
     'plugins."io.containerd.cri.v1.images".registry'),
])
@pytest.mark.parametrize("value, kind", [("5", "an integer"), ('"https://mirror.lan"', "a string"),
                                         ('["https://mirror.lan"]', "an array")])
def test_registry_mirrors_not_a_table_is_refused_when_config_path_is_set(name, header, registry, value, kind):
    text = fixture(name)
    assert header in text
    text = text.replace(header[:-2] + ".mirrors]\n", "").replace(header, header + "  mirrors = %s\n" % value, 1)
    with pytest.raises(NodeOpsError) as err:
        edit_containerd_text(text, PATH, config_path="/etc/containerd/certs.d")
    assert err.value.message.startswith("%s: %s.mirrors is %s" % (PATH, registry, kind))
    assert "Remove it" in err.value.message and "left untouched" in err.value.message
    assert err.value.details == {"path": PATH, "key": registry + ".mirrors"}


def test_a_version_2_file_without_runtimes_is_refused_on_a_containerd_2_node():
    with pytest.raises(NodeOpsError, match="generates version 3"):
        edit_containerd_text('version = 2\nroot = "/x"\n', PATH, systemd_cgroup=True,
                             default_text=default_of("containerd-2.0-default.toml"))


def test_a_default_config_without_cri_is_refused():
    with pytest.raises(NodeOpsError, match="no CRI runc runtime"):
        edit_containerd_text("", PATH, systemd_cgroup=True, default_text=lambda: "version = 2\n")


def test_systemd_cgroup_false_switches_back_to_cgroupfs():
    first = edit_containerd_text(fixture("containerd-1.7-default.toml"), PATH, systemd_cgroup=True)
    back = edit_containerd_text(first.text, PATH, systemd_cgroup=False)
    assert back.changed
    assert back.text == fixture("containerd-1.7-default.toml")


@pytest.mark.parametrize("name, version, expected", [
    ("containerd-1.7-default.toml", 2, {"runc": False}),
    ("containerd-2.0-default.toml", 3, {"runc": None}),
    ("nvidia-with-comments.toml", 2, {"nvidia": False, "runc": False, "runc-untrusted": None}),
    ("version1-legacy.toml", 1, {}),
])
def test_effective_systemd_cgroup_reads_plain_parsed_data(name, version, expected):
    assert effective_systemd_cgroup(tomlkit.parse(fixture(name)).unwrap()) == (version, expected)


@pytest.mark.parametrize("text, key, kind", [
    ('version = 2\nplugins = "cri"\n', "plugins", "a string"),
    ('version = 2\n[plugins]\n"io.containerd.grpc.v1.cri" = 1\n', 'plugins."io.containerd.grpc.v1.cri"',
     "an integer"),
    ('version = 3\n[plugins."io.containerd.cri.v1.images"]\npinned_images = ["x"]\n',
     'plugins."io.containerd.cri.v1.images".pinned_images', "an array"),
])
def test_a_key_on_the_way_to_the_settings_that_is_not_a_table_is_refused(text, key, kind):
    def no_default():
        raise AssertionError("a file that cannot be read must not be replaced by a generated one")

    with pytest.raises(NodeOpsError) as err:
        edit_containerd_text(text, "config.toml", systemd_cgroup=True, default_text=no_default)
    assert err.value.message.startswith("config.toml: '%s' is %s (" % (key, kind))
    assert "Write it as a table ([%s] ...) or remove it" % key in err.value.message
    assert err.value.details["key"] == key


def test_runtime_options_that_are_not_a_table_are_refused_with_the_fix():
    text = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
            'runtime_type = "io.containerd.runc.v2"\noptions = "fast"\n')
    with pytest.raises(NodeOpsError) as err:
        edit_containerd_text(text, "config.toml", systemd_cgroup=True)
    assert err.value.message.startswith("config.toml: the options of runtime 'runc' are a string "
                                        "(options = \"fast\"); containerd reads them as a table.")
    assert "SystemdCgroup = true or false" in err.value.message

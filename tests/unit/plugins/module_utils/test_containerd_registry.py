"""Docker registry and proxy settings translated into containerd's hosts.toml files and drop-in."""

import tomllib

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _containerd_registry as cr

CERTS = "/etc/containerd/certs.d"


def plan_and_render(mirrors, insecure, existing=None):
    files, untranslatable = cr.plan_registry_files(CERTS, mirrors, insecure)
    rendered = {}
    for path, plan in files.items():
        merged = cr.merge_hosts_toml((existing or {}).get(path), path, plan["server"], plan["hosts"])
        rendered[path] = tomllib.loads(merged["text"])
    return rendered, untranslatable


def test_mirrors_become_docker_hub_hosts_in_docker_order():
    rendered, _untranslatable = plan_and_render(["https://mirror.b.example", "mirror.a.example:5000/"], [])
    assert list(rendered) == [CERTS + "/docker.io/hosts.toml"]
    data = rendered[CERTS + "/docker.io/hosts.toml"]
    assert data["server"] == "https://registry-1.docker.io"
    assert list(data["host"]) == ["https://mirror.b.example", "https://mirror.a.example:5000"]
    assert data["host"]["https://mirror.b.example"] == {"capabilities": ["pull", "resolve"]}


def test_a_mirror_that_is_also_insecure_skips_verification_and_a_mirror_path_is_kept_as_is():
    rendered, _untranslatable = plan_and_render(["https://m.lan:5000", "http://plain.lan", "https://p.lan/hub"],
                                                ["m.lan:5000"])
    hub = rendered[CERTS + "/docker.io/hosts.toml"]["host"]
    assert hub["https://m.lan:5000"]["skip_verify"] is True
    assert "skip_verify" not in hub["http://plain.lan"]
    assert hub["https://p.lan/hub"]["override_path"] is True


@pytest.mark.parametrize("entry, server, hosts", [
    ("registry.lan:5000", "https://registry.lan:5000", ["https://registry.lan:5000", "http://registry.lan:5000"]),
    ("https://secure.lan", "https://secure.lan", ["https://secure.lan"]),
    ("http://plain.lan:5000", "http://plain.lan:5000", ["http://plain.lan:5000"]),
    ("Upper.LAN", "https://upper.lan", ["https://upper.lan", "http://upper.lan"]),
])
def test_insecure_registries_follow_the_documented_http_rule(entry, server, hosts):
    rendered, untranslatable = plan_and_render([], [entry])
    name = hosts[0].split("://")[1]
    data = rendered["%s/%s/hosts.toml" % (CERTS, name)]
    assert untranslatable == []
    assert data["server"] == server
    assert list(data["host"]) == hosts
    for url in hosts:
        assert data["host"][url]["capabilities"] == ["pull", "resolve", "push"]
        assert data["host"][url].get("skip_verify", False) is url.startswith("https://")


@pytest.mark.parametrize("insecure", ["docker.io", "index.docker.io", "https://docker.io"])
def test_docker_hub_as_an_insecure_registry_uses_its_api_endpoint_not_docker_io(insecure):
    rendered, _untranslatable = plan_and_render(["https://mirror.example"], [insecure])
    assert list(rendered) == [CERTS + "/docker.io/hosts.toml"]
    data = rendered[CERTS + "/docker.io/hosts.toml"]
    assert data["server"] == "https://registry-1.docker.io"
    assert list(data["host"])[:2] == ["https://mirror.example", "https://registry-1.docker.io"]
    assert data["host"]["https://registry-1.docker.io"]["skip_verify"] is True
    assert not any(url.endswith("://docker.io") for url in data["host"])


def test_docker_hub_as_the_only_insecure_registry_gets_the_hub_server_too():
    rendered, _untranslatable = plan_and_render([], ["docker.io"])
    data = rendered[CERTS + "/docker.io/hosts.toml"]
    assert data["server"] == "https://registry-1.docker.io"
    assert list(data["host"]) == ["https://registry-1.docker.io", "http://registry-1.docker.io"]


def test_cidr_ranges_are_returned_as_untranslatable():
    rendered, untranslatable = plan_and_render([], ["10.0.0.0/8", "reg.lan"])
    assert untranslatable == ["10.0.0.0/8"]
    assert list(rendered) == [CERTS + "/reg.lan/hosts.toml"]


def test_an_existing_hosts_file_is_merged_its_entries_stay_first_and_its_server_is_kept():
    path = CERTS + "/docker.io/hosts.toml"
    existing = ('# hand-written\nserver = "https://docker.io"\n\n[host."https://cache.lan"]\n'
                '  capabilities = ["pull"]\n  ca = "/etc/ssl/cache.pem"\n')
    merged = cr.merge_hosts_toml(existing, path, "https://registry-1.docker.io",
                                 [("https://mirror.example", {"capabilities": ["pull", "resolve"]})])
    assert merged["changed"] is True
    assert merged["text"].startswith("# hand-written\n")
    data = tomllib.loads(merged["text"])
    assert data["server"] == "https://docker.io"
    assert list(data["host"]) == ["https://cache.lan", "https://mirror.example"]
    assert data["host"]["https://cache.lan"]["ca"] == "/etc/ssl/cache.pem"
    assert "keeps its server https://docker.io" in merged["warnings"][0]


def test_merging_twice_changes_nothing_the_second_time():
    hosts = [("https://mirror.example", {"capabilities": ["pull", "resolve"]})]
    first = cr.merge_hosts_toml(None, "/p", cr.DOCKER_HUB_SERVER, hosts)
    second = cr.merge_hosts_toml(first["text"], "/p", cr.DOCKER_HUB_SERVER, hosts)
    assert first["changed"] is True
    assert second["changed"] is False
    assert second["text"] == first["text"]


def test_owned_keys_of_an_existing_host_are_brought_in_line():
    existing = 'server = "https://r.lan"\n[host."https://r.lan"]\ncapabilities = ["pull"]\n'
    merged = cr.merge_hosts_toml(existing, "/p", "https://r.lan",
                                 [("https://r.lan", {"capabilities": ["pull", "resolve", "push"], "skip_verify": True})])
    assert tomllib.loads(merged["text"])["host"]["https://r.lan"] == {
        "capabilities": ["pull", "resolve", "push"], "skip_verify": True}


def test_a_malformed_hosts_file_is_refused_naming_the_file():
    with pytest.raises(NodeOpsError) as caught:
        cr.merge_hosts_toml("server = [", "/etc/containerd/certs.d/r/hosts.toml", "https://r", [])
    assert caught.value.message.startswith("/etc/containerd/certs.d/r/hosts.toml is not valid TOML")


MIRROR = [("https://mirror.example", {"capabilities": ["pull", "resolve"]})]


def test_an_inline_host_table_is_merged_into_and_stays_inline():
    existing = ('server = "https://registry-1.docker.io"\n'
                'host = { "https://cache.lan" = { capabilities = ["pull"] } }\n')
    merged = cr.merge_hosts_toml(existing, "/p", cr.DOCKER_HUB_SERVER, MIRROR)
    data = tomllib.loads(merged["text"])
    assert merged["changed"] is True
    assert merged["text"].count("\n") == 2
    assert list(data["host"]) == ["https://cache.lan", "https://mirror.example"]
    assert data["host"]["https://mirror.example"] == {"capabilities": ["pull", "resolve"]}
    again = cr.merge_hosts_toml(merged["text"], "/p", cr.DOCKER_HUB_SERVER, MIRROR)
    assert again["changed"] is False


def test_an_inline_table_of_one_host_gets_its_owned_keys_set():
    existing = '[host]\n"https://mirror.example" = { capabilities = ["pull"] }\n'
    merged = cr.merge_hosts_toml(existing, "/p", cr.DOCKER_HUB_SERVER, MIRROR)
    assert tomllib.loads(merged["text"])["host"]["https://mirror.example"] == {"capabilities": ["pull", "resolve"]}


@pytest.mark.parametrize("existing, key, kind", [
    ('[host]\n"https://mirror.example" = "pull"\n', 'host."https://mirror.example"', "a string"),
    ('host = { "https://mirror.example" = 3 }\n', 'host."https://mirror.example"', "an integer"),
    ('host = ["https://mirror.example"]\n', "'host'", "an array"),
])
def test_a_host_entry_that_is_not_a_table_is_refused_naming_the_file_the_key_and_the_fix(existing, key, kind):
    path = CERTS + "/docker.io/hosts.toml"
    with pytest.raises(NodeOpsError) as caught:
        cr.merge_hosts_toml(existing, path, cr.DOCKER_HUB_SERVER, MIRROR)
    message = caught.value.message
    assert message.startswith("%s: %s is %s, not a table" % (path, key, kind))
    assert "left untouched" in message and "run again" in message
    assert caught.value.details["path"] == path


@pytest.mark.parametrize("entry", ["", "ftp://x", "https://"])
def test_entries_that_are_not_registries_are_refused(entry):
    with pytest.raises(NodeOpsError):
        cr.plan_registry_files(CERTS, [entry], [])


def test_the_proxy_dropin_sets_both_spellings_and_escapes_for_systemd():
    text = cr.render_proxy_dropin("http://user:p%40ss@proxy:3128", None, "localhost,.svc,10.0.0.0/8")
    assert text.splitlines() == [
        "# Proxy settings of containerd, carried over from Docker's configuration.",
        "[Service]",
        'Environment="HTTP_PROXY=http://user:p%%40ss@proxy:3128"',
        'Environment="http_proxy=http://user:p%%40ss@proxy:3128"',
        'Environment="NO_PROXY=localhost,.svc,10.0.0.0/8"',
        'Environment="no_proxy=localhost,.svc,10.0.0.0/8"',
    ]


def test_no_proxy_settings_means_no_dropin():
    assert cr.render_proxy_dropin(None, "", None) is None


def test_quotes_and_backslashes_in_a_proxy_are_escaped():
    assert 'Environment="HTTPS_PROXY=http://a\\"b\\\\c"' in cr.render_proxy_dropin(None, 'http://a"b\\c')


@pytest.mark.parametrize("value, kind", [("5", "an integer"), ("true", "a boolean"), ('["a"]', "an array")])
def test_a_server_that_is_not_a_url_is_refused_naming_the_file_and_the_fix(value, kind):
    text = "server = %s\n" % value
    with pytest.raises(NodeOpsError) as err:
        cr.merge_hosts_toml(text, "/etc/containerd/certs.d/docker.io/hosts.toml", "https://registry-1.docker.io",
                            [])
    assert err.value.message == (
        "/etc/containerd/certs.d/docker.io/hosts.toml: 'server' is %s (server = %s), not the URL of the registry; "
        "the file is left untouched. Write it as a URL in quotes (server = \"https://registry-1.docker.io\") or "
        "remove it and run again" % (kind, value))
    assert err.value.details["key"] == "server"

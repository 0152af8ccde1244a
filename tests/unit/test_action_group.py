"""Every module that talks to the API server is in the k8s action group, so that the play's
module_defaults of group/nodeops.kubernetes.k8s (the one way to set the connection) reach it."""

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULES = os.path.join(ROOT, "plugins", "modules")


def documented_fragments(path):
    with open(path) as handle:
        text = handle.read()
    found = re.search(r'DOCUMENTATION = r?"""(.*?)"""', text, re.S)
    return (yaml.safe_load(found.group(1)) or {}).get("extends_documentation_fragment") or []


def test_every_api_module_is_in_the_action_group_and_nothing_else_is():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = [m for m in yaml.safe_load(handle)["action_groups"]["k8s"] if isinstance(m, str)]
    api_modules = sorted(name[:-3] for name in os.listdir(MODULES)
                         if name.endswith(".py") and "nodeops.kubernetes.k8s_auth"
                         in documented_fragments(os.path.join(MODULES, name)))
    assert "nodelocaldns_facts" in api_modules and "drain" in api_modules
    assert sorted(group) == api_modules
    for name in api_modules:
        assert "nodeops.kubernetes.attributes.action_group" in documented_fragments(os.path.join(MODULES, name + ".py"))

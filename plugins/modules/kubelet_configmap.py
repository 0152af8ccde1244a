#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubelet_configmap
short_description: Set fields of the cluster-wide kubelet configuration kept by kubeadm
version_added: 0.1.0
description:
  - Edits the KubeletConfiguration that kubeadm keeps in the C(kube-system) ConfigMap C(kubelet-config)
    (key C(kubelet)). On clusters created before Kubernetes 1.24 the ConfigMap is named C(kubelet-config-X.YY);
    the one with the highest version is used unless O(name) is given.
  - kubeadm copies this configuration to a node on C(kubeadm join) and C(kubeadm upgrade node), so changing it
    keeps new and upgraded nodes consistent with nodes changed by M(nodeops.kubernetes.kubelet_config).
    It does not change the files of running nodes.
  - Only the touched fields change in the YAML text; every other field, comment and the key order are kept.
  - The update carries the ConfigMap's C(resourceVersion). If someone else changed the ConfigMap in between
    (HTTP 409 Conflict), it is read again and the change applied once more; a second conflict is an error.
author:
  - nodeops maintainers (@nodeops)
extends_documentation_fragment:
  - nodeops.kubernetes.k8s_auth
  - nodeops.kubernetes.attributes.action_group
  - ansible.builtin.action_common_attributes
options:
  name:
    description:
      - Name of the ConfigMap in C(kube-system). By default C(kubelet-config), else the newest C(kubelet-config-X.YY).
    type: str
  settings:
    description:
      - Top-level KubeletConfiguration fields to set, with their values. A value replaces the whole field.
      - Required when O(state=present).
    type: dict
  remove:
    description:
      - Names of top-level fields to remove. Required when O(state=absent).
    type: list
    elements: str
  state:
    description:
      - V(present) sets O(settings); V(absent) removes the fields listed in O(remove).
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - "RBAC: C(get) and C(update) on C(configmaps) in C(kube-system); C(list) too on clusters that only have
    C(kubelet-config-X.YY)."
"""

EXAMPLES = r"""
- name: Make kubeadm give new and upgraded nodes the systemd cgroup driver
  nodeops.kubernetes.kubelet_configmap:
    settings:
      cgroupDriver: systemd
  delegate_to: localhost
  run_once: true

- name: Point the cluster-wide kubelet configuration at NodeLocal DNSCache
  nodeops.kubernetes.kubelet_configmap:
    kubeconfig: /etc/kubernetes/admin.conf
    settings:
      clusterDNS:
        - 169.254.20.10
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
name:
  description: Name of the ConfigMap that was (or would be) changed.
  returned: success
  type: str
  sample: kubelet-config
before:
  description: Values of the touched fields before the run; null for an absent field.
  returned: success
  type: dict
  sample: {"cgroupDriver": "cgroupfs"}
after:
  description: Values of the touched fields after the run (what they would be in check mode).
  returned: success
  type: dict
  sample: {"cgroupDriver": "systemd"}
resource_version:
  description: resourceVersion of the ConfigMap after the update (before it, when nothing changed).
  returned: success
  type: str
  sample: "123456"
rewritten:
  description: Whether the whole YAML text was written out again instead of being edited in place (comments lost).
  returned: success
  type: bool
  sample: false
"""

import json

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import edit_result
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    ApiException,
    get_api_client,
    raise_for_api_error,
)
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubelet_config import edit_kubelet_text

NAMESPACE = "kube-system"
CURRENT_NAME = "kubelet-config"
LEGACY_PREFIX = "kubelet-config-"
DATA_KEY = "kubelet"


def _legacy_version(name):
    """Return the (major, minor) of a ``kubelet-config-X.YY`` name, or None."""
    if not name.startswith(LEGACY_PREFIX):
        return None
    parts = name[len(LEGACY_PREFIX):].split(".")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def pick_configmap_name(names):
    """Return ``kubelet-config`` if present, else the newest ``kubelet-config-X.YY``, else None."""
    if CURRENT_NAME in names:
        return CURRENT_NAME
    versioned = [(version, name) for version, name in ((_legacy_version(n), n) for n in names) if version]
    if not versioned:
        return None
    return max(versioned)[1]


class ConfigMapCore(object):
    """The module's three ConfigMap calls over a KubeApi, with plain dicts for the objects."""

    def __init__(self, api):
        self._api = api

    def read_namespaced_config_map(self, name, namespace):
        return json.loads(self._api.read_namespaced_config_map(name, namespace).data)

    def list_namespaced_config_map(self, namespace):
        return json.loads(self._api.list_namespaced_config_map(namespace).data)

    def replace_namespaced_config_map(self, name, namespace, body):
        return json.loads(self._api.replace_namespaced_config_map(name, namespace, body).data)


def read_configmap(core, name, params):
    """Read the ConfigMap ``name`` (or find the kubelet one); return it as a dict."""
    try:
        return core.read_namespaced_config_map(name or CURRENT_NAME, NAMESPACE)
    except ApiException as exc:
        if getattr(exc, "status", None) != 404:
            raise_for_api_error(exc, "reading ConfigMap %s/%s" % (NAMESPACE, name or CURRENT_NAME), params)
        if name:
            raise NodeOpsError("the ConfigMap %s/%s does not exist; check name (kubeadm clusters use "
                               "kubelet-config, or kubelet-config-X.YY before Kubernetes 1.24)"
                               % (NAMESPACE, name), name=name)
    # Clusters created before Kubernetes 1.24 keep one ConfigMap per minor version.
    try:
        listing = core.list_namespaced_config_map(NAMESPACE)
    except Exception as exc:  # pylint: disable=broad-except
        raise_for_api_error(exc, "listing ConfigMaps in %s" % NAMESPACE, params)
    items = listing.get("items") or []
    names = [item["metadata"]["name"] for item in items]
    chosen = pick_configmap_name(names)
    if chosen is None:
        raise NodeOpsError("no kubelet configuration ConfigMap (kubelet-config or kubelet-config-X.YY) in %s; "
                           "is this a kubeadm cluster? Give name to pick one explicitly" % NAMESPACE)
    for item in items:
        if item["metadata"]["name"] == chosen:
            return item
    raise NodeOpsError("internal error: ConfigMap %s vanished from the listing" % chosen)  # pragma: no cover


def run_module(params, check_mode, diff_mode, core):
    """Apply the settings to the kubelet ConfigMap through ``core`` (a ConfigMapCore)."""
    if params["state"] == "present":
        settings, remove = params.get("settings") or {}, []
    else:
        settings, remove = {}, params.get("remove") or []
    for attempt in (1, 2):
        configmap = read_configmap(core, params.get("name"), params)
        name = configmap["metadata"]["name"]
        source = "ConfigMap %s/%s (data.%s)" % (NAMESPACE, name, DATA_KEY)
        text = (configmap.get("data") or {}).get(DATA_KEY)
        if text is None:
            raise NodeOpsError("%s has no data.%s key, so it is not a kubeadm kubelet configuration; the ConfigMap "
                               "is left untouched" % (source.split(" (")[0], DATA_KEY), name=name)
        edit = edit_kubelet_text(text, settings, remove, source=source)
        result = edit_result(source, edit.changed, edit.before, edit.after, text, edit.text, diff_mode,
                             diff_header=source, name=name, rewritten=edit.rewritten,
                             resource_version=configmap["metadata"].get("resourceVersion"))
        result.pop("path")
        if not edit.changed or check_mode:
            return result
        configmap["data"][DATA_KEY] = edit.text
        try:
            updated = core.replace_namespaced_config_map(name, NAMESPACE, configmap)
        except ApiException as exc:
            if getattr(exc, "status", None) == 409:
                if attempt == 1:
                    continue
                raise NodeOpsError(
                    "the ConfigMap %s/%s was changed by someone else twice while this task updated it (409 "
                    "Conflict); nothing was changed by this task. Check who else edits it and run again"
                    % (NAMESPACE, name),
                    name=name,
                )
            raise_for_api_error(exc, "updating ConfigMap %s/%s" % (NAMESPACE, name), params)
        result["resource_version"] = updated["metadata"].get("resourceVersion")
        return result
    raise NodeOpsError("internal error: no attempt left")  # pragma: no cover


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str"),
        settings=dict(type="dict"),
        remove=dict(type="list", elements="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ["settings"]), ("state", "absent", ["remove"])],
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        core = ConfigMapCore(KubeApi(get_api_client(module.params)))
        result = run_module(module.params, module.check_mode, module._diff, core)
    except NodeOpsError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

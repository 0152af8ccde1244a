"""The Windows kube-proxy and flannel DaemonSets of the windows_node role, accepted by the real kube-apiserver.

No Windows host exists here, so the DaemonSets never run; what the lab can prove is the cluster side: the
objects the role's templates render (with its defaults and what the preflight finds) pass kube-apiserver's
validation, with strict field validation, as a server-side apply dry run under the role's field manager.
A misspelled field, a wrong type or an invalid HostProcess security context fails here.
"""

import os
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit", "roles"))

from test_windows_node_templates import PREFLIGHT, TEMPLATES, render_text  # noqa: E402

NAMESPACE = "kube-system"  # the lab has no Flannel namespace; kube-system exists in every cluster


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_windows_daemonsets_pass_a_server_side_dry_run(cluster, template):
    found = dict(PREFLIGHT, flannel_namespace=NAMESPACE, api_server="https://10.88.0.10:6443")
    text, docs = render_text(template, windows_node_cluster=found, windows_node_flannel_namespace=NAMESPACE)
    kinds = sorted(doc["kind"] for doc in docs)
    assert "DaemonSet" in kinds, kinds
    command = [cluster.kubectl_bin, "--kubeconfig", cluster.kubeconfig, "apply", "--server-side", "--dry-run=server",
               "--field-manager", "nodeops", "--validate=strict", "--show-managed-fields", "-o", "yaml", "-f", "-"]
    proc = subprocess.run(command, input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    applied = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    items = applied[0]["items"] if applied and applied[0].get("kind") == "List" else applied
    assert sorted(item["kind"] for item in items) == kinds
    daemonset = [item for item in items if item["kind"] == "DaemonSet"][0]
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["nodeSelector"]["kubernetes.io/os"] == "windows"
    assert pod["securityContext"]["windowsOptions"]["hostProcess"] is True
    assert pod["hostNetwork"] is True
    managers = [entry["manager"] for entry in daemonset["metadata"]["managedFields"]]
    assert managers == ["nodeops"], managers

"""The drain's RBAC on the real lab: the documented permissions are enough, and each one missing is named.

The drain documentation (docs/docsite/rst/drain.rst, "RBAC") lists what the user of the drain needs. Each test
creates a ServiceAccount in its namespace, a ClusterRole with the documented rules (minus at most one), the
Lease rule as a Role in ``kube-node-lease``, binds them, and drives the capacity check, the drain of
lab-worker1 and the uncordon with ``ready_timeout`` with a token of that ServiceAccount. lab-worker1 runs a
Deployment of 2 pods under a budget of ``maxUnavailable: 1``, so the second eviction is refused (429) and the
drain reads the budgets, and the evicted pods are waited for (GET pods).

- With every documented rule, ``ansible-playbook`` runs the three tasks to success (the real path of a user).
- Without one required rule, the same three steps run in this process (the drain client's wait for RBAC bindings of a
  restarted API server, 30 s per refused read, is set to 0 here so the table takes minutes, not more): the run
  must fail with a NodeOpsError whose message names the verb and the resource the API server refused, and say
  whether the node is left cordoned, which must be its real state. Without the optional rule (listing the
  budgets), the drain must still complete.

Each outcome is a row of ``.cache/rbac/drain-rbac.json`` (or ``$NODEOPS_RBAC_REPORT``);
``python tests/integration/rbac_table.py`` prints it as the Markdown table of docs/reliability.md.
"""

import json
import os
import time

import pytest
import yaml

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _drain, _drain_capacity, _drain_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

from conftest import REPO_ROOT, W1, deployment, pdb, wait_for

# (API group, resource, verb, namespace of a Role or None for the ClusterRole), as drain.rst lists them.
# Listing the budgets is recommended, not required: without it the drain retries refused pods on a timer.
OPTIONAL = (("policy", "poddisruptionbudgets", "list", None),)
DOCUMENTED = (
    ("", "nodes", "get", None),
    ("", "nodes", "patch", None),
    ("", "nodes", "list", None),
    ("", "pods", "list", None),
    ("", "pods", "get", None),
    ("", "pods/eviction", "create", None),
    ("apps", "daemonsets", "get", None),
    ("policy", "poddisruptionbudgets", "list", None),
    ("coordination.k8s.io", "leases", "get", "kube-node-lease"),
)
REPORT = os.environ.get("NODEOPS_RBAC_REPORT") or os.path.join(REPO_ROOT, ".cache", "rbac", "drain-rbac.json")


def _rule_id(rule):
    group, resource, verb, _namespace = rule
    return "%s %s%s" % (verb, resource, "." + group if group else "")


def _rules(rules):
    """RBAC rules with one entry per (group, resource), verbs merged."""
    merged = {}
    for group, resource, verb, _namespace in rules:
        merged.setdefault((group, resource), []).append(verb)
    return [{"apiGroups": [group], "resources": [resource], "verbs": sorted(verbs)}
            for (group, resource), verbs in sorted(merged.items())]


def _record(row):
    rows = []
    if os.path.exists(REPORT):
        with open(REPORT) as handle:
            rows = [r for r in json.load(handle) if r["missing"] != row["missing"]]
    rows.append(row)
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT + ".tmp", "w") as handle:
        json.dump(rows, handle, indent=1)
    os.replace(REPORT + ".tmp", REPORT)


class ServiceAccountUser(object):
    """A ServiceAccount of the test's namespace bound to the given rules, and a kubeconfig with its token."""

    def __init__(self, lab, rules):
        self.lab = lab
        self.name = "nodeops-drain"
        self.subject = "system:serviceaccount:%s:%s" % (lab.namespace, self.name)
        self.role = "nodeops-rbac-%s" % lab.namespace
        subject = [{"kind": "ServiceAccount", "name": self.name, "namespace": lab.namespace}]
        cluster_rules = [r for r in rules if r[3] is None]
        lease_rules = [r for r in rules if r[3] == "kube-node-lease"]
        docs = [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": self.name, "namespace": lab.namespace}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": self.role},
             "rules": _rules(cluster_rules)},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": self.role}, "subjects": subject,
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self.role}},
        ]
        if lease_rules:
            docs += [
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": self.role, "namespace": "kube-node-lease"}, "rules": _rules(lease_rules)},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": self.role, "namespace": "kube-node-lease"}, "subjects": subject,
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": self.role}},
            ]
        lab.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
        token = lab.kubectl("-n", lab.namespace, "create", "token", self.name, "--duration=1h").strip()
        with open(lab.kubeconfig) as handle:
            admin = yaml.safe_load(handle)
        cluster = admin["clusters"][0]["cluster"]
        self.kubeconfig = os.path.join(lab.state_dir, "sa-kubeconfig.yaml")
        with open(self.kubeconfig, "w") as handle:
            yaml.safe_dump({
                "apiVersion": "v1", "kind": "Config", "current-context": "sa",
                "clusters": [{"name": "lab", "cluster": cluster}],
                "users": [{"name": "sa", "user": {"token": token}}],
                "contexts": [{"name": "sa", "context": {"cluster": "lab", "user": "sa"}}],
            }, handle)
        os.chmod(self.kubeconfig, 0o600)
        # The authorizer learns the bindings from a watch: wait until it grants each rule the role has.
        for group, resource, verb, namespace in rules:
            wait_for(lambda: self.can(verb, resource, group, namespace), timeout=60, interval=0.5,
                     what="RBAC to grant %s %s to %s" % (verb, resource, self.subject))

    def can(self, verb, resource, group, namespace):
        target = "%s.%s" % (resource.split("/")[0], group) if group else resource.split("/")[0]
        args = ["auth", "can-i", verb, target, "--as", self.subject]
        if "/" in resource:
            args += ["--subresource", resource.split("/", 1)[1]]
        args += ["-n", namespace or self.lab.namespace]
        return self.lab.kubectl(*args, check=False).strip() == "yes"

    def delete(self):
        self.lab.kubectl("delete", "clusterrole,clusterrolebinding", self.role, "--ignore-not-found", check=False)
        self.lab.kubectl("-n", "kube-node-lease", "delete", "role,rolebinding", self.role, "--ignore-not-found",
                         check=False)


@pytest.fixture
def budgeted_w1(lab):
    lab.ready_on_w1([deployment("web", 2), pdb("web", "web", max_unavailable=1)], running=2)
    return lab


@pytest.fixture
def user_factory(budgeted_w1):
    made = []

    def make(rules):
        made.append(ServiceAccountUser(budgeted_w1, rules))
        return made[-1]

    yield make
    for user in made:
        user.delete()


STEPS_PLAY = """\
- name: Check the capacity for the pods of {node}
  nodeops.kubernetes.node_capacity_check:
    name: {node}
- name: Drain {node}
  nodeops.kubernetes.drain:
    name: {node}
    state: drain
    ignore_daemonsets: true
    timeout: 240
    poll_interval: 0.5
    eviction_retry_interval: 0.5
  register: result
- name: Uncordon {node} once its kubelet renews its Lease
  nodeops.kubernetes.drain:
    name: {node}
    state: uncordon
    ready_timeout: 60
"""


def test_the_documented_permissions_are_enough(budgeted_w1, user_factory):
    lab = budgeted_w1
    user = user_factory(DOCUMENTED)
    started = time.monotonic()
    rc, result, output = lab.playbook(STEPS_PLAY.format(node=W1), kubeconfig=user.kubeconfig)
    _record({"missing": "(none: every documented rule)", "outcome": "completed" if rc == 0 else "failed",
             "step": "", "message": "" if rc == 0 else output[-600:], "left_cordoned": lab.unschedulable(W1),
             "seconds": round(time.monotonic() - started, 1)})
    assert rc == 0, output[-3000:]
    assert sorted(e["name"] for e in lab.ours(result["evicted"])) and lab.pod_names(W1) == []
    assert lab.unschedulable(W1) is False


def _three_steps(client):
    """The capacity check, the drain and the uncordon of lab-worker1, as the modules run them."""
    step = "capacity check"
    try:
        _drain_capacity.run_capacity_check(client, W1)
        step = "drain"
        options = _drain.DrainOptions(ignore_daemonsets=True, timeout=240, poll_interval=0.5,
                                      eviction_retry_interval=0.5)
        _drain.NodeDrainer(client, W1, options).run("drain")
        step = "uncordon"
        _drain.NodeDrainer(client, W1, _drain.DrainOptions(ready_timeout=60, poll_interval=0.5)).run("uncordon")
    except NodeOpsError as err:
        return step, err
    return step, None


@pytest.mark.parametrize("missing", DOCUMENTED, ids=[_rule_id(r) for r in DOCUMENTED])
def test_each_missing_permission_fails_naming_the_verb_and_the_resource(budgeted_w1, user_factory, monkeypatch,
                                                                        missing):
    lab = budgeted_w1
    monkeypatch.setattr(_drain_client, "AUTH_RETRY_SECONDS", 0)
    user = user_factory([r for r in DOCUMENTED if r != missing])
    group, resource, verb, _namespace = missing
    assert not user.can(verb, resource, group, _namespace), "the role still grants %s" % _rule_id(missing)
    client = _drain.make_client({"kubeconfig": user.kubeconfig})
    started = time.monotonic()
    step, err = _three_steps(client)
    cordoned = lab.unschedulable(W1)
    message = err.message if err else ""
    _record({"missing": _rule_id(missing), "outcome": "failed" if err else "completed", "step": step if err else "",
             "message": message, "left_cordoned": cordoned,
             "reported_cordoned": err.details.get("node_left_cordoned") if err else None,
             "seconds": round(time.monotonic() - started, 1)})
    if missing in OPTIONAL:
        assert err is None, "the drain needs %s, documented as optional: %s" % (_rule_id(missing), message)
        assert lab.pod_names(W1) == [] and cordoned is False
        return
    assert err is not None, "the drain completed without %s" % _rule_id(missing)
    assert 'cannot %s resource "%s"' % (verb, resource) in message, message
    assert 'in API group "%s"' % group in message, message
    assert user.subject in message, message
    reported = err.details.get("node_left_cordoned")
    if step == "drain" and 'read node "%s"' % W1 in message:
        # The node could not be read: its cordon is unknown (None), and this run did not cordon it.
        assert reported is None and cordoned is False and "the node was not cordoned" in message, (reported, message)
    elif step != "capacity check":  # the drain's account of the node (the capacity check changes nothing)
        assert reported is cordoned, (err.details, cordoned)

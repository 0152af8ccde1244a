# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's rules: what the checks of the operations found, turned into findings.

The audit gathers nothing itself. Each input is the result of a module the
operations already run before they change anything:

* ``cluster``: ``cluster_audit_facts`` (nodes, Leases, API server version,
  the kubelet ConfigMap, kube-proxy, blocking PodDisruptionBudgets);
* ``runtime``: ``node_runtime_facts`` of a node (the drivers, the runtime, cgroup v1/v2);
* ``certificates``: ``cert_expiry`` of a node;
* ``docker_node``: ``docker_node_scan`` of a node, ``docker_cluster``:
  ``docker_dependency_scan`` (workloads);
* ``csrs``: ``kubelet_csr_approve`` in check mode (what it would approve, what it refuses);
* ``nodelocaldns``: ``nodelocaldns_facts`` and, per node, a ``dns_query`` of the cache's address.

A finding::

    {"id": "cgroup-driver:node/w1", "check": "cgroup-driver", "node": "w1",   # node None: cluster-wide
     "severity": "action",            # ok, info, warn, action
     "reason": "what was found, in one sentence",
     "fix": "ansible-playbook nodeops.kubernetes.migrate_cgroup_driver -e cgroup_driver_hosts=w1",
     "due": None,                      # RFC3339 date by which it must be done, when there is one
     "value": {...}}                   # the measured values the rule used

Every rule is a function of its inputs only: the same cluster gives the same
findings, which is what makes a second run's report equal to the first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

OK = "ok"
INFO = "info"
WARN = "warn"
ACTION = "action"
SEVERITIES = (OK, INFO, WARN, ACTION)
RANK = dict((name, index) for index, name in enumerate(SEVERITIES))

# The kubelet may be up to three minor versions older than the API server, never newer.
KUBELET_MAX_SKEW = 3
# kubelet 1.35 and later refuse to start on cgroup v1 unless failCgroupV1 is false.
CGROUP_V1_REFUSED_FROM = (1, 35)
DEFAULT_THRESHOLD_DAYS = 30
SECONDS_PER_DAY = 86400

FIXES = {
    "cgroup_driver": "ansible-playbook -i <inventory> nodeops.kubernetes.migrate_cgroup_driver -e cgroup_driver_hosts=%s",
    "containerd": "ansible-playbook -i <inventory> nodeops.kubernetes.switch_to_containerd -e containerd_switch_hosts=%s",
    "certificates": "ansible-playbook -i <inventory> nodeops.kubernetes.renew_certificates -e cert_renewal_hosts=%s",
    "nodelocaldns": "ansible-playbook -i <inventory> nodeops.kubernetes.nodelocaldns -e nodelocaldns_hosts=%s",
    "csr": "ansible localhost -m nodeops.kubernetes.kubelet_csr_approve "
           "(or schedule it: see docs/docsite/rst/certificates.rst)",
    "uncordon": "kubectl uncordon %s, once the work it was cordoned for is done",
}


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def finding(check, severity, reason, node=None, fix=None, due=None, value=None):
    """One finding; ``severity`` one of SEVERITIES."""
    if severity not in SEVERITIES:
        raise NodeOpsError("audit finding %s: unknown severity %r; use one of %s"
                           % (check, severity, ", ".join(SEVERITIES)))
    return {
        "id": "%s:%s" % (check, "node/%s" % node if node else "cluster"),
        "check": check,
        "node": node,
        "severity": severity,
        "reason": " ".join(str(reason).split()),
        "fix": fix,
        "due": due,
        "value": value if value is not None else {},
    }


def worst(findings):
    """The most severe severity of ``findings`` (``ok`` for none)."""
    return max((f["severity"] for f in findings), key=lambda s: RANK[s], default=OK)


def parse_version(text):
    """``(major, minor, patch)`` of ``v1.34.4`` / ``1.34.4+k3s1`` / ``v1.34``; None when unreadable."""
    if not isinstance(text, str):
        return None
    core = text.strip().lstrip("v").split("+", 1)[0].split("-", 1)[0]
    parts = core.split(".")
    try:
        numbers = [int(p) for p in parts[:3]]
    except ValueError:
        return None
    if len(numbers) < 2:
        return None
    return tuple(numbers + [0] * (3 - len(numbers)))


def _parse_time(text):
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.datetime.strptime(text.replace("Z", "+00:00")[:25], "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def _rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _due_date(expires_text, threshold_days):
    """When a certificate expiring at ``expires_text`` enters the renewal window."""
    expires = _parse_time(expires_text)
    if expires is None:
        return None
    return _rfc3339(expires - datetime.timedelta(days=int(threshold_days)))


# --------------------------------------------------------------------------- node rules

def kubelet_version(node, row, api_server):
    """Kubelet version skew against the API server."""
    kubelet = row.get("kubelet_version")
    value = {"kubelet": kubelet, "api_server": api_server.get("git_version")}
    mine = parse_version(kubelet)
    theirs = parse_version(api_server.get("git_version"))
    if mine is None or theirs is None:
        return finding("kubelet-version", WARN, "the kubelet version (%s) or the API server version (%s) is unknown"
                       % (kubelet, api_server.get("git_version")), node, value=value)
    skew = (theirs[0] - mine[0]) * 100 + theirs[1] - mine[1]
    value["skew"] = skew
    fix = "upgrade the kubelet of node %s to the API server's minor version (kubeadm upgrade node)" % node
    if skew < 0:
        return finding("kubelet-version", ACTION, "kubelet %s is newer than the API server %s, which is not supported"
                       % (kubelet, api_server.get("git_version")), node,
                       fix="upgrade the control plane first, or downgrade the kubelet of node %s" % node, value=value)
    if skew > KUBELET_MAX_SKEW:
        return finding("kubelet-version", ACTION, "kubelet %s is %d minor versions behind the API server %s (at most %d "
                       "are supported)" % (kubelet, skew, api_server.get("git_version"), KUBELET_MAX_SKEW),
                       node, fix=fix, value=value)
    if skew == KUBELET_MAX_SKEW:
        return finding("kubelet-version", WARN, "kubelet %s is %d minor versions behind the API server %s: the next "
                       "control-plane upgrade leaves it unsupported" % (kubelet, skew, api_server.get("git_version")),
                       node, fix=fix, value=value)
    if skew > 0:
        return finding("kubelet-version", INFO, "kubelet %s is %d minor version(s) behind the API server %s"
                       % (kubelet, skew, api_server.get("git_version")), node, value=value)
    return finding("kubelet-version", OK, "kubelet %s, the API server's minor version" % kubelet, node, value=value)


def container_runtime(node, row, runtime):
    """The runtime the kubelet talks to, and its version."""
    name = runtime.get("container_runtime")
    version = row.get("container_runtime_version")
    value = {"runtime": name, "version": version}
    if name == "docker":
        return finding("container-runtime", WARN, "the kubelet talks to Docker (%s) through cri-dockerd or dockershim; "
                       "containerd is what kubeadm and the upstream project test" % version, node,
                       fix=FIXES["containerd"] % node, value=value)
    if name is None:
        return finding("container-runtime", WARN, "the kubelet's runtime endpoint (%s) names no known runtime"
                       % (_dict(runtime.get("kubelet")).get("container_runtime_endpoint")), node, value=value)
    return finding("container-runtime", OK, "%s (%s)" % (name, version), node, value=value)


def runtime_cgroup_driver(runtime):
    """The cgroup driver of the node's runtime: ``systemd``, ``cgroupfs`` or None when unknown."""
    name = runtime.get("container_runtime")
    if name == "docker":
        return _dict(runtime.get("docker")).get("cgroup_driver")
    if name == "containerd":
        handlers = _dict(_dict(runtime.get("containerd")).get("systemd_cgroup"))
        if not handlers:
            return None
        values = set(bool(v) for v in handlers.values())
        if len(values) > 1:
            return "mixed"
        return "systemd" if values.pop() else "cgroupfs"
    return None


def cgroup_driver(node, runtime, configmap_driver):
    """The kubelet's and the runtime's cgroup drivers, against each other and the kubelet ConfigMap."""
    kubelet = _dict(runtime.get("kubelet")).get("cgroup_driver_effective")
    engine = runtime_cgroup_driver(runtime)
    value = {"kubelet": kubelet, "runtime": engine, "configmap": configmap_driver}
    fix = FIXES["cgroup_driver"] % node
    if kubelet and engine and kubelet != engine:
        return finding("cgroup-driver", ACTION, "the kubelet uses the %s cgroup driver and the runtime %s: they must "
                       "agree" % (kubelet, engine), node, fix=fix, value=value)
    if configmap_driver and kubelet and kubelet != configmap_driver:
        return finding("cgroup-driver", ACTION, "the kubelet uses %s while the kubelet-config ConfigMap says %s: the "
                       "next kubeadm join or upgrade of this node writes %s" % (kubelet, configmap_driver,
                                                                                configmap_driver),
                       node, fix=fix, value=value)
    if kubelet == "cgroupfs":
        return finding("cgroup-driver", WARN, "kubelet and runtime use cgroupfs; systemd is the driver kubeadm "
                       "configures and recommends on systemd hosts", node, fix=fix, value=value)
    if kubelet is None or engine is None:
        return finding("cgroup-driver", WARN, "the cgroup driver of the kubelet (%s) or of the runtime (%s) could not "
                       "be read" % (kubelet, engine), node, value=value)
    return finding("cgroup-driver", OK, "kubelet and runtime on %s" % kubelet, node, value=value)


def cgroup_version(node, row, runtime):
    """cgroup v1 against failCgroupV1 and the kubelet's version."""
    version = runtime.get("cgroup_version")
    kubelet = _dict(runtime.get("kubelet"))
    fail_v1 = kubelet.get("fail_cgroup_v1")
    value = {"cgroup_version": version, "fail_cgroup_v1": fail_v1, "kubelet": row.get("kubelet_version")}
    if version == 2:
        return finding("cgroup-version", OK, "cgroup v2", node, value=value)
    if version != 1:
        return finding("cgroup-version", WARN, "the cgroup version of the node could not be read", node, value=value)
    kubelet_version = parse_version(row.get("kubelet_version"))
    refuses = fail_v1 is not False
    if kubelet_version and kubelet_version[:2] >= CGROUP_V1_REFUSED_FROM and refuses:
        return finding("cgroup-version", ACTION, "cgroup v1 with kubelet %s, which refuses to start on cgroup v1 unless "
                       "failCgroupV1 is false" % row.get("kubelet_version"), node,
                       fix="set failCgroupV1: false in the kubelet configuration of node %s, or move the host to "
                           "cgroup v2" % node, value=value)
    if refuses:
        return finding("cgroup-version", WARN, "cgroup v1: after an upgrade to kubelet 1.35 or later the kubelet "
                       "refuses to start unless failCgroupV1 is false", node,
                       fix="move the host to cgroup v2 before upgrading, or set failCgroupV1: false with the upgrade",
                       value=value)
    return finding("cgroup-version", INFO, "cgroup v1, allowed by failCgroupV1: false (cgroup v1 is deprecated)",
                   node, value=value)


def certificates(node, report, threshold_days, control_plane):
    """kubeadm's certificates on a control-plane node; the kubelet's client and serving certificates everywhere."""
    report = _dict(report)
    found = []
    if control_plane:
        rows = [r for r in _list(report.get("certificates")) if not r.get("missing")]
        due = [r for r in rows if r.get("residual_seconds") is not None
               and r["residual_seconds"] < threshold_days * SECONDS_PER_DAY]
        external = [r for r in due if r.get("externally_managed")]
        soonest = min(rows, key=lambda r: r["residual_seconds"], default=None) if rows else None
        value = {"due": sorted(r["name"] for r in due), "expired": sorted(_list(report.get("expired"))),
                 "soonest": soonest and soonest["name"], "soonest_expires": soonest and soonest.get("expires"),
                 "threshold_days": threshold_days,
                 "certificates": [{"name": r["name"], "residual_seconds": r.get("residual_seconds")} for r in rows]}
        if not rows:
            found.append(finding("certificates", WARN, "no kubeadm certificate found under the PKI directory of a "
                                 "control-plane node", node, value=value))
        elif due:
            first = min(due, key=lambda r: r["residual_seconds"])
            expired = [r["name"] for r in due if r.get("expired")]
            reason = ("%d certificate(s) expired (%s)" % (len(expired), ", ".join(expired)) if expired else
                      "%d certificate(s) expire within %d days, first %s on %s"
                      % (len(due), threshold_days, first["name"], first.get("expires")))
            fix = FIXES["certificates"] % node
            if external:
                fix += ("; %s are signed by an external CA: whoever holds that CA renews them"
                        % ", ".join(sorted(r["name"] for r in external)))
            found.append(finding("certificates", ACTION, reason, node, fix=fix, due=first.get("expires"),
                                 value=value))
        else:
            found.append(finding("certificates", OK, "every kubeadm certificate has %d days or more; the first due is "
                                 "%s, expiring %s" % (threshold_days, soonest["name"], soonest.get("expires")),
                                 node, due=_due_date(soonest.get("expires"), threshold_days), value=value))
    for row in _list(report.get("kubelet")):
        found.append(_kubelet_certificate(node, row, threshold_days))
    return found


def _kubelet_certificate(node, row, threshold_days):
    name = row.get("name")
    check = "kubelet-client-certificate" if name == "kubelet-client" else "kubelet-serving-certificate"
    value = {"path": row.get("path"), "expires": row.get("expires"), "bootstrapped": row.get("bootstrapped"),
             "certificates": [] if row.get("missing") else [{"name": name,
                                                             "residual_seconds": row.get("residual_seconds")}]}
    if row.get("missing"):
        severity = ACTION if name == "kubelet-client" else INFO
        return finding(check, severity, "%s is missing" % row.get("path"), node,
                       fix="check the kubelet of node %s: it has no %s certificate" % (node, name)
                       if severity == ACTION else None, value=value)
    if row.get("expired"):
        return finding(check, ACTION, "%s expired on %s" % (row.get("path"), row.get("expires")), node,
                       fix="restart the kubelet of node %s with rotateCertificates: true; an expired client certificate "
                           "needs a new bootstrap (kubeadm join phase kubelet-start)" % node,
                       due=row.get("expires"), value=value)
    residual = row.get("residual_seconds")
    if residual is not None and residual < threshold_days * SECONDS_PER_DAY:
        reason = "%s expires on %s and the kubelet has not rotated it yet" % (row.get("path"), row.get("expires"))
        fix = ("check rotateCertificates (client) or serverTLSBootstrap and the CSR approval (serving) of node %s"
               % node)
        return finding(check, WARN, reason, node, fix=fix, due=row.get("expires"), value=value)
    if name == "kubelet-serving" and not row.get("bootstrapped"):
        return finding(check, INFO, "the kubelet serves a certificate it signed itself, not one of the cluster CA "
                       "(serverTLSBootstrap off)", node,
                       fix="see docs/docsite/rst/certificates.rst, section kubelet serving certificates", value=value)
    return finding(check, OK, "expires on %s" % row.get("expires"), node, value=value)


def server_tls_bootstrap(node, runtime, configmap_value, pending):
    """serverTLSBootstrap on the node and in the ConfigMap, and the node's pending serving CSRs."""
    on_node = _dict(runtime.get("kubelet")).get("server_tls_bootstrap")
    approvable = [c for c in _list(pending.get("approved")) if c.get("node") == node]
    refused = [c for c in _list(pending.get("refused")) if c.get("node") == node]
    value = {"node": on_node, "configmap": configmap_value,
             "pending_approvable": sorted(c.get("name") for c in approvable),
             "pending_refused": sorted(c.get("name") for c in refused)}
    if refused:
        return finding("serving-csr", ACTION, "%d kubelet-serving CSR(s) pending that name addresses the Node does not "
                       "report (%s): %s" % (len(refused), ", ".join(value["pending_refused"]),
                                            "; ".join(r for c in refused for r in _list(c.get("reasons")))),
                       node, fix="fix the node's addresses (--node-ip, hostname) or deny the CSR; never approve it by "
                                 "hand", value=value)
    if approvable:
        return finding("serving-csr", WARN, "%d kubelet-serving CSR(s) pending approval (%s): the kubelet serves no "
                       "cluster-signed certificate until one is approved"
                       % (len(approvable), ", ".join(value["pending_approvable"])), node, fix=FIXES["csr"],
                       value=value)
    if on_node is True:
        return finding("serving-csr", OK, "serverTLSBootstrap on, no CSR pending", node, value=value)
    if configmap_value is True and on_node is not True:
        return finding("serving-csr", WARN, "the kubelet-config ConfigMap sets serverTLSBootstrap but the kubelet of "
                       "this node does not have it", node,
                       fix="kubeadm upgrade node phase kubelet-config on node %s, then restart the kubelet" % node,
                       value=value)
    return finding("serving-csr", INFO, "serverTLSBootstrap off", node, value=value)


def docker_dependencies(node, runtime_name, node_scan, cluster_scan):
    """Docker dependencies of the node (its own scan) and of the workloads on it (the cluster scan)."""
    found = []
    on_docker = runtime_name == "docker"
    own = [f for f in _list(_dict(node_scan).get("findings")) if not f.get("acknowledged")]
    workloads = [f for f in _list(_dict(cluster_scan).get("findings"))
                 if node in _list(f.get("nodes")) and not f.get("acknowledged")]
    for item in own + workloads:
        severity = {"blocking": WARN, "warning": INFO}.get(item.get("severity"), INFO)
        reason = "%s: %s" % (item.get("where"), item.get("what"))
        if item in workloads and item.get("severity") == "blocking" and not on_docker:
            # The node runs no Docker: what needs the Docker socket is broken now, not after a switch.
            severity = ACTION
            reason += " but node %s runs no Docker daemon: %s" % (node, item.get("breaks"))
        elif on_docker and item.get("severity") == "blocking":
            reason += "; blocks the switch to containerd: %s" % item.get("breaks")
        elif item in own and not on_docker:
            severity = INFO
        found.append(finding("docker-dependency", severity, reason, node, fix=item.get("fix"),
                             value={"scan_id": item.get("id"), "scan_severity": item.get("severity")}))
    for found_item in found:
        found_item["id"] = "docker-dependency:%s" % found_item["value"]["scan_id"]
    if not found:
        found.append(finding("docker-dependency", OK, "nothing on or scheduled to the node depends on Docker", node))
    return found


def nodelocaldns(node, facts, answer):
    """NodeLocal DNSCache on the node: present, answering."""
    facts = _dict(facts)
    daemonset = _dict(facts.get("daemonset"))
    if not daemonset:
        return finding("nodelocaldns", INFO, "NodeLocal DNSCache is not deployed", node,
                       fix=FIXES["nodelocaldns"] % node, value={"deployed": False})
    answer = _dict(answer)
    value = {"deployed": True, "local_ip": answer.get("server"),
             "rcode": answer.get("rcode"), "seconds": answer.get("seconds")}
    if answer.get("rcode") == "NOERROR":
        took = 1000 * float(answer.get("seconds") or 0)
        return finding("nodelocaldns", OK, "the cache on %s answered in %.1f ms" % (value["local_ip"], took), node,
                       value=value)
    return finding("nodelocaldns", ACTION, "NodeLocal DNSCache is deployed but the cache on %s did not answer (%s)"
                   % (value["local_ip"], answer.get("msg") or answer.get("rcode") or "no answer"), node,
                   fix="look at the node-local-dns pod of node %s (kubectl -n kube-system get pods -o wide); "
                       "re-run %s" % (node, FIXES["nodelocaldns"] % node), value=value)


def readiness(node, row, now_text):
    """Ready with a fresh Lease; schedulable or cordoned."""
    found = []
    if not row:
        return [finding("node-ready", ACTION, "no Node object named %s in the cluster" % node, node,
                        fix="set kube_node_name for this host, or join it")]
    lease_age = row.get("lease_age_seconds")
    duration = row.get("lease_duration_seconds") or 40
    value = {"ready": row.get("ready"), "lease_age_seconds": lease_age, "lease_duration_seconds": duration}
    if row.get("ready") is not True:
        found.append(finding("node-ready", ACTION, "NotReady since %s: %s %s" % (row.get("ready_since"),
                                                                                 row.get("ready_reason") or "",
                                                                                 row.get("ready_message") or ""),
                             node, fix="look at the kubelet of node %s (journalctl -u kubelet)" % node, value=value))
    elif lease_age is None:
        found.append(finding("node-ready", WARN, "Ready, but no renewal of its Lease was read from kube-node-lease (the "
                             "kubelet has not created its Lease yet, or the Leases could not be listed)", node,
                             value=value))
    elif lease_age > duration:
        found.append(finding("node-ready", ACTION, "Ready, but its Lease was last renewed %ds ago (longer than its %ds "
                             "duration): the kubelet stopped reporting" % (lease_age, duration), node,
                             fix="look at the kubelet of node %s (journalctl -u kubelet)" % node, value=value))
    else:
        found.append(finding("node-ready", OK, "Ready, Lease renewed %ds ago" % lease_age, node, value=value))
    if row.get("unschedulable"):
        since = row.get("cordoned_since")
        when = " since %s" % since if since else " (since when: no timestamp on the Node)"
        found.append(finding("node-schedulable", WARN, "cordoned" + when, node, fix=FIXES["uncordon"] % node,
                             value={"cordoned_since": since}))
    else:
        found.append(finding("node-schedulable", OK, "schedulable", node))
    return found


def node_findings(node, inputs, cluster, threshold_days=DEFAULT_THRESHOLD_DAYS):
    """Every finding of one node. ``inputs``: runtime, certificates, docker_node, nodelocaldns_answer,
    control_plane; ``cluster``: cluster (cluster_audit_facts), docker_cluster, csrs, nodelocaldns."""
    inputs = _dict(inputs)
    cluster = _dict(cluster)
    facts = _dict(cluster.get("cluster"))
    rows = dict((r.get("name"), r) for r in _list(facts.get("nodes")))
    row = rows.get(node)
    runtime = _dict(inputs.get("runtime"))
    kubelet_cm = _dict(facts.get("kubelet_config"))
    found = readiness(node, row, facts.get("now"))
    if row:
        found.append(kubelet_version(node, row, _dict(facts.get("api_server"))))
    if inputs.get("error"):
        found.append(finding("node-facts", ACTION, "the node could not be read completely: %s" % inputs["error"],
                             node, fix="make the host reachable with become (root) and python3, then audit again"))
    if runtime:
        found.append(container_runtime(node, row or {}, runtime))
        found.append(cgroup_driver(node, runtime, kubelet_cm.get("cgroup_driver")))
        found.append(cgroup_version(node, row or {}, runtime))
        found.append(server_tls_bootstrap(node, runtime, kubelet_cm.get("server_tls_bootstrap"),
                                          _dict(cluster.get("csrs"))))
        found.extend(docker_dependencies(node, runtime.get("container_runtime"), inputs.get("docker_node"),
                                         cluster.get("docker_cluster")))
    elif not inputs.get("error"):
        found.append(finding("node-facts", ACTION, "the node's runtime facts are missing", node,
                             fix="make the host reachable with become (root) and python3, then audit again"))
    if inputs.get("certificates") is not None:
        found.extend(certificates(node, inputs.get("certificates"), threshold_days,
                                  bool(inputs.get("control_plane"))))
    found.append(nodelocaldns(node, cluster.get("nodelocaldns"), inputs.get("nodelocaldns_answer")))
    return found


# --------------------------------------------------------------------------- cluster rules

def cluster_findings(cluster, node_runtimes=None):
    """Cluster-wide findings: kube-proxy mode, the ConfigMap's cgroup driver against the nodes, blocking PDBs."""
    cluster = _dict(cluster)
    facts = _dict(cluster.get("cluster"))
    found = []
    proxy = _dict(facts.get("kube_proxy"))
    mode = proxy.get("mode")
    found.append(finding("kube-proxy-mode", INFO if mode else WARN,
                         "kube-proxy runs in %s mode (%s)" % (mode, proxy.get("source")) if mode else
                         "the kube-proxy mode could not be read (%s)" % proxy.get("source"),
                         value={"mode": mode}))
    cm = _dict(facts.get("kubelet_config"))
    drivers = dict((name, _dict(_dict(rt).get("kubelet")).get("cgroup_driver_effective"))
                   for name, rt in _dict(node_runtimes).items() if rt)
    if cm.get("error") and not cm.get("present"):
        found.append(finding("kubelet-configmap", WARN, "the kubelet ConfigMap %s could not be read: %s"
                             % (cm.get("name"), cm.get("error")), value={"present": None}))
    elif not cm.get("present"):
        found.append(finding("kubelet-configmap", WARN, "no kubelet ConfigMap %s in kube-system (not a kubeadm cluster?)"
                             % cm.get("name"), value={"present": False}))
    elif cm.get("error"):
        found.append(finding("kubelet-configmap", ACTION, "the kubelet ConfigMap %s cannot be read: %s"
                             % (cm.get("name"), cm.get("error")), fix="repair kube-system/%s by hand" % cm.get("name"),
                             value={"present": True}))
    else:
        wanted = cm.get("cgroup_driver") or "cgroupfs"
        off = sorted(name for name, driver in drivers.items() if driver and driver != wanted)
        value = {"configmap": wanted, "nodes": drivers, "disagreeing": off}
        if off:
            found.append(finding("kubelet-configmap", ACTION, "the kubelet ConfigMap says cgroupDriver %s but %s use %s"
                                 % (wanted, ", ".join(off), ", ".join(sorted(set(drivers[n] for n in off)))),
                                 fix=FIXES["cgroup_driver"] % ",".join(off), value=value))
        else:
            found.append(finding("kubelet-configmap", OK, "cgroupDriver %s, as on every audited node" % wanted,
                                 value=value))
    blocking = _list(facts.get("blocking_pdbs"))
    for pdb in blocking:
        name = "%s/%s" % (pdb.get("namespace"), pdb.get("name"))
        reason = "%s; it selects %s on %s, so a drain of those nodes waits or fails" % (
            pdb.get("description"), ", ".join(_list(pdb.get("pods"))), ", ".join(_list(pdb.get("nodes"))))
        item = finding("pdb-blocks-drain", WARN, reason,
                       fix="scale the workload up or relax the budget before a drain (node_maintenance would wait "
                           "node_maintenance_timeout, then fail)",
                       value={"pdb": name, "nodes": _list(pdb.get("nodes"))})
        item["id"] = "pdb-blocks-drain:" + name
        found.append(item)
    if not blocking:
        found.append(finding("pdb-blocks-drain", OK, "no PodDisruptionBudget blocks a drain today"))
    found.extend(unattributed_csrs(_dict(cluster.get("csrs")), [r.get("name") for r in _list(facts.get("nodes"))]))
    for problem in _list(facts.get("problems")):
        found.append(dict(finding("cluster-read", WARN, problem), id="cluster-read:%s" % problem[:60]))
    return found


def unattributed_csrs(pending, audited):
    """Pending kubelet-serving CSRs of no audited node (a requester that is not a node, or another node)."""
    found = []
    for kind, severity in (("refused", ACTION), ("approved", WARN)):
        for csr in _list(pending.get(kind)):
            if csr.get("node") in audited:
                continue
            if kind == "refused":
                reason = ("pending kubelet-serving CSR %s from %s is not a valid request of an audited node: %s"
                          % (csr.get("name"), csr.get("requester") or csr.get("node"),
                             "; ".join(_list(csr.get("reasons")))))
                fix = "deny it (kubectl certificate deny %s) unless you know who filed it; never approve it by hand" \
                      % csr.get("name")
            else:
                reason = "pending kubelet-serving CSR %s of node %s, which this run did not audit" % (
                    csr.get("name"), csr.get("node"))
                fix = FIXES["csr"]
            found.append(dict(finding("serving-csr", severity, reason, fix=fix, value={"csr": csr.get("name")}),
                              id="serving-csr:csr/%s" % csr.get("name")))
    return found

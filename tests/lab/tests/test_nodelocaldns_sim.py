"""The NodeLocal DNSCache stand-in image on a real node (a simulation, see docs/lab.md).

localhost/nodeops-lab/k8s-dns-node-cache:<version>-sim runs as the addon's
DaemonSet runs node-cache: a hostNetwork pod with NET_ADMIN in kube-system,
its Corefile from a ConfigMap at /etc/coredns/Corefile.base.  From the node
itself (podman exec) the tests ask 169.254.20.10 for the kubernetes Service,
read the health endpoint, the interface and the iptables rules, and see them
go when the pod is deleted.
"""

import json
import subprocess
import time

import pytest

from nodeops_lab import images
from nodes_fixtures import LAB_NODES, lab  # noqa: F401  (fixture)

pytestmark = [LAB_NODES]

LOCAL_IP = "169.254.20.10"
NODE, SHORT = "lab-worker1", "w1"
NAME = "nodeops-labtest-node-cache"
NAMESPACE = "kube-system"
INTERFACE = "nodelocaldns"
IMAGE = images.image_name(images.NODE_CACHE_IMAGE, images.NODE_CACHE_TAG)
RULE_COMMENT = "NodeLocal DNS Cache (nodeops lab stand-in)"
SYNC_SECONDS = 3

# The cluster zone goes to the kube-dns ClusterIP that node-cache fills in
# (-upstreamsvc kube-dns: KUBE_DNS_SERVICE_HOST), the rest to the node's resolvers.
COREFILE = """\
cluster.local:53 {
    errors
    cache 5
    bind %(ip)s
    forward . __PILLAR__CLUSTER__DNS__ {
        force_tcp
    }
    health %(ip)s:8080
}
.:53 {
    errors
    bind %(ip)s
    forward . __PILLAR__UPSTREAM__SERVERS__
}
""" % {"ip": LOCAL_IP}

# An A query over UDP, standard library only (the node image has no dig); prints the addresses.
DNS_QUERY = r"""
import socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
query = struct.pack(">HHHHHH", 0x4e43, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(3)
sock.sendto(query, (server, 53))
reply = sock.recv(4096)
rcode, answers, at = reply[3] & 15, struct.unpack(">H", reply[6:8])[0], len(query)
for _ in range(answers):
    if reply[at] & 0xC0 == 0xC0:
        at += 2
    else:
        while reply[at]:
            at += reply[at] + 1
        at += 1
    rtype, _, _, length = struct.unpack(">HHIH", reply[at:at + 10])
    at += 10
    if rtype == 1:
        print(socket.inet_ntoa(reply[at:at + length]))
    at += length
sys.exit(rcode)
"""

# Removes what a failed run may have left on the node: the interface and the stand-in's rules only.
NODE_CLEANUP = """
ip link del %(dev)s 2>/dev/null
for t in raw filter; do
  iptables-save -t $t | grep -F -- '%(comment)s' | sed 's/^-A /-D /' | while read -r rule; do
    eval "iptables -w -t $t $rule"
  done
done
true
""" % {"dev": INTERFACE, "comment": RULE_COMMENT}


def pod_manifest(name, args, restart_policy="Always"):
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": NAME}},
        "spec": {
            "nodeName": NODE,
            "hostNetwork": True,
            "dnsPolicy": "Default",
            "restartPolicy": restart_policy,
            "terminationGracePeriodSeconds": 20,
            "containers": [{
                "name": "node-cache",
                "image": IMAGE,
                "imagePullPolicy": "Never",
                "args": args,     # no command: the image's entrypoint, /node-cache
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                "volumeMounts": [{"name": "xtables-lock", "mountPath": "/run/xtables.lock"},
                                 {"name": "config-volume", "mountPath": "/etc/coredns"}],
            }],
            "volumes": [
                {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                {"name": "config-volume", "configMap": {"name": NAME, "items": [
                    {"key": "Corefile", "path": "Corefile.base"}]}},
            ],
        },
    }


def apply(lab, obj):
    from nodeops_lab.lab import kubectl_path
    proc = subprocess.run([kubectl_path(), "--kubeconfig", lab.kubeconfig, "apply", "-f", "-"],
                          input=json.dumps(obj), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def cluster_ip(lab, namespace, service):
    return lab.kubectl("-n", namespace, "get", "service", service, "-o", "jsonpath={.spec.clusterIP}").stdout.strip()


def cache_rules(lab):
    """The stand-in's rules on the node, as (table, rule) from iptables-save."""
    rules = []
    for table in ("raw", "filter"):
        out = lab.sh(lab.container(SHORT), "iptables-save -t %s" % table).stdout
        rules += [(table, line) for line in out.splitlines() if line.startswith("-A ") and RULE_COMMENT in line]
    return rules


def interface(lab):
    proc = lab.sh(lab.container(SHORT), "ip -d -o link show dev %s && ip -o -4 addr show dev %s"
                  % (INTERFACE, INTERFACE), check=False)
    return proc.stdout if proc.returncode == 0 else None


def dns_query(lab, name, server, timeout=60):
    """Addresses the server answers for ``name``, retried until it answers NOERROR with an address."""
    deadline = time.time() + timeout
    while True:
        proc = lab.podman("exec", lab.container(SHORT), "python3", "-c", DNS_QUERY, name, server, check=False)
        if proc.returncode == 0 and proc.stdout.split():
            return proc.stdout.split()
        if time.time() > deadline:
            raise AssertionError("%s gave no address for %s in %ds (exit %d): %s %s"
                                 % (server, name, timeout, proc.returncode, proc.stdout, proc.stderr[-500:]))
        time.sleep(2)


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise AssertionError("%s: not within %ds" % (what, timeout))
        time.sleep(1)


@pytest.fixture(scope="module")
def node_cache(lab):
    """The stand-in running on lab-worker1; removed (pod, ConfigMap, node leftovers) at the end."""
    def cleanup():
        lab.kubectl("-n", NAMESPACE, "delete", "pod", "-l", "app=" + NAME, "--ignore-not-found", "--wait=true",
                    "--timeout=90s", check=False)
        lab.kubectl("-n", NAMESPACE, "delete", "configmap", NAME, "--ignore-not-found", check=False)
        lab.sh(lab.container(SHORT), NODE_CLEANUP, check=False)

    cleanup()
    apply(lab, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "namespace": NAMESPACE},
                "data": {"Corefile": COREFILE}})
    args = ["-localip", LOCAL_IP, "-conf", "/etc/Corefile", "-upstreamsvc", "kube-dns",
            "-syncinterval", "%ds" % SYNC_SECONDS, "-metrics-listen-address", "0.0.0.0:9353"]
    apply(lab, pod_manifest(NAME, args))
    try:
        proc = lab.kubectl("-n", NAMESPACE, "wait", "--for=condition=Ready", "pod/" + NAME, "--timeout=120s",
                           check=False, timeout=150)
        assert proc.returncode == 0, "%s\n%s" % (proc.stderr, lab.kubectl("-n", NAMESPACE, "describe", "pod", NAME,
                                                                         check=False).stdout[-3000:])
        yield NAME
    finally:
        cleanup()


def test_answers_for_the_cluster_from_the_node(lab, node_cache):
    kubernetes = cluster_ip(lab, "default", "kubernetes")
    assert dns_query(lab, "kubernetes.default.svc.cluster.local", LOCAL_IP) == [kubernetes]


def test_health_endpoint(lab, node_cache):
    out = lab.sh(lab.container(SHORT), "curl -s -m 5 http://%s:8080/health" % LOCAL_IP).stdout
    assert out.strip() == "OK"


def test_corefile_filled_in(lab, node_cache):
    c = lab.container(SHORT)
    pid = lab.sh(c, "pgrep -f '^/node-cache '").stdout.split()[0]
    corefile = lab.sh(c, "cat /proc/%s/root/etc/Corefile" % pid).stdout
    nameservers = [line.split()[1] for line in lab.sh(c, "cat /etc/resolv.conf").stdout.splitlines()
                   if line.startswith("nameserver ")]
    assert "__PILLAR__" not in corefile
    assert "forward . %s {" % cluster_ip(lab, "kube-system", "kube-dns") in corefile
    assert "forward . %s\n" % " ".join(nameservers) in corefile
    logs = lab.kubectl("-n", NAMESPACE, "logs", NAME).stdout
    assert "stand-in for node-cache" in logs
    assert "ignoring flag -metrics-listen-address 0.0.0.0:9353" in logs


def test_interface_and_rules(lab, node_cache):
    link = interface(lab)
    assert link and "%s/32" % LOCAL_IP in link
    # a dummy interface, or ifb where the kernel has no dummy driver (the test machine's)
    assert " dummy " in link or " ifb " in link, link
    rules = cache_rules(lab)
    assert len(rules) == 14, rules
    text = "\n".join("%s %s" % r for r in rules)
    for proto in ("tcp", "udp"):
        for table, chain, match, target in (
                ("raw", "PREROUTING", "-d %s/32 -p %s -m %s --dport 53", "NOTRACK"),
                ("raw", "OUTPUT", "-s %s/32 -p %s -m %s --sport 53", "NOTRACK"),
                ("raw", "OUTPUT", "-d %s/32 -p %s -m %s --dport 53", "NOTRACK"),
                ("filter", "INPUT", "-d %s/32 -p %s -m %s --dport 53", "ACCEPT"),
                ("filter", "OUTPUT", "-s %s/32 -p %s -m %s --sport 53", "ACCEPT")):
            assert "%s -A %s %s" % (table, chain, match % (LOCAL_IP, proto, proto)) in text, (table, chain, proto)
            assert any(r[0] == table and r[1].startswith("-A " + chain + " ") and r[1].endswith("-j " + target)
                       for r in rules)
    for table, chain, match in (("raw", "OUTPUT", "-d %s/32 -p tcp -m tcp --dport 8080"),
                                ("raw", "OUTPUT", "-s %s/32 -p tcp -m tcp --sport 8080"),
                                ("filter", "INPUT", "-d %s/32 -p tcp -m tcp --dport 8080"),
                                ("filter", "OUTPUT", "-s %s/32 -p tcp -m tcp --sport 8080")):
        assert "%s -A %s %s" % (table, chain, match % LOCAL_IP) in text, (table, chain, match)


def test_rules_are_checked_again_not_duplicated(lab, node_cache):
    c = lab.container(SHORT)
    rule = "-p udp -d %s --dport 53 -m comment --comment '%s' -j NOTRACK" % (LOCAL_IP, RULE_COMMENT)
    added = "added iptables rule -t raw PREROUTING -p udp"

    def times_added():
        return lab.kubectl("-n", NAMESPACE, "logs", NAME).stdout.count(added)

    before = times_added()
    assert before >= 1
    # iptables -D fails when the rule is not there, so this proves it was removed; the stand-in's sync loop
    # may put it back before the next read, so the proof it came back is one more "added" line in the log
    lab.sh(c, "iptables -w -t raw -D PREROUTING %s" % rule)
    wait_for("the deleted rule added again", lambda: times_added() == before + 1, timeout=6 * SYNC_SECONDS)
    assert len(cache_rules(lab)) == 14
    time.sleep(2 * SYNC_SECONDS)
    assert len(cache_rules(lab)) == 14
    assert times_added() == before + 1


def test_deleting_the_pod_removes_interface_and_rules(lab, node_cache):
    started = time.time()
    lab.kubectl("-n", NAMESPACE, "delete", "pod", NAME, "--wait=true", "--timeout=90s", timeout=120)
    wait_for("interface %s gone" % INTERFACE, lambda: interface(lab) is None, timeout=30)
    assert cache_rules(lab) == []
    print("pod deleted and torn down in %.1fs" % (time.time() - started))


def test_trailing_comma_in_localip_fails(lab):
    """node-cache crash-loops on "-localip 169.254.20.10,"; so does the stand-in, before touching the node."""
    name = NAME + "-comma"
    lab.kubectl("-n", NAMESPACE, "delete", "pod", name, "--ignore-not-found", "--wait=true", check=False)
    apply(lab, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "namespace": NAMESPACE},
                "data": {"Corefile": COREFILE}})
    apply(lab, pod_manifest(name, ["-localip", LOCAL_IP + ",", "-conf", "/etc/Corefile"], restart_policy="Never"))
    try:
        def terminated():
            pod = json.loads(lab.kubectl("-n", NAMESPACE, "get", "pod", name, "-o", "json").stdout)
            for status in pod["status"].get("containerStatuses") or []:
                if status["state"].get("terminated"):
                    return status["state"]["terminated"]
            return None
        wait_for("the pod's container ended", lambda: terminated() is not None, timeout=90)
        assert terminated()["exitCode"] != 0
        logs = lab.kubectl("-n", NAMESPACE, "logs", name).stdout
        assert "element 2 is empty" in logs, logs
        assert interface(lab) is None and cache_rules(lab) == []
    finally:
        lab.kubectl("-n", NAMESPACE, "delete", "pod", name, "--ignore-not-found", "--wait=true", check=False)
        lab.kubectl("-n", NAMESPACE, "delete", "configmap", NAME, "--ignore-not-found", check=False)

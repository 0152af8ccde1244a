"""Verify NodeLocal DNSCache on the real lab: deployed and answering after converge, gone after side_effect.

The same tests run twice (Molecule's test_sequence lists verify after converge and after
side_effect); the removal report written by side_effect says which state to expect.
"""

import glob
import json
import os

import pytest
import testinfra
import yaml

from kubernetes import client, config
from kubernetes.client.rest import ApiException

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
LAB_DIR = os.environ.get("NODEOPS_LAB_DIR") or os.path.join(EPHEMERAL, "lab")
KUBECONFIG = os.path.join(LAB_DIR, "kubeconfig")
REMOVAL_REPORT = os.path.join(EPHEMERAL, "nodelocaldns-removal.json")
LOCAL_IP = "169.254.20.10"
KUBE_DNS_IP = "10.96.0.10"
KUBERNETES_SVC_IP = "10.96.0.1"
OBJECTS = [("Service", "kube-dns-upstream"), ("ServiceAccount", "node-local-dns"), ("ConfigMap", "node-local-dns"),
           ("DaemonSet", "node-local-dns"), ("Service", "node-local-dns")]
REMOVED = os.path.exists(REMOVAL_REPORT)

# One A query for kubernetes.default.svc.cluster.local, sent from the node with its own python3;
# prints the answer's addresses as JSON (an empty list when no answer came).
QUERY = r"""
import json, socket, struct, sys
server = sys.argv[1]
name = b"".join(bytes([len(p)]) + p.encode() for p in "kubernetes.default.svc.cluster.local".split(".")) + b"\0"
query = struct.pack(">HHHHHH", 0x4e4f, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(3)
found = []
for attempt in range(5):
    try:
        sock.sendto(query, (server, 53))
        data = sock.recv(512)
    except OSError:
        continue
    count = struct.unpack(">H", data[6:8])[0]
    pos = 12 + len(name) + 4
    for _ in range(count):
        pos += 2 if data[pos] & 0xC0 == 0xC0 else data.index(b"\0", pos) + 1 - pos
        rtype, rclass, ttl, length = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        if rtype == 1:
            found.append(socket.inet_ntoa(data[pos:pos + 4]))
        pos += length
    break
print(json.dumps(found))
"""

_NODES = {}


@pytest.fixture
def node(host):
    name = host.backend.get_hostname()
    if name not in _NODES:
        variables = host.ansible.get_variables()
        _NODES[name] = testinfra.get_host("podman://" + variables["ansible_host"])
    return _NODES[name]


@pytest.fixture(scope="module")
def api():
    api_client = config.new_client_from_config(KUBECONFIG)
    return client.CoreV1Api(api_client), client.AppsV1Api(api_client)


def ask(node, server):
    return json.loads(node.check_output("python3 -c %s %s" % (_quote(QUERY), server)))


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def read_object(api, kind, name):
    core, apps = api
    reader = {"Service": core.read_namespaced_service, "ServiceAccount": core.read_namespaced_service_account,
              "ConfigMap": core.read_namespaced_config_map, "DaemonSet": apps.read_namespaced_daemon_set}[kind]
    try:
        return reader(name, "kube-system")
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def kubelet_cluster_dns(node):
    return yaml.safe_load(node.file("/var/lib/kubelet/config.yaml").content_string).get("clusterDNS")


def reports():
    found = []
    for path in sorted(glob.glob(os.path.join(EPHEMERAL, "nodelocaldns-report-*.json"))):
        with open(path) as handle:
            found.append(json.load(handle))
    return found


def test_the_objects(api):
    for kind, name in OBJECTS:
        obj = read_object(api, kind, name)
        if REMOVED:
            assert obj is None, "%s/%s is left after the removal" % (kind, name)
        else:
            assert obj is not None, "%s/%s is missing" % (kind, name)
    if not REMOVED:
        ds = read_object(api, "DaemonSet", "node-local-dns")
        assert ds.status.number_ready == ds.status.desired_number_scheduled == 2
        assert "169.254.20.10" in " ".join(ds.spec.template.spec.containers[0].args)


def test_dns_on_the_node(node):
    # kube-dns answers through kube-proxy's rules in both states
    assert ask(node, KUBE_DNS_IP) == [KUBERNETES_SVC_IP]
    if REMOVED:
        assert ask(node, LOCAL_IP) == []
    else:
        assert ask(node, LOCAL_IP) == [KUBERNETES_SVC_IP]


def test_the_kubelet_points_at_the_cache_then_back(node):
    assert kubelet_cluster_dns(node) == ([KUBE_DNS_IP] if REMOVED else [LOCAL_IP])
    assert node.service("kubelet").is_running


def test_what_the_cache_leaves_on_the_node(node):
    links = node.check_output("ip -o link show")
    rules = node.check_output("iptables-save") + node.check_output("iptables-legacy-save 2>/dev/null || true")
    if REMOVED:
        assert "nodelocaldns" not in links
        assert LOCAL_IP not in rules
    else:
        assert "nodelocaldns" in links
        assert LOCAL_IP in rules


def test_the_reports():
    runs = reports()
    assert len(runs) == 2, "converge and idempotence each write a report"
    first, second = runs
    assert {n["action"] for n in first["nodes"]} == {"changed"}
    assert [n["node"] for n in first["nodes"]] == ["lab-cp1", "lab-worker1"]
    for entry in first["nodes"]:
        assert entry["details"]["kubelet_cluster_dns"] == {"before": [KUBE_DNS_IP], "after": [LOCAL_IP]}
    # the second run changes nothing and restarts nothing
    assert {n["action"] for n in second["nodes"]} == {"skipped"}, second["lines"]
    assert all(n["details"]["objects_changed"] == [] for n in second["nodes"])
    if REMOVED:
        with open(REMOVAL_REPORT) as handle:
            removal = json.load(handle)
        assert {n["action"] for n in removal["nodes"]} == {"changed"}, removal["lines"]
        assert removal["ok"] is True

"""Simulated API server: auth, discovery, CRUD, error Status objects, dry-run."""

import json
import os
import stat

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conftest import wait_for
from helpers import raw
from nodeops_lab import pki


def status_of(exc):
    return json.loads(exc.body)


def test_state_files(lab):
    assert os.path.exists(os.path.join(lab.state_dir, "apiserver.pid"))
    with open(os.path.join(lab.state_dir, "apiserver.pid")) as handle:
        assert int(handle.read()) == lab.proc.pid
    mode = stat.S_IMODE(os.stat(os.path.join(lab.state_dir, "pki", "ca.key")).st_mode)
    assert mode == 0o600
    with open(os.path.join(lab.state_dir, "tokens.csv")) as handle:
        assert ',admin,admin,"system:masters"' in handle.read()


def test_unauthenticated_is_401(lab):
    code, body, _ = raw(lab, "GET", "/api/v1/namespaces", token=None)
    assert code == 401
    assert body["kind"] == "Status" and body["reason"] == "Unauthorized" and body["code"] == 401
    code, body, _ = raw(lab, "GET", "/api/v1/namespaces", token="not-a-token")
    assert code == 401


def test_health_and_version_are_public(lab):
    for path in ("/healthz", "/readyz", "/livez"):
        code, body, _ = raw(lab, "GET", path, token=None)
        assert (code, body) == (200, "ok")
    code, body, _ = raw(lab, "GET", "/version", token=None)
    assert code == 200 and body["gitVersion"].startswith("v1.") and body["platform"] == "linux/amd64"


def test_token_file_can_gain_tokens(lab):
    with open(os.path.join(lab.state_dir, "tokens.csv"), "a") as handle:
        handle.write('node-token-123,system:node:lab-worker1,uid-1,"system:nodes"\n')
    wait_for(lambda: raw(lab, "GET", "/api/v1/nodes", token="node-token-123")[0] == 200, timeout=5)


def test_client_certificate_auth(lab):
    crt, key = pki.issue_cert(os.path.join(lab.state_dir, "pki"), "kubelet-lab-worker1",
                              "system:node:lab-worker1", organizations=("system:nodes",), client=True)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    code, body, _ = raw(lab, "GET", "/api/v1/nodes/lab-worker1", token=None, cert=(crt, key))
    assert code == 200 and body["metadata"]["name"] == "lab-worker1"
    # a CSR records who asked for it (the certificate's CN and O)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import base64
    csr_key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
        x509.NameAttribute(NameOID.COMMON_NAME, "system:node:lab-worker1")])).sign(csr_key, hashes.SHA256())
    body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "node-csr-1"},
            "spec": {"request": base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode(),
                     "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                     "usages": ["digital signature", "client auth"]}}
    code, created, _ = raw(lab, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", body,
                           token=None, cert=(crt, key))
    assert code == 201, created
    assert created["spec"]["username"] == "system:node:lab-worker1"
    assert "system:nodes" in created["spec"]["groups"]
    created["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "Test",
                                         "message": "approved by test"}]}
    code, _, _ = raw(lab, "PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-1/approval",
                     created)
    assert code == 200
    issued = wait_for(lambda: raw(lab, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-1")
                      [1].get("status", {}).get("certificate"), timeout=5)
    cert = x509.load_pem_x509_certificate(base64.b64decode(issued))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:lab-worker1"


def test_discovery(lab):
    code, body, headers = raw(lab, "GET", "/api", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"})
    assert code == 200 and body["kind"] == "APIVersions" and body["versions"] == ["v1"]
    assert headers["Content-Type"] == "application/json"
    code, body, _ = raw(lab, "GET", "/apis")
    groups = {g["name"]: g for g in body["groups"]}
    for name in ("apps", "batch", "policy", "certificates.k8s.io", "coordination.k8s.io"):
        assert groups[name]["preferredVersion"]["version"] == "v1"
    code, body, _ = raw(lab, "GET", "/api/v1")
    res = {r["name"]: r for r in body["resources"]}
    assert res["nodes"]["shortNames"] == ["no"] and not res["nodes"]["namespaced"]
    assert res["pods"]["shortNames"] == ["po"] and res["pods"]["kind"] == "Pod"
    assert res["pods/eviction"]["group"] == "policy" and res["pods/eviction"]["version"] == "v1"
    assert res["pods/eviction"]["kind"] == "Eviction"
    for name in ("pods/status", "pods/binding", "nodes/status", "namespaces", "configmaps", "secrets",
                 "services", "serviceaccounts", "events"):
        assert name in res
    code, body, _ = raw(lab, "GET", "/apis/apps/v1")
    res = {r["name"]: r for r in body["resources"]}
    assert res["deployments"]["shortNames"] == ["deploy"]
    assert res["deployments/scale"]["group"] == "autoscaling"
    for name in ("deployments/status", "replicasets", "statefulsets", "daemonsets"):
        assert name in res
    code, body, _ = raw(lab, "GET", "/apis/policy/v1")
    assert {r["name"] for r in body["resources"]} >= {"poddisruptionbudgets", "poddisruptionbudgets/status"}
    code, body, _ = raw(lab, "GET", "/apis/certificates.k8s.io/v1")
    assert {r["name"] for r in body["resources"]} >= {"certificatesigningrequests/approval",
                                                      "certificatesigningrequests/status"}
    code, body, _ = raw(lab, "GET", "/apis/nope/v1")
    assert code == 404


def test_default_namespaces(k8s):
    names = {ns.metadata.name for ns in k8s.core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_configmap_crud_and_errors(k8s):
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="crud", labels={"a": "b"}), data={"k": "v"})
    created = k8s.core.create_namespaced_config_map("default", cm)
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    with pytest.raises(ApiException) as err:
        k8s.core.create_namespaced_config_map("default", cm)
    body = status_of(err.value)
    assert err.value.status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'configmaps "crud" already exists'
    got = k8s.core.read_namespaced_config_map("crud", "default")
    got.data["k"] = "w"
    updated = k8s.core.replace_namespaced_config_map("crud", "default", got)
    assert updated.data == {"k": "w"}
    assert int(updated.metadata.resource_version) > int(got.metadata.resource_version)
    # stale resourceVersion -> 409 Conflict with the real message
    got.data["k"] = "x"
    with pytest.raises(ApiException) as err:
        k8s.core.replace_namespaced_config_map("crud", "default", got)
    body = status_of(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "crud": the object has been modified; '
                               'please apply your changes to the latest version and try again')
    k8s.core.delete_namespaced_config_map("crud", "default")
    with pytest.raises(ApiException) as err:
        k8s.core.read_namespaced_config_map("crud", "default")
    body = status_of(err.value)
    assert err.value.status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "crud" not found'
    assert body["details"] == {"name": "crud", "kind": "configmaps"}


def test_group_qualified_not_found(k8s):
    with pytest.raises(ApiException) as err:
        k8s.apps.read_namespaced_deployment("missing", "default")
    body = status_of(err.value)
    assert body["message"] == 'deployments.apps "missing" not found'
    assert body["details"]["group"] == "apps"


def test_create_in_missing_namespace(k8s):
    with pytest.raises(ApiException) as err:
        k8s.core.create_namespaced_config_map("nope", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x")))
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'namespaces "nope" not found'


def test_invalid_objects(lab, k8s):
    with pytest.raises(ApiException) as err:
        k8s.core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta()))
    body = status_of(err.value)
    assert err.value.status == 422 and body["reason"] == "Invalid"
    assert body["message"] == 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    with pytest.raises(ApiException) as err:
        k8s.core.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="Bad_Name")))
    body = status_of(err.value)
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                      'a lowercase RFC 1123 subdomain')
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    code, body, _ = raw(lab, "POST", "/api/v1/namespaces/default/pods",
                        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"}, "spec": {}})
    assert code == 422
    assert body["message"] == 'Pod "empty" is invalid: spec.containers: Required value'
    assert body["details"]["kind"] == "Pod"
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                          "field": "spec.containers"}]
    code, body, _ = raw(lab, "POST", "/api/v1/namespaces/default/configmaps", b"{not json")
    assert code == 400 and body["reason"] == "BadRequest"
    code, body, _ = raw(lab, "PUT", "/api/v1/namespaces", {"metadata": {"name": "x"}})
    assert code == 405 and body["reason"] == "MethodNotAllowed"


def test_generate_name_and_defaults(k8s):
    pod = k8s.core.create_namespaced_pod("default", client.V1Pod(
        metadata=client.V1ObjectMeta(generate_name="gen-"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")])))
    assert pod.metadata.name.startswith("gen-") and len(pod.metadata.name) == len("gen-") + 5
    assert pod.status.phase == "Pending"
    assert pod.spec.termination_grace_period_seconds == 30
    assert pod.spec.restart_policy == "Always" and pod.spec.dns_policy == "ClusterFirst"
    assert pod.spec.containers[0].termination_message_path == "/dev/termination-log"
    assert pod.spec.containers[0].image_pull_policy == "Always"
    k8s.core.delete_namespaced_pod(pod.metadata.name, "default", grace_period_seconds=0)


def test_delete_preconditions(k8s):
    k8s.core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pre")))
    uid = k8s.core.read_namespaced_config_map("pre", "default").metadata.uid
    with pytest.raises(ApiException) as err:
        k8s.core.delete_namespaced_config_map("pre", "default", body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="wrong-uid")))
    body = status_of(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == "Precondition failed: UID in precondition: wrong-uid, UID in object meta: %s" % uid
    k8s.core.delete_namespaced_config_map("pre", "default", body=client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=uid)))


def test_dry_run_stores_nothing(k8s):
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dry"), data={"a": "1"})
    out = k8s.core.create_namespaced_config_map("default", cm, dry_run="All")
    assert out.metadata.name == "dry"
    with pytest.raises(ApiException):
        k8s.core.read_namespaced_config_map("dry", "default")
    k8s.core.create_namespaced_config_map("default", cm)
    k8s.core.patch_namespaced_config_map("dry", "default", {"data": {"a": "2"}}, dry_run="All")
    assert k8s.core.read_namespaced_config_map("dry", "default").data == {"a": "1"}
    k8s.core.delete_namespaced_config_map("dry", "default", dry_run="All")
    assert k8s.core.read_namespaced_config_map("dry", "default").data == {"a": "1"}
    node = k8s.core.read_node("lab-worker1")
    k8s.core.patch_node("lab-worker1", {"spec": {"unschedulable": True}}, dry_run="All")
    assert not k8s.core.read_node("lab-worker1").spec.unschedulable
    assert node.metadata.name == "lab-worker1"


def test_namespace_lifecycle(k8s):
    k8s.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="temp")))
    k8s.core.create_namespaced_config_map("temp", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    wait_for(lambda: k8s.core.read_namespaced_service_account("default", "temp"), timeout=5)
    k8s.core.delete_namespace("temp")
    def gone():
        try:
            k8s.core.read_namespace("temp")
        except ApiException as exc:
            return exc.status == 404
        return False
    wait_for(gone, timeout=10)
    with pytest.raises(ApiException) as err:
        k8s.core.delete_namespace("default")
    assert err.value.status == 403


def test_tables_for_kubectl(lab):
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    code, body, _ = raw(lab, "GET", "/api/v1/nodes", headers={"Accept": accept})
    assert code == 200 and body["kind"] == "Table" and body["apiVersion"] == "meta.k8s.io/v1"
    names = [(c["name"], c["priority"]) for c in body["columnDefinitions"]]
    assert names[:5] == [("Name", 0), ("Status", 0), ("Roles", 0), ("Age", 0), ("Version", 0)]
    assert ("Container-Runtime", 1) in names
    rows = {r["cells"][0]: r for r in body["rows"]}
    assert rows["lab-cp1"]["cells"][2] == "control-plane"
    assert rows["lab-worker1"]["cells"][2] == "<none>"
    assert rows["lab-cp1"]["object"]["kind"] == "PartialObjectMetadata"
    code, body, _ = raw(lab, "GET", "/api/v1/nodes/lab-worker1?includeObject=Object", headers={"Accept": accept})
    assert body["rows"][0]["object"]["kind"] == "Node"
    assert body["rows"][0]["cells"][9].startswith("containerd://")
    code, body, _ = raw(lab, "GET", "/api/v1/namespaces/default/configmaps", headers={"Accept": accept})
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Data", "Age"]


def test_sigterm_stops_server(tmp_path):
    from conftest import LabServer
    server = LabServer(tmp_path / "s", seed=None).start()
    pid_file = os.path.join(server.state_dir, "apiserver.pid")
    assert os.path.exists(pid_file)
    assert server.stop() == 0
    assert not os.path.exists(pid_file)

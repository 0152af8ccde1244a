"""Raw HTTPS helpers for talking to the simulated API server in tests."""

import json
import os

import urllib3
import yaml


def admin_token(kubeconfig):
    with open(kubeconfig) as handle:
        config = yaml.safe_load(handle)
    return config["users"][0]["user"]["token"]


def raw(lab, method, path, body=None, token=True, headers=None, cert=None, content_type="application/json"):
    """Send one request; return (status, parsed JSON or text, response headers)."""
    ca = os.path.join(lab.state_dir, "pki", "ca.crt")
    kwargs = {"ca_certs": ca, "cert_reqs": "CERT_REQUIRED"}
    if cert:
        kwargs["cert_file"], kwargs["key_file"] = cert
    pool = urllib3.PoolManager(**kwargs)
    hdrs = dict(headers or {})
    if token is True:
        hdrs["Authorization"] = "Bearer " + admin_token(lab.kubeconfig)
    elif token:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        hdrs.setdefault("Content-Type", content_type)
    resp = pool.request(method, lab.url + path, body=data, headers=hdrs, timeout=10, retries=False)
    text = resp.data.decode()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = text
    pool.clear()
    return resp.status, payload, resp.headers

# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON requests by path through the ``kubernetes`` client's ApiClient, without its typed API classes.

The ApiClient brings the connection: TLS, client certificates, bearer tokens, proxy and the
impersonation headers of :func:`_k8s.new_api_client`. The typed classes (``CoreV1Api`` and the
others) are not needed to read and write plain JSON, and in the client generations built on
pydantic, importing one of them builds the models of its whole API group first: about 1.5 s of
CPU for ``CoreV1Api`` alone, paid by every module run. :class:`RestClient` sends a request by path
and answers like the typed methods do with ``_preload_content=False``: the HTTP response, whose
``data`` is the JSON body, or an ``ApiException`` for a status outside 2xx.

:class:`KubeApi` offers the calls the collection makes under the names of the typed methods
(``read_node``, ``list_pod_for_all_namespaces``...), so that code written against those, and its
fakes in the tests, stay as they are.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    from urllib import quote  # type: ignore

JSON = "application/json"
# What the typed patch methods send for a dict body
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
AUTH_SETTINGS = ["BearerToken"]


def _api_exception():
    from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel

    return ApiException


class RestClient(object):
    """One request by path, in both generations of the client's ApiClient."""

    def __init__(self, api_client):
        self._api = api_client

    def request(self, method, path, query=None, body=None, content_type=JSON, request_timeout=None):
        headers = {"Accept": JSON}
        if body is not None:
            headers["Content-Type"] = content_type
        query = [(key, value) for key, value in (query or []) if value is not None]
        if hasattr(self._api, "param_serialize"):
            # The pydantic generation (kubernetes 35 and later): serialize, send, raise for non-2xx.
            method, url, headers, body, post_params = self._api.param_serialize(
                method, path, query_params=query, header_params=headers, body=body, auth_settings=AUTH_SETTINGS)
            response = self._api.call_api(method, url, header_params=headers, body=body, post_params=post_params,
                                          _request_timeout=request_timeout)
            if not 200 <= response.status <= 299:
                response.read()
                raise _api_exception().from_response(http_resp=response, body=None, data=None)
            return response.response
        # The earlier generation: its REST layer raises for non-2xx and returns the raw response.
        return self._api.call_api(path, method, query_params=query, header_params=headers, body=body,
                                  auth_settings=AUTH_SETTINGS, _return_http_data_only=True,
                                  _preload_content=False, _request_timeout=request_timeout)


def _name(value):
    return quote(str(value), safe="")


def _query(options, *names):
    """The query parameters among ``options`` (``_continue`` is ``continue``, ``dry_run`` is ``dryRun``...)."""
    keys = {"_continue": "continue", "dry_run": "dryRun", "field_selector": "fieldSelector",
            "label_selector": "labelSelector", "limit": "limit"}
    return [(keys[name], options[name]) for name in names if options.get(name) not in (None, "")]


class KubeApi(object):
    """The API calls of the collection, named and called like the typed methods.

    Every method takes the typed methods' ``_request_timeout`` and ``_preload_content`` (always
    treated as False: the answer is the HTTP response) besides its own options.
    """

    def __init__(self, api_client):
        self._rest = RestClient(api_client)

    def _send(self, method, path, options, query=(), body=None, content_type=JSON):
        return self._rest.request(method, path, query=_query(options, *query), body=body,
                                  content_type=options.get("_content_type") or content_type,
                                  request_timeout=options.get("_request_timeout"))

    def _patch(self, path, body, options):
        return self._send("PATCH", path, options, ("dry_run",), body=body, content_type=STRATEGIC_MERGE_PATCH)

    def get_code(self, **options):
        return self._send("GET", "/version", options)

    def get_api_resources(self, **options):
        return self._send("GET", "/api/v1", options)

    def read_node(self, name, **options):
        return self._send("GET", "/api/v1/nodes/%s" % _name(name), options)

    def patch_node(self, name, body, **options):
        return self._patch("/api/v1/nodes/%s" % _name(name), body, options)

    def list_node(self, **options):
        return self._send("GET", "/api/v1/nodes", options, ("limit", "_continue"))

    def list_pod_for_all_namespaces(self, **options):
        return self._send("GET", "/api/v1/pods", options,
                          ("field_selector", "label_selector", "limit", "_continue"))

    def read_namespaced_pod(self, name, namespace, **options):
        return self._send("GET", "/api/v1/namespaces/%s/pods/%s" % (_name(namespace), _name(name)), options)

    def create_namespaced_pod_eviction(self, name, namespace, body, **options):
        return self._send("POST", "/api/v1/namespaces/%s/pods/%s/eviction" % (_name(namespace), _name(name)),
                          options, ("dry_run",), body=body)

    def delete_namespaced_pod(self, name, namespace, **options):
        return self._send("DELETE", "/api/v1/namespaces/%s/pods/%s" % (_name(namespace), _name(name)),
                          options, ("dry_run",), body=options.get("body"))

    def read_namespaced_lease(self, name, namespace, **options):
        return self._send("GET", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s"
                          % (_name(namespace), _name(name)), options)

    def read_namespaced_daemon_set(self, name, namespace, **options):
        return self._send("GET", "/apis/apps/v1/namespaces/%s/daemonsets/%s" % (_name(namespace), _name(name)),
                          options)

    def list_namespaced_pod_disruption_budget(self, namespace, **options):
        return self._send("GET", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % _name(namespace),
                          options, ("limit", "_continue"))

    def list_pod_disruption_budget_for_all_namespaces(self, **options):
        return self._send("GET", "/apis/policy/v1/poddisruptionbudgets", options, ("limit", "_continue"))

    def list_namespaced_lease(self, namespace, **options):
        return self._send("GET", "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % _name(namespace), options,
                          ("limit", "_continue"))

    def read_namespaced_service(self, name, namespace, **options):
        return self._send("GET", "/api/v1/namespaces/%s/services/%s" % (_name(namespace), _name(name)), options)

    def read_namespaced_config_map(self, name, namespace, **options):
        return self._send("GET", "/api/v1/namespaces/%s/configmaps/%s" % (_name(namespace), _name(name)), options)

    def list_namespaced_config_map(self, namespace, **options):
        return self._send("GET", "/api/v1/namespaces/%s/configmaps" % _name(namespace), options,
                          ("field_selector", "label_selector", "limit", "_continue"))

    def replace_namespaced_config_map(self, name, namespace, body, **options):
        return self._send("PUT", "/api/v1/namespaces/%s/configmaps/%s" % (_name(namespace), _name(name)), options,
                          ("dry_run",), body=body)

    def patch_namespaced_config_map(self, name, namespace, body, **options):
        return self._patch("/api/v1/namespaces/%s/configmaps/%s" % (_name(namespace), _name(name)), body, options)

    def patch_namespaced_daemon_set(self, name, namespace, body, **options):
        return self._patch("/apis/apps/v1/namespaces/%s/daemonsets/%s" % (_name(namespace), _name(name)), body,
                           options)

    def list_namespaced_secret(self, namespace, **options):
        return self._send("GET", "/api/v1/namespaces/%s/secrets" % _name(namespace), options,
                          ("field_selector", "label_selector", "limit", "_continue"))

    def read_namespaced_secret(self, name, namespace, **options):
        return self._send("GET", "/api/v1/namespaces/%s/secrets/%s" % (_name(namespace), _name(name)), options)

    def create_namespaced_secret(self, namespace, body, **options):
        return self._send("POST", "/api/v1/namespaces/%s/secrets" % _name(namespace), options, ("dry_run",),
                          body=body)

    def delete_namespaced_secret(self, name, namespace, **options):
        return self._send("DELETE", "/api/v1/namespaces/%s/secrets/%s" % (_name(namespace), _name(name)),
                          options, ("dry_run",), body=options.get("body"))

    def list_certificate_signing_request(self, **options):
        return self._send("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", options,
                          ("field_selector", "label_selector", "limit", "_continue"))

    def replace_certificate_signing_request_approval(self, name, body, **options):
        return self._send("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/%s/approval"
                          % _name(name), options, ("dry_run",), body=body)

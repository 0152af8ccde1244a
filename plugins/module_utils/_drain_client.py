# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API calls of a drain, with plain dictionaries for objects (the Kubernetes API adapter)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi
from ansible_collections.nodeops.kubernetes.plugins.module_utils._drain_options import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_CONCURRENT_EVICTIONS,
)

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
REQUEST_TIMEOUT = _k8s.REQUEST_TIMEOUT
# Within a drain, a request gets no more than the time left until the drain's deadline, but at least this.
REQUEST_TIMEOUT_FLOOR = 2
# A read (GET) that cannot reach the API server is tried again for this long: the API server of a
# control-plane node is briefly away while its kubelet restarts (a cgroup driver migration, a
# certificate renewal). Writes are not repeated here.
READ_RETRY_SECONDS = 90
READ_RETRY_INTERVAL = 3
# A read refused with 401 or 403 is tried again for this long: an API server that has just restarted
# answers before its authorizer has loaded the RBAC bindings, and refuses users it will accept seconds
# later (kubeadm's admin is authorized by a ClusterRoleBinding, not by system:masters). A user the
# bindings really lack gets the same clear refusal, this much later.
AUTH_RETRY_SECONDS = 30


def _decode(response):
    data = getattr(response, "data", None)
    if data is None and hasattr(response, "read"):
        data = response.read()
    if not data:
        return {}
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data)


def _status_of(exc):
    """The Status object in the body of an ``ApiException``, or None when the body is not a Status."""
    try:
        status = json.loads(getattr(exc, "body", None) or "")
    except (TypeError, ValueError):
        return None
    return status if isinstance(status, dict) and status.get("kind") == "Status" else None


def error_facts(exc):
    """What the drain needs to know of a failed request beyond status and reason.

    ``not_found_kind``: for a 404 whose body is a Status, the kind of object it names (``pods``),
    or "" when it names none (the answer for a resource the API server does not serve).
    ``retry_after`` (seconds) and ``causes`` (``reason: message`` of each Status cause): for a 429.
    """
    facts = {}
    code = getattr(exc, "status", None)
    status = _status_of(exc)
    details = (status or {}).get("details") or {}
    if code == 404 and status is not None:
        facts["not_found_kind"] = details.get("kind") or ""
    if code == 429:
        facts["retry_after"] = _retry_after(getattr(exc, "headers", None), details)
        facts["causes"] = ["%s: %s" % (cause.get("reason") or cause.get("type") or "", cause.get("message") or "")
                           for cause in details.get("causes") or []]
    return facts


def _retry_after(headers, details):
    """Seconds from the Retry-After header (or the Status' retryAfterSeconds), or None."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0, int(str(value).strip()))
            except ValueError:
                break  # an HTTP date: not sent by kube-apiserver
    seconds = details.get("retryAfterSeconds")
    return seconds if isinstance(seconds, int) and seconds > 0 else None


class KubernetesDrainClient(object):
    """The API calls of a drain, with plain dictionaries for objects.

    Errors become :class:`NodeOpsError` with ``status`` (and ``reason``) in
    ``details``: 404 and 429 are reported as such so that the drain logic can
    react; everything else goes through ``raise_for_api_error``.
    """

    def __init__(self, api_client, params=None):
        # One facade over the ApiClient for every API group (see _k8s_rest: no typed API class is built).
        api = KubeApi(api_client)
        self._api = api
        self._params = params or {}
        self._time_left = None
        self._longest = None

    def limit_requests(self, time_left, longest=None):
        """Bound each request by ``time_left()`` seconds (at least REQUEST_TIMEOUT_FLOOR); None lifts the bound.

        A drain sets this for its duration, so that a request in flight cannot carry it past its timeout.
        ``longest`` (seconds) also caps each request below the time left: a wait that polls gives one
        request that gets no answer that long, then tries again, instead of spending all its time on it.
        """
        self._time_left = time_left
        self._longest = longest

    def _left(self):
        return self._time_left() if self._time_left else None

    def _request_timeout(self, left):
        if self._longest is not None:
            left = self._longest if left is None else min(left, self._longest)
        if left is None or left >= REQUEST_TIMEOUT[1]:
            return REQUEST_TIMEOUT
        return max(REQUEST_TIMEOUT_FLOOR, left)

    def _call(self, action, method, *args, **kwargs):
        kwargs.setdefault("_preload_content", False)
        is_read = getattr(method, "__name__", "").startswith(("read_", "list_"))
        started = time.monotonic()
        while True:
            kwargs["_request_timeout"] = self._request_timeout(self._left())
            try:
                return _decode(method(*args, **kwargs))
            except Exception as exc:  # pylint: disable=broad-except
                window = self._retry_window(exc) if is_read else 0
                pause = READ_RETRY_INTERVAL
                left = self._left()
                if left is not None:
                    pause = min(pause, left)
                if not (time.monotonic() - started < window and pause > 0):
                    self._raise(action, exc)
            time.sleep(pause)

    @staticmethod
    def _retry_window(exc):
        """How long a read that failed this way is tried again: unreachable, or refused while authorizing."""
        if isinstance(exc, _k8s.ApiException):
            refused = getattr(exc, "status", None) in (401, 403)
            if refused and "NamespaceTerminating" not in (getattr(exc, "body", None) or ""):
                return AUTH_RETRY_SECONDS
            return 0
        return READ_RETRY_SECONDS if isinstance(exc, (_k8s.Urllib3HTTPError, OSError)) else 0

    def _raise(self, action, exc):
        """Raise the NodeOpsError of a failed call (404, 409, 410, 429 and 500 keep their status)."""
        if isinstance(exc, _k8s.ApiException):
            status = getattr(exc, "status", None)
            message = _k8s.api_error_message(exc)
            reason = _k8s.api_error_reason(exc)
            if status in (404, 409, 410, 429, 500):
                raise NodeOpsError("%s: %s" % (action, message), status=status, reason=reason, **error_facts(exc))
            if status == 403 and "NamespaceTerminating" in (getattr(exc, "body", None) or ""):
                raise NodeOpsError("%s: %s" % (action, message), status=status, reason="NamespaceTerminating")
        elif isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
            raise NodeOpsError("%s: the answer of the API server is not JSON (%s: %s)" % (
                action, type(exc).__name__, exc))
        _k8s.raise_for_api_error(exc, action, self._params)

    def _get_or_none(self, action, method, *args):
        try:
            return self._call(action, method, *args)
        except NodeOpsError as err:
            if err.details.get("status") == 404:
                return None
            raise

    def get_node(self, name):
        return self._get_or_none('read node "%s"' % name, self._api.read_node, name)

    def get_node_lease(self, name):
        return self._get_or_none('read lease "kube-node-lease/%s"' % name, self._api.read_namespaced_lease,
                                 name, "kube-node-lease")

    def patch_node_unschedulable(self, name, unschedulable, dry_run=False):
        # Like kubectl: a strategic merge patch; uncordon removes the field (false is its default).
        body = {"spec": {"unschedulable": True if unschedulable else None}}
        kwargs = dict(_content_type=STRATEGIC_MERGE_PATCH)
        if dry_run:
            kwargs["dry_run"] = "All"
        action = '%s node "%s"' % ("cordon" if unschedulable else "uncordon", name)
        return self._call(action, self._api.patch_node, name, body, **kwargs)

    def list_pods(self, node_name, label_selector=None, limit=DEFAULT_CHUNK_SIZE):
        return self._list('list the pods of node "%s"' % node_name, self._api.list_pod_for_all_namespaces,
                          field_selector="spec.nodeName=%s" % node_name, label_selector=label_selector or None,
                          limit=limit)

    def list_all_pods(self, field_selector=None, limit=DEFAULT_CHUNK_SIZE):
        return self._list("list the pods of the cluster", self._api.list_pod_for_all_namespaces,
                          field_selector=field_selector, limit=limit)

    def list_nodes(self, limit=DEFAULT_CHUNK_SIZE):
        return self._list("list the nodes", self._api.list_node, limit=limit)

    def _list(self, action, method, *args, **kwargs):
        items = []
        kwargs = dict((k, v) for k, v in kwargs.items() if v not in (None, ""))
        if not kwargs.get("limit"):
            kwargs.pop("limit", None)
        token = None
        while True:
            if token:
                kwargs["_continue"] = token
            page = self._call(action, method, *args, **kwargs)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def get_pod(self, namespace, name):
        return self._get_or_none('read pod "%s/%s"' % (namespace, name), self._api.read_namespaced_pod,
                                 name, namespace)

    @staticmethod
    def _delete_options(grace_period, dry_run):
        options = {}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if dry_run:
            options["dryRun"] = ["All"]
        return options

    def evict_pod(self, namespace, name, grace_period=None, dry_run=False):
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace},
                "deleteOptions": self._delete_options(grace_period, dry_run)}
        kwargs = dict(dry_run="All") if dry_run else {}
        self._call('evict pod "%s/%s"' % (namespace, name), self._api.create_namespaced_pod_eviction,
                   name, namespace, body, **kwargs)

    def eviction_supported(self):
        """Whether the API server serves the policy/v1 Eviction subresource of pods, from the discovery of
        the core API (as kubectl checks before it evicts)."""
        resources = self._call("read the resources of the core API (GET /api/v1)", self._api.get_api_resources)
        for resource in resources.get("resources") or []:
            if resource.get("name") == "pods/eviction" and resource.get("kind") == "Eviction":
                return (resource.get("group"), resource.get("version")) == ("policy", "v1")
        return False

    def delete_pod(self, namespace, name, grace_period=None, dry_run=False):
        kwargs = dict(body=self._delete_options(grace_period, dry_run))
        if dry_run:
            kwargs["dry_run"] = "All"
        self._call('delete pod "%s/%s"' % (namespace, name), self._api.delete_namespaced_pod,
                   name, namespace, **kwargs)

    def daemonset_exists(self, namespace, name):
        return self._get_or_none('read DaemonSet "%s/%s"' % (namespace, name),
                                 self._api.read_namespaced_daemon_set, name, namespace) is not None

    def list_pdbs(self, namespace):
        return self._list('list the PodDisruptionBudgets of namespace "%s"' % namespace,
                          self._api.list_namespaced_pod_disruption_budget, namespace)


def make_client(params, concurrency=DEFAULT_MAX_CONCURRENT_EVICTIONS):
    """A :class:`KubernetesDrainClient` for the module's connection options.

    The HTTP connection pool is sized for ``concurrency`` parallel requests. A request without an answer is
    not sent again by urllib3: the client bounds each request by the time left and tries reads again itself.
    """
    configuration = _k8s.without_read_retries(_k8s.build_configuration(params))
    configuration.connection_pool_maxsize = max(getattr(configuration, "connection_pool_maxsize", 0) or 0,
                                                concurrency + 4)
    return KubernetesDrainClient(_k8s.new_api_client(configuration, params), params)

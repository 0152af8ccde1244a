# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection options and the one client factory of the collection.

The option names, aliases and ``K8S_AUTH_*`` environment fallbacks are those of
kubernetes.core, so inventories and AWX credentials written for it work here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import traceback

from ansible.module_utils.basic import env_fallback

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._kubeconfig import YAML_ERRORS, check_kubeconfig

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    from urllib3.util import Retry, make_headers

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # pylint: disable=missing-class-docstring
        status = None
        reason = None
        body = None

    class ConfigException(Exception):  # pylint: disable=missing-class-docstring
        pass

    class Urllib3HTTPError(Exception):  # pylint: disable=missing-class-docstring
        pass

    def make_headers(**kwargs):  # pylint: disable=missing-function-docstring,unused-argument
        return {}


# What the client raises for a kubeconfig it cannot read (besides its own ConfigException).
LOAD_ERRORS = (ConfigException, OSError, ValueError, TypeError, AttributeError, KeyError) + YAML_ERRORS

PROXY_HEADERS_SPEC = dict(
    proxy_basic_auth=dict(type="str", no_log=True,
                          fallback=(env_fallback, ["K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH"])),
    basic_auth=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_PROXY_HEADERS_BASIC_AUTH"])),
    user_agent=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_PROXY_HEADERS_USER_AGENT"])),
)

# Option for option the connection options of kubernetes.core (names, types, aliases, secrecy),
# each with its K8S_AUTH_* environment variable. tests/unit/plugins/module_utils/test_k8s.py
# compares this spec with the installed kubernetes.core so that the two cannot drift apart.
AUTH_ARG_SPEC = dict(
    kubeconfig=dict(type="raw", no_log=True, fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
    host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
    username=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_USERNAME"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_PASSWORD"])),
    validate_certs=dict(type="bool", aliases=["verify_ssl"], fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
    client_cert=dict(type="path", aliases=["cert_file"], fallback=(env_fallback, ["K8S_AUTH_CERT_FILE"])),
    client_key=dict(type="path", aliases=["key_file"], no_log=False, fallback=(env_fallback, ["K8S_AUTH_KEY_FILE"])),
    proxy=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_PROXY"])),
    no_proxy=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_NO_PROXY"])),
    proxy_headers=dict(type="dict", options=PROXY_HEADERS_SPEC),
    persist_config=dict(type="bool", fallback=(env_fallback, ["K8S_AUTH_PERSIST_CONFIG"])),
    impersonate_user=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_IMPERSONATE_USER"])),
    impersonate_groups=dict(type="list", elements="str", fallback=(env_fallback, ["K8S_AUTH_IMPERSONATE_GROUPS"])),
)

AUTH_OPTION_NAMES = tuple(AUTH_ARG_SPEC)


def auth_params(params):
    """Return the connection options out of a module's ``params``."""
    return dict((name, params.get(name)) for name in AUTH_OPTION_NAMES)


def _connection_target(params):
    if params.get("host"):
        return params["host"]
    if isinstance(params.get("kubeconfig"), dict):
        return "the kubeconfig given as a dictionary"
    if params.get("kubeconfig"):
        return "kubeconfig %s" % params["kubeconfig"]
    return "the default kubeconfig"


def _api_server_named(params):
    """The API server a failed request went to, in words that survive Ansible's output: the kubeconfig
    option is no_log (it may be a dictionary with keys), so its path would be printed as ********."""
    if params.get("kubeconfig") and not params.get("host"):
        return "the API server of the kubeconfig option"
    return _connection_target(params)


def _load_kubeconfig(params, configuration):
    kubeconfig = params.get("kubeconfig")
    persist = bool(params.get("persist_config"))
    if isinstance(kubeconfig, dict):
        k8s_config.load_kube_config_from_dict(
            config_dict=kubeconfig, context=params.get("context"),
            client_configuration=configuration, persist_config=persist,
        )
        return
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        raise NodeOpsError("kubeconfig must be the path of a kubeconfig file or a kubeconfig as a dictionary, "
                           "not %s" % type(kubeconfig).__name__)
    k8s_config.load_kube_config(
        config_file=os.path.expanduser(kubeconfig) if kubeconfig else None,
        context=params.get("context"),
        client_configuration=configuration,
        persist_config=persist,
    )


def _proxy_headers(headers):
    headers = dict((key, value) for key, value in (headers or {}).items() if value)
    if not headers:
        return None
    return make_headers(**headers)


def build_configuration(params):
    """Build a ``kubernetes.client.Configuration`` from the connection options.

    Explicit options win over the kubeconfig, as with kubernetes.core.
    """
    if not HAS_KUBERNETES:
        raise NodeOpsError(
            "the Python package 'kubernetes' is required on the host that runs this module; "
            "install it with 'pip install kubernetes' (or the distribution's python3-kubernetes package)",
            exception=KUBERNETES_IMPORT_ERROR,
        )
    configuration = k8s_client.Configuration()
    uses_kubeconfig = params.get("kubeconfig") or params.get("context") or not params.get("host")
    if uses_kubeconfig:
        explicit = params.get("kubeconfig") or params.get("context") or params.get("host")
        if explicit:
            # A kubeconfig the client would misread is named with its line and the fix.
            check_kubeconfig(params)
        try:
            _load_kubeconfig(params, configuration)
        except LOAD_ERRORS as exc:
            if explicit:
                raise NodeOpsError(
                    "cannot load %s (context %s): %s; check the path and the context name, or give "
                    "host and api_key instead" % (_connection_target(params), params.get("context") or "current", exc)
                )
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except ConfigException:
                # Not in a cluster either: a default kubeconfig that exists but is broken is the cause.
                check_kubeconfig(params)
                raise NodeOpsError(
                    "no Kubernetes connection configured: no kubeconfig found (%s) and not running in a cluster; "
                    "set kubeconfig (or K8S_AUTH_KUBECONFIG), or host and api_key" % exc
                )
    if params.get("host"):
        configuration.host = params["host"]
    if params.get("api_key"):
        configuration.api_key = {"BearerToken": "Bearer %s" % params["api_key"]}
    if params.get("username"):
        configuration.username = params["username"]
    if params.get("password"):
        configuration.password = params["password"]
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = params["validate_certs"]
    if params.get("ca_cert"):
        configuration.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        configuration.cert_file = params["client_cert"]
    if params.get("client_key"):
        configuration.key_file = params["client_key"]
    if params.get("proxy"):
        configuration.proxy = params["proxy"]
    if params.get("no_proxy"):
        configuration.no_proxy = params["no_proxy"]
    headers = _proxy_headers(params.get("proxy_headers"))
    if headers:
        configuration.proxy_headers = headers
    return configuration


def impersonation_headers(params):
    """The ``Impersonate-*`` request headers of ``impersonate_user`` and ``impersonate_groups``.

    The Python client keeps one value per header, so several groups travel as one comma-separated
    ``Impersonate-Group`` value.
    """
    headers = {}
    if params.get("impersonate_user"):
        headers["Impersonate-User"] = params["impersonate_user"]
    groups = params.get("impersonate_groups")
    if isinstance(groups, str):
        groups = [g.strip() for g in groups.split(",") if g.strip()]
    if groups:
        headers["Impersonate-Group"] = ",".join(groups)
    return headers


# (connect, read) seconds of a request whose caller sets no timeout of its own. Without it, a request the
# API server (or a proxy or load balancer in front of it) accepts but never answers holds the task, and the
# rollout, forever. One minute is far longer than any answer of a healthy API server to the calls here.
REQUEST_TIMEOUT = (10, 60)


def with_default_timeout(rest_client, timeout=None):
    """Give every request of ``rest_client`` (the ApiClient's REST layer) ``timeout`` (by default
    :data:`REQUEST_TIMEOUT`) unless it sets one.

    Both generations of the client send every call through ``rest_client.request(..., _request_timeout=...)``
    (the older one from its GET, POST... methods, by ``self.request``), so the instance's own ``request`` is
    the one place where a call without a timeout can be given one. Returns ``rest_client``.
    """
    send = rest_client.request
    timeout = timeout or REQUEST_TIMEOUT

    def request(*args, **kwargs):
        if not kwargs.get("_request_timeout"):
            kwargs["_request_timeout"] = timeout
        return send(*args, **kwargs)

    rest_client.request = request
    return rest_client


def without_read_retries(configuration):
    """Make the client raise at once when a request got no answer (a read timeout, a connection reset).

    urllib3 by default sends such a GET again three times, each time with the whole timeout: a client that
    bounds each request by a deadline and tries reads again itself (the drain client) would overrun its
    deadline fourfold. Connection errors are still tried again (they fail fast). Returns ``configuration``.
    """
    configuration.retries = Retry(total=3, read=False)
    return configuration


def new_api_client(configuration, params):
    """A ``kubernetes.client.ApiClient`` for a configuration, with the impersonation headers of ``params``
    and :data:`REQUEST_TIMEOUT` for every request that sets no timeout of its own."""
    api_client = k8s_client.ApiClient(configuration)
    with_default_timeout(api_client.rest_client)
    for name, value in impersonation_headers(params).items():
        api_client.set_default_header(name, value)
    return api_client


def get_api_client(params):
    """Return a ``kubernetes.client.ApiClient`` for the connection options."""
    return new_api_client(build_configuration(params), params)


def api_error_message(exc):
    """Return the API server's own message of an ``ApiException`` (its Status ``message``)."""
    body = getattr(exc, "body", None)
    if body:
        try:
            status = json.loads(body)
            if isinstance(status, dict) and status.get("message"):
                return status["message"]
        except (TypeError, ValueError):
            pass
    return "%s %s" % (getattr(exc, "status", ""), getattr(exc, "reason", "")) if getattr(exc, "status", None) else str(exc)


def api_error_reason(exc):
    """Return the Status ``reason`` of an ``ApiException`` (for example ``NotFound``), or None."""
    body = getattr(exc, "body", None)
    if body:
        try:
            status = json.loads(body)
            if isinstance(status, dict):
                return status.get("reason")
        except (TypeError, ValueError):
            pass
    return None


def raise_for_api_error(exc, action, params=None):
    """Turn a client exception into a :class:`NodeOpsError` naming the action, the cause and the fix."""
    target = _api_server_named(params or {})
    if isinstance(exc, ApiException):
        status = getattr(exc, "status", None)
        message = api_error_message(exc)
        if status == 401:
            raise NodeOpsError(
                "%s: the API server at %s rejected the credentials (401 Unauthorized: %s); "
                "check api_key or the client certificate in the kubeconfig" % (action, target, message),
                status=status,
            )
        if status == 403:
            raise NodeOpsError(
                "%s: forbidden (403: %s); grant the user the RBAC permissions listed in the module documentation"
                % (action, message),
                status=status,
            )
        raise NodeOpsError("%s: %s" % (action, message), status=status, reason=api_error_reason(exc))
    if isinstance(exc, Urllib3HTTPError) or isinstance(exc, OSError):
        raise NodeOpsError(
            "%s: cannot reach the Kubernetes API server (%s): %s; check host/kubeconfig, network and TLS settings"
            % (action, target, exc),
            api_unreachable=True,
        )
    raise exc


def call_json(what, function, params, *args, **kwargs):
    """Call a ``kubernetes`` client method and return its JSON body as plain data.

    ``missing_ok=True`` returns None for a 404; every other error becomes a NodeOpsError naming ``what``
    (see :func:`raise_for_api_error`). The small API classes of the modules share this one call.
    """
    missing_ok = kwargs.pop("missing_ok", False)
    try:
        response = function(*args, _preload_content=False, **kwargs)
        return json.loads(response.data)
    except Exception as exc:  # pylint: disable=broad-except
        if missing_ok and getattr(exc, "status", None) == 404:
            return None
        raise_for_api_error(exc, what, params)

"""HTTP layer of the simulated API server (aiohttp): authentication, discovery,
resource routes, content negotiation (JSON and server-side Tables) and watch."""

import asyncio
import base64
import csv
import json
import logging
import os
import re
import time

import yaml
from aiohttp import web

from . import errors, resources, tables
from .errors import APIError
from .patch import PATCH_TYPES
from .selectors import parse_field_selector, parse_label_selector
from .store import Watcher
from .util import get_path

LOG = logging.getLogger("nodeops_lab.apiserver")

DEFAULT_VERSION = "v1.30.2"
SERVER_VERSION = {}
KUBELET_VERSION = DEFAULT_VERSION


def set_version(git_version=DEFAULT_VERSION):
    """Set the version the simulation reports (``/version``, simulated kubelets)."""
    global KUBELET_VERSION
    match = re.match(r"^v(\d+)\.(\d+)\.(\d+)([-+].*)?$", git_version)
    if not match:
        raise ValueError("not a Kubernetes version like v1.32.2: %r" % git_version)
    SERVER_VERSION.clear()
    SERVER_VERSION.update({
        "major": match.group(1),
        "minor": match.group(2),
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
    KUBELET_VERSION = git_version


set_version()
PUBLIC_PATHS = {"/healthz", "/livez", "/readyz", "/version", "/version/"}


def json_response(body, status=200, content_type="application/json"):
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        headers={"Content-Type": content_type, "Cache-Control": "no-cache, private"})


def status_response(exc):
    return json_response(exc.status(), exc.code, )


class TokenFile:
    """kube-apiserver style static token file: ``token,user,uid,"group1,group2"``."""

    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.tokens = {}
        self.checked = 0.0

    def lookup(self, token):
        now = time.monotonic()
        if now - self.checked > 0.5:
            self.checked = now
            try:
                mtime = os.stat(self.path).st_mtime_ns
            except OSError:
                mtime = None
            if mtime != self.mtime:
                self.mtime = mtime
                self.tokens = self._load()
        return self.tokens.get(token)

    def _load(self):
        out = {}
        try:
            with open(self.path, newline="") as handle:
                for row in csv.reader(handle):
                    if len(row) < 2 or row[0].startswith("#"):
                        continue
                    groups = [g for g in (row[3].split(",") if len(row) > 3 else []) if g]
                    out[row[0]] = {"name": row[1], "uid": row[2] if len(row) > 2 else "", "groups": groups}
        except OSError:
            pass
        return out


def _peer_user(request):
    transport = request.transport
    if transport is None:
        return None
    cert = transport.get_extra_info("peercert")
    if not cert:
        return None
    name, groups = None, []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                name = value
            elif key == "organizationName":
                groups.append(value)
    if not name:
        return None
    return {"name": name, "uid": "", "groups": groups}


def parse_accept(header):
    """Return ('table', apiVersion) / ('partial', apiVersion) / ('json', None)."""
    for part in (header or "").split(","):
        pieces = [p.strip() for p in part.split(";")]
        params = {}
        for piece in pieces[1:]:
            if "=" in piece:
                k, v = piece.split("=", 1)
                params[k.strip()] = v.strip()
        if pieces[0] not in ("application/json", "*/*", "application/*"):
            continue
        if params.get("g") == "meta.k8s.io" and params.get("as") == "Table" and params.get("v") in ("v1", "v1beta1"):
            return "table", "meta.k8s.io/" + params["v"]
        if params.get("g") == "meta.k8s.io" and params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return "partial", "meta.k8s.io/" + params.get("v", "v1")
        if params.get("as"):
            continue  # something we do not produce (e.g. aggregated discovery)
        return "json", None
    return "json", None


def _bool_param(value):
    return str(value).lower() in ("true", "1")


def _dry_run(request, body=None):
    values = request.query.getall("dryRun", [])
    if isinstance(body, dict):
        values = values + list(body.get("dryRun") or [])
    for value in values:
        if value != "All":
            raise errors.bad_request('Invalid value: "%s": valid values are: All' % value)
    return bool(values)


class API:
    def __init__(self, server):
        self.server = server
        self.store = server.store
        self.registry = server.registry
        self.tokens = TokenFile(server.tokens_path)
        self.watch_tasks = set()
        self.closing = False

    # ------------------------------------------------------------------ plumbing
    def make_app(self):
        app = web.Application(middlewares=[self.middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    @web.middleware
    async def middleware(self, request, handler):
        try:
            return await handler(request)
        except APIError as exc:
            return status_response(exc)
        except web.HTTPException:
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:  # pragma: no cover - surfaced to the client
            LOG.exception("internal error on %s %s", request.method, request.path)
            return status_response(errors.internal(repr(exc)))

    def authenticate(self, request):
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            user = self.tokens.lookup(auth[7:].strip())
            if user is None:
                raise errors.unauthorized()
            return user
        user = _peer_user(request)
        if user is not None:
            return user
        raise errors.unauthorized()

    async def read_body(self, request, allow_yaml=False):
        raw = await request.read()
        ctype = (request.content_type or "").lower()
        if "protobuf" in ctype:
            raise errors.APIError(415, "UnsupportedMediaType",
                                  'the body of the request was in an unknown format - accepted media types include: '
                                  'application/json, application/yaml')
        if not raw.strip():
            return None
        try:
            if allow_yaml or ctype in ("application/yaml", "application/apply-patch+yaml"):
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request("the body of the request could not be decoded: %s" % exc)

    # ------------------------------------------------------------------ dispatch
    async def dispatch(self, request):
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return json_response(SERVER_VERSION)
        user = self.authenticate(request)
        request["user"] = user
        if path == "/openapi/v2":
            # An empty (zero-length) protobuf OpenAPI v2 document: kubectl parses it,
            # finds no schemas, and skips client-side validation. No OpenAPI v3.
            return web.Response(body=b"", headers={
                "Content-Type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"})
        segs = [s for s in path.split("/") if s]
        if not segs:
            return json_response({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz",
                                            "/version"] + ["/apis/%s" % g for g in resources.GROUP_ORDER]})
        if segs[0] == "api":
            if len(segs) == 1:
                return self.discovery_core(request)
            if segs[1] != "v1":
                raise self.not_found_path()
            if len(segs) == 2:
                return self.discovery_resources("", "v1")
            return await self.resource_request(request, "", "v1", segs[2:])
        if segs[0] == "apis":
            if len(segs) == 1:
                return self.discovery_groups()
            group = segs[1]
            if group not in resources.GROUP_ORDER:
                raise self.not_found_path()
            if len(segs) == 2:
                return json_response(self.group_entry(group, with_kind=True))
            version = segs[2]
            if (group, version) not in resources.BY_GV:
                raise self.not_found_path()
            if len(segs) == 3:
                return self.discovery_resources(group, version)
            return await self.resource_request(request, group, version, segs[3:])
        raise self.not_found_path()

    @staticmethod
    def not_found_path():
        return APIError(404, "NotFound", "the server could not find the requested resource", {})

    # ------------------------------------------------------------------ discovery
    def discovery_core(self, request):
        return json_response({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": "%s:%d" % (self.server.advertise_ip,
                                                                        self.server.port)}],
        })

    def group_entry(self, group, with_kind=False):
        versions = sorted({v for (g, v) in resources.BY_GV if g == group})
        gv = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
        entry = {"name": group, "versions": gv, "preferredVersion": gv[0]}
        if with_kind:
            entry = {"kind": "APIGroup", "apiVersion": "v1", **entry}
        return entry

    def discovery_groups(self):
        return json_response({"kind": "APIGroupList", "apiVersion": "v1",
                              "groups": [self.group_entry(g) for g in resources.GROUP_ORDER]})

    def discovery_resources(self, group, version):
        entries = []
        for rt in resources.BY_GV[(group, version)].values():
            entries.extend(rt.discovery())
        gv = "%s/%s" % (group, version) if group else version
        return json_response({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                              "resources": entries})

    # ------------------------------------------------------------------ resources
    async def resource_request(self, request, group, version, segs):
        namespace = None
        if segs[0] == "namespaces" and len(segs) >= 3 and not (group == "" and segs[2] in ("status", "finalize")):
            namespace = segs[1]
            segs = segs[2:]
        plural = segs[0]
        rt = resources.lookup(group, version, plural)
        if rt is None or len(segs) > 3:
            raise self.not_found_path()
        if namespace is not None and not rt.namespaced:
            raise self.not_found_path()
        name = segs[1] if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else None
        if sub is not None and sub not in rt.subresources:
            raise self.not_found_path()
        method = request.method
        if rt.plural == "bindings":
            if method != "POST" or namespace is None:
                raise errors.method_not_allowed()
            body = await self.read_body(request)
            pod_name = get_path(body, "metadata", "name")
            node = get_path(body, "target", "name")
            self.registry.bind(namespace, pod_name, node, dry_run=_dry_run(request))
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                  "code": 201}, 201)
        if name is None:
            if rt.namespaced and namespace is None and method not in ("GET",):
                raise self.not_found_path()
            if method == "GET":
                if _bool_param(request.query.get("watch", "")):
                    return await self.watch(request, rt, namespace)
                return self.list(request, rt, namespace)
            if method == "POST":
                return await self.create(request, rt, namespace)
            if method == "DELETE":
                return await self.delete_collection(request, rt, namespace)
            raise errors.method_not_allowed()
        if rt.namespaced and namespace is None:
            raise self.not_found_path()
        if sub is None:
            if method == "GET":
                if _bool_param(request.query.get("watch", "")):
                    return await self.watch(request, rt, namespace, single=name)
                obj = self.registry.get(rt, namespace, name)
                return self.respond_object(request, rt, obj)
            if method == "PUT":
                return await self.update(request, rt, namespace, name)
            if method == "PATCH":
                return await self.patch(request, rt, namespace, name)
            if method == "DELETE":
                return await self.delete(request, rt, namespace, name)
            raise errors.method_not_allowed()
        return await self.subresource(request, rt, namespace, name, sub)

    def respond_object(self, request, rt, obj, status=200):
        mode, api_version = parse_accept(request.headers.get("Accept"))
        if mode == "table" and obj.get("kind") != "Status":
            include = request.query.get("includeObject", "Metadata")
            table = tables.to_table(rt, [obj], api_version, include,
                                    {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
            return json_response(table, status)
        if mode == "partial" and obj.get("kind") != "Status":
            return json_response({"kind": "PartialObjectMetadata", "apiVersion": api_version,
                                  "metadata": obj["metadata"]}, status)
        return json_response(obj, status)

    # ------------------------------------------------------------------ list
    def _selectors(self, request, rt):
        label_sel = parse_label_selector(request.query.get("labelSelector", ""))
        field_sel = parse_field_selector(request.query.get("fieldSelector", ""))
        allowed = set(rt.selectable_fields({"metadata": {}}))
        for field in field_sel.fields():
            if field not in allowed:
                raise errors.bad_request('"%s" is not a known field selector: only "%s"'
                                         % (field, '", "'.join(sorted(allowed)))
                                         if False else "field label not supported: %s" % field)
        return label_sel, field_sel

    def filtered(self, rt, namespace, label_sel, field_sel):
        out = []
        for obj in self.store.list(rt, namespace):
            if not label_sel.matches(obj["metadata"].get("labels") or {}):
                continue
            if field_sel.terms and not field_sel.matches(rt.selectable_fields(obj)):
                continue
            out.append(obj)
        return out

    def list(self, request, rt, namespace):
        if rt.plural in resources.NON_LISTABLE:
            raise errors.method_not_allowed()
        label_sel, field_sel = self._selectors(request, rt)
        items = self.filtered(rt, namespace, label_sel, field_sel)
        list_rv = str(self.store.rv)
        token = request.query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode() + b"==").decode())
                start = tuple(state["k"])
                list_rv = state.get("rv", list_rv)
            except (ValueError, KeyError, TypeError):
                raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion")
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start]
        meta = {"resourceVersion": list_rv}
        limit = request.query.get("limit")
        if limit:
            try:
                limit = int(limit)
            except ValueError:
                raise errors.bad_request("limit must be an integer")
            if 0 < limit < len(items):
                remaining = len(items) - limit
                items = items[:limit]
                last = items[-1]["metadata"]
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"k": [last.get("namespace", ""), last["name"]], "rv": list_rv}).encode()).decode().rstrip("=")
                meta["remainingItemCount"] = remaining
        mode, api_version = parse_accept(request.headers.get("Accept"))
        if mode == "table":
            include = request.query.get("includeObject", "Metadata")
            return json_response(tables.to_table(rt, items, api_version, include, meta))
        if mode == "partial":
            return json_response({"kind": "PartialObjectMetadataList", "apiVersion": api_version,
                                  "metadata": meta,
                                  "items": [{"kind": "PartialObjectMetadata", "apiVersion": api_version,
                                             "metadata": o["metadata"]} for o in items]})
        return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta,
                              "items": items})

    # ------------------------------------------------------------------ watch
    async def watch(self, request, rt, namespace, single=None):
        label_sel, field_sel = self._selectors(request, rt)
        if single:
            field_sel.terms.append(("metadata.name", "=", single))
        mode, api_version = parse_accept(request.headers.get("Accept"))
        include = request.query.get("includeObject", "Metadata")
        rv_text = request.query.get("resourceVersion", "")
        send_initial = _bool_param(request.query.get("sendInitialEvents", ""))
        try:
            since = int(rv_text) if rv_text not in ("", "0") else None
        except ValueError:
            raise errors.bad_request("invalid resource version: %s" % rv_text)
        try:
            timeout = float(request.query.get("timeoutSeconds", "1800"))
        except ValueError:
            raise errors.bad_request("invalid timeoutSeconds")
        watcher = Watcher(rt, namespace, label_sel, field_sel)
        initial = []
        if since is None or send_initial:
            initial = self.filtered(rt, namespace, label_sel, field_sel)
            since_for_store = None
        else:
            since_for_store = since
        start_rv = self.store.rv
        ok = self.store.add_watcher(watcher, since_for_store)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                           "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        first = [True]

        def encode(event_type, obj):
            if event_type in ("ERROR", "BOOKMARK"):
                payload = obj
            elif mode == "table":
                payload = tables.to_table(rt, [obj], api_version, include,
                                          {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                                          with_columns=first[0])
                first[0] = False
            elif mode == "partial":
                payload = {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj["metadata"]}
            else:
                payload = obj
            return (json.dumps({"type": event_type, "object": payload}, separators=(",", ":")) + "\n").encode()

        task = asyncio.current_task()
        self.watch_tasks.add(task)
        try:
            if not ok:
                err = errors.gone("too old resource version: %s (%s)" % (since, self.store.history_floor))
                await response.write(encode("ERROR", err.status()))
                return response
            for obj in initial:
                await response.write(encode("ADDED", obj))
            if send_initial:
                bookmark = {"kind": rt.kind, "apiVersion": rt.api_version,
                            "metadata": {"resourceVersion": str(start_rv),
                                         "annotations": {"k8s.io/initial-events-end": "true"}}}
                await response.write(encode("BOOKMARK", bookmark))
            deadline = time.monotonic() + timeout
            while not self.closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), timeout=remaining)
                except asyncio.TimeoutError:
                    break
                if item is None:
                    break
                await response.write(encode(item[0], item[1]))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.remove_watcher(watcher)
            self.watch_tasks.discard(task)
        try:
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    # ------------------------------------------------------------------ writes
    async def create(self, request, rt, namespace):
        body = await self.read_body(request)
        if body is None:
            raise errors.bad_request("the body of the request was in an unknown format")
        obj = self.registry.create(rt, namespace, body, user=request["user"], dry_run=_dry_run(request))
        self.server.kick()
        return self.respond_object(request, rt, obj, 201)

    async def update(self, request, rt, namespace, name, sub=None):
        body = await self.read_body(request)
        if body is None:
            raise errors.bad_request("the body of the request was in an unknown format")
        obj = self.registry.update(rt, namespace, name, body, sub=sub, dry_run=_dry_run(request))
        self.server.kick()
        return self.respond_object(request, rt, obj)

    async def patch(self, request, rt, namespace, name, sub=None):
        kind = PATCH_TYPES.get((request.content_type or "").lower())
        if kind is None:
            raise errors.APIError(415, "UnsupportedMediaType",
                                  '415: Unsupported Media Type: the server does not support the patch type "%s"'
                                  % request.content_type)
        body = await self.read_body(request, allow_yaml=(kind == "apply"))
        if body is None:
            raise errors.bad_request("the body of the request was in an unknown format")
        obj, created = self.registry.patch(rt, namespace, name, kind, body, sub=sub,
                                           dry_run=_dry_run(request), user=request["user"])
        self.server.kick()
        return self.respond_object(request, rt, obj, 201 if created else 200)

    def _delete_options(self, request, body):
        options = dict(body or {})
        query = request.query
        if "gracePeriodSeconds" in query:
            try:
                options["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
            except ValueError:
                raise errors.bad_request("gracePeriodSeconds must be an integer")
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        if "orphanDependents" in query:
            options["orphanDependents"] = _bool_param(query["orphanDependents"])
        return options

    async def delete(self, request, rt, namespace, name):
        body = await self.read_body(request)
        options = self._delete_options(request, body)
        code, result = self.registry.delete(rt, namespace, name, options, dry_run=_dry_run(request, body))
        self.server.kick()
        if result.get("kind") == "Status":
            return json_response(result, code)
        return self.respond_object(request, rt, result, code)

    async def delete_collection(self, request, rt, namespace):
        if "deletecollection" not in rt.verbs:
            raise errors.method_not_allowed()
        body = await self.read_body(request)
        options = self._delete_options(request, body)
        dry_run = _dry_run(request, body)
        label_sel, field_sel = self._selectors(request, rt)
        items = self.filtered(rt, namespace, label_sel, field_sel)
        out = []
        for obj in items:
            try:
                _, result = self.registry.delete(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"],
                                                 options, dry_run=dry_run)
            except APIError as exc:
                if exc.code == 404:
                    continue
                raise
            out.append(obj)
        self.server.kick()
        return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version,
                              "metadata": {"resourceVersion": str(self.store.rv)}, "items": out})

    # ------------------------------------------------------------------ subresources
    async def subresource(self, request, rt, namespace, name, sub):
        method = request.method
        if sub in ("status", "approval"):
            if method == "GET":
                return self.respond_object(request, rt, self.registry.get(rt, namespace, name))
            if method == "PUT":
                return await self.update(request, rt, namespace, name, sub=sub)
            if method == "PATCH":
                if sub == "approval":
                    raise errors.method_not_allowed()
                return await self.patch(request, rt, namespace, name, sub=sub)
            raise errors.method_not_allowed()
        if sub == "eviction":
            if method != "POST":
                raise errors.method_not_allowed()
            body = await self.read_body(request)
            code, result = self.registry.evict(namespace, name, body or {}, dry_run=_dry_run(request))
            self.server.kick()
            return json_response(result, code)
        if sub == "binding":
            if method != "POST":
                raise errors.method_not_allowed()
            body = await self.read_body(request) or {}
            self.registry.bind(namespace, name, get_path(body, "target", "name"), dry_run=_dry_run(request))
            self.server.kick()
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                  "code": 201}, 201)
        if sub == "scale":
            return await self.scale(request, rt, namespace, name)
        if sub == "log":
            pod = self.registry.get(rt, namespace, name)
            return web.Response(text="(nodeops-lab simulation: pod %s/%s has no real logs)\n"
                                % (namespace, pod["metadata"]["name"]), content_type="text/plain")
        raise self.not_found_path()

    def _scale_of(self, rt, obj):
        spec = obj.get("spec") or {}
        from .selectors import selector_string
        selector = selector_string(spec.get("selector")).replace(" ", "")
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
                             "uid": obj["metadata"]["uid"],
                             "resourceVersion": obj["metadata"]["resourceVersion"],
                             "creationTimestamp": obj["metadata"]["creationTimestamp"]},
                "spec": {"replicas": spec.get("replicas", 0)},
                "status": {"replicas": get_path(obj, "status", "replicas", default=0),
                           "selector": selector}}

    async def scale(self, request, rt, namespace, name):
        obj = self.registry.get(rt, namespace, name)
        current = self._scale_of(rt, obj)
        if request.method == "GET":
            return json_response(current)
        if request.method == "PUT":
            body = await self.read_body(request) or {}
        elif request.method == "PATCH":
            kind = PATCH_TYPES.get((request.content_type or "").lower())
            if kind is None:
                raise errors.APIError(415, "UnsupportedMediaType", "unsupported patch type")
            from .patch import apply_patch
            body = apply_patch(kind, current, await self.read_body(request, allow_yaml=(kind == "apply")))
        else:
            raise errors.method_not_allowed()
        want_rv = get_path(body, "metadata", "resourceVersion")
        if want_rv and str(want_rv) != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        replicas = get_path(body, "spec", "replicas", default=0)
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid(rt, name, [errors.FieldError("spec.replicas", "Invalid",
                                                              "must be greater than or equal to 0",
                                                              replicas, True)])
        import copy
        new = copy.deepcopy(obj)
        new["spec"]["replicas"] = replicas
        stored = self.registry.update(rt, namespace, name, new, dry_run=_dry_run(request))
        self.server.kick()
        return json_response(self._scale_of(rt, stored))

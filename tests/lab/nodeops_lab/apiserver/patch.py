"""PATCH support: JSON merge patch (RFC 7386), a strategic merge patch that
knows the merge keys of the built-in types that matter to node maintenance,
and JSON patch (RFC 6902, via ``jsonpatch``)."""

import copy

import jsonpatch

from .errors import APIError, bad_request

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

_DELETE = object()


def merge_patch(original, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def list_strategy(path):
    """Return ('merge', key), ('primitive', None) or None (replace) for a list at ``path``."""
    if not path:
        return None
    name = path[-1]
    parent = path[:-1]
    if name in CONTAINER_LISTS:
        return ("merge", "name")
    if name in ("volumes", "env", "imagePullSecrets", "resourceClaims"):
        return ("merge", "name")
    if name == "volumeMounts":
        return ("merge", "mountPath")
    if name == "volumeDevices":
        return ("merge", "devicePath")
    if name == "ports":
        if parent and parent[-1] in CONTAINER_LISTS:
            return ("merge", "containerPort")
        if parent == ["spec"]:
            return ("merge", "port")
        return None
    if name == "conditions":
        return ("merge", "type")
    if name == "addresses" and parent == ["status"]:
        return ("merge", "type")
    if name == "ownerReferences":
        return ("merge", "uid")
    if name == "finalizers" and parent == ["metadata"]:
        return ("primitive", None)
    if name == "hostAliases":
        return ("merge", "ip")
    if name == "topologySpreadConstraints":
        return ("merge", "topologyKey")
    if name in ("podIPs", "hostIPs"):
        return ("merge", "ip")
    return None


def strategic_merge(original, patch, path=None):
    """Apply a strategic merge patch ``patch`` to ``original`` (neither is modified)."""
    path = path or []
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal %s into Go value of type map[string]interface {}"
                          % type(patch).__name__)
    result = _merge_map(original if isinstance(original, dict) else {}, patch, path)
    if result is _DELETE:
        return {}
    return result


def _merge_map(original, patch, path):
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        clean = {k: v for k, v in patch.items() if k != "$patch"}
        return _strip_directives(clean)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [item for item in result[field] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        sub_path = path + [key]
        current = result.get(key)
        if isinstance(value, dict):
            merged = _merge_map(current if isinstance(current, dict) else {}, value, sub_path)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(current if isinstance(current, list) else [], value, sub_path)
        else:
            result[key] = value
    if isinstance(retain, list):
        for key in list(result):
            if key not in retain:
                del result[key]
    return result


def _merge_list(original, patch, path):
    strategy = list_strategy(path)
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(item) for item in patch
                if not (isinstance(item, dict) and item.get("$patch") == "replace")]
    if strategy is None:
        return [_strip_directives(item) for item in patch
                if not (isinstance(item, dict) and item.get("$patch") == "delete")]
    if strategy[0] == "primitive":
        result = list(original)
        for item in patch:
            if item not in result:
                result.append(item)
        return result
    key = strategy[1]
    result = [copy.deepcopy(item) for item in original]
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request("%s: list items must be objects" % ".".join(path))
        if key not in item:
            if item.get("$patch") == "delete":
                continue
            raise bad_request("map: %s does not contain declared merge key: %s" % (item, key))
        index = next((i for i, cur in enumerate(result)
                      if isinstance(cur, dict) and cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append(_merge_map({}, item, path))
        else:
            merged = _merge_map(result[index], item, path)
            if merged is _DELETE:
                del result[index]
            else:
                result[index] = merged
    return result


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def json_patch(original, operations):
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.apply_patch(original, operations, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise APIError(422, "Invalid", "the server rejected our request due to an error in our request: %s" % exc)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise APIError(422, "Invalid", "the server rejected our request due to an error in our request: %s" % exc)
    except (TypeError, KeyError, ValueError) as exc:
        raise bad_request("invalid JSON patch: %s" % exc)


PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


def apply_patch(kind, original, body):
    if kind == "merge":
        if not isinstance(body, dict):
            raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
        return merge_patch(original, body)
    if kind in ("strategic", "apply"):
        return strategic_merge(original, body)
    if kind == "json":
        return json_patch(original, body)
    raise APIError(415, "UnsupportedMediaType", "the server does not support this patch type")

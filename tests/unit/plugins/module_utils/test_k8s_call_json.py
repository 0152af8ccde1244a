"""_k8s.call_json: the one JSON call of the modules' small API classes."""

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _k8s
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


class Response(object):
    data = b'{"kind": "Secret"}'


def missing(*args, **kwargs):
    raise _k8s.ApiException(status=404, reason="Not Found")


def test_the_body_comes_back_as_data_and_the_arguments_go_through():
    seen = {}

    def method(*args, **kwargs):
        seen.update(args=args, kwargs=kwargs)
        return Response()

    assert _k8s.call_json("read", method, {}, "a", field_selector="x") == {"kind": "Secret"}
    assert seen == {"args": ("a",), "kwargs": {"_preload_content": False, "field_selector": "x"}}


def test_a_404_is_none_only_when_missing_is_ok():
    assert _k8s.call_json("read secret", missing, {}, missing_ok=True) is None
    with pytest.raises(NodeOpsError, match="read secret"):
        _k8s.call_json("read secret", missing, {})

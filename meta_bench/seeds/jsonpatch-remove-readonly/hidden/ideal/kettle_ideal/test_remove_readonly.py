"""Outcome tests written from the user's request: removing (or moving away) a member of a
read-only part of the document (a tuple, a MappingProxyType view, a third-party frozen mapping
whose __delitem__ raises TypeError) raises one of jsonpatch's own exceptions (any
JsonPatchException) and leaves the document as it was; removing from the user's own containers
that implement __getitem__/__delitem__ keeps working. Public API only."""

from types import MappingProxyType

import pytest

import jsonpatch


class FrozenMapping(dict):
    """Stands in for the third-party frozen mapping: deleting raises TypeError."""

    def __delitem__(self, key):
        raise TypeError("FrozenMapping is immutable")

    def pop(self, *args):
        raise TypeError("FrozenMapping is immutable")


class Registry:
    """One of the user's own small containers: __getitem__ and __delitem__ only."""

    def __init__(self, **items):
        self.items = dict(items)

    def __getitem__(self, key):
        return self.items[key]

    def __delitem__(self, key):
        del self.items[key]


@pytest.mark.parametrize("in_place", [True, False])
def test_remove_from_tuple_raises_patch_error_and_keeps_document(in_place):
    doc = {"tags": ("red", "green")}
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(doc, [{"op": "remove", "path": "/tags/0"}], in_place=in_place)
    assert doc == {"tags": ("red", "green")}


def test_remove_from_top_level_tuple():
    doc = ("red", "green")
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(doc, [{"op": "remove", "path": "/1"}], in_place=True)
    assert doc == ("red", "green")


def test_remove_from_mapping_proxy_in_place():
    data = {"debug": True, "level": 3}
    doc = {"settings": MappingProxyType(data)}
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(doc, [{"op": "remove", "path": "/settings/debug"}], in_place=True)
    assert data == {"debug": True, "level": 3}
    proxy = MappingProxyType(data)
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(proxy, [{"op": "remove", "path": "/level"}], in_place=True)
    assert data == {"debug": True, "level": 3}


def test_remove_from_frozen_mapping_in_place():
    frozen = FrozenMapping(a=1, b=2)
    doc = {"frozen": frozen}
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(doc, [{"op": "remove", "path": "/frozen/a"}], in_place=True)
    assert dict(frozen) == {"a": 1, "b": 2}


def test_move_away_from_read_only_parts():
    doc = {"tags": ("red", "green"), "out": []}
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(doc, [{"op": "move", "from": "/tags/0", "path": "/out/-"}], in_place=True)
    assert doc == {"tags": ("red", "green"), "out": []}

    frozen = FrozenMapping(a=1)
    doc = {"frozen": frozen, "out": {}}
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(doc, [{"op": "move", "from": "/frozen/a", "path": "/out/a"}], in_place=True)
    assert dict(frozen) == {"a": 1}


def test_own_containers_and_plain_documents_keep_working():
    registry = Registry(alpha=1, beta=2)
    result = jsonpatch.apply_patch(registry, [{"op": "remove", "path": "/alpha"}], in_place=True)
    assert result is registry
    assert registry.items == {"beta": 2}

    doc = {"a": [1, 2, 3], "b": {"c": 1}}
    assert jsonpatch.apply_patch(doc, [{"op": "remove", "path": "/a/1"},
                                       {"op": "remove", "path": "/b/c"}]) == {"a": [1, 3], "b": {}}
    with pytest.raises(jsonpatch.JsonPatchException):
        jsonpatch.apply_patch(doc, [{"op": "remove", "path": "/missing"}])

"""Outcome tests written from the user's request: resolve_pointer on documents that contain
defaultdicts or Counters treats a missing member exactly like a plain dict does (raise
JsonPointerException, or return the given default) and never changes the document; existing
members, including falsy ones (0, None, {}), still resolve. Public API only."""

from collections import Counter, defaultdict

import pytest

from jsonpointer import JsonPointerException, resolve_pointer


def make_config():
    config = defaultdict(dict)
    config["app"] = defaultdict(dict, {"name": "shop", "zero": 0, "none": None, "empty": {}})
    return config


def snapshot(doc):
    if isinstance(doc, dict):
        return {k: snapshot(v) for k, v in doc.items()}
    return doc


def test_reported_example_returns_default_and_does_not_insert():
    config = make_config()
    before = snapshot(config)
    assert resolve_pointer(config, "/db/host", None) is None
    assert "db" not in config
    assert snapshot(config) == before


def test_missing_member_raises_like_a_plain_dict():
    config = make_config()
    before = snapshot(config)
    with pytest.raises(JsonPointerException):
        resolve_pointer(config, "/db/host")
    with pytest.raises(JsonPointerException):
        resolve_pointer(config, "/app/missing")
    with pytest.raises(JsonPointerException):
        resolve_pointer({"plain": {}}, "/plain/missing")
    assert snapshot(config) == before


def test_nested_defaultdict_default_and_no_insertion():
    config = make_config()
    assert resolve_pointer(config, "/app/missing", "DEFAULT") == "DEFAULT"
    assert resolve_pointer(config, "/app/missing/deeper", "DEFAULT") == "DEFAULT"
    assert "missing" not in config["app"]


def test_counter_same_rules():
    counts = Counter({"apples": 2})
    doc = {"counts": counts}
    assert resolve_pointer(doc, "/counts/apples") == 2
    assert resolve_pointer(doc, "/counts/pears", "DEFAULT") == "DEFAULT"
    with pytest.raises(JsonPointerException):
        resolve_pointer(doc, "/counts/pears")
    assert dict(counts) == {"apples": 2}


def test_existing_members_including_falsy_values_still_resolve():
    config = make_config()
    assert resolve_pointer(config, "/app/name") == "shop"
    assert resolve_pointer(config, "/app/zero", "DEFAULT") == 0
    assert resolve_pointer(config, "/app/none", "DEFAULT") is None
    assert resolve_pointer(config, "/app/empty", "DEFAULT") == {}
    assert resolve_pointer({"a": None, "b": 0}, "/a", "DEFAULT") is None
    assert resolve_pointer({"a": None, "b": 0}, "/b") == 0
    assert resolve_pointer(Counter({"zero": 0}), "/zero", "DEFAULT") == 0

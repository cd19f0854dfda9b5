"""Cache keys: one hashable value per distinct call."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

# Separates positional from keyword arguments, so f(1, "a") and f(1, a=...) differ.
_KWARGS_MARK = ("stash.kwargs",)


def make_key(args: tuple[Any, ...], kwargs: dict[str, Any], typed: bool = False) -> Hashable:
    """Build the key for a call with ``args`` and ``kwargs``.

    Keyword arguments are sorted by name, so the order they were passed in does not
    change the key. With ``typed``, argument types are part of the key too.
    """
    key: tuple[Any, ...] = tuple(args)
    if kwargs:
        key += _KWARGS_MARK + tuple(sorted(kwargs))
    if typed:
        key += tuple(type(value) for value in args)
        key += tuple(type(kwargs[name]) for name in sorted(kwargs))
    return key

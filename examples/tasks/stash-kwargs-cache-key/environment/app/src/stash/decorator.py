"""The ``@cached`` decorator."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from stash.keys import make_key
from stash.store import Clock, TTLStore

F = TypeVar("F", bound=Callable[..., Any])


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int | None
    currsize: int


def cached(
    ttl: float | None = None,
    maxsize: int | None = 128,
    typed: bool = False,
    clock: Clock = time.monotonic,
) -> Callable[[F], F]:
    """Memoize a function; see README.md for the options."""

    def decorate(func: F) -> F:
        store = TTLStore(ttl=ttl, maxsize=maxsize, clock=clock)
        counts = {"hits": 0, "misses": 0}

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = make_key(args, kwargs, typed)
            hit, value = store.get(key)
            if hit:
                counts["hits"] += 1
                return value
            counts["misses"] += 1
            value = func(*args, **kwargs)
            store.set(key, value)
            return value

        def cache_info() -> CacheInfo:
            return CacheInfo(counts["hits"], counts["misses"], maxsize, len(store))

        def cache_clear() -> None:
            store.clear()
            counts["hits"] = counts["misses"] = 0

        def invalidate(*args: Any, **kwargs: Any) -> bool:
            """Forget the cached result of one call; True if there was one."""
            return store.delete(make_key(args, kwargs, typed))

        wrapper.cache_info = cache_info  # type: ignore[attr-defined]
        wrapper.cache_clear = cache_clear  # type: ignore[attr-defined]
        wrapper.invalidate = invalidate  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate

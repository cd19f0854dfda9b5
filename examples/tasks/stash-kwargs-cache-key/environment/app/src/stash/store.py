"""A mapping whose entries expire and whose size is bounded."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

Clock = Callable[[], float]


class TTLStore:
    """Entries expire ``ttl`` seconds after they were stored; past ``maxsize`` entries,
    the least recently used one is dropped."""

    def __init__(
        self, ttl: float | None = None, maxsize: int | None = None, clock: Clock = time.monotonic
    ) -> None:
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive or None")
        if maxsize is not None and maxsize < 0:
            raise ValueError("maxsize must be >= 0 or None")
        self.ttl = ttl
        self.maxsize = maxsize
        self._clock = clock
        # key -> (expires_at or None, value); order = least recently used first
        self._entries: OrderedDict[Hashable, tuple[float | None, Any]] = OrderedDict()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """Return ``(True, value)`` for a live entry, else ``(False, None)``."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires_at, value = entry
        if expires_at is not None and self._clock() >= expires_at:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, value

    def set(self, key: Hashable, value: Any) -> None:
        if self.maxsize == 0:
            return
        expires_at = None if self.ttl is None else self._clock() + self.ttl
        self._entries[key] = (expires_at, value)
        self._entries.move_to_end(key)
        while self.maxsize is not None and len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def delete(self, key: Hashable) -> bool:
        return self._entries.pop(key, None) is not None

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

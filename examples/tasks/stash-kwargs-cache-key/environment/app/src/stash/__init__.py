"""stash: small in-process memoization with expiry and size limits."""

from stash.decorator import CacheInfo, cached
from stash.keys import make_key
from stash.store import TTLStore

__all__ = ["CacheInfo", "TTLStore", "cached", "make_key"]
__version__ = "0.4.1"

"""A Store wrapper that counts the calls the mount makes (shown in the
``user.sciswift.stats`` attribute of the mount's root: what a workload costs in
requests)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from sciswift.store import Store

__all__ = ["CountingStore"]

_COUNTED = frozenset({
    "head_object", "get_object", "put_object", "put_manifest", "get_manifest", "delete_object",
    "delete_manifest", "delete_many", "copy_object", "post_object", "list_objects", "list_containers",
    "head_container", "create_container", "delete_container", "has_object", "iter_objects", "iter_names",
})


class CountingStore:
    """Forwards everything to ``store``; counts the calls named in ``_COUNTED``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in _COUNTED:
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted

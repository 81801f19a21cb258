"""Helpers of the cluster fault tests: what was acknowledged, and checking it.

``Acknowledged`` records every write the store acknowledged (name -> MD5 of the
bytes); ``verify`` reads each back and returns the names whose bytes are wrong
or missing (the bar: none). ``bounded`` times an operation against the longest
a store with those timeouts and retries may take. ``advises`` checks that an
error that reached the user names the object and says what to do.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sciswift.store import Store

__all__ = ["Acknowledged", "body", "bounded", "op_bound", "advises"]

T = TypeVar("T")


def body(seed: str, size: int) -> bytes:
    """``size`` bytes determined by ``seed`` (cheap to make again for checking)."""
    block = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB
    reps, rest = divmod(size, len(block))
    return block * reps + block[:rest]


class Acknowledged:
    """Writes a store acknowledged: name -> MD5 (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.md5: dict[str, str] = {}

    def add(self, name: str, data: bytes) -> None:
        digest = hashlib.md5(data).hexdigest()
        with self._lock:
            self.md5[name] = digest

    def __len__(self) -> int:
        return len(self.md5)

    def verify(self, store: Store, container: str) -> list[str]:
        """Names whose stored bytes are missing or differ from what was acknowledged."""
        bad = []
        for name, digest in sorted(self.md5.items()):
            try:
                if hashlib.md5(store.get_object(container, name)).hexdigest() != digest:
                    bad.append(name)
            except FileNotFoundError:
                bad.append(name)
        return bad


def op_bound(retries: int, connect_timeout: float, read_timeout: float, max_backoff: float = 8.0,
             backoff: float = 0.25) -> float:
    """The longest one store request may take: every attempt timing out, plus
    the backoff sleeps in between."""
    sleeps = sum(min(max_backoff, backoff * 2 ** i) for i in range(retries))
    return (retries + 1) * (connect_timeout + read_timeout) + sleeps


def bounded(seconds: float, what: str, fn: Callable[..., T], *args: Any, timings: list[float] | None = None) -> T:
    """``fn(*args)``, failing the test if it took longer than ``seconds`` (an
    exception it raises passes through, after the same check)."""
    t0 = time.monotonic()
    try:
        return fn(*args)
    finally:
        took = time.monotonic() - t0
        if timings is not None:
            timings.append(took)
        assert took <= seconds, f"{what} took {took:.1f} s, beyond its bound of {seconds:.1f} s"


def advises(exc: BaseException, subject: str, hints: Iterable[str] = ("try again",)) -> bool:
    """True if ``exc``'s message names ``subject`` and gives one of ``hints``."""
    text = str(exc)
    return subject in text and any(h in text for h in hints)


def run_threads(workers: int, fn: Callable[[int], Any]) -> list[BaseException]:
    """Run ``fn(i)`` for ``i`` in ``range(workers)`` on threads; the exceptions raised."""
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            fn(i)
        except BaseException as e:  # noqa: BLE001 - reported to the test
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors

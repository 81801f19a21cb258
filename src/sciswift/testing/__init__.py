"""Test helpers that ship with sciswift, so other backends and plugins can reuse them.

- ``StoreTests`` (``sciswift.testing.store_tests``): the Store conformance suite;
  subclass it with a ``store`` fixture to run it against another backend.
- ``procs.run_in_session``: run a child program in its own session, killed as a
  group on timeout.
- ``h5compat_memory``: runs h5py's own test suite against ``sciswift.h5py`` on
  MemoryStore (used by ``make compat-h5py``).

(The real-Swift all-in-one launcher is a development tool, not part of the
package: ``tests/support/saio.py``.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["StoreTests"]


def __getattr__(name: str) -> Any:
    # store_tests imports pytest: load it only when asked for.
    if name == "StoreTests":
        from sciswift.testing.store_tests import StoreTests

        return StoreTests
    raise AttributeError(f"module 'sciswift.testing' has no attribute {name!r}")

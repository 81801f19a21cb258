"""A token the worker processes of one data folder share, so that none of them
answers from a cached lookup another one has made stale.

Each worker keeps what rarely changes (an account's or a container's
existence, metadata and ACLs) for a moment (``Backend.INFO_TTL``), as Swift's
proxies keep it in memcache. A write that changes such a lookup drops it from
its own worker's cache at once; the other workers learn of it here: the writer
puts a new random token into a small file all workers map (``bump``), and a
worker that finds the token changed since it last looked drops its whole cache
(``changed``) before answering. So an ACL taken away, a container's metadata
changed or a container deleted through one worker is seen by the next request
on every worker, not up to ``INFO_TTL`` seconds later (with ``--workers 2``, an
anonymous read of a container whose public-read ACL was just removed was
served by the other worker).

Reading the token is a read of 8 bytes of shared memory: no system call per
request. A worker that is in the middle of a lookup when the token changes may
cache what it read; it drops it at its next look, since it has not seen the
new token yet.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

__all__ = ["SharedGeneration", "FILE_NAME"]

#: The token file in the data folder (a dot name: never an account's folder).
FILE_NAME = ".cache-generation"
_SIZE = 8


class SharedGeneration:
    """The token of the data folder ``folder``, mapped shared."""

    def __init__(self, folder: Path) -> None:
        fd = os.open(folder / FILE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)  # zeros: a token like any other
            self._map = mmap.mmap(fd, _SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self._seen = self._map[:_SIZE]

    def bump(self) -> None:
        """Tell every worker that cached lookups may be stale."""
        token = os.urandom(_SIZE)
        self._map[:_SIZE] = token

    def changed(self) -> bool:
        """Whether some worker (this one included) bumped the token since this
        worker last looked."""
        token = self._map[:_SIZE]
        if token == self._seen:
            return False
        self._seen = token
        return True

    def close(self) -> None:
        self._map.close()

"""Small filesystem helpers of LocalStore: fsync of directories, atomic small files,
syncfs, and the writing of whole buffers."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
from collections.abc import Sequence
from typing import Any

__all__ = [
    "fsync_dir", "write_all", "write_json_atomic", "read_json", "syncfs", "unlink_quiet", "start_writeback",
    "drop_cached", "drop_cached_path", "O_CLOEXEC",
]

O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def fsync_dir(path: str) -> None:
    """Make the entries of directory ``path`` (renames, creations) durable."""
    fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quiet(path: str) -> bool:
    """Unlink ``path``; False if it was not there."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def write_all(fd: int, buffers: Sequence[bytes | memoryview]) -> int:
    """Write every byte of ``buffers`` to ``fd`` (writev, resumed after short
    writes); returns the number of bytes written."""
    total = sum(len(b) for b in buffers)
    done = os.writev(fd, buffers) if len(buffers) > 1 else os.write(fd, buffers[0]) if buffers else 0
    if done == total:
        return total
    view = memoryview(b"".join(buffers))
    while done < total:
        done += os.write(fd, view[done:])
    return total


def write_json_atomic(path: str, tmp_path: str, value: Any, durable: bool) -> None:
    """Replace ``path`` with ``value`` as JSON, through ``tmp_path`` and a rename.

    The caller holds a lock that makes it the only writer of ``tmp_path`` (a fixed
    name: a leftover of a crashed writer is simply overwritten by the next one).
    On failure ``path`` is unchanged and ``tmp_path`` removed.
    """
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | O_CLOEXEC, 0o644)
    try:
        try:
            write_all(fd, [data])
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_path, path)
    except BaseException:
        # A full disk (ENOSPC) must not leave a truncated temp file behind.
        unlink_quiet(tmp_path)
        raise
    if durable:
        fsync_dir(os.path.dirname(path))


def read_json(path: str) -> Any:
    """The JSON value stored in ``path`` (FileNotFoundError if absent)."""
    with open(path, "rb") as f:
        return json.loads(f.read())


_libc: Any = None


def syncfs(path: str) -> None:
    """Flush every dirty page of the filesystem holding ``path`` (Linux syncfs;
    a global sync elsewhere). One call replaces an fsync per written file."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            _libc.syncfs  # noqa: B018 - probe that the symbol exists
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
    finally:
        os.close(fd)


_SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writeback, do not wait
_sync_file_range: Any = None


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing ``length`` bytes at ``offset`` of ``fd`` to disk without
    waiting (Linux ``sync_file_range``; nothing elsewhere). A later fsync then
    has less left to wait for: the disk works while the body still arrives."""
    global _sync_file_range
    if _sync_file_range is None:
        try:
            f = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).sync_file_range
            f.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
            f.restype = ctypes.c_int
            _sync_file_range = f
        except (OSError, AttributeError):
            _sync_file_range = False
    if _sync_file_range:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # advisory: errors show at fsync


_FADV_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", None)


def drop_cached(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to forget the cached pages of ``length`` bytes at
    ``offset`` of ``fd`` (0: to the end). Only clean pages go (written ones:
    nothing is lost, a later read comes from disk); pages still dirty or under
    writeback stay. Advisory, nothing on systems without ``posix_fadvise``."""
    if _FADV_DONTNEED is not None:
        os.posix_fadvise(fd, offset, length, _FADV_DONTNEED)


def drop_cached_path(path: str) -> None:
    """``drop_cached`` of the whole file at ``path``; nothing if it is gone or
    cannot be opened (advisory)."""
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    except OSError:
        return
    try:
        drop_cached(fd, 0, 0)
    except OSError:
        pass
    finally:
        os.close(fd)

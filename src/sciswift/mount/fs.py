"""The FUSE operations: libfuse3 calls these, they call ``Session``.

The binding is mfusepy (ctypes over libfuse3's high-level, path-based API; libfuse
runs the requests on its own worker threads, which call straight into the
thread-safe Session and Store). It was chosen by measurement against pyfuse3
(libfuse3's low-level API in trio tasks), with ``python -m bench.mount.binding``
on this project's 2-core VM, one trivial file system served from memory by each
(best of 2, seconds):

    workload                          mfusepy  pyfuse3  pyfuse3 + thread hop
    read 256 MiB, dd bs=1M              0.081    0.061    0.112
    write 256 MiB, dd bs=1M             0.136    0.125    0.221
    read 256 MiB in 4 KiB reads         1.101    1.080    3.253
    stat 2,000 files                    0.157    0.174    0.684

The two are equal when a handler never blocks, but every handler here calls the
blocking Store (HTTP or disk), which pyfuse3 must hand to a thread
(``trio.to_thread``): that costs 2-4x on small requests. mfusepy also needs no
compiler (pyfuse3 builds a C extension against libfuse3-dev).

Every handler turns exceptions into an errno (``sciswift.mount.errors``); EIO is
always logged with the path and the cause.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import mfusepy as fuse

from sciswift.mount.errors import errno_for, log
from sciswift.mount.kernel import KERNEL_READAHEAD, raise_readahead
from sciswift.mount.session import Session

__all__ = ["SciswiftFS", "fuse_option_value", "run_fuse"]

F = TypeVar("F", bound=Callable[..., Any])

#: utimensat's special tv_nsec values, as libfuse passes them (tv_sec 0).
_UTIME_NOW, _UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2

#: libfuse 3.12 and later take ``-o max_threads``: the mount bounds its worker
#: threads (``--threads``), and each keeps its Python thread state for good.
BOUNDED_THREADS = (fuse.fuse_version_major, fuse.fuse_version_minor) >= (3, 12)

_thread = threading.local()


def _keep_thread_state(session: Session) -> None:
    """Keep the calling libfuse worker thread's Python thread state for the
    thread's life (once per thread, while a callback holds the GIL).

    ctypes runs a callback from a thread Python did not start under a thread
    state made for that call and destroyed after it. With a few threads that
    never exit (``max_threads`` = ``max_idle_threads``) one lasting state each
    is a fixed cost, and the per-request one is gone: H5Boss write (24,000
    requests, most of them ~2 KB writes) took 1.4-1.7 s of the mount's CPU
    with 2 threads, 0.75-1.05 s so (``bench.mount``'s workload, 2-core VM,
    before ``max_idle_threads`` was set too). The extra hold on the GIL state
    is never released: the state ends with the process."""
    if getattr(_thread, "kept", False):
        return
    ctypes.pythonapi.PyGILState_Ensure()
    _thread.kept = True
    session.fuse_threads.add(threading.get_ident())


def _op(func: F) -> F:
    name = func.__name__

    @functools.wraps(func)
    def wrapper(self: SciswiftFS, path: str, *args: Any) -> Any:
        if BOUNDED_THREADS:
            _keep_thread_state(self.s)
        self.s.op_counts[name] += 1  # a racy count is good enough for statistics
        try:
            return func(self, path, *args)
        except fuse.FuseOSError:
            raise
        except BaseException as exc:
            raise fuse.FuseOSError(errno_for(exc, name, path)) from None

    return wrapper  # type: ignore[return-value]


class SciswiftFS(fuse.Operations):
    """mfusepy operations over a Session (raw ``fuse_file_info`` for keep_cache)."""

    use_ns = True

    def __init__(self, session: Session) -> None:
        self.s = session

    # -- lifecycle
    def init_with_config(self, conn: Any, config: Any) -> None:
        if conn is not None:
            conn.max_readahead = KERNEL_READAHEAD
            # With AUTO_INVAL_DATA (on by default) the kernel asks for attributes
            # before every read: h5boss reading 16 small files sent 22,338
            # GETATTRs for 112 READs. The page cache is invalidated at open
            # instead (keep_cache), which is what close-to-open needs.
            conn.want &= ~FUSE_CAP_AUTO_INVAL_DATA
            # Writes need no security.capability lookup: there are no file
            # capabilities or set-id bits here.
            for cap in (FUSE_CAP_HANDLE_KILLPRIV, FUSE_CAP_HANDLE_KILLPRIV_V2):
                if conn.capable & cap:
                    conn.want |= cap
        log.info("mounted %s", self.s.config.url)
        if conn is not None:
            log.debug("FUSE capable %#x want %#x", conn.capable, conn.want)
        # `sciswift mount` sets it before it returns; this covers --foreground.
        threading.Thread(target=_raise_readahead_soon, args=(str(self.s.config.mountpoint),),
                         daemon=True).start()

    def destroy(self, path: str) -> None:
        try:
            self.s.shutdown()
        except BaseException:
            log.exception("shutting down")

    # -- attributes and directories
    @_op
    def getattr(self, path: str, fh: Any = None) -> dict[str, int]:
        return self.s.stat(path)

    @_op
    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", *self.s.readdir(path)]

    @_op
    def access(self, path: str, amode: int) -> int:
        self.s.stat(path)
        return 0

    @_op
    def statfs(self, path: str) -> dict[str, int]:
        return self.s.statfs()

    @_op
    def chmod(self, path: str, mode: int) -> int:
        self.s.set_mode(path, mode)
        return 0

    @_op
    def chown(self, path: str, uid: int, gid: int) -> int:
        self.s.stat(path)
        return 0

    @_op
    def utimens(self, path: str, times: Any = None) -> int:
        # (atime, mtime) in ns; libfuse passes UTIME_NOW / UTIME_OMIT as tv_nsec
        # with tv_sec 0. Access times are not kept.
        mtime = time.time_ns() if times is None else times[1]
        if mtime == _UTIME_OMIT:
            self.s.stat(path)
            return 0
        self.s.set_mtime(path, time.time_ns() if mtime == _UTIME_NOW else mtime)
        return 0

    # -- files
    @_op
    def open(self, path: str, fi: Any) -> int:
        fh, keep = self.s.open(path, fi.flags)
        fi.fh = fh
        fi.keep_cache = 1 if keep else 0
        return 0

    @_op
    def create(self, path: str, mode: int, fi: Any) -> int:
        fi.fh = self.s.create(path, mode)
        return 0

    @_op
    def read(self, path: str, size: int, offset: int, fi: Any) -> bytes:
        return self.s.read(fi.fh, offset, size)

    # mfusepy registers libfuse's write callback because this is defined, but
    # _FUSE.write serves it (fewer layers); this says the same for a caller of
    # the operations object.
    @_op
    def write(self, path: str, data: bytes, offset: int, fi: Any) -> int:
        return self.s.write(fi.fh, data, offset)

    @_op
    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        self.s.truncate(path, length)
        return 0

    @_op
    def fallocate(self, path: str, mode: int, offset: int, size: int, fi: Any) -> int:
        self.s.fallocate(fi.fh, mode, offset, size)
        return 0

    @_op
    def copy_file_range(self, path_in: str, fi_in: Any, off_in: int, path_out: str, fi_out: Any, off_out: int,
                        size: int, flags: int) -> int:
        if flags:
            raise fuse.FuseOSError(errno.EINVAL)
        return self.s.copy_file_range(fi_in.fh, off_in, fi_out.fh, off_out, size)

    @_op
    def flush(self, path: str, fi: Any) -> int:
        self.s.flush(fi.fh)
        return 0

    @_op
    def fsync(self, path: str, datasync: int, fi: Any) -> int:
        self.s.fsync(fi.fh)
        return 0

    @_op
    def release(self, path: str, fi: Any) -> int:
        self.s.release(fi.fh)
        return 0

    # -- namespace
    @_op
    def unlink(self, path: str) -> int:
        self.s.unlink(path)
        return 0

    @_op
    def mkdir(self, path: str, mode: int) -> int:
        self.s.mkdir(path)
        return 0

    @_op
    def rmdir(self, path: str) -> int:
        self.s.rmdir(path)
        return 0

    @_op
    def rename(self, old: str, new: str) -> int:
        self.s.rename(old, new)
        return 0

    # -- extended attributes: user.* <-> X-Object-Meta-*
    @_op
    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        if not name.startswith("user."):
            # The kernel asks for security.capability before every write.
            raise fuse.FuseOSError(errno.ENODATA)
        return self.s.getxattr(path, name)

    @_op
    def listxattr(self, path: str) -> list[str]:
        return self.s.listxattr(path)

    @_op
    def setxattr(self, path: str, name: str, value: bytes, options: int, position: int = 0) -> int:
        self.s.setxattr(path, name, value, options)
        return 0

    @_op
    def removexattr(self, path: str, name: str) -> int:
        self.s.removexattr(path, name)
        return 0

    # -- symbolic links: Swift symlinks (see sciswift.mount.namespace)
    @_op
    def symlink(self, target: str, source: str) -> int:
        # mfusepy's names: ``target`` is the new link, ``source`` what it shows.
        self.s.symlink(target, source)
        return 0

    @_op
    def readlink(self, path: str) -> str:
        return self.s.readlink(path)

    # -- not supported by an object store

    def link(self, target: str, source: str) -> int:
        raise fuse.FuseOSError(errno.EPERM)

    def mknod(self, path: str, mode: int, dev: int) -> int:
        raise fuse.FuseOSError(errno.EPERM)


class _FUSE(fuse.FUSE):
    """mfusepy's FUSE, answering the kernel's lookups of ``security.*``
    attributes (one before every write: FUSE has no way to say a file system
    keeps none, short of ``HANDLE_KILLPRIV_V2``, which libfuse 3.14 cannot ask
    for) before any Python of the operations runs: no names decoded, no
    exception raised and caught. Counted in ``fuse_ops`` as ``security_lookups``."""

    def __init__(self, operations: SciswiftFS, *args: Any, **kwargs: Any) -> None:
        self._counts = operations.s.op_counts
        self._session = operations.s
        super().__init__(operations, *args, **kwargs)

    def write(self, path: bytes | None, buf: Any, size: int, offset: int, fip: Any) -> int:
        """libfuse's write, straight to ``Session.write``: what ``SciswiftFS.write``
        under ``_op`` does (thread state kept, counted, exceptions made errnos,
        EIO logged) without its layers or the path's decoding, which only an
        error needs. A write is the one request programs send by the hundred
        thousand, 4 bytes each (MPI-IO's interleaved collective writes). With
        FileState's cuts, a 4-byte write from this method down 4.7 -> 3.5 us,
        from the C call on 6.3-6.8 -> 5.2-5.7 us (CPU time, 2-core VM; the
        mount's CPU per write, kernel included, is ~25-40 us). The same for
        read was dropped: O_DIRECT 4-byte reads showed no difference."""
        if BOUNDED_THREADS:
            _keep_thread_state(self._session)
        self._counts["write"] += 1  # racy, as in _op
        try:
            return self._session.write(fip.contents.fh, ctypes.string_at(buf, size), offset)
        except BaseException as exc:
            name = "" if path is None else path.decode(self.encoding, self.errors)
            return -errno_for(exc, "write", name)

    def copy_file_range(self, path_in: bytes | None, fip_in: Any, off_in: int, path_out: bytes | None,
                        fip_out: Any, off_out: int, size: int, flags: int) -> int:
        """libfuse's copy_file_range, which mfusepy declares but does not pass on."""
        def name(path: bytes | None) -> str:
            return "" if path is None else path.decode(self.encoding, self.errors)

        return int(self.operations.copy_file_range(name(path_in), fip_in.contents, off_in, name(path_out),
                                                   fip_out.contents, off_out, size, flags))

    def getxattr(self, path: bytes, name: bytes, value: Any, size: int, *args: Any) -> int:
        if name.startswith(b"security."):
            self._counts["security_lookups"] += 1
            return -errno.ENODATA
        return int(super().getxattr(path, name, value, size, *args))


# libfuse3's fuse_common.h
FUSE_CAP_AUTO_INVAL_DATA = 1 << 12
FUSE_CAP_HANDLE_KILLPRIV = 1 << 20
FUSE_CAP_HANDLE_KILLPRIV_V2 = 1 << 21


def fuse_option_value(value: str) -> str:
    """``value`` escaped for libfuse's ``-o`` list, which splits at commas and
    takes a backslash as escaping the next character: a URL with a comma (a
    container or prefix named ``a,b``, allowed by Swift and by file systems)
    otherwise became an unknown option and the mount failed."""
    return value.replace("\\", "\\\\").replace(",", "\\,")


def _raise_readahead_soon(mountpoint: str) -> None:
    time.sleep(0.2)  # the mount is complete once init has returned
    raise_readahead(mountpoint)


def run_fuse(session: Session, mountpoint: str, *, allow_other: bool, read_only: bool,
             debug: bool = False, threads: int = 2) -> None:
    """Mount and serve until unmounted (blocks), ``threads`` requests at once
    (libfuse 3.12 and later; older ones start threads as requests come).

    Fewer threads cost less: every request runs Python under the GIL, and with
    more threads than cores each one waits for it and for the kernel to switch
    (H5Boss write, 4 ranks, ~24,000 requests: the mount's CPU 2.25 s with
    libfuse's unbounded threads, 1.7-1.8 s with 4, 0.6-0.8 s with 2 and thread
    states kept, 0.6-0.7 s with 1; its time 2.6 / 1.8 / 1.2-1.4 / 1.3-1.5 s;
    local 0.5 s). One thread makes every request wait behind one that waits
    on the network: BD-CATS (4 ranks reading at once) took 1.9 s with 1
    against 1.3-1.5 s with 2 or more. Hence 2 by default (``sciswift mount
    --threads``)."""
    # mfusepy logs every errno answer (ENOENT on lookups) at debug level.
    logging.getLogger("fuse").setLevel(logging.DEBUG if debug else logging.WARNING)
    options: dict[str, Any] = {
        "foreground": True,
        "fsname": fuse_option_value(f"sciswift:{session.config.url}"),
        "subtype": "sciswift",
        # Attributes are asked for every time (the Session answers from its own
        # short-lived cache): a file changed elsewhere shows its new size at once
        # after the open that revalidated it (close-to-open).
        "attr_timeout": 0,
        "entry_timeout": 0,
        "negative_timeout": 0,
        # A file unlinked while open is renamed to a hidden name libfuse picks
        # (Session keeps it in this mount only, never in the store): with
        # hard_remove the kernel could no longer fstat it or write to it
        # (ESTALE: the security lookup before every write needs a path), which
        # tempfile.TemporaryFile() and every unlink-after-open temp file do.
        "hard_remove": False,
        "default_permissions": False,
    }
    if BOUNDED_THREADS:
        # As many kept idle as may run: a thread never exits, so neither does
        # the Python thread state it keeps (_keep_thread_state).
        options["max_threads"] = options["max_idle_threads"] = max(1, threads)
    if allow_other:
        options["allow_other"] = True
    if read_only:
        options["ro"] = True
    if debug:
        options["debug"] = True
    _FUSE(SciswiftFS(session), mountpoint, raw_fi=True, **{k: v for k, v in options.items() if v is not False})

"""Starting, serving and stopping a mount.

``start`` runs the file system in a child process of its own session (it
survives the shell that started it; its log goes to a file) and returns once the
kernel shows the mount and its read-ahead is raised. ``unmount`` asks the mount to store what is pending
(through the control attributes of its root, see ``sciswift.mount.session``),
refuses with the list of what could not be stored, and otherwise unmounts with
``fusermount3 -u`` and waits for the process to end.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from sciswift.errors import InvalidInput, NotFound, SciSwiftError
from sciswift.mount.config import MountConfig
from sciswift.mount.connections import pool_size
from sciswift.mount.errors import log
from sciswift.mount.kernel import raise_readahead
from sciswift.store import Store, open_store, parse_location
from sciswift.store.url import ROOT_MARKER

__all__ = ["resolve", "serve", "start", "unmount", "mounted_sciswift", "mountinfo_path", "MountError"]

FSTYPE = "fuse.sciswift"


class MountError(SciSwiftError):
    """A mount or unmount that cannot be done; the message says why."""


def resolve(url: str, threads: int = 2) -> tuple[Store, str | None, str]:
    """The store, container (None: the whole account) and prefix a mount URL
    names. A container that does not exist is an error for Swift and created for
    a local store (as a local directory path would be). A remote store keeps a
    connection for each thread of a mount served by ``threads`` FUSE workers
    that may use it at once (``connections.pool_size``)."""
    scheme, sep, rest = url.partition("://")
    options = {"pool_size": pool_size(scheme, threads)} if sep and scheme in ("swift", "s3") else {}
    if sep and scheme in ("swift", "memory") and not rest.strip("/"):
        return open_store(url, **options), None, ""
    if not sep or scheme == "file":
        path = Path(rest if sep else url)
        if (path / ROOT_MARKER).is_file():
            from sciswift.store import LocalStore

            return LocalStore(path.resolve(), durable=True), None, ""
        loc = parse_location(url, durable=True)
    else:
        loc = parse_location(url, **options)
    try:
        loc.store.head_container(loc.container)
    except NotFound:
        if loc.store.is_local:
            loc.store.create_container(loc.container)
        else:
            raise MountError(f"container {loc.container!r} does not exist in {url} "
                             f"(create it first, e.g. `swift post {loc.container}`)", url) from None
    return loc.store, loc.container, loc.prefix


def serve(config: MountConfig) -> None:
    """Mount in this process and serve until unmounted."""
    from sciswift.mount.fs import run_fuse
    from sciswift.mount.session import Session

    store, container, prefix = resolve(config.url, config.threads)
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    session = Session(store, container, prefix, config)
    try:
        run_fuse(session, str(config.mountpoint), allow_other=config.allow_other,
                 read_only=config.read_only, debug=config.debug, threads=config.threads)
    finally:
        # libfuse calls destroy on a normal unmount; after a signal it may not.
        session.shutdown()


def setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


def mounted_sciswift(mountpoint: Path) -> bool:
    """True if ``mountpoint`` is a sciswift mount (it may be stale)."""
    target = os.fsencode(os.path.realpath(mountpoint))
    try:
        # Bytes: a mount point's name is bytes (UTF-8 or not), and so are the
        # names of everyone else's mounts listed here.
        lines = Path("/proc/self/mountinfo").read_bytes().splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if len(fields) < 10 or b"-" not in fields:
            continue
        sep = fields.index(b"-")
        if sep + 1 < len(fields) and fields[sep + 1] == FSTYPE.encode() and mountinfo_path(fields[4]) == target:
            return True
    return False


_MOUNTINFO_ESCAPE = re.compile(rb"\\([0-7]{3})")


def mountinfo_path(field: bytes) -> bytes:
    """A path field of ``/proc/self/mountinfo`` as the bytes of the path: the
    kernel writes a space, tab, newline or backslash as a 3-digit octal escape
    (``\\040``) and every other byte as it is. (Decoding the field as a Python
    escape string took each byte of a UTF-8 name for a character of its own:
    a mount on ``/mnt/ü`` was never seen, and ``sciswift mount`` gave up after
    60 s and stopped the mount it had made.)"""
    return _MOUNTINFO_ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]), field)


def start(config: MountConfig, timeout: float = 60.0) -> int:
    """Start the mount in the background; returns its PID once mounted. Raises
    MountError with the log's last lines if it fails to come up."""
    mp = config.mountpoint
    if not mp.is_dir():
        raise MountError(f"mount point {mp} is not a directory", str(mp))
    if mounted_sciswift(mp) or os.path.ismount(mp):
        raise MountError(f"{mp} is already a mount point", str(mp))
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    log_file = config.log_file or config.cache_dir / "mount.log"
    payload = json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()})
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sciswift.mount", payload],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, close_fds=True,
        )
    deadline = time.monotonic() + timeout
    while not mounted_sciswift(mp):
        if proc.poll() is not None:
            raise MountError(f"sciswift mount of {config.url} on {mp} failed:\n{_tail(log_file)}", config.url)
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGTERM)
            raise MountError(f"sciswift mount of {config.url} on {mp} did not come up in {timeout:.0f} s:\n"
                             f"{_tail(log_file)}", config.url)
        time.sleep(0.02)
    raise_readahead(str(mp))  # before any program opens a file (see sciswift.mount.kernel)
    return proc.pid


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("  " + line for line in text[-lines:])


def unmount(mountpoint: Path, timeout: float = 600.0) -> str:
    """Store what is pending, then unmount; returns a one-line report. MountError
    (nothing unmounted) if data could not be stored or files are still open."""
    mp = str(mountpoint)
    if not mounted_sciswift(mountpoint):
        raise MountError(f"{mp} is not a sciswift mount", mp)
    try:
        pid = int(os.getxattr(mp, "user.sciswift.pid"))
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise MountError(f"{mp}: cannot reach the mount process ({exc.strerror})", mp) from None
        _fusermount(mp, lazy=True)
        return f"{mp}: the mount process was gone (killed?); unmounted the stale mount point"
    try:
        os.setxattr(mp, "user.sciswift.flush", b"1")
    except OSError as exc:
        if exc.errno == errno.EROFS:  # a read-only mount has nothing to write
            return _finish_unmount(mp, pid, timeout)
        pending = _pending(mp)
        listing = "\n".join(f"  {p['path']}: {p['bytes']} bytes not stored"
                            + (f" ({p['error']})" if p.get("error") else "") for p in pending)
        raise MountError(
            f"not unmounting {mp}: {len(pending)} file(s) have data the store did not take "
            f"({exc.strerror}):\n{listing}\nFix the store and run `sciswift umount {mp}` again "
            f"(or `fusermount3 -u {mp}` to unmount and keep the bytes in the cache directory only).", mp,
        ) from None
    return _finish_unmount(mp, pid, timeout)


#: How long an unmount refused as busy is tried again while no process has a
#: file open there: a file closed just before may still be held by the kernel
#: for a moment (seen once in a full test run on a loaded machine).
BUSY_RETRY = 2.0


def _finish_unmount(mp: str, pid: int, timeout: float) -> str:
    retry_until = time.monotonic() + BUSY_RETRY
    while True:
        result = subprocess.run(["fusermount3", "-u", mp], capture_output=True, text=True)
        if result.returncode == 0:
            break
        busy = _open_files(mp)
        if busy or "busy" not in result.stderr.lower() or time.monotonic() > retry_until:
            detail = ("; files still open: " + ", ".join(busy)) if busy else ""
            raise MountError(f"cannot unmount {mp}: {result.stderr.strip()}{detail}", mp)
        time.sleep(0.1)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise MountError(f"{mp} is unmounted but its process {pid} has not ended", mp)
        time.sleep(0.02)
    return f"unmounted {mp}"


def _pending(mp: str) -> list[dict[str, object]]:
    try:
        return json.loads(os.getxattr(mp, "user.sciswift.pending"))
    except (OSError, ValueError):
        return []


def _open_files(mp: str) -> list[str]:
    try:
        return list(json.loads(os.getxattr(mp, "user.sciswift.open")))
    except (OSError, ValueError):
        return []


def _fusermount(mp: str, lazy: bool = False) -> None:
    subprocess.run(["fusermount3", "-u", *(["-z"] if lazy else []), mp], capture_output=True, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own child, in tests) has ended
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    """The mount process (``python -m sciswift.mount CONFIG_JSON``)."""
    args = sys.argv[1:] if argv is None else argv
    raw = json.loads(args[0])
    for key in ("mountpoint", "cache_dir", "log_file"):
        if raw.get(key) is not None:
            raw[key] = Path(raw[key])
    config = MountConfig(**raw)
    setup_logging(config.debug)
    try:
        serve(config)
    except (SciSwiftError, InvalidInput) as exc:
        log.error("cannot mount %s: %s", config.url, exc)
        return 1
    except RuntimeError as exc:
        # fuse_main's status: 8 after a signal (SIGTERM, SIGINT) ended the loop.
        if str(exc) == "8":
            log.info("unmounted %s after a signal", config.mountpoint)
            return 0
        log.error("cannot mount %s on %s: libfuse failed (%s)", config.url, config.mountpoint, exc)
        return 1
    return 0

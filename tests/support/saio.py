"""Start and stop a real OpenStack Swift all-in-one (SAIO) on 127.0.0.1.

The test suite and the benchmarks compare sciswift against the real thing:
``swift==2.38.3`` from PyPI, installed into a cached virtualenv of its own, run
as one account, container, object and proxy server (plus memcached, which tempauth
keeps its tokens in, and a container updater so account totals catch up). The
proxy's pipeline has Swift's s3api before tempauth, so the same all-in-one
answers S3 requests too (access key ``account:user``, secret the user's key).

Python::

    from tests.support import saio
    with saio.running("/tmp/my-saio") as swift:
        store = SwiftStore(auth_url=swift.auth_url, user=swift.user, key=swift.key)

Command line (``scripts/saio/start.sh`` and ``stop.sh`` call these)::

    python tests/support/saio.py start ROOT [--proxy-port N] [--storage auto|xfs|tmpfs|dir]
    python tests/support/saio.py env ROOT      # ST_AUTH / ST_USER / ST_KEY lines
    python tests/support/saio.py stop ROOT [--purge]

Everything an instance owns lives under ROOT: ``etc/`` (configs, rings, the
launcher), ``srv/node`` (object storage), ``run/`` (``saio.json`` with ports and
PIDs), ``log/`` (one log per process). Nothing is written to ``/etc``; see
``_LAUNCHER`` for how Swift is kept away from ``/etc/swift``.

Storage: Swift keeps object metadata in ``user.*`` extended attributes, more of
them than ext4 holds per inode, so ``srv/node`` is a loop-mounted sparse XFS
image (``xfs``) or a tmpfs (``tmpfs``); both need root. ``auto`` tries XFS, then
tmpfs. ``dir`` uses plain folders and needs no root, but metadata-heavy requests
may fail on ext4.

Processes are started in their own sessions (process group id == PID) and are
stopped by the PIDs recorded in ``run/saio.json``, after checking that each PID
still runs a command of this ROOT; nothing is ever signalled by name.

This module uses only the standard library, so any Python 3.11 can run it.
``swift_cluster.py`` builds on it: the same Swift as several storage nodes in
network namespaces, to break on purpose (docs/testing.md).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = [
    "SWIFT_VERSION",
    "USERS",
    "SaioUser",
    "Saio",
    "SaioError",
    "ensure_venv",
    "start",
    "stop",
    "running",
    "main",
]

SWIFT_VERSION = "2.38.3"

Log = Callable[[str], None]


class SaioError(RuntimeError):
    """The all-in-one could not be set up, started or stopped; the message says why
    and what to do about it."""


@dataclass(frozen=True)
class SaioUser:
    """A tempauth user: ``name`` is ``account:user`` as Swift's clients spell it."""

    account: str
    user: str
    key: str
    groups: str = ""

    @property
    def name(self) -> str:
        return f"{self.account}:{self.user}"


USERS: tuple[SaioUser, ...] = (
    SaioUser("test", "tester", "testing", ".admin"),
    SaioUser("test2", "tester2", "testing2", ".admin"),
    SaioUser("test", "tester3", "testing3"),
)
"""The tempauth users: the first is the default; the third has no rights of its own
(it sees only what ACLs grant it)."""

# The order processes start in, and stop in reverse.
_SERVERS = ("account-server", "container-server", "object-server", "proxy-server")

_ROOT_HELP = "instance folder; everything of this SAIO lives below it"


def _default_log(message: str) -> None:
    print(f"[saio {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- the venv
def cache_dir() -> Path:
    """``$SCISWIFT_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/sciswift``."""
    explicit = os.environ.get("SCISWIFT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sciswift"


def venv_dir() -> Path:
    """Where the Swift virtualenv lives (``$SCISWIFT_SAIO_VENV`` overrides)."""
    explicit = os.environ.get("SCISWIFT_SAIO_VENV")
    return Path(explicit) if explicit else cache_dir() / "saio-venv"


def _venv_ready(venv: Path) -> bool:
    marker = venv / ".sciswift-saio"
    return marker.is_file() and marker.read_text().strip() == SWIFT_VERSION


def ensure_venv(venv: Path | None = None, *, python: str | None = None, log: Log = _default_log) -> Path:
    """The virtualenv holding ``swift==SWIFT_VERSION``, created on first use.

    Safe to call from several processes at once (a file lock serialises creation);
    later calls cost one ``stat``. A venv made for another Swift version is rebuilt.
    """
    venv = venv or venv_dir()
    if _venv_ready(venv):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _venv_ready(venv):
            return venv
        t0 = time.monotonic()
        log(f"creating {venv} with swift=={SWIFT_VERSION} (once per machine, ~30 s)")
        if venv.exists():
            shutil.rmtree(venv)
        # A venv made from inside another venv must start from the base interpreter.
        base = python or getattr(sys, "_base_executable", None) or sys.executable
        _run([base, "-m", "venv", str(venv)], "creating the Swift virtualenv",
             hint="on Debian/Ubuntu: apt-get install python3-venv")
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", f"swift=={SWIFT_VERSION}"],
             f"pip install swift=={SWIFT_VERSION}", hint="needs access to PyPI the first time")
        (venv / ".sciswift-saio").write_text(SWIFT_VERSION + "\n")
        log(f"venv ready in {time.monotonic() - t0:.1f} s")
    return venv


def _run(cmd: list[str], what: str, *, hint: str = "") -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise SaioError(f"{what} failed (exit {proc.returncode}){'; ' + hint if hint else ''}:\n{tail}")
    return proc.stdout


# ------------------------------------------------------------- system packages
def _ensure_program(program: str, package: str, log: Log) -> str:
    """Path of ``program``; installs its Debian package first when running as root."""
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin:/usr/bin")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"{program} not found; apt-get install {package}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, capture_output=True)
        found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
        if found:
            return found
    raise SaioError(
        f"{program} is needed by the Swift all-in-one but is not installed; "
        f"install it with: apt-get install {package}"
    )


# ------------------------------------------------------------------- handle
@dataclass
class Saio:
    """A running all-in-one. ``stop()`` (or leaving ``with``) stops exactly its PIDs."""

    root: Path
    proxy_port: int
    account_port: int
    container_port: int
    object_port: int
    memcached_port: int
    storage: str
    venv: Path
    pids: dict[str, int] = field(default_factory=dict)
    startup_seconds: float = 0.0
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def url(self) -> str:
        """The proxy's root URL (``/info``, ``/healthcheck`` live below it)."""
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def auth_url(self) -> str:
        """The v1.0 (tempauth) auth URL, as ``ST_AUTH`` takes it."""
        return f"{self.url}/auth/v1.0"

    @property
    def user(self) -> str:
        return USERS[0].name

    @property
    def key(self) -> str:
        return USERS[0].key

    @property
    def users(self) -> tuple[SaioUser, ...]:
        return USERS

    def storage_url(self, account: str = "test") -> str:
        return f"{self.url}/v1/AUTH_{account}"

    def env(self, user: SaioUser | None = None) -> dict[str, str]:
        """``ST_AUTH``/``ST_USER``/``ST_KEY`` for python-swiftclient and SwiftStore."""
        u = user or USERS[0]
        return {"ST_AUTH": self.auth_url, "ST_USER": u.name, "ST_KEY": u.key}

    @property
    def swift_cli(self) -> Path:
        """The ``swift`` command of the Swift venv (python-swiftclient comes with swift)."""
        return self.venv / "bin" / "swift"

    def stop(self, *, purge: bool = False, log: Log | None = None) -> None:
        """Stop this instance's processes and unmount its storage (idempotent)."""
        _stop_processes(self.root, self.pids, self._procs, log or (lambda _m: None))
        self.pids = {}
        self._procs = {}
        _release_storage(self.root, purge=purge)

    def __enter__(self) -> Saio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- persistence, so another process (stop.sh, an xdist worker) can use it
    def save(self) -> None:
        state = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        state["root"] = str(self.root)
        state["venv"] = str(self.venv)
        path = _state_file(self.root)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> Saio:
        """The instance recorded under ``root`` (SaioError if there is none)."""
        path = _state_file(Path(root).resolve())
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise SaioError(f"no Swift all-in-one recorded at {path}") from None
        state["root"] = Path(state["root"])
        state["venv"] = Path(state["venv"])
        return cls(**state)

    def alive(self) -> bool:
        """True if every recorded process still runs and the proxy answers."""
        if not self.pids or not all(_is_ours(pid, self.root) for pid in self.pids.values()):
            return False
        try:
            _authenticate(self.auth_url, USERS[0], timeout=5)
        except (OSError, SaioError):
            return False
        return True


def _state_file(root: Path) -> Path:
    return root / "run" / "saio.json"


# -------------------------------------------------------------------- start
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(
    root: str | os.PathLike[str],
    *,
    proxy_port: int = 0,
    account_port: int = 0,
    container_port: int = 0,
    object_port: int = 0,
    memcached_port: int = 0,
    storage: str | None = None,
    proxy_workers: int = 1,
    object_workers: int = 1,
    log_level: str = "INFO",
    updater_interval: float = 1.0,
    timeout: float = 60.0,
    proxy_bind_ip: str = "127.0.0.1",
    log: Log = _default_log,
) -> Saio:
    """Build a fresh all-in-one under ``root`` and start it; returns when auth works.

    A port of 0 means "pick a free one". ``storage`` is ``auto`` (default, or
    ``$SCISWIFT_SAIO_STORAGE``), ``xfs``, ``tmpfs`` or ``dir``. ``root``'s
    ``etc``, ``srv``, ``run`` and ``log`` folders are wiped first; starting over a
    running instance is refused. On any failure everything started is stopped
    again and SaioError says what went wrong (with the log tail of a server that
    died). ``proxy_bind_ip``: where the proxy listens (``0.0.0.0`` to be reached
    from another network namespace, as ``bench.net`` does); the other servers
    stay on 127.0.0.1.
    """
    root = Path(root).resolve()
    storage = storage or os.environ.get("SCISWIFT_SAIO_STORAGE", "auto")
    if storage not in ("auto", "xfs", "tmpfs", "dir"):
        raise SaioError(f"storage must be auto, xfs, tmpfs or dir, not {storage!r}")
    memcached = _ensure_program("memcached", "memcached", log)
    venv = ensure_venv(log=log)
    t0 = time.monotonic()
    try:
        old: Saio | None = Saio.load(root)
    except SaioError:
        old = None
    if old is not None and any(_is_ours(p, root) for p in old.pids.values()):
        raise SaioError(f"a Swift all-in-one is still running at {root}; stop it first "
                        f"(python tests/support/saio.py stop {root})")
    ports = {
        "proxy_port": proxy_port, "account_port": account_port, "container_port": container_port,
        "object_port": object_port, "memcached_port": memcached_port,
    }
    for name, port in ports.items():
        if port and _port_in_use(port):
            raise SaioError(f"127.0.0.1:{port} ({name}) is already in use")
    chosen: set[int] = set()
    for name, port in ports.items():
        while not port or port in chosen:
            port = _free_port()
        ports[name] = port
        chosen.add(port)

    _release_storage(root, purge=True)
    for sub in ("etc", "run", "log"):
        shutil.rmtree(root / sub, ignore_errors=True)
        (root / sub).mkdir(parents=True)
    storage = _make_storage(root, storage, log)
    saio = Saio(root=root, storage=storage, venv=venv, proxy_port=ports["proxy_port"],
                account_port=ports["account_port"], container_port=ports["container_port"],
                object_port=ports["object_port"], memcached_port=ports["memcached_port"])
    try:
        _write_configs(saio, proxy_workers, object_workers, log_level, updater_interval, proxy_bind_ip)
        _run([str(venv / "bin" / "python"), str(root / "etc" / "prepare.py"), str(root)],
             "building rings and checking xattrs on the storage")
        _spawn(saio, "memcached", [memcached, "-l", "127.0.0.1", "-p", str(saio.memcached_port),
                                   "-U", "0", "-m", "64", "-c", "1024", "-u", _user_name()])
        for server in _SERVERS:
            _spawn(saio, server, _swift_cmd(saio, f"swift-{server}", f"{server}.conf"))
        _spawn(saio, "container-updater",
               _swift_cmd(saio, "swift-container-updater", "container-server.conf"))
        saio.save()
        _wait_ready(saio, timeout)
    except BaseException:
        saio.stop()
        raise
    saio.startup_seconds = time.monotonic() - t0
    saio.save()
    log(f"Swift {SWIFT_VERSION} all-in-one ready at {saio.url} in {saio.startup_seconds:.1f} s "
        f"(storage {storage}, root {root})")
    return saio


@contextlib.contextmanager
def running(root: str | os.PathLike[str] | None = None, **options: object) -> Iterator[Saio]:
    """A started all-in-one for the duration of a ``with`` block. Without ``root``
    it lives in a temporary folder that is removed afterwards."""
    import tempfile

    with contextlib.ExitStack() as stack:
        if root is None:
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="sciswift-saio-"))
        saio = start(root, **options)  # type: ignore[arg-type]
        stack.callback(saio.stop, purge=True)
        yield saio


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _make_storage(root: Path, storage: str, log: Log) -> str:
    """Prepare ``root/srv/node`` and return the kind of storage actually used."""
    node = root / "srv" / "node"
    node.mkdir(parents=True, exist_ok=True)
    if storage == "dir":
        return storage
    errors: list[str] = []
    if storage in ("auto", "xfs"):
        try:
            _mount_xfs(root, node, log)
            return "xfs"
        except SaioError as e:
            errors.append(str(e))
            if storage == "xfs":
                raise
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g,mode=0755", "sciswift-saio",
                               str(node)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SaioError(f"tmpfs mount on {node} failed: {proc.stderr.strip() or proc.returncode}")
    except (OSError, SaioError) as e:
        errors.append(str(e))
        raise SaioError(
            "the Swift all-in-one needs xattr-capable storage, which takes root to mount "
            f"(an XFS loop image or a tmpfs): {'; '.join(errors)}. Run as root, or set "
            "SCISWIFT_SAIO_STORAGE=dir to use plain folders (metadata-heavy requests may fail "
            "on ext4)"
        ) from None
    if errors:
        log(f"XFS not possible here ({errors[0]}); using tmpfs")
    return "tmpfs"


def _mount_xfs(root: Path, node: Path, log: Log) -> None:
    mkfs = shutil.which("mkfs.xfs") or shutil.which("mkfs.xfs", path="/usr/sbin:/sbin")
    if mkfs is None:
        mkfs = _ensure_program("mkfs.xfs", "xfsprogs", log)
    image = root / "srv" / "disk.img"
    with open(image, "wb") as f:  # sparse: takes only what XFS writes
        f.truncate(2 << 30)
    for cmd in ([mkfs, "-q", "-f", str(image)], ["mount", "-o", "loop,noatime", str(image), str(node)]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            image.unlink(missing_ok=True)
            raise SaioError(f"{' '.join(cmd[:2])} failed: {proc.stderr.strip() or proc.returncode}")


def _release_storage(root: Path, *, purge: bool) -> None:
    """Unmount ``root/srv/node`` if mounted (and detach its loop device); with
    ``purge`` also delete ``root/srv``."""
    node = root / "srv" / "node"
    if os.path.ismount(node):
        proc = subprocess.run(["umount", str(node)], capture_output=True, text=True)
        if proc.returncode != 0:
            # A process still holding a file: lazy unmount detaches it once released.
            subprocess.run(["umount", "-l", str(node)], capture_output=True)
    image = root / "srv" / "disk.img"
    if image.exists() and shutil.which("losetup"):
        out = subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            subprocess.run(["losetup", "-d", line.split(":", 1)[0]], capture_output=True)
    if purge and not os.path.ismount(node):
        shutil.rmtree(root / "srv", ignore_errors=True)


def _swift_cmd(saio: Saio, script: str, conf: str) -> list[str]:
    etc = saio.root / "etc"
    return [str(saio.venv / "bin" / "python"), str(etc / "launch.py"), str(etc / "swift.conf"),
            script, str(etc / conf), "-v"]


def _spawn(saio: Saio, name: str, cmd: list[str]) -> None:
    with open(saio.root / "log" / f"{name}.log", "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=saio.root)
    saio._procs[name] = proc
    saio.pids[name] = proc.pid


def _authenticate(auth_url: str, user: SaioUser, timeout: float) -> tuple[str, str]:
    req = urllib.request.Request(auth_url, headers={"X-Auth-User": user.name, "X-Auth-Key": user.key})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        url, token = resp.headers.get("X-Storage-Url"), resp.headers.get("X-Auth-Token")
    if not url or not token:
        raise SaioError(f"{auth_url} answered without X-Storage-Url/X-Auth-Token")
    return url, token


def _wait_ready(saio: Saio, timeout: float) -> None:
    """Wait until the default user authenticates and its account answers a HEAD."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        for name, proc in saio._procs.items():
            if proc.poll() is not None:
                tail = (saio.root / "log" / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SaioError(f"{name} exited with status {proc.returncode} during start-up; "
                                f"log {saio.root}/log/{name}.log ends with:\n{tail}")
        try:
            url, token = _authenticate(saio.auth_url, USERS[0], timeout=5)
            req = urllib.request.Request(url, method="HEAD", headers={"X-Auth-Token": token})
            with urllib.request.urlopen(req, timeout=5):
                return
        except (OSError, SaioError) as e:
            last = str(e)
        if time.monotonic() > deadline:
            raise SaioError(f"Swift all-in-one at {saio.url} not ready after {timeout:.0f} s "
                            f"({last}); logs in {saio.root}/log")
        time.sleep(0.1)


# --------------------------------------------------------------------- stop
def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _is_ours(pid: int, root: Path) -> bool:
    """True if ``pid`` is alive and runs something this instance started: a Swift
    process reading ``root/etc``, or memcached started with that root as its cwd.
    Guards against signalling a PID the system has since given to someone else."""
    cmd = _cmdline(pid)
    if not cmd:
        return False  # gone, or a zombie (empty cmdline)
    if f"{root}/etc/" in cmd:
        return True
    try:
        return cmd.startswith(("memcached", "/usr/bin/memcached")) and os.readlink(f"/proc/{pid}/cwd") == str(root)
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    """True while any non-zombie process remains in process group ``pgid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _stop_processes(root: Path, pids: dict[str, int], procs: dict[str, subprocess.Popen[bytes]],
                    log: Log) -> None:
    groups: list[int] = []
    for name in reversed(list(pids)):
        pid = pids[name]
        if not _is_ours(pid, root):
            continue
        log(f"stopping {name} (pid {pid})")
        # Each was started in its own session, so the group also holds its forked workers.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        groups.append(pid)
    deadline = time.monotonic() + 10
    for pid in groups:
        while _group_alive(pid) and time.monotonic() < deadline:
            _reap(procs)
            time.sleep(0.05)
        if _group_alive(pid):
            log(f"process group {pid} did not exit after SIGTERM; SIGKILL")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    _reap(procs, wait=True)


def _reap(procs: dict[str, subprocess.Popen[bytes]], wait: bool = False) -> None:
    for proc in procs.values():
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        else:
            proc.poll()


def stop(root: str | os.PathLike[str], *, purge: bool = False, log: Log = _default_log) -> None:
    """Stop the instance recorded under ``root`` (from any process) and unmount its
    storage; ``purge`` also deletes ``root/srv``. Nothing recorded: only unmounts."""
    root = Path(root).resolve()
    try:
        saio = Saio.load(root)
    except SaioError:
        log(f"no running instance recorded under {root}")
        _release_storage(root, purge=purge)
        return
    saio.stop(purge=purge, log=log)
    _state_file(root).unlink(missing_ok=True)
    log("stopped")


# ------------------------------------------------------------------ configs
# Swift reads storage policies and constraints from the hard-coded
# /etc/swift/swift.conf when its modules are imported; ``swift_dir`` only moves the
# rings. So every process starts through this launcher, which points
# swift.common.utils.SWIFT_CONF_FILE at our swift.conf before anything reads it and
# then runs the console script by name.
_LAUNCHER = '''\
import sys
from importlib.metadata import entry_points

import swift.common.utils

swift.common.utils.SWIFT_CONF_FILE = sys.argv[1]
script = sys.argv[2]
(entry,) = entry_points(group="console_scripts", name=script)
sys.argv = [script, *sys.argv[3:]]
sys.exit(entry.load()())
'''

# One interpreter start builds all rings (the swift-ring-builder CLI would cost a
# second per call) and proves that the storage holds Swift-sized xattrs.
_PREPARE = '''\
import json, os, sys
from swift.common.ring import RingBuilder

root = sys.argv[1]
state = json.load(open(os.path.join(root, "etc", "ports.json")))
probe = os.path.join(root, "srv", "node", "d1", ".xattr-probe")
open(probe, "w").close()
try:
    os.setxattr(probe, "user.swift.metadata", b"x" * 16384)
except OSError as e:
    sys.exit(f"storage {os.path.dirname(probe)} cannot hold Swift's metadata xattrs: {e}")
finally:
    os.unlink(probe)
for ring, port in (("account", state["account_port"]), ("container", state["container_port"]),
                   ("object", state["object_port"])):
    builder = RingBuilder(6, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
                     "replication_ip": "127.0.0.1", "replication_port": port,
                     "device": "d1", "weight": 100.0, "meta": ""})
    builder.rebalance(seed=1)
    builder.get_ring().save(os.path.join(root, "etc", ring + ".ring.gz"))
'''


def _write_configs(saio: Saio, proxy_workers: int, object_workers: int, log_level: str,
                   updater_interval: float, proxy_bind_ip: str = "127.0.0.1") -> None:
    etc, node, run = saio.root / "etc", saio.root / "srv" / "node", saio.root / "run"
    (node / "d1").mkdir(parents=True, exist_ok=True)
    user = _user_name()
    (etc / "launch.py").write_text(_LAUNCHER)
    (etc / "prepare.py").write_text(_PREPARE)
    (etc / "ports.json").write_text(json.dumps({
        "account_port": saio.account_port, "container_port": saio.container_port,
        "object_port": saio.object_port}))
    (etc / "swift.conf").write_text(textwrap.dedent("""\
        [swift-hash]
        swift_hash_path_prefix = sciswift-saio
        swift_hash_path_suffix = sciswift-saio

        [storage-policy:0]
        name = gold
        default = yes
        """))

    def server_conf(name: str, port: int, workers: int, extra: str) -> str:
        # No syslog here: Swift falls back to UDP when log_address is not a socket,
        # and -v sends the same lines to the log file we capture.
        return textwrap.dedent(f"""\
            [DEFAULT]
            swift_dir = {etc}
            devices = {node}
            mount_check = false
            disable_fallocate = true
            bind_ip = 127.0.0.1
            bind_port = {port}
            workers = {workers}
            user = {user}
            log_name = {name}
            log_level = {log_level}
            log_address = {run}/no-syslog
            recon_cache_path = {run}

            [pipeline:main]
            pipeline = {name}

            [app:{name}]
            use = egg:swift#{name.split('-')[0]}
            """) + textwrap.dedent(extra)

    (etc / "account-server.conf").write_text(server_conf("account-server", saio.account_port, 1, ""))
    (etc / "container-server.conf").write_text(server_conf(
        "container-server", saio.container_port, 1, f"""
        [container-updater]
        interval = {updater_interval}
        log_name = container-updater
        """))
    (etc / "object-server.conf").write_text(server_conf(
        "object-server", saio.object_port, object_workers, ""))
    (etc / "proxy-server.conf").write_text(textwrap.dedent(f"""\
        [DEFAULT]
        swift_dir = {etc}
        bind_ip = {proxy_bind_ip}
        bind_port = {saio.proxy_port}
        workers = {proxy_workers}
        user = {user}
        log_name = proxy-server
        log_level = {log_level}
        log_address = {run}/no-syslog

        [pipeline:main]
        pipeline = {PROXY_PIPELINE}

        [app:proxy-server]
        use = egg:swift#proxy
        account_autocreate = true
        allow_account_management = true

        """) + proxy_filter_sections(saio.memcached_port))


#: The proxy's pipeline (the all-in-one's, and the test cluster's).
PROXY_PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth "
                  "copy slo dlo proxy-logging proxy-server")


def proxy_filter_sections(memcached_port: int) -> str:
    """The ``[filter:*]`` sections of ``PROXY_PIPELINE`` (the all-in-one's proxy,
    and the test cluster's): memcache, TempAuth with ``USERS``, the rest with
    Swift's defaults."""
    tempauth_users = "\n".join(
        f"user_{u.account}_{u.user} = {u.key} {u.groups}".rstrip() for u in USERS)
    return textwrap.dedent(f"""\
        [filter:cache]
        use = egg:swift#memcache
        memcache_servers = 127.0.0.1:{memcached_port}

        [filter:tempauth]
        use = egg:swift#tempauth
        """) + tempauth_users + "\n" + "".join(
        f"\n[filter:{name}]\nuse = egg:swift#{name.replace('-', '_')}\n"
        for name in ("catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "listing_formats",
                     "bulk", "copy", "slo", "dlo", "s3api"))


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/support/saio.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="build and start an all-in-one under ROOT")
    p_start.add_argument("root", help=_ROOT_HELP)
    for port in ("proxy", "account", "container", "object", "memcached"):
        p_start.add_argument(f"--{port}-port", type=int, default=0, help="0 = any free port")
    p_start.add_argument("--storage", choices=("auto", "xfs", "tmpfs", "dir"), default=None)
    p_start.add_argument("--proxy-workers", type=int, default=1)
    p_start.add_argument("--object-workers", type=int, default=1)
    p_start.add_argument("--log-level", default="INFO")
    p_start.add_argument("--timeout", type=float, default=60.0)
    p_start.add_argument("--proxy-bind-ip", default="127.0.0.1", help="where the proxy listens")
    p_stop = sub.add_parser("stop", help="stop the all-in-one recorded under ROOT, by PID")
    p_stop.add_argument("root", help=_ROOT_HELP)
    p_stop.add_argument("--purge", action="store_true", help="also delete ROOT/srv")
    p_env = sub.add_parser("env", help="print export lines for ST_AUTH, ST_USER, ST_KEY")
    p_env.add_argument("root", help=_ROOT_HELP)
    sub.add_parser("venv", help="create the Swift virtualenv if missing and print its path")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            saio = start(
                args.root, proxy_port=args.proxy_port, account_port=args.account_port,
                container_port=args.container_port, object_port=args.object_port,
                memcached_port=args.memcached_port, storage=args.storage,
                proxy_workers=args.proxy_workers, object_workers=args.object_workers,
                log_level=args.log_level, timeout=args.timeout, proxy_bind_ip=args.proxy_bind_ip,
            )
            _print_env(saio)
            for name, pid in saio.pids.items():
                print(f"# {name:18s} pid {pid}")
        elif args.command == "stop":
            stop(args.root, purge=args.purge)
        elif args.command == "env":
            _print_env(Saio.load(args.root))
        elif args.command == "venv":
            print(ensure_venv())
    except SaioError as e:
        print(f"saio: error: {e}", file=sys.stderr)
        return 1
    return 0


def _print_env(saio: Saio) -> None:
    import shlex

    for k, v in saio.env().items():
        print(f"export {k}={shlex.quote(v)}")


if __name__ == "__main__":
    sys.exit(main())

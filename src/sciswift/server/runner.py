"""Running the server: sockets, worker processes, signals, the start banner.

With ``workers > 1`` the parent binds one ``SO_REUSEPORT`` socket per worker on
the same port (the kernel spreads connections over them), forks the workers,
restarts any that dies, and on SIGTERM/SIGINT stops them all and waits. Workers
share nothing but the token secret and the data directory: tokens are signed
(any worker validates any token) and LocalStore is safe across processes. The
memory backend keeps data inside one process, so it runs one worker.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable

from sciswift import malloc
from sciswift.server.app import SwiftApp
from sciswift.server.auth import TempAuth
from sciswift.server.backend import Backend
from sciswift.server.config import RESELLER_PREFIXES, ServerConfig
from sciswift.server.dataapi.site import banner_line as browse_banner_line
from sciswift.server.wire import HTTPServer, Limits
from sciswift.store.local import syncs as local_syncs

__all__ = ["serve", "make_sockets", "token_secret", "tls_context", "banner", "run_worker"]

SECRET_FILE = ".token-secret"
SHUTDOWN_TIMEOUT = 10.0
#: Idle keep-alive connections are closed after this many seconds.
KEEPALIVE_TIMEOUT = 60.0


def tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The server-side TLS context of ``--tls-cert``/``--tls-key`` (TLS 1.2+),
    or None for plain HTTP."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return ctx


def token_secret(config: ServerConfig) -> bytes:
    """The secret tokens are signed with: configured, or kept in the data
    directory (mode 0600) so that tokens survive a restart, or random."""
    if config.token_secret:
        return config.token_secret
    if config.backend != "local":
        return secrets.token_bytes(32)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = config.data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_text(encoding="ascii").strip()
        if len(data) >= 32:
            return bytes.fromhex(data)
        raise RuntimeError(f"token secret file {path} is damaged; delete it to make a new one") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def make_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on host:port (SO_REUSEPORT when several;
    port 0 picks a free port, shared by all)."""
    socks: list[socket.socket] = []
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(count):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if count > 1:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            s.bind((host, port))
        except OSError:
            s.close()
            for other in socks:
                other.close()
            raise
        s.listen(1024)
        s.set_inheritable(True)
        port = s.getsockname()[1]
        socks.append(s)
    return socks


def banner(config: ServerConfig, port: int) -> str:
    import shlex

    host = "127.0.0.1" if config.host in ("0.0.0.0", "", "::") else config.host
    if ":" in host:
        host = f"[{host}]"
    base = f"{config.scheme}://{host}:{port}"
    where = f"data {config.data_dir.resolve()}" if config.backend == "local" else "in memory (lost at exit)"
    listening = "" if host.strip("[]") == config.host else f", listening on {config.host or 'all addresses'}"
    lines = [
        f"sciswift serve: OpenStack Swift API v1 on {base}  ({config.backend} backend, {where}, "
        f"{config.workers} worker{'s' if config.workers != 1 else ''}{listening})",
        f"auth URL: {base}/auth/v1.0",
        browse_banner_line(base),
    ]
    users = list(config.users.values())
    if users:
        u = users[0]
        lines.append(f"try:      swift -A {base}/auth/v1.0 -U {u.account_user} -K {u.key} stat")
        # What swift:// URLs (sciswift, python-swiftclient, the swift CLI) read.
        lines.append(f"clients:  export ST_AUTH={base}/auth/v1.0 ST_USER={shlex.quote(u.account_user)} "
                     f"ST_KEY={shlex.quote(u.key)}")
        lines.append(
            "users:    " + ", ".join(
                f"{x.account_user} ({RESELLER_PREFIXES[0]}{x.account}{', ' + ' '.join(x.groups) if x.groups else ''})"
                for x in users
            )
        )
    lines.append("stop:     Ctrl-C (or kill -TERM <pid>): requests in progress finish first")
    return "\n".join(lines)


async def _serve(config: ServerConfig, auth: TempAuth, sock: socket.socket, stop: asyncio.Event) -> None:
    backend = Backend(config, auth)
    app = SwiftApp(backend, quiet=config.quiet)
    server = HTTPServer(
        app.handle,
        limits=Limits(max_line=8192, max_headers=256),
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        ssl=tls_context(config),
    )
    await server.start(sock)
    try:
        await stop.wait()
    finally:
        await server.shutdown(SHUTDOWN_TIMEOUT)
        backend.close()


def run_worker(config: ServerConfig, auth: TempAuth, sock: socket.socket) -> None:
    """Serve on ``sock`` until SIGTERM or SIGINT."""
    _setup_logging(config.quiet)
    malloc.tune()  # request bodies come in MiB-sized reads (see sciswift.malloc)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await _serve(config, auth, sock, stop)

    asyncio.run(main())
    # The local stores' sync helpers idle until their pool is shut down: without
    # this every worker waited out the grace below and exited with an error.
    local_syncs.shutdown()
    _leave_stuck_threads(SHUTDOWN_TIMEOUT)


def _leave_stuck_threads(grace: float) -> None:
    """Exit even if store calls are still running ``grace`` seconds after the
    server stopped (a hung filesystem, a deadlock): the interpreter would join
    those pool threads forever, and SIGTERM would never stop the server.
    Leaving them is safe: writes are atomic, an unfinished one leaves nothing."""
    deadline = time.monotonic() + grace
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    for t in others:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in others if t.is_alive()]
    if stuck:
        logging.getLogger("sciswift.server").error(
            "worker %d: %d store call(s) still running %.0f s after shutdown (%s); exiting without them",
            os.getpid(), len(stuck), grace, ", ".join(stuck),
        )
        sys.stderr.flush()
        os._exit(1)


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    # sciswift.store: quarantines and other damage the store finds while serving
    for name, level in (("sciswift.server.access", logging.INFO), ("sciswift.server", logging.WARNING),
                        ("sciswift.store", logging.WARNING)):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(logging.CRITICAL if quiet and name.endswith("access") else level)
        log.propagate = False


def serve(config: ServerConfig, on_ready: Callable[[int], None] | None = None) -> None:
    """Run the server in the foreground until SIGTERM/SIGINT.

    ``on_ready(port)`` is called once the sockets listen (before workers fork).
    """
    if config.backend == "memory" and config.workers != 1:
        raise ValueError("the memory backend keeps its data in one process: use --workers 1")
    config.check_exposure()
    tls_context(config)  # a bad certificate or key fails here, before any worker starts
    if config.backend == "local":
        config.data_dir.mkdir(parents=True, exist_ok=True)
    auth = TempAuth(config.users, token_secret(config), config.token_life)
    socks = make_sockets(config.host, config.port, max(1, config.workers))
    port = socks[0].getsockname()[1]
    if on_ready is not None:
        on_ready(port)
    if config.workers <= 1:
        try:
            run_worker(config, auth, socks[0])
        finally:
            socks[0].close()
        return
    _supervise(config, auth, socks)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _end_with(supervisor: int) -> None:
    """Have the kernel send this worker SIGTERM (a graceful stop) when its
    supervisor dies: one killed with SIGKILL (the OOM killer, ``kill -9``)
    must not leave workers serving its port, where a restarted server would
    share it with them (``SO_REUSEPORT``). Linux only; elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != supervisor:  # it died before the call
        os.kill(os.getpid(), signal.SIGTERM)


def _supervise(config: ServerConfig, auth: TempAuth, socks: list[socket.socket]) -> None:
    children: dict[int, socket.socket] = {}
    stopping = False

    supervisor = os.getpid()

    def spawn(sock: socket.socket) -> None:
        pid = os.fork()
        if pid == 0:
            for other in socks:
                if other is not sock:
                    other.close()
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _end_with(supervisor)
                run_worker(config, auth, sock)
            except BaseException:  # noqa: BLE001 - report, then leave the child
                logging.getLogger("sciswift.server").exception("worker %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        children[pid] = sock

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for sock in socks:
        spawn(sock)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        dead = children.pop(pid) if pid in children else None
        if dead is not None and not stopping:
            logging.getLogger("sciswift.server").warning("worker %d exited (%d); restarting", pid, status)
            spawn(dead)
    for sock in socks:
        sock.close()

"""The stores behind the API: one Store per account, a thread pool, lookups.

Each Swift account (``AUTH_test``) is one :class:`~sciswift.store.base.Store`:
with the ``local`` backend a ``LocalStore(<data>/<account>, mark_root=True)``,
with ``memory`` a ``MemoryStore``. Accounts are created on first write (Swift's
``account_autocreate``); reading an account that was never written shows an
empty account without creating anything.

Store calls block, so they run in a thread pool (:meth:`Backend.run`). Account
and container lookups are cached for the duration of one client request (in
``req.env``), as Swift's proxy caches ``get_container_info``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sciswift.errors import NotFound
from sciswift.server.acl import account_acls_from
from sciswift.server.auth import TempAuth
from sciswift.server.config import ServerConfig
from sciswift.server.generation import SharedGeneration
from sciswift.server.http import Reply, SwiftRequest
from sciswift.store.base import Store
from sciswift.store.types import AccountInfo, ContainerInfo

__all__ = ["Backend", "Dispatcher", "ACCOUNT_ACL_KEY"]

T = TypeVar("T")
_MISS = object()

#: Where tempauth keeps account ACLs (``X-Account-Sysmeta-Core-Access-Control``).
ACCOUNT_ACL_KEY = "x-account-sysmeta-core-access-control"


def _local_store_factory(root: Path, durable: bool) -> Callable[[str, bool], Store | None]:
    from sciswift.store.local import LocalStore
    from sciswift.store.url import ROOT_MARKER

    accepts = inspect.signature(LocalStore).parameters
    extra: dict[str, Any] = {}
    if "durable" in accepts:
        extra["durable"] = durable

    def open_local(account: str, create: bool) -> Store | None:
        path = root / account
        # The account name was validated (no '/', NUL, '.' or '..') before we
        # get here, so path is always a direct child of the data directory.
        if not create and not (path / ROOT_MARKER).exists():
            return None
        return LocalStore(path, mark_root=True, **extra)

    return open_local


def _memory_store_factory() -> Callable[[str, bool], Store | None]:
    from sciswift.store.memory import MemoryStore

    stores: dict[str, Store] = {}

    def open_memory(account: str, create: bool) -> Store | None:
        store = stores.get(account)
        if store is None and create:
            store = stores[account] = MemoryStore(account)
        return store

    return open_memory


Dispatcher = Callable[["Backend", SwiftRequest], Awaitable[Reply]]


class Backend:
    """Server-wide state shared by all handlers of one worker process.

    Features that make sub-requests (copy, large objects, bulk) send them with
    :meth:`subrequest`, which routes them through the same handlers and checks
    as a client's request: the dispatcher is handed in by the app that owns
    the routing (as Swift's middlewares receive ``app``), so no feature module
    imports the router.
    """

    def __init__(
        self, config: ServerConfig, auth: TempAuth, max_threads: int = 32, dispatcher: Dispatcher | None = None
    ) -> None:
        self.config = config
        self.auth = auth
        self._dispatcher = dispatcher
        self.executor = ThreadPoolExecutor(max_threads, thread_name_prefix="sciswift-store")
        #: What other workers on the same data folder changed (None: one process only).
        self._generation: SharedGeneration | None = None
        if config.backend == "memory":
            self._open = _memory_store_factory()
        elif config.backend == "local":
            config.data_dir.mkdir(parents=True, exist_ok=True)
            self._open = _local_store_factory(config.data_dir.resolve(), config.durable)
            self._generation = SharedGeneration(config.data_dir)
        else:
            raise ValueError(f"unknown backend {config.backend!r} (use 'local' or 'memory')")
        self._stores: dict[str, Store] = {}
        self._shared: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def use_dispatcher(self, dispatcher: Dispatcher) -> None:
        """Set the router :meth:`subrequest` sends sub-requests through."""
        self._dispatcher = dispatcher

    async def subrequest(self, req: SwiftRequest) -> Reply:
        """The reply to a sub-request, routed like a client's request (the
        handlers' SwiftErrors become replies)."""
        if self._dispatcher is None:
            raise RuntimeError("Backend has no dispatcher: SwiftApp sets it (Backend.use_dispatcher)")
        return await self._dispatcher(self, req)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call in the thread pool."""
        loop = asyncio.get_running_loop()
        if kwargs:
            fn = functools.partial(fn, **kwargs)
        return await loop.run_in_executor(self.executor, fn, *args)

    def store(self, account: str, create: bool = False) -> Store | None:
        """The Store of ``account``; None when it was never written and
        ``create`` is False."""
        store = self._stores.get(account)
        if store is not None:
            return store
        with self._lock:
            store = self._stores.get(account)
            if store is None:
                store = self._open(account, create)
                if store is not None:
                    self._stores[account] = store
            return store

    def close(self) -> None:
        if self._generation is not None:
            self._generation.close()
        for store in self._stores.values():
            try:
                store.close()
            except Exception:  # noqa: BLE001 - closing must not stop shutdown
                pass
        self.executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------ cached lookups
    # Two levels, like Swift's proxy (per-request env, then memcache): a
    # per-request cache, and a short-lived per-process cache of what rarely
    # changes (existence, metadata, ACLs). Writes invalidate it at once, in
    # this process and, through the data folder's shared token, in the other
    # worker processes (server.generation). Handlers that report totals ask
    # for ``fresh`` info.
    INFO_TTL = 2.0

    def _shared_get(self, key: tuple[str, ...]) -> Any:
        if self._generation is not None and self._generation.changed():
            self._shared.clear()
        hit = self._shared.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return _MISS

    def _shared_put(self, key: tuple[str, ...], value: Any) -> None:
        if len(self._shared) > 10000:
            self._shared.clear()
        self._shared[key] = (time.monotonic() + self.INFO_TTL, value)

    def _cached(self, req: SwiftRequest, key: tuple[str, ...]) -> Any:
        """The request's, else this process's, cached value for ``key``; _MISS if none."""
        if key in req.env:
            return req.env[key]
        return self._shared_get(key)

    async def account_info(self, req: SwiftRequest, account: str, fresh: bool = False) -> AccountInfo | None:
        """Totals and metadata of ``account`` (None if never written)."""
        key = ("account", account)
        hit: Any = _MISS if fresh else self._cached(req, key)
        if hit is not _MISS:
            return hit
        store = self.store(account)
        info = await self.run(store.account_info) if store is not None else None
        req.env[key] = info
        self._shared_put(key, info)
        return info

    async def container_info(
        self, req: SwiftRequest, account: str, container: str, fresh: bool = False
    ) -> ContainerInfo | None:
        """The container's info, or None if it (or its account) does not exist."""
        key = ("container", account, container)
        hit: Any = _MISS if fresh else self._cached(req, key)
        if hit is not _MISS:
            return hit
        store = self.store(account)
        info: ContainerInfo | None = None
        if store is not None:
            try:
                info = await self.run(store.head_container, container)
            except NotFound:
                info = None
        req.env[key] = info
        if info is not None:  # never remember absence: a PUT may create it any moment
            self._shared_put(key, info)
        else:
            self._shared.pop(key, None)
        return info

    def forget(self, req: SwiftRequest, account: str, container: str | None = None) -> None:
        """Drop cached lookups after a write changed them."""
        for key in [("account", account)] + ([("container", account, container)] if container else []):
            req.env.pop(key, None)
            self._shared.pop(key, None)
        if self._generation is not None:
            self._generation.bump()

    async def account_acls(self, req: SwiftRequest, account: str) -> dict[str, list[str]] | None:
        info = await self.account_info(req, account)
        return account_acls_from(info.system.get(ACCOUNT_ACL_KEY)) if info else None

    async def authorize(self, req: SwiftRequest, acl_kind: str | None = None) -> Reply | None:
        """Authorize ``req`` against its target, fetching ACLs only when the
        caller is not the owner. ``acl_kind`` is ``"read"`` or ``"write"``: which
        container ACL applies. Returns None when allowed, else the 401/403 reply.
        """
        if req.preauthed:
            return None
        denied = self.auth.authorize(req)
        if denied is None or req.account is None:
            return None
        acl = None
        if acl_kind and req.container is not None:
            cinfo = await self.container_info(req, req.account, req.container)
            if cinfo is not None:
                acl = cinfo.system.get(f"x-container-{acl_kind}")
        account_acls = await self.account_acls(req, req.account)
        if acl is None and account_acls is None:
            return denied
        return self.auth.authorize(req, acl, account_acls)

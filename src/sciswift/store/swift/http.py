"""SwiftStore's transport: a pool of keep-alive connections, the token, retries.

One ``SwiftConnection`` is shared by all threads of a store. It

- keeps up to ``pool_size`` keep-alive connections per host (urllib3, thread-safe);
- authenticates lazily and once per token, re-authenticating once when a request
  answers 401 (an expired token), however many threads saw it at the same time;
  a token kept by an earlier process (``sciswift.store.swift.tokens``) is used
  instead of authenticating, and forgotten if refused;
- while the first authentication is under way, opens ``prewarm`` more connections
  to the host the storage URL is expected on (the auth URL's, for TempAuth v1.0),
  so the requests a program sends at once right after auth (a file's root
  document, the check for an object of its name, /info) do not each wait for a TCP
  (and TLS) handshake first: a fresh process saves one round trip. A warm
  connection only joins the pool once it is up; a request never waits for one;
- retries requests that failed to connect or answered 5xx/429/498, with exponential
  backoff and jitter, when repeating them is safe: the caller says so per request
  (``idempotent``), and a body is only re-sent if it can be produced again
  (bytes, or a ``Body`` whose ``open`` starts over). Each response says how many
  attempts it took and whether an earlier one may have taken effect
  (``attempts_of``, ``maybe_repeated``: the request was sent, then the
  connection broke, timed out, or Swift answered 5xx), so callers can tell
  "refused" from "refused because our own earlier attempt already did it";
- bounds every attempt by ``connect_timeout`` and ``read_timeout`` (the longest
  silence while waiting for or reading an answer), so an operation ends within
  ``(retries + 1) * (connect_timeout + read_timeout)`` plus the backoff sleeps
  (at most ``retries * max_backoff``), whatever the server does.

Paths go to the server exactly as quoted here: urllib3's URL normalisation would
fold ``..`` and ``.`` segments, which are legal in Swift object names, so requests
are made on the connection pool with the path as given.
"""

from __future__ import annotations

import encodings.idna  # noqa: F401  (the first connection imports it otherwise: host names are IDNA-encoded)
import hashlib
import io
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import urllib3

from sciswift.errors import (
    QUARANTINED_HEADER,
    Quarantined,
    SciSwiftError,
    StoreUnavailable,
    Unauthenticated,
    error_for_status,
)
from sciswift.store.object_frames import Frame
from sciswift.store.swift.auth import SwiftCredentials, authenticate
from sciswift.store.swift.tokens import TokenCache

__all__ = ["Body", "SwiftConnection", "RETRY_STATUSES", "object_path", "attempts_of", "maybe_repeated"]

# Worth another try: server errors, overload, and Swift's rate limiting (498/429).
RETRY_STATUSES = frozenset({429, 498, 500, 502, 503, 504})
# Bodies up to this size that are already in memory are sent as one bytes object.
SMALL_BODY = 4 << 20
#: A whole small answer times a round trip too (its bytes take no time to speak of).
_TIMED_BODY = 64 << 10
#: An answer an auth reply carried is used within this many seconds of its
#: arrival, or not at all (the read is then made as usual).
PREFETCH_FRESH = 10.0


def attempts_of(resp: urllib3.BaseHTTPResponse) -> int:
    """How many attempts ``SwiftConnection.request`` made for ``resp``."""
    return int(getattr(resp, "sciswift_attempts", 1))


def maybe_repeated(resp: urllib3.BaseHTTPResponse) -> bool:
    """True if an earlier attempt of ``resp``'s request may have reached Swift and
    taken effect (its answer was lost: a reset, a timeout, or a 5xx), so ``resp``
    may describe a state that request itself made (a 404 to a repeated DELETE,
    a 412 to a repeated create-only PUT)."""
    return bool(getattr(resp, "sciswift_maybe_repeated", False))


def object_path(container: str | None = None, name: str | None = None) -> str:
    """The quoted ``/container/name`` suffix of an account URL."""
    path = ""
    if container is not None:
        path += "/" + quote(container.encode("utf-8"), safe="")
        if name is not None:
            path += "/" + quote(name.encode("utf-8"), safe="/")
    return path


@dataclass
class Body:
    """A request body that can be produced again for a retry.

    ``open()`` returns a fresh iterator over the bytes each time; ``length`` is the
    Content-Length. ``md5`` is filled with the hex digest of what the last attempt
    actually sent, so the caller can check it against the ETag Swift answers.
    """

    length: int
    open: Callable[[], Iterable[bytes | memoryview]]
    md5: str | None = None
    #: The bytes themselves when they are in memory (sent in one write).
    data: bytes | memoryview | None = None
    #: Frees what backs the body (a spool file) once it is no longer needed.
    release: Callable[[], None] | None = None
    #: Whether to compute ``md5`` while sending (not for an archive, whose
    #: files carry their own).
    digest: bool = True

    def _sending(self) -> Iterator[bytes | memoryview]:
        if not self.digest:
            yield from (block for block in self.open() if block)
            return
        h = hashlib.md5()
        for block in self.open():
            if block:
                h.update(block)
                yield block
        self.md5 = h.hexdigest()

    @classmethod
    def of_bytes(cls, data: bytes | memoryview) -> Body:
        view = memoryview(data)
        step = 1 << 20
        return cls(len(view), lambda: (view[i:i + step] for i in range(0, len(view), step)), data=view)


class SwiftConnection:
    """The shared transport of one SwiftStore (see the module docstring)."""

    def __init__(
        self,
        creds: SwiftCredentials,
        *,
        pool_size: int = 64,
        retries: int = 5,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        user_agent: str = "sciswift",
        prewarm: int = 3,
        token_cache: TokenCache | bool | None = None,
    ) -> None:
        self.creds = creds
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        tls: dict[str, Any] = {}
        if creds.insecure:
            tls["cert_reqs"] = "CERT_NONE"
        elif creds.cacert:
            tls["ca_certs"] = creds.cacert
        # block=False: a thread beyond pool_size gets a fresh connection (closed after
        # use) instead of waiting, so open readers can never starve other requests.
        self.http = urllib3.PoolManager(
            num_pools=8, maxsize=pool_size, block=False, retries=False, timeout=self.timeout,
            headers={"User-Agent": user_agent}, **tls,
        )
        self.prewarm = max(0, min(prewarm, pool_size))
        self._auth_lock = threading.Lock()
        self._storage_url = creds.storage_url if creds.token else None
        self._token = creds.token
        #: Tokens kept between processes (sciswift.store.swift.tokens): the
        #: environment's cache unless one is given or ``token_cache=False``; none
        #: for a connection handed a token of its own.
        self.tokens: TokenCache | None = None
        if isinstance(token_cache, TokenCache):
            self.tokens = token_cache
        elif token_cache is not False and not creds.token:
            self.tokens = TokenCache.from_environment()
        self._info: dict[str, Any] | None = None
        #: ``_info`` came with a kept token (it goes if the token is refused).
        self._info_kept = False
        self._info_lock = threading.Lock()
        self._info_fetch_lock = threading.Lock()
        self._info_fetcher: threading.Thread | None = None
        #: Answers an auth reply carried (``auth_with_prefetch``): ``"METHOD path"``
        #: -> (when it came, the frame), each used once by ``request`` instead of
        #: sending the same read, within ``PREFETCH_FRESH`` seconds.
        self._prefetched: dict[str, tuple[float, Frame]] = {}
        #: The quickest answer seen to a request without a body to send, from
        #: sending it to its response's headers (HEADs, streamed GETs) or to its
        #: end when that was small, or to the auth request: about one network
        #: round trip plus the server's least work. None until one is seen.
        self.round_trip: float | None = None

    # ------------------------------------------------------------------ auth
    def auth(self) -> tuple[str, str]:
        """``(storage_url, token)``, authenticating on first use."""
        url, token = self._storage_url, self._token
        if url and token:
            return url, token
        return self._login(None)

    def auth_with_prefetch(self, reads: Sequence[tuple[str, str]]) -> None:
        """Authenticate now if there is no token yet (none kept either), asking
        the auth reply to answer ``reads`` (``(method, path)``: GET or HEAD of a
        ``/container/object`` path, as ``request`` takes them) at once, where
        the endpoint can (``sciswift serve``; TempAuth v1.0 only). The next
        ``request`` of each read, soon after, takes its answer without a round
        trip. Does nothing when a token is at hand: the reads go as usual."""
        if not (self._storage_url and self._token):
            self._login(reads)

    def _login(self, reads: Sequence[tuple[str, str]] | None) -> tuple[str, str]:
        """``(storage_url, token)``: a kept token, or a new one, with ``reads``
        answered in the auth reply unless None (see ``auth_with_prefetch``)."""
        with self._auth_lock:
            if not (self._storage_url and self._token) and not self._adopt_kept():
                self._warm(self._expected_storage_host())
                # /info too: it is asked for beside the first reads otherwise. None
                # when a storage URL of its own is given: the answers would be for
                # the auth reply's.
                ask: list[tuple[str, str]] = []
                if reads is not None and not self.creds.storage_url:
                    ask = [*reads, ("GET", "/info")] if self._info is None else list(reads)
                frames: list[Frame] = []
                asked_at = time.monotonic()
                self._storage_url, self._token = self._authenticate(ask, frames)
                now = time.monotonic()
                # A fresh process may send nothing else before its first bulk read
                # (the auth reply answered its opening reads), which chooses its
                # requests by the round trip (engine.array, _ALONE_RTT): it was
                # unknown there, and a 1 Gbit/s link at 10 ms then took 758-862 ms
                # for 64 MiB in 1 MiB chunks against 653-657 ms with it known.
                self._saw_round_trip(now - asked_at)
                for frame in frames:
                    if frame.name == "GET /info":
                        self._learn_info(frame)
                    elif frame.status in (200, 404):  # any other answer: the read says precisely what
                        with self._info_lock:
                            self._prefetched[frame.name] = (now, frame)
            url, token = self._storage_url, self._token
            assert url and token  # adopted or authenticated
            return url, token

    def _saw_round_trip(self, took: float) -> None:
        if self.round_trip is None or took < self.round_trip:
            self.round_trip = took

    def _learn_info(self, frame: Frame) -> None:
        """Take ``/info`` from an auth reply's answer (kept with the token)."""
        try:
            info = json.loads(frame.body) if frame.status == 200 else None
        except ValueError:
            info = None
        if not isinstance(info, dict) or self._info is not None:
            return
        with self._info_lock:
            self._info, self._info_kept = info, False
        if info and self.tokens is not None and self._token:
            self.tokens.keep_info(self.creds, self._token, info)

    def _take_prefetched(self, method: str, path: str, stream: bool) -> urllib3.BaseHTTPResponse | None:
        """The answer an auth reply carried for this read (once), as a response."""
        with self._info_lock:
            got = self._prefetched.pop(f"{method} {path}", None)
        if got is None or time.monotonic() - got[0] > PREFETCH_FRESH:
            return None
        frame = got[1]
        return urllib3.HTTPResponse(
            body=io.BytesIO(frame.body), headers=frame.headers, status=frame.status, preload_content=not stream,
            decode_content=False, request_method=method,
        )

    def _adopt_kept(self) -> bool:
        """Take a kept token (and the ``/info`` kept with it) if there is one;
        no request. The caller holds ``_auth_lock``."""
        kept = self.tokens.load(self.creds) if self.tokens is not None else None
        if kept is None:
            return False
        self._storage_url, self._token = kept.storage_url, kept.token
        if kept.info is not None and self._info is None:
            self._info, self._info_kept = kept.info, True
        return True

    def _reauth(self, rejected: str) -> bool:
        """Get a new token after ``rejected`` was refused; False if we cannot."""
        with self._auth_lock:
            if self._token != rejected:
                return True  # another thread already renewed it
            if not self.creds.can_authenticate:
                return False
            if self.tokens is not None:
                self.tokens.forget(self.creds, rejected)
            if self._info_kept:
                # It came with the refused token: maybe from another server.
                with self._info_lock:
                    self._info, self._info_kept, self._info_fetcher = None, False, None
            self._storage_url, self._token = self._authenticate()
            return True

    def _authenticate(self, prefetch: Sequence[tuple[str, str]] = (),
                      prefetched: list[Frame] | None = None) -> tuple[str, str]:
        """A new token (kept for other processes when a token cache is on)."""
        retry = urllib3.Retry(self.retries, backoff_factor=self.backoff, backoff_max=self.max_backoff,
                              status_forcelist=(502, 503, 504), raise_on_status=False)
        url, token, expires = authenticate(self.http, self.creds, float(self.timeout.read_timeout or 60), retry,
                                           prefetch, prefetched)
        if self.tokens is not None:
            self.tokens.save(self.creds, url, token, expires)
        return url, token

    @property
    def storage_url(self) -> str:
        return self.auth()[0]

    # ------------------------------------------------------ warm connections
    def _expected_storage_host(self) -> str | None:
        """Where the storage URL will point, as far as is known before auth: the
        given storage URL, else the auth URL for TempAuth v1.0 (one proxy serves
        both, as in Swift's own deployments); None for Keystone (another host)."""
        if self.creds.storage_url:
            return self.creds.storage_url
        try:
            version = self.creds.resolved_version()
        except SciSwiftError:
            return None
        return self.creds.auth_url if version == "1.0" else None

    def _warm(self, url: str | None) -> None:
        """Open ``prewarm`` connections to ``url``'s host in the background, each
        joining the pool once it is up. Best effort: one that cannot connect is
        dropped, and the requests that wanted it connect on their own."""
        if not url or self.prewarm <= 0:
            return
        try:
            pool = self.http.connection_from_url(url)
        except (urllib3.exceptions.HTTPError, ValueError):
            return
        # The slots are taken here, before auth takes one of its own: a slot given
        # back by one warm thread would otherwise be the next one's (the pool is
        # last in, first out), and auth's connection would be a warm one.
        slots = []
        try:
            for _ in range(self.prewarm):
                conn = pool._get_conn()
                if not conn.is_closed:
                    pool._put_conn(conn)  # live connections exist already
                    break
                slots.append(conn)
        except urllib3.exceptions.HTTPError:
            pass  # the pool was closed meanwhile
        for conn in slots:
            try:
                threading.Thread(target=_connect_into, args=(pool, conn), name="sciswift-warm",
                                 daemon=True).start()
            except RuntimeError:  # no threads to be had: give the slot back unconnected
                pool._put_conn(conn)

    # --------------------------------------------------------------- request
    def request(
        self,
        method: str,
        path: str = "",
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str | bytes] | None = None,
        body: bytes | Body | Iterable[bytes] | None = None,
        stream: bool = False,
        idempotent: bool = True,
        subject: str | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """Send ``method`` to the account URL + ``path`` and return the response.

        Any status comes back (callers map them); only transport failures that
        survive the retries raise, as StoreUnavailable naming the URL. With
        ``stream`` the body is left unread for the caller (who must close the
        response); otherwise it is read and the connection returned to the pool.
        A body that is neither bytes nor a Body is sent once and never retried.
        """
        if self._prefetched and method in ("GET", "HEAD") and body is None and not query and \
                (not headers or set(headers) <= {"X-Newest"}):
            answered = self._take_prefetched(method, path, stream)
            if answered is not None:
                return answered
        retryable_body = body is None or isinstance(body, (bytes, Body))
        can_retry = idempotent and retryable_body
        reauthed = False
        attempt = 0
        sent_before = False  # an earlier attempt may have reached Swift
        started = time.monotonic()
        while True:
            storage_url, token = self.auth()
            url = storage_url.rstrip("/") + path
            if query:
                url += "?" + urlencode(query, quote_via=quote)
            send_headers: dict[str, str | bytes] = {"X-Auth-Token": token, **(headers or {})}
            payload: Any = body
            if isinstance(body, Body):
                send_headers["Content-Length"] = str(body.length)
                if body.data is not None and body.length <= SMALL_BODY:
                    # One write for headers and body: small requests are latency-bound.
                    payload = bytes(body.data)
                    body.md5 = hashlib.md5(payload).hexdigest()
                else:
                    payload = body._sending()
            try:
                sent_at = time.monotonic()
                resp = self._send(method, url, send_headers, payload, stream)
                if payload is None and (stream or method == "HEAD" or len(resp.data or b"") <= _TIMED_BODY):
                    self._saw_round_trip(time.monotonic() - sent_at)
            except urllib3.exceptions.HTTPError as e:
                # A refused or timed-out connection never carried the request.
                sent_before |= not isinstance(e, (urllib3.exceptions.NewConnectionError,
                                                  urllib3.exceptions.ConnectTimeoutError))
                if can_retry and attempt < self.retries:
                    attempt += 1
                    self._sleep(attempt)
                    continue
                what = f"{method} {subject}" if subject else method
                raise StoreUnavailable(
                    f"{what}: cannot reach Swift at {url} ({_reason(e)}) after {attempt + 1} attempt(s) "
                    f"in {time.monotonic() - started:.1f} s; check that the endpoint is up and reachable "
                    "from here, then try again",
                    subject or url,
                ) from None
            resp.sciswift_attempts = attempt + 1  # type: ignore[attr-defined]
            resp.sciswift_maybe_repeated = sent_before  # type: ignore[attr-defined]
            if resp.status == 401 and not reauthed:
                _discard(resp)
                reauthed = True
                if self._reauth(token):
                    continue
            if resp.status in RETRY_STATUSES and can_retry and attempt < self.retries:
                _discard(resp)
                sent_before |= resp.status >= 500
                attempt += 1
                self._sleep(attempt, resp.headers.get("Retry-After"))
                continue
            if resp.status == 401:
                _discard(resp)
                raise Unauthenticated(
                    f"{method} {url}: Swift refused the token"
                    + ("" if self.creds.can_authenticate else " and there are no credentials to renew it"),
                    subject or url,
                )
            return resp

    def _send(self, method: str, url: str, headers: Mapping[str, str | bytes], body: Any,
              stream: bool) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        pool = self.http.connection_from_url(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return pool.urlopen(
            method, target, body=body, headers=headers,  # type: ignore[arg-type]  # bytes values are sent as is retries=False, redirect=False,
            assert_same_host=False, preload_content=not stream, decode_content=False,
            timeout=self.timeout,
        )

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        delay = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        if retry_after and retry_after.isdigit():
            delay = min(self.max_backoff, max(delay, float(retry_after)))
        time.sleep(delay * (0.5 + random.random() / 2))

    # ------------------------------------------------------------------ /info
    def info_if_known(self, wait: float = 0.0) -> dict[str, Any] | None:
        """``/info`` if it was fetched already (or kept with a kept token: see
        ``tokens``), else None after starting to fetch
        it in the background (once): for features worth using only when known,
        so that learning about them never costs a round trip of its own (a
        fresh process opening a file asks for ``/info`` beside the file's root
        document). ``wait``: how long to wait for a fetch already under way."""
        info = self._info
        if info is None and self.tokens is not None and not self._token and self._auth_lock.acquire(blocking=False):
            try:  # a kept token may bring it, without a request
                if not self._token:
                    self._adopt_kept()
            finally:
                self._auth_lock.release()
            info = self._info
        if info is None:
            with self._info_lock:
                fetcher = self._info_fetcher
                if fetcher is None:
                    fetcher = self._info_fetcher = threading.Thread(
                        target=self._fetch_info_quietly, daemon=True, name="sciswift-swift-info")
                    fetcher.start()
                    return None
            if wait > 0:
                fetcher.join(wait)
            info = self._info
        return info

    def _fetch_info_quietly(self) -> None:
        try:
            self.info()
        except SciSwiftError:
            pass  # no credentials or no endpoint: whoever needs /info will say so

    def info(self) -> dict[str, Any]:
        """The endpoint's ``/info`` (capabilities), fetched once; ``{}`` if it has none."""
        if self._info is None:
            # One fetch at a time: a caller that needs /info while the background
            # fetch (info_if_known) is under way waits for it instead of asking
            # again (seen: a file's first PUT waiting for a second /info).
            with self._info_fetch_lock:
                return self._fetch_info()
        return self._info

    def _fetch_info(self) -> dict[str, Any]:
        """``info``'s fetch; the caller holds ``_info_fetch_lock``."""
        if self._info is None:
            storage_url, token = self.auth()
            if self._info is not None:  # kept with the token
                return self._info
            parts = urlsplit(storage_url)
            # /info sits beside /v1 at the API root (which may itself have a path prefix).
            root = parts.path.split("/v1/", 1)[0] if "/v1/" in parts.path else ""
            url = f"{parts.scheme}://{parts.netloc}{root}/info"
            info: Any = {}
            try:
                resp = self.http.request("GET", url, timeout=self.timeout, retries=urllib3.Retry(2))
                if resp.status == 200:
                    info = json.loads(resp.data)
            except (urllib3.exceptions.HTTPError, ValueError):
                pass
            if not isinstance(info, dict):
                info = {}
            self._info, self._info_kept = info, False
            if info and self.tokens is not None:
                self.tokens.keep_info(self.creds, token, info)
        return self._info

    def close(self) -> None:
        self.http.clear()

    def park(self) -> None:
        """No store holds this connection for now (``shared``): the ``/info``
        it learned is from then on treated as a kept one, dropped if the token
        is refused (the server may have been replaced meanwhile)."""
        with self._info_lock:
            if self._info is not None:
                self._info_kept = True


def _connect_into(pool: urllib3.HTTPConnectionPool, conn: urllib3.connection.HTTPConnection) -> None:
    """Connect ``conn`` (a slot taken from ``pool``) and give it back, idle.
    Taking slots with ``_get_conn`` and giving them back with ``_put_conn`` is
    the pool's own borrow-and-return cycle (what ``urlopen`` does)."""
    try:
        conn.connect()
    except (OSError, urllib3.exceptions.HTTPError):
        conn.close()
    pool._put_conn(conn)


def _reason(e: Exception) -> str:
    inner = getattr(e, "reason", None)
    return str(inner or e)


def _discard(resp: urllib3.BaseHTTPResponse) -> None:
    """Finish with a response we will not use, keeping the connection if cheap."""
    try:
        resp.drain_conn()
        resp.release_conn()
    except Exception:
        resp.close()


def raise_for(resp: urllib3.BaseHTTPResponse, method: str, what: str, subject: str,
              special: Mapping[int, type[SciSwiftError]] | None = None) -> None:
    """Raise the sciswift error for an unsuccessful response (nothing for 2xx).

    ``special`` maps statuses whose meaning depends on the request (409 on a
    container DELETE is ContainerNotEmpty, 412 on a create-only PUT AlreadyExists).
    """
    if resp.status < 300:
        return
    try:
        detail = resp.data[:300].decode("utf-8", "replace").strip() if resp.data else ""
    except Exception:
        detail = ""
    reason = resp.reason or ""
    message = f"{what}: {method} answered {resp.status} {reason}".rstrip()
    if detail and detail not in message:
        message += f" ({' '.join(detail.split())})"
    if resp.status == 404 and resp.headers.get(QUARANTINED_HEADER, "").lower() == "true":
        # Lost, not absent: the server found the object damaged and set it aside.
        raise Quarantined(f"{what} is quarantined by the server (found damaged on its disk; "
                          "put it again or delete it)", subject)
    if resp.status == 403:
        message += ("; the credentials in use may not do this (an ACL decides: the container's owner "
                    "grants reads with `swift post -r 'ACCOUNT:USER' CONTAINER`, writes with -w)")
    if resp.status in RETRY_STATUSES:
        attempts = attempts_of(resp)
        message += (f", {attempts} attempt(s): Swift could not serve it (a proxy or storage node down or "
                    "overloaded, or a server error); try again later")
    cls = (special or {}).get(resp.status)
    raise cls(message, subject) if cls else error_for_status(resp.status, message, subject)

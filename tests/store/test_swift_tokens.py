"""Tokens kept between processes (sciswift.store.swift.tokens): a fresh process
skips the auth request, a refused token is renewed, other credentials never use
someone's kept token, and the files are the user's alone."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saio_fixtures import ServerEndpoint
from sciswift.errors import NotFound, Unauthenticated
from sciswift.store.swift import SwiftStore
from sciswift.store.swift.auth import SwiftCredentials
from sciswift.store.swift.tokens import INFO_MAX_AGE, INFO_MAX_BYTES, MARGIN, TokenCache
from support.latency_proxy import LatencyProxy

RTT = 0.1
USER, KEY = "test:tester", "testing"


def _creds(auth_url: str, key: str = KEY) -> SwiftCredentials:
    return SwiftCredentials(auth_url=auth_url, user=USER, key=key, auth_version="1.0")


def _head_missing(store: SwiftStore) -> None:
    with pytest.raises(NotFound):
        store.head_object("no-such-container", "x")


def test_a_second_store_uses_the_kept_token(sciswift_server: ServerEndpoint, tmp_path: Path) -> None:
    port = int(sciswift_server.url.rsplit(":", 1)[1])
    cache = TokenCache(tmp_path / "tokens")
    with LatencyProxy(("127.0.0.1", port), rtt=RTT) as link:
        auth_url = link.url + "/auth/v1.0"
        first = SwiftStore(auth_url, USER, KEY, token_cache=cache, share_connections=False)
        _head_missing(first)
        first.close()
        assert link.requests == 2  # auth, HEAD
        link.reset()
        second = SwiftStore(auth_url, USER, KEY, token_cache=cache, share_connections=False)
        _head_missing(second)
        second.close()
        # No auth: the HEAD alone, after its connection's handshake.
        assert (link.requests, link.rounds) == (1, 2), link.history
    assert cache.load(_creds(auth_url)) is not None


def test_a_fresh_process_skips_auth(sciswift_server: ServerEndpoint, tmp_path: Path) -> None:
    """The point of keeping tokens: the next process's first request is its own."""
    port = int(sciswift_server.url.rsplit(":", 1)[1])
    script = ("from sciswift.store import SwiftStore\n"
              "s = SwiftStore.from_environment()\n"
              "print(len(s.list_containers()))\n")
    with LatencyProxy(("127.0.0.1", port), rtt=RTT) as link:
        env = {**os.environ, "ST_AUTH": link.url + "/auth/v1.0", "ST_USER": USER, "ST_KEY": KEY,
               "SCISWIFT_TOKEN_CACHE": "1", "SCISWIFT_TOKEN_CACHE_DIR": str(tmp_path / "t")}
        auths = []
        for _ in range(2):
            link.reset()
            subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, timeout=60)
            auths.append([line for _, line in link.history if "/auth/" in line])
            assert link.history and "/auth/" not in link.history[-1][1]  # the listing ran
        assert [len(a) for a in auths] == [1, 0]
        off = {**env, "SCISWIFT_TOKEN_CACHE": "0"}
        link.reset()
        subprocess.run([sys.executable, "-c", script], env=off, check=True, capture_output=True, timeout=60)
        assert sum("/auth/" in line for _, line in link.history) == 1


def _keep_a_refused_token(auth_url: str, tmp_path: Path) -> tuple[TokenCache, SwiftCredentials]:
    """A cache holding a token the server will refuse, for the right storage URL."""
    cache = TokenCache(tmp_path / "tokens")
    creds = _creds(auth_url)
    probe = SwiftStore(credentials=creds, token_cache=False, share_connections=False)
    storage_url = probe._conn.auth()[0]
    probe.close()
    cache.save(creds, storage_url, "AUTH_tk-not-a-token", time.time() + 3600)
    return cache, creds


def test_a_refused_token_is_renewed_and_kept(sciswift_server: ServerEndpoint, tmp_path: Path) -> None:
    cache, creds = _keep_a_refused_token(sciswift_server.auth_url, tmp_path)
    store = SwiftStore(credentials=creds, token_cache=cache, share_connections=False)
    assert isinstance(store.list_containers(), list)  # 401, new token, retried
    store.close()
    kept = cache.load(creds)
    assert kept is not None and kept.token != "AUTH_tk-not-a-token"
    again = SwiftStore(credentials=creds, token_cache=cache, share_connections=False)
    assert again._conn.auth()[1] == kept.token
    again.close()


def test_the_endpoint_info_is_kept_with_the_token(sciswift_server: ServerEndpoint, tmp_path: Path) -> None:
    """A fresh store with a kept token knows the endpoint's capabilities at once:
    no ``/info`` request, not even in the background."""
    port = int(sciswift_server.url.rsplit(":", 1)[1])
    cache = TokenCache(tmp_path / "tokens")
    with LatencyProxy(("127.0.0.1", port), rtt=0.01) as link:
        auth_url = link.url + "/auth/v1.0"
        first = SwiftStore(auth_url, USER, KEY, token_cache=cache, share_connections=False)
        info = first.capabilities()
        first.close()
        assert info.get("sciswift", {}).get("batched_get")  # our server's
        assert sum("/info" in line for _, line in link.history) == 1
        link.reset()
        second = SwiftStore(auth_url, USER, KEY, token_cache=cache, share_connections=False)
        assert second._conn.info_if_known() == info  # known before any request
        assert second.batches_gets and second.capabilities() == info
        _head_missing(second)
        second.close()
        assert [line for _, line in link.history if "/info" in line or "/auth/" in line] == []
        assert link.requests == 1  # the HEAD


def test_a_kept_info_goes_with_a_refused_token(sciswift_server: ServerEndpoint, tmp_path: Path) -> None:
    """The kept /info describes the server that issued the kept token: when the
    token is refused (another or a reset server), the info is asked for again."""
    cache, creds = _keep_a_refused_token(sciswift_server.auth_url, tmp_path)
    cache.keep_info(creds, "AUTH_tk-not-a-token", {"swift": {"version": "elsewhere"}})
    kept = cache.load(creds)
    assert kept is not None and kept.info == {"swift": {"version": "elsewhere"}}
    store = SwiftStore(credentials=creds, token_cache=cache, share_connections=False)
    assert store._conn.info_if_known() == {"swift": {"version": "elsewhere"}}
    assert isinstance(store.list_containers(), list)  # 401, new token, retried
    info = store.capabilities()  # asked anew, from this server
    store.close()
    assert info.get("swift", {}).get("version") != "elsewhere" and "sciswift" in info
    kept = cache.load(creds)
    assert kept is not None and kept.token != "AUTH_tk-not-a-token" and kept.info == info


def test_a_kept_info_is_used_while_fresh_and_only_with_its_token(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens")
    creds = _creds("http://127.0.0.1:9/auth/v1.0")
    now = time.time()
    cache.save(creds, "http://x/v1/AUTH_a", "tok", now + 3600)
    cache.keep_info(creds, "another", {"a": 1})  # fetched with a token no longer kept
    kept = cache.load(creds)
    assert kept is not None and kept.info is None
    cache.keep_info(creds, "tok", {"a": 1}, now=now)
    assert cache.load(creds, now=now + 1).info == {"a": 1}  # type: ignore[union-attr]
    stale = cache.load(creds, now=now + INFO_MAX_AGE + 1)
    assert stale is not None and stale.token == "tok" and stale.info is None  # the token still serves
    cache.keep_info(creds, "tok", {"big": "x" * INFO_MAX_BYTES}, now=now)  # too big: the old one stays
    assert cache.load(creds, now=now + 1).info == {"a": 1}  # type: ignore[union-attr]
    cache.save(creds, "http://x/v1/AUTH_a", "tok2", now + 3600)  # a new token starts without
    assert cache.load(creds, now=now + 1).info is None  # type: ignore[union-attr]


def test_other_credentials_never_use_a_kept_token(sciswift_server: ServerEndpoint, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens")
    good = SwiftStore(sciswift_server.auth_url, USER, KEY, token_cache=cache, share_connections=False)
    good.list_containers()
    good.close()
    assert cache.load(_creds(sciswift_server.auth_url)) is not None
    assert cache.load(_creds(sciswift_server.auth_url, key="wrong")) is None
    wrong = SwiftStore(sciswift_server.auth_url, USER, "wrong", token_cache=cache, share_connections=False)
    with pytest.raises(Unauthenticated):
        wrong.list_containers()
    wrong.close()
    other = SwiftCredentials(auth_url=sciswift_server.auth_url, user="test2:tester2", key=KEY, auth_version="1.0")
    assert cache.load(other) is None


def test_entries_are_private_and_hold_no_secret(sciswift_server: ServerEndpoint, tmp_path: Path) -> None:
    folder = tmp_path / "tokens"
    cache = TokenCache(folder)
    store = SwiftStore(sciswift_server.auth_url, USER, KEY, token_cache=cache, share_connections=False)
    store.list_containers()
    store.close()
    (entry,) = list(folder.iterdir())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    text = entry.read_text()
    assert KEY not in text and USER not in text and "127.0.0.1" not in entry.name
    # The endpoint's /info (public: the server's capabilities) may be kept beside the token.
    assert set(json.loads(text)) - {"info", "info_time"} == {"storage_url", "token", "expires", "salt", "check"}
    creds = _creds(sciswift_server.auth_url)
    assert cache.load(creds) is not None
    entry.chmod(0o644)  # readable by others: not trusted
    assert cache.load(creds) is None
    entry.chmod(0o600)
    entry.write_text("{not json")
    assert cache.load(creds) is None  # damaged: as good as none
    fresh = SwiftStore(sciswift_server.auth_url, USER, KEY, token_cache=cache, share_connections=False)
    assert isinstance(fresh.list_containers(), list)
    fresh.close()
    assert cache.load(creds) is not None  # rewritten whole


def test_only_tokens_with_time_left_are_kept_and_used(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens")
    creds = _creds("http://127.0.0.1:9/auth/v1.0")
    cache.save(creds, "http://x/v1/AUTH_a", "tok", None)  # expiry unknown: not kept
    assert not (tmp_path / "tokens").exists() or not list((tmp_path / "tokens").iterdir())
    cache.save(creds, "http://x/v1/AUTH_a", "tok", time.time() + MARGIN / 2)
    assert cache.load(creds) is None
    cache.save(creds, "http://x/v1/AUTH_a", "tok", time.time() + MARGIN * 4)
    kept = cache.load(creds)
    assert kept is not None and (kept.storage_url, kept.token) == ("http://x/v1/AUTH_a", "tok")
    cache.forget(creds, "another")  # renewed elsewhere: stays
    assert cache.load(creds) is not None
    cache.forget(creds, "tok")
    assert cache.load(creds) is None


def test_the_environment_turns_it_off_or_moves_it(tmp_path: Path) -> None:
    assert TokenCache.from_environment({"SCISWIFT_TOKEN_CACHE": "0"}) is None
    assert TokenCache.from_environment({"SCISWIFT_TOKEN_CACHE": "off"}) is None
    moved = TokenCache.from_environment({"SCISWIFT_TOKEN_CACHE_DIR": str(tmp_path)})
    assert moved is not None and moved.directory == tmp_path
    xdg = TokenCache.from_environment({"XDG_CACHE_HOME": str(tmp_path)})
    assert xdg is not None and xdg.directory == tmp_path / "sciswift" / "tokens"
    given = SwiftStore(storage_url="http://127.0.0.1:9/v1/AUTH_a", token="t")
    assert given._conn.tokens is None  # a store handed a token keeps nothing
    given.close()


def test_real_swift_tokens_are_kept_too(saio: object, tmp_path: Path) -> None:
    """TempAuth in a real Swift says how long its tokens live, so they are kept."""
    auth_url, user, key = saio.auth_url, saio.user, saio.key  # type: ignore[attr-defined]
    cache = TokenCache(tmp_path / "tokens")
    first = SwiftStore(auth_url, user, key, token_cache=cache, share_connections=False)
    first.list_containers()
    token = first._conn.auth()[1]
    first.close()
    kept = cache.load(SwiftCredentials(auth_url=auth_url, user=user, key=key))
    assert kept is not None and kept.token == token
    second = SwiftStore(auth_url, user, key, token_cache=cache, share_connections=False)
    assert second._conn.auth()[1] == token
    assert isinstance(second.list_containers(), list)
    second.close()

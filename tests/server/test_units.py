"""The server's building blocks, tested directly: tokens, users and config
files, ACL syntax, ranges, conditions, listings, timestamps."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from multidict import CIMultiDict

from sciswift.errors import InvalidInput
from sciswift.server.acl import (
    account_acls_from,
    clean_acl,
    parse_acl,
    referrer_allowed,
    validate_account_acl,
)
from sciswift.server.app import split_path
from sciswift.server.auth import TempAuth
from sciswift.server.conditional import check_conditions
from sciswift.server.config import ServerConfig, load_config_file, parse_users_text
from sciswift.server.listing import list_path, render_objects
from sciswift.server.ranges import multipart_length, parse_ranges, resolve_ranges
from sciswift.server.times import http_date, iso_timestamp, x_timestamp
from sciswift.store.memory import MemoryStore
from sciswift.store.types import ListingParams, ObjectInfo, Subdir

USERS = parse_users_text(
    textwrap.dedent(
        """
        [filter:tempauth]
        user_test_tester = testing .admin
        user_test_tester3 = testing3
        user_admin_admin = admin .admin .reseller_admin http://example.com/v1/AUTH_admin
        user64_dW5kZXJfc2NvcmU_dXNlcg = secret
        """
    )
)


# ----------------------------------------------------------------- users
def test_users_file_syntax() -> None:
    assert set(USERS) == {"test:tester", "test:tester3", "admin:admin", "under_score:user"}
    assert USERS["test:tester"].groups == (".admin",)
    assert USERS["admin:admin"].groups == (".admin", ".reseller_admin")  # storage URL dropped
    assert USERS["under_score:user"].key == "secret"
    for bad in ("user_nounderscore = k", "something = k", "user_a_b =", "user_a_b"):
        with pytest.raises(InvalidInput):
            parse_users_text(bad)


def test_config_file(tmp_path: Path) -> None:
    (tmp_path / "users.conf").write_text("user_x_y = k .admin\n")
    conf = tmp_path / "s.conf"
    conf.write_text("[server]\nport = 9999\ndata = store\nworkers = 2\nusers = users.conf\n"
                    "[users]\nuser_a_b = kb\n")
    settings = load_config_file(conf)
    assert settings["port"] == 9999 and settings["workers"] == 2
    assert settings["data_dir"] == (tmp_path / "store").resolve()
    assert set(settings["users"]) == {"x:y", "a:b"}  # type: ignore[arg-type]
    conf.write_text("[server]\nport = many\n")
    with pytest.raises(InvalidInput, match="bad value"):
        load_config_file(conf)
    conf.write_text("[server]\ns3_storage_domain = s3.example.org, .Localhost,\n")
    assert load_config_file(conf)["s3_storage_domains"] == ("s3.example.org", "localhost")


def test_default_user() -> None:
    cfg = ServerConfig().with_default_user()
    assert list(cfg.users) == ["test:tester"] and cfg.users["test:tester"].is_admin
    assert ServerConfig(users=dict(USERS)).with_default_user().users == USERS


# ---------------------------------------------------------------- tokens
def test_tokens_are_signed_and_expire() -> None:
    auth = TempAuth(USERS, secret=b"k" * 32, token_life=100)
    token, expires = auth.issue_token(USERS["test:tester"], now=1000.0)
    assert expires == 1100 and token.startswith("AUTH_tk")
    assert auth.user_for_token(token, now=1050.0) is USERS["test:tester"]
    assert auth.user_for_token(token, now=1101.0) is None  # expired
    assert auth.user_for_token(token[:-1] + ("0" if token[-1] != "0" else "1"), now=1050.0) is None
    other_worker = TempAuth(USERS, secret=b"k" * 32)
    assert other_worker.user_for_token(token, now=1050.0) is USERS["test:tester"]
    assert TempAuth(USERS, secret=b"x" * 32).user_for_token(token, now=1050.0) is None
    # changing a user's key revokes its tokens
    changed = dict(USERS)
    changed["test:tester"] = parse_users_text("user_test_tester = newkey .admin")["test:tester"]
    assert TempAuth(changed, secret=b"k" * 32).user_for_token(token, now=1050.0) is None


def test_groups_follow_tempauth() -> None:
    auth = TempAuth(USERS)
    assert auth.groups_of(USERS["test:tester"]) == ["test", "test:tester", "AUTH_test", "SERVICE_test"]
    assert auth.groups_of(USERS["test:tester3"]) == ["test", "test:tester3"]


# ------------------------------------------------------------------ ACLs
def test_clean_acl() -> None:
    assert clean_acl("x-container-read", " bob , sue ,, ") == "bob,sue"
    assert clean_acl("x-container-read", ".referrer : *, .rlistings") == ".r:*,.rlistings"
    assert clean_acl("x-container-read", ".ref:*.example.com") == ".r:.example.com"
    for bad in (".r:", ".r:-", ".bad:x"):
        with pytest.raises(ValueError):
            clean_acl("x-container-read", bad)
    with pytest.raises(ValueError, match="write"):
        clean_acl("x-container-write", ".r:*")


def test_referrers() -> None:
    refs, groups = parse_acl(".r:.example.com,.r:-bad.example.com,AUTH_x,test%3Auser")
    assert groups == ["AUTH_x", "test:user"]
    assert referrer_allowed("http://www.example.com/x", refs)
    assert not referrer_allowed("http://bad.example.com/", refs)
    assert not referrer_allowed(None, refs)
    assert referrer_allowed("http://anything/", ["*"])


def test_account_acls() -> None:
    assert validate_account_acl('{"admin":["a"],"read-only":[]}') is None
    assert "Syntax error" in (validate_account_acl("nope") or "")
    assert "not recognized" in (validate_account_acl('{"boss":["a"]}') or "")
    assert "must be a list" in (validate_account_acl('{"admin":"a"}') or "")
    assert account_acls_from("{}") is None
    assert account_acls_from(json.dumps({"read-write": ["u"]})) == {"admin": [], "read-write": ["u"], "read-only": []}


# ---------------------------------------------------------------- ranges
def test_ranges_follow_swob() -> None:
    assert parse_ranges("bytes = 0 - 9") == [(0, 9)]
    assert parse_ranges("bytes=5-") == [(5, None)] and parse_ranges("bytes=-5") == [(None, 5)]
    for bad in ("bytes=9-1", "pages=1-2", "bytes=", "bytes=a-b", None):
        assert parse_ranges(bad) is None
    assert resolve_ranges([(0, 9)], 5) == [(0, 5)]
    assert resolve_ranges([(None, 100)], 10) == [(0, 10)]
    assert resolve_ranges([(None, 0)], 10) == []
    assert resolve_ranges([(10, None)], 10) == []
    assert resolve_ranges([(0, 0), (20, 30)], 10) == [(0, 1)]
    assert resolve_ranges([(0, 5), (1, 6), (2, 7), (3, 8)], 100) == []  # too many overlaps
    assert resolve_ranges([(i, i) for i in range(51)], 100) == []  # too many ranges


def test_multipart_length_is_exact() -> None:
    import asyncio

    from sciswift.server.ranges import multipart_body

    data = bytes(range(100))

    async def fetch(a: int, b: int):  # type: ignore[no-untyped-def]
        yield data[a:b]

    async def collect() -> bytes:
        return b"".join([c async for c in multipart_body([(0, 3), (50, 60)], "bnd", "text/x", 100, fetch)])

    body = asyncio.run(collect())
    assert len(body) == multipart_length([(0, 3), (50, 60)], "bnd", "text/x", 100)
    assert body.startswith(b"--bnd\r\nContent-Type: text/x\r\nContent-Range: bytes 0-2/100\r\n\r\n")
    assert body.endswith(b"--bnd--")


# ------------------------------------------------------------ conditions
def test_conditions_in_swob_order() -> None:
    ts = 1_700_000_000.2
    lm = http_date(ts)

    def check(**headers: str) -> int | None:
        return check_conditions(CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()}), "abc", ts)

    assert check(If_None_Match='"abc"') == 304 and check(If_None_Match="*") == 304
    assert check(If_Match="x, y") == 412 and check(If_Match='"abc"') is None
    assert check(If_Modified_Since=lm) == 304
    assert check(If_Unmodified_Since="Mon, 01 Jan 2001 00:00:00 GMT") == 412
    assert check(If_Modified_Since="not a date") is None


# ----------------------------------------------------------- listings etc
def test_split_path() -> None:
    assert split_path("/v1/a/c/o/with/slashes") == ("v1", "a", "c", "o/with/slashes")
    assert split_path("/v1/a/") == ("v1", "a", None, None)
    assert split_path("/v1") == ("v1", None, None, None)
    for bad in ("//v1/a", "/v1//c", "v1/a", ""):
        with pytest.raises(ValueError):
            split_path(bad)


def test_path_listing() -> None:
    store = MemoryStore()
    store.create_container("c")
    for n in ["d/", "d/a", "d/sub/", "d/sub/x", "d/sub/y/z", "d/z", "e"]:
        store.put_object("c", n, b"")
    names = [e.name for e in list_path(store, "c", "d", ListingParams())]
    assert names == ["d/a", "d/sub/", "d/z"]
    names = [e.name for e in list_path(store, "c", "d", ListingParams(limit=2))]
    assert names == ["d/a", "d/sub/"]
    names = [e.name for e in list_path(store, "c", "d", ListingParams(reverse=True))]
    assert names == ["d/z", "d/sub/", "d/a"]
    assert [e.name for e in list_path(store, "c", "", ListingParams())] == ["d/", "e"]


def test_render_objects_formats() -> None:
    entries = [ObjectInfo("a&b", 3, "e", 1_700_000_000.5, "text/plain"), Subdir("d/")]

    def rec(i: ObjectInfo) -> dict:  # type: ignore[type-arg]
        return {"bytes": i.size, "hash": i.etag, "name": i.name, "content_type": i.content_type,
                "last_modified": iso_timestamp(i.timestamp)}

    assert render_objects(entries, "text", "c", rec) == b"a&b\nd/\n"
    assert json.loads(render_objects(entries, "json", "c", rec))[1] == {"subdir": "d/"}
    xml = render_objects(entries, "xml", "c", rec)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c">')
    assert b"<name>a&amp;b</name>" in xml and b'<subdir name="d/"><name>d/</name></subdir>' in xml


def test_timestamps_agree() -> None:
    ts = 1795742734.628641234
    assert x_timestamp(ts) == "1795742734.62864"
    assert iso_timestamp(ts) == "2026-11-27T01:25:34.628640"
    assert http_date(ts) == "Fri, 27 Nov 2026 01:25:35 GMT"  # rounded up, as Swift


@pytest.mark.parametrize("stuck", [False, True])
def test_worker_exit_does_not_wait_forever_for_stuck_store_calls(stuck: bool) -> None:
    """A store call that never returns must not keep a stopped worker alive
    (the interpreter joins pool threads at exit); a finished one is waited for."""
    import subprocess
    import sys
    import time

    program = textwrap.dedent(f"""
        import threading, time
        from sciswift.server.runner import _leave_stuck_threads
        release = threading.Event()
        threading.Thread(target=release.wait, args=({1000 if stuck else 0.2},), name="store-call").start()
        _leave_stuck_threads(1.0)
        print("left normally", flush=True)
    """)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - start
    if stuck:
        assert proc.returncode == 1 and "left normally" not in proc.stdout
        assert "still running" in proc.stderr and "store-call" in proc.stderr
    else:
        assert proc.returncode == 0 and "left normally" in proc.stdout
    assert elapsed < 10

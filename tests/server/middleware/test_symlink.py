"""Symlinks through python-swiftclient: dynamic and static links, what a link
may reach (never more than the caller could read directly), loops and
chains, and how links show in listings, POSTs and copies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest
from swiftclient import client as swift_client

from ..conftest import RunningServer

EMPTY_MD5 = hashlib.md5(b"").hexdigest()


def status_of(call: Callable[[], object]) -> int:
    with pytest.raises(swift_client.ClientException) as caught:
        call()
    return caught.value.http_status  # type: ignore[no-any-return]


@pytest.fixture
def two(conn: swift_client.Connection, new_container: Callable[..., str]) -> tuple[str, str]:
    """A target container holding ``target`` (b"the target") and a link container."""
    tgt, links = new_container(), new_container()
    conn.put_object(tgt, "target", b"the target", content_type="text/target")
    return tgt, links


def test_dynamic_link_reads_its_target(conn: swift_client.Connection, two: tuple[str, str]) -> None:
    tgt, links = two
    conn.put_object(links, "ln", b"", headers={"X-Symlink-Target": f"{tgt}/target"})
    headers, body = conn.get_object(links, "ln")
    assert body == b"the target"
    assert headers["content-location"] == f"/v1/AUTH_test/{tgt}/target"
    assert headers["content-type"] == "text/target"
    # ?symlink=get reads the link itself
    headers, body = conn.get_object(links, "ln", query_string="symlink=get")
    assert body == b"" and headers["x-symlink-target"] == f"{tgt}/target"
    assert headers["content-type"] == "application/symlink"
    # ranges apply to the target
    assert conn.get_object(links, "ln", headers={"Range": "bytes=4-9"})[1] == b"target"
    # deleting the link leaves the target
    conn.delete_object(links, "ln")
    assert conn.get_object(tgt, "target")[1] == b"the target"


def test_link_may_be_made_before_its_target(conn: swift_client.Connection, two: tuple[str, str]) -> None:
    tgt, links = two
    conn.put_object(links, "early", b"", headers={"X-Symlink-Target": f"{tgt}/later"})
    assert status_of(lambda: conn.get_object(links, "early")) == 404
    conn.put_object(tgt, "later", b"now here")
    assert conn.get_object(links, "early")[1] == b"now here"


def test_static_link_checks_its_target(conn: swift_client.Connection, two: tuple[str, str]) -> None:
    tgt, links = two
    etag = conn.head_object(tgt, "target")["etag"]
    headers = {"X-Symlink-Target": f"{tgt}/target", "X-Symlink-Target-Etag": etag}
    conn.put_object(links, "static", b"", headers=headers)
    assert conn.get_object(links, "static")[1] == b"the target"
    # a static link needs its target to exist with that ETag
    assert status_of(lambda: conn.put_object(links, "bad", b"", headers={
        "X-Symlink-Target": f"{tgt}/target", "X-Symlink-Target-Etag": "0" * 32})) == 409
    assert status_of(lambda: conn.put_object(links, "none", b"", headers={
        "X-Symlink-Target": f"{tgt}/missing", "X-Symlink-Target-Etag": etag})) == 409
    # once the target changes the link refuses to read it
    conn.put_object(tgt, "target", b"changed")
    assert status_of(lambda: conn.get_object(links, "static")) == 409


def test_link_never_reaches_more_than_the_caller_may(server: RunningServer, conn: swift_client.Connection,
                                                     two: tuple[str, str]) -> None:
    tgt, links = two
    conn.post_container(links, {"X-Container-Read": "test:tester3"})
    conn.put_object(links, "ln", b"", headers={"X-Symlink-Target": f"{tgt}/target"})
    reader = server.connection("test:tester3", "testing3")
    # the link is readable, its target container is not: 403, not the data
    assert reader.get_object(links, "ln", query_string="symlink=get")[1] == b""
    assert status_of(lambda: reader.get_object(links, "ln")) == 403
    conn.post_container(tgt, {"X-Container-Read": "test:tester3"})
    assert reader.get_object(links, "ln")[1] == b"the target"


def test_cross_account_link_needs_the_other_accounts_acl(server: RunningServer, conn: swift_client.Connection,
                                                         two: tuple[str, str]) -> None:
    tgt, _ = two
    other = server.connection("test2:tester2", "testing2")
    other.put_container("links-from-test2")
    try:
        other.put_object("links-from-test2", "ln", b"", headers={
            "X-Symlink-Target": f"{tgt}/target", "X-Symlink-Target-Account": "AUTH_test"})
        assert status_of(lambda: other.get_object("links-from-test2", "ln")) == 403
        conn.post_container(tgt, {"X-Container-Read": "test2"})
        headers, body = other.get_object("links-from-test2", "ln")
        assert body == b"the target" and headers["content-location"] == f"/v1/AUTH_test/{tgt}/target"
        # anonymous callers get 401 through the link as directly
        anon_resp, _ = server.raw("GET", "/v1/AUTH_test2/links-from-test2/ln")
        assert anon_resp.status == 401
    finally:
        other.delete_object("links-from-test2", "ln")
        other.delete_container("links-from-test2")


def test_loops_and_long_chains_are_409(conn: swift_client.Connection, two: tuple[str, str]) -> None:
    _, links = two
    conn.put_object(links, "a", b"", headers={"X-Symlink-Target": f"{links}/b"})
    conn.put_object(links, "b", b"", headers={"X-Symlink-Target": f"{links}/a"})
    with pytest.raises(swift_client.ClientException) as caught:
        conn.get_object(links, "a")
    assert caught.value.http_status == 409
    assert caught.value.http_response_content == b"Too many levels of symbolic links, maximum allowed is 2"
    # a link to itself is refused outright
    assert status_of(lambda: conn.put_object(links, "self", b"", headers={
        "X-Symlink-Target": f"{links}/self"})) == 400


def test_link_requests_are_checked(conn: swift_client.Connection, two: tuple[str, str]) -> None:
    tgt, links = two
    assert status_of(lambda: conn.put_object(links, "ln", b"body", headers={
        "X-Symlink-Target": f"{tgt}/target"})) == 400
    assert status_of(lambda: conn.put_object(links, "ln", b"", headers={"X-Symlink-Target": "no-slash"})) == 412
    assert status_of(lambda: conn.post_object(tgt, "target", {"X-Symlink-Target": f"{tgt}/x"})) == 400


def test_post_to_a_link_applies_to_it_and_redirects(server: RunningServer, conn: swift_client.Connection,
                                                    two: tuple[str, str]) -> None:
    tgt, links = two
    conn.put_object(links, "ln", b"", headers={"X-Symlink-Target": f"{tgt}/target"})
    token = conn.get_auth()[1]
    resp, _ = server.raw("POST", f"/v1/AUTH_test/{links}/ln",
                         b"", {"X-Auth-Token": token, "X-Object-Meta-Color": "red"})
    assert resp.status == 307 and resp.getheader("Location") == f"/v1/AUTH_test/{tgt}/target"
    assert conn.head_object(links, "ln", query_string="symlink=get")["x-object-meta-color"] == "red"
    assert "x-object-meta-color" not in conn.head_object(tgt, "target")


def test_listing_shows_link_targets(conn: swift_client.Connection, two: tuple[str, str]) -> None:
    tgt, links = two
    etag = conn.head_object(tgt, "target")["etag"]
    conn.put_object(links, "dyn", b"", headers={"X-Symlink-Target": f"{tgt}/target"})
    conn.put_object(links, "sta", b"", headers={"X-Symlink-Target": f"{tgt}/target",
                                                "X-Symlink-Target-Etag": etag})
    entries = {e["name"]: e for e in conn.get_container(links)[1]}
    assert entries["dyn"]["symlink_path"] == f"/v1/AUTH_test/{tgt}/target"
    assert entries["dyn"]["hash"] == EMPTY_MD5 and "symlink_etag" not in entries["dyn"]
    assert entries["sta"]["symlink_etag"] == etag and entries["sta"]["symlink_bytes"] == len(b"the target")
    assert entries["sta"]["content_type"] == "text/target"  # a static link takes its target's type


def test_copy_copies_the_target_unless_asked_for_the_link(conn: swift_client.Connection,
                                                          two: tuple[str, str]) -> None:
    tgt, links = two
    conn.put_object(links, "ln", b"", headers={"X-Symlink-Target": f"{tgt}/target"})
    conn.copy_object(links, "ln", f"/{links}/plain-copy")
    headers, body = conn.get_object(links, "plain-copy")
    assert body == b"the target" and "content-location" not in headers
    conn.put_object(links, "link-copy", b"", headers={"X-Copy-From": f"/{links}/ln"}, query_string="symlink=get")
    assert conn.head_object(links, "link-copy", query_string="symlink=get")["x-symlink-target"] == f"{tgt}/target"


def test_link_into_slo_and_as_slo_segment(conn: swift_client.Connection, two: tuple[str, str]) -> None:
    tgt, links = two
    conn.put_object(tgt, "seg", b"S" * 10)
    conn.put_object(links, "seg-link", b"", headers={"X-Symlink-Target": f"{tgt}/seg"})
    manifest = [{"path": f"/{links}/seg-link"}, {"path": f"/{tgt}/seg"}]
    conn.put_object(links, "slo", json.dumps(manifest).encode(), query_string="multipart-manifest=put")
    assert conn.get_object(links, "slo")[1] == b"S" * 20
    conn.put_object(links, "to-slo", b"", headers={"X-Symlink-Target": f"{links}/slo"})
    assert conn.get_object(links, "to-slo")[1] == b"S" * 20

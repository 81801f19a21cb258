"""A static large object's segments are checked as a HEAD by the caller would
check them, whether the server asks itself through a sub-request or looks
segments up in the store at once (``slo.segment_heads``): readable plain
objects pass; missing ones, ones in a container the caller may not read, and
symlinks whose target the caller may not read are refused, named."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from swiftclient import client as swift_client

from .conftest import RunningServer


def _manifest(conn: swift_client.Connection, container: str, name: str, paths: list[str]) -> None:
    conn.put_object(container, name, json.dumps([{"path": p} for p in paths]),
                    query_string="multipart-manifest=put")


def _refused(conn: swift_client.Connection, container: str, paths: list[str]) -> str:
    with pytest.raises(swift_client.ClientException) as info:
        _manifest(conn, container, "bad", paths)
    assert info.value.http_status == 400
    return info.value.http_response_content.decode()


def test_segments_are_checked_as_the_caller_s_heads(server: RunningServer) -> None:
    admin = server.connection()
    other = server.connection("test:tester3", "testing3")  # no rights of its own in AUTH_test
    tag = uuid.uuid4().hex[:8]
    readable, hidden, out = f"r{tag}", f"h{tag}", f"o{tag}"
    admin.put_container(readable, headers={"X-Container-Read": "test:tester3"})
    admin.put_container(hidden)
    admin.put_container(out, headers={"X-Container-Write": "test:tester3", "X-Container-Read": "test:tester3"})
    bodies = {f"s{i}": hashlib.sha256(f"{tag}{i}".encode()).digest() * (i + 1) for i in range(6)}
    for name, body in bodies.items():
        admin.put_object(readable, name, body)
    admin.put_object(hidden, "secret", b"not for tester3")
    admin.put_object(readable, "link", b"", headers={"X-Symlink-Target": f"{hidden}/secret"})
    admin.put_object(readable, "link-ok", b"", headers={"X-Symlink-Target": f"{readable}/s0"})

    # Many segments of one container (one looked up through the server, the
    # rest in the store), a symlink among them: the object reads back whole.
    paths = [f"/{readable}/s{i}" for i in range(6)] + [f"/{readable}/link-ok"]
    _manifest(other, out, "big", paths)
    expected = b"".join(bodies[f"s{i}"] for i in range(6)) + bodies["s0"]
    assert other.get_object(out, "big")[1] == expected

    # A missing segment after readable ones is named.
    assert f"/{readable}/nothing" in _refused(other, out, [f"/{readable}/s0", f"/{readable}/nothing"])
    # Segments of a container the caller may not read: refused, every one named.
    text = _refused(other, out, [f"/{readable}/s0", f"/{hidden}/secret", f"/{hidden}/secret2"])
    assert f"/{hidden}/secret" in text and "403" in text
    # A symlink the caller may read, to an object the caller may not: refused.
    text = _refused(other, out, [f"/{readable}/s0", f"/{readable}/s1", f"/{readable}/link"])
    assert f"/{readable}/link" in text and "403" in text
    # The admin may read everything: the same manifests pass.
    _manifest(admin, out, "admin", [f"/{readable}/s1", f"/{hidden}/secret", f"/{readable}/link"])
    assert admin.get_object(out, "admin")[1] == bodies["s1"] + b"not for tester3" * 2

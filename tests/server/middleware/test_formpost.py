"""Form posts: a browser's ``multipart/form-data`` upload signed with a
temp-URL key, stored as objects; bad, expired and over-limit forms refused
with nothing stored."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable

import pytest
from swiftclient import client as swift_client

from ..conftest import RunningServer


def form(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]], boundary: str) -> bytes:
    """A browser's multipart/form-data body: fields first, then files."""
    out = b""
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, filename, data in files:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: text/plain\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def signed_fields(path: str, key: str, *, redirect: str = "", max_size: int = 1024, max_count: int = 5,
                  expires: int | None = None, digest: str = "sha256") -> list[tuple[str, str]]:
    expires = expires if expires is not None else int(time.time()) + 60
    message = f"{path}\n{redirect}\n{max_size}\n{max_count}\n{expires}"
    sig = hmac.new(key.encode(), message.encode(), getattr(hashlib, digest)).hexdigest()
    fields = [("max_file_size", str(max_size)), ("max_file_count", str(max_count)), ("expires", str(expires)),
              ("signature", sig)]
    return ([("redirect", redirect)] if redirect else []) + fields


@pytest.fixture
def keyed(conn: swift_client.Connection, new_container: Callable[..., str]) -> str:
    return new_container({"X-Container-Meta-Temp-URL-Key": "form-key"})


def post_form(server: RunningServer, path: str, body: bytes, boundary: str) -> tuple[int, dict[str, str], bytes]:
    resp, data = server.raw("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return resp.status, dict(resp.getheaders()), data


def test_form_uploads_files_under_the_prefix(server: RunningServer, conn: swift_client.Connection,
                                             keyed: str) -> None:
    path = f"/v1/AUTH_test/{keyed}/up/"
    boundary = uuid.uuid4().hex
    body = form(signed_fields(path, "form-key"), [("f1", "a.txt", b"alpha"), ("f2", "b.txt", b"beta")], boundary)
    status, _, text = post_form(server, path, body, boundary)
    assert (status, text) == (201, b"201 Created")
    assert conn.get_object(keyed, "up/a.txt")[1] == b"alpha"
    headers, data = conn.get_object(keyed, "up/b.txt")
    assert data == b"beta" and headers["content-type"] == "text/plain"


def test_redirect_gets_status_and_message(server: RunningServer, keyed: str) -> None:
    path = f"/v1/AUTH_test/{keyed}/"
    boundary = uuid.uuid4().hex
    fields = signed_fields(path, "form-key", redirect="https://example.org/done", digest="sha512")
    status, headers, _ = post_form(server, path, form(fields, [("f", "r.txt", b"r")], boundary), boundary)
    assert status == 303
    assert headers["Location"] == "https://example.org/done?status=201&message="


@pytest.mark.parametrize("case", ["bad signature", "expired", "too big", "too many", "no key"])
def test_refused_forms_store_nothing(server: RunningServer, conn: swift_client.Connection,
                                     new_container: Callable[..., str], keyed: str, case: str) -> None:
    cont = new_container() if case == "no key" else keyed
    path = f"/v1/AUTH_test/{cont}/"
    boundary = uuid.uuid4().hex
    files = [("f", "x.txt", b"x" * 10)]
    if case == "bad signature":
        fields = signed_fields(path, "other-key")
    elif case == "expired":
        fields = signed_fields(path, "form-key", expires=int(time.time()) - 5)
    elif case == "too big":
        fields = signed_fields(path, "form-key", max_size=5)
    elif case == "too many":
        fields = signed_fields(path, "form-key", max_count=0)
    else:
        fields = signed_fields(path, "form-key")
    status, _, text = post_form(server, path, form(fields, files, boundary), boundary)
    expected = {"bad signature": 401, "expired": 401, "too big": 400, "too many": 400, "no key": 401}[case]
    assert status == expected, text
    assert text.startswith((b"FormPost:", b"400 Bad Request")), text
    assert conn.get_container(cont)[1] == []


def test_a_malformed_body_is_400(server: RunningServer, keyed: str) -> None:
    status, _, text = post_form(server, f"/v1/AUTH_test/{keyed}/", b"not a multipart body", "zzz")
    assert (status, text) == (400, b"FormPost: invalid starting boundary")

"""Temporary URLs against ``sciswift serve``: links made by python-swiftclient
and the ``swift tempurl`` command, used without a token; the security cases
(expired, forged, reused for another object or method, keys hidden from
non-owners, container-key scope)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from swiftclient import client as swift_client
from swiftclient.utils import generate_temp_url

from ..conftest import RunningServer
from .conftest import swift_cli


def fetch(server: RunningServer, url: str, method: str = "GET", data: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request without a token: (status, headers, body)."""
    if url.startswith("/"):
        url = server.url + url
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def account_key(server: RunningServer, conn: swift_client.Connection) -> Iterator[str]:
    key = uuid.uuid4().hex
    conn.post_account({"X-Account-Meta-Temp-URL-Key": key})
    yield key
    conn.post_account({"X-Remove-Account-Meta-Temp-URL-Key": "x"})


@pytest.fixture
def obj(conn: swift_client.Connection, new_container: Callable[..., str]) -> str:
    """A fresh object ``/v1/AUTH_test/<container>/data.bin`` holding b"temp data"."""
    cont = new_container()
    conn.put_object(cont, "data.bin", b"temp data")
    return f"/v1/AUTH_test/{cont}/data.bin"


def test_swift_cli_link_works_without_a_token(server: RunningServer, account_key: str, obj: str) -> None:
    url = swift_cli(server, "tempurl", "GET", "60", obj, account_key).strip()
    status, headers, body = fetch(server, url)
    assert (status, body) == (200, b"temp data")
    assert headers["Content-Disposition"] == "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin"
    assert "Expires" in headers
    # a GET link also allows HEAD, but not PUT
    assert fetch(server, url, "HEAD")[0] == 200
    assert fetch(server, url, "PUT", b"other")[0] == 401


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_every_allowed_digest_hex_and_base64(server: RunningServer, account_key: str, obj: str, digest: str) -> None:
    expires = int(time.time()) + 60
    mac = hmac.new(account_key.encode(), f"GET\n{expires}\n{obj}".encode(), getattr(hashlib, digest))
    for sig in (mac.hexdigest(), f"{digest}:" + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")):
        status, _, body = fetch(server, f"{obj}?temp_url_sig={quote(sig)}&temp_url_expires={expires}")
        assert (status, body) == (200, b"temp data"), sig


def test_expired_forged_and_misused_links_are_refused(server: RunningServer, account_key: str, obj: str) -> None:
    past = int(time.time()) - 10
    expired = generate_temp_url(obj, past, account_key, "GET", absolute=True)
    status, _, body = fetch(server, expired)
    assert (status, body) == (401, b"401 Unauthorized: Temp URL invalid\n")
    good = generate_temp_url(obj, 60, account_key, "GET")
    sig = good.split("temp_url_sig=")[1].split("&")[0]
    forged = good.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
    assert fetch(server, forged)[0] == 401
    longer = good.replace("temp_url_expires=", "temp_url_expires=1")  # a later expiry is not signed
    assert fetch(server, longer)[0] == 401
    other = good.replace("data.bin", "other.bin")
    assert fetch(server, other)[0] == 401
    wrong_key = generate_temp_url(obj, 60, "not-the-key", "GET")
    assert fetch(server, wrong_key)[0] == 401


def test_iso8601_expiry_and_prefix_links(server: RunningServer, account_key: str, obj: str,
                                         conn: swift_client.Connection) -> None:
    iso = generate_temp_url(obj, 60, account_key, "GET", iso8601=True)
    assert "Z" in iso and fetch(server, iso)[0] == 200
    cont = obj.split("/")[3]
    conn.put_object(cont, "dat-2", b"second")
    prefix_link = generate_temp_url(f"/v1/AUTH_test/{cont}/dat", 60, account_key, "GET", prefix=True)
    query = prefix_link.split("?", 1)[1]
    assert fetch(server, f"/v1/AUTH_test/{cont}/data.bin?{query}")[2] == b"temp data"
    assert fetch(server, f"/v1/AUTH_test/{cont}/dat-2?{query}")[2] == b"second"
    conn.put_object(cont, "other", b"x")
    assert fetch(server, f"/v1/AUTH_test/{cont}/other?{query}")[0] == 401


def test_put_link_uploads_and_may_not_point_elsewhere(server: RunningServer, account_key: str,
                                                      conn: swift_client.Connection,
                                                      new_container: Callable[..., str]) -> None:
    cont = new_container()
    path = f"/v1/AUTH_test/{cont}/upload.txt"
    put = generate_temp_url(path, 60, account_key, "PUT")
    assert fetch(server, put, "PUT", b"uploaded")[0] == 201
    assert conn.get_object(cont, "upload.txt")[1] == b"uploaded"
    # headers that would make the object a pointer to other data are refused
    for header in ("X-Object-Manifest", "X-Symlink-Target"):
        status, _, _ = fetch(server, put, "PUT", b"", {header: f"{cont}/x"})
        assert status == 400, header
    # the link's timestamp header is removed, not honoured
    assert fetch(server, put, "PUT", b"again", {"X-Timestamp": "1"})[0] == 201


def test_filename_and_inline_disposition(server: RunningServer, account_key: str, obj: str) -> None:
    url = generate_temp_url(obj, 60, account_key, "GET")
    _, headers, _ = fetch(server, url + "&filename=My%20File.txt")
    assert headers["Content-Disposition"] == "attachment; filename=\"My File.txt\"; filename*=UTF-8''My%20File.txt"
    _, headers, _ = fetch(server, url + "&inline")
    assert headers["Content-Disposition"] == "inline"


def test_object_metadata_is_hidden_from_links(server: RunningServer, account_key: str, obj: str,
                                              conn: swift_client.Connection) -> None:
    cont = obj.split("/")[3]
    conn.post_object(cont, "data.bin", {"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Note": "n"})
    _, headers, _ = fetch(server, generate_temp_url(obj, 60, account_key, "GET"))
    lower = {k.lower() for k in headers}
    assert "x-object-meta-secret" not in lower and "x-object-meta-public-note" in lower


def test_keys_are_visible_to_owners_only(server: RunningServer, conn: swift_client.Connection,
                                         new_container: Callable[..., str]) -> None:
    conn.post_account({"X-Account-Meta-Temp-URL-Key": "acct-secret",
                       "X-Account-Access-Control": '{"read-only": ["test:tester3"]}'})
    cont = new_container({"X-Container-Meta-Temp-URL-Key": "cont-secret", "X-Container-Read": "test:tester3"})
    try:
        assert conn.head_account()["x-account-meta-temp-url-key"] == "acct-secret"
        assert conn.head_container(cont)["x-container-meta-temp-url-key"] == "cont-secret"
        reader = server.connection("test:tester3", "testing3")
        assert "x-account-meta-temp-url-key" not in reader.head_account()
        assert "x-container-meta-temp-url-key" not in reader.head_container(cont)
        # nor may a non-owner set one
        other = server.connection("test:tester3", "testing3")
        with pytest.raises(swift_client.ClientException):
            other.post_container(cont, {"X-Container-Meta-Temp-URL-Key": "mine"})
        assert conn.head_container(cont)["x-container-meta-temp-url-key"] == "cont-secret"
    finally:
        conn.post_account({"X-Remove-Account-Meta-Temp-URL-Key": "x", "X-Account-Access-Control": "{}"})


def test_container_key_reaches_its_container_only(server: RunningServer, conn: swift_client.Connection,
                                                  new_container: Callable[..., str]) -> None:
    keyed = new_container({"X-Container-Meta-Temp-URL-Key": "ckey"})
    segments = new_container()
    conn.put_object(segments, "part-1", b"one ")
    conn.put_object(keyed, "inside-1", b"in ")
    conn.put_object(keyed, "dlo-out", b"", headers={"X-Object-Manifest": f"{segments}/part-"})
    conn.put_object(keyed, "dlo-in", b"", headers={"X-Object-Manifest": f"{keyed}/inside-"})
    ok = generate_temp_url(f"/v1/AUTH_test/{keyed}/dlo-in", 60, "ckey", "GET")
    assert fetch(server, ok)[2] == b"in "
    out = generate_temp_url(f"/v1/AUTH_test/{keyed}/dlo-out", 60, "ckey", "GET")
    assert fetch(server, out)[0] == 401
    # and it signs nothing in other containers
    elsewhere = generate_temp_url(f"/v1/AUTH_test/{segments}/part-1", 60, "ckey", "GET")
    assert fetch(server, elsewhere)[0] == 401


def test_ip_range(server: RunningServer, account_key: str, obj: str) -> None:
    assert fetch(server, generate_temp_url(obj, 60, account_key, "GET", ip_range="127.0.0.0/8"))[0] == 200
    assert fetch(server, generate_temp_url(obj, 60, account_key, "GET", ip_range="10.1.2.3"))[0] == 401

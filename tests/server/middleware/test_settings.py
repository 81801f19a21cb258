"""Middleware settings: ``--config`` sections with Swift's option names, what
``/info`` announces, bad values named precisely, and a running server obeying
them (storage policy names included)."""

from __future__ import annotations

import configparser
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from swiftclient import client as swift_client
from swiftclient.utils import generate_temp_url

from sciswift.errors import InvalidInput
from sciswift.server.config import load_config_file
from sciswift.server.info import info_document
from sciswift.server.middleware.settings import MiddlewareSettings, settings_from_ini

from ..conftest import RunningServer


def parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_defaults_announce_every_middleware_as_swift_does() -> None:
    info = info_document()
    assert info["tempurl"]["allowed_digests"] == ["sha1", "sha256", "sha512"]
    assert info["tempurl"]["deprecated_digests"] == ["sha1"]
    assert info["tempurl"]["methods"] == ["GET", "HEAD", "PUT", "POST", "DELETE"]
    assert info["symlink"] == {"symloop_max": 2, "static_links": True}
    assert info["versioned_writes"] == {"allowed_flags": ["x-versions-location", "x-history-location"]}
    for name in ("formpost", "object_versioning", "staticweb", "domain_remap"):
        assert name in info
    assert info["swift"]["policies"] == [{"name": "Policy-0", "aliases": "Policy-0", "default": True}]


def test_ini_sections_with_swift_names() -> None:
    settings = settings_from_ini(parse("""
[server]
middleware = tempurl symlink versioned_writes
[filter:tempurl]
allowed_digests = sha512
methods = GET HEAD
[symlink]
symloop_max = 0
[versioned_writes]
allow_versioned_writes = false
[domain_remap]
storage_domain = example.net, .other.org
"""), "x.conf")
    assert settings is not None
    assert settings.tempurl.allowed_digests == ("sha512",) and settings.tempurl.methods == ("GET", "HEAD")
    assert settings.symlink.symloop_max == 2  # below 1 means the default, as in Swift
    assert not settings.legacy_versioning and settings.object_versioning
    assert settings.domain_remap.storage_domain == ("example.net", ".other.org")
    info = settings.info()
    assert set(info) == {"tempurl", "symlink", "object_versioning"}
    assert settings_from_ini(parse("[server]\nport = 1\n"), "x.conf") is None


@pytest.mark.parametrize("text, words", [
    ("[server]\nmiddleware = tempurl sorcery\n", "unknown sorcery"),
    ("[tempurl]\nallowed_digests = md5\n", "[tempurl] allowed_digests: unsupported digest(s) md5"),
    ("[symlink]\nsymloop_max = many\n", "[symlink] symloop_max: not an integer"),
    ("[versioned_writes]\nallow_object_versioning = perhaps\n", "allow_object_versioning: expected true or false"),
])
def test_bad_values_name_the_option(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings_from_ini(parse(text), "bad.conf")
    assert words in str(caught.value) and "bad.conf" in str(caught.value)


def test_object_versioning_needs_symlinks() -> None:
    assert not MiddlewareSettings(enabled=frozenset({"versioned_writes"})).object_versioning


def test_config_file_reaches_the_running_server(start_server: Callable[..., RunningServer], tmp_path: Path) -> None:
    conf = tmp_path / "server.conf"
    conf.write_text("""
[server]
middleware = tempurl symlink
[tempurl]
allowed_digests = sha512
[storage-policy:0]
name = gold
[storage-policy:1]
name = silver
""")
    assert load_config_file(conf)["middleware"].tempurl.allowed_digests == ("sha512",)  # type: ignore[attr-defined]
    server = start_server("--backend", "memory", "--config", str(conf))
    with urllib.request.urlopen(f"{server.url}/info", timeout=10) as resp:
        info = json.load(resp)
    assert info["tempurl"]["allowed_digests"] == ["sha512"]
    assert "staticweb" not in info and "versioned_writes" not in info and "object_versioning" not in info
    assert [p["name"] for p in info["swift"]["policies"]] == ["gold", "silver"]
    conn = server.connection()
    conn.post_account({"X-Account-Meta-Temp-URL-Key": "k"})
    conn.put_container("c", headers={"X-Storage-Policy": "silver", "X-Versions-Enabled": "true"})
    assert conn.head_container("c")["x-storage-policy"] == "silver"
    assert "x-versions-enabled" not in conn.head_container("c")  # object versioning is off here
    conn.put_object("c", "o", b"data")
    assert int(conn.head_account()["x-account-storage-policy-silver-object-count"]) == 1
    for digest, expected in (("sha256", 401), ("sha512", 200)):
        url = server.url + generate_temp_url("/v1/AUTH_test/c/o", 60, "k", "GET", digest=digest)
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == expected, digest
    with pytest.raises(swift_client.ClientException) as caught:
        conn.put_container("d", headers={"X-Storage-Policy": "bronze"})
    assert caught.value.http_status == 400

"""Safe beyond loopback: well-known keys are refused on a non-loopback address,
and HTTPS works with the real python-swiftclient and the swift CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from swiftclient import client as swift_client

from sciswift.errors import InvalidInput
from sciswift.server.config import ServerConfig, is_loopback, parse_users_text

from .conftest import RunningServer


def test_loopback_addresses() -> None:
    for host in ("127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "", "::", "10.1.2.3", "192.168.0.7", "example.org"):
        assert not is_loopback(host), host


def test_well_known_keys_refused_beyond_loopback() -> None:
    default = ServerConfig(host="0.0.0.0").with_default_user()
    with pytest.raises(InvalidInput) as info:
        default.check_exposure()
    assert "test:tester" in str(info.value) and "--insecure-default-user" in str(info.value)
    ServerConfig(host="127.0.0.1").with_default_user().check_exposure()  # loopback: fine
    ServerConfig(host="0.0.0.0", insecure_default_user=True).with_default_user().check_exposure()
    strong = ServerConfig(host="0.0.0.0", users=parse_users_text("user_lab_alice = Zq8-w1Kd9_fT2 .admin\n"))
    strong.check_exposure()
    mixed = ServerConfig(host="10.0.0.5", users=parse_users_text(
        "user_lab_alice = Zq8-w1Kd9_fT2 .admin\nuser_test_tester3 = testing3\n"))
    with pytest.raises(InvalidInput, match="test:tester3"):
        mixed.check_exposure()


def test_serve_refuses_before_listening(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sciswift.cli.main", "serve", "--host", "0.0.0.0", "--port", "0",
         "--backend", "memory"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "well-known credentials" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "sciswift.cli.main", "serve", "--port", "0", "--backend", "memory",
         "--tls-cert", str(Path(__file__))],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "--tls-key" in proc.stderr


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl (Debian's openssl package) is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True,
    )
    return crt, key


def test_https_with_swiftclient_and_cli(start_server: Callable[..., RunningServer], cert: tuple[Path, Path]) -> None:
    crt, key = cert
    srv = start_server("--tls-cert", str(crt), "--tls-key", str(key), data_dir=None)
    assert srv.url.startswith("https://") and "https://127.0.0.1:" in srv.banner
    conn = swift_client.Connection(authurl=srv.auth_url, user="test:tester", key="testing",
                                   cacert=str(crt), retries=0)
    conn.put_container("tls")
    big = os.urandom(300_000)  # above the sendfile size: the TLS path reads the file
    conn.put_object("tls", "big", big)
    conn.put_object("tls", "small", b"tiny")
    assert conn.get_object("tls", "big")[1] == big
    assert conn.get_object("tls", "big", headers={"Range": "bytes=1000-1999"})[1] == big[1000:2000]
    assert conn.get_object("tls", "small")[1] == b"tiny"
    env = {**os.environ, "ST_AUTH": srv.auth_url, "ST_USER": "test:tester", "ST_KEY": "testing",
           "OS_CACERT": str(crt)}
    swift = shutil.which("swift", path=os.path.dirname(sys.executable))
    assert swift is not None
    out = subprocess.run([swift, "list", "tls"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["big", "small"]
    # a plain-HTTP client gets no answer it could mistake for one
    with pytest.raises((swift_client.ClientException, requests.exceptions.ConnectionError)):
        swift_client.get_auth(srv.auth_url.replace("https://", "http://"), "test:tester", "testing")


def test_data_on_disk_with_tls(start_server: Callable[..., RunningServer], cert: tuple[Path, Path],
                               tmp_path: Path) -> None:
    crt, key = cert
    srv = start_server("--tls-cert", str(crt), "--tls-key", str(key), data_dir=tmp_path / "data")
    conn = swift_client.Connection(authurl=srv.auth_url, user="test:tester", key="testing",
                                   cacert=str(crt), retries=0)
    conn.put_container("c")
    body = os.urandom(5 << 20)
    conn.put_object("c", "o", body)
    assert conn.get_object("c", "o")[1] == body

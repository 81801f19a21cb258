"""TempAuth tokens against a running server, sent as raw bytes: a token that
is not one of ours, whatever bytes it holds, is 401, never a server error."""

from __future__ import annotations

import socket

import pytest

from .conftest import RunningServer


def _status(server: RunningServer, token: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET /v1/AUTH_test HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Auth-Token: " + token
                     + b"\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("mac", ["\u00e9".encode(), b"\xff", b"\xc3\xa9" * 20, "\u20ac".encode() * 13 + b"a"])
def test_token_with_non_ascii_mac_is_401(server: RunningServer, mac: bytes) -> None:
    _, token = server.auth()
    payload = token.split(".")[0].encode("ascii")
    assert _status(server, payload + b"." + mac) == b"HTTP/1.1 401 Unauthorized"
    assert _status(server, token.encode("ascii")).startswith(b"HTTP/1.1 20")  # the real one still works
    assert "Traceback" not in server.log_text()

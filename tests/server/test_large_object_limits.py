"""Large objects cannot be turned into work without bound: SLOs nest at most
10 manifests deep, small segments past the first few are fetched at a limited
rate, a GET stops after max_get_time, and /info announces the limits."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from swiftclient import client as swift_client

from .conftest import RunningServer


def put_slo(conn: swift_client.Connection, container: str, name: str, segments: list[tuple[str, int, str]]) -> None:
    manifest = [{"path": f"/{container}/{seg}", "size_bytes": size, "etag": etag} for seg, size, etag in segments]
    conn.put_object(container, name, json.dumps(manifest), query_string="multipart-manifest=put")


def test_slo_nesting_stops_at_ten_manifests(server: RunningServer, container: str) -> None:
    conn = server.connection()
    etag = conn.put_object(container, "leaf", b"0123456789")
    put_slo(conn, container, "level1", [("leaf", 10, etag)])
    for level in range(2, 13):
        head = conn.head_object(container, f"level{level - 1}")
        put_slo(conn, container, f"level{level}", [(f"level{level - 1}", 10, head["etag"].strip('"'))])
    for level in (1, 5, 10):
        assert conn.get_object(container, f"level{level}")[1] == b"0123456789", level
    for level in (11, 12):
        with pytest.raises(swift_client.ClientException) as info:
            conn.get_object(container, f"level{level}")
        assert info.value.http_status == 409, level  # Swift's plain Conflict page
        assert b"Conflict" in info.value.http_response_content
    # HEAD reads no segment: it still answers
    assert int(conn.head_object(container, "level12")["content-length"]) == 10


def test_info_announces_the_limits(server: RunningServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/info")
    info = json.loads(conn.getresponse().read())
    assert info["slo"]["max_nesting_depth"] == 10
    for section in ("slo", "dlo"):
        assert info[section]["rate_limit_under_size"] == 1024 * 1024
        assert info[section]["rate_limit_after_segment"] == 10
        assert info[section]["rate_limit_segments_per_sec"] == 1.0


def _tiny_slo(srv: RunningServer, count: int) -> tuple[swift_client.Connection, str]:
    conn = srv.connection()
    c = f"rl-{uuid.uuid4().hex[:8]}"
    conn.put_container(c)
    segs = []
    for i in range(count):
        etag = conn.put_object(c, f"seg/{i:03d}", b"%03d" % i)
        segs.append((f"seg/{i:03d}", 3, etag))
    put_slo(conn, c, "many-tiny", segs)
    conn.put_object(c, "dlo", b"", headers={"X-Object-Manifest": f"{c}/seg/"})
    return conn, c


def test_small_segments_are_rate_limited(start_server: Callable[..., RunningServer], tmp_path: Path) -> None:
    config = tmp_path / "limits.ini"
    config.write_text("[slo]\nrate_limit_after_segment = 2\nrate_limit_segments_per_sec = 20\n"
                      "[dlo]\nrate_limit_after_segment = 2\nrate_limit_segments_per_sec = 20\n")
    srv = start_server("--backend", "memory", "--config", str(config))
    conn, c = _tiny_slo(srv, 12)
    expected = b"".join(b"%03d" % i for i in range(12))
    for name in ("many-tiny", "dlo"):
        start = time.monotonic()
        assert conn.get_object(c, name)[1] == expected
        elapsed = time.monotonic() - start
        # 10 paced segments at 20/s: at least 9 intervals of 50 ms
        assert elapsed >= 0.4, (name, elapsed)


def test_no_rate_limit_when_turned_off_and_max_get_time(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    fast = tmp_path / "fast.ini"
    fast.write_text("[slo]\nrate_limit_segments_per_sec = 0\n")
    srv = start_server("--backend", "memory", "--config", str(fast))
    conn, c = _tiny_slo(srv, 40)
    start = time.monotonic()
    assert len(conn.get_object(c, "many-tiny")[1]) == 120
    assert time.monotonic() - start < 5  # 30 segments past the first 10: 30 s if paced at 1/s

    slow = tmp_path / "slow.ini"
    slow.write_text("[slo]\nrate_limit_after_segment = 0\nrate_limit_segments_per_sec = 4\nmax_get_time = 0.6\n")
    srv = start_server("--backend", "memory", "--config", str(slow))
    conn, c = _tiny_slo(srv, 12)
    with pytest.raises(Exception):  # noqa: B017 - the connection is cut: the body is short
        conn.get_object(c, "many-tiny")


def test_bad_limits_in_a_config_are_refused(tmp_path: Path) -> None:
    from sciswift.errors import InvalidInput
    from sciswift.server.config import load_config_file

    bad = tmp_path / "bad.ini"
    for text in ("[slo]\nrate_limit_after_segment = many\n", "[dlo]\nunknown_option = 1\n",
                 "[slo]\nmax_nesting_depth = 0\n"):
        bad.write_text(text)
        with pytest.raises(InvalidInput):
            load_config_file(bad)
    good = tmp_path / "good.ini"
    good.write_text("[slo]\nmax_nesting_depth = 3\nmax_get_time = 60\n")
    limits = load_config_file(good)["slo"]
    assert limits.max_nesting_depth == 3 and limits.max_get_time == 60.0  # type: ignore[attr-defined]

"""What opening and reading a file on a remote store costs in requests, counted
at the server's access log (``sciswift serve``), in a fresh process as a user
program runs: auth, then the root document together with the check for an
object of the file's name (and ``/info``, for the reads after the open: never
waited for by the open), then the data. No container HEAD.

And in round trips waited for one after another, TCP handshakes included, over
an emulated link (``support.latency_proxy``): the connection for auth, auth with
the root document and the HEAD answered in its reply (``server.auth_prefetch``),
the data on connections opened during auth."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import sciswift.h5py as h5py
from sciswift.server.spawn import ServerProcess, spawn
from support.latency_proxy import LatencyProxy

#: The emulated round-trip time: far above what the client does between two
#: requests, so that only waiting for the link counts. Sending 64 requests at
#: once on new connections takes a loaded machine up to ~0.2 s: more there.
RTT = 0.2
RTT_MANY = 0.5


@pytest.fixture(scope="module")
def logged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """``sciswift serve`` writing its access log (one line per request) to a file."""
    base = tmp_path_factory.mktemp("round-trips")
    log_path = base / "access.log"
    with open(log_path, "wb") as log:
        server = spawn(["--data", str(base / "data"), "--no-durable"], stderr=log, log_path=log_path)
    try:
        yield server, log_path
    finally:
        server.stop()


@pytest.fixture
def link(logged_server: tuple[ServerProcess, Path]) -> Iterator[LatencyProxy]:
    """The server behind a link of ``RTT`` (clients given ``link.url``)."""
    server, _ = logged_server
    with LatencyProxy(("127.0.0.1", server.port), rtt=RTT) as proxy:
        yield proxy


def _env(server: ServerProcess, via: str | None = None) -> dict[str, str]:
    src = str(Path(h5py.__file__).resolve().parents[1])
    auth = f"{via}/auth/v1.0" if via else server.auth_url
    return {**os.environ, "ST_AUTH": auth, "ST_USER": "test:tester", "ST_KEY": "testing",
            "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def _requests_of(server: ServerProcess, log_path: Path, program: str,
                 via: str | None = None, env: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """``(method, path, status)`` of every request ``program`` made, run in a
    fresh interpreter (talking to ``via`` if given, else to the server, with
    ``env`` added to its environment); a marker request after it tells where
    its lines end."""
    start = len(log_path.read_text().splitlines())
    subprocess.run([sys.executable, "-c", program], env={**_env(server, via), **(env or {})},
                   check=True, timeout=120)
    marker = f"/info?end={uuid.uuid4().hex}"
    import urllib.request

    urllib.request.urlopen(server.url + marker, timeout=10).read()
    deadline = time.monotonic() + 10
    while True:
        lines = log_path.read_text().splitlines()[start:]
        ends = [i for i, line in enumerate(lines) if marker in line]
        if ends or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert ends, "the marker request never reached the access log"
    out = []
    for line in lines[: ends[0]]:
        fields = line.split()
        out.append((fields[3], fields[4].split("?")[0], fields[6]))
    return out


def _write(server: ServerProcess, url: str) -> None:
    env = _env(server)
    program = (
        "import numpy as np, sciswift.h5py as h5py\n"
        f"with h5py.File({url!r}, 'w') as f:\n"
        "    f['small'] = np.arange(100.0)\n"
        "    f.create_dataset('grid', data=np.arange(64 * 4096, dtype='f4').reshape(64, 4096), chunks=(1, 4096))\n"
    )
    subprocess.run([sys.executable, "-c", program], env=env, check=True, timeout=120)


#: What the programs below check after opening the file ``_write`` made.
READ_SMALL = "assert f['small'][3] == 3.0"
READ_GRID = "assert f['grid'][...].sum() == np.arange(64 * 4096, dtype='f4').sum()"


def _reader(url: str, check: str) -> str:
    """A program that opens ``url`` read-only, then runs ``check`` (which sees
    ``np`` and the file ``f``)."""
    return f"import numpy as np, sciswift.h5py as h5py\nf = h5py.File({url!r}, 'r')\n{check}\n"


def _fresh_file(server: ServerProcess) -> tuple[str, str]:
    """``(container, url)`` of a new file written by ``_write``."""
    container = f"rt-{uuid.uuid4().hex[:8]}"
    url = f"swift://{container}/run1.h5"
    _write(server, url)
    return container, url


def test_open_and_read_one_small_dataset(logged_server: tuple[ServerProcess, Path]) -> None:
    server, log_path = logged_server
    container, url = _fresh_file(server)
    seen = _requests_of(server, log_path, _reader(url, READ_SMALL))
    base = f"/v1/AUTH_test/{container}/run1.h5"
    assert sorted(seen) == sorted([
        ("GET", "/auth/v1.0", "200"),
        ("HEAD", base, "404"),  # sent together with the root document's GET ...
        ("GET", "/info", "200"),  # ... and /info, for the reads after the open
        ("GET", f"{base}/zarr.json", "200"),
        ("GET", f"{base}/small/c/0", "200"),
    ])


def test_open_and_read_a_64_chunk_dataset(logged_server: tuple[ServerProcess, Path]) -> None:
    server, log_path = logged_server
    container, url = _fresh_file(server)
    seen = _requests_of(server, log_path, _reader(url, READ_GRID))
    base = f"/v1/AUTH_test/{container}/run1.h5"
    # /info went beside the root document: the 64 chunks travel as a few
    # batched GETs (POST ?get-many), none alone.
    assert not [p for _, p, _ in seen if p.startswith(f"{base}/grid/c/")]
    batched = [p for m, p, st in seen if m == "POST" and st == "200"]
    assert 1 <= len(batched) <= 8 and set(batched) == {f"/v1/AUTH_test/{container}"}
    assert len(seen) == 4 + len(batched)  # auth, HEAD, root, /info
    assert ("GET", "/info", "200") in seen


def _info(link: LatencyProxy, conn: http.client.HTTPConnection | None = None) -> None:
    conn = conn or http.client.HTTPConnection("127.0.0.1", link.port, timeout=10)
    conn.request("GET", "/info")
    assert conn.getresponse().read()


def test_the_counter_counts_handshakes_and_requests_in_sequence(link: LatencyProxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", link.port, timeout=10)
    started = time.monotonic()
    _info(link, conn)
    _info(link, conn)
    elapsed = time.monotonic() - started
    assert (link.connections, link.requests, link.rounds) == (1, 2, 3)
    assert elapsed >= 3 * RTT  # the link really is that slow
    conn.close()


def test_the_counter_counts_concurrent_requests_once(link: LatencyProxy) -> None:
    threads = [threading.Thread(target=_info, args=(link,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (link.connections, link.requests, link.rounds) == (4, 4, 2)


def test_a_small_read_waits_for_three_round_trips(logged_server: tuple[ServerProcess, Path],
                                                  link: LatencyProxy) -> None:
    """Handshake, auth with the root document, the HEAD and /info answered in its
    reply (``server.auth_prefetch``), the chunk (on a connection opened while
    auth ran, so no handshake of its own in between)."""
    server, log_path = logged_server
    container, url = _fresh_file(server)
    link.reset()
    seen = _requests_of(server, log_path, _reader(url, READ_SMALL), via=link.url)
    assert len(seen) == 5  # the server logs the reads it answered with auth (and /info)
    assert link.requests == 2  # auth, the chunk
    assert link.rounds == 3, link.history
    assert link.connections <= 4  # the auth's, and the three opened while it ran


def test_without_the_answers_in_the_auth_reply_a_small_read_waits_for_four(
        logged_server: tuple[ServerProcess, Path], link: LatencyProxy) -> None:
    """Real Swift ignores the header: auth, then the root document with the HEAD
    (emulated here by a server that drops the header on its way)."""
    server, log_path = logged_server
    container, url = _fresh_file(server)
    link.reset()
    link.drop_header = "X-Sciswift-Prefetch"
    seen = _requests_of(server, log_path, _reader(url, READ_SMALL), via=link.url)
    assert len(seen) == link.requests == 5
    assert link.rounds == 4, link.history


def test_a_64_chunk_read_waits_for_five_round_trips(logged_server: tuple[ServerProcess, Path]) -> None:
    """As the small read, with the 64 chunks in a few batched GETs at once
    (a handshake first for the connections the pool does not have yet)."""
    server, log_path = logged_server
    container, url = _fresh_file(server)
    with LatencyProxy(("127.0.0.1", server.port), rtt=RTT_MANY) as link:
        seen = _requests_of(server, log_path, _reader(url, READ_GRID), via=link.url)
    batched = [p for m, p, _ in seen if m == "POST"]
    assert 1 <= len(batched) <= 8 and len(seen) == 4 + len(batched)
    assert link.requests == 1 + len(batched)  # the root, the HEAD and /info came with auth
    assert link.rounds <= 5, link.history


def test_a_tiny_dataset_arrives_with_the_metadata(logged_server: tuple[ServerProcess, Path],
                                                  link: LatencyProxy) -> None:
    """A file of many tiny datasets keeps their bytes in the root document
    (docs/layout.md, "Packed small arrays"): handshake, auth with the root in
    its reply; nothing more."""
    server, log_path = logged_server
    container = f"rt-{uuid.uuid4().hex[:8]}"
    url = f"swift://{container}/tiny.h5"
    subprocess.run([sys.executable, "-c", (
        "import numpy as np, sciswift.h5py as h5py\n"
        f"with h5py.File({url!r}, 'w') as f:\n"
        "    for i in range(100):\n"
        "        f[f'g/d{i:02d}'] = np.arange(10.0) + i\n"
    )], env=_env(server), check=True, timeout=120)
    link.reset()
    seen = _requests_of(server, log_path, _reader(url, "assert f['g/d50'][3] == 53.0"), via=link.url)
    base = f"/v1/AUTH_test/{container}/tiny.h5"
    # (/info, fetched in the background for reads to come, may not be sent
    # before the program ends)
    assert sorted(s for s in seen if s[1] != "/info") == sorted([
        ("GET", "/auth/v1.0", "200"),
        ("HEAD", base, "404"),
        ("GET", f"{base}/zarr.json", "200"),
    ])
    # handshake, auth; /info may go after it, but nothing waits for it
    assert max(r for r, line in link.history if not line.startswith("GET /info ")) == 2, link.history


def test_with_a_kept_token_a_small_read_waits_for_three_round_trips(
        logged_server: tuple[ServerProcess, Path], link: LatencyProxy, tmp_path: Path) -> None:
    """The next process uses the token the first one kept (sciswift.store.swift.
    tokens), and the endpoint's /info kept with it: handshake, the root document
    with the HEAD, the chunk."""
    server, log_path = logged_server
    container, url = _fresh_file(server)
    keep = {"SCISWIFT_TOKEN_CACHE": "1", "SCISWIFT_TOKEN_CACHE_DIR": str(tmp_path / "tokens")}
    first = _requests_of(server, log_path, _reader(url, READ_SMALL), via=link.url, env=keep)
    assert ("GET", "/auth/v1.0", "200") in first
    link.reset()
    seen = _requests_of(server, log_path, _reader(url, READ_SMALL), via=link.url, env=keep)
    base = f"/v1/AUTH_test/{container}/run1.h5"
    assert sorted(seen) == sorted([
        ("HEAD", base, "404"),
        ("GET", f"{base}/zarr.json", "200"),
        ("GET", f"{base}/small/c/0", "200"),
    ])
    assert link.rounds == 3, link.history


def _creator(url: str) -> str:
    return ("import numpy as np, sciswift.h5py as h5py\n"
            f"with h5py.File({url!r}, 'w') as f:\n"
            "    f['small'] = np.arange(100.0)\n")


@pytest.mark.parametrize("container_exists", [False, True])
def test_creating_a_file_asks_once_then_writes(logged_server: tuple[ServerProcess, Path], link: LatencyProxy,
                                               container_exists: bool) -> None:
    """A new file: the root document's GET and a listing of one name at once
    (nothing there: no Zarr v2 documents asked for, no container HEAD; the
    container is made only if the listing found none), the root's PUT; the
    close writes the root again without reading it first (this writer made it)."""
    server, log_path = logged_server
    container = f"rt-{uuid.uuid4().hex[:8]}"
    if container_exists:
        _requests_of(server, log_path, _creator(f"swift://{container}/first.h5"))
    url = f"swift://{container}/new.h5"
    link.reset()
    seen = _requests_of(server, log_path, _creator(url), via=link.url)
    account = "/v1/AUTH_test"
    base = f"{account}/{container}/new.h5"
    assert ("HEAD", f"{account}/{container}", "204") not in seen
    assert not [p for _, p, _ in seen if p.rsplit("/", 1)[-1] in (".zmetadata", ".zgroup", ".zarray", ".zattrs")]
    assert [s for s in seen if s[1] == f"{base}/zarr.json"] == [
        ("GET", f"{base}/zarr.json", "404"), ("PUT", f"{base}/zarr.json", "201"), ("PUT", f"{base}/zarr.json", "201")]
    listing = [s for s in seen if s[:2] == ("GET", f"{account}/{container}")]
    assert listing == [("GET", f"{account}/{container}", "200" if container_exists else "404")]
    made = [s for s in seen if s[:2] == ("PUT", f"{account}/{container}")]
    assert made == ([] if container_exists else [("PUT", f"{account}/{container}", "201")])
    # Handshake, auth, the GET, the listing and /info at once, [the container,] the
    # root's PUT; the close: the chunk, the array's own document, the root (was 14
    # and 15: a container HEAD, four Zarr v2 GETs, a container PUT and two more
    # GETs of the root, each in turn).
    assert link.rounds <= (7 if container_exists else 8), "\n".join(map(str, link.history))

"""What opening and reading a file on a remote store costs in requests, counted
at the server's access log (``sciswift serve``), in a fresh process as a user
program runs: auth, then the root document together with the check for an
object of the file's name, then the data. No container HEAD, and no ``/info``
on the way: it is fetched in the background when a read could use it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import sciswift.h5py as h5py
from sciswift.server.spawn import ServerProcess, spawn


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


def _env(server: ServerProcess) -> dict[str, str]:
    src = str(Path(h5py.__file__).resolve().parents[1])
    return {**os.environ, "ST_AUTH": server.auth_url, "ST_USER": "test:tester", "ST_KEY": "testing",
            "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def _requests_of(server: ServerProcess, log_path: Path, program: str) -> list[tuple[str, str, str]]:
    """``(method, path, status)`` of every request ``program`` made, run in a
    fresh interpreter; a marker request after it tells where its lines end."""
    start = len(log_path.read_text().splitlines())
    subprocess.run([sys.executable, "-c", program], env=_env(server), check=True, timeout=120)
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


def test_open_and_read_one_small_dataset(logged_server: tuple[ServerProcess, Path]) -> None:
    server, log_path = logged_server
    container = f"rt-{uuid.uuid4().hex[:8]}"
    url = f"swift://{container}/run1.h5"
    _write(server, url)
    seen = _requests_of(server, log_path, (
        "import sciswift.h5py as h5py\n"
        f"f = h5py.File({url!r}, 'r')\n"
        "assert f['small'][3] == 3.0\n"
    ))
    base = f"/v1/AUTH_test/{container}/run1.h5"
    assert sorted(seen) == sorted([
        ("GET", "/auth/v1.0", "200"),
        ("HEAD", base, "404"),  # sent together with the root document's GET
        ("GET", f"{base}/zarr.json", "200"),
        ("GET", f"{base}/small/c/0", "200"),
    ])


def test_open_and_read_a_64_chunk_dataset(logged_server: tuple[ServerProcess, Path]) -> None:
    server, log_path = logged_server
    container = f"rt-{uuid.uuid4().hex[:8]}"
    url = f"swift://{container}/run1.h5"
    _write(server, url)
    seen = _requests_of(server, log_path, (
        "import numpy as np, sciswift.h5py as h5py\n"
        f"f = h5py.File({url!r}, 'r')\n"
        "assert f['grid'][...].sum() == np.arange(64 * 4096, dtype='f4').sum()\n"
    ))
    base = f"/v1/AUTH_test/{container}/run1.h5"
    chunks = sorted(p for m, p, s in seen if p.startswith(f"{base}/grid/c/"))
    assert chunks == sorted(f"{base}/grid/c/{i}/0" for i in range(64))
    # /info (whether the server batches GETs) is learnt in the background for
    # later reads, never waited for: this first read is one GET per chunk.
    assert len([p for _, p, _ in seen if p != "/info"]) == 3 + 64
    assert len([p for _, p, _ in seen if p == "/info"]) <= 1
    assert not [p for _, p, _ in seen if p == f"/v1/AUTH_test/{container}"]


def test_a_second_read_batches_its_gets(logged_server: tuple[ServerProcess, Path]) -> None:
    server, log_path = logged_server
    container = f"rt-{uuid.uuid4().hex[:8]}"
    url = f"swift://{container}/run1.h5"
    _write(server, url)
    seen = _requests_of(server, log_path, (
        "import time, numpy as np, sciswift.h5py as h5py\n"
        f"f = h5py.File({url!r}, 'r')\n"
        "want = np.arange(64 * 4096, dtype='f4').reshape(64, 4096)\n"
        "assert (f['grid'][:32] == want[:32]).all()\n"
        "time.sleep(1)\n"  # /info arrives in the background meanwhile
        "assert (f['grid'][32:] == want[32:]).all()\n"
    ))
    base = f"/v1/AUTH_test/{container}/run1.h5"
    singles = [p for m, p, _ in seen if m == "GET" and p.startswith(f"{base}/grid/c/")]
    batched = [p for m, p, s in seen if m == "POST" and s == "200"]
    assert sorted(singles) == sorted(f"{base}/grid/c/{i}/0" for i in range(32))  # the first read
    assert 1 <= len(batched) <= 8 and set(batched) == {f"/v1/AUTH_test/{container}"}  # the second

"""Fixtures for the mount tests: real mounts (``sciswift mount``, FUSE) over a real
``sciswift serve`` or a local store, always unmounted afterwards.

- ``served``: ``sciswift serve`` over a temporary folder (one per module), with
  ``env`` holding its ST_* credentials and ``store()`` a SwiftStore on it.
- ``mount(url, *options, env=...)``: mounts with the real command (in the
  background, as a user would), returns a ``Mounted`` (path, store-side helpers,
  log, stats); teardown runs ``sciswift umount`` and, if that fails, unmounts
  lazily and kills the mount process by its PID, so no test leaves a stale mount.
- ``target``: a mount and a Store client on the same new container, on
  ``sciswift serve`` (SwiftStore in the mount) and on a local store.
- ``kernels``: the C programs of examples/c built with h5pcc into a temporary
  folder (once per session).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sciswift.mount.daemon import mountinfo_path
from sciswift.server.spawn import ServerProcess, spawn
from sciswift.store import LocalStore, Store, SwiftStore

ROOT = Path(__file__).resolve().parents[2]
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def sciswift_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sciswift.cli.main", *args]


@dataclass
class Served:
    """A running ``sciswift serve``."""

    server: ServerProcess
    data: Path
    log: Path

    @property
    def env(self) -> dict[str, str]:
        return {"ST_AUTH": self.server.auth_url, "ST_USER": "test:tester", "ST_KEY": "testing"}

    def store(self, **options: object) -> SwiftStore:
        return SwiftStore(self.server.auth_url, "test:tester", "testing", **options)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.server.stop(grace=5)

    def restart(self) -> None:
        """Start again on the same port and data (after ``stop``)."""
        with open(self.log, "ab") as log:
            self.server = spawn(["--port", str(self.server.port), "--data", str(self.data)], stderr=log,
                                log_path=self.log)


def start_served(base: Path) -> Served:
    base.mkdir(parents=True, exist_ok=True)
    data = base / "data"
    log = base / "serve.log"
    with open(log, "ab") as out:
        server = spawn(["--data", str(data)], stderr=out, log_path=log)
    return Served(server, data, log)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_served(tmp_path_factory.mktemp("serve"))
    yield s
    s.stop()


@dataclass
class Mounted:
    """One mount made by ``sciswift mount``."""

    url: str
    path: Path
    cache: Path
    env: dict[str, str]
    pid: int = 0
    extra: list[str] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def log(self) -> str:
        try:
            return (self.log_path or self.cache / "mount.log").read_text(errors="replace")
        except OSError:
            return ""

    def stats(self) -> dict[str, int]:
        return json.loads(os.getxattr(self.path, "user.sciswift.stats"))  # type: ignore[no-any-return]

    def umount(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(sciswift_cmd("umount", str(self.path)), env=self.env, capture_output=True,
                              text=True, timeout=120)


def _is_mounted(path: Path) -> bool:
    target = os.fsencode(os.path.realpath(path))
    with open("/proc/self/mountinfo", "rb") as f:
        return any(mountinfo_path(line.split()[4]) == target for line in f)


def force_unmount(m: Mounted) -> None:
    """Last resort of a teardown: unmount lazily and kill the mount process."""
    if _is_mounted(m.path):
        subprocess.run(["fusermount3", "-u", "-z", str(m.path)], capture_output=True)
    if m.pid:
        try:
            os.kill(m.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Callable[..., Mounted]]:
    made: list[Mounted] = []

    def _mount(url: str, *options: str, env: dict[str, str] | None = None, name: str = "mnt") -> Mounted:
        path = tmp_path / f"{name}{len(made)}"
        path.mkdir()
        cache = tmp_path / f"cache{len(made)}"
        full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})}
        log = tmp_path / f"mount{len(made)}.log"
        m = Mounted(url, path, cache, full_env, extra=list(options), log_path=log)
        made.append(m)
        result = subprocess.run(sciswift_cmd("mount", url, str(path), "--cache", str(cache), "--log", str(log),
                                             *options),
                                env=full_env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"sciswift mount failed: {result.stderr}\n{m.log}"
        m.pid = int(os.getxattr(path, "user.sciswift.pid"))
        return m

    yield _mount
    failures = []
    for m in made:
        if _is_mounted(m.path):
            result = m.umount()
            if result.returncode != 0:
                failures.append(f"{m.path}: {result.stderr}")
                force_unmount(m)
        else:
            force_unmount(m)
        deadline = time.monotonic() + 10
        while m.pid and _alive(m.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if m.pid and _alive(m.pid):
            os.kill(m.pid, signal.SIGKILL)
    assert not any(_is_mounted(m.path) for m in made), "a mount was left behind"
    if failures:
        pytest.fail("sciswift umount failed in teardown:\n" + "\n".join(failures))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="session")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/c built with h5pcc (a temporary copy, so the tree stays clean)."""
    build = tmp_path_factory.mktemp("kernels")
    for f in (ROOT / "examples" / "c").iterdir():
        if f.suffix in (".c", ".f90") or f.name == "Makefile":
            shutil.copy(f, build)
    result = subprocess.run(["make", "-s"], cwd=build, capture_output=True, text=True)
    assert result.returncode == 0, f"building examples/c failed:\n{result.stderr}"
    return build


def mpirun(n: int, *argv: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*MPIRUN, "-np", str(n), *argv], capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@dataclass
class Target:
    """A mount and a Store client on the same data."""

    m: Mounted
    store: Store
    container: str

    def __truediv__(self, name: str) -> Path:
        return self.m.path / name


@pytest.fixture(params=["served", "local"])
def target(request: pytest.FixtureRequest, mount: Callable[..., Mounted], tmp_path: Path) -> Target:
    container = f"c{uuid.uuid4().hex[:8]}"
    if request.param == "served":
        served: Served = request.getfixturevalue("served")
        store: Store = served.store()
        store.create_container(container)
        m = mount(f"swift://{container}", env=served.env)
    else:
        root = tmp_path / "store"
        m = mount(str(root / container))
        store = LocalStore(root)
    return Target(m, store, container)

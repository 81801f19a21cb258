"""The seed's kernels in C (examples/c) at 1, 2 and 4 MPI ranks through the mount,
on ``sciswift serve`` and on a local store, compared with the same programs on
local files: VPIC-IO's file must be byte-identical (object times are off), BD-CATS
must read every value back, H5Boss's many small files must hold the same values,
and a plain MPI-IO writer of interleaved blocks must give the same bytes.

The mount cuts files into 1 MiB segments here, so the parallel writes cross
segment boundaries, segments are uploaded early and rewritten (HDF5 rewrites its
superblock at close)."""

from __future__ import annotations

import filecmp
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sciswift.store import LocalStore, Store

from .conftest import Mounted, Served, mpirun

RANKS = (1, 2, 4)
PARTICLES = 40_000  # per rank: 8 variables x 4 bytes x 40,000 = 1.2 MiB a rank, more than one segment
BOSS = ("5", "2", "6")  # files, plates, fibers per plate

# Each test starts mpirun 6-9 times (about 1 s each on a 2-core machine).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(kernels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kernels run on local files."""
    out = tmp_path_factory.mktemp("reference")
    for n in RANKS:
        mpirun(n, str(kernels / "vpicio"), str(out / f"vpic-{n}.h5"), str(PARTICLES))
        (out / f"boss-{n}").mkdir()
        mpirun(n, str(kernels / "h5boss"), "write", str(out / f"boss-{n}"), *BOSS)
    mpirun(4, str(kernels / "mpiio_blocks"), str(out / "blocks.bin"), "37", "70001")
    return out


def _mount(kind: str, mount: Callable[..., Mounted], request: pytest.FixtureRequest,
           tmp_path: Path) -> tuple[Mounted, Store, str]:
    container = f"k{uuid.uuid4().hex[:8]}"
    if kind == "served":
        served: Served = request.getfixturevalue("served")
        store: Store = served.store()
        store.create_container(container)
        return mount(f"swift://{container}", "--segment-size", "1M", env=served.env), store, container
    root = tmp_path / "store"
    m = mount(str(root / container), "--segment-size", "1M")
    return m, LocalStore(root), container


@pytest.mark.parametrize("kind", ["served", "local"])
def test_vpic_and_bdcats(kind: str, kernels: Path, reference: Path, mount: Callable[..., Mounted],
                         request: pytest.FixtureRequest, tmp_path: Path) -> None:
    m, store, container = _mount(kind, mount, request, tmp_path)
    for n in RANKS:
        target = m.path / f"vpic-{n}.h5"
        mpirun(n, str(kernels / "vpicio"), str(target), str(PARTICLES))
        assert filecmp.cmp(target, reference / f"vpic-{n}.h5", shallow=False), f"{n} ranks: bytes differ"
        # The stored object (a static large object) is the same file to any client.
        assert store.get_manifest(container, target.name) is not None
        if kind == "served":
            assert store.get_object(container, target.name) == (reference / f"vpic-{n}.h5").read_bytes()
        local = mpirun(n, str(kernels / "bdcats"), str(reference / f"vpic-{n}.h5")).stdout
        mounted = mpirun(n, str(kernels / "bdcats"), str(target)).stdout
        assert "0 mismatching values" in mounted
        assert mounted == local


@pytest.mark.parametrize("kind", ["served", "local"])
def test_h5boss(kind: str, kernels: Path, reference: Path, mount: Callable[..., Mounted],
                request: pytest.FixtureRequest, tmp_path: Path) -> None:
    m, store, container = _mount(kind, mount, request, tmp_path)
    expected = mpirun(1, str(kernels / "h5boss"), "read", str(reference / "boss-1"), *BOSS).stdout
    assert expected.count("checksum") == int(BOSS[0])
    for n in RANKS:
        target = m.path / f"boss-{n}"
        target.mkdir()
        mpirun(n, str(kernels / "h5boss"), "write", str(target), *BOSS)
        assert mpirun(n, str(kernels / "h5boss"), "read", str(target), *BOSS).stdout == expected
        for f in sorted(target.iterdir()):
            assert filecmp.cmp(f, reference / f"boss-{n}" / f.name, shallow=False), f"{f.name} differs"
        diff = subprocess.run(["h5diff", str(target / "boss-0003.h5"), str(reference / "boss-1/boss-0003.h5")],
                              capture_output=True, text=True)
        assert diff.returncode == 0, diff.stdout + diff.stderr
    names = {o.name for o in store.iter_objects(container)}
    assert {f"boss-4/boss-{i:04d}.h5" for i in range(int(BOSS[0]))} <= names


@pytest.mark.parametrize("kind", ["served", "local"])
def test_plain_mpiio_interleaved_blocks(kind: str, kernels: Path, reference: Path,
                                       mount: Callable[..., Mounted], request: pytest.FixtureRequest,
                                       tmp_path: Path) -> None:
    m, store, container = _mount(kind, mount, request, tmp_path)
    mpirun(4, str(kernels / "mpiio_blocks"), str(m.path / "blocks.bin"), "37", "70001")
    assert filecmp.cmp(m.path / "blocks.bin", reference / "blocks.bin", shallow=False)

"""The three example workloads (examples/vpic_io.py, bdcats.py, h5boss.py) at
small sizes with 1, 2 and 4 processes: the same unmodified programs on local
files with h5py and through ``sciswift run --mount`` on LocalStore and on
``sciswift serve``. Printed results and file contents must be identical.

VPIC-IO's slabs are deliberately not chunk-aligned (1000 particles per process,
chunks of 97), so neighbouring processes update the same chunks at the same time
without any lock; BD-CATS reads every byte back and checks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compat.h5run import REPO, Way, assert_same, h5py_way, localstore_way, serve_way

EXAMPLES = REPO / "examples"
PROCS = [1, 2, 4]
VPIC_ARGS = ["1000", "--chunk", "97"]
BOSS_ARGS = ["4", "--mjds", "1", "--fibers", "6", "--length", "16"]
BOSS_FILES = [f"boss-plate-{3586 + i:04d}.h5" for i in range(4)] + ["boss-subset.h5"]

_reference: dict[tuple[str, int], tuple[list[str], dict[str, object]]] = {}


@pytest.fixture(params=["localstore", "serve"])
def way(request: pytest.FixtureRequest, tmp_path: Path) -> Way:
    if request.param == "serve":
        return serve_way(request.getfixturevalue("sciswift_server"))
    return localstore_way(tmp_path)


def _vpic_bdcats(way: Way, procs: int) -> tuple[list[str], dict[str, object]]:
    out = way.path("particles.h5")
    wrote = way.run([str(EXAMPLES / "vpic_io.py"), out, VPIC_ARGS[0], str(procs), *VPIC_ARGS[1:]], timeout=60)
    read = way.run([str(EXAMPLES / "bdcats.py"), out, str(procs)], timeout=60)
    lines = wrote.stdout.splitlines() + read.stdout.splitlines()
    assert len(read.stdout.splitlines()) == 8 + procs
    assert all(line.split()[1] == "ok" for line in read.stdout.splitlines()[:8]), read.stdout
    return lines, way.dump(["particles.h5"])


def _h5boss(way: Way, procs: int) -> tuple[list[str], dict[str, object]]:
    proc = way.run([str(EXAMPLES / "h5boss.py"), way.path("boss"), BOSS_ARGS[0], str(procs), *BOSS_ARGS[1:]],
                   timeout=60)
    return way.normalise(proc.stdout).splitlines(), way.dump(BOSS_FILES)


def _reference_for(name: str, procs: int, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict]:
    key = (name, procs)
    if key not in _reference:
        runner = {"vpic": _vpic_bdcats, "h5boss": _h5boss}[name]
        _reference[key] = runner(h5py_way(tmp_path_factory.mktemp(f"ref-{name}-{procs}")), procs)
    return _reference[key]


@pytest.mark.parametrize("procs", PROCS)
def test_vpic_io_and_bdcats_match_h5py(procs: int, way: Way, tmp_path_factory: pytest.TempPathFactory) -> None:
    ref_lines, ref_dump = _reference_for("vpic", procs, tmp_path_factory)
    lines, dump = _vpic_bdcats(way, procs)
    assert_same(ref_lines, lines, f"VPIC-IO/BD-CATS output with {procs} processes")
    assert_same(ref_dump, dump, f"particles.h5 written by {procs} processes")


@pytest.mark.parametrize("procs", PROCS)
def test_h5boss_matches_h5py(procs: int, way: Way, tmp_path_factory: pytest.TempPathFactory) -> None:
    ref_lines, ref_dump = _reference_for("h5boss", procs, tmp_path_factory)
    lines, dump = _h5boss(way, procs)
    assert_same(ref_lines, lines, f"H5Boss output with {procs} processes")
    assert_same(ref_dump, dump, f"H5Boss files written by {procs} processes")


@pytest.mark.parametrize("case, expected", [
    ("chunk", ["x [1, 1, 1, 0, 0, 2, 2, 2, 0, 0]", "groups []"]),
    ("groups", ["x [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "groups ['from_a', 'from_b']"]),
])
@pytest.mark.parametrize("store", ["localstore", "serve"])
def test_interleaved_writers_lose_nothing(case: str, expected: list[str], store: str,
                                          request: pytest.FixtureRequest, tmp_path: Path) -> None:
    way = serve_way(request.getfixturevalue("sciswift_server")) if store == "serve" else localstore_way(tmp_path)
    proc = way.run([str(Path(__file__).with_name("two_writers.py")), way.path("shared.h5"), case])
    assert proc.stdout.splitlines()[-2:] == expected

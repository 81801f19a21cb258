"""Chunk-wise copying: blocks tile the dataset exactly, stay within the memory
budget and never split a chunk; the pipeline bounds what is in flight and
reports failures; a failed import leaves nothing behind."""

from __future__ import annotations

import math
import threading
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sciswift.h5py as sh5
from sciswift.convert import ConversionError, CopyOptions, import_file
from sciswift.convert.blocks import block_shape, iter_blocks
from sciswift.convert.transfer import BlockPipeline, Direction
from sciswift.errors import AlreadyExists, InvalidInput


@st.composite
def _grids(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(0, 40)) for _ in range(ndim))
    unit = tuple(draw(st.integers(1, 12)) for _ in range(ndim))
    return shape, unit, draw(st.sampled_from([1, 4, 8, 16])), draw(st.integers(1, 4096))


@given(_grids())
@settings(max_examples=300, deadline=None)
def test_blocks_tile_the_array_along_chunk_boundaries(grid: tuple) -> None:
    shape, unit, itemsize, budget = grid
    covered = np.zeros(shape, dtype=np.int8)
    unit_bytes = math.prod(min(u, n) for u, n in zip(unit, shape) if n) * itemsize
    for sel in iter_blocks(shape, unit, itemsize, budget):
        covered[sel] += 1
        for s, u in zip(sel, unit):
            assert s.start % u == 0  # starts on a chunk boundary: no chunk is shared
        size = math.prod(s.stop - s.start for s in sel) * itemsize
        assert size <= max(budget, unit_bytes)  # one chunk even if it exceeds the budget
    assert covered.size == 0 or (covered == 1).all()


def test_block_shape_grows_the_last_dimensions_first() -> None:
    assert block_shape((4096, 4096), (256, 256), 4, 16 << 20) == (1024, 4096)
    assert block_shape((10,), (3,), 8, 1) == (3,)
    assert list(iter_blocks((), (), 8)) == [()]


def test_pipeline_bounds_blocks_in_flight() -> None:
    alive = 0
    peak = 0
    lock = threading.Lock()
    done: list[int] = []

    def write(i: int) -> None:
        nonlocal alive, peak
        time.sleep(0.002)
        with lock:
            alive -= 1

    def read(i: int) -> int:
        nonlocal alive, peak
        with lock:
            alive += 1
            peak = max(peak, alive)
        return i

    with BlockPipeline(Direction.WRITE_PARALLEL, workers=4, inflight=3) as pipe:
        for i in range(40):
            pipe.submit(lambda i=i: read(i), write, done=lambda i=i: done.append(i))
    assert done == list(range(40))  # completion callbacks come in order
    assert peak <= 3


def test_pipeline_raises_the_first_failure() -> None:
    def write(_data: object) -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        with BlockPipeline(Direction.READ_PARALLEL, workers=2, inflight=2) as pipe:
            for i in range(5):
                pipe.submit(lambda i=i: i, write)


def test_large_dataset_is_copied_in_bounded_memory(tmp_path: Path) -> None:
    """A 32 MiB dataset copied with 1 MiB blocks never has the whole array in memory."""
    src = tmp_path / "big.h5"
    with h5py.File(src, "w") as f:
        ds = f.create_dataset("big", shape=(2048, 4096), dtype="f4", chunks=(128, 512))
        for i in range(0, 2048, 256):
            ds[i:i + 256] = np.random.default_rng(i).random((256, 4096), dtype="f4")
        f.create_dataset("contig", data=np.arange(2_000_000, dtype="f8"))
    options = CopyOptions(budget=1 << 20, workers=2, inflight=3)
    tracemalloc.start()
    try:
        import_file(str(src), str(tmp_path / "native"), options=options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"peak traced memory {peak / 2**20:.1f} MiB"
    with h5py.File(src) as a, sh5.File(str(tmp_path / "native")) as b:
        assert b["big"].chunks == (128, 512)
        np.testing.assert_array_equal(a["big"][1000:1010, 4000:4096], b["big"][1000:1010, 4000:4096])
        np.testing.assert_array_equal(a["big"][()], b["big"][()])
        np.testing.assert_array_equal(a["contig"][()], b["contig"][()])
        assert b["contig"].chunks is None


def _unreadable_source(path: Path) -> None:
    """A file whose second dataset uses a filter nobody has (id 32999)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("fine", data=np.arange(10))
        ds = f.create_dataset("weird", shape=(4,), dtype="i4", chunks=(4,), compression=32999,
                              allow_unknown_filter=True)
        ds.id.write_direct_chunk((0,), b"\x00" * 16)


def test_failed_import_leaves_nothing(tmp_path: Path) -> None:
    _unreadable_source(tmp_path / "bad.h5")
    with pytest.raises(ConversionError, match="/weird"):
        import_file(str(tmp_path / "bad.h5"), str(tmp_path / "out.h5"))
    assert not (tmp_path / "out.h5").exists() or not any((tmp_path / "out.h5").rglob("zarr.json"))
    with pytest.raises(FileNotFoundError):
        sh5.File(str(tmp_path / "out.h5"), "r")


def _one_dataset_file(path: Path, name: str, values: list[int]) -> Path:
    with h5py.File(path, "w") as f:
        f[name] = values
    return path


def test_import_refuses_to_overwrite(tmp_path: Path) -> None:
    src = _one_dataset_file(tmp_path / "a.h5", "x", [1, 2, 3])
    import_file(str(src), str(tmp_path / "native"))
    with pytest.raises(AlreadyExists, match="--overwrite"):
        import_file(str(src), str(tmp_path / "native"))
    _one_dataset_file(src, "y", [4])
    import_file(str(tmp_path / "a.h5"), str(tmp_path / "native"), overwrite=True)
    with sh5.File(str(tmp_path / "native")) as f:
        assert list(f) == ["y"]


def test_import_whose_metadata_cannot_be_written_leaves_nothing(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The last step of an import, writing the metadata at close, fails: the error
    names the destination and the objects already written are deleted."""
    _one_dataset_file(tmp_path / "a.h5", "x", list(range(1000)))
    from sciswift.h5.files import File

    real_close = File.close

    def failing_close(self: File) -> None:
        real_close(self)
        raise OSError("metadata write refused")

    monkeypatch.setattr(File, "close", failing_close)
    with pytest.raises(ConversionError, match="native: writing the file's metadata failed"):
        import_file(str(tmp_path / "a.h5"), str(tmp_path / "native"))
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError):
        sh5.File(str(tmp_path / "native"), "r")


def test_import_onto_itself_is_refused(tmp_path: Path) -> None:
    import_file(str(_one_dataset_file(tmp_path / "a.h5", "x", [1, 2, 3])), str(tmp_path / "native"))
    with pytest.raises(InvalidInput, match="is the source itself"):
        import_file(str(tmp_path / "native"), str(tmp_path / "native") + "/", overwrite=True)
    with sh5.File(str(tmp_path / "native")) as f:
        assert list(f["x"][()]) == [1, 2, 3]

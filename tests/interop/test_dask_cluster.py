"""dask on sciswift data across processes: a real ``dask.distributed.LocalCluster``
of two worker processes, and dask's ``scheduler="processes"``, computing over
``sciswift.zarr_store`` (``da.from_zarr``) and over sciswift.h5py datasets
(``da.from_array``), on ``sciswift serve`` and on a local store, against the
same computation in NumPy. The workers have no Swift credentials in their
environment: what reaches the account travels in the pickles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import sciswift
import sciswift.h5py as h5py

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

DATA = np.random.default_rng(11).random((400, 300)).astype("f4")
CHUNKS = (100, 300)


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.Client]:
    assert not any(k.startswith(("ST_", "OS_")) for k in os.environ), "workers must start without credentials"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as lc, distributed.Client(lc) as client:
        yield client


@pytest.fixture(scope="module")
def swift_url(sciswift_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A native file with dataset ``x`` on the server, written with the account in
    the environment only while writing."""
    url = "swift://dask-cluster/run1.h5"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ST_AUTH", sciswift_server.auth_url)
        mp.setenv("ST_USER", sciswift_server.user)
        mp.setenv("ST_KEY", sciswift_server.key)
        with h5py.File(url, "w") as f:
            f.create_dataset("x", data=DATA, chunks=CHUNKS, compression="gzip")
    yield url


@pytest.fixture(scope="module")
def local_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = str(tmp_path_factory.mktemp("dask") / "run1.h5")
    with h5py.File(url, "w") as f:
        f.create_dataset("x", data=DATA, chunks=CHUNKS, compression="gzip")
    return url


def _auth(server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"auth_url": server.auth_url, "user": server.user, "key": server.key}


def _pids(client: distributed.Client) -> set[int]:
    return set(client.run(os.getpid).values())


def test_from_zarr_on_the_cluster(cluster, swift_url, local_url, sciswift_server) -> None:  # type: ignore[no-untyped-def]
    ours = da.from_zarr(sciswift.zarr_store(swift_url, read_only=True, **_auth(sciswift_server)), component="x")
    local = da.from_zarr(sciswift.zarr_store(local_url, read_only=True), component="x")
    assert ours.chunksize == CHUNKS
    assert len(_pids(cluster) - {os.getpid()}) == 2
    for arr in (ours, local):
        assert np.isclose(arr.mean().compute(), DATA.mean(dtype="f8"), rtol=1e-6)
        got = cluster.compute(arr[50:350:7, ::3] * 2).result()
        assert np.array_equal(got, DATA[50:350:7, ::3] * 2)


def test_h5py_datasets_on_the_cluster(cluster, swift_url, local_url, sciswift_server,  # type: ignore[no-untyped-def]
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"ST_AUTH": sciswift_server.auth_url, "ST_USER": sciswift_server.user,
                       "ST_KEY": sciswift_server.key}.items():
        monkeypatch.setenv(key, value)
    with h5py.File(swift_url, "r") as fs, h5py.File(local_url, "r") as fl:
        monkeypatch.delenv("ST_AUTH")  # from here on, only the pickles know the account
        for ds in (fs["x"], fl["x"]):
            arr = da.from_array(ds, chunks=CHUNKS)
            assert np.isclose(arr.mean().compute(), DATA.mean(dtype="f8"), rtol=1e-6)
            assert np.array_equal(arr.max(axis=0).compute(), DATA.max(axis=0))
        # Groups and files travel too (a task that opens a member itself).
        future = cluster.submit(lambda g: (g.name, g["x"][3:5, 0].tolist(), os.getpid()), fs)
        name, values, pid = future.result()
        assert name == "/" and values == DATA[3:5, 0].tolist() and pid != os.getpid()


def test_processes_scheduler(swift_url, local_url, sciswift_server,  # type: ignore[no-untyped-def]
                             monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = [
        da.from_zarr(sciswift.zarr_store(swift_url, read_only=True, **_auth(sciswift_server)), component="x"),
        da.from_zarr(sciswift.zarr_store(local_url, read_only=True), component="x"),
    ]
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    fs = h5py.File(swift_url, "r")
    monkeypatch.delenv("ST_KEY")
    try:
        arrays.append(da.from_array(fs["x"], chunks=CHUNKS))
        sums = da.compute(*[a.sum(axis=1) for a in arrays], scheduler="processes", num_workers=2)
    finally:
        fs.close()
    for got in sums:
        assert np.allclose(got, DATA.sum(axis=1, dtype="f8"), rtol=1e-5)


def test_a_memory_store_is_refused_by_name(cluster) -> None:  # type: ignore[no-untyped-def]
    url = "memory://dask-mem/run1.h5"
    with h5py.File(url, "w") as f:
        f["x"] = DATA
    arr = da.from_zarr(sciswift.zarr_store(url, read_only=True), component="x")
    with pytest.raises(TypeError) as caught:
        arr.sum().compute()
    # dask wraps it ("Could not serialize ..."); the cause the user reads names the store.
    chain, exc = [], caught.value
    while exc is not None:
        chain.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    assert any("cannot pickle the MemoryStore memory://" in m for m in chain), chain
    assert np.isclose(arr.sum().compute(scheduler="threads"), DATA.sum(dtype="f8"), rtol=1e-5)


def test_local_path_in_a_worker_reads_the_same_directory(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = str(tmp_path / "w.h5")
    with h5py.File(url, "w") as f:
        f["x"] = np.arange(10)
    with h5py.File(url, "r") as f:
        total = cluster.submit(lambda ds: int(ds[...].sum()), f["x"]).result()
    assert total == 45


def test_dask_dataframe_reads_swift_urls_on_the_cluster(cluster, sciswift_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    opts = _auth(sciswift_server)
    frame = pd.DataFrame({"k": np.arange(300) % 7, "v": np.linspace(0.0, 1.0, 300)})
    import fsspec

    fsspec.filesystem("swift", **opts).mkdir("dask-frames")
    for i in range(3):
        part = frame.iloc[i * 100:(i + 1) * 100]
        part.to_parquet(f"swift://dask-frames/p{i}.parquet", storage_options=opts)
        part.to_csv(f"swift://dask-frames/c{i}.csv", index=False, storage_options=opts)
        part.to_parquet(tmp_path / f"p{i}.parquet")
    ours = dd.read_parquet("swift://dask-frames/p*.parquet", storage_options=opts)
    local = dd.read_parquet(str(tmp_path / "p*.parquet"))
    assert ours.npartitions == 3
    got = ours.groupby("k")["v"].sum().compute().sort_index()
    pd.testing.assert_series_equal(got, local.groupby("k")["v"].sum().compute().sort_index())
    csv = dd.read_csv("swift://dask-frames/c*.csv", storage_options=opts).compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(csv, frame)


@pytest.mark.parametrize("processes", [True, False], ids=["worker-processes", "in-process-workers"])
def test_after_close_the_file_opens_for_writing(processes: bool, sciswift_server) -> None:  # type: ignore[no-untyped-def]
    """A ``LocalCluster``'s scheduler runs in the client's process and unpickles
    the graph there, and distributed keeps those tasks (in its logs of recent
    messages) after the computation: their openings of the file must not keep
    it open for the program. As with h5py (xarray's file cache closes the file
    for every copy at ``Dataset.close()``): while the Dataset is open, opening
    the file for writing is refused; after ``close()`` it works, and the next
    computation sees what was written."""
    xr = pytest.importorskip("xarray")
    opts = _auth(sciswift_server)
    url = f"swift://dask-cluster/reopen-{processes}.h5"
    with h5py.File(url, "w", storage_options=opts) as f:
        f.create_dataset("x", data=DATA, chunks=CHUNKS, maxshape=(None, DATA.shape[1]))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                  dashboard_address=None) as lc, distributed.Client(lc):
        ds = xr.open_dataset(url, engine="sciswift", chunks={}, storage_options=opts)
        assert np.isclose(float(ds["x"].mean().compute()), DATA.mean(dtype="f8"), rtol=1e-6)
        with pytest.raises(OSError, match="already open read-only"):
            h5py.File(url, "a", storage_options=opts)
        ds.close()
        with h5py.File(url, "a", storage_options=opts) as f:
            f["x"].resize((500, DATA.shape[1]))
            f["x"][400:] = 1.0
            f.create_dataset("y", data=np.arange(7.0))
        ds = xr.open_dataset(url, engine="sciswift", chunks={}, storage_options=opts)
        try:
            assert ds["x"].shape == (500, DATA.shape[1])
            assert np.isclose(float(ds["x"].sum().compute()), DATA.sum(dtype="f8") + 100 * DATA.shape[1], rtol=1e-6)
            assert float(ds["y"].sum().compute()) == 21.0
        finally:
            ds.close()
        with h5py.File(url, "w", storage_options=opts) as f:  # truncating works too
            f["z"] = np.zeros(3)

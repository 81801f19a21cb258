"""``swift://`` through fsspec (found by its entry point) on ``sciswift serve``:
the file-system operations themselves, then pandas, pyarrow, zarr-python and
xarray's zarr engine reading and writing ``swift://`` URLs, each compared with
the same code on a local file."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import sciswift.h5py as h5py

fsspec = pytest.importorskip("fsspec")
pd = pytest.importorskip("pandas")


@pytest.fixture
def opts(sciswift_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"auth_url": sciswift_server.auth_url, "user": sciswift_server.user, "key": sciswift_server.key}


@pytest.fixture
def fs(opts: dict[str, str]):  # type: ignore[no-untyped-def]
    return fsspec.filesystem("swift", **opts)


@pytest.fixture
def base(fs, request: pytest.FixtureRequest) -> str:  # type: ignore[no-untyped-def]
    """A fresh container for the test."""
    name = "fsspec-" + "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    fs.rm(name, recursive=True) if fs.exists(name) else None
    fs.mkdir(name)
    return name


def test_registered_through_the_entry_point() -> None:
    from sciswift.interop.fsspec import SwiftFileSystem

    assert fsspec.get_filesystem_class("swift") is SwiftFileSystem


def test_credentials_from_the_environment(swift_env, base: str) -> None:  # type: ignore[no-untyped-def]
    env_fs = fsspec.filesystem("swift", skip_instance_cache=True)
    env_fs.pipe(f"swift://{base}/from-env", b"x")
    assert env_fs.cat(f"{base}/from-env") == b"x"


def test_bad_credentials_name_the_endpoint(sciswift_server) -> None:  # type: ignore[no-untyped-def]
    bad = fsspec.filesystem("swift", auth_url=sciswift_server.auth_url, user="test:tester", key="wrong",
                            skip_instance_cache=True)
    with pytest.raises(PermissionError, match=sciswift_server.auth_url):
        bad.ls("")
    assert "wrong" not in repr(bad)


def test_reads_writes_and_ranges(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 1000
    fs.pipe(f"swift://{base}/dir/blob.bin", data)
    assert fs.cat_file(f"{base}/dir/blob.bin") == data
    for start, end in [(10, 20), (None, 5), (1000, None), (-7, None), (-20, -10), (5, 5), (250_000, 300_000)]:
        assert fs.cat_file(f"{base}/dir/blob.bin", start, end) == data[start:end], (start, end)
    with fs.open(f"swift://{base}/dir/blob.bin", "rb", block_size=4096) as f:
        f.seek(100_000)
        assert f.read(10) == data[100_000:100_010]
        assert f.size == len(data)
    # A write larger than the block size goes out in several chunks, stored at close.
    big = np.random.default_rng(1).bytes(3 * (1 << 20) + 17)
    with fs.open(f"{base}/big.bin", "wb", block_size=1 << 20) as f:
        for i in range(0, len(big), 300_000):
            f.write(big[i:i + 300_000])
        assert not fs.exists(f"{base}/big.bin")  # nothing visible before close
    assert fs.cat(f"{base}/big.bin") == big
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{base}/big.bin", b"no", mode="create")
    with pytest.raises(FileNotFoundError, match="no such object"):
        fs.cat_file(f"{base}/missing")
    with pytest.raises(FileNotFoundError):
        fs.open(f"{base}/missing", "rb")


def test_files_being_written_seek_and_read_back(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    # Writers that go back to patch what they wrote (HDF5, netCDF-3, zip) need
    # seek/tell/read on the open file; fsspec's buffered file refuses seeking
    # while writing ("Seek only available in read mode").
    with fs.open(f"{base}/patched.bin", "wb") as f:
        assert f.seekable()
        f.write(b"0123456789")
        assert f.tell() == 10 and f.seek(2) == 2
        f.write(b"ab")
        f.seek(0)
        assert f.read(5) == b"01ab4"
        f.seek(0, 2)
        f.write(b"!")
        f.truncate(9)
        assert not fs.exists(f"{base}/patched.bin")  # nothing visible before close
    assert fs.cat(f"{base}/patched.bin") == b"01ab45678"
    with pytest.raises(FileExistsError):  # at open, as fsspec's abstract tests expect
        fs.open(f"{base}/patched.bin", "xb")
    with fs.open(f"{base}/racing.bin", "xb") as f:
        f.write(b"x")
        fs.pipe(f"{base}/racing.bin", b"first")  # stored meanwhile: the create-only PUT refuses
        with pytest.raises(FileExistsError):
            f.close()
    assert fs.cat(f"{base}/patched.bin") == b"01ab45678" and fs.cat(f"{base}/racing.bin") == b"first"
    f = fs.open(f"{base}/discarded.bin", "wb")
    f.write(b"never stored")
    f.discard()
    f.close()
    assert not fs.exists(f"{base}/discarded.bin")
    with pytest.raises(ValueError, match="closed"):
        f.write(b"x")


def test_append_keeps_the_object_and_writes_at_its_end(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    # fsspec's "ab" as Python's: the old bytes stay, every write lands at the
    # end (also after reading back from the start), a missing object is created.
    big = np.random.default_rng(2).bytes(9 << 20)  # beyond the spool's memory
    fs.pipe(f"{base}/log.bin", big)
    with fs.open(f"{base}/log.bin", "ab") as f:
        assert f.tell() == len(big)
        f.write(b"one")
        f.seek(0)
        assert f.read(4) == big[:4]
        f.write(b"two")
        assert fs.cat(f"{base}/log.bin") == big  # nothing visible before close
    assert fs.cat(f"{base}/log.bin") == big + b"onetwo"
    with fs.open(f"{base}/new.log", "ab") as f:
        f.write(b"created")
    assert fs.cat(f"{base}/new.log") == b"created"
    # Another writer replacing the object meanwhile is not overwritten.
    with fs.open(f"{base}/new.log", "ab") as f:
        f.write(b" and lost")
        fs.pipe(f"{base}/new.log", b"replaced")
        with pytest.raises(OSError, match="changed by another writer"):
            f.close()
    assert fs.cat(f"{base}/new.log") == b"replaced"


def test_touch_without_truncate_keeps_the_bytes(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    import time

    fs.pipe(f"{base}/t.bin", b"content")
    fs.store.post_object(base, "t.bin", metadata={"color": "blue", "mtime": "1000000000.000000000"})
    before = fs.modified(f"{base}/t.bin")
    time.sleep(1.1)
    fs.touch(f"{base}/t.bin", truncate=False)
    info = fs.store.head_object(base, "t.bin")
    assert fs.cat(f"{base}/t.bin") == b"content" and info.metadata["color"] == "blue"
    assert fs.modified(f"{base}/t.bin") > before
    assert abs(float(info.metadata["mtime"]) - time.time()) < 60  # the swift tools' file time, now
    fs.touch(f"{base}/fresh.bin", truncate=False)
    assert fs.cat(f"{base}/fresh.bin") == b""
    fs.touch(f"{base}/t.bin")  # truncate=True: fsspec's default empties it
    assert fs.cat(f"{base}/t.bin") == b""


def test_sign_gives_a_temp_url(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    import urllib.error
    import urllib.request

    fs.pipe(f"{base}/dir/a b ü.txt", b"signed")
    with pytest.raises(NotImplementedError, match="temp-URL key"):
        fs.sign(f"{base}/dir/a b ü.txt")
    fs.store.post_container(base, metadata={"temp-url-key": "s3cret"})
    url = fs.sign(f"swift://{base}/dir/a b ü.txt", expiration=60)
    assert "temp_url_sig=" in url and "s3cret" not in url
    with urllib.request.urlopen(url) as resp:  # no token: the signature is the authorization
        assert resp.read() == b"signed"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.replace("temp_url_sig=", "temp_url_sig=0"))
    assert refused.value.code == 401
    put = urllib.request.Request(fs.sign(f"{base}/dir/a b ü.txt", method="PUT"), data=b"put", method="PUT")
    urllib.request.urlopen(put).close()
    assert fs.cat(f"{base}/dir/a b ü.txt") == b"put"


@pytest.mark.saio
def test_sign_on_a_swift_without_tempurl_says_so(saio) -> None:  # type: ignore[no-untyped-def]
    """OpenStack Swift runs tempurl only where the cluster's pipeline has it (the
    all-in-one's has not: /info lists no ``tempurl``). A URL signed there is
    refused with a 401 at first use; ``sign`` says so instead of handing it out."""
    import urllib.request
    import uuid

    real = fsspec.filesystem("swift", auth_url=saio.auth_url, user=saio.user, key=saio.key)
    container = f"sign-{uuid.uuid4().hex[:8]}"
    real.mkdir(container)
    real.pipe(f"{container}/a.txt", b"signed")
    real.store.post_container(container, metadata={"temp-url-key": "s3cret"})
    req = urllib.request.Request(f"{saio.url}/info")
    with urllib.request.urlopen(req) as resp:
        assert b'"tempurl"' not in resp.read()  # what the check below relies on
    with pytest.raises(NotImplementedError, match="does not offer temporary URLs"):
        real.sign(f"swift://{container}/a.txt")
    real.rm(container, recursive=True)


def test_h5py_and_xarray_write_into_an_open_object(fs, opts: dict[str, str], base: str,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    import h5py as real_h5py

    xr = pytest.importorskip("xarray")
    ds = xr.Dataset({"v": (("t", "x"), np.arange(12.0).reshape(4, 3))},
                    coords={"t": [1, 2, 3, 4], "x": [10, 20, 30]}, attrs={"title": "written in place"})
    for engine in ("h5netcdf", "scipy"):
        with fs.open(f"swift://{base}/{engine}.nc", "wb") as f:
            ds.to_netcdf(f, engine=engine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            back = xr.open_dataset(f"swift://{base}/{engine}.nc", engine="sciswift", storage_options=opts).load()
        xr.testing.assert_identical(back.drop_encoding(), ds)
        ds.to_netcdf(tmp_path / f"{engine}.nc", engine=engine)
        local = xr.open_dataset(tmp_path / f"{engine}.nc", engine=engine).load()
        xr.testing.assert_identical(back.drop_encoding(), local.drop_encoding())
    with fs.open(f"{base}/plain.h5", "wb") as f, real_h5py.File(f, "w") as h:
        h.create_dataset("x", data=np.arange(100), chunks=(10,), compression="gzip")
    with fs.open(f"{base}/plain.h5", "rb") as f, real_h5py.File(f, "r") as h:
        np.testing.assert_array_equal(h["x"][:], np.arange(100))


def test_listing_info_find_glob_du(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    for name in ("a/1.txt", "a/b/2.txt", "a/b/3.csv", "top.txt"):
        fs.pipe(f"{base}/{name}", name.encode())
    assert fs.ls(base, detail=False) == [f"{base}/a", f"{base}/top.txt"]
    assert fs.ls(f"swift://{base}/a/", detail=False) == [f"{base}/a/1.txt", f"{base}/a/b"]
    assert fs.info(f"{base}/a/b") == {"name": f"{base}/a/b", "size": 0, "type": "directory"}
    info = fs.info(f"{base}/a/1.txt")
    assert info["type"] == "file" and info["size"] == 7 and len(info["ETag"]) == 32
    assert fs.find(base) == sorted(f"{base}/{n}" for n in ("a/1.txt", "a/b/2.txt", "a/b/3.csv", "top.txt"))
    assert fs.find(f"{base}/a", withdirs=True) == [f"{base}/a", f"{base}/a/1.txt", f"{base}/a/b",
                                                    f"{base}/a/b/2.txt", f"{base}/a/b/3.csv"]
    assert fs.glob(f"swift://{base}/a/**/*.txt") == [f"{base}/a/1.txt", f"{base}/a/b/2.txt"]
    assert fs.du(base) == sum(len(n) for n in ("a/1.txt", "a/b/2.txt", "a/b/3.csv", "top.txt"))
    assert base in fs.ls("", detail=False)
    assert fs.isdir(base) and fs.isdir(f"{base}/a") and fs.isfile(f"{base}/top.txt")
    assert not fs.exists(f"{base}/nope") and not fs.exists("no-such-container-here")
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{base}/nope")
    assert fs.modified(f"{base}/top.txt").year >= 2024


def test_put_get_copy_move_remove(fs, base: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = tmp_path / "up.bin"
    local.write_bytes(b"payload" * 1000)
    fs.put(str(local), f"swift://{base}/up.bin")
    fs.get(f"{base}/up.bin", str(tmp_path / "down.bin"))
    assert (tmp_path / "down.bin").read_bytes() == local.read_bytes()
    fs.cp(f"{base}/up.bin", f"{base}/copy.bin")
    fs.mv(f"{base}/copy.bin", f"{base}/moved/here.bin")
    assert fs.cat(f"{base}/moved/here.bin") == local.read_bytes() and not fs.exists(f"{base}/copy.bin")
    fs.rm(f"{base}/up.bin")
    assert not fs.exists(f"{base}/up.bin")
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{base}/up.bin")
    fs.rm(f"{base}/moved", recursive=True)
    assert fs.ls(base) == []
    with pytest.raises(IsADirectoryError, match="recursive=True"):
        fs.rm(base)  # a container, not an object: the builtin error, not the store's InvalidName
    assert fs.exists(base)
    with pytest.raises(OSError, match="not empty"):
        fs.pipe(f"{base}/x", b"1")
        fs.rmdir(base)
    fs.rm(base, recursive=True)
    assert not fs.exists(base)


def test_recursive_copy_and_move_of_a_prefix(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    # fsspec's recursive copy/mv hand every directory of the tree to cp_file;
    # prefixes have nothing to copy (they used to raise FileNotFoundError, which
    # mv turns into a failure after nothing was moved).
    tree = {"a/b/c.txt": b"abc", "a/\u00fc \u00f1.txt": "\u00fcnicode".encode(), "a/empty": b""}
    for name, data in tree.items():
        fs.pipe(f"{base}/{name}", data)
    fs.copy(f"{base}/a", f"{base}/copy", recursive=True)
    assert {n: fs.cat(n) for n in fs.find(f"{base}/copy")} == {
        f"{base}/copy/{k[2:]}": v for k, v in tree.items()}
    fs.mv(f"{base}/copy", f"{base}/moved", recursive=True)
    assert not fs.exists(f"{base}/copy")
    assert fs.find(f"{base}/moved") == sorted(f"{base}/moved/{k[2:]}" for k in tree)
    assert fs.find(f"{base}/a") == sorted(f"{base}/{k}" for k in tree)  # the source is untouched
    with pytest.raises(FileNotFoundError):
        fs.cp_file(f"{base}/nothing-here", f"{base}/x")


def test_the_file_system_pickles_with_its_account(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    fs.pipe(f"{base}/p", b"pickled")
    again = pickle.loads(pickle.dumps(fs))
    assert again.cat(f"{base}/p") == b"pickled"
    with fs.open(f"{base}/p", "rb") as f:
        assert pickle.loads(pickle.dumps(f)).read() == b"pickled"


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"i": np.arange(500), "x": rng.random(500), "s": [f"row{i}" for i in range(500)]})


def test_pandas_parquet_and_csv(opts, base: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = _frame()
    df.to_parquet(f"swift://{base}/t.parquet", storage_options=opts)
    df.to_parquet(tmp_path / "t.parquet")
    got = pd.read_parquet(f"swift://{base}/t.parquet", storage_options=opts)
    pd.testing.assert_frame_equal(got, pd.read_parquet(tmp_path / "t.parquet"))
    cols = pd.read_parquet(f"swift://{base}/t.parquet", columns=["x"], storage_options=opts)
    pd.testing.assert_frame_equal(cols, df[["x"]])
    df.to_csv(f"swift://{base}/t.csv", index=False, storage_options=opts)
    df.to_csv(tmp_path / "t.csv", index=False)
    pd.testing.assert_frame_equal(pd.read_csv(f"swift://{base}/t.csv", storage_options=opts),
                                  pd.read_csv(tmp_path / "t.csv"))


def test_pyarrow_through_the_file_system(fs, base: str) -> None:  # type: ignore[no-untyped-def]
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"a": np.arange(1000), "b": np.arange(1000) * 0.5})
    pq.write_table(table, f"{base}/p.parquet", filesystem=fs, row_group_size=100)
    meta = pq.ParquetFile(f"{base}/p.parquet", filesystem=fs).metadata
    assert meta.num_row_groups == 10
    assert pq.read_table(f"swift://{base}/p.parquet", filesystem=fs).equals(table)
    with fs.open(f"{base}/p.parquet", "rb") as f:
        assert pq.ParquetFile(f).read_row_group(3).column("a").to_pylist() == list(range(300, 400))
    import pyarrow.dataset as pds

    assert pds.dataset(f"{base}/p.parquet", filesystem=fs).to_table().num_rows == 1000


def test_zarr_python_on_swift_urls(opts, base: str, swift_env) -> None:  # type: ignore[no-untyped-def]
    zarr = pytest.importorskip("zarr")
    url = f"swift://{base}/run1.h5"
    data = np.arange(48, dtype="f4").reshape(6, 8)
    with h5py.File(url, "w") as f:
        f.create_dataset("grp/temp", data=data, chunks=(2, 8), compression="gzip")
        f["grp"].attrs["units"] = "K"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open(url, mode="r", storage_options=opts)
        assert g["grp"].attrs["units"] == "K"
        assert np.array_equal(g["grp/temp"][2:5, ::3], data[2:5, ::3])
        out = zarr.open_group(f"swift://{base}/theirs.zarr", mode="w", storage_options=opts)
        out.create_array("v", shape=(5,), chunks=(2,), dtype="i8")[:] = np.arange(5)
    with h5py.File(f"swift://{base}/theirs.zarr", "r") as f:
        assert f["v"][:].tolist() == [0, 1, 2, 3, 4]


def test_xarray_zarr_engine_on_swift_urls(opts, base: str, tmp_path: Path, swift_env) -> None:  # type: ignore[no-untyped-def]
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset(
        {"t": (("time", "x"), np.arange(12.0).reshape(4, 3), {"units": "K"})},
        coords={"time": pd.date_range("2024-01-01", periods=4), "x": [10, 20, 30]},
        attrs={"title": "fsspec"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(f"swift://{base}/x.zarr", mode="w", storage_options=opts)
        ds.to_zarr(tmp_path / "x.zarr", mode="w")
        ours = xr.open_zarr(f"swift://{base}/x.zarr", storage_options=opts).load()
        local = xr.open_zarr(tmp_path / "x.zarr").load()
    xr.testing.assert_identical(ours, local)
    xr.testing.assert_identical(ours, ds)
    # A native file written through sciswift.h5py with dimension scales.
    with h5py.File(f"swift://{base}/native.h5", "w") as f:
        x = f.create_dataset("x", data=np.array([1.0, 2.0, 3.0]))
        x.make_scale("x")
        t = f.create_dataset("temp", data=np.arange(3.0))
        t.dims[0].attach_scale(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        native = xr.open_zarr(f"swift://{base}/native.h5", storage_options=opts, consolidated=False).load()
    assert native["temp"].dims == ("x",) and native["x"].values.tolist() == [1.0, 2.0, 3.0]

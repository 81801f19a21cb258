"""Stores, locations, zarr stores and read-only sciswift.h5py objects pickle by
address: unpickled (here, or in a fresh interpreter) they reach the same data.
What cannot travel (a MemoryStore, a file open for writing) is refused with a
TypeError naming it; secrets never appear in a repr."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sciswift
import sciswift.h5py as h5py
from sciswift.store import LocalStore, MemoryStore, SwiftStore, parse_location

KEY = "testing"


@pytest.fixture
def swift_auth(sciswift_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"auth_url": sciswift_server.auth_url, "user": sciswift_server.user, "key": sciswift_server.key}


def _in_fresh_interpreter(payload: bytes, code: str) -> str:
    """Run ``code`` in a new Python (no ST_* variables) with ``obj`` unpickled
    from ``payload``; its stdout."""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("ST_", "OS_"))}
    prog = f"import pickle, sys, numpy as np\nobj = pickle.loads(sys.stdin.buffer.read())\n{code}\n"
    out = subprocess.run([sys.executable, "-c", prog], input=payload, capture_output=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode()


def test_local_store_pickles_by_directory(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "acct")
    store.create_container("c")
    store.put_object("c", "o", b"hello")
    copy_ = pickle.loads(pickle.dumps(store))
    assert copy_ is not store and copy_.root == store.root and copy_.durable == store.durable
    assert copy_.get_object("c", "o") == b"hello"
    # In another process too, and the root is not created there if it is gone.
    assert _in_fresh_interpreter(pickle.dumps(store), "print(obj.get_object('c', 'o').decode())") == "hello\n"
    store.close()
    copy_.close()


def test_local_store_pickled_root_must_still_exist(tmp_path: Path) -> None:
    payload = pickle.dumps(LocalStore(tmp_path / "gone"))
    (tmp_path / "gone").rmdir()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pickle.loads(payload)
    assert not (tmp_path / "gone").exists()


def test_memory_store_refuses_with_a_clear_error() -> None:
    store = MemoryStore.named("pickling-test")
    with pytest.raises(TypeError, match=r"cannot pickle the MemoryStore memory://pickling-test: .*another process"):
        pickle.dumps(store)
    with pytest.raises(TypeError, match="MemoryStore"):
        pickle.dumps(parse_location("memory://c/f.h5"))
    assert copy.copy(store) is store and copy.deepcopy(store) is store


def test_swift_store_carries_credentials_and_tuning(swift_auth: dict[str, str]) -> None:
    store = SwiftStore(**swift_auth, retries=2, max_workers=5)
    store.create_container("pickle-swift")
    store.put_object("pickle-swift", "o", b"over the wire")
    payload = pickle.dumps(store)
    again = pickle.loads(payload)
    assert again.max_workers == 5 and again.credentials == store.credentials
    assert again.get_object("pickle-swift", "o") == b"over the wire"
    # No ST_* in the other interpreter: the pickle carries the account.
    out = _in_fresh_interpreter(payload, "print(obj.get_object('pickle-swift', 'o').decode())")
    assert out == "over the wire\n"
    for shown in (repr(store), repr(again), repr(store.credentials), str(parse_location("swift://c/x", **swift_auth))):
        assert KEY not in shown.replace(swift_auth["user"], "")


def test_location_and_zarr_store_pickle(swift_auth: dict[str, str]) -> None:
    zarr = pytest.importorskip("zarr")
    url = "swift://pickle-zarr/a.zarr"
    store = sciswift.zarr_store(url, **swift_auth)
    root = zarr.open_group(store=store, mode="w")
    root.create_array("v", shape=(4,), dtype="i4")[:] = [1, 2, 3, 4]
    again = pickle.loads(pickle.dumps(store))
    assert again == store or again.location.display == url  # a new store object, same place
    assert not again.read_only
    assert list(zarr.open_group(store=again, mode="r")["v"][:]) == [1, 2, 3, 4]
    ro = pickle.loads(pickle.dumps(sciswift.zarr_store(url, read_only=True, **swift_auth)))
    assert ro.read_only
    loc = pickle.loads(pickle.dumps(parse_location(url, **swift_auth)))
    assert (loc.container, loc.prefix, loc.display) == ("pickle-zarr", "a.zarr", url)
    assert KEY not in repr(store).replace(swift_auth["user"], "")


@pytest.mark.parametrize("where", ["local", "swift"])
def test_read_only_h5py_objects_pickle_by_address(tmp_path: Path, where: str, request: pytest.FixtureRequest) -> None:
    if where == "swift":
        request.getfixturevalue("swift_env")
        url = f"swift://pickle-h5/{tmp_path.name}.h5"
    else:
        url = str(tmp_path / "f.h5")
    data = np.arange(60, dtype="f4").reshape(6, 10)
    with h5py.File(url, "w") as f:
        f.create_dataset("g/x", data=data, chunks=(2, 10))
        f["g"].attrs["units"] = "m"
        f["alias"] = h5py.SoftLink("/g/x")
    with h5py.File(url, "r") as f:
        objs = [f, f["g"], f["g/x"], f["alias"]]
        payload = pickle.dumps(objs)
        for obj, again in zip(objs, pickle.loads(payload)):
            assert type(again) is type(obj) and again.name == obj.name and again.file.mode == "r"
        ds = pickle.loads(pickle.dumps(f["g/x"]))
        assert np.array_equal(ds[1:3], data[1:3]) and ds.attrs == f["g/x"].attrs
        assert dict(pickle.loads(pickle.dumps(f["g"])).attrs) == {"units": "m"}
    # The file is closed here; the pickle still opens it, in a process without credentials.
    out = _in_fresh_interpreter(payload, "f, g, x, a = obj\nprint(a.name, g.attrs['units'], float(x[2:4].sum()))")
    assert out == f"/alias m {float(data[2:4].sum())}\n"


def test_blob_objects_pickle(tmp_path: Path) -> None:
    real_h5py = pytest.importorskip("h5py")
    path = tmp_path / "plain.h5"
    with real_h5py.File(path, "w") as f:
        f["x"] = np.arange(5)
    with h5py.File(str(path), "r") as f:
        payload = pickle.dumps(f["x"])
    assert _in_fresh_interpreter(payload, "print(obj[:].tolist())") == "[0, 1, 2, 3, 4]\n"
    store = LocalStore(tmp_path / "acct", mark_root=True)
    store.create_container("c")
    store.put_object("c", "plain.h5", path.read_bytes())
    with h5py.File(f"{(tmp_path / 'acct').as_uri()}/c/plain.h5", "r") as f:
        payload = pickle.dumps(f["x"])
    store.close()
    assert _in_fresh_interpreter(payload, "print(obj[1:3].tolist())") == "[1, 2]\n"


def test_what_cannot_travel_is_refused(tmp_path: Path) -> None:
    with h5py.File(str(tmp_path / "w.h5"), "w") as f:
        f["x"] = np.arange(3)
        with pytest.raises(TypeError, match=r"'.*w\.h5' is open for writing"):
            pickle.dumps(f)
        with pytest.raises(TypeError, match="open for writing"):
            pickle.dumps(f["x"])
        x = f["x"]
    with pytest.raises(TypeError, match="its file is closed"):
        pickle.dumps(x)
    with h5py.File("memory://pickle-mem/f.h5", "w") as f:
        f["x"] = 1
    with h5py.File("memory://pickle-mem/f.h5", "r") as f, pytest.raises(TypeError, match="MemoryStore"):
        pickle.dumps(f["x"])


def test_unpickled_file_that_is_gone_raises_file_not_found(tmp_path: Path) -> None:
    url = str(tmp_path / "gone.h5")
    with h5py.File(url, "w") as f:
        f["x"] = 1
    with h5py.File(url, "r") as f:
        payload = pickle.dumps(f["x"])
    import shutil

    shutil.rmtree(url)
    with pytest.raises(FileNotFoundError):
        pickle.loads(payload)


def test_unpickled_objects_do_not_keep_the_file_open_for_the_program(tmp_path: Path) -> None:
    """Copies made by unpickling share the program's open file while it is open,
    but once the program has closed it they do not hold it open: the program
    opens it for writing (with h5py's refusal while its own reader is open), a
    new opening sees what was written, and the copies keep reading the file as
    they found it (as a reader in another process does). Copies unpickled while
    the file is open for writing get a read-only opening of their own, so the
    writer's close stores the metadata at once."""
    url = str(tmp_path / "p.h5")
    with h5py.File(url, "w") as f:
        f["x"] = np.arange(10)
    reader = h5py.File(url, "r")
    copy_ = pickle.loads(pickle.dumps(reader["x"]))
    assert copy_._h._file is reader._h._file  # shared while the program has it open
    with pytest.raises(OSError, match="already open read-only"):
        h5py.File(url, "a")
    reader.close()
    assert copy_[3] == 3  # still readable
    with h5py.File(url, "a") as f:
        f["x"][3] = 30
        f["y"] = np.ones(2)
        late = pickle.loads(pickle.dumps(copy_))
        assert late.file.mode == "r" and late._h._file is not f._h._file
    assert copy_[3] == 3 and "y" not in copy_.file
    with h5py.File(url, "r") as again:
        assert again["x"][3] == 30 and "y" in again
    assert late[3] == 30  # chunks are read from the store

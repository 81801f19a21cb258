"""One timed operation of one client library, in a fresh process (run by
``bench.net`` in the client namespace; prints one JSON line).

    python -m bench.net.client CLIENT WORKLOAD --url http://198.18.0.1:8080 [--user U --key K]

Clients: ``sciswift`` (``sciswift.h5py`` on the native file, ``swift://``),
``sciswift-h5`` (``sciswift.h5py`` on the ``.h5`` object), ``h5py-fsspec`` (h5py on
fsspec's HTTP file system, the public container), ``h5py-s3`` (h5py-s3's HDF5
with the ROS3 driver, the S3 API; run with that package's own Python), and
``zarr-fsspec`` (zarr-python through fsspec: HTTP to read, sciswift's ``swift://``
file system to write). ``setup`` writes the data set every workload reads.

The clock runs from the first call of the library (after its import) to the
end of the operation, authentication included; then the client sends the
marker request by which the orchestrator counts its requests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
import uuid
from typing import Any

CONTAINER = "netbench"
N = 4096            # bulk: N x N float32 = 64 MiB
CHUNK = 512         # in 64 chunks of 1 MiB
WINDOW = 64
WINDOWS = 200
SMALL = 100         # open + read one of 100 small datasets
TREE = 1000         # open + list 1,000 datasets (10 x 10 x 10)
VPIC_VARS = ("x", "y", "z", "id1", "id2", "px", "py", "pz")
VPIC_LEN = 1 << 21  # 8 MiB of float32 per variable
VPIC_CHUNK = 1 << 20

#: Where each client finds each file ("nat": the native layout; "h5": HDF5 objects).
NATIVE = {"small": "nat/small.h5", "tree": "nat/tree.h5", "bulk": "nat/bulk.h5", "vpic": "nat/vpic.h5"}
HDF5 = {"small": "h5/small.h5", "tree": "h5/tree.h5", "bulk": "h5/bulk.h5", "vpic": "h5/vpic.h5"}
#: zarr-python reads the native files, except those of many small arrays:
#: sciswift packs them, and other Zarr readers do not see packed arrays, so
#: zarr-python gets the same data written without packing.
ZARR = {**NATIVE, "small": "zarr/small.h5", "tree": "zarr/tree.h5"}

READS = ("small", "list", "bulk_read", "random", "vpic_read", "vpic_read1")
WRITES = ("bulk_write", "vpic_write")


def small_name(i: int) -> str:
    return f"grp/d{i:03d}"


def tree_names() -> list[str]:
    return [f"g{i}/s{j}/d{k}" for i in range(10) for j in range(10) for k in range(10)]


def bulk_data() -> Any:
    import numpy as np

    return np.random.default_rng(0).random((N, N), dtype=np.float32)


def vpic_data() -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(1)
    return {v: rng.random(VPIC_LEN, dtype=np.float32) for v in VPIC_VARS}


def corners() -> Any:
    import numpy as np

    return np.random.default_rng(2).integers(0, N - WINDOW, size=(WINDOWS, 2))


# ------------------------------------------------------------------ opening
class Opener:
    """How one client opens the file named ``key`` (small, tree, bulk, vpic) for reading."""

    def __init__(self, client: str, url: str, user: str, key: str) -> None:
        self.client, self.url, self.user, self.key = client, url, user, key
        self.public = f"{url}/v1/AUTH_{user.split(':')[0]}/{CONTAINER}"

    def open(self, name: str) -> Any:
        c = self.client
        if c == "sciswift":
            import sciswift.h5py as h5py

            return h5py.File(f"swift://{CONTAINER}/{NATIVE[name]}", "r")
        if c == "sciswift-h5":
            import sciswift.h5py as h5py

            return h5py.File(f"swift://{CONTAINER}/{HDF5[name]}", "r")
        if c == "h5py-fsspec":
            import fsspec
            import h5py

            return h5py.File(fsspec.filesystem("http").open(f"{self.public}/{HDF5[name]}", "rb"), "r")
        if c == "h5py-s3":
            import h5py

            return h5py.File(f"s3://{CONTAINER}/{HDF5[name]}", "r", driver="ros3", aws_region=b"us-east-1",
                             secret_id=self.user.encode(), secret_key=self.key.encode())
        if c == "zarr-fsspec":
            import zarr

            return zarr.open_group(f"{self.public}/{ZARR[name]}", mode="r")
        raise SystemExit(f"unknown client {c!r}")


def _names(f: Any, client: str) -> list[str]:
    if client == "zarr-fsspec":  # datasets only, as for h5py (members also lists the groups)
        import zarr

        return [path for path, obj in f.members(max_depth=None) if isinstance(obj, zarr.Array)]
    out: list[str] = []
    f.visititems(lambda name, obj: out.append(name) if hasattr(obj, "shape") else None)
    return out


# --------------------------------------------------------------- workloads
def run_read(op: Opener, workload: str) -> None:
    import numpy as np

    if workload == "small":
        f = op.open("small")
        value = f[small_name(50)][...]
        assert value[3] == 50 * 1000 + 3, value[:4]
    elif workload == "list":
        f = op.open("tree")
        names = _names(f, op.client)
        assert len(names) == TREE, len(names)
    elif workload == "bulk_read":
        f = op.open("bulk")
        block = f["data"][...]
        assert block.shape == (N, N)
    elif workload == "random":
        f = op.open("bulk")
        d = f["data"]
        for y, x in corners():
            d[y:y + WINDOW, x:x + WINDOW]
    elif workload == "vpic_read":
        f = op.open("vpic")
        total = sum(float(f[v][...][0]) for v in VPIC_VARS)
        assert np.isfinite(total)
    elif workload == "vpic_read1":
        f = op.open("vpic")
        assert f["x"][...].shape == (VPIC_LEN,)
    else:
        raise SystemExit(f"unknown workload {workload!r}")


def run_write(client: str, workload: str, data: Any) -> None:
    name = f"w/{uuid.uuid4().hex}"
    if client == "sciswift":
        import sciswift.h5py as h5py

        with h5py.File(f"swift://{CONTAINER}/{name}.h5", "w") as f:
            if workload == "bulk_write":
                f.create_dataset("data", data=data, chunks=(CHUNK, CHUNK))
            else:
                for v, arr in data.items():
                    f.create_dataset(v, data=arr, chunks=(VPIC_CHUNK,))
    elif client == "zarr-fsspec":
        import zarr

        import sciswift.interop.fsspec  # noqa: F401  (swift:// for fsspec)

        g = zarr.open_group(f"swift://{CONTAINER}/{name}.zarr", mode="w")
        if workload == "bulk_write":
            g.create_array("data", shape=data.shape, chunks=(CHUNK, CHUNK), dtype="f4", compressors=None)[...] = data
        else:
            for v, arr in data.items():
                g.create_array(v, shape=arr.shape, chunks=(VPIC_CHUNK,), dtype="f4", compressors=None)[...] = arr
    else:
        raise SystemExit(f"{client} does not write")


# -------------------------------------------------------------------- setup
def setup(url: str, user: str, key: str) -> None:
    """Write every file the workloads read: HDF5 objects (real h5py, uploaded)
    and the same data in the native layout (sciswift.h5py)."""
    import tempfile

    import h5py
    import numpy as np

    import sciswift.h5py as sh
    from sciswift.store.swift import SwiftStore

    store = SwiftStore(auth_url=f"{url}/auth/v1.0", user=user, key=key)
    store.create_container(CONTAINER, system={"x-container-read": ".r:*,.rlistings"})
    bulk = bulk_data()
    vpic = vpic_data()

    def write_all(open_file: Any, name: str) -> None:
        with open_file(name["small"]) as f:
            for i in range(SMALL):
                f.create_dataset(small_name(i), data=np.arange(100, dtype="f8") + i * 1000)
        with open_file(name["tree"]) as f:
            for n, path in enumerate(tree_names()):
                d = f.create_dataset(path, data=np.full(100, n, dtype="f8"))
                d.attrs["index"] = n
        with open_file(name["bulk"]) as f:
            f.create_dataset("data", data=bulk, chunks=(CHUNK, CHUNK))
        with open_file(name["vpic"]) as f:
            for v, arr in vpic.items():
                f.create_dataset(v, data=arr, chunks=(VPIC_CHUNK,))

    with tempfile.TemporaryDirectory() as tmp:
        write_all(lambda n: h5py.File(os.path.join(tmp, n.replace("/", "_")), "w"), HDF5)
        for n in HDF5.values():
            with open(os.path.join(tmp, n.replace("/", "_")), "rb") as fh:
                store.put_object(CONTAINER, n, fh, content_type="application/x-hdf5")
    write_all(lambda n: sh.File(f"swift://{CONTAINER}/{n}", "w"), NATIVE)
    os.environ["SCISWIFT_PACK_SMALL"] = "0"
    with sh.File(f"swift://{CONTAINER}/{ZARR['small']}", "w") as f:
        for i in range(SMALL):
            f.create_dataset(small_name(i), data=np.arange(100, dtype="f8") + i * 1000)
    with sh.File(f"swift://{CONTAINER}/{ZARR['tree']}", "w") as f:
        for n, path in enumerate(tree_names()):
            d = f.create_dataset(path, data=np.full(100, n, dtype="f8"))
            d.attrs["index"] = n
    store.close()


def probe(url: str) -> float:
    """The best of 20 request round trips on one connection (``/info``): what
    the emulated link plus the server answer in."""
    import http.client

    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    best = float("inf")
    for _ in range(20):
        t = time.perf_counter()
        conn.request("GET", "/info")
        conn.getresponse().read()
        best = min(best, time.perf_counter() - t)
    conn.close()
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.net.client")
    ap.add_argument("client")
    ap.add_argument("workload")
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="test:tester")
    ap.add_argument("--key", default="testing")
    args = ap.parse_args(argv)
    os.environ.update(ST_AUTH=f"{args.url}/auth/v1.0", ST_USER=args.user, ST_KEY=args.key)
    os.environ["AWS_ENDPOINT_URL"] = args.url  # HDF5's ROS3 driver
    if args.workload == "setup":
        setup(args.url, args.user, args.key)
        print(json.dumps({"ok": True}))
        return 0
    if args.workload == "probe":
        print(json.dumps({"seconds": probe(args.url)}))
        return 0
    # The libraries are imported before the clock starts (what is timed is I/O).
    import numpy  # noqa: F401

    if args.client.startswith("sciswift"):
        import sciswift.h5py  # noqa: F401
        import sciswift.store.swift  # noqa: F401
    elif args.client.startswith("h5py"):
        import h5py  # noqa: F401
        if args.client == "h5py-fsspec":
            import fsspec.implementations.http  # noqa: F401
    elif args.client == "zarr-fsspec":
        import fsspec.implementations.http  # noqa: F401
        import zarr  # noqa: F401
    data: Any = None
    if args.workload == "bulk_write":
        data = bulk_data()
    elif args.workload == "vpic_write":
        data = vpic_data()
    start = time.perf_counter()
    if args.workload in WRITES:
        run_write(args.client, args.workload, data)
    else:
        run_read(Opener(args.client, args.url, args.user, args.key), args.workload)
    seconds = time.perf_counter() - start
    mark = uuid.uuid4().hex
    urllib.request.urlopen(f"{args.url}/info?netbench-mark={mark}", timeout=30).read()
    print(json.dumps({"seconds": seconds, "mark": mark}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write an HDF5 file with h5py, then upload it to a Swift container.

    python examples/upload.py swift 1.h5 wind 100 100

writes a 100x100 float64 dataset ``wind`` (random values) to the local file
``1.h5`` and uploads it as the object ``1.h5`` of container ``swift`` (created
if missing), with python-swiftclient. The endpoint comes from ``ST_AUTH``,
``ST_USER`` and ``ST_KEY``, defaulting to the embedded server started by
``make run`` (``http://127.0.0.1:12345/auth/v1.0``, ``test:tester``,
``testing``).
"""

from __future__ import annotations

import argparse
import os
import sys

import h5py
import numpy as np
from swiftclient import client
from swiftclient.exceptions import ClientException

DEFAULT_AUTH = "http://127.0.0.1:12345/auth/v1.0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write an HDF5 dataset and upload the file to Swift.")
    parser.add_argument("container", help="container to upload into (created if missing)")
    parser.add_argument("filename", help="local HDF5 file to write, also the object name")
    parser.add_argument("dataset", help="name of the dataset to create")
    parser.add_argument("shape", nargs="+", type=int, help="dataset dimensions, e.g. 100 100")
    args = parser.parse_args(argv)
    if any(n <= 0 for n in args.shape):
        parser.error("dimensions must be positive integers")

    data = np.random.default_rng().random(tuple(args.shape))
    with h5py.File(args.filename, "w") as f:
        f.create_dataset(args.dataset, data=data)
    size = os.path.getsize(args.filename)

    auth = os.environ.get("ST_AUTH", DEFAULT_AUTH)
    user = os.environ.get("ST_USER", "test:tester")
    key = os.environ.get("ST_KEY", "testing")
    conn = client.Connection(authurl=auth, user=user, key=key, retries=1)
    try:
        conn.put_container(args.container)
        with open(args.filename, "rb") as fh:
            etag = conn.put_object(args.container, os.path.basename(args.filename), fh,
                                   content_length=size, content_type="application/x-hdf5")
    except (ClientException, OSError) as exc:
        print(f"upload to {auth} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    print(f"wrote {args.filename}: dataset {args.dataset!r} {tuple(args.shape)} float64 ({size} bytes)")
    print(f"uploaded to {args.container}/{os.path.basename(args.filename)} (etag {etag})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The S3 API with the clients people use, for real: boto3 (everywhere in
these tests), the aws CLI, s3fs/fsspec, pyarrow's S3FileSystem, rclone's s3
backend, zarr-python over fsspec, and HDF5 2.x's ROS3 driver (PyPI's
``h5py-s3``, in a virtualenv of its own) reading an ``.h5`` uploaded through
the Swift API."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from support.saio import cache_dir

from ..conftest import RunningServer

KEY, SECRET = "test:tester", "testing"


def _env(server: RunningServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=server.url)
    return env


def test_aws_cli(server: RunningServer, s3: Any, bucket: str, tmp_path: Path) -> None:
    aws = Path(sys.executable).parent / "aws"
    data = os.urandom(20 * 1024 * 1024 + 5)  # above the CLI's 8 MiB threshold: a multipart upload
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "big.h5").write_bytes(data)
    (tmp_path / "up" / "small.txt").write_bytes(b"small")

    def run(*args: str) -> str:
        quiet = ["--only-show-errors"] if args[1] in ("cp", "sync", "rm") else []
        out = subprocess.run([str(aws), *args, *quiet], env=_env(server), capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    run("s3", "sync", str(tmp_path / "up"), f"s3://{bucket}/run1/")
    assert "big.h5" in run("s3", "ls", f"s3://{bucket}/run1/")
    head = s3.head_object(Bucket=bucket, Key="run1/big.h5")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    run("s3", "cp", f"s3://{bucket}/run1/big.h5", str(tmp_path / "back.h5"))
    assert hashlib.md5((tmp_path / "back.h5").read_bytes()).digest() == hashlib.md5(data).digest()
    run("s3", "rm", "--recursive", f"s3://{bucket}/run1/")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_s3fs_fsspec(server: RunningServer, bucket: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=server.url,
                           client_kwargs={"region_name": "us-east-1"})
    payload = bytes(range(256)) * 40000
    with fs.open(f"{bucket}/dir/blob.bin", "wb", block_size=5 * 1024 * 1024) as f:
        f.write(payload)  # 10 MB in 5 MiB blocks: a multipart upload
    assert fs.info(f"{bucket}/dir/blob.bin")["size"] == len(payload)
    with fs.open(f"{bucket}/dir/blob.bin", "rb") as f:
        f.seek(123456)
        assert f.read(1000) == payload[123456:124456]
    assert fs.ls(f"{bucket}/dir", detail=False) == [f"{bucket}/dir/blob.bin"]
    fs.rm(f"{bucket}/dir/blob.bin")
    fs.invalidate_cache()
    assert not fs.exists(f"{bucket}/dir/blob.bin")


def test_pyarrow_s3filesystem(server: RunningServer, bucket: str) -> None:
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    host = urlsplit(server.url).netloc
    fs = pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=host, scheme="http",
                           region="us-east-1")
    table = pa.table({"ra": np.linspace(0, 360, 200_000), "mag": np.arange(200_000, dtype="f4")})
    pq.write_table(table, f"{bucket}/sky/cat.parquet", filesystem=fs)  # the C++ SDK's CRC64/NVME checksums
    back = pq.read_table(f"{bucket}/sky/cat.parquet", filesystem=fs, columns=["mag"])
    assert back.column("mag").to_numpy()[-3:].tolist() == [199997.0, 199998.0, 199999.0]
    infos = fs.get_file_info(pafs.FileSelector(f"{bucket}/sky"))
    assert [i.base_name for i in infos] == ["cat.parquet"]


def test_rclone(server: RunningServer, s3: Any, bucket: str, tmp_path: Path) -> None:
    rclone = shutil.which("rclone")
    assert rclone, "rclone is not installed (apt-get install rclone; .ci/run does)"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(12 * 1024 * 1024))  # multipart with rclone's 5 MiB chunks
    (src / "b.txt").write_bytes(b"bee")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(RCLONE_CONFIG_SCI_TYPE="s3", RCLONE_CONFIG_SCI_PROVIDER="Other", RCLONE_CONFIG_SCI_REGION="us-east-1",
               RCLONE_CONFIG_SCI_ACCESS_KEY_ID=KEY, RCLONE_CONFIG_SCI_SECRET_ACCESS_KEY=SECRET,
               RCLONE_CONFIG_SCI_ENDPOINT=server.url)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([rclone, "--config", "/dev/null", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    assert run("copy", str(src), f"sci:{bucket}/rc").returncode == 0
    check = run("check", str(src), f"sci:{bucket}/rc")
    assert check.returncode == 0 and "0 differences found" in check.stderr, check.stderr
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["rc/a.bin", "rc/b.txt"]
    assert run("copy", f"sci:{bucket}/rc", str(tmp_path / "back")).returncode == 0
    assert (tmp_path / "back" / "a.bin").read_bytes() == (src / "a.bin").read_bytes()


def test_zarr_over_fsspec(server: RunningServer, bucket: str) -> None:
    import zarr

    options = {"key": KEY, "secret": SECRET, "endpoint_url": server.url, "client_kwargs": {"region_name": "us-east-1"}}
    group = zarr.open_group(f"s3://{bucket}/wind.zarr", mode="w", storage_options=options)
    values = np.arange(400 * 300, dtype="f4").reshape(400, 300)
    arr = group.create_array("u", shape=values.shape, chunks=(100, 100), dtype="f4")
    arr[:] = values
    group.attrs["run"] = 7
    again = zarr.open_group(f"s3://{bucket}/wind.zarr", mode="r", storage_options=options)
    assert again.attrs["run"] == 7
    np.testing.assert_array_equal(again["u"][150:250, 20:30], values[150:250, 20:30])


# -------------------------------------------------------- HDF5 2.x ROS3 driver
@pytest.fixture(scope="session")
def h5py_s3_python() -> Iterator[Path]:
    """A virtualenv with PyPI's ``h5py-s3`` (h5py on HDF5 2.x with the ROS3
    driver; it installs as ``h5py`` too, so it cannot share our venv). Made
    once per machine under the sciswift cache folder."""
    venv = cache_dir() / "h5py-s3-venv"
    marker = venv / ".ready"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / ".h5py-s3-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            shutil.rmtree(venv, ignore_errors=True)
            base = getattr(sys, "_base_executable", None) or sys.executable
            subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True)
            pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                  "--disable-pip-version-check", "h5py-s3"], capture_output=True, text=True)
            assert pip.returncode == 0, f"pip install h5py-s3 failed:\n{pip.stderr[-2000:]}"
            marker.write_text("h5py-s3\n")
    yield venv / "bin" / "python"


def test_hdf5_ros3_reads_an_object_uploaded_through_swift(
    server: RunningServer, bucket: str, h5py_s3_python: Path, tmp_path: Path
) -> None:
    import h5py

    path = tmp_path / "run1.h5"
    values = np.arange(512 * 512, dtype="f8").reshape(512, 512)
    with h5py.File(path, "w") as f:
        f.create_dataset("vpic/x", data=values, chunks=(64, 64))
        f["vpic"].attrs["timestep"] = 42
    conn = server.connection()
    with open(path, "rb") as fh:
        conn.put_object(bucket, "run1.h5", fh)  # through the Swift API
    script = textwrap.dedent(f"""
        import h5py
        with h5py.File("s3://{bucket}/run1.h5", "r", driver="ros3", aws_region=b"us-east-1",
                       secret_id=b"{KEY}", secret_key=b"{SECRET}") as f:
            x = f["vpic/x"]
            print(h5py.version.hdf5_version, x.shape, float(x[300, 7]), int(f["vpic"].attrs["timestep"]), sep="|")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = server.url  # how HDF5 2.x's ROS3 driver is pointed at another endpoint
    out = subprocess.run([str(h5py_s3_python), "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    version, shape, value, step = out.stdout.strip().split("|")
    assert version.startswith("2.")
    assert shape == "(512, 512)" and float(value) == values[300, 7] and int(step) == 42


def test_aws_cli_sync_both_ways_and_object_options(server: RunningServer, s3: Any, bucket: str,
                                                   tmp_path: Path) -> None:
    """``s3 sync`` up and down with --delete and --exact-timestamps (a second
    run copies nothing), ``s3 cp --recursive`` with metadata, content type,
    expiry and storage class, ``s3api`` suffix ranges, a wrong Content-MD5
    and a part of a multipart object."""
    aws = Path(sys.executable).parent / "aws"
    config = tmp_path / "aws.cfg"
    config.write_text("[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n")
    env = _env(server) | {"AWS_CONFIG_FILE": str(config), "AWS_MAX_ATTEMPTS": "1"}
    up, down = tmp_path / "up", tmp_path / "down"
    (up / "sub").mkdir(parents=True)
    big = os.urandom(6 * 1024 * 1024 + 7)  # two parts
    (up / "big.bin").write_bytes(big)
    (up / "a.txt").write_bytes(b"one")
    (up / "sub" / "b.csv").write_bytes(b"x,y\n1,2\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(aws), *args], env=env, capture_output=True, text=True, timeout=120)

    def ok(*args: str) -> str:
        out = run(*args)
        assert out.returncode == 0, out.stderr
        return out.stdout

    sync_up = ("s3", "sync", str(up), f"s3://{bucket}/s", "--delete", "--no-progress")
    sync_down = ("s3", "sync", f"s3://{bucket}/s", str(down), "--delete", "--exact-timestamps", "--no-progress")
    ok(*sync_up)
    ok(*sync_down)
    assert (down / "big.bin").read_bytes() == big and (down / "sub" / "b.csv").read_bytes() == b"x,y\n1,2\n"
    assert ok(*sync_up) == "" and ok(*sync_down) == ""  # nothing changed: nothing copied
    (up / "a.txt").unlink()
    assert "delete: s3://" in ok(*sync_up)
    assert "delete: " in ok(*sync_down) and not (down / "a.txt").exists()

    ok("s3", "cp", "--recursive", str(up), f"s3://{bucket}/m", "--metadata", "k1=v1,k2=v2", "--content-type",
       "text/x-mine", "--expires", "2030-01-01T00:00:00Z", "--storage-class", "STANDARD", "--no-progress")
    for key in ("m/sub/b.csv", "m/big.bin"):  # a single PUT and a multipart upload
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "text/x-mine" and head["Metadata"] == {"k1": "v1", "k2": "v2"}
        assert head["ExpiresString"] == "Tue, 01 Jan 2030 00:00:00 GMT"

    ok("s3api", "get-object", "--bucket", bucket, "--key", "m/big.bin", "--range", "bytes=-5", str(tmp_path / "tail"))
    assert (tmp_path / "tail").read_bytes() == big[-5:]
    part = json.loads(ok("s3api", "head-object", "--bucket", bucket, "--key", "m/big.bin", "--part-number", "2"))
    assert part["PartsCount"] == 2 and part["ContentLength"] == len(big) - 5 * 1024 * 1024
    wrong = run("s3api", "put-object", "--bucket", bucket, "--key", "md5", "--body", str(up / "sub" / "b.csv"),
                "--content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")
    assert wrong.returncode != 0 and "BadDigest" in wrong.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="md5")
    url = ok("s3", "presign", f"s3://{bucket}/m/sub/b.csv", "--expires-in", "60").strip()
    assert requests.get(url).content == b"x,y\n1,2\n"


def test_pyarrow_dataset_directory_and_pandas(server: RunningServer, bucket: str) -> None:
    """A partitioned Parquet dataset written and read by pyarrow's
    S3FileSystem, and pandas' to_csv/read_csv on s3:// (through s3fs)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=urlsplit(server.url).netloc,
                           scheme="http", region="us-east-1")
    table = pa.table({"year": [2020, 2020, 2021, 2022], "v": [1.0, 2.0, 3.0, 4.0]})
    ds.write_dataset(table, f"{bucket}/cat", filesystem=fs, format="parquet", partitioning=["year"],
                     partitioning_flavor="hive")
    found = fs.get_file_info(pafs.FileSelector(f"{bucket}/cat", recursive=True))
    assert sorted(i.path.split("/")[2] for i in found if i.type == pafs.FileType.Directory) == [
        "year=2020", "year=2021", "year=2022"]
    back = ds.dataset(f"{bucket}/cat", filesystem=fs, format="parquet", partitioning="hive")
    assert back.to_table(filter=ds.field("year") == 2020).column("v").to_pylist() == [1.0, 2.0]
    fs.delete_dir(f"{bucket}/cat")
    assert fs.get_file_info(pafs.FileSelector(f"{bucket}", allow_not_found=True)) == []

    options = {"key": KEY, "secret": SECRET, "endpoint_url": server.url, "client_kwargs": {"region_name": "us-east-1"}}
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame.to_csv(f"s3://{bucket}/t.csv", index=False, storage_options=options)
    assert pd.read_csv(f"s3://{bucket}/t.csv", storage_options=options).equals(frame)

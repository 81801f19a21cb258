"""The S3 API with the clients people use, for real: boto3 (everywhere in
these tests), the aws CLI, s3fs/fsspec, pyarrow's S3FileSystem, rclone's s3
backend, zarr-python over fsspec, and HDF5 2.x's ROS3 driver (PyPI's
``h5py-s3``, in a virtualenv of its own) reading an ``.h5`` uploaded through
the Swift API."""

from __future__ import annotations

import fcntl
import hashlib
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

"""S3Store beyond the conformance suite, against ``sciswift serve``'s S3 API:
``s3://`` URLs from the AWS environment, multipart puts, the container
metadata object, errors, and the h5py layer on S3."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

from sciswift.errors import ChecksumMismatch, InvalidInput, NotFound, NotSupported
from sciswift.store import ByteRange, parse_location
from sciswift.store.s3 import S3Store
from sciswift.store.s3.store import CONTAINER_META

MiB = 1 << 20


@pytest.fixture
def store(sciswift_server) -> Iterator[S3Store]:  # type: ignore[no-untyped-def]
    with S3Store("test:tester", "testing", endpoint_url=sciswift_server.url,
                 multipart_threshold=5 * MiB, part_size=5 * MiB) as s:
        yield s


@pytest.fixture
def bucket(store: S3Store) -> Iterator[str]:
    name = f"s3s-{uuid.uuid4().hex[:10]}"
    store.create_container(name)
    yield name
    store.delete_many(name, [o.name for o in store.iter_objects(name)])
    store.delete_container(name)


def test_url_from_aws_environment(sciswift_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test:tester")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sciswift_server.url)
    loc = parse_location("s3://wind/run1.h5")
    assert isinstance(loc.store, S3Store) and (loc.container, loc.prefix) == ("wind", "run1.h5")
    assert loc.store.credentials.endpoint == sciswift_server.url and loc.store.supports_conditional_put
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(InvalidInput, match="AWS_SECRET_ACCESS_KEY"):
        parse_location("s3://wind/run1.h5")


@pytest.mark.parametrize("kind", ["bytes", "file", "stream"])
def test_multipart_put_roundtrip(store: S3Store, bucket: str, kind: str) -> None:
    data = np.random.default_rng(1).integers(0, 255, 12 * MiB + 77, dtype=np.uint8).tobytes()
    source = {"bytes": data, "file": io.BytesIO(data),
              "stream": (data[i:i + 100_000] for i in range(0, len(data), 100_000))}[kind]
    info = store.put_object(bucket, "big.bin", source, metadata={"Run": "7"}, content_type="application/x-test",
                            etag=hashlib.md5(data).hexdigest())
    assert info.size == len(data) and info.etag.endswith("-3")
    head = store.head_object(bucket, "big.bin")
    assert head.size == len(data) and head.etag == info.etag and head.metadata == {"run": "7"}
    assert store.get_object(bucket, "big.bin", ByteRange(5 * MiB - 10, 5 * MiB + 10)) == \
        data[5 * MiB - 10: 5 * MiB + 10]
    with store.open_object(bucket, "big.bin") as reader:
        assert hashlib.md5(reader.readall()).hexdigest() == hashlib.md5(data).hexdigest()


def test_multipart_with_wrong_etag_leaves_nothing(store: S3Store, bucket: str) -> None:
    data = b"x" * (6 * MiB)
    with pytest.raises(ChecksumMismatch):
        store.put_object(bucket, "bad", data, etag=hashlib.md5(b"other").hexdigest())
    with pytest.raises(NotFound):
        store.head_object(bucket, "bad")
    uploads = store.conn.request("GET", bucket, query={"uploads": ""}).data
    assert b"<Upload>" not in uploads  # the upload was aborted


def test_container_metadata_object_is_hidden(store: S3Store, bucket: str) -> None:
    store.post_container(bucket, {"Owner": "sky"})
    store.put_object(bucket, "a", b"1")
    assert [e.name for e in store.list_objects(bucket)] == ["a"]
    info = store.head_container(bucket)
    assert info.metadata == {"owner": "sky"} and info.object_count == 1 and info.bytes_used == 1
    assert store.has_object(bucket, CONTAINER_META)  # where it lives, for other S3 tools
    with pytest.raises(NotSupported):
        store.post_account({"a": "b"})


def test_system_values_without_s3_form_are_refused(store: S3Store, bucket: str) -> None:
    with pytest.raises(NotSupported, match="X-Object-Manifest"):
        store.put_object(bucket, "m", b"1", system={"X-Object-Manifest": "c/p"})


def test_h5py_layer_on_s3(sciswift_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import sciswift.h5py as h5py

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test:tester")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sciswift_server.url)
    name = f"h5-{uuid.uuid4().hex[:8]}"
    S3Store.from_environment().create_container(name)
    values = np.arange(20000, dtype="f4").reshape(200, 100)
    with h5py.File(f"s3://{name}/run1.h5", "w") as f:
        f.create_dataset("vpic/x", data=values, chunks=(50, 50), compression="gzip")
        f["vpic"].attrs["timestep"] = 42
    with h5py.File(f"s3://{name}/run1.h5", "r") as f:
        np.testing.assert_array_equal(f["vpic/x"][10:20, 5:9], values[10:20, 5:9])
        assert f["vpic"].attrs["timestep"] == 42

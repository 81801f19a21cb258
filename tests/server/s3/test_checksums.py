"""Objects keep the flexible checksums they were uploaded with: GetObject and
HeadObject with ``x-amz-checksum-mode: ENABLED`` return them (whole-object
reads only), so SDKs validate what they download end to end; CopyObject keeps
the source's (or computes the one asked for); multipart uploads keep each
part's (ListParts) and the object's (FULL_OBJECT or COMPOSITE).

Values are compared with what botocore computed as it uploaded, and reads go
through botocore's own response validation (``response_checksum_validation``
``when_supported``: its body checks the bytes against the returned header)."""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.httpchecksum import StreamingChecksumBody

from sciswift.server.s3.payload import Checksum

from ..conftest import RunningServer
from .conftest import make_client
from .test_payload import _signed_chunked_put

PART = 5 << 20


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _value(algorithm: str, data: bytes) -> str:
    c = Checksum(algorithm, None)
    c.update(data)
    return c.value()


@pytest.fixture
def s3v(server: RunningServer) -> Any:
    """A client that asks for checksums on reads and validates them."""
    return make_client(server, response_checksum_validation="when_supported",
                       request_checksum_calculation="when_supported")


def _read_validated(s3: Any, bucket: str, key: str, **kw: Any) -> dict[str, Any]:
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED", **kw)
    got["data"] = got["Body"].read()
    return got


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_single_put_checksum_is_kept_and_validated(s3v: Any, bucket: str, algorithm: str) -> None:
    data = bytes(range(256)) * 400 + algorithm.encode()
    put = s3v.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm=algorithm)
    sent = put[f"Checksum{algorithm}"]  # what botocore computed and the server checked
    assert sent == _value(algorithm.lower(), data)
    got = _read_validated(s3v, bucket, "k")
    assert isinstance(got["Body"], StreamingChecksumBody)  # botocore validated the bytes read
    assert got["data"] == data
    assert got[f"Checksum{algorithm}"] == sent and got["ChecksumType"] == "FULL_OBJECT"
    head = s3v.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == sent and head["ChecksumType"] == "FULL_OBJECT"
    # not asked for: not sent (S3's behaviour), and never user metadata
    plain = make_client_like(s3v).head_object(Bucket=bucket, Key="k")
    assert not any(k.startswith("Checksum") for k in plain) and plain["Metadata"] == {}


def make_client_like(s3: Any) -> Any:
    """A plain client (no checksum mode) on the same endpoint and keys."""
    import boto3
    import botocore.config

    creds = s3._request_signer._credentials
    return boto3.client("s3", endpoint_url=s3.meta.endpoint_url, aws_access_key_id=creds.access_key,
                        aws_secret_access_key=creds.secret_key, region_name="us-east-1",
                        config=botocore.config.Config(s3={"addressing_style": "path"},
                                                      response_checksum_validation="when_required"))


def test_ranged_get_and_part_of_single_object(s3v: Any, bucket: str) -> None:
    data = b"0123456789" * 1000
    s3v.put_object(Bucket=bucket, Key="r", Body=data, ChecksumAlgorithm="SHA256")
    ranged = s3v.get_object(Bucket=bucket, Key="r", Range="bytes=10-99", ChecksumMode="ENABLED")
    assert ranged["Body"].read() == data[10:100]
    assert not any(k.startswith("Checksum") for k in ranged)  # a range has no checksum
    head = s3v.head_object(Bucket=bucket, Key="r", Range="bytes=0-9", ChecksumMode="ENABLED")
    assert not any(k.startswith("Checksum") for k in head)
    part = _read_validated(s3v, bucket, "r", PartNumber=1)  # a single-part object is its own part 1
    assert part["data"] == data and part["ChecksumSHA256"] == _value("sha256", data)


def test_object_without_checksum_answers_none(server: RunningServer, s3v: Any, bucket: str) -> None:
    plain = make_client(server, request_checksum_calculation="when_required")
    put = plain.put_object(Bucket=bucket, Key="n", Body=b"no checksum")
    assert not any(k.startswith("Checksum") for k in put)  # none was sent
    got = s3v.get_object(Bucket=bucket, Key="n", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"no checksum" and not any(k.startswith("Checksum") for k in got)
    # a Swift-style overwrite of a checksummed object drops the old checksum
    s3v.put_object(Bucket=bucket, Key="n", Body=b"with", ChecksumAlgorithm="SHA1")
    plain.put_object(Bucket=bucket, Key="n", Body=b"without")
    got = s3v.get_object(Bucket=bucket, Key="n", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"without" and "ChecksumSHA1" not in got


def test_trailer_checksum_is_kept(server: RunningServer, s3v: Any, bucket: str) -> None:
    """A checksum sent in an aws-chunked trailer is known only after the body:
    it is recorded in the same commit (small bodies: one put; large ones:
    the streaming writer)."""
    for key, data in (("small", b"t" * 1000), ("large", bytes(range(256)) * 4096)):
        resp = _signed_chunked_put(server, bucket, key, data, trailer={"x-amz-checksum-crc32": _crc32(data)})
        assert resp.status_code == 200, resp.content
        got = _read_validated(s3v, bucket, key)
        assert got["data"] == data and got["ChecksumCRC32"] == _crc32(data)


@pytest.fixture
def disk_bucket(disk_server: RunningServer) -> Iterator[tuple[Any, str]]:
    s3 = make_client(disk_server, response_checksum_validation="when_supported")
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield s3, name
    for o in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=o["Key"])
    s3.delete_bucket(Bucket=name)


def test_kept_by_the_disk_store(disk_server: RunningServer, disk_bucket: tuple[Any, str]) -> None:
    """LocalStore's streaming writer records a trailer's checksum at commit."""
    s3, bucket = disk_bucket
    data = bytes(range(256)) * 4096  # 1 MiB: through the writer
    resp = _signed_chunked_put(disk_server, bucket, "d", data, trailer={"x-amz-checksum-crc32": _crc32(data)})
    assert resp.status_code == 200, resp.content
    got = _read_validated(s3, bucket, "d")
    assert got["data"] == data and got["ChecksumCRC32"] == _crc32(data)
    s3.put_object(Bucket=bucket, Key="s", Body=b"small", ChecksumAlgorithm="SHA1")
    assert _read_validated(s3, bucket, "s")["ChecksumSHA1"] == _value("sha1", b"small")


def test_copy_keeps_or_computes_the_checksum(s3v: Any, bucket: str) -> None:
    data = b"copy me " * 5000
    sent = s3v.put_object(Bucket=bucket, Key="src", Body=data, ChecksumAlgorithm="CRC32C")["ChecksumCRC32C"]
    done = s3v.copy_object(Bucket=bucket, Key="same", CopySource={"Bucket": bucket, "Key": "src"})
    assert done["CopyObjectResult"]["ChecksumCRC32C"] == sent
    got = _read_validated(s3v, bucket, "same")
    assert got["data"] == data and got["ChecksumCRC32C"] == sent
    # metadata replaced, bytes the same: the checksum stays
    s3v.copy_object(Bucket=bucket, Key="meta", CopySource={"Bucket": bucket, "Key": "src"},
                    MetadataDirective="REPLACE", Metadata={"a": "b"})
    assert _read_validated(s3v, bucket, "meta")["ChecksumCRC32C"] == sent
    # a new algorithm: computed over the bytes copied
    done = s3v.copy_object(Bucket=bucket, Key="new", CopySource={"Bucket": bucket, "Key": "src"},
                           ChecksumAlgorithm="SHA256")
    assert done["CopyObjectResult"]["ChecksumSHA256"] == _value("sha256", data)
    got = _read_validated(s3v, bucket, "new")
    assert got["ChecksumSHA256"] == _value("sha256", data) and "ChecksumCRC32C" not in got


def _multipart(s3: Any, bucket: str, key: str, data: bytes, algorithm: str, **create: Any) -> tuple[str, list[Any]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm,
                                           **create)["UploadId"]
    parts = []
    for n, start in enumerate(range(0, len(data), PART), 1):
        got = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n,
                             Body=data[start:start + PART], ChecksumAlgorithm=algorithm)
        parts.append({"PartNumber": n, "ETag": got["ETag"], f"Checksum{algorithm}": got[f"Checksum{algorithm}"]})
    return upload_id, parts


def test_multipart_composite_checksum(s3v: Any, bucket: str) -> None:
    data = bytes(range(256)) * (4096 * 11) + b"tail"  # three parts
    upload_id, parts = _multipart(s3v, bucket, "mp", data, "SHA256")
    listed = s3v.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert listed["ChecksumAlgorithm"] == "SHA256" and listed.get("ChecksumType", "COMPOSITE") == "COMPOSITE"
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [p["ChecksumSHA256"] for p in parts]
    assert [p["ChecksumSHA256"] for p in parts] == [_value("sha256", data[i:i + PART])
                                                    for i in range(0, len(data), PART)]
    done = s3v.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    joined = b"".join(base64.b64decode(p["ChecksumSHA256"]) for p in parts)
    composite = base64.b64encode(hashlib.sha256(joined).digest()).decode() + "-3"
    assert done["ChecksumSHA256"] == composite and done["ChecksumType"] == "COMPOSITE"
    got = _read_validated(s3v, bucket, "mp")  # botocore skips composite values, but reads them
    assert got["data"] == data and got["ChecksumSHA256"] == composite and got["ChecksumType"] == "COMPOSITE"
    head = s3v.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == composite
    # a part read answers the part's checksum (botocore validates the part's bytes with it)
    part = _read_validated(s3v, bucket, "mp", PartNumber=2)
    assert isinstance(part["Body"], StreamingChecksumBody)
    assert part["data"] == data[PART:2 * PART] and part["ChecksumSHA256"] == parts[1]["ChecksumSHA256"]
    head = s3v.head_object(Bucket=bucket, Key="mp", PartNumber=3, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == parts[2]["ChecksumSHA256"] and head["ContentLength"] == len(data) - 2 * PART
    ranged = s3v.get_object(Bucket=bucket, Key="mp", Range=f"bytes=0-{PART}", ChecksumMode="ENABLED")
    assert ranged["Body"].read() == data[:PART + 1] and "ChecksumSHA256" not in ranged
    # a retried completion answers the same
    again = s3v.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                          MultipartUpload={"Parts": parts})
    assert again["ChecksumSHA256"] == composite


def test_multipart_full_object_checksum(s3v: Any, bucket: str) -> None:
    data = bytes(range(256)) * (4096 * 6) + b"end"  # two parts
    upload_id, parts = _multipart(s3v, bucket, "full", data, "CRC32", ChecksumType="FULL_OBJECT")
    done = s3v.complete_multipart_upload(Bucket=bucket, Key="full", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    assert done["ChecksumCRC32"] == _crc32(data) and done["ChecksumType"] == "FULL_OBJECT"
    got = _read_validated(s3v, bucket, "full")  # validated by botocore over the whole body
    assert isinstance(got["Body"], StreamingChecksumBody)
    assert got["data"] == data and got["ChecksumCRC32"] == _crc32(data)
    # a copy of it keeps the full-object value
    s3v.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "full"})
    assert _read_validated(s3v, bucket, "copied")["ChecksumCRC32"] == _crc32(data)


def test_complete_refuses_a_part_checksum_that_is_not_the_parts(server: RunningServer, s3v: Any, bucket: str) -> None:
    """A ``<Part>``'s ChecksumCRC32 (and the like) in CompleteMultipartUpload
    must be the uploaded part's: S3 refuses another with InvalidPart, and the
    upload stays open to complete with the right ones."""
    from botocore.exceptions import ClientError

    data = bytes(range(256)) * (4096 * 6) + b"end"  # two parts
    upload_id, parts = _multipart(s3v, bucket, "mp", data, "CRC32")
    wrong = [dict(parts[0]), dict(parts[1], ChecksumCRC32=_crc32(b"something else"))]
    with pytest.raises(ClientError) as ei:
        s3v.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": wrong})
    assert ei.value.response["Error"]["Code"] == "InvalidPart"
    assert ei.value.response["Error"]["PartNumber"] == "2"
    done = s3v.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    assert s3v.get_object(Bucket=bucket, Key="mp")["Body"].read() == data and done["ChecksumCRC32"]
    # parts uploaded with no checksum are hashed to check what the completion states of them
    s3 = make_client(server, request_checksum_calculation="when_required")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="plain")["UploadId"]
    plain = []
    for n, start in enumerate(range(0, len(data), PART), 1):
        got = s3.upload_part(Bucket=bucket, Key="plain", UploadId=upload_id, PartNumber=n,
                             Body=data[start:start + PART])
        assert not [k for k in got if k.startswith("Checksum")]
        plain.append({"PartNumber": n, "ETag": got["ETag"], "ChecksumSHA256": _value("sha256", data[start:start + PART])})
    bad = [plain[0] | {"ChecksumSHA256": plain[1]["ChecksumSHA256"]}, plain[1]]
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="plain", UploadId=upload_id, MultipartUpload={"Parts": bad})
    assert ei.value.response["Error"]["Code"] == "InvalidPart"
    assert ei.value.response["Error"]["PartNumber"] == "1"
    s3.complete_multipart_upload(Bucket=bucket, Key="plain", UploadId=upload_id, MultipartUpload={"Parts": plain})
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == data


def test_upload_file_checksum_is_kept(s3v: Any, bucket: str, tmp_path: Any) -> None:
    """boto3's transfer manager: its default multipart upload (CRC32 parts)."""
    from boto3.s3.transfer import TransferConfig

    data = bytes(range(256)) * (4096 * 11)
    path = tmp_path / "up.bin"
    path.write_bytes(data)
    s3v.upload_file(str(path), bucket, "t", Config=TransferConfig(multipart_threshold=PART,
                                                                   multipart_chunksize=PART))
    got = _read_validated(s3v, bucket, "t")
    joined = b"".join(zlib.crc32(data[i:i + PART]).to_bytes(4, "big") for i in range(0, len(data), PART))
    composite = f"{_crc32(joined)}-3"
    # s3transfer asks for CRC32 parts and (depending on its version) a
    # FULL_OBJECT or a COMPOSITE object checksum: either is kept and returned
    assert got["data"] == data and got.get("ChecksumCRC32") in (_crc32(data), composite)
    assert got["ChecksumType"] == ("FULL_OBJECT" if got["ChecksumCRC32"] == _crc32(data) else "COMPOSITE")


def test_multipart_checksum_settings_are_checked(s3v: Any, bucket: str) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as ei:
        s3v.create_multipart_upload(Bucket=bucket, Key="x", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT")
    assert ei.value.response["Error"]["Code"] == "InvalidRequest"
    upload_id = s3v.create_multipart_upload(Bucket=bucket, Key="x", ChecksumAlgorithm="SHA1")["UploadId"]
    with pytest.raises(ClientError) as ei:
        s3v.upload_part(Bucket=bucket, Key="x", UploadId=upload_id, PartNumber=1, Body=b"p",
                        ChecksumAlgorithm="CRC32")
    assert ei.value.response["Error"]["Code"] == "InvalidRequest"


def test_get_object_attributes(s3v: Any, bucket: str) -> None:
    """GetObjectAttributes: ETag, Checksum, ObjectParts, StorageClass, ObjectSize."""
    from botocore.exceptions import ClientError

    every = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
    data = b"attributes " * 100
    put = s3v.put_object(Bucket=bucket, Key="one", Body=data, ChecksumAlgorithm="SHA1")
    got = s3v.get_object_attributes(Bucket=bucket, Key="one", ObjectAttributes=every)
    assert f'"{got["ETag"]}"' == put["ETag"] and got["ObjectSize"] == len(data)
    assert got["StorageClass"] == "STANDARD" and "ObjectParts" not in got
    assert got["Checksum"] == {"ChecksumSHA1": put["ChecksumSHA1"], "ChecksumType": "FULL_OBJECT"}
    assert got["LastModified"] == s3v.head_object(Bucket=bucket, Key="one")["LastModified"]
    only = s3v.get_object_attributes(Bucket=bucket, Key="one", ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == len(data) and "ETag" not in only and "Checksum" not in only

    big = bytes(range(256)) * (4096 * 11)  # three parts
    upload_id, parts = _multipart(s3v, bucket, "mp", big, "CRC32C")
    done = s3v.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    got = s3v.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=every, MaxParts=2)
    assert f'"{got["ETag"]}"' == done["ETag"] and got["ObjectSize"] == len(big)
    assert got["Checksum"]["ChecksumCRC32C"] == done["ChecksumCRC32C"].rsplit("-", 1)[0]
    assert got["Checksum"]["ChecksumType"] == "COMPOSITE"
    op = got["ObjectParts"]
    assert op["TotalPartsCount"] == 3 and op["IsTruncated"] and op["NextPartNumberMarker"] == 2
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32C"]) for p in op["Parts"]] == \
        [(p["PartNumber"], PART, p["ChecksumCRC32C"]) for p in parts[:2]]
    rest = s3v.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"], PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["ObjectParts"]["Parts"]] == [3] and not rest["ObjectParts"]["IsTruncated"]
    assert rest["ObjectParts"]["Parts"][0]["Size"] == len(big) - 2 * PART

    with pytest.raises(ClientError) as ei:
        s3v.get_object_attributes(Bucket=bucket, Key="missing", ObjectAttributes=["ETag"])
    assert ei.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as ei:
        s3v.get_object_attributes(Bucket=bucket, Key="one", ObjectAttributes=["Colour"])
    assert ei.value.response["Error"]["Code"] == "InvalidArgument"


def test_versions_keep_their_checksums(s3v: Any, bucket: str) -> None:
    """An overwritten version keeps its own checksum, and so does a
    multipart version's composite one; reading a version by id returns it."""
    s3v.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    big = bytes(range(256)) * (4096 * 6)
    upload_id, parts = _multipart(s3v, bucket, "v", big, "SHA256")
    first = s3v.complete_multipart_upload(Bucket=bucket, Key="v", UploadId=upload_id,
                                          MultipartUpload={"Parts": parts})
    second = s3v.put_object(Bucket=bucket, Key="v", Body=b"second", ChecksumAlgorithm="CRC32")
    third = s3v.put_object(Bucket=bucket, Key="v", Body=b"third", ChecksumAlgorithm="SHA1")
    got = _read_validated(s3v, bucket, "v", VersionId=first["VersionId"])
    assert got["data"] == big and got["ChecksumSHA256"] == first["ChecksumSHA256"]
    got = _read_validated(s3v, bucket, "v", VersionId=second["VersionId"])
    assert got["data"] == b"second" and got["ChecksumCRC32"] == second["ChecksumCRC32"]
    got = _read_validated(s3v, bucket, "v")
    assert got["data"] == b"third" and got["ChecksumSHA1"] == third["ChecksumSHA1"]
    s3v.delete_object(Bucket=bucket, Key="v", VersionId=third["VersionId"])  # the second is current again
    assert _read_validated(s3v, bucket, "v")["ChecksumCRC32"] == second["ChecksumCRC32"]
    for v in s3v.list_object_versions(Bucket=bucket).get("Versions", []):
        s3v.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])


def test_swift_clients_do_not_see_it_and_swift_copies_keep_it(server: RunningServer, s3v: Any, bucket: str) -> None:
    """The checksum is system metadata: a Swift client sees no header of it
    (nor user metadata); a Swift POST (metadata only) keeps it, and a Swift
    server-side copy of the whole object carries it with the bytes."""
    data = b"swift side " * 300
    sent = s3v.put_object(Bucket=bucket, Key="s", Body=data, ChecksumAlgorithm="SHA256")["ChecksumSHA256"]
    conn = server.connection()
    headers = conn.head_object(bucket, "s")
    assert not any("checksum" in k.lower() or k.lower().startswith("x-object-meta-") for k in headers), headers
    conn.post_object(bucket, "s", headers={"X-Object-Meta-Color": "blue"})
    got = _read_validated(s3v, bucket, "s")
    assert got["ChecksumSHA256"] == sent and got["Metadata"] == {"color": "blue"}
    conn.copy_object(bucket, "s", f"/{bucket}/s-copy")
    assert _read_validated(s3v, bucket, "s-copy")["ChecksumSHA256"] == sent
    conn.put_object(bucket, "s-ranged", b"", headers={"X-Copy-From": f"/{bucket}/s", "Range": "bytes=0-9"})
    ranged = _read_validated(s3v, bucket, "s-ranged")
    assert ranged["data"] == data[:10] and "ChecksumSHA256" not in ranged  # other bytes: not carried

"""Request bodies: payload hashes, aws-chunked bodies with chunk signatures and
trailing checksums, Content-MD5 — and that a refused body leaves nothing
behind (the old object, or none).

Requests are signed with the project's client signer (``store.s3.signing``,
itself checked against Swift's s3api by tests/store/test_s3.py); chunk
signatures are computed here from AWS's definition."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import zlib
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.payload import AwsChunkedDecoder
from sciswift.store.s3.signing import Signer

from ..conftest import RunningServer

SECRET = "testing"
EMPTY = hashlib.sha256(b"").hexdigest()


def _key(date: str) -> bytes:
    k = ("AWS4" + SECRET).encode()
    for piece in (date, "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, piece.encode(), hashlib.sha256).digest()
    return k


def _put(server: RunningServer, bucket: str, key: str, body: bytes, payload_hash: str,
         headers: dict[str, str] | None = None) -> tuple[requests.Response, dict[str, str]]:
    host = urlsplit(server.url).netloc
    signed = Signer("test:tester", SECRET, "us-east-1").sign("PUT", host, f"/{bucket}/{key}", {},
                                                             dict(headers or {}), payload_hash)
    resp = requests.put(f"{server.url}/{quote(bucket)}/{quote(key)}", data=body, headers=signed)
    return resp, signed


def _chunked(data: bytes, seed: str, amz_date: str, chunk: int, *, tamper: int | None = None,
             trailer: dict[str, str] | None = None) -> bytes:
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = _key(amz_date[:8])
    out, prev = [], seed
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for n, piece in enumerate(pieces):
        to_sign = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY,
                             hashlib.sha256(piece).hexdigest()))
        sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        prev = sig
        sent = piece if tamper != n else piece[:-1] + bytes([piece[-1] ^ 1])
        out.append(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(piece), sig.encode(), sent))
    body = b"".join(out)
    if trailer is not None:
        lines = "".join(f"{k}:{v}\n" for k, v in trailer.items()).encode()
        to_sign = "\n".join(("AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, hashlib.sha256(lines).hexdigest()))
        tsig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        body = body[:-2] + lines.replace(b"\n", b"\r\n") + f"x-amz-trailer-signature:{tsig}\r\n\r\n".encode()
    return body


def _signed_chunked_put(server: RunningServer, bucket: str, key: str, data: bytes, chunk: int = 64 * 1024,
                        tamper: int | None = None, trailer: dict[str, str] | None = None) -> requests.Response:
    host = urlsplit(server.url).netloc
    now = datetime.datetime.now(datetime.UTC)
    payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer is not None else "")
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailer is not None:
        headers["x-amz-trailer"] = ",".join(trailer)
    signed = Signer("test:tester", SECRET, "us-east-1").sign("PUT", host, f"/{bucket}/{key}", {}, headers,
                                                             payload, now=now)
    seed = signed["Authorization"].rsplit("Signature=", 1)[1]
    body = _chunked(data, seed, now.strftime("%Y%m%dT%H%M%SZ"), chunk, tamper=tamper, trailer=trailer)
    return requests.put(f"{server.url}/{bucket}/{quote(key)}", data=body, headers=signed)


def _code(resp: requests.Response) -> str:
    import xml.etree.ElementTree as ET

    return ET.fromstring(resp.content).findtext("Code") or ""


def test_signed_payload_hash_is_checked(server: RunningServer, s3: Any, bucket: str) -> None:
    body = b"x" * 100_000
    resp, _ = _put(server, bucket, "k", body, hashlib.sha256(body).hexdigest())
    assert resp.status_code == 200
    resp, _ = _put(server, bucket, "k", b"y" * 100_000, hashlib.sha256(body).hexdigest())
    assert resp.status_code == 400 and _code(resp) == "XAmzContentSHA256Mismatch"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body  # the old object stays


def test_signed_payload_hash_large_body_leaves_nothing(server: RunningServer, s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB: streamed through the writer
    resp, _ = _put(server, bucket, "big", body, hashlib.sha256(b"other").hexdigest())
    assert resp.status_code == 400 and _code(resp) == "XAmzContentSHA256Mismatch"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_aws_chunked_signed_upload(server: RunningServer, s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 1000
    resp = _signed_chunked_put(server, bucket, "chunked", data)
    assert resp.status_code == 200, resp.content
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data and got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert got.get("ContentEncoding") in (None, "")  # aws-chunked is transfer framing, not stored


def test_aws_chunked_bad_chunk_signature_stores_nothing(server: RunningServer, s3: Any, bucket: str) -> None:
    data = b"z" * (300 * 1024)
    resp = _signed_chunked_put(server, bucket, "bad", data, tamper=2)
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_aws_chunked_small_chunks_refused(server: RunningServer, s3: Any, bucket: str) -> None:
    resp = _signed_chunked_put(server, bucket, "small", b"q" * 20000, chunk=1000)
    assert resp.status_code == 403 and _code(resp) == "InvalidChunkSizeError"


def test_aws_chunked_trailer_checksum(server: RunningServer, s3: Any, bucket: str) -> None:
    data = b"trailing" * 5000
    good = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    resp = _signed_chunked_put(server, bucket, "t", data, trailer={"x-amz-checksum-crc32": good})
    assert resp.status_code == 200, resp.content
    assert resp.headers["x-amz-checksum-crc32"] == good
    bad = base64.b64encode((zlib.crc32(data) ^ 1).to_bytes(4, "big")).decode()
    resp = _signed_chunked_put(server, bucket, "t2", data, trailer={"x-amz-checksum-crc32": bad})
    assert resp.status_code == 400 and _code(resp) == "BadDigest"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["t"]


def test_checksum_headers_from_boto3(s3: Any, bucket: str) -> None:
    for algorithm in ("CRC32", "SHA1", "SHA256"):  # CRC32C needs awscrt in boto3
        s3.put_object(Bucket=bucket, Key=algorithm, Body=b"abc" * 1000, ChecksumAlgorithm=algorithm)
        assert s3.get_object(Bucket=bucket, Key=algorithm)["Body"].read() == b"abc" * 1000


def test_every_checksum_algorithm_is_checked(server: RunningServer, s3: Any, bucket: str) -> None:
    """The algorithms S3 added (SHA-512, MD5, xxHash64, XXH3-64, XXH3-128:
    new botocore sends them as x-amz-checksum-*) were ignored, so a body
    that did not match its checksum was stored; an algorithm S3 does not
    name was ignored too."""
    import xxhash

    body = b"checksummed" * 1000
    digests = {"sha512": hashlib.sha512(body).digest(), "md5": hashlib.md5(body).digest(),
               "xxhash64": xxhash.xxh64(body).digest(), "xxhash3": xxhash.xxh3_64(body).digest(),
               "xxhash128": xxhash.xxh3_128(body).digest()}
    for algorithm, digest in digests.items():
        value = base64.b64encode(digest).decode()
        resp, _ = _put(server, bucket, algorithm, body, "UNSIGNED-PAYLOAD", {f"x-amz-checksum-{algorithm}": value})
        assert resp.status_code == 200 and resp.headers[f"x-amz-checksum-{algorithm}"] == value, resp.content
        wrong = base64.b64encode(bytes([digest[0] ^ 1]) + digest[1:]).decode()
        resp, _ = _put(server, bucket, f"{algorithm}-wrong", body, "UNSIGNED-PAYLOAD",
                       {f"x-amz-checksum-{algorithm}": wrong})
        assert resp.status_code == 400 and _code(resp) == "BadDigest", algorithm
    resp, _ = _put(server, bucket, "unknown", body, "UNSIGNED-PAYLOAD", {"x-amz-checksum-blake9": "AAAA"})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(digests)


def test_wrong_content_md5(server: RunningServer, s3: Any, bucket: str) -> None:
    md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    resp, _ = _put(server, bucket, "m", b"payload", "UNSIGNED-PAYLOAD", {"Content-MD5": md5})
    assert resp.status_code == 400 and _code(resp) == "BadDigest"
    resp, _ = _put(server, bucket, "m", b"payload", "UNSIGNED-PAYLOAD", {"Content-MD5": "not base64!"})
    assert resp.status_code == 400 and _code(resp) == "InvalidDigest"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_decoder_same_result_however_split() -> None:
    """The aws-chunked decoder gives the same payload for every split of its input."""
    data = bytes(range(256)) * 40
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (data[:5000], data[5000:], b""))
    for cut in range(0, len(body), 97):
        dec = AwsChunkedDecoder(None, True)
        out = b"".join(dec.feed(body[:cut]) + dec.feed(body[cut:]))
        dec.finish()
        assert out == data
    dec = AwsChunkedDecoder(None, True)
    dec.feed(body[:-10])
    with pytest.raises(S3Error) as ei:
        dec.finish()
    assert ei.value.code == "IncompleteBody"


# ------------------------------------------- large bodies: hashed while written
# Bodies over 256 KiB stream through ``store_body``, which takes the payload's
# digests from the body (``S3Body.take_checks``) and hashes each block in the
# thread that writes it; these bodies cross several of its 4 MiB batches and
# end in the middle of one.
LARGE = bytes(range(256)) * (9 * 4096) + b"tail" * 3001


def _crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_large_body_with_every_digest_is_stored(server: RunningServer, s3: Any, bucket: str) -> None:
    resp, _ = _put(server, bucket, "big", LARGE, hashlib.sha256(LARGE).hexdigest(),
                   {"x-amz-checksum-crc32": _crc32_b64(LARGE), "Content-MD5": _md5_b64(LARGE)})
    assert resp.status_code == 200, resp.content
    assert resp.headers["ETag"] == f'"{hashlib.md5(LARGE).hexdigest()}"'
    assert resp.headers["x-amz-checksum-crc32"] == _crc32_b64(LARGE)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == LARGE


@pytest.mark.parametrize("wrong", ["sha256", "crc32", "content-md5"])
def test_large_body_with_a_wrong_digest_leaves_the_old_object(server: RunningServer, s3: Any, bucket: str,
                                                              wrong: str) -> None:
    s3.put_object(Bucket=bucket, Key="big", Body=b"old")
    other = LARGE[:-1] + b"?"  # the digests of a body differing in its last byte
    sha = hashlib.sha256(other if wrong == "sha256" else LARGE).hexdigest()
    headers = {"x-amz-checksum-crc32": _crc32_b64(other if wrong == "crc32" else LARGE),
               "Content-MD5": _md5_b64(other if wrong == "content-md5" else LARGE)}
    resp, _ = _put(server, bucket, "big", LARGE, sha, headers)
    assert resp.status_code == 400
    assert _code(resp) == ("XAmzContentSHA256Mismatch" if wrong == "sha256" else "BadDigest")
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == b"old"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["big"]


def test_large_aws_chunked_body_trailer_checksum(server: RunningServer, s3: Any, bucket: str) -> None:
    resp = _signed_chunked_put(server, bucket, "c", LARGE, chunk=1 << 20,
                               trailer={"x-amz-checksum-crc32": _crc32_b64(LARGE)})
    assert resp.status_code == 200, resp.content
    got = s3.get_object(Bucket=bucket, Key="c")
    assert got["Body"].read() == LARGE and got["ETag"] == f'"{hashlib.md5(LARGE).hexdigest()}"'
    resp = _signed_chunked_put(server, bucket, "c2", LARGE, chunk=1 << 20,
                               trailer={"x-amz-checksum-crc32": _crc32_b64(LARGE[1:])})
    assert resp.status_code == 400 and _code(resp) == "BadDigest"
    resp = _signed_chunked_put(server, bucket, "c3", LARGE, chunk=1 << 20, tamper=5)
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


async def _read_to_end(body: Any) -> bytes:
    parts = []
    while chunk := await body.read_any():
        parts.append(chunk)
    return b"".join(parts)


def test_taken_checks_are_the_readers_to_verify() -> None:
    """Once a reader took the digests, the body's end no longer checks them:
    the reader's ``verify`` does (``store_body`` calls it before its commit)."""
    import asyncio

    from sciswift.server.http import BytesBody
    from sciswift.server.s3.payload import Checksum, S3Body

    data = b"abc" * 100_000
    body = S3Body(BytesBody(data), payload_hash=hashlib.sha256(b"other").hexdigest(), signer=None,
                  decoded_length=None, checksum=Checksum("crc32", _crc32_b64(data)))
    checks = body.take_checks()
    assert checks is not None and body.take_checks() is None  # handed over once
    assert asyncio.run(_read_to_end(body)) == data
    for piece in (data[:7], data[7:300_001], data[300_001:]):
        checks.update(piece)
    with pytest.raises(S3Error) as ei:
        checks.verify()
    assert ei.value.code == "XAmzContentSHA256Mismatch"

    # A body already being read keeps its checks, and fails at its end.
    body = S3Body(BytesBody(data), payload_hash=hashlib.sha256(b"other").hexdigest(), signer=None,
                  decoded_length=None, checksum=None)
    first = asyncio.run(body.read(10))
    assert first == data[:10] and body.take_checks() is None
    with pytest.raises(S3Error) as ei:
        asyncio.run(_read_to_end(body))
    assert ei.value.code == "XAmzContentSHA256Mismatch"


# ------------------------------------------- whole-object checksums on completion
def test_complete_multipart_upload_checks_the_object_checksum(server: RunningServer, s3: Any, bucket: str,
                                                              tmp_path: Any) -> None:
    """CompleteMultipartUpload's ``x-amz-checksum-*`` states the whole
    object's checksum (S3's FULL_OBJECT, or COMPOSITE ``<value>-<parts>``),
    not its XML body's: it used to be checked against the XML, so boto3's
    upload_file with a checksum always failed with BadDigest."""
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig

    data = bytes(range(256)) * (4096 * 11) + b"end"  # 11 MiB: three parts of 5 MiB
    path = tmp_path / "up.bin"
    path.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
    s3.upload_file(str(path), bucket, "full", ExtraArgs={"ChecksumCRC32": _crc32_b64(data)}, Config=config)
    head = s3.head_object(Bucket=bucket, Key="full")
    assert head["ETag"].endswith('-3"') and s3.get_object(Bucket=bucket, Key="full")["Body"].read() == data
    with pytest.raises(S3UploadFailedError, match="BadDigest"):
        s3.upload_file(str(path), bucket, "wrong", ExtraArgs={"ChecksumCRC32": _crc32_b64(data[1:])}, Config=config)
    assert s3.list_objects_v2(Bucket=bucket, Prefix="wrong")["KeyCount"] == 0

    def upload(key: str, algorithm: str) -> tuple[str, list[dict[str, Any]], bytes]:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm)["UploadId"]
        parts, joined = [], b""
        for n, start in enumerate(range(0, len(data), 5 << 20), 1):
            got = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n,
                                 Body=data[start:start + (5 << 20)], ChecksumAlgorithm=algorithm)
            parts.append({"PartNumber": n, "ETag": got["ETag"]})
            joined += base64.b64decode(got[f"Checksum{algorithm}"])
        return upload_id, parts, joined

    upload_id, parts, joined = upload("composite", "SHA256")
    composite = base64.b64encode(hashlib.sha256(joined).digest()).decode() + "-3"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="composite", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts}, ChecksumSHA256=composite)
    assert done["ChecksumSHA256"] == composite and done["ChecksumType"] == "COMPOSITE"
    upload_id, parts, joined = upload("sized", "CRC32")
    with pytest.raises(ClientError) as ei:  # x-amz-mp-object-size is checked too
        s3.complete_multipart_upload(Bucket=bucket, Key="sized", UploadId=upload_id,
                                     MultipartUpload={"Parts": parts}, MpuObjectSize=len(data) + 1)
    assert ei.value.response["Error"]["Code"] == "InvalidRequest"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="sized", UploadId=upload_id, MpuObjectSize=len(data),
                                        MultipartUpload={"Parts": parts}, ChecksumCRC32=_crc32_b64(data))
    assert done["ChecksumCRC32"] == _crc32_b64(data) and done["ChecksumType"] == "FULL_OBJECT"

"""The S3 API's behaviour: XML bodies parsed safely, conditional writes done
atomically, multipart uploads stored as Swift SLOs, listings, ACLs, and what
one API writes the other reads."""

from __future__ import annotations

import hashlib
import threading
import uuid
from typing import Any

import botocore.handlers
import pytest
import requests
from botocore.exceptions import ClientError
from swiftclient import client as swift_client

from ..conftest import RunningServer

XXE = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<{root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</{root}>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Delete><Object><Key>&lol3;</Key></Object></Delete>"""


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _lax(s3_client: Any) -> Any:
    """A client that sends what it is given (no client-side validation)."""
    client = s3_client(parameter_validation=False)
    client.meta.events.unregister("before-parameter-build.s3", botocore.handlers.validate_bucket_name)
    return client


def _presign(s3: Any, operation: str, **params: Any) -> str:
    """A presigned URL whose signature does not cover a body (boto3 issue 2192)."""
    def clear(request: Any, **_: Any) -> None:
        request.data = b""

    s3.meta.events.register("before-sign.s3.*", clear)
    try:
        url = str(s3.generate_presigned_url(operation, Params=params, ExpiresIn=60))
    finally:
        s3.meta.events.unregister("before-sign.s3.*", clear)
    if "Key" not in params and "/?" not in url and "X-Amz-Algorithm" not in url:
        url = url.replace("?", "/?", 1)  # V2 signs a bucket's path with its trailing slash
    return url


# ------------------------------------------------------------------- XML
def test_external_entities_are_never_read(server: RunningServer, s3: Any, bucket: str) -> None:
    def send(url: str, body: str, method: str = "put") -> requests.Response:
        return getattr(requests, method)(url, data=body.encode())

    name = f"x-{uuid.uuid4().hex[:8]}"
    url = _presign(s3, "create_bucket", Bucket=name)
    resp = send(url, XXE.format(root="CreateBucketConfiguration", inner="<LocationConstraint>&xxe;</LocationConstraint>"))
    assert resp.status_code == 400 and b"MalformedXML" in resp.content and b"root:" not in resp.content
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=name)  # nothing was created

    s3.put_object(Bucket=bucket, Key="keep", Body=b"1")
    delete_url = _presign(s3, "delete_objects", Bucket=bucket, Delete={"Objects": [{"Key": "keep"}]})
    for body in (XXE.format(root="Delete", inner="<Object><Key>&xxe;</Key></Object>"), LAUGHS):
        resp = send(delete_url, body, "post")
        assert resp.status_code == 400 and b"MalformedXML" in resp.content and b"lollol" not in resp.content
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"1"

    up = s3.create_multipart_upload(Bucket=bucket, Key="mpu")
    url = _presign(s3, "complete_multipart_upload", Bucket=bucket, Key="mpu", UploadId=up["UploadId"],
                   MultipartUpload={"Parts": []})
    resp = send(url, XXE.format(root="CompleteMultipartUpload",
                                inner="<Part><ETag>&xxe;</ETag><PartNumber>1</PartNumber></Part>"), "post")
    assert resp.status_code == 400 and b"MalformedXML" in resp.content
    s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=up["UploadId"])


def test_malformed_bodies(s3: Any, s3_client: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as ei:
        _lax(s3_client).delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": ""}]})
    assert _code(ei) in ("UserKeyMustBeSpecified", "MalformedXML")
    with pytest.raises(ClientError) as ei:
        s3.create_bucket(Bucket=f"r-{uuid.uuid4().hex[:8]}",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert _code(ei) == "InvalidLocationConstraint"


# ------------------------------------------------------ conditional writes
def test_create_only_put_is_atomic(s3_client: Any, bucket: str) -> None:
    wins: list[int] = []
    lock = threading.Lock()

    def create(i: int) -> None:
        client = s3_client()
        try:
            client.put_object(Bucket=bucket, Key="race", Body=str(i).encode() * 1000, IfNoneMatch="*")
            with lock:
                wins.append(i)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "PreconditionFailed"

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert s3_client().get_object(Bucket=bucket, Key="race")["Body"].read() == str(wins[0]).encode() * 1000


def test_if_match_put_is_compare_and_swap(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="v", Body=b"v1")["ETag"]
    s3.put_object(Bucket=bucket, Key="v", Body=b"v2", IfMatch=first)
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="v", Body=b"v3", IfMatch=first)
    assert _code(ei) == "PreconditionFailed"
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="absent", Body=b"x", IfMatch=first)
    assert _code(ei) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"v2"


def test_ranged_and_conditional_get(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-4")["Body"].read() == b"234"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=20-30")
    assert _code(ei) == "InvalidRange"
    assert s3.head_object(Bucket=bucket, Key="r", Range="bytes=0-3")["ContentLength"] == 4
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="r", IfNoneMatch=etag)
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="r", IfMatch='"other"')
    assert _code(ei) == "PreconditionFailed"


# -------------------------------------------------------------- multipart
def test_part_number_of_an_object_not_uploaded_in_parts(s3: Any, bucket: str) -> None:
    """Such an object is its own part 1 and has no other (S3: InvalidPartNumber,
    416); the part number used to be ignored and part 2 was the whole object."""
    s3.put_object(Bucket=bucket, Key="plain", Body=b"0123456789")
    assert s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)["Body"].read() == b"0123456789"
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="plain", PartNumber=2)
    assert _code(ei) == "InvalidPartNumber"
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="plain", PartNumber=2)
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_multipart_upload_is_a_swift_slo(server: RunningServer, s3: Any, bucket: str) -> None:
    parts = [b"a" * (5 << 20), b"b" * 1000]
    up = s3.create_multipart_upload(Bucket=bucket, Key="big.h5", ContentType="application/x-hdf5",
                                    Metadata={"run": "7"})
    etags = [s3.upload_part(Bucket=bucket, Key="big.h5", UploadId=up["UploadId"], PartNumber=i + 1,
                            Body=p)["ETag"] for i, p in enumerate(parts)]
    assert s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["Key"] == "big.h5"
    listed = s3.list_parts(Bucket=bucket, Key="big.h5", UploadId=up["UploadId"])["Parts"]
    assert [p["Size"] for p in listed] == [len(p) for p in parts]
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="big.h5")  # nothing visible before completion
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big.h5", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    md5s = b"".join(bytes.fromhex(e.strip('"')) for e in etags)
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    head = s3.head_object(Bucket=bucket, Key="big.h5")
    assert head["ETag"] == done["ETag"] and head["ContentLength"] == sum(map(len, parts))
    assert head["Metadata"] == {"run": "7"} and head["ContentType"] == "application/x-hdf5"
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert listing[0]["ETag"] == done["ETag"] and listing[0]["Size"] == head["ContentLength"]
    # Swift clients read it as a static large object with its segments in <bucket>+segments
    conn = server.connection()
    headers, body = conn.get_object(bucket, "big.h5")
    assert body == b"".join(parts) and headers["x-static-large-object"].lower() == "true"
    assert headers["x-object-meta-run"] == "7"
    _, segs = conn.get_container(f"{bucket}+segments")
    assert sorted(s["name"] for s in segs) == [f"big.h5/{up['UploadId']}/1", f"big.h5/{up['UploadId']}/2"]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="big.h5", PartNumber=2)["Body"].read() == parts[1]
    # deleting the object deletes its segments too
    s3.delete_object(Bucket=bucket, Key="big.h5")
    _, segs = conn.get_container(f"{bucket}+segments")
    assert segs == []


def test_list_multipart_uploads_pages(s3: Any, bucket: str) -> None:
    """Every page of a truncated listing says where the next starts (it said
    nothing when the page held one upload, so max-uploads=1 never advanced),
    and common prefixes count toward max-uploads, as S3 counts them."""
    uploads = [(k, s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"])
               for k in ("a/1", "a/2", "b", "b", "c d/u", "e")]
    for size in (1, 2, 5):
        paginator = s3.get_paginator("list_multipart_uploads")
        got = [(u["Key"], u["UploadId"]) for page in paginator.paginate(Bucket=bucket, PaginationConfig={
            "PageSize": size}) for u in page.get("Uploads", [])]
        assert sorted(got) == sorted(uploads), size
        pages = list(paginator.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": size}))
        assert all(len(p.get("Uploads", [])) + len(p.get("CommonPrefixes", [])) <= size for p in pages)
        assert sorted(c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])) == ["a/", "c d/"]
        assert sorted(u["Key"] for p in pages for u in p.get("Uploads", [])) == ["b", "b", "e"]
    one = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1)
    assert one["IsTruncated"] and (one["NextKeyMarker"], one["NextUploadIdMarker"]) == uploads[0]


def test_multipart_errors(s3: Any, bucket: str) -> None:
    up = s3.create_multipart_upload(Bucket=bucket, Key="m")
    e1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=up["UploadId"], PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="m", UploadId=up["UploadId"], PartNumber=2, Body=b"small")["ETag"]
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert _code(ei) == "EntityTooSmall"
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert _code(ei) == "InvalidPartOrder"
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}]})
    assert _code(ei) == "InvalidPart"
    with pytest.raises(ClientError) as ei:
        s3.upload_part(Bucket=bucket, Key="m", UploadId="nope", PartNumber=1, Body=b"x")
    assert _code(ei) == "NoSuchUpload"
    s3.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=up["UploadId"])
    with pytest.raises(ClientError) as ei:
        s3.list_parts(Bucket=bucket, Key="m", UploadId=up["UploadId"])
    assert _code(ei) == "NoSuchUpload"


# --------------------------------------------------------------- listings
def test_listing_pages_and_prefixes(s3: Any, bucket: str) -> None:
    names = ["a/1", "a/2", "a/b/3", "b", "c/4", "é", "z"]
    for n in names:
        s3.put_object(Bucket=bucket, Key=n, Body=n.encode())
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["b", "z", "é"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "c/"]
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert keys == sorted(names, key=lambda s: s.encode())
    v1: list[str] = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Delimiter="/",
                                                           PaginationConfig={"PageSize": 1}):
        v1 += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert v1 == ["a/", "b", "c/", "z", "é"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="a/")["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions] == [
        ("a/1", "null", True), ("a/2", "null", True), ("a/b/3", "null", True)]


# ------------------------------------------------------------ two APIs, one store
def test_list_buckets_prefix_and_pages(s3: Any, s3_client: Any) -> None:
    """ListBuckets' prefix, max-buckets/continuation-token and bucket-region
    (they were ignored: every bucket came back in one page)."""
    tag = f"lb-{uuid.uuid4().hex[:8]}"
    names = [f"{tag}-{i}" for i in range(3)]
    for name in names:
        s3.create_bucket(Bucket=name)
    try:
        got = s3.list_buckets(Prefix=tag)
        assert [b["Name"] for b in got["Buckets"]] == names and got["Prefix"] == tag
        assert "ContinuationToken" not in got
        first = s3.list_buckets(Prefix=tag, MaxBuckets=2)
        assert [b["Name"] for b in first["Buckets"]] == names[:2]
        rest = s3.list_buckets(Prefix=tag, MaxBuckets=2, ContinuationToken=first["ContinuationToken"])
        assert [b["Name"] for b in rest["Buckets"]] == names[2:] and "ContinuationToken" not in rest
        paged = [b["Name"] for page in s3.get_paginator("list_buckets").paginate(
            Prefix=tag, PaginationConfig={"PageSize": 1}) for b in page["Buckets"]]
        assert paged == names
        assert s3.list_buckets(Prefix=tag, BucketRegion="us-east-1")["Buckets"][0]["BucketRegion"] == "us-east-1"
        assert s3.list_buckets(Prefix=tag, BucketRegion="eu-west-1")["Buckets"] == []
        # the classic request keeps the classic document (no BucketRegion: Swift's s3api schema)
        assert all("BucketRegion" not in b for b in s3.list_buckets()["Buckets"])
        with pytest.raises(ClientError) as ei:
            _lax(s3_client).list_buckets(MaxBuckets=0)
        assert _code(ei) == "InvalidArgument"
    finally:
        for name in names:
            s3.delete_bucket(Bucket=name)


def test_what_one_api_writes_the_other_reads(server: RunningServer, s3: Any) -> None:
    conn = server.connection()
    name = f"swift-{uuid.uuid4().hex[:8]}"
    conn.put_container(name)
    conn.put_object(name, "run1.h5", b"from swift", content_type="application/x-hdf5",
                    headers={"X-Object-Meta-Step": "42"})
    got = s3.get_object(Bucket=name, Key="run1.h5")
    assert got["Body"].read() == b"from swift" and got["Metadata"] == {"step": "42"}
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.put_object(Bucket=name, Key="from_s3", Body=b"from s3", Metadata={"under_score": "1"})
    headers, body = conn.get_object(name, "from_s3")
    assert body == b"from s3"
    assert s3.head_object(Bucket=name, Key="from_s3")["Metadata"] == {"under_score": "1"}
    s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "run1.h5"})
    assert conn.get_object(name, "copy")[1] == b"from swift"
    for key in ("run1.h5", "from_s3", "copy"):
        s3.delete_object(Bucket=name, Key=key)
    s3.delete_bucket(Bucket=name)
    with pytest.raises(swift_client.ClientException):
        conn.head_container(name)


def test_canned_acls_are_swift_acls(server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="open", Body=b"public data")
    anonymous = requests.get(f"{server.url}/v1/AUTH_test/{bucket}/open")
    assert anonymous.status_code == 401
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    headers = server.connection().head_container(bucket)
    assert headers["x-container-read"] == ".r:*,.rlistings"
    assert requests.get(f"{server.url}/v1/AUTH_test/{bucket}/open").content == b"public data"
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"} in [g["Grantee"] for g in grants]
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert requests.get(f"{server.url}/v1/AUTH_test/{bucket}/open").status_code == 401
    with pytest.raises(ClientError) as ei:
        s3.put_bucket_acl(Bucket=bucket, ACL="authenticated-read")
    assert _code(ei) == "NotImplemented"


def test_bucket_lifecycle(s3: Any, s3_client: Any) -> None:
    name = f"life-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    with pytest.raises(ClientError) as ei:
        s3.create_bucket(Bucket=name)
    assert _code(ei) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket=name, Key="x", Body=b"1")
    up = s3.create_multipart_upload(Bucket=name, Key="pending")
    s3.upload_part(Bucket=name, Key="pending", UploadId=up["UploadId"], PartNumber=1, Body=b"p")
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=name)
    assert _code(ei) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="x")
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "us-east-1"  # SDKs read a bucket's region there
    s3.delete_bucket(Bucket=name)  # the pending upload goes with it
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket=name)
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as ei:
        _lax(s3_client).create_bucket(Bucket="Not_valid+name")
    assert _code(ei) == "InvalidBucketName"

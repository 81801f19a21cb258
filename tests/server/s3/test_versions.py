"""S3 object versions (boto3 against ``sciswift serve``), on the Swift API's
object versioning: both APIs see the same versions."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ..conftest import RunningServer


def _code(ei: pytest.ExceptionInfo[ClientError]) -> str:
    return str(ei.value.response["Error"]["Code"])


def _status(ei: pytest.ExceptionInfo[ClientError]) -> int:
    return int(ei.value.response["ResponseMetadata"]["HTTPStatusCode"])


def _enable(s3: Any, bucket: str, status: str = "Enabled") -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def _body(s3: Any, bucket: str, key: str, **kw: Any) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read())


def _versions(s3: Any, bucket: str, **kw: Any) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is a delete marker): the versions in the
    order listed, then the delete markers in the order listed (boto3 keeps
    the two kinds apart)."""
    out = s3.list_object_versions(Bucket=bucket, **kw)
    rows = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in out.get("Versions", [])]
    return rows + [(m["Key"], m["VersionId"], m["IsLatest"], True) for m in out.get("DeleteMarkers", [])]


@pytest.fixture
def vbucket(s3: Any) -> Iterator[str]:
    """A fresh bucket; afterwards every version and marker is deleted, then the bucket."""
    name = f"v-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    out = s3.list_object_versions(Bucket=name)
    for v in out.get("Versions", []) + out.get("DeleteMarkers", []):
        s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
    for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=name)


def test_enable_and_suspend_map_to_x_versions_enabled(server: RunningServer, s3: Any, vbucket: str) -> None:
    conn = server.connection()
    assert "Status" not in s3.get_bucket_versioning(Bucket=vbucket)
    assert "x-versions-enabled" not in conn.head_container(vbucket)
    _enable(s3, vbucket)
    assert s3.get_bucket_versioning(Bucket=vbucket)["Status"] == "Enabled"
    assert conn.head_container(vbucket)["x-versions-enabled"].lower() == "true"
    _enable(s3, vbucket, "Suspended")
    assert s3.get_bucket_versioning(Bucket=vbucket)["Status"] == "Suspended"
    assert conn.head_container(vbucket)["x-versions-enabled"].lower() == "false"
    conn.post_container(vbucket, {"X-Versions-Enabled": "true"})  # and the other way round
    assert s3.get_bucket_versioning(Bucket=vbucket)["Status"] == "Enabled"
    with pytest.raises(ClientError) as ei:
        s3.put_bucket_versioning(Bucket=vbucket, VersioningConfiguration={"Status": "On"})
    assert _code(ei) == "MalformedXML"


def test_versions_are_kept_listed_and_read(s3: Any, vbucket: str) -> None:
    _enable(s3, vbucket)
    ids = [s3.put_object(Bucket=vbucket, Key="run.h5", Body=f"v{i}".encode())["VersionId"] for i in range(3)]
    assert len(set(ids)) == 3 and "null" not in ids
    assert _versions(s3, vbucket) == [("run.h5", ids[2], True, False), ("run.h5", ids[1], False, False),
                                       ("run.h5", ids[0], False, False)]
    current = s3.get_object(Bucket=vbucket, Key="run.h5")
    assert current["Body"].read() == b"v2" and current["VersionId"] == ids[2]
    old = s3.get_object(Bucket=vbucket, Key="run.h5", VersionId=ids[0])
    assert old["Body"].read() == b"v0" and old["VersionId"] == ids[0]
    listed = s3.list_objects_v2(Bucket=vbucket)["Contents"]  # the current version, as a plain listing shows it
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("run.h5", 2, current["ETag"])]
    assert current["ETag"] == '"%s"' % hashlib.md5(b"v2").hexdigest()
    head = s3.head_object(Bucket=vbucket, Key="run.h5", VersionId=ids[1])
    assert head["ContentLength"] == 2 and head["VersionId"] == ids[1]
    ranged = s3.get_object(Bucket=vbucket, Key="run.h5", VersionId=ids[1], Range="bytes=1-1")
    assert ranged["Body"].read() == b"1"
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=vbucket, Key="run.h5", VersionId="1234567890.12345")
    assert _code(ei) == "NoSuchVersion"
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=vbucket, Key="run.h5", VersionId="not-a-version")
    assert _code(ei) == "InvalidArgument"


def test_delete_marker_and_its_removal(s3: Any, vbucket: str) -> None:
    _enable(s3, vbucket)
    first = s3.put_object(Bucket=vbucket, Key="k", Body=b"kept")["VersionId"]
    gone = s3.delete_object(Bucket=vbucket, Key="k")
    assert gone["DeleteMarker"] is True and gone["VersionId"] not in ("null", first)
    marker = gone["VersionId"]
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=vbucket, Key="k")
    assert _code(ei) == "NoSuchKey"
    said = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert said["x-amz-delete-marker"] == "true" and said["x-amz-version-id"] == marker
    assert _versions(s3, vbucket) == [("k", first, False, False), ("k", marker, True, True)]
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert _status(ei) == 405
    assert ei.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert _status(ei) == 405
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=vbucket, Key="k")
    assert _status(ei) == 404
    assert ei.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-version-id"] == marker
    assert _body(s3, vbucket, "k", VersionId=first) == b"kept"  # the version is still there
    removed = s3.delete_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert removed["DeleteMarker"] is True and removed["VersionId"] == marker
    assert _body(s3, vbucket, "k") == b"kept"  # removing the marker brings the object back
    assert _versions(s3, vbucket) == [("k", first, True, False)]


def test_deleting_the_current_version_makes_the_previous_current(s3: Any, vbucket: str) -> None:
    _enable(s3, vbucket)
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"two")["VersionId"]
    assert s3.delete_object(Bucket=vbucket, Key="k", VersionId=v2)["VersionId"] == v2
    got = s3.get_object(Bucket=vbucket, Key="k")
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    s3.delete_object(Bucket=vbucket, Key="k", VersionId=v1)
    assert _versions(s3, vbucket) == []
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=vbucket, Key="k")
    assert _status(ei) == 404


def test_null_version(s3: Any, vbucket: str) -> None:
    s3.put_object(Bucket=vbucket, Key="plain", Body=b"before")
    # never versioned: every object is its null version
    assert _versions(s3, vbucket) == [("plain", "null", True, False)]
    assert _body(s3, vbucket, "plain", VersionId="null") == b"before"
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=vbucket, Key="plain", VersionId="1234567890.12345")
    assert _code(ei) == "NoSuchVersion"
    _enable(s3, vbucket)
    assert _versions(s3, vbucket) == [("plain", "null", True, False)]  # still null until displaced
    v1 = s3.put_object(Bucket=vbucket, Key="plain", Body=b"versioned")["VersionId"]
    rows = _versions(s3, vbucket)
    assert rows[0] == ("plain", v1, True, False) and len(rows) == 2
    assert _body(s3, vbucket, "plain", VersionId=rows[1][1]) == b"before"  # kept under its write time
    _enable(s3, vbucket, "Suspended")
    put = s3.put_object(Bucket=vbucket, Key="plain", Body=b"suspended")
    assert "VersionId" not in put  # suspended: Swift writes the null object in place
    assert _versions(s3, vbucket)[:2] == [("plain", "null", True, False), ("plain", v1, False, False)]
    assert _body(s3, vbucket, "plain", VersionId="null") == b"suspended"
    assert _body(s3, vbucket, "plain", VersionId=v1) == b"versioned"
    s3.delete_object(Bucket=vbucket, Key="plain", VersionId="null")
    assert _body(s3, vbucket, "plain") == b"versioned"  # the newest remaining is current again
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=vbucket, Key="plain", VersionId="null")
    assert _code(ei) == "NoSuchKey"


def test_swift_sees_the_same_versions(server: RunningServer, s3: Any, vbucket: str) -> None:
    conn = server.connection()
    _enable(s3, vbucket)
    v1 = s3.put_object(Bucket=vbucket, Key="obj", Body=b"s3 one")["VersionId"]
    resp: dict[str, Any] = {}
    conn.put_object(vbucket, "obj", b"swift two", response_dict=resp)
    v2 = resp["headers"]["x-object-version-id"]
    marker = s3.delete_object(Bucket=vbucket, Key="obj")["VersionId"]
    _, listing = conn.get_container(vbucket, query_string="versions")
    assert [(o["name"], o["version_id"], o["is_latest"]) for o in listing] == [
        ("obj", marker, True), ("obj", v2, False), ("obj", v1, False)]
    assert _versions(s3, vbucket) == [("obj", v2, False, False), ("obj", v1, False, False),
                                       ("obj", marker, True, True)]
    assert _body(s3, vbucket, "obj", VersionId=v2) == b"swift two"
    _, body = conn.get_object(vbucket, "obj", query_string=f"version-id={v1}")
    assert body == b"s3 one"


def test_delete_objects_with_versions(s3: Any, vbucket: str) -> None:
    _enable(s3, vbucket)
    a1 = s3.put_object(Bucket=vbucket, Key="a", Body=b"a1")["VersionId"]
    a2 = s3.put_object(Bucket=vbucket, Key="a", Body=b"a2")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="b", Body=b"b")
    out = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": "a", "VersionId": a2}, {"Key": "b"},
                                                                 {"Key": "c", "VersionId": "bad"}]})
    deleted = {d["Key"]: d for d in out["Deleted"]}
    assert deleted["a"]["VersionId"] == a2 and "DeleteMarker" not in deleted["a"]
    assert deleted["b"]["DeleteMarker"] is True and deleted["b"]["DeleteMarkerVersionId"]
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("c", "InvalidArgument")]
    assert _body(s3, vbucket, "a") == b"a1"
    assert ("b", deleted["b"]["DeleteMarkerVersionId"], True, True) in _versions(s3, vbucket)
    assert a1 != a2


def test_copy_of_a_version(s3: Any, vbucket: str) -> None:
    _enable(s3, vbucket)
    v1 = s3.put_object(Bucket=vbucket, Key="src", Body=b"first", Metadata={"run": "1"})["VersionId"]
    s3.put_object(Bucket=vbucket, Key="src", Body=b"second")
    out = s3.copy_object(Bucket=vbucket, Key="dst", CopySource={"Bucket": vbucket, "Key": "src", "VersionId": v1})
    assert out["CopySourceVersionId"] == v1 and out["VersionId"] not in (None, "null", v1)
    got = s3.get_object(Bucket=vbucket, Key="dst")
    assert got["Body"].read() == b"first" and got["Metadata"] == {"run": "1"}
    # restoring an old version over the current one is a copy onto itself
    s3.copy_object(Bucket=vbucket, Key="src", CopySource={"Bucket": vbucket, "Key": "src", "VersionId": v1})
    assert _body(s3, vbucket, "src") == b"first"
    assert len([r for r in _versions(s3, vbucket) if r[0] == "src"]) == 3
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=vbucket, Key="x", CopySource={"Bucket": vbucket, "Key": "src",
                                                            "VersionId": "1234567890.12345"})
    assert _code(ei) == "NoSuchVersion"


def test_multipart_versions_keep_their_parts(s3: Any, vbucket: str) -> None:
    _enable(s3, vbucket)
    up = s3.create_multipart_upload(Bucket=vbucket, Key="mp")
    part = s3.upload_part(Bucket=vbucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"m" * 1000)
    done = s3.complete_multipart_upload(Bucket=vbucket, Key="mp", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert done["VersionId"] not in (None, "null") and done["ETag"].endswith('-1"')
    assert [(o["ETag"], o["Size"]) for o in s3.list_objects_v2(Bucket=vbucket)["Contents"]] == [(done["ETag"], 1000)]
    s3.put_object(Bucket=vbucket, Key="mp", Body=b"plain")
    s3.delete_object(Bucket=vbucket, Key="mp")  # a marker: the parts stay
    listed = s3.list_object_versions(Bucket=vbucket)["Versions"]
    mp = [v for v in listed if v["VersionId"] == done["VersionId"]][0]
    assert s3.list_objects(Bucket=vbucket).get("Contents") is None  # deleted: only versions remain
    assert mp["ETag"] == done["ETag"] and mp["Size"] == 1000
    old = s3.get_object(Bucket=vbucket, Key="mp", VersionId=done["VersionId"])
    assert old["Body"].read() == b"m" * 1000 and old["ETag"] == done["ETag"]
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=vbucket)  # versions remain
    assert _code(ei) == "BucketNotEmpty"


def test_version_listing_pages(s3: Any, vbucket: str) -> None:
    _enable(s3, vbucket)
    for key in ("a/x", "a/y", "b", "c"):
        for i in range(2):
            s3.put_object(Bucket=vbucket, Key=key, Body=f"{key}{i}".encode())
    s3.delete_object(Bucket=vbucket, Key="c")
    whole = _versions(s3, vbucket)
    assert len(whole) == 9
    paged: list[tuple[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=vbucket, PaginationConfig={"PageSize": 2}):
        assert len(page.get("Versions", [])) + len(page.get("DeleteMarkers", [])) <= 2
        paged += [(v["Key"], v["VersionId"]) for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    assert sorted(paged) == sorted((k, v) for k, v, _, _ in whole) and len(paged) == 9
    top = s3.list_object_versions(Bucket=vbucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/"]
    prefixes: list[str] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=vbucket, Delimiter="/",
                                                                   PaginationConfig={"PageSize": 1}):
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["a/"]  # a common prefix is passed whole
    with pytest.raises(ClientError) as ei:
        s3.list_object_versions(Bucket=vbucket, VersionIdMarker="null")
    assert _code(ei) == "InvalidArgument"

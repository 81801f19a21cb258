"""Which operation a request is, and what the server does not do: every S3
subresource is routed to its operation, to S3's answer for a bucket without
that configuration, or to a ``NotImplemented`` naming the operation — never
to a listing or a read a client would parse as an answer; headers asking for
what the store cannot honour (encryption, tags, object lock, redirects) are
refused instead of dropped; object tagging reads as S3's empty tag set."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import boto3
import botocore.auth
import botocore.config
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from ..conftest import RunningServer
from .test_auth import CREDS, _signed

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    """Status, code, and the operation a NotImplemented names (its own
    ``Operation`` element: the message stays S3's standard text, which
    Swift's s3api functional tests compare) or else the message."""
    err = exc.value.response["Error"]
    detail = err.get("Operation") or err.get("Message", "")
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"], err["Code"], detail


def test_unknown_subresources_are_not_listings(server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # GetBucketPolicyStatus used to fall through to ListObjects, which botocore
    # parsed as an empty PolicyStatus: S3's answer for a bucket without a policy
    with pytest.raises(ClientError) as ei:
        s3.get_bucket_policy_status(Bucket=bucket)
    assert _error(ei)[:2] == (404, "NoSuchBucketPolicy")
    calls = [
        (s3.get_bucket_encryption, {"Bucket": bucket}, "GetBucketEncryption"),
        (s3.get_public_access_block, {"Bucket": bucket}, "GetPublicAccessBlock"),
        (s3.get_bucket_ownership_controls, {"Bucket": bucket}, "GetBucketOwnershipControls"),
        (s3.put_bucket_lifecycle_configuration,
         {"Bucket": bucket, "LifecycleConfiguration": {"Rules": [
             {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]}},
         "PutBucketLifecycleConfiguration"),
        (s3.get_object_retention, {"Bucket": bucket, "Key": "k"}, "GetObjectRetention"),
        (s3.list_bucket_metrics_configurations, {"Bucket": bucket}, "ListBucketMetricsConfigurations"),
        (s3.get_bucket_metrics_configuration, {"Bucket": bucket, "Id": "m"}, "GetBucketMetricsConfiguration"),
        (s3.put_object_tagging, {"Bucket": bucket, "Key": "k", "Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}},
         "PutObjectTagging"),
    ]
    for call, params, operation in calls:
        with pytest.raises(ClientError) as ei:
            call(**params)
        status, code, message = _error(ei)
        assert (status, code) == (501, "NotImplemented") and operation in message, (operation, message)
    # subresources the raw way too: an S3 XML error, whichever level
    for target in (f"/{bucket}?metadataTable", f"/{bucket}/k?torrent", f"/{bucket}?session"):
        url, headers = _signed("GET", server.url + target)
        resp = requests.get(url, headers=headers)
        assert resp.status_code == 501 and ET.fromstring(resp.content).findtext("Code") == "NotImplemented", target
    # subresources newer than the router (or than this test's botocore): S3 keeps adding them, and
    # one taken for a plain object request would replace or read the object (a PutObjectAnnotation
    # used to overwrite it with the annotation)
    for method, target, operation in (
            ("PUT", f"/{bucket}/k?annotation&annotationName=note", "PutObjectAnnotation"),
            ("GET", f"/{bucket}/k?annotation", "ListObjectAnnotations"),
            ("GET", f"/{bucket}/k?part&partNumber=1&uploadId=u", "GetPart"),
            ("PUT", f"/{bucket}/k?encryption", "UpdateObjectEncryption"),
            ("PUT", f"/{bucket}?default-storage-class", "PutBucketDefaultStorageClass"),
            ("PUT", f"/{bucket}/k?someFutureThing", "?someFutureThing"),
            ("POST", f"/{bucket}?someFutureThing", "?someFutureThing")):
        url, headers = _signed(method, server.url + target, body=b'{"note": 1}')
        resp = requests.request(method, url, data=b'{"note": 1}', headers=headers)
        doc = ET.fromstring(resp.content)
        assert resp.status_code == 501 and doc.findtext("Code") == "NotImplemented", target
        assert operation in (doc.findtext("Operation") or ""), (target, doc.findtext("Operation"))
        assert doc.findtext("Message") == "The requested resource is not implemented", target
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    # query parameters that are not subresources are ignored, as S3 does (the JS SDK adds x-id)
    url, headers = _signed("GET", f"{server.url}/{bucket}?list-type=2&x-id=ListObjectsV2")
    resp = requests.get(url, headers=headers)
    assert resp.status_code == 200 and b"<Key>k</Key>" in resp.content


def test_deleting_an_absent_configuration_succeeds(s3: Any, bucket: str) -> None:
    for call in (s3.delete_bucket_lifecycle, s3.delete_bucket_policy, s3.delete_bucket_cors,
                 s3.delete_bucket_website, s3.delete_bucket_tagging):
        assert call(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket_lifecycle(Bucket=bucket + "-none")
    assert _error(ei)[:2] == (404, "NoSuchBucket")


def test_object_tagging_is_the_empty_tag_set(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    got = s3.get_object_tagging(Bucket=bucket, Key="k")
    assert got["TagSet"] == [] and got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.delete_object_tagging(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (s3.get_object_tagging, s3.delete_object_tagging):
        with pytest.raises(ClientError) as ei:
            call(Bucket=bucket, Key="missing")
        assert _error(ei)[:2] == (404, "NoSuchKey")
    with pytest.raises(ClientError) as ei:
        s3.get_object_tagging(Bucket=bucket + "-none", Key="k")
    assert _error(ei)[:2] == (404, "NoSuchBucket")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"  # untouched


def test_what_the_store_cannot_honour_is_refused(server: RunningServer, s3: Any, bucket: str) -> None:
    """Headers the store used to drop silently: the object was written in the
    clear, untagged and deletable, while the client believed otherwise."""
    key32 = "k" * 32
    refused: list[tuple[dict[str, Any], int, str]] = [
        ({"ServerSideEncryption": "AES256"}, 501, "NotImplemented"),
        ({"ServerSideEncryption": "aws:kms"}, 501, "NotImplemented"),
        ({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key32}, 501, "NotImplemented"),
        ({"Tagging": "project=wind"}, 501, "NotImplemented"),
        ({"WebsiteRedirectLocation": "/elsewhere"}, 501, "NotImplemented"),
        ({"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": "2099-01-01T00:00:00Z"}, 400,
         "InvalidRequest"),
        ({"ObjectLockLegalHoldStatus": "ON"}, 400, "InvalidRequest"),
        ({"GrantRead": f"uri={ALL_USERS}"}, 501, "NotImplemented"),
    ]
    raw_refused = [  # headers newer than the project's botocore, sent as they are
        ({"x-amz-write-offset-bytes": "0"}, 501, "NotImplemented"),
        ({"x-amz-object-lock-event-hold": "ON"}, 400, "InvalidRequest"),
    ]
    for extra, status, code in refused:
        with pytest.raises(ClientError) as ei:
            s3.put_object(Bucket=bucket, Key="k", Body=b"x", **extra)
        assert _error(ei)[:2] == (status, code), extra
        with pytest.raises(ClientError) as ei:
            s3.create_multipart_upload(Bucket=bucket, Key="k", **extra)
        assert _error(ei)[:2] == (status, code), extra
    for headers, status, code in raw_refused:
        url, signed = _signed("PUT", f"{server.url}/{bucket}/k", body=b"appended", headers=headers)
        resp = requests.put(url, data=b"appended", headers=signed)
        assert (resp.status_code, ET.fromstring(resp.content).findtext("Code")) == (status, code), headers
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="")  # no tags asked for: fine
    url, signed = _signed("PUT", f"{server.url}/{bucket}/k", body=b"y", headers={"x-amz-write-offset-bytes": "1"})
    assert requests.put(url, data=b"y", headers=signed).status_code == 501
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"  # not replaced by the "append"
    with pytest.raises(ClientError) as ei:  # an SSE-C object would read back without its key
        s3.get_object(Bucket=bucket, Key="k", SSECustomerAlgorithm="AES256", SSECustomerKey=key32)
    assert _error(ei)[:2] == (501, "NotImplemented")
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=bucket, Key="k2", CopySource={"Bucket": bucket, "Key": "k"}, TaggingDirective="REPLACE",
                       Tagging="a=b")
    assert _error(ei)[:2] == (501, "NotImplemented")
    for extra in ({"ObjectLockEnabledForBucket": True}, {"GrantRead": f"uri={ALL_USERS}"}):
        with pytest.raises(ClientError) as ei:
            s3.create_bucket(Bucket=bucket + "-new", **extra)
        assert _error(ei)[:2] == (501, "NotImplemented")
        with pytest.raises(ClientError):
            s3.head_bucket(Bucket=bucket + "-new")
    with pytest.raises(ClientError) as ei:  # the bucket stays as it was
        s3.put_bucket_acl(Bucket=bucket, GrantRead=f"uri={ALL_USERS}")
    assert _error(ei)[:2] == (501, "NotImplemented")
    assert len(s3.get_bucket_acl(Bucket=bucket)["Grants"]) == 1
    # a refused request's body is read and the connection serves the next one
    req = AWSRequest(method="PUT", url=f"{server.url}/{bucket}/big", data=b"z" * 300_000,
                     headers={"x-amz-server-side-encryption": "AES256"})
    botocore.auth.S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
    with requests.Session() as session:
        resp = session.put(req.url, data=req.body, headers=dict(req.headers.items()))
        assert resp.status_code == 501 and ET.fromstring(resp.content).findtext("Header") == \
            "x-amz-server-side-encryption"
        url, headers = _signed("GET", f"{server.url}/{bucket}/k")
        assert session.get(url, headers=headers).content == b"x"


# ------------------------------------------------------------ virtual-hosted style
def test_host_bucket() -> None:
    from sciswift.server.s3.request import host_bucket

    domains = ("localhost", "s3.example.org")
    assert host_bucket("wind.localhost:8080", domains) == "wind"
    assert host_bucket("Wind.S3.Example.org.", domains) == "wind"
    assert host_bucket("a.b.s3.example.org", domains) == "a.b"
    for host in ("localhost:8080", "s3.example.org", "127.0.0.1:80", "[::1]:80", "wind.example.org", "", None):
        assert host_bucket(host, domains) is None, host


@pytest.mark.parametrize("signature", ["s3v4", "s3"])
def test_virtual_hosted_style(server: RunningServer, s3: Any, bucket: str, signature: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``Host: <bucket>.localhost`` names the bucket (``localhost`` is a
    storage domain by default; ``s3_storage_domain`` adds others). Such a
    request used to be read path-style: a ListObjects answered the bucket
    list (parsed by clients as an empty listing), a PutObject of a key
    created a bucket of that name."""
    import socket

    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:  # <bucket>.localhost is this machine
        return real("127.0.0.1" if str(host).endswith(".localhost") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = server.url.rsplit(":", 1)[1]
    vh = boto3.client("s3", endpoint_url=f"http://localhost:{port}", aws_access_key_id="test:tester",
                      aws_secret_access_key="testing", region_name="us-east-1",
                      config=botocore.config.Config(signature_version=signature, retries={"max_attempts": 1},
                                                    s3={"addressing_style": "virtual"}))
    key = "dir/ü n+%i//x"
    vh.put_object(Bucket=bucket, Key=key, Body=b"virtual")
    vh.put_object(Bucket=bucket, Key="newbucketname", Body=b"")  # a key, not a bucket
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"virtual"
    assert vh.get_object(Bucket=bucket, Key=key)["Body"].read() == b"virtual"
    listed = vh.list_objects(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == [key]
    assert sorted(o["Key"] for o in vh.list_objects_v2(Bucket=bucket)["Contents"]) == [key, "newbucketname"]
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket="newbucketname")
    url = vh.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
    assert url.startswith(f"http://{bucket}.localhost:{port}/")
    assert requests.get(url).content == b"virtual"
    upload = vh.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = vh.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    vh.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"part"
    vh.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}, {"Key": "mp"}, {"Key": "newbucketname"}]})
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    # the endpoint itself stays path-style
    path = boto3.client("s3", endpoint_url=f"http://localhost:{port}", aws_access_key_id="test:tester",
                        aws_secret_access_key="testing", region_name="us-east-1",
                        config=botocore.config.Config(signature_version=signature, s3={"addressing_style": "path"}))
    assert path.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_browser_form_upload_is_an_s3_error(server: RunningServer, s3: Any, bucket: str) -> None:
    """POST Object (a presigned POST: the signature is a form field, no S3
    header) is not implemented; it used to get the Swift API's plain-text
    412 "Bad URL"."""
    post = s3.generate_presigned_post(bucket, "posted")
    resp = requests.post(post["url"], data=post["fields"], files={"file": b"data"})
    assert resp.status_code == 501 and resp.headers["Content-Type"] == "application/xml"
    doc = ET.fromstring(resp.content)
    assert doc.findtext("Code") == "NotImplemented" and "PostObject" in (doc.findtext("Message") or "")
    assert resp.headers["x-amz-request-id"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    # other requests without an account stay the Swift API's
    assert requests.post(f"{server.url}/{bucket}", data=b"x").status_code == 412


def test_conditional_deletes_are_refused(s3: Any, bucket: str) -> None:
    """S3's conditional deletes (If-Match, x-amz-if-match-size/-last-modified-
    time; ETag/Size/LastModifiedTime in DeleteObjects): the store has no
    atomic conditional delete, and the condition used to be ignored, so a
    delete meant for another version of the object removed this one."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"keep me")
    for condition in ({"IfMatch": '"0123456789abcdef0123456789abcdef"'}, {"IfMatchSize": 1}):
        with pytest.raises(ClientError) as ei:
            s3.delete_object(Bucket=bucket, Key="k", **condition)
        assert _error(ei)[:2] == (501, "NotImplemented")
    got = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "ETag": '"0123456789abcdef0123456789abcdef"'}]})
    assert [e["Code"] for e in got["Errors"]] == ["NotImplemented"] and "Deleted" not in got
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"keep me"
    s3.delete_object(Bucket=bucket, Key="k")  # unconditional deletes as before
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")

"""Who may use the S3 API: signatures (V4 and V2, headers and presigned URLs),
expiry, clock skew, and the Swift rules behind them."""

from __future__ import annotations

import datetime
import http.client
import os
import subprocess
import sys
import time
import unittest.mock
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import botocore.auth
import botocore.credentials
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from ..conftest import RunningServer

CREDS = botocore.credentials.Credentials("test:tester", "testing")


def _code(resp: requests.Response) -> str:
    import xml.etree.ElementTree as ET

    return ET.fromstring(resp.content).findtext("Code") or ""


def _signed(method: str, url: str, *, creds: Any = CREDS, body: bytes = b"", headers: dict[str, str] | None = None,
            v2: bool = False, when: datetime.datetime | None = None) -> tuple[str, dict[str, str]]:
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    when = when or datetime.datetime.now(datetime.UTC)
    # botocore signs "now": pin its clock to ``when``
    with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=when), \
            unittest.mock.patch("botocore.auth.formatdate", return_value=formatdate(when.timestamp(), usegmt=True)):
        if v2:
            botocore.auth.HmacV1Auth(creds).add_auth(req)
        else:
            botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    return req.url, dict(req.headers.items())


def test_v4_and_v2_header_signatures(server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    for v2 in (False, True):
        url, headers = _signed("GET", f"{server.url}/{bucket}/k", v2=v2)
        resp = requests.get(url, headers=headers)
        assert resp.status_code == 200 and resp.content == b"data"
        assert resp.headers["x-amz-request-id"] == resp.headers["x-trans-id"]


def test_wrong_secret_and_unknown_key(server: RunningServer, bucket: str, s3_client: Any) -> None:
    with pytest.raises(ClientError) as ei:
        s3_client("test:tester", "wrong").list_objects(Bucket=bucket)
    assert ei.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as ei:
        s3_client("nobody:here", "x").list_objects(Bucket=bucket)
    assert ei.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    # A Swift account admin of another account is not let in (Swift's rules decide).
    with pytest.raises(ClientError) as ei:
        s3_client("test2:tester2", "testing2").list_objects(Bucket=bucket)
    assert ei.value.response["Error"]["Code"] in ("AccessDenied", "NoSuchBucket")


@pytest.mark.parametrize("v2", [False, True])
def test_clock_skew_is_bounded(server: RunningServer, bucket: str, v2: bool) -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    url, headers = _signed("GET", f"{server.url}/{bucket}", v2=v2, when=old)
    resp = requests.get(url, headers=headers)
    assert resp.status_code == 403 and _code(resp) == "RequestTimeTooSkewed"
    recent = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    url, headers = _signed("GET", f"{server.url}/{bucket}", v2=v2, when=recent)
    assert requests.get(url, headers=headers).status_code == 200


def test_missing_date_is_refused(server: RunningServer, bucket: str) -> None:
    url, headers = _signed("GET", f"{server.url}/{bucket}", v2=True)
    del headers["Date"]
    resp = requests.get(url, headers=headers)
    assert resp.status_code == 403 and b"valid Date" in resp.content


def test_presigned_urls_expire(server: RunningServer, s3: Any, bucket: str, s3_client: Any) -> None:
    s3.put_object(Bucket=bucket, Key="shared.h5", Body=b"share me")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.h5"}, ExpiresIn=60)
    assert requests.get(url).content == b"share me"
    # the signature covers the method: the same URL does not DELETE
    resp = requests.delete(url)
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.h5"}, ExpiresIn=1)
    time.sleep(2.1)
    resp = requests.get(expired)
    assert resp.status_code == 403 and b"Request has expired" in resp.content
    s3v4 = s3_client(signature_version="s3v4")
    too_long = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.h5"},
                                         ExpiresIn=8 * 86400)
    resp = requests.get(too_long)
    assert resp.status_code == 400 and _code(resp) == "AuthorizationQueryParametersError"


def test_presigned_v2_and_tampered_query(server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="v2", Body=b"two")
    expires = int(time.time()) + 60
    req = AWSRequest(method="GET", url=f"{server.url}/{bucket}/v2")
    botocore.auth.HmacV1QueryAuth(CREDS, expires=60).add_auth(req)
    assert requests.get(req.url).content == b"two"
    assert expires > time.time()
    tampered = req.url.replace("/v2?", "/v2?response-content-type=text%2Fhtml&")
    resp = requests.get(tampered)
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"


def test_v2_bucket_requests_signed_with_the_bucket_slash(server: RunningServer, s3_client: Any,
                                                        bucket: str) -> None:
    """botocore signs a path-style bucket request's V2 resource as "/bucket/"
    (AWS's form) while sending "/bucket"; s3cmd and older clients sign what
    they send. Both are the bucket's resource and both are accepted; a wrong
    signature is still refused in either form."""
    s3v2 = s3_client(signature_version="s3")
    s3v2.put_object(Bucket=bucket, Key="a b+", Body=b"x")
    assert [o["Key"] for o in s3v2.list_objects(Bucket=bucket, Prefix="a b")["Contents"]] == ["a b+"]
    assert s3v2.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3v2.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    s3v2.head_bucket(Bucket=bucket)
    for path in (f"/{bucket}", f"/{bucket}/"):
        url, headers = _signed("GET", f"{server.url}{path}?prefix=a", v2=True)
        assert requests.get(url, headers=headers).status_code == 200
        # presigned, with the resource as botocore signs it, sent as given
        req = AWSRequest(method="GET", url=f"{server.url}{path}")
        botocore.auth.HmacV1QueryAuth(CREDS, expires=60).add_auth(req)
        assert requests.get(req.url).status_code == 200
    with pytest.raises(ClientError) as ei:
        s3_client("test:tester", "wrong", signature_version="s3").list_objects(Bucket=bucket)
    assert ei.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_presigned_v2_with_a_session_token_and_content_type(server: RunningServer, s3: Any, bucket: str) -> None:
    """A V2 presigned URL signs the x-amz-* headers it moves into its query
    (x-amz-security-token: `aws s3 presign` with session credentials) and
    its Content-Type; those used to be left out of the string to sign, so
    every such URL was SignatureDoesNotMatch."""
    s3.put_object(Bucket=bucket, Key="v2", Body=b"two")
    token_creds = botocore.credentials.Credentials("test:tester", "testing", "session-token")
    req = AWSRequest(method="GET", url=f"{server.url}/{bucket}/v2")
    botocore.auth.HmacV1QueryAuth(token_creds, expires=60).add_auth(req)
    assert "x-amz-security-token=session-token" in req.url
    assert requests.get(req.url).content == b"two"
    req = AWSRequest(method="PUT", url=f"{server.url}/{bucket}/typed", headers={"Content-Type": "text/csv"})
    botocore.auth.HmacV1QueryAuth(CREDS, expires=60).add_auth(req)
    assert "content-type=text%2Fcsv" in req.url
    assert requests.put(req.url, data=b"a,b", headers={"Content-Type": "text/csv"}).status_code == 200
    assert s3.head_object(Bucket=bucket, Key="typed")["ContentType"] == "text/csv"
    tampered = req.url.replace("x-amz-security-token", "x-amz-other") if "x-amz-security-token" in req.url else \
        req.url + "&x-amz-meta-added=1"
    resp = requests.put(tampered, data=b"a,b", headers={"Content-Type": "text/csv"})
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"


def test_headers_that_change_a_request_must_be_signed(server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"secret")
    url, headers = _signed("PUT", f"{server.url}/{bucket}/dst")
    headers["x-amz-copy-source"] = f"/{bucket}/src"  # added after signing
    resp = requests.put(url, headers=headers)
    assert resp.status_code == 403 and _code(resp) == "AccessDenied"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dst")


def test_non_admin_user_sees_only_what_acls_grant(server: RunningServer, s3: Any, bucket: str,
                                                   s3_client: Any) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    reader = s3_client("test:tester3", "testing3")
    with pytest.raises(ClientError) as ei:
        reader.get_object(Bucket=bucket, Key="k")
    assert ei.value.response["Error"]["Code"] == "AccessDenied"
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    with pytest.raises(ClientError) as ei:
        reader.put_object(Bucket=bucket, Key="k", Body=b"y")
    assert ei.value.response["Error"]["Code"] == "AccessDenied"


def test_swift_requests_are_untouched(server: RunningServer) -> None:
    """Only S3-authenticated requests are S3's: a Swift request keeps Swift's answers."""
    host = urlsplit(server.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.request("GET", "/v1/AUTH_test")
    resp = conn.getresponse()
    assert resp.status == 401 and resp.getheader("Www-Authenticate", "").startswith("Swift")
    conn.close()


def test_no_anonymous_access_without_an_acl(server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="private", Body=b"secret")
    for url in (f"{server.url}/{bucket}/private", f"{server.url}/{bucket}",
                f"{server.url}/v1/AUTH_test/{bucket}/private"):
        resp = requests.get(url)
        assert resp.status_code >= 400 and b"secret" not in resp.content


# ------------------------------------------------- the signing-key cache
def _v4_head(secret: str, when: datetime.datetime, region: str = "us-east-1") -> Any:
    """The S3 view of a GET signed by botocore with ``secret`` at ``when`` for ``region``."""
    from sciswift.server.s3.request import parse_head
    from sciswift.server.wire.parser import Limits, RequestParser

    req = AWSRequest(method="GET", url="http://127.0.0.1:8080/bucket/key", data=b"")
    with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=when):
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials("test:tester", secret), "s3",
                                  region).add_auth(req)
    lines = ["GET /bucket/key HTTP/1.1", "Host: 127.0.0.1:8080", *(f"{k}: {v}" for k, v in req.headers.items())]
    parser = RequestParser(Limits())
    parser.feed(("\r\n".join(lines) + "\r\n\r\n").encode())
    return parse_head(parser.next_event())  # type: ignore[arg-type]


def _check(head: Any, key: str, when: datetime.datetime, region: str = "us-east-1") -> str:
    """``OK`` or the S3 error code ``authenticate`` answers for ``head`` when
    test:tester's key is ``key``."""
    from sciswift.server.config import User
    from sciswift.server.s3.auth import authenticate
    from sciswift.server.s3.errors import S3Error

    users = {"test:tester": User("test", "tester", key)}
    try:
        authenticate(head, users, region=region, skew=900, now=when.timestamp())
    except S3Error as exc:
        return exc.code
    return "OK"


def test_signing_key_cache_keeps_secrets_dates_and_regions_apart() -> None:
    """The derived V4 key is cached per (secret, date, region): a cached key
    must never vouch for another secret, a changed key, another day or region."""
    day1 = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.UTC)
    day2 = day1 + datetime.timedelta(days=1)
    good = _v4_head("testing", day1)
    assert _check(good, "testing", day1) == "OK"  # the key for (testing, day1, us-east-1) is now cached
    # a wrong secret on the same day and region: refused
    assert _check(_v4_head("wrong", day1), "testing", day1) == "SignatureDoesNotMatch"
    # the user's key changed: what the old key signed is refused, the new key works
    assert _check(good, "rotated", day1) == "SignatureDoesNotMatch"
    assert _check(_v4_head("rotated", day1), "rotated", day1) == "OK"
    # another day and another region each verify with their own key (a reused
    # day1/us-east-1 key would not match)...
    assert _check(_v4_head("testing", day2), "testing", day2) == "OK"
    assert _check(_v4_head("testing", day1, "eu-west-1"), "testing", day1, "eu-west-1") == "OK"
    # ...and a wrong secret is refused there too
    assert _check(_v4_head("wrong", day2), "testing", day2) == "SignatureDoesNotMatch"
    assert _check(_v4_head("wrong", day1, "eu-west-1"), "testing", day1, "eu-west-1") == "SignatureDoesNotMatch"
    # a scope naming another region than ours verifies with that region's key
    # (the scope is signed): the right secret passes, a wrong one does not
    assert _check(_v4_head("testing", day1, "eu-west-1"), "testing", day1) == "OK"
    assert _check(_v4_head("wrong", day1, "ap-south-1"), "testing", day1) == "SignatureDoesNotMatch"
    # but not an empty one, nor one longer than any region's name
    assert _check(_v4_head("testing", day1, ""), "testing", day1) == "AuthorizationHeaderMalformed"
    assert _check(_v4_head("testing", day1, "r" * 65), "testing", day1) == "AuthorizationHeaderMalformed"


# ------------------------------------------- clients configured for another region
def test_clients_configured_for_another_region(server: RunningServer, s3: Any, bucket: str) -> None:
    """One endpoint, one location, and clients set up for any region work:
    the aws CLI (ListBuckets has no region redirect to fall back on), boto3
    (CreateBucket naming its region, a presigned URL) and s3fs; each request
    is still verified with the region its scope names, so a wrong secret fails."""
    import s3fs

    s3.put_object(Bucket=bucket, Key="dir/k", Body=b"data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test:tester", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1",
               AWS_ENDPOINT_URL=server.url)
    aws = [os.path.join(os.path.dirname(sys.executable), "aws")]
    out = subprocess.run([*aws, "s3", "ls"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and bucket in out.stdout, out.stderr
    made = f"{bucket}-eu"  # ``s3 mb`` sends LocationConstraint=eu-west-1
    out = subprocess.run([*aws, "s3", "mb", f"s3://{made}"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    s3.delete_bucket(Bucket=made)
    out = subprocess.run([*aws, "s3", "cp", f"s3://{bucket}/dir/k", "-"], env=env, capture_output=True, timeout=60)
    assert out.returncode == 0 and out.stdout == b"data", out.stderr

    central = boto3_client(server, "eu-central-1")
    assert bucket in [b["Name"] for b in central.list_buckets()["Buckets"]]
    central.create_bucket(Bucket=made, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert s3.get_bucket_location(Bucket=made)["LocationConstraint"] is None  # it is in our one location
    s3.delete_bucket(Bucket=made)
    url = central.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/k"})
    assert "eu-central-1" in url and requests.get(url).content == b"data"
    with pytest.raises(ClientError) as ei:
        boto3_client(server, "eu-central-1", secret="wrong").list_buckets()
    assert ei.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

    fs = s3fs.S3FileSystem(key="test:tester", secret="testing", endpoint_url=server.url,
                           client_kwargs={"region_name": "ap-southeast-2"})
    assert fs.ls(f"{bucket}/dir", detail=False) == [f"{bucket}/dir/k"]
    fs.pipe(f"{bucket}/dir/new", b"from s3fs")
    assert s3.get_object(Bucket=bucket, Key="dir/new")["Body"].read() == b"from s3fs"
    s3.delete_object(Bucket=bucket, Key="dir/new")


def boto3_client(server: RunningServer, region: str, secret: str = "testing") -> Any:
    import boto3
    import botocore.config

    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id="test:tester", aws_secret_access_key=secret,
                        region_name=region, config=botocore.config.Config(retries={"max_attempts": 1}))

"""Names XML 1.0 cannot carry as they are: keys holding control characters
in listings (without ``encoding-type``), in replies that echo a key, and in
request bodies (DeleteObjects), with raw requests and the clients people use."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import unquote

import botocore.auth
import botocore.credentials
import pytest
import requests
from botocore.awsrequest import AWSRequest

from sciswift.server.s3.xml import parse

from ..conftest import RunningServer

#: \x01 and \x1f: not in XML 1.0 at all; \t and \n: as they are; \r: only as a reference.
KEYS = ["a\x01b", "u\x1fx", "t\tab", "n\nl", "c\rr", "c\nr", "plain"]


def _get(url: str) -> bytes:
    """A GET signed (V4) by botocore, sent by requests: no client-side XML."""
    req = AWSRequest(method="GET", url=url)
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials("test:tester", "testing"), "s3",
                              "us-east-1").add_auth(req)
    resp = requests.get(req.url, headers=dict(req.headers.items()))
    assert resp.status_code == 200, resp.content
    return resp.content


def _keys(body: bytes) -> list[str]:
    """The keys of a listing document (decoded when it says it is
    URL-encoded); ``ET.fromstring`` fails on a document that is not XML 1.0."""
    doc = ET.fromstring(body)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    keys = [k.text or "" for k in doc.iter(ns + "Key")]
    return [unquote(k) for k in keys] if doc.findtext(ns + "EncodingType") == "url" else keys


def test_listings_without_encoding_type_are_xml_and_name_every_key(server: RunningServer, s3: Any,
                                                                   bucket: str) -> None:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # botocore asks for encoding-type=url and decodes
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == sorted(KEYS)
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == sorted(KEYS)
    # without it, the document is still XML 1.0 (URL-encoded, and saying so)
    # and names each key exactly
    for query in ("?list-type=2", "", "?versions"):
        assert _keys(_get(f"{server.url}/{bucket}{query}")) == sorted(KEYS)
    # a page without such a key is not encoded; \t, \n and \r come through
    # as they are (\r as &#13;, which a parser does not turn into \n)
    body = _get(f"{server.url}/{bucket}?list-type=2&prefix=c")
    assert b"&#13;" in body and b"EncodingType" not in body
    assert _keys(body) == ["c\nr", "c\rr"]
    # an upload of such a key: the replies that echo it stay XML (the UploadId is readable)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m\x01p")
    listed = _get(f"{server.url}/{bucket}?uploads")
    assert _keys(listed) == ["m\x01p"]
    s3.abort_multipart_upload(Bucket=bucket, Key="m\x01p", UploadId=upload["UploadId"])


def test_delete_objects_deletes_the_key_named(s3: Any, bucket: str) -> None:
    """botocore writes control characters raw in DeleteObjects' body: a raw
    \\r must not be read as \\n (another object), nor \\x01 refused."""
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    gone = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c\rr"}, {"Key": "a\x01b"}]})
    assert len(gone["Deleted"]) == 2 and "Errors" not in gone
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert left == sorted(set(KEYS) - {"c\rr", "a\x01b"})


def test_request_bodies_with_control_characters() -> None:
    """Raw or as references (what S3's documentation asks for), each control
    character is read as itself; other references as XML reads them."""
    body = (b"<Delete><Object><Key>r\x01\r&#x1F;&#13;&#9;&#x41;&#0065;</Key></Object>"
            b"<Object><Key>\xee\x80\x81</Key></Object></Delete>")
    doc = parse(body.replace(b"\xee\x80\x81", b"ok"), "Delete")
    assert [o.findtext("Key") for o in doc.findall("Object")] == ["r\x01\r\x1f\r\tAA", "ok"]
    # a body already holding the private-use stand-ins is read as XML reads it
    assert parse(b"<Delete><Object><Key>\xee\x80\x81\r</Key></Object></Delete>", "Delete").findtext(
        "Object/Key") == "\ue001\r"


def test_clients_list_and_remove_such_keys(server: RunningServer, s3: Any, bucket: str) -> None:
    import s3fs

    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=f"d/{key}", Body=b"x")
    fs = s3fs.S3FileSystem(key="test:tester", secret="testing", endpoint_url=server.url,
                           client_kwargs={"region_name": "us-east-1"})
    assert sorted(fs.find(f"{bucket}/d")) == sorted(f"{bucket}/d/{k}" for k in KEYS)
    rclone = shutil.which("rclone")
    assert rclone, "rclone is not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(RCLONE_CONFIG_SCI_TYPE="s3", RCLONE_CONFIG_SCI_PROVIDER="Other", RCLONE_CONFIG_SCI_REGION="us-east-1",
               RCLONE_CONFIG_SCI_ACCESS_KEY_ID="test:tester", RCLONE_CONFIG_SCI_SECRET_ACCESS_KEY="testing",
               RCLONE_CONFIG_SCI_ENDPOINT=server.url)
    out = subprocess.run([rclone, "--config", "/dev/null", "lsf", f"sci:{bucket}/d"], env=env, capture_output=True,
                         timeout=60)
    assert out.returncode == 0 and len(out.stdout.splitlines()) == len(KEYS), out.stderr
    env.update(AWS_ACCESS_KEY_ID="test:tester", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=server.url)
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    out = subprocess.run([aws, "s3", "rm", "--recursive", f"s3://{bucket}/d/"], env=env, capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_error_documents_naming_such_a_key_are_xml(s3: Any, bucket: str) -> None:
    """An error naming a key with a control character is still a document
    botocore reads (its code, and \\r kept; \\x01 shows as U+FFFD)."""
    from botocore.exceptions import ClientError

    for key, shown in (("miss\x01ing", "miss\ufffding"), ("miss\ring", "miss\ring")):
        with pytest.raises(ClientError) as ei:
            s3.get_object(Bucket=bucket, Key=key)
        assert ei.value.response["Error"]["Code"] == "NoSuchKey" and ei.value.response["Error"]["Key"] == shown

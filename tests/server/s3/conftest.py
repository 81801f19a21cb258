"""Fixtures for the S3 API tests: boto3 clients on the session's ``sciswift
serve`` (memory backend, the TempAuth users of tests/server/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.config
import pytest

from ..conftest import RunningServer


def make_client(server: RunningServer, access: str = "test:tester", secret: str = "testing", **config: Any) -> Any:
    return boto3.client(
        "s3", endpoint_url=server.url, aws_access_key_id=access, aws_secret_access_key=secret,
        region_name="us-east-1",
        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


@pytest.fixture
def s3(server: RunningServer) -> Any:
    return make_client(server)


@pytest.fixture
def s3_client(server: RunningServer) -> Callable[..., Any]:
    return lambda *a, **kw: make_client(server, *a, **kw)


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    """A fresh bucket of test:tester (emptied and removed after)."""
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=o["Key"])
    for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=name)

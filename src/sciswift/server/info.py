"""``GET /info``: what this server supports, in Swift's format.

Clients (and Swift's functional tests) skip features that are not listed here,
so the document lists exactly the features implemented, each with the limits
the server enforces: core constraints (``sciswift.store.names``), TempAuth with
account ACLs, SLO, DLO, bulk delete and upload, account and container quotas, ETag
quoting, opening expired objects (``X-Open-Expired``), the storage policies
configured (names only: all containers live on the same store), and the
middlewares that run (``server.middleware``).
"""

from __future__ import annotations

import json
from typing import Any

from sciswift import __version__
from sciswift.server.bulk import MAX_DELETES, MAX_FAILED_DELETES
from sciswift.server.config import SegmentLimits, ServerConfig
from sciswift.server.cors import STRICT_CORS_MODE
from sciswift.server.etag_quoter import ENABLE_BY_DEFAULT as ETAG_QUOTING_BY_DEFAULT
from sciswift.server.extract import MAX_CONTAINERS, MAX_FAILED
from sciswift.server.get_many import info as get_many_info
from sciswift.server.metadata import MAX_HEADER_SIZE
from sciswift.server.objects import ALLOW_OPEN_EXPIRED
from sciswift.server.policies import info as policies_info
from sciswift.server.s3.config import S3Config
from sciswift.server.slo import MAX_MANIFEST_SEGMENTS, MAX_MANIFEST_SIZE, YIELD_FREQUENCY
from sciswift.store.names import (
    ACCOUNT_LISTING_LIMIT,
    CONTAINER_LISTING_LIMIT,
    MAX_CONTAINER_NAME_LENGTH,
    MAX_FILE_SIZE,
    MAX_META_COUNT,
    MAX_META_NAME_LENGTH,
    MAX_META_OVERALL_SIZE,
    MAX_META_VALUE_LENGTH,
    MAX_OBJECT_NAME_LENGTH,
)

__all__ = ["info_document", "info_body", "MAX_ACCOUNT_NAME_LENGTH"]

MAX_ACCOUNT_NAME_LENGTH = 256


def _limits(limits: SegmentLimits) -> dict[str, Any]:
    return {
        "rate_limit_under_size": limits.rate_limit_under_size,
        "rate_limit_after_segment": limits.rate_limit_after_segment,
        "rate_limit_segments_per_sec": limits.rate_limit_segments_per_sec,
        "max_get_time": limits.max_get_time,
    }


def info_document(config: ServerConfig | None = None) -> dict[str, Any]:
    """The ``/info`` document of a server running ``config`` (its policies,
    the entries of the middlewares that run)."""
    config = config or ServerConfig()
    doc = {
        "swift": {
            "version": f"sciswift-{__version__}",
            "strict_cors_mode": STRICT_CORS_MODE,
            "policies": policies_info(config.policies),
            "allow_account_management": False,
            "account_autocreate": True,
            "allow_open_expired": ALLOW_OPEN_EXPIRED,
            "max_file_size": MAX_FILE_SIZE,
            "max_meta_name_length": MAX_META_NAME_LENGTH,
            "max_meta_value_length": MAX_META_VALUE_LENGTH,
            "max_meta_count": MAX_META_COUNT,
            "max_meta_overall_size": MAX_META_OVERALL_SIZE,
            "max_header_size": MAX_HEADER_SIZE,
            "max_request_line": MAX_HEADER_SIZE,
            "max_object_name_length": MAX_OBJECT_NAME_LENGTH,
            "container_listing_limit": CONTAINER_LISTING_LIMIT,
            "account_listing_limit": ACCOUNT_LISTING_LIMIT,
            "max_account_name_length": MAX_ACCOUNT_NAME_LENGTH,
            "max_container_name_length": MAX_CONTAINER_NAME_LENGTH,
            "extra_header_count": 0,
        },
        "tempauth": {"account_acls": True},
        "slo": {
            "max_manifest_segments": MAX_MANIFEST_SEGMENTS,
            "max_manifest_size": MAX_MANIFEST_SIZE,
            "yield_frequency": YIELD_FREQUENCY,
            "min_segment_size": 1,
            "max_nesting_depth": config.slo.max_nesting_depth,
            **_limits(config.slo),
        },
        "dlo": _limits(config.dlo),
        "bulk_delete": {"max_deletes_per_request": MAX_DELETES, "max_failed_deletes": MAX_FAILED_DELETES},
        "bulk_upload": {"max_containers_per_extraction": MAX_CONTAINERS, "max_failed_extractions": MAX_FAILED},
        "account_quotas": {},
        "etag_quoter": {"enable_by_default": ETAG_QUOTING_BY_DEFAULT},
        "container_quotas": {},
        "s3api": S3Config().info(),
        # Not Swift: PUT honours one ETag in If-Match atomically (handlers.obj.put_mode);
        # archives' files are stored together and may carry a CRC-32C (server.extract).
        "sciswift": {"conditional_put": True, "batched_extract": True, "extract_crc32c": True,
                     "listing_metadata": True,
                     "batched_get": get_many_info()},
    }
    doc.update(config.middleware.info())
    return doc


def info_body(config: ServerConfig | None = None) -> bytes:
    return json.dumps(info_document(config)).encode("utf-8")

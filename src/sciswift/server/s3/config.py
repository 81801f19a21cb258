"""The S3 API's settings (Swift s3api's names and defaults where it has them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["S3Config"]


@dataclass(frozen=True)
class S3Config:
    """``region``: the one location this endpoint serves, which
    GetBucketLocation reports (a request may be signed for any region, and
    CreateBucket's ``LocationConstraint`` may name ours or that one). ``skew``: seconds a signed request's
    time may differ from ours (AWS: 15 minutes). ``dns_compliant_bucket_names``:
    refuse bucket names S3 refuses (capitals, ``_``, over 63 characters); off by
    default so that containers made through the Swift API stay reachable.
    ``storage_domains``: a request whose Host is ``<bucket>.<one of them>`` is
    virtual-hosted style (lower-case, without port)."""

    region: str = "us-east-1"
    skew: float = 900.0
    max_bucket_listing: int = 1000
    max_parts_listing: int = 1000
    max_upload_part_num: int = 10000
    max_multi_delete_objects: int = 1000
    min_segment_size: int = 5 * 1024 * 1024
    dns_compliant_bucket_names: bool = False
    storage_domains: tuple[str, ...] = ("localhost",)

    def info(self) -> dict[str, Any]:
        """What ``/info`` announces under ``s3api`` (as Swift's s3api does)."""
        return {
            "max_bucket_listing": self.max_bucket_listing,
            "max_parts_listing": self.max_parts_listing,
            "max_upload_part_num": self.max_upload_part_num,
            "max_multi_delete_objects": self.max_multi_delete_objects,
            "allow_multipart_uploads": True,
            "min_segment_size": self.min_segment_size,
            "s3_acl": False,
        }

"""How S3Store finds its endpoint and keys: arguments, then the environment the
AWS tools read, so a shell set up for ``aws s3 ls`` works unchanged:

- ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``);
- ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` (default ``us-east-1``);
- ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``: another S3 endpoint
  (``sciswift serve``, a Swift cluster's s3api, Ceph RGW, MinIO); without it,
  AWS's own ``https://s3.<region>.amazonaws.com``.

For ``sciswift serve`` (and Swift's s3api with TempAuth) the access key is
``account:user`` and the secret is the user's key: ``AWS_ACCESS_KEY_ID=test:tester
AWS_SECRET_ACCESS_KEY=testing AWS_ENDPOINT_URL=http://127.0.0.1:12345``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sciswift.errors import InvalidInput

__all__ = ["S3Credentials"]


@dataclass(frozen=True)
class S3Credentials:
    """An endpoint and the keys for it. The secrets stay out of ``repr``."""

    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    endpoint_url: str | None = None
    session_token: str | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """The endpoint's base URL (no trailing slash)."""
        if self.endpoint_url:
            return self.endpoint_url.rstrip("/")
        return f"https://s3.{self.region}.amazonaws.com"

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **given: str | None) -> S3Credentials:
        """Credentials from ``given`` (``access_key``, ``secret_key``, ``region``,
        ``endpoint_url``, ``session_token``), filled in from ``env`` (default
        ``os.environ``). InvalidInput names what is missing."""
        env = os.environ if env is None else env
        access = given.get("access_key") or env.get("AWS_ACCESS_KEY_ID")
        secret = given.get("secret_key") or env.get("AWS_SECRET_ACCESS_KEY")
        if not access or not secret:
            raise InvalidInput(
                "S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for sciswift serve: "
                "the TempAuth user account:user and its key), or pass access_key and secret_key",
                "s3://",
            )
        region = given.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = given.get("endpoint_url") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise InvalidInput(f"S3 endpoint {endpoint!r} must be an http:// or https:// URL", endpoint)
        token = given.get("session_token") or env.get("AWS_SESSION_TOKEN")
        return cls(access, secret, region, endpoint or None, token or None)

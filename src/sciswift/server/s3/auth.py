"""Who sent an S3 request: AWS Signature Version 4 and Version 2, in headers
or in the query string (presigned URLs), checked against TempAuth's users.

As Swift's s3api with TempAuth: the access key is ``account:user`` and the
secret is that user's key. Checks, in order, each failing with S3's code:

- the request's time (``X-Amz-Date`` or ``Date``) is within ``skew`` seconds
  of ours (``RequestTimeTooSkewed``), or, for a presigned URL, the URL has
  not expired (``AccessDenied``: ``Request has expired``) and its lifetime is
  within S3's limits (V4: at most 604800 s; V2: an epoch second before 2**31);
- the credential scope names a region and ``s3`` (V4). Any region is
  taken, and the signature is verified with the region the client put in its
  scope (the scope is part of what is signed, so this trusts nothing the
  signature does not cover). One endpoint serves one location, but a client
  configured for another region (``AWS_DEFAULT_REGION=eu-west-1``) must still
  work: Swift's s3api refuses it with ``AuthorizationHeaderMalformed`` and a
  ``<Region>``, from which botocore retries a *bucket* request in the right
  region, but ListBuckets and presigned URLs have no such retry, so the aws
  CLI's ``s3 ls`` would fail there);
- every ``x-amz-*`` header that changes what a request does (copy source,
  ACL, grants) is signed (V4);
- the access key is a known user (``InvalidAccessKeyId``) and the signature,
  recomputed over the canonical request, matches (``SignatureDoesNotMatch``),
  compared in constant time.

The payload's own hash (``x-amz-content-sha256``) and chunk signatures are
checked as the body is read (:mod:`sciswift.server.s3.payload`), with the
:class:`ChunkSigner` this module hands over.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_tz
from urllib.parse import quote

from sciswift.server.config import User
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.request import S3Head

__all__ = ["Authenticated", "ChunkSigner", "authenticate", "SIGNED_SUBRESOURCES", "EMPTY_SHA256"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
V4_ALGORITHM = "AWS4-HMAC-SHA256"
MAX_PRESIGN_SECONDS = 604800
#: The longest region a credential scope may name (AWS's are under 20 characters).
MAX_REGION = 64
#: x-amz-* headers that change what a request does: they must be signed (V4).
MUST_BE_SIGNED = ("x-amz-copy", "x-amz-acl", "x-amz-grant")
#: Query parameters that are part of a V2 signature's resource.
SIGNED_SUBRESOURCES = frozenset({
    "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "object-lock",
    "partNumber", "policy", "publicAccessBlock", "requestPayment", "restore", "tagging", "torrent",
    "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires",
})


@dataclass(frozen=True)
class ChunkSigner:
    """Signs the chunks of a ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` body: each
    chunk's signature chains from the previous one, starting at the request's."""

    key: bytes
    amz_date: str
    scope: str
    seed: str

    def chunk(self, previous: str, data_sha256: str) -> str:
        msg = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, previous, EMPTY_SHA256,
                         data_sha256))
        return hmac.new(self.key, msg.encode("ascii"), hashlib.sha256).hexdigest()

    def trailer(self, previous: str, trailer: bytes) -> str:
        msg = "\n".join(("AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope, previous,
                         hashlib.sha256(trailer).hexdigest()))
        return hmac.new(self.key, msg.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Authenticated:
    """A request whose signature checked out: its ``user`` and how it signed.
    ``payload_hash`` is the ``x-amz-content-sha256`` a V4 header signature
    covers (None otherwise: nothing to check the body against). ``region``
    is the region a V4 request was signed for (None for V2)."""

    user: User
    access_key: str
    version: int
    payload_hash: str | None = None
    signer: ChunkSigner | None = None
    region: str | None = None


# ------------------------------------------------------------------ times
def _parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    try:
        return float(calendar.timegm(parsed[:9])) - (parsed[9] or 0)
    except (OverflowError, ValueError):
        return None


def _parse_amz_date(value: str | None) -> float | None:
    """``20261206T101112Z`` as epoch seconds (sliced by hand: strptime costs
    ~60 µs a call, a tenth of a small request's server time)."""
    if not value or len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    try:
        parts = (int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]),
                 int(value[13:15]))
    except ValueError:
        return None
    if not (1 <= parts[1] <= 12 and 1 <= parts[2] <= 31 and parts[3] < 24 and parts[4] < 60 and parts[5] < 61):
        return None
    return float(calendar.timegm((*parts, 0, 0, 0)))


def _no_date() -> S3Error:
    return S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")


# ------------------------------------------------------------- signing keys
_KEYS: dict[tuple[str, str, str], bytes] = {}


def _signing_key(secret: str, date: str, region: str) -> bytes:
    """AWS4 key derivation, cached per (secret, date, region) as AWS SDKs do:
    a hit costs 0.13 µs, deriving 7.0 µs (four HMACs; timeit, min of 7x50000).
    The secret is part of the cache key, so a changed or wrong key never
    meets a key derived from another (tests/server/s3/test_auth.py)."""
    cache_key = (secret, date, region)
    key = _KEYS.get(cache_key)
    if key is None:
        key = ("AWS4" + secret).encode("utf-8")
        for piece in (date, region, "s3", "aws4_request"):
            key = hmac.new(key, piece.encode("utf-8"), hashlib.sha256).digest()
        if len(_KEYS) > 1024:
            _KEYS.clear()
        _KEYS[cache_key] = key
    return key


# ------------------------------------------------------------------- V4
def _v4_canonical_headers(head: S3Head, signed: list[str]) -> str:
    values: dict[str, list[str]] = {}
    for name, value in head.raw_headers:
        values.setdefault(name.lower().strip(), []).append(" ".join(value.strip().split()))
    lines = []
    for name in signed:
        if name not in values:
            # a header the client says it signed is not there: it cannot match
            raise S3Error("SignatureDoesNotMatch")
        lines.append(f"{name}:{','.join(values[name])}\n")
    return "".join(lines)


def _v4_canonical_query(head: S3Head) -> str:
    pairs = sorted((k, v) for k, v in head.query if k != "X-Amz-Signature")
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def _v4_canonical_request(head: S3Head, signed: list[str], payload_hash: str) -> str:
    return "\n".join((
        head.method,
        quote(head.sent_path, safe="-_.~/"),
        _v4_canonical_query(head),
        _v4_canonical_headers(head, signed),
        ";".join(signed),
        payload_hash,
    ))


def _v4_credential(value: str, region: str, date: str, where: str) -> tuple[str, str]:
    """``(access key, scope)`` of a credential string, checked against the
    request's date and S3's service. Its region may be any (see the module's
    docstring): only an empty one, or one longer than any region name
    (``MAX_REGION``: each distinct one derives a signing key, which is
    cached), is refused, naming ``region`` (ours) as the one to use."""
    parts = value.split("/")
    if len(parts) != 5 or not parts[0]:
        raise S3Error("AccessDenied")
    access, cdate, cregion, service, terminal = parts
    error = "AuthorizationQueryParametersError" if where == "query" else "AuthorizationHeaderMalformed"
    prefix = "Error parsing the X-Amz-Credential parameter;" if where == "query" else \
        "The authorization header is malformed;"
    if cdate != date:
        raise S3Error(error, f'Invalid credential date "{cdate}". This date is not the same as X-Amz-Date: "{date}".')
    if not cregion.strip() or len(cregion) > MAX_REGION:
        raise S3Error(error, f"{prefix} the region '{cregion}' is wrong; expecting '{region}'", Region=region)
    if service != "s3":
        raise S3Error(error, f'{prefix} incorrect service "{service}". This endpoint belongs to "s3".')
    if terminal != "aws4_request":
        raise S3Error(error, f'{prefix} incorrect terminal "{terminal}". This endpoint uses "aws4_request".')
    return access, "/".join((cdate, cregion, service, terminal))


def _v4(head: S3Head, users: Mapping[str, User], region: str, now: float, skew: float) -> Authenticated:
    query = head.params
    if "X-Amz-Credential" in query:
        if query.get("X-Amz-Algorithm") != V4_ALGORITHM:
            raise S3Error("InvalidArgument", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
                          ArgumentName="X-Amz-Algorithm", ArgumentValue=query.get("X-Amz-Algorithm", ""))
        amz_date = query.get("X-Amz-Date", "")
        signed_at = _parse_amz_date(amz_date)
        if signed_at is None:
            raise _no_date()
        raw_expires = query.get("X-Amz-Expires")
        if raw_expires is None:
            raise S3Error("AccessDenied")
        try:
            expires = int(raw_expires)
        except ValueError:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number") from None
        if expires < 0:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
        if expires >= 2 ** 63:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
        if expires > MAX_PRESIGN_SECONDS:
            raise S3Error(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
                f"must be less than {MAX_PRESIGN_SECONDS} seconds",
            )
        if signed_at + expires < now:
            raise S3Error("AccessDenied", "Request has expired")
        if signed_at - now > skew:
            raise S3Error("RequestTimeTooSkewed")
        signature = query.get("X-Amz-Signature", "")
        signed_list = query.get("X-Amz-SignedHeaders", "")
        if not signature:
            raise S3Error("AccessDenied")
        if not signed_list:
            raise S3Error("AuthorizationHeaderMalformed")
        access, scope = _v4_credential(query.get("X-Amz-Credential", ""), region, amz_date[:8], "query")
        payload_hash = "UNSIGNED-PAYLOAD"
        check_payload: str | None = None
    else:
        auth = head.headers.get("Authorization", "")
        amz_date = head.headers.get("X-Amz-Date", "")
        signed_at = _parse_amz_date(amz_date) if amz_date else _parse_http_date(head.headers.get("Date"))
        if signed_at is None or signed_at < 0:
            raise _no_date()
        if abs(signed_at - now) > skew:
            raise S3Error("RequestTimeTooSkewed")
        if not amz_date:
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at))
        fields = {}
        for part in auth[len(V4_ALGORITHM):].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        signature, signed_list = fields.get("Signature", ""), fields.get("SignedHeaders", "")
        if not signature:
            raise S3Error("AccessDenied")
        if not signed_list or "Credential" not in fields:
            raise S3Error("AuthorizationHeaderMalformed")
        access, scope = _v4_credential(fields["Credential"], region, amz_date[:8], "header")
        payload_hash = head.headers.get("X-Amz-Content-SHA256") or "UNSIGNED-PAYLOAD"
        check_payload = payload_hash
    signed = signed_list.split(";")
    if "host" not in signed:
        raise S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed; "
                      "the host header must be signed")
    for name, _ in head.raw_headers:
        lname = name.lower()
        if lname.startswith(MUST_BE_SIGNED) and lname not in signed:
            raise S3Error("AccessDenied", "There were headers present in the request which were not signed",
                          HeadersNotSigned=lname)
    user = users.get(access)
    if user is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access)
    canonical = _v4_canonical_request(head, sorted(signed), payload_hash)
    to_sign = "\n".join((V4_ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8",
                         "surrogateescape")).hexdigest()))
    key = _signing_key(user.key, amz_date[:8], scope.split("/")[1])
    expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape")):
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=access, StringToSign=to_sign,
                      CanonicalRequest=canonical)
    signer = ChunkSigner(key, amz_date, scope, signature)
    return Authenticated(user, access, 4, check_payload, signer, scope.split("/")[1])


# ------------------------------------------------------------------- V2
def _v2_string_to_sign(head: S3Head, date_field: str, resource: str | None = None) -> str:
    """V2's string to sign; ``resource`` is the path it names (the raw path
    unless given).

    A presigned URL (query authentication) carries what a header request
    sends as headers in its query instead, and signs it the same way: its
    ``x-amz-*`` parameters are amz headers (``x-amz-security-token``: any
    client whose credentials have a session token), and ``content-type`` /
    ``content-md5`` parameters stand for those headers when they are not
    sent. Header requests sign only their headers."""
    query_auth = "AWSAccessKeyId" in head.params
    amz: dict[str, list[str]] = {}
    for name, value in head.raw_headers:
        lname = name.lower().strip()
        if lname.startswith("x-amz-"):
            amz.setdefault(lname, []).append(value.strip())
    if query_auth:
        for name, value in head.query:
            lname = name.lower()
            if lname.startswith("x-amz-"):
                amz.setdefault(lname, []).append(value.strip())

    def standing(header: str) -> str:
        value = head.headers.get(header)
        if value is None and query_auth:
            value = next((v for k, v in head.query if k.lower() == header.lower()), None)
        return (value or "").strip()

    lines = [head.method, standing("Content-MD5"), standing("Content-Type"), date_field]
    lines += [f"{k}:{','.join(v)}" for k, v in sorted(amz.items())]
    sub = sorted((k, v) for k, v in head.query if k in SIGNED_SUBRESOURCES)
    resource = head.raw_path if resource is None else resource
    if sub:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in sub)
    lines.append(resource)
    return "\n".join(lines)


def _v2(head: S3Head, users: Mapping[str, User], now: float, skew: float) -> Authenticated:
    query = head.params
    if "AWSAccessKeyId" in query:
        access, signature, raw_expires = (query.get(k, "") for k in ("AWSAccessKeyId", "Signature", "Expires"))
        if not (access and signature and raw_expires):
            raise S3Error("AccessDenied")
        try:
            expires = float(raw_expires)
        except ValueError:
            raise S3Error("AccessDenied") from None
        if now > expires:
            raise S3Error("AccessDenied", "Request has expired")
        if expires >= 2 ** 31:
            raise S3Error("AccessDenied", f"Invalid date (should be seconds since epoch): {raw_expires}")
        date_field = raw_expires
    else:
        auth = head.headers.get("Authorization", "")
        access, sep, signature = auth[4:].rpartition(":")
        if not auth.startswith("AWS ") or not sep:
            raise S3Error("AccessDenied")
        amz_date = head.headers.get("X-Amz-Date")
        date = head.headers.get("Date")
        if not amz_date and not date:
            raise _no_date()
        signed_at = _parse_http_date(amz_date) if amz_date else _parse_http_date(date)
        if signed_at is None and amz_date:
            signed_at = _parse_amz_date(amz_date)
        if signed_at is None or signed_at < 0:
            raise _no_date()
        if abs(signed_at - now) > skew:
            raise S3Error("RequestTimeTooSkewed")
        date_field = "" if amz_date else (date or "")
    user = users.get(access)
    if user is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access)
    given = signature.encode("utf-8", "surrogateescape")
    to_sign = _v2_string_to_sign(head, date_field)
    if _v2_matches(user.key, to_sign, given):
        return Authenticated(user, access, 2)
    if head.key is None and head.bucket is not None and not head.raw_path.endswith("/"):
        # A bucket's resource is "/bucket/" in AWS's definition (virtual-host
        # style: "/" + bucket + the path "/"), and botocore signs path-style
        # bucket requests so ("/bucket/") while sending "/bucket"; S3 takes
        # both, and both name the same bucket.
        if _v2_matches(user.key, _v2_string_to_sign(head, date_field, head.raw_path + "/"), given):
            return Authenticated(user, access, 2)
    raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=access, StringToSign=to_sign)


def _v2_matches(secret: str, to_sign: str, signature: bytes) -> bool:
    """Whether ``signature`` is the V2 signature of ``to_sign``, compared in
    constant time."""
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8", "surrogateescape"),
                                         hashlib.sha1).digest())
    return hmac.compare_digest(expected, signature)


def authenticate(
    head: S3Head, users: Mapping[str, User], *, region: str, skew: float, now: float | None = None
) -> Authenticated:
    """Check ``head``'s signature; returns who signed it or raises S3Error."""
    now = time.time() if now is None else now
    if "X-Amz-Credential" in head.params or head.headers.get("Authorization", "").startswith(V4_ALGORITHM + " "):
        return _v4(head, users, region, now, skew)
    return _v2(head, users, now, skew)

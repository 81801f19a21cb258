"""An S3 request as the S3 API sees it: the parsed head, the bucket and key.

Path-style addressing, as Swift's s3api serves it on a Swift endpoint:
``/<bucket>/<key>`` (``/`` is the service, ``/<bucket>`` or ``/<bucket>/`` a
bucket). An absolute-form request target (``PUT http://host/bucket?...``) is
read as its path. The path is percent-decoded once (keys are UTF-8; a key
that is not is ``InvalidURI``); the raw path is kept too, since Signature V2
signs the path as sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_to_bytes

from multidict import CIMultiDict, MultiDict

from sciswift.server.wire import RequestHead

__all__ = ["S3Head", "parse_head", "looks_like_s3"]

#: Query parameters that make a request S3 presigned-URL auth.
_QUERY_AUTH = ("AWSAccessKeyId=", "X-Amz-Credential=")


def looks_like_s3(head: RequestHead) -> bool:
    """True when ``head`` carries S3 authentication (an ``Authorization:
    AWS ...``/``AWS4-HMAC-SHA256 ...`` header or presigned-URL parameters).
    Everything else is the Swift API's, exactly as before."""
    for name, value in head.headers:
        if len(name) == 13 and name.lower() == "authorization":
            return value.startswith(("AWS ", "AWS4-HMAC-SHA256 "))
    target = head.target
    return "?" in target and any(p in target for p in _QUERY_AUTH)


@dataclass
class S3Head:
    """One request's line and headers, decoded.

    ``query`` keeps the parameters in order (decoded; a parameter without
    ``=`` has value ""); ``params`` is the same as a MultiDict.
    ``raw_headers`` are the headers as sent (signatures join repeated ones).
    """

    method: str
    raw_path: str
    path: str
    query: list[tuple[str, str]]
    headers: CIMultiDict[str]
    raw_headers: list[tuple[str, str]]
    bucket: str | None = None
    key: str | None = None
    params: MultiDict[str] = field(default_factory=MultiDict)

    def __post_init__(self) -> None:
        self.params = MultiDict(self.query)

    @property
    def resource(self) -> str:
        """``/bucket/key`` for error documents."""
        return self.path


def parse_head(head: RequestHead) -> S3Head:
    """The S3 view of a request head; ValueError when the path is not valid
    UTF-8 (the caller answers ``InvalidURI``)."""
    target = head.target
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        target = rest[slash:] if slash >= 0 else "/"
    raw_path, _, query_string = target.partition("?")
    path = unquote_to_bytes(raw_path.encode("utf-8", "surrogateescape")).decode("utf-8")
    if "\x00" in path:
        raise ValueError("NUL in path")
    query = parse_qsl(query_string, keep_blank_values=True, errors="strict")
    s3 = S3Head(
        method=head.method,
        raw_path=raw_path,
        path=path,
        query=query,
        headers=CIMultiDict(head.headers),
        raw_headers=head.headers,
    )
    parts = path.lstrip("/").split("/", 1)
    s3.bucket = parts[0] or None
    s3.key = parts[1] if len(parts) > 1 and parts[1] else None
    return s3

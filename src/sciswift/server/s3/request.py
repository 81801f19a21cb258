"""An S3 request as the S3 API sees it: the parsed head, the bucket and key.

Path-style addressing, as Swift's s3api serves it on a Swift endpoint:
``/<bucket>/<key>`` (``/`` is the service, ``/<bucket>`` or ``/<bucket>/`` a
bucket). An absolute-form request target (``PUT http://host/bucket?...``) is
read as its path. Virtual-hosted style, as s3api's ``storage_domain``: a
request whose Host is ``<bucket>.<storage domain>`` names the bucket there
and the key in its path (``/<key>``); it is then handled as the path-style
request ``/<bucket>/<key>``. The path is percent-decoded once (keys are
UTF-8; a key that is not is ``InvalidURI``); the path as sent is kept too,
since signatures sign it: V4 the path alone, V2 ``/<bucket>`` + the raw path
for a virtual-hosted request (AWS's definitions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_to_bytes

from multidict import CIMultiDict, MultiDict

from sciswift.server.wire import RequestHead

__all__ = ["S3Head", "parse_head", "looks_like_s3", "host_bucket"]

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
    ``path`` is the path-style path (``/<bucket>/<key>``, decoded);
    ``sent_path`` the decoded path as sent (without a Host's bucket; V4
    signs it); ``raw_path`` the V2 resource's path (undecoded, with a Host's
    bucket). ``host_bucket`` is the bucket a virtual-hosted request's Host
    named, else None.
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
    sent_path: str = ""
    host_bucket: str | None = None
    #: Query parameters sent without ``=`` (``?acl``): S3's subresources.
    bare_params: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.params = MultiDict(self.query)
        if not self.sent_path:
            self.sent_path = self.path

    @property
    def resource(self) -> str:
        """``/bucket/key`` for error documents."""
        return self.path


def host_bucket(host: str | None, domains: tuple[str, ...]) -> str | None:
    """The bucket a Host header names under one of ``domains``
    (``wind.s3.example.org:8080`` under ``s3.example.org``: ``wind``), or
    None for a Host that is a domain itself, an address, or elsewhere."""
    if not host or not domains:
        return None
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal
        return None
    name = name.rsplit(":", 1)[0] if ":" in name else name
    name = name.rstrip(".")
    for domain in domains:
        if name.endswith("." + domain) and len(name) > len(domain) + 1:
            return name[:-len(domain) - 1]
    return None


def parse_head(head: RequestHead, storage_domains: tuple[str, ...] = ()) -> S3Head:
    """The S3 view of a request head (virtual-hosted style under
    ``storage_domains``); ValueError when the path is not valid UTF-8 (the
    caller answers ``InvalidURI``)."""
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
    headers = CIMultiDict(head.headers)
    bucket = host_bucket(headers.get("Host"), storage_domains)
    s3 = S3Head(
        method=head.method,
        raw_path=raw_path if bucket is None else "/" + bucket + raw_path,
        path=path if bucket is None else "/" + bucket + ("" if path.startswith("/") else "/") + path,
        query=query,
        headers=headers,
        raw_headers=head.headers,
        sent_path=path,
        host_bucket=bucket,
        bare_params=frozenset(unquote_to_bytes(p).decode("utf-8", "replace")
                              for p in query_string.split("&") if p and "=" not in p),
    )
    parts = s3.path.lstrip("/").split("/", 1)
    s3.bucket = parts[0] or None
    s3.key = parts[1] if len(parts) > 1 and parts[1] else None
    return s3

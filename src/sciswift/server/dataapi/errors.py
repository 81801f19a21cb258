"""Errors of the data API: a status and a message, answered as JSON.

The body is ``{"message": "..."}``, the shape h5grove gives its errors, so
H5Web shows the message; a few phrases H5Web looks for are kept ("File not
found", "Permission denied", "is not a valid path").
"""

from __future__ import annotations

import json

from multidict import CIMultiDict

from sciswift.server.http import Reply

__all__ = ["ApiError", "json_reply", "error_reply", "JSON_TYPE"]

JSON_TYPE = "application/json"


class ApiError(Exception):
    """Raised anywhere in the data API to answer ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_reply(status: int, value: object, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply (UTF-8, no NaN: callers convert non-finite numbers to null).
    Names holding bytes that are not UTF-8 (kept as lone surrogates) are written
    as JSON escapes (``\\udcff``), which is valid JSON, not invalid UTF-8."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        body = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
    h: CIMultiDict[str] = CIMultiDict({"Content-Type": JSON_TYPE, "Cache-Control": "no-store"})
    if headers:
        h.update(headers)
    return Reply(status, h, body)


def error_reply(exc: ApiError, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(exc.status, {"message": exc.message, "status": exc.status}, headers)

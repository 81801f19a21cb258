"""One small exception tree for every layer of sciswift, and its HTTP status table.

Every error names what it is about (``subject``: a container, an object, a URL) and
says what went wrong in plain words. Each class also derives from the builtin a
Python user would expect (``NotFound`` is a ``FileNotFoundError`` and a ``KeyError``
is *not* used, because ``KeyError`` reprs its message oddly), so code that does not
know sciswift still catches them sensibly.

The same table maps these errors to HTTP statuses in both directions: the server
answers ``status_for(exc)`` and SwiftStore raises ``error_for_status(status, ...)``.
Keeping one table is what makes "the server and the client agree" testable.
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "SciSwiftError",
    "NotFound",
    "AlreadyExists",
    "PreconditionFailed",
    "NotModified",
    "Conflict",
    "ContainerNotEmpty",
    "PermissionDenied",
    "Unauthenticated",
    "InvalidInput",
    "InvalidName",
    "RangeNotSatisfiable",
    "ChecksumMismatch",
    "EntityTooLarge",
    "NotSupported",
    "CorruptData",
    "Quarantined",
    "StoreUnavailable",
    "InsufficientStorage",
    "status_for",
    "error_for_status",
    "QUARANTINED_HEADER",
]

QUARANTINED_HEADER = "X-Sciswift-Quarantined"
"""Set to ``true`` on the 404 ``sciswift serve`` answers for a quarantined object
(Swift's answer, marked): SwiftStore raises ``Quarantined`` for it, not NotFound."""


class SciSwiftError(Exception):
    """Base of every sciswift error.

    ``subject`` is the thing the error is about (``"container/object"``, a URL, a
    dataset path) so that callers can report it without parsing the message.
    """

    status: int = 500

    def __init__(self, message: str, subject: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.subject = subject

    def __str__(self) -> str:
        return self.message


class NotFound(SciSwiftError, FileNotFoundError):
    """The account, container or object does not exist (HTTP 404)."""

    status = 404


class AlreadyExists(SciSwiftError, FileExistsError):
    """A create-only write found something already there (HTTP 412 on objects)."""

    status = 412


class PreconditionFailed(SciSwiftError):
    """A conditional request's condition did not hold (HTTP 412)."""

    status = 412


class NotModified(SciSwiftError):
    """A conditional GET/HEAD found the object unchanged (HTTP 304)."""

    status = 304


class Conflict(SciSwiftError):
    """The request conflicts with the current state (HTTP 409)."""

    status = 409


class ContainerNotEmpty(Conflict):
    """A container can only be deleted once it holds no objects (HTTP 409)."""


class PermissionDenied(SciSwiftError, PermissionError):
    """Authenticated, but not allowed to do this (HTTP 403)."""

    status = 403


class Unauthenticated(SciSwiftError, PermissionError):
    """No valid credentials or token (HTTP 401)."""

    status = 401


class InvalidInput(SciSwiftError, ValueError):
    """A request or argument is malformed (HTTP 400)."""

    status = 400


class InvalidName(InvalidInput):
    """A container or object name breaks Swift's naming rules (HTTP 400 or 412)."""


class RangeNotSatisfiable(InvalidInput):
    """A byte range lies wholly beyond the end of the object (HTTP 416)."""

    status = 416


class ChecksumMismatch(InvalidInput):
    """The body did not match the ETag the client announced (HTTP 422)."""

    status = 422


class EntityTooLarge(InvalidInput):
    """An object, metadata value or request is above a configured limit (HTTP 413)."""

    status = 413


class NotSupported(SciSwiftError, NotImplementedError):
    """The backend, format or server cannot do this (HTTP 501)."""

    status = 501


class CorruptData(SciSwiftError, OSError):
    """Stored bytes cannot be decoded: a damaged object, chunk or file (HTTP 500)."""

    status = 500


class Quarantined(CorruptData):
    """The object was found damaged and set aside (quarantined): it has no
    readable body until it is overwritten or deleted. Never a ``NotFound``: a
    reader must not mistake lost data for data never written (the engine reads
    a missing chunk as fill values). ``sciswift serve`` answers 404 with
    ``X-Sciswift-Quarantined: true`` for it, as Swift answers 404 for a
    quarantined object, and SwiftStore raises this for such a reply."""

    status = 404


class StoreUnavailable(SciSwiftError, ConnectionError):
    """The store could not be reached, even after retries (HTTP 503)."""

    status = 503


class InsufficientStorage(SciSwiftError, OSError):
    """The store has no room left for the write (HTTP 507): its disk is full or
    over quota. Nothing of the refused write was kept; retrying helps only once
    space has been freed. Also an ``OSError`` with ``errno.ENOSPC``, as a local
    filesystem would raise."""

    status = 507

    def __init__(self, message: str, subject: str | None = None) -> None:
        super().__init__(message, subject)
        self.errno = _errno.ENOSPC
        self.strerror = message


# Status -> class, for clients turning a response back into an exception. 412 is
# ambiguous on the wire; a client that sent a create-only write maps it to
# AlreadyExists itself.
_BY_STATUS: dict[int, type[SciSwiftError]] = {
    304: NotModified,
    400: InvalidInput,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    411: InvalidInput,
    412: PreconditionFailed,
    413: EntityTooLarge,
    416: RangeNotSatisfiable,
    422: ChecksumMismatch,
    501: NotSupported,
    503: StoreUnavailable,
    507: InsufficientStorage,
}


def status_for(exc: BaseException) -> int:
    """The HTTP status the server answers for ``exc`` (500 for anything unknown)."""
    if isinstance(exc, SciSwiftError):
        return exc.status
    return 500


def error_for_status(status: int, message: str, subject: str | None = None) -> SciSwiftError:
    """The exception a client raises for an HTTP error ``status``."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = StoreUnavailable if status >= 500 else SciSwiftError
    err = cls(message, subject)
    if cls is SciSwiftError:
        err.status = status
    return err

"""From sciswift errors to the errno a program sees, and the log line for it.

A file system can only answer an errno. Every failure that is not the program's
own doing (the store unreachable, a refused upload, a corrupt manifest) becomes
``EIO`` with one log line naming the path and the cause, so an operator can tell
what happened from the mount's log.
"""

from __future__ import annotations

import errno
import logging

from sciswift import errors as e

__all__ = ["FSError", "errno_for", "log"]

log = logging.getLogger("sciswift.mount")


class FSError(OSError):
    """An errno answer for the kernel (``OSError`` is what the binding turns into
    ``-errno``)."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(code, message or errno.errorcode.get(code, str(code)))


def errno_for(exc: BaseException, op: str, path: str) -> int:
    """The errno for ``exc`` raised while doing ``op`` on ``path``; logs the
    failures a program cannot explain itself (every EIO)."""
    if isinstance(exc, FSError):
        return exc.errno or errno.EIO
    code = _classify(exc)
    if code == errno.EIO:
        log.error("EIO %s %s: %s", op, path, exc)
    elif code in (errno.ENAMETOOLONG, errno.EINVAL, errno.EACCES, errno.ENOSPC, errno.EFBIG):
        log.warning("%s %s %s: %s", errno.errorcode[code], op, path, exc)
    return code


def _classify(exc: BaseException) -> int:
    if isinstance(exc, e.InvalidName):
        return errno.ENAMETOOLONG if "longer than" in str(exc) else errno.EINVAL
    if isinstance(exc, e.NotFound):
        return errno.ENOENT
    if isinstance(exc, e.AlreadyExists):
        return errno.EEXIST
    if isinstance(exc, e.ContainerNotEmpty):
        return errno.ENOTEMPTY
    if isinstance(exc, (e.PermissionDenied, e.Unauthenticated)):
        return errno.EACCES
    if isinstance(exc, e.EntityTooLarge):
        return errno.EFBIG
    if isinstance(exc, e.NotSupported) and not isinstance(exc, e.StoreUnavailable):
        return errno.EOPNOTSUPP
    if isinstance(exc, e.InvalidInput) and not isinstance(exc, (e.ChecksumMismatch, e.RangeNotSatisfiable)):
        return errno.EINVAL
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return errno.ENOSPC
    return errno.EIO

"""What the middlewares share: the shapes of the steps they hand work on to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sciswift.server.http import Reply, SwiftRequest

if TYPE_CHECKING:
    from sciswift.store.base import Store
    from sciswift.store.types import ObjectInfo, PutMode

__all__ = ["Next", "Put", "CONTENT_GENERATOR"]

#: The rest of the chain a middleware hands a request on to (Swift's ``app``).
Next = Callable[[SwiftRequest], Awaitable[Reply]]

#: Marks a reply a middleware made up (staticweb's listings), for the
#: middlewares outside it; removed before the reply is sent.
CONTENT_GENERATOR = "X-Backend-Content-Generator"

#: Stores the body of the PUT being written as ``(store, container, name)``
#: with a put mode and system values; the PUT path hands it to versioning,
#: which decides where the body goes (Swift's versioning middlewares redirect
#: the PUT the same way).
Put = Callable[["Store", str, str, "PutMode", dict[str, str]], Awaitable["ObjectInfo"]]

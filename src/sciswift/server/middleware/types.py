"""What the middlewares share: the shape of the next step in the chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sciswift.server.http import Reply, SwiftRequest

__all__ = ["Next", "CONTENT_GENERATOR"]

#: The rest of the chain a middleware hands a request on to (Swift's ``app``).
Next = Callable[[SwiftRequest], Awaitable[Reply]]

#: Marks a reply a middleware made up (staticweb's listings), for the
#: middlewares outside it; removed before the reply is sent.
CONTENT_GENERATOR = "X-Backend-Content-Generator"

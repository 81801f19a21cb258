"""The browser's files at ``/browse/``: the page built from ``web/`` (H5Web's
npm packages and our small app) by ``make web``.

The build lands in ``SITE_DIR`` (``sciswift/server/dataapi/site/``, not
committed); ``SCISWIFT_BROWSE_DIR`` points elsewhere. Files are served as
they are, ``index.html`` for the folder itself and for any path without a
file (the app routes in the page). Hashed assets are cached for a year, the
page never. When nothing was built, ``/browse/`` says how to build it.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from multidict import CIMultiDict

from sciswift.server.http import Reply, SwiftRequest, error

__all__ = ["SITE_DIR", "site_dir", "is_built", "serve_file", "banner_line", "PREFIX"]

PREFIX = "/browse"
SITE_DIR = Path(__file__).with_name("site")

_NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8"><title>sciswift browser</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>The sciswift browser is not built</h1>
<p>The page at <code>/browse/</code> is built from H5Web's npm packages with Node.js and npm
(20 or newer). From a clone of the repository:</p>
<pre>make web        # npm ci + vite build into src/sciswift/server/dataapi/site/</pre>
<p>then reload this page (no restart needed). The data API works without it:
<code>/api/v1/&lt;account&gt;/meta/?file=&lt;container/name&gt;</code>, see docs/browse.md.</p>
</body></html>
"""


def site_dir() -> Path:
    override = os.environ.get("SCISWIFT_BROWSE_DIR")
    return Path(override) if override else SITE_DIR


def is_built() -> bool:
    return (site_dir() / "index.html").is_file()


def banner_line(base: str) -> str:
    """The start banner's line for the browser (and how to build it if absent)."""
    note = "" if is_built() else "  (not built here: run `make web`, needs npm; the data API works without it)"
    return f"browse:   {base}{PREFIX}/{note}"


def serve_file(req: SwiftRequest) -> Reply:
    """GET/HEAD of a file of the browser."""
    if req.method not in ("GET", "HEAD"):
        return error(405, headers={"Allow": "GET, HEAD"})
    if req.path == PREFIX:
        return Reply(301, CIMultiDict({"Location": PREFIX + "/", "Content-Type": "text/html; charset=UTF-8"}))
    root = site_dir().resolve()
    if not (root / "index.html").is_file():
        return Reply(200, CIMultiDict({"Content-Type": "text/html; charset=UTF-8", "Cache-Control": "no-store"}),
                     _NOT_BUILT.encode("utf-8"))
    rel = req.path[len(PREFIX) + 1:]
    target = (root / rel).resolve() if rel else root / "index.html"
    if not target.is_relative_to(root) or not target.is_file():
        # Paths that are no file (the app's own routes) get the page;
        # anything that escapes the folder is simply not there.
        if not target.is_relative_to(root) or "." in rel.rsplit("/", 1)[-1]:
            return error(404)
        target = root / "index.html"
    ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "text/javascript"):
        ctype += "; charset=utf-8"
    cache = "public, max-age=31536000, immutable" if "/assets/" in f"/{rel}" else "no-cache"
    headers = CIMultiDict({"Content-Type": ctype, "Cache-Control": cache})
    return Reply(200, headers, target.read_bytes())

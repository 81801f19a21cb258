"""Static web sites from containers, as Swift's staticweb.

It serves anonymous callers, temporary links and anyone sending
``X-Web-Mode: true``, for GET and HEAD of a container or an object, driven by
the container's metadata:

- ``Web-Index: index.html``: ``…/dir/`` answers ``…/dir/index.html``;
- ``Web-Listings: true``: a pseudo-directory without an index answers an HTML
  listing (``Web-Listings-CSS`` a style sheet, ``Web-Listings-Label`` the
  title's prefix; the read ACL must grant listings, ``.rlistings``);
- ``Web-Error: error.html``: a 401 or 404 answers ``401error.html`` /
  ``404error.html`` with its own status;
- ``Web-Directory-Type``: the content type of directory markers (default
  ``application/directory``), which answer as missing.

A container or directory asked for without its trailing slash is redirected
to it (301). Listings for a temporary link carry the link's parameters, so
every entry is reachable with the same grant. Reads are sub-requests made as
the caller, so ACLs apply as to a direct read.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote, urlparse

from multidict import CIMultiDict

from sciswift.server.backend import Backend
from sciswift.server.http import Reply, SwiftRequest, env_flag, error
from sciswift.server.middleware import tempurl
from sciswift.server.middleware.types import CONTENT_GENERATOR, Next
from sciswift.store.types import ContainerInfo

__all__ = ["handle", "human_readable"]


def human_readable(value: int) -> str:
    """``1048576`` → ``1Mi``, as Swift's listings show sizes."""
    v = float(value)
    index = -1
    suffixes = "KMGTPEZY"
    while v >= 1024 and index + 1 < len(suffixes):
        index += 1
        v = round(v / 1024)
    if index == -1:
        return "%d" % v
    return "%d%si" % (round(v), suffixes[index])


class _Site:
    """One request's view of the container's web settings."""

    def __init__(self, be: Backend, req: SwiftRequest, app: Next, info: ContainerInfo | None) -> None:
        self.be, self.req, self.app = be, req, app
        meta = info.metadata if info is not None else {}
        self.index = meta.get("web-index", "").strip()
        self.error = meta.get("web-error", "").strip()
        self.listings = meta.get("web-listings", "").strip()
        self.label = meta.get("web-listings-label", "").strip()
        self.css = meta.get("web-listings-css", "").strip()
        self.dir_type = meta.get("web-directory-type", "").strip() or "application/directory"

    # -------------------------------------------------------------- helpers
    def _sub(self, obj: str | None, query: dict[str, str] | None = None, *, same: bool = False) -> SwiftRequest:
        """A sub-request as the caller for ``obj`` in this container (the
        container itself when None): with ``same``, the client's method,
        headers and query (an index page stands in for the page asked for),
        else a GET carrying only the Referer (listings, error pages)."""
        req = self.req
        assert req.account is not None and req.container is not None
        if same:
            sub = req.sub(req.method, req.account, req.container, obj, headers=req.headers, query=req.query)
        else:
            headers = {h: req.headers[h] for h in ("Referer",) if h in req.headers}
            sub = req.sub("GET", req.account, req.container, obj, headers=headers, query=query)
        return sub

    async def error_response(self, reply: Reply, use_error_page: bool = True) -> Reply:
        """``reply``, with the container's error page as its body when one is set."""
        if not self.error or not use_error_page:
            return reply
        page = await self.app(self._sub(f"{reply.status}{self.error}"))
        if not page.ok:
            await page.drain()
            return reply
        await reply.drain()
        page.status = reply.status
        return page

    def redirect_with_slash(self) -> Reply:
        req = self.req
        base = req.host_url
        url_base = self.be.config.middleware.staticweb.url_base
        if url_base:
            parsed = urlparse(url_base)
            base = f"{parsed.scheme}://{parsed.netloc}"
        location = base + quote(req.path + "/", errors="surrogateescape")
        return error(301, headers={"Location": location})

    def _css_path(self, prefix: str) -> str:
        if self.css.startswith(("/", "http://", "https://")):
            return quote(self.css, safe=":/")
        return "../" * prefix.count("/") + quote(self.css)

    async def listing(self, prefix: str = "") -> Reply:
        """An HTML listing of the pseudo-directory ``prefix``."""
        req = self.req
        label = req.path
        if self.label:
            label = "{}/{}".format(self.label, "/".join(req.path.split("/")[4:]))
        if not env_flag(self.listings):
            body = (
                "<!DOCTYPE html>\n<html>\n<head>\n"
                f"<title>Listing of {html.escape(label)}</title>\n"
            )
            if self.css:
                body += f'  <link rel="stylesheet" type="text/css" href="{self._css_path(prefix)}" />\n'
            else:
                body += ('  <style type="text/css">\n'
                         "   h1 {font-size: 1em; font-weight: bold;}\n"
                         "   p {font-size: 2}\n"
                         "  </style>\n")
            body += ("</head>\n<body>  <h1>Web Listing Disabled</h1>"
                     "   <p>The owner of this web site has disabled web listing."
                     "   <p>If you are the owner of this web site, you can enable"
                     "   web listing by setting X-Container-Meta-Web-Listings.</p>")
            if self.index:
                body += ("<h1>Index File Not Found</h1>"
                         " <p>The owner of this web site has set "
                         f" <b>X-Container-Meta-Web-Index: {self.index}</b>. "
                         " However, this file is not found.</p>")
            body += " </body>\n</html>\n"
            return await self.error_response(error(404, body))
        query = {"format": "json", "delimiter": "/"}
        if prefix:
            query["prefix"] = prefix
        listed = await self.app(self._sub(None, query))
        if not listed.ok:
            return await self.error_response(listed)
        raw = await listed.read()
        items = json.loads(raw) if raw else []
        if prefix and not items:
            return await self.error_response(error(404))
        tempurl_qs, tempurl_prefix = "", ""
        if tempurl.is_tempurl(req):
            link = tempurl.query_of(req)
            if link["temp_url_prefix"] is not None:
                tempurl_prefix = link["temp_url_prefix"]
                parts = [
                    f"temp_url_prefix={quote(tempurl_prefix)}",
                    f"temp_url_expires={quote(str(link['temp_url_expires']))}",
                    f"temp_url_sig={link['temp_url_sig']}",
                ]
                if link["temp_url_ip_range"]:
                    parts.append(f"temp_url_ip_range={quote(link['temp_url_ip_range'])}")
                if link["inline"] is not None:
                    parts.append("inline")
                tempurl_qs = "?" + "&amp;".join(parts)
        return Reply(200, CIMultiDict({"Content-Type": "text/html; charset=UTF-8", CONTENT_GENERATOR: "staticweb"}),
                     self._render(label, prefix, tempurl_prefix, tempurl_qs, items).encode("utf-8"))

    def _render(self, label: str, prefix: str, tempurl_prefix: str, qs: str, items: list[dict[str, object]]) -> str:
        out = [
            "<!DOCTYPE html>\n<html>\n <head>\n",
            f"  <title>Listing of {html.escape(label)}</title>\n",
        ]
        if self.css:
            out.append(f'  <link rel="stylesheet" type="text/css" href="{self._css_path(prefix)}" />\n')
        else:
            out.append('  <style type="text/css">\n'
                       "   h1 {font-size: 1em; font-weight: bold;}\n"
                       "   th {text-align: left; padding: 0px 1em 0px 1em;}\n"
                       "   td {padding: 0px 1em 0px 1em;}\n"
                       "   a {text-decoration: none;}\n"
                       "  </style>\n")
        out.append(" </head>\n <body>\n"
                   f'  <h1 id="title">Listing of {html.escape(label)}</h1>\n'
                   '  <table id="listing">\n'
                   '   <tr id="heading">\n'
                   '    <th class="colname">Name</th>\n'
                   '    <th class="colsize">Size</th>\n'
                   '    <th class="coldate">Date</th>\n'
                   "   </tr>\n")
        if len(prefix) > len(tempurl_prefix):
            out.append('   <tr id="parent" class="item">\n'
                       f'    <td class="colname"><a href="../{qs}">../</a></td>\n'
                       '    <td class="colsize">&nbsp;</td>\n'
                       '    <td class="coldate">&nbsp;</td>\n'
                       "   </tr>\n")
        for item in items:
            if "subdir" in item:
                subdir = str(item["subdir"])[len(prefix):]
                out.append('   <tr class="item subdir">\n'
                           f'    <td class="colname"><a href="./{_href(subdir)}{qs}">{html.escape(subdir)}</a></td>\n'
                           '    <td class="colsize">&nbsp;</td>\n'
                           '    <td class="coldate">&nbsp;</td>\n'
                           "   </tr>\n")
        for item in items:
            if "name" in item:
                name = str(item["name"])[len(prefix):]
                content_type = str(item["content_type"])
                classes = " ".join("type-" + html.escape(t.lower()) for t in content_type.split("/"))
                size = human_readable(int(item["bytes"]))  # type: ignore[call-overload]
                modified = html.escape(str(item["last_modified"])).split(".")[0].replace("T", " ")
                out.append(f'   <tr class="item {classes}">\n'
                           f'    <td class="colname"><a href="./{_href(name)}{qs}">{html.escape(name)}</a></td>\n'
                           f'    <td class="colsize">{size}</td>\n'
                           f'    <td class="coldate">{modified}</td>\n'
                           "   </tr>\n")
        out.append("  </table>\n </body>\n</html>\n")
        return "".join(out)

    # ------------------------------------------------------------- requests
    async def container(self) -> Reply:
        req = self.req
        denied = await self.be.authorize(req, "read")
        if denied is not None:
            return await self.error_response(denied)
        if not self.listings and not self.index:
            if env_flag(req.headers.get("X-Web-Mode")):
                return error(404)
            return await self.app(req)
        if not req.path.endswith("/"):
            return self.redirect_with_slash()
        if not self.index:
            return await self.listing()
        page = await self.app(self._sub(self.index, same=True))
        if page.status == 404:
            await page.drain()
            return await self.listing()
        if not page.ok and not 300 <= page.status < 400:
            return await self.error_response(page)
        return page

    async def object(self) -> Reply:
        req = self.req
        assert req.obj is not None
        reply = await self.app(req)
        status = reply.status
        if reply.ok or 300 <= status < 400:
            length = reply.content_length or 0
            if reply.headers.get("Content-Type") == self.dir_type and length <= 1:
                status = 404
            else:
                return reply
        if status != 404:
            return reply
        if not self.listings and not self.index:
            return reply
        if self.index:
            name = req.obj if req.obj.endswith("/") else req.obj + "/"
            page = await self.app(self._sub(name + self.index, same=True))
            if page.ok or 300 <= page.status < 400:
                await reply.drain()
                if not req.path.endswith("/"):
                    await page.drain()
                    return self.redirect_with_slash()
                return page
            await page.drain()
        await reply.drain()
        if not req.path.endswith("/"):
            probe = await self.app(self._sub(None, {"format": "json", "limit": "1", "delimiter": "/",
                                                  "prefix": req.obj + "/"}))
            raw = await probe.read()
            if not probe.ok or not raw or not json.loads(raw):
                return await self.error_response(error(404))
            return self.redirect_with_slash()
        return await self.listing(req.obj)


def _href(name: str) -> str:
    # Swift escapes dots too, so "../" in a name cannot climb out of the listing
    return quote(name).replace(".", "%2E")


async def handle(be: Backend, req: SwiftRequest, app: Next) -> Reply:
    """Serve ``req`` as a web page when it is a static-web request."""
    if req.account is None or req.container is None or req.method not in ("GET", "HEAD"):
        return await app(req)
    if req.identity is not None and not tempurl.is_tempurl(req) and not env_flag(req.headers.get("X-Web-Mode")):
        return await app(req)
    assert req.account is not None
    info = await be.container_info(req, req.account, req.container)
    site = _Site(be, req, app, info)
    if req.obj:
        return await site.object()
    return await site.container()

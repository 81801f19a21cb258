"""Static web sites and domain remapping: a public container served as a web
site to anonymous browsers (index pages, HTML listings, error pages, slash
redirects), also under its own host name."""

from __future__ import annotations

import http.client
from collections.abc import Callable

import pytest
from swiftclient import client as swift_client

from ..conftest import RunningServer


@pytest.fixture
def site(conn: swift_client.Connection, new_container: Callable[..., str]) -> str:
    """A public container with an index page, a 404 page and a directory."""
    cont = new_container({"X-Container-Read": ".r:*,.rlistings"})
    conn.put_object(cont, "index.html", b"<p>home</p>", content_type="text/html")
    conn.put_object(cont, "404error.html", b"<p>nothing here</p>", content_type="text/html")
    conn.put_object(cont, "docs", b"", content_type="application/directory")
    conn.put_object(cont, "docs/a.txt", b"A" * 2048)
    conn.put_object(cont, "docs/sub/b.txt", b"b")
    return cont


def get(server: RunningServer, path: str, host: str | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """A GET sent as a browser would, with ``host`` as its one Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{server.port}")
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_index_listing_error_page_and_redirects(server: RunningServer, conn: swift_client.Connection,
                                                site: str) -> None:
    base = f"/v1/AUTH_test/{site}"
    # without web settings anonymous readers get plain Swift behaviour
    assert get(server, f"{base}/docs/a.txt")[0] == 200
    conn.post_container(site, {"X-Container-Meta-Web-Index": "index.html",
                               "X-Container-Meta-Web-Listings": "true",
                               "X-Container-Meta-Web-Error": "error.html"})
    status, headers, _ = get(server, base, host="example.org")
    assert status == 301 and headers["Location"] == f"http://example.org{base}/"
    status, _, body = get(server, f"{base}/")
    assert (status, body) == (200, "<p>home</p>")
    # a directory without an index is listed, with sizes and links
    status, headers, body = get(server, f"{base}/docs/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=UTF-8"
    assert f"Listing of {base}/docs/" in body
    assert '<a href="./a%2Etxt">a.txt</a>' in body and '<td class="colsize">2Ki</td>' in body
    assert '<a href="./sub/">sub/</a>' in body and '<a href="../">../</a>' in body
    status, headers, _ = get(server, f"{base}/docs")
    assert status == 301 and headers["Location"].endswith(f"{base}/docs/")
    # a missing page answers the container's 404 page, with status 404
    status, _, body = get(server, f"{base}/nowhere.html")
    assert (status, body) == (404, "<p>nothing here</p>")


def test_authenticated_callers_opt_in_with_web_mode(server: RunningServer, conn: swift_client.Connection,
                                                    site: str) -> None:
    conn.post_container(site, {"X-Container-Meta-Web-Listings": "true"})
    token = conn.get_auth()[1]
    status, headers, _ = get(server, f"/v1/AUTH_test/{site}/docs/", headers={"X-Auth-Token": token})
    assert status == 404  # the object "docs/" does not exist: no web behaviour without X-Web-Mode
    status, _, body = get(server, f"/v1/AUTH_test/{site}/docs/", headers={"X-Auth-Token": token, "X-Web-Mode": "true"})
    assert status == 200 and "Listing of" in body


def test_listing_needs_rlistings(server: RunningServer, conn: swift_client.Connection,
                                 new_container: Callable[..., str]) -> None:
    cont = new_container({"X-Container-Read": ".r:*", "X-Container-Meta-Web-Listings": "true"})
    conn.put_object(cont, "page.html", b"x")
    assert get(server, f"/v1/AUTH_test/{cont}/")[0] == 401
    assert get(server, f"/v1/AUTH_test/{cont}/page.html")[0] == 200


def test_domain_remap(server: RunningServer, conn: swift_client.Connection, site: str) -> None:
    # the session server keeps Swift's default storage domain, example.com
    conn.put_object(site, "plain.txt", b"via a host name")
    assert get(server, f"/{site}/plain.txt", host="AUTH_test.example.com")[2] == "via a host name"
    assert get(server, "/plain.txt", host=f"{site}.auth-test.example.com:8080")[2] == "via a host name"
    status, _, body = get(server, "/x", host="a.b.c.example.com")
    assert (status, body) == (400, "Bad domain in host header")
    # hosts outside the storage domain are left alone
    assert get(server, f"/v1/AUTH_test/{site}/plain.txt", host="elsewhere.org")[0] == 200


def test_remapped_redirect_names_the_host_path(server: RunningServer, conn: swift_client.Connection,
                                               site: str) -> None:
    conn.post_container(site, {"X-Container-Meta-Web-Listings": "true"})
    host = f"{site}.AUTH_test.example.com"
    status, headers, _ = get(server, "/docs", host=host)
    assert status == 301 and headers["Location"] == f"http://{host}/docs/"

"""The /browse/ page in a real browser: Debian's Chromium driven by Playwright
(never a browser Playwright downloads), against ``sciswift serve``.

Logs in with TempAuth, opens a native file and a FITS file, expands the tree,
opens heatmaps and line plots, and checks the numbers the page shows (the
colour bar's bounds, the tooltip's value under the pointer) against the data.
Screenshots are kept under pytest's tmp dir (paths printed). Also the bars of
issue 15: a 4096 x 4096 float32 heatmap in under 2 s, a 64 MiB FITS tree
for under 1 MiB, a line of a 10^8-element dataset without the rest.

Needs /usr/bin/chromium, the Python playwright package and the built page
(``make web``); without them the tests skip, except under CI (CI=true), where
they fail: CI installs all three (.ci/run, make test).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py

from .conftest import fits_bytes

pytestmark = pytest.mark.slow  # a real browser and 200 MB of test data: about a minute in all

CHROMIUM = "/usr/bin/chromium"
# No network beyond loopback here: Chromium's own background traffic is off.
# SwiftShader gives WebGL (H5Web's plots) without a GPU.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]


def _missing() -> str | None:
    from sciswift.server.dataapi.site import is_built

    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python playwright package is not installed (pip install 'sciswift[test]')"
    if not is_built():
        return "the /browse/ page is not built (make web)"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


class Traffic:
    """Bytes of every response the page received (Content-Length, which every
    reply of sciswift serve carries), and the data API requests made."""

    def __init__(self, page: Any) -> None:
        self.responses: list[tuple[str, int]] = []
        page.on("response", self._seen)

    def _seen(self, response: Any) -> None:
        self.responses.append((response.url, int(response.headers.get("content-length", "0"))))

    def mark(self) -> int:
        return len(self.responses)

    def since(self, mark: int, part: str = "/api/") -> list[tuple[str, int]]:
        return [(u, n) for u, n in self.responses[mark:] if part in u]

    def bytes_since(self, mark: int, part: str = "/api/") -> int:
        return sum(n for _, n in self.since(mark, part))


@pytest.fixture
def page(browser: Any, disk_server: Any) -> Iterator[Any]:
    p = browser.new_page()
    p.set_default_timeout(20000)
    yield p
    p.close()


def login(page: Any, server: Any) -> None:
    page.goto(f"{server.url}/browse/")
    # One browser profile serves every test: forget the visualisation H5Web
    # remembers from the previous one (it keeps it in localStorage).
    page.evaluate("() => localStorage.clear()")
    page.fill("input[name=user]", "test:tester")
    page.fill("input[name=key]", "testing")
    page.click("button:has-text('Log in')")
    page.wait_for_selector("table.ss-listing")


def open_file(page: Any, server: Any, container: str, name: str) -> None:
    page.goto(f"{server.url}/browse/#/f/{container}/{name}")
    page.wait_for_selector('[data-path="/"]')


def number(text: str) -> float:
    """A number as H5Web prints it (with a Unicode minus sign)."""
    return float(text.strip().replace("\u2212", "-"))


def bounds(page: Any) -> tuple[float, float]:
    page.wait_for_function("() => !!document.querySelector('[aria-label^=\"Max: \"]')", timeout=30000)
    low = page.locator('[aria-label^="Min: "]').first.get_attribute("aria-label")
    high = page.locator('[aria-label^="Max: "]').first.get_attribute("aria-label")
    return number(low.split(": ", 1)[1]), number(high.split(": ", 1)[1])


def hover_value(page: Any, fx: float = 0.37, fy: float = 0.61) -> tuple[int, int | None, float]:
    """Move the pointer over the plot; ``(x, y, value)`` from H5Web's tooltip
    (retried while the plot is still being drawn)."""
    tip = page.get_by_text(re.compile(r"^x ?=")).first
    for attempt in range(40):
        box = page.locator("canvas").first.bounding_box()
        if box:
            dx = (attempt % 5) * 0.01
            page.mouse.move(box["x"] + box["width"] * (fx + dx), box["y"] + box["height"] * fy)
            if tip.is_visible():
                break
        page.wait_for_timeout(500)
    text = tip.evaluate("n => n.parentElement.innerText").replace("\u2212", "-")
    m = re.search(r"x ?= ?(-?[\d.]+)(?:, y ?= ?(-?[\d.]+))?\s*\n?\s*(-?[\d.e+-]+)", text)
    assert m, text
    return int(float(m.group(1))), None if m.group(2) is None else int(float(m.group(2))), float(m.group(3))


def shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def test_login_native_file_heatmap_line_and_attributes(page: Any, disk_server: Any, bucket: str,
                                                       sample: dict[str, Any], tmp_path: Path) -> None:
    grid = sample["grid"]
    traffic = Traffic(page)
    login(page, disk_server)
    page.click(f"a:has-text('{bucket}')")
    page.click("a:has-text('run1.h5')")
    page.wait_for_selector('[data-path="/g"]')
    page.click('[data-path="/g"]')                   # expand the group
    page.click('[data-path="/g/grid"]')
    page.wait_for_selector('[aria-label^="Max: "]', state="attached")  # the heatmap's colour bar
    low, high = bounds(page)
    assert (low, high) == (pytest.approx(grid.min(), rel=1e-3), pytest.approx(grid.max(), rel=1e-3))
    x, y, value = hover_value(page)
    assert y is not None and value == pytest.approx(grid[y, x], rel=1e-3)
    shot(page, tmp_path, "native-heatmap")
    grid_requests = [u for u, _ in traffic.since(0) if "path=%2Fg%2Fgrid" in u and "/data?" in u]
    assert grid_requests and all("format=bin" in u for u in grid_requests)

    mark = traffic.mark()
    page.click("button[role=tab]:has-text('Line')")
    x, _, value = hover_value(page, 0.5, 0.5)
    assert value == pytest.approx(grid[0, x], rel=1e-3)   # the first row, picked by the slicer
    line_requests = [u for u, _ in traffic.since(mark) if "/data?" in u]
    assert any("selection=0%2C%3A" in u for u in line_requests), line_requests
    shot(page, tmp_path, "native-line")

    page.click("button:has-text('Inspect')")
    page.wait_for_selector("text=m/s")
    assert page.locator("text=m/s").count() >= 1
    assert page.locator("text=deflate").count() >= 1      # the filter pipeline, from get_filter()


def test_fits_image_tree_and_table(page: Any, disk_server: Any, bucket: str, sample: dict[str, Any],
                                   tmp_path: Path) -> None:
    image = sample["image"]
    login(page, disk_server)
    open_file(page, disk_server, bucket, "sky/m13.fits")
    page.click('[data-path="/PRIMARY"]')
    page.click('[data-path="/PRIMARY/data"]')
    page.wait_for_selector('[aria-label^="Max: "]', state="attached")
    assert bounds(page) == (pytest.approx(image.min()), pytest.approx(image.max()))
    x, y, value = hover_value(page)
    assert y is not None and value == image[y, x]
    shot(page, tmp_path, "fits-image")
    page.click('[data-path="/STARS"]')
    children = page.locator('[data-path^="/STARS/"]')
    children.first.wait_for()
    names = [children.nth(i).get_attribute("data-path") for i in range(children.count())]
    assert "/STARS/data" in names                     # the table as one compound dataset
    page.click('[data-path="/STARS/data"]')          # shown as a table (H5Web's matrix)
    page.wait_for_function("() => document.body.innerText.includes('mag')")
    text = page.evaluate("() => document.body.innerText").replace("\u2212", "-")
    # The table's cells, row by row (H5Web prints them in scientific notation).
    cells = [number(t) for t in re.findall(r"^-?\d\.\d+e[+-]\d+$", text, re.M)]
    assert cells == [1.5, 7.0, 2.5, 8.0, 3.5, 9.0], text
    shot(page, tmp_path, "fits-table")


def test_temp_url_page_opens_one_file(page: Any, disk_server: Any, bucket: str, sample: dict[str, Any]) -> None:
    """Following a temp URL needs no login: the page opens the file it names
    and sends the temp URL's parameters with every API request (the server
    decides; without tempurl support it refuses, with a message)."""
    traffic = Traffic(page)
    tempurl = f"/v1/AUTH_test/{bucket}/sky/m13.fits?temp_url_sig=abc&temp_url_expires=99"
    page.goto(f"{disk_server.url}/browse/?tempurl={tempurl.replace('&', '%26').replace('?', '%3F')}")
    page.wait_for_selector("text=(temp URL)")
    page.wait_for_timeout(500)
    api = [u for u, _ in traffic.since(0) if "/api/v1/AUTH_test/meta" in u]
    assert api and all("temp_url_sig=abc" in u and "temp_url_expires=99" in u for u in api)


# ---------------------------------------------------------------------- bars
@pytest.fixture(scope="module")
def big(disk_server: Any, bucket: str) -> dict[str, Any]:
    """A 4096 x 4096 float32 native dataset, a 10^8-element one holding one
    row, and a 64 MiB FITS image."""
    rng = np.random.default_rng(7)
    square = rng.random((4096, 4096), dtype="f4")
    row = np.cos(np.arange(10_000) / 100.0).astype("f4")
    with h5py.File(f"swift://{bucket}/big.h5", "w") as f:
        f.create_dataset("square", data=square, chunks=(1024, 1024))
        d = f.create_dataset("huge", shape=(10_000, 10_000), dtype="f4", chunks=(1, 10_000))
        d[0] = row  # the other 9,999 rows are fill value: never stored
    from astropy.io import fits

    image = fits_bytes(fits.PrimaryHDU(np.ones((4096, 4096), dtype=">f4")))
    assert len(image) >= 64 << 20
    conn = disk_server.connection()
    conn.put_object(bucket, "big.fits", image)
    conn.close()
    return {"square": square, "row": row, "fits_bytes": len(image)}


def _time_heatmap(browser: Any, server: Any, bucket: str) -> tuple[float, int, Any]:
    page = browser.new_page()
    page.set_default_timeout(30000)
    traffic = Traffic(page)
    login(page, server)
    open_file(page, server, bucket, "big.h5")
    mark = traffic.mark()
    start = time.perf_counter()
    page.click('[data-path="/square"]')
    page.wait_for_function("() => !!document.querySelector('[aria-label^=\"Max: \"]')", timeout=60000)
    return time.perf_counter() - start, traffic.bytes_since(mark), page


def test_bar_4096_heatmap_under_2s(browser: Any, disk_server: Any, bucket: str, big: dict[str, Any],
                                   tmp_path: Path) -> None:
    """From the click on the dataset to the plot with its colour bar; the best
    of two to four fresh pages (the first also opens the file on the server),
    as the machine is shared: more pages only while none was under the bar."""
    square = big["square"]
    times: list[float] = []
    for attempt in range(4):
        if attempt >= 2 and min(times) < 2.0:
            break
        elapsed, moved, page = _time_heatmap(browser, disk_server, bucket)
        times.append(elapsed)
        print(f"4096x4096 float32 heatmap, attempt {attempt + 1}: {elapsed:.2f} s from click to plot, "
              f"{moved} bytes from the data API")
        assert 64 << 20 <= moved < (64 << 20) + (1 << 20)  # the array once, plus metadata
        if attempt == 1:
            low, high = bounds(page)
            assert (low, high) == (pytest.approx(square.min(), rel=1e-3), pytest.approx(square.max(), rel=1e-3))
            x, y, value = hover_value(page)
            assert y is not None and value == pytest.approx(square[y, x], rel=1e-3)
            shot(page, tmp_path, "heatmap-4096")
        page.close()
    assert min(times) < 2.0, times


def test_bar_64mib_fits_tree_moves_under_1mib(page: Any, disk_server: Any, bucket: str,
                                             big: dict[str, Any]) -> None:
    traffic = Traffic(page)
    login(page, disk_server)
    mark = traffic.mark()
    open_file(page, disk_server, bucket, "big.fits")
    page.click('[data-path="/PRIMARY"]')
    page.wait_for_selector('[data-path="/PRIMARY/data"]')
    page.click("button:has-text('Inspect')")     # the header cards as attributes
    page.wait_for_function("() => document.body.innerText.includes('NAXIS1')")
    moved = traffic.bytes_since(mark)
    print(f"tree and header of a {big['fits_bytes']} byte FITS file: {moved} bytes from the data API")
    assert 0 < moved < 1 << 20


def test_bar_line_of_a_1e8_dataset_fetches_one_row(page: Any, disk_server: Any, bucket: str,
                                                  big: dict[str, Any]) -> None:
    row = big["row"]
    traffic = Traffic(page)
    login(page, disk_server)
    open_file(page, disk_server, bucket, "big.h5")
    page.click('[data-path="/huge"]')
    page.click("button[role=tab]:has-text('Line')")
    mark = traffic.mark()
    x, _, value = hover_value(page, 0.5, 0.5)
    data = [(u, n) for u, n in traffic.since(0) if "/data?" in u and "huge" in u]
    print(f"line plot of a 10^8-element dataset: {data}")
    assert all("selection=" in u for u, _ in data) and data
    # 10,000 columns are more than a heatmap can draw (a texture of at most
    # 8192 here) in the budget, so the page shows an overview: every step-th
    # element, of the first row here (overview.js).
    step = _overview_step(page, "/huge", 10_000)
    line = [n for u, n in data if _selection(u) == f"0,::{step}"]
    assert line == [row[::step].nbytes]                 # one strided row
    assert value == pytest.approx(row[::step][x], rel=1e-3, abs=1e-3)
    assert sum(n for _, n in data) < 10 * row.nbytes    # never the 400 MB dataset
    del mark


def _selection(url: str) -> str | None:
    """The ``selection`` parameter of a data API request."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query).get("selection", [None])[0]


def _overview_step(page: Any, path: str, length: int) -> int:
    """The step of the overview the page's note announces for ``path`` (an
    axis of ``length``)."""
    note = page.locator(f'[data-overview="{path}"]')
    note.wait_for()
    m = re.search(r"shown as (\d+)\D.*\(every (\d+)", note.inner_text())
    assert m, note.inner_text()
    shown, step = int(m.group(1)), int(m.group(2))
    assert step > 1 and shown == -(-length // step)
    return step


@pytest.fixture(scope="module")
def giant(disk_server: Any, bucket: str) -> dict[str, Any]:
    """A 20000 x 20000 float32 dataset (1.6 GB were it written) holding two
    values, the rest fill value (never stored): 7.0 on a point every overview
    step (a multiple of 20) takes, -5.0 on one none takes."""
    with h5py.File(f"swift://{bucket}/giant.h5", "w") as f:
        d = f.create_dataset("img", shape=(20_000, 20_000), dtype="f4", chunks=(1000, 1000))
        d[4000, 8000] = 7.0
        d[1, 1] = -5.0
    return {"shape": (20_000, 20_000)}


def test_heatmap_of_a_dataset_too_large_to_draw_is_an_overview(page: Any, disk_server: Any, bucket: str,
                                                             giant: dict[str, Any], tmp_path: Path) -> None:
    """H5Web asks for the whole 2-D slice: 1.6 GB here, a blank plot (larger than
    any texture) after 35 s, or a 413 past the API's 2 GiB. The page shows it as
    a strided overview within 128 MiB, says so, and the numbers are the data's
    at those points."""
    traffic = Traffic(page)
    login(page, disk_server)
    open_file(page, disk_server, bucket, "giant.h5")
    start = time.perf_counter()
    page.click('[data-path="/img"]')
    low, high = bounds(page)
    elapsed = time.perf_counter() - start
    step = _overview_step(page, "/img", 20_000)
    data = [(u, n) for u, n in traffic.since(0) if "/data?" in u]
    print(f"20000 x 20000 float32 heatmap as an overview (every {step}): {elapsed:.2f} s, {data}")
    assert [n for _, n in data] == [(-(-20_000 // step)) ** 2 * 4]
    assert data[0][1] <= 128 << 20 and _selection(data[0][0]) == f"::{step},::{step}"
    assert (low, high) == (0.0, 7.0)  # the point on the grid is shown, the one off it is not
    assert page.locator("text=Too large to show whole").count() == 1
    shot(page, tmp_path, "overview-heatmap")


def test_page_without_a_build_says_how_to_build(disk_server: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The server serves what is in SCISWIFT_BROWSE_DIR; an empty folder gets
    the page telling how to build it (tested in-process on the site module)."""
    from multidict import CIMultiDict

    from sciswift.server.dataapi import site
    from sciswift.server.http import BytesBody, SwiftRequest

    monkeypatch.setenv("SCISWIFT_BROWSE_DIR", str(tmp_path))
    req = SwiftRequest("GET", "/browse/", SwiftRequest.parse_query(""), CIMultiDict(), BytesBody())
    reply = site.serve_file(req)
    assert reply.status == 200 and b"make web" in reply.body  # type: ignore[operator]
    assert "make web" in site.banner_line("http://h:1")
    built = tmp_path / "index.html"
    built.write_text("<html>app</html>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.js").write_text("1")
    assert site.serve_file(req).body == b"<html>app</html>"
    deep = SwiftRequest("GET", "/browse/assets/a.js", SwiftRequest.parse_query(""), CIMultiDict(), BytesBody())
    r = site.serve_file(deep)
    assert r.body == b"1" and "immutable" in r.headers["Cache-Control"]
    escape = SwiftRequest("GET", "/browse/../../etc/passwd", SwiftRequest.parse_query(""), CIMultiDict(),
                          BytesBody())
    assert site.serve_file(escape).status == 404
    shutil.rmtree(tmp_path / "assets")

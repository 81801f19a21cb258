"""The data API against a real ``sciswift serve`` (LocalStore): metadata,
attributes, slices in every format, the errors, and authorization through the
Swift API (tokens, other accounts, public-read ACLs, temp URLs once the server
announces them)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from typing import Any

import numpy as np
import pytest

from .conftest import ACCOUNT, Api


def test_root_metadata_lists_children_with_types(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    meta = api.json("meta", file=f"{bucket}/run1.h5", path="/")
    assert meta["kind"] == "group" and meta["name"] == ""
    assert [a["name"] for a in meta["attributes"]] == ["title"]
    children = {c["name"]: c for c in meta["children"]}
    assert set(children) == {"g", "line", "table"}
    assert children["line"]["shape"] == [1000]
    assert children["line"]["type"] == {"class": 1, "dtype": "<f4", "size": 4, "order": 0}
    table_type = children["table"]["type"]
    assert table_type["class"] == 6 and [m["name"] for m in table_type["members"]] == ["a", "b", "c"]


def test_dataset_metadata_chunks_filters_links(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    g = api.json("meta", file=f"{bucket}/run1.h5", path="/g")
    children = {c["name"]: c for c in g["children"]}
    grid = children["grid"]
    assert grid["shape"] == [40, 50] and grid["chunks"] == [10, 50]
    assert grid["filters"] == [{"id": 2, "name": "shuffle"}, {"id": 1, "name": "deflate"}]
    assert children["alias"]["kind"] == "dataset"  # a valid soft link is resolved
    assert children["broken"] == {"kind": "soft_link", "name": "broken", "target_path": "/nowhere"}
    raw = api.json("meta", file=f"{bucket}/run1.h5", path="/g/alias", resolve_links="none")
    assert raw == {"kind": "soft_link", "name": "alias", "target_path": "/g/grid"}


def test_attributes(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    assert api.json("attr", file=f"{bucket}/run1.h5", path="/g/grid") == {"units": "m/s", "scale": 0.5}
    assert api.json("attr", file=f"{bucket}/run1.h5", path="/g/grid", attr_keys=["units"]) == {"units": "m/s"}


@pytest.mark.parametrize("selection, index", [
    ("0:3, ::10", np.s_[0:3, ::10]), ("[5, :]", np.s_[5, :]), ("-1", np.s_[-1]),
    ("..., 7", np.s_[..., 7]), ("10:2", np.s_[10:2]), ("35:100, 48:", np.s_[35:100, 48:]), (None, np.s_[()]),
])
def test_slices_match_numpy(api: Api, bucket: str, sample: dict[str, Any], selection: str | None,
                            index: Any) -> None:
    expected = sample["grid"][index]
    got = api.npy(file=f"{bucket}/run1.h5", path="/g/grid", selection=selection)
    np.testing.assert_array_equal(got, expected)
    as_json = api.json("data", file=f"{bucket}/run1.h5", path="/g/grid", selection=selection)
    np.testing.assert_array_equal(np.array(as_json, dtype="f4").reshape(expected.shape), expected)


def test_bin_and_safe_dtype_and_headers(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    resp = api.get("data", file=f"{bucket}/sky/m13.fits", path="/PRIMARY/data", selection="1:3, 0:5",
                   format="bin", dtype="safe")
    assert resp.status == 200
    assert resp.headers["X-Sciswift-Dtype"] == "<i2" and resp.headers["X-Sciswift-Shape"] == "2,5"
    got = np.frombuffer(resp.data, "<i2").reshape(2, 5)
    np.testing.assert_array_equal(got, sample["image"][1:3, 0:5])


def test_flattened_compound_table_and_csv(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    rows = api.json("data", file=f"{bucket}/run1.h5", path="/table", flatten="true")
    assert rows == [[1, 2.5, "ab"], [2, -1.0, "cd"]]
    resp = api.get("data", file=f"{bucket}/run1.h5", path="/g/grid", selection="0:2, 0:3", format="csv")
    assert resp.status == 200
    lines = resp.data.decode().splitlines()
    assert [[float(v) for v in line.split(",")] for line in lines] == sample["grid"][0:2, 0:3].tolist()


@pytest.mark.parametrize("path, selection, expected", [
    ("/g/grid", "3, 7", lambda s: [s["grid"][3, 7]]),  # indices only: one value
    ("/line", "-1", lambda s: [s["line"][-1]]),
    ("/line", "0:3", lambda s: s["line"][0:3].tolist()),  # 1-D: one value a line
])
def test_csv_of_single_values_is_one_line(api: Api, bucket: str, sample: dict[str, Any], path: str,
                                          selection: str, expected: Any) -> None:
    # A 0-d answer (a selection of indices only, a 0-d dataset) used to fail
    # inside the CSV writer with an internal error.
    resp = api.get("data", file=f"{bucket}/run1.h5", path=path, selection=selection, format="csv")
    assert resp.status == 200, resp.data
    assert [float(v) for v in resp.data.decode().splitlines()] == pytest.approx(expected(sample))


def test_fits_tree_and_table(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    meta = api.json("meta", file=f"{bucket}/sky/m13.fits", path="/")
    assert {c["name"] for c in meta["children"]} >= {"PRIMARY", "STARS"}
    assert api.json("attr", file=f"{bucket}/sky/m13.fits", path="/PRIMARY", attr_keys=["OBJECT"]) == {
        "OBJECT": "M13"}
    paths = api.json("paths", file=f"{bucket}/sky/m13.fits")
    assert "/PRIMARY/data" in paths and paths[0] == "/"


def test_stats_of_a_selection(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    stats = api.json("stats", file=f"{bucket}/run1.h5", path="/g/cube", selection="1")
    plane = sample["cube"][1]
    assert stats["min"] == pytest.approx(plane.min()) and stats["max"] == pytest.approx(plane.max())
    assert stats["mean"] == pytest.approx(plane.mean()) and stats["std"] == pytest.approx(plane.std())
    assert stats["strict_positive_min"] == pytest.approx(plane[plane > 0].min())


@pytest.mark.parametrize("selection, words", [
    ("0:3, ::0", ["step 0", "axis 1"]),
    ("40", ["index 40", "out of range", "axis 0 of size 40"]),
    ("1, 2, 3", ["3 members", "2 dimensions"]),
    ("a:b", ["not an integer"]),
    ("..., 1, ...", ["only one '...'"]),
    ("1::-1", ["step -1"]),
    ("0,,1", ["empty member"]),
])
def test_bad_selections_are_400_with_a_message(api: Api, bucket: str, sample: dict[str, Any], selection: str,
                                               words: list[str]) -> None:
    resp = api.get("data", file=f"{bucket}/run1.h5", path="/g/grid", selection=selection)
    assert resp.status == 400
    assert resp.headers["Content-Type"].startswith("application/json")
    message = json.loads(resp.data)["message"]
    for w in words:
        assert w in message, message


@pytest.mark.parametrize("params, status, words", [
    ({"file": "{b}/run1.h5", "path": "/nope"}, 404, ["/nope is not a valid path"]),
    ({"file": "{b}/missing.h5", "path": "/"}, 404, ["File not found"]),
    ({"path": "/"}, 400, ["missing parameter 'file'"]),
    ({"file": "{b}/run1.h5", "path": "/g", "format": "xml"}, 400, ["format='xml'"]),
    ({"file": "{b}/run1.h5", "path": "/g"}, 400, ["/g is a group, not a dataset"]),
    ({"file": "{b}/run1.h5", "path": "/table", "dtype": "safe"}, 400, ["numeric data only"]),
    ({"file": "{b}/run1.h5", "path": "/g/cube", "format": "csv"}, 400, ["1-D or 2-D"]),
    # No name in a file holds NUL: a clear 400, not the h5py layer's ValueError as a 500.
    ({"file": "{b}/run1.h5", "path": "/g/\x00x"}, 400, ["NUL character"]),
    ({"file": "{b}/run1.h5", "path": "/g/\x00x", "format": "json"}, 400, ["NUL character"]),
])
def test_bad_requests_are_clear_json(api: Api, bucket: str, sample: dict[str, Any], params: dict[str, str],
                                     status: int, words: list[str]) -> None:
    filled = {k: v.format(b=bucket) for k, v in params.items()}
    resp = api.get("data" if "format" in params or params.get("path") in ("/g", "/table", "/g/cube") else "meta",
                   **filled)
    assert resp.status == status, resp.data
    message = json.loads(resp.data)["message"]
    for w in words:
        assert w in message, message


def test_unknown_endpoint_and_writes_refused(api: Api) -> None:
    resp = api.get("write", file="x/y")
    assert resp.status == 404 and "no endpoint 'write'" in json.loads(resp.data)["message"]
    r = api.http.request("PUT", f"{api.server.url}/api/v1/{ACCOUNT}/data/?file=x/y", body=b"x",
                         headers={"X-Auth-Token": api.token}, retries=False)
    assert r.status == 405 and "read-only" in json.loads(r.data)["message"]


def test_a_format_without_plugin_is_415(api: Api, bucket: str, disk_server: Any) -> None:
    conn = disk_server.connection()
    conn.put_object(bucket, "notes.txt", b"just words\n")
    conn.close()
    resp = api.get("meta", file=f"{bucket}/notes.txt")
    assert resp.status == 415
    assert "no format plugin recognises" in json.loads(resp.data)["message"]


def test_a_new_version_of_a_blob_is_read_afresh(api: Api, bucket: str, disk_server: Any) -> None:
    from astropy.io import fits

    from .conftest import fits_bytes

    conn = disk_server.connection()
    conn.put_object(bucket, "v.fits", fits_bytes(fits.PrimaryHDU(np.zeros((2, 2), ">f4"))))
    assert api.json("data", file=f"{bucket}/v.fits", path="/PRIMARY/data") == [[0, 0], [0, 0]]
    conn.put_object(bucket, "v.fits", fits_bytes(fits.PrimaryHDU(np.ones((2, 2), ">f4"))))
    conn.close()
    assert api.json("data", file=f"{bucket}/v.fits", path="/PRIMARY/data") == [[1, 1], [1, 1]]


# ------------------------------------------------------------------ authorization
def test_no_token_is_401_and_bad_token_401(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    resp = api.get("meta", token=None, file=f"{bucket}/run1.h5")
    assert resp.status == 401 and "log in" in json.loads(resp.data)["message"]
    resp = api.get("meta", token="AUTH_tkbogus", file=f"{bucket}/run1.h5")
    assert resp.status == 401


def test_other_users_are_refused_unless_an_acl_lets_them(api: Api, disk_server: Any, fresh_container: Any) -> None:
    """test:tester3 (no rights) is refused (403) until the container's read ACL
    names it, exactly as for GET /v1/...; listings need .rlistings too."""
    import sciswift.h5py as h5py

    name = fresh_container()
    with h5py.File(f"swift://{name}/f.h5", "w") as f:
        f["x"] = np.arange(5)
    _, other = disk_server.auth("test:tester3", "testing3")
    assert api.get("meta", token=other, file=f"{name}/f.h5").status == 403
    assert api.get("ls", token=other, container=name).status == 403
    conn = disk_server.connection()
    conn.post_container(name, headers={"X-Container-Read": "test:tester3"})
    conn.close()
    time.sleep(2.1)  # the server's container-info cache lives 2 s
    assert api.json("data", token=other, file=f"{name}/f.h5", path="/x") == [0, 1, 2, 3, 4]
    _, foreign = disk_server.auth("test2:tester2", "testing2")
    assert api.get("meta", token=foreign, file=f"{name}/f.h5").status == 403


def test_public_read_container_needs_no_token(api: Api, disk_server: Any, fresh_container: Any,
                                              sample: dict[str, Any]) -> None:
    import sciswift.h5py as h5py

    name = fresh_container({"X-Container-Read": ".r:*,.rlistings"})
    with h5py.File(f"swift://{name}/pub.h5", "w") as f:
        f["v"] = np.arange(6).reshape(2, 3)
    assert api.json("data", token=None, file=f"{name}/pub.h5", path="/v", selection="1") == [3, 4, 5]
    listing = api.json("ls", token=None, container=name)
    assert listing["entries"] == [{"name": "pub.h5/", "kind": "file", "format": "native"}]


def test_temp_url_reads_one_file_without_a_token(api: Api, disk_server: Any, bucket: str,
                                                 sample: dict[str, Any]) -> None:
    """Once the server implements Swift's tempurl (announced in /info), a temp
    URL for the object opens it through the data API with no token."""
    info = json.loads(disk_server.raw("GET", "/info")[1])
    if "tempurl" not in info:
        pytest.skip("this server does not implement temp URLs yet (no 'tempurl' in /info)")
    conn = disk_server.connection()
    conn.post_account(headers={"X-Account-Meta-Temp-URL-Key": "sekrit"})
    conn.close()
    path = f"/v1/{ACCOUNT}/{bucket}/sky/m13.fits"
    expires = int(time.time() + 600)
    sig = hmac.new(b"sekrit", f"GET\n{expires}\n{path}".encode(), hashlib.sha256).hexdigest()
    got = api.json("data", token=None, file=f"{bucket}/sky/m13.fits", path="/PRIMARY/data", selection="0, 0:4",
                   temp_url_sig=sig, temp_url_expires=str(expires))
    assert got == sample["image"][0, 0:4].tolist()
    bad = api.get("data", token=None, file=f"{bucket}/sky/m13.fits", path="/PRIMARY/data",
                  temp_url_sig="0" * 64, temp_url_expires=str(expires))
    assert bad.status == 401


def test_temp_url_opens_a_native_file_only_when_it_signs_the_whole_prefix(
        api: Api, disk_server: Any, bucket: str, sample: dict[str, Any]) -> None:
    """A native file is every object under its prefix: a prefix temp URL of
    ``run1.h5/`` (or shorter) opens it; a temp URL of its ``zarr.json`` alone,
    or of a prefix inside it, does not (the chunks beside the signed object
    would be read on its strength)."""
    import sciswift.h5py as h5py

    info = json.loads(disk_server.raw("GET", "/info")[1])
    if "tempurl" not in info:
        pytest.skip("this server does not implement temp URLs (no 'tempurl' in /info)")
    conn = disk_server.connection()
    conn.post_account(headers={"X-Account-Meta-Temp-URL-Key": "sekrit"})
    conn.close()
    expires = int(time.time() + 600)

    def signed(path: str) -> str:
        return hmac.new(b"sekrit", f"GET\n{expires}\n{path}".encode(), hashlib.sha256).hexdigest()

    base = f"/v1/{ACCOUNT}/{bucket}/"
    for prefix in ("run", "", "run1.h5/"):
        got = api.json("data", token=None, file=f"{bucket}/run1.h5", path="/line", selection="0:3",
                       temp_url_sig=signed(f"prefix:{base}{prefix}"), temp_url_expires=str(expires),
                       temp_url_prefix=prefix)
        assert got == pytest.approx(sample["line"][0:3].tolist())
    marker_only = api.get("data", token=None, file=f"{bucket}/run1.h5", path="/line",
                          temp_url_sig=signed(f"{base}run1.h5/zarr.json"), temp_url_expires=str(expires))
    assert marker_only.status == 401, marker_only.data[:300]
    # A whole container as one native file: its marker is the container's
    # zarr.json, whose own temp URL must not open the rest of the container.
    whole = f"{bucket}-whole"
    with h5py.File(f"swift://{whole}", "w") as f:
        f["line"] = sample["line"][:5]
    root = f"/v1/{ACCOUNT}/{whole}/"
    root_marker = api.get("data", token=None, file=whole, path="/line",
                          temp_url_sig=signed(f"{root}zarr.json"), temp_url_expires=str(expires))
    assert root_marker.status == 403, root_marker.data[:300]
    got = api.json("data", token=None, file=whole, path="/line", temp_url_sig=signed(f"prefix:{root}"),
                   temp_url_expires=str(expires), temp_url_prefix="")
    assert got == pytest.approx(sample["line"][:5].tolist())
    inner = "run1.h5/zarr"
    partial = api.get("data", token=None, file=f"{bucket}/run1.h5", path="/line",
                      temp_url_sig=signed(f"prefix:{base}{inner}"), temp_url_expires=str(expires),
                      temp_url_prefix=inner)
    assert partial.status == 401, partial.data[:300]


def test_listing_classifies_entries(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    top = api.json("ls", container=bucket)
    kinds = {e["name"]: (e["kind"], e["format"]) for e in top["entries"]}
    assert kinds["run1.h5/"] == ("file", "native") and kinds["sky/"] == ("folder", None)
    sky = api.json("ls", container=bucket, prefix="sky/")
    assert [(e["name"], e["format"]) for e in sky["entries"]] == [("sky/m13.fits", "fits")]
    accounts = api.json("ls")
    assert bucket in [e["name"] for e in accounts["entries"]]


def test_npy_export_roundtrip_of_a_3d_slice(api: Api, bucket: str, sample: dict[str, Any]) -> None:
    resp = api.get("data", file=f"{bucket}/run1.h5", path="/g/cube", selection="2, 5:9, ::7", format="npy")
    assert 'filename="cube.npy"' in resp.headers["Content-Disposition"]
    np.testing.assert_array_equal(np.load(io.BytesIO(resp.data)), sample["cube"][2, 5:9, ::7])


def test_a_selection_over_the_limit_is_413_naming_a_step_that_fits(api: Api, bucket: str, disk_server: Any) -> None:
    """20000 x 20000 float64 (3.2 GB, none of it stored but two points): the
    whole of it is refused with the limit and the strided selection that fits,
    which then answers (a coarser one here, to keep the test small)."""
    import sciswift.h5py as h5py

    with h5py.File(f"swift://{bucket}/giant.h5", "w") as f:
        d = f.create_dataset("img", shape=(20_000, 20_000), dtype="f8", chunks=(1000, 1000))
        d[4000, 8000] = 7.0
    resp = api.get("data", file=f"{bucket}/giant.h5", path="/img", format="bin")
    assert resp.status == 413
    message = json.loads(resp.data)["message"]
    assert "3200000000 bytes" in message and "2147483648" in message and "selection='::2, ::2'" in message
    got = api.npy(file=f"{bucket}/giant.h5", path="/img", selection="::40, ::40")
    assert got.shape == (500, 500) and got[100, 200] == 7.0 and got.sum() == 7.0

"""The Python analysis stack through the router, compared with the same program on
local files: anndata's .h5ad I/O (its registry dispatches on ``type(group)``,
so it needs h5py's exact classes) and a netCDF-4 file uploaded as one object,
read by xarray's h5netcdf engine and h5py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compat.h5run import PROGRAMS, Way, assert_same, h5py_way, localstore_way, mount_point, serve_way
from sciswift.store import LocalStore, SwiftStore

pytest.importorskip("anndata")
pytest.importorskip("h5netcdf")

SITE = Path(np.__file__).parents[1]
GOES = SITE / "sunpy/data/test/sci_xrsf-l2-avg1m_g16_d20210101_truncated.nc"


def _digest(way: Way, argv: list[str]) -> list[str]:
    return way.normalise(way.run(argv).stdout).splitlines()


def test_anndata_h5ad_on_localstore(tmp_path: Path) -> None:
    program = str(PROGRAMS / "anndata_h5ad.py")
    ref, ways = h5py_way(tmp_path), localstore_way(tmp_path)
    reference = _digest(ref, [program, ref.workdir])
    assert any(line.startswith("backed: True") for line in reference)
    assert_same(reference, _digest(ways, [program, ways.workdir]), "anndata_h5ad digest")


def test_anndata_h5ad_on_serve(tmp_path: Path, sciswift_server: object) -> None:
    program = str(PROGRAMS / "anndata_h5ad.py")
    ref, way = h5py_way(tmp_path), serve_way(sciswift_server)
    assert_same(_digest(ref, [program, ref.workdir]), _digest(way, [program, way.workdir]), "anndata_h5ad digest")


def _put_blob(way: Way, tmp_path: Path, name: str, data: bytes, server: object = None) -> None:
    """Put ``data`` where ``way``'s workdir/``name`` reaches it: as one object in
    the mounted store (or as a local file for the reference)."""
    if not way.mounts:
        Path(way.workdir, name).write_bytes(data)
        return
    target = way.mounts[0].split("=", 1)[1]
    if target.startswith("file://"):
        container_dir = Path(target[len("file://"):])
        store = LocalStore(container_dir.parent, mark_root=True)
        store.create_container(container_dir.name)
        store.put_object(container_dir.name, name, data)
    else:
        container, prefix = target[len("swift://"):].split("/", 1)
        store = SwiftStore(server.auth_url, server.user, server.key)  # type: ignore[attr-defined]
        store.create_container(container)
        store.put_object(container, f"{prefix}/{name}", data)
    store.close()


def _netcdf_c_file(path: Path) -> None:
    netCDF4 = pytest.importorskip("netCDF4")
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", None)
        nc.createDimension("x", 3)
        nc.createDimension("spare", 2)
        t = nc.createVariable("time", "i4", ("time",))
        t.units = "days since 2001-01-01"
        t[:] = [0, 1]
        nc.createVariable("x", "f4", ("x",))[:] = [1, 2, 3]
        v = nc.createVariable("v", "f8", ("time", "x"), zlib=True, fill_value=-9.0)
        v.coordinates = "label"
        v[:] = np.arange(6.0).reshape(2, 3)
        nc.createVariable("label", str, ("x",))[:] = np.array(["p", "q", "r"], dtype=object)


@pytest.mark.parametrize("where", ["localstore", "serve"])
def test_netcdf4_object_through_the_router(tmp_path: Path, where: str, request: pytest.FixtureRequest) -> None:
    made = tmp_path / "made.nc"
    _netcdf_c_file(made)
    server = request.getfixturevalue("sciswift_server") if where == "serve" else None
    ref = h5py_way(tmp_path)
    # Objects in a container of a LocalStore account (a marked root), as `sciswift serve` keeps them.
    point = mount_point()
    way = (Way("localstore", point, (f"{point}={(tmp_path / 'acct' / 'nc').as_uri()}",)) if where == "localstore"
           else serve_way(server))
    program = str(PROGRAMS / "netcdf4_object.py")
    for name, source in (("goes.nc", GOES), ("made.nc", made)):
        for w in (ref, way):
            _put_blob(w, tmp_path, name, source.read_bytes(), server)
        reference = _digest(ref, [program, ref.workdir, name])
        assert not any("phony_dim" in line for line in reference)
        assert_same(reference, _digest(way, [program, way.workdir, name]), f"netcdf4_object {name}")

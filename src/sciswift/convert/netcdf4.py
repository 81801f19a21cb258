"""netCDF-4 export: an HDF5 file (written by the tree copier) finished with the
netCDF-4 conventions, so netCDF-C, netCDF4-python, h5netcdf and xarray read it
with its dimensions.

netCDF-4 *is* HDF5: variables are datasets, dimensions are dimension scales,
attributes are attributes, and every dtype h5py writes (int64, vlen strings,
compound, enum ...) is a netCDF-4 type. What the copy alone may lack:

- dimensions for axes with no dimension scale attached: named by the variable's
  ``_dims`` attribute (a file imported from netCDF-3 has one) or its dimension
  label (``dims[i].label``, the Zarr ``dimension_names`` that xarray and zarr
  write); the variable of that name becomes the coordinate if it is 1-D of the
  right length, otherwise a dimension-only scale is made, as netCDF-C makes it;
- ``_Netcdf4Dimid`` on each dimension (netCDF-C orders dimensions by it);
- ``_NCProperties`` on the root group (which library wrote the file).

Axes with neither a scale nor a name stay as they are: netCDF readers give them
``phony_dim_N`` dimensions, as they do for any HDF5 file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["finish_netcdf4", "DIMENSION_ONLY"]

#: The NAME netCDF-C gives a dimension that is not also a variable.
DIMENSION_ONLY = "This is a netCDF dimension but not a netCDF variable."


def finish_netcdf4(f: Any) -> list[str]:
    """Apply the conventions above to the open h5py File ``f`` (mode "w");
    returns notes for what could not be named."""
    import h5py

    import sciswift

    notes: list[str] = []
    groups: list[Any] = [f]
    f.visititems(lambda _name, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
    for group in groups:
        _name_dimensions(group, notes)
    dimid = 0
    for group in groups:
        for name in group:
            obj = group.get(name)
            if isinstance(obj, h5py.Dataset) and h5py.h5ds.is_scale(obj.id):
                if "_Netcdf4Dimid" not in obj.attrs:
                    obj.attrs.create("_Netcdf4Dimid", dimid, dtype="i4")
                dimid += 1
    if "_NCProperties" not in f.attrs:
        hdf5 = ".".join(str(v) for v in h5py.version.hdf5_version_tuple)
        text = f"version=2,sciswift={sciswift.__version__},hdf5={hdf5}".encode("ascii")
        f.attrs.create("_NCProperties", np.bytes_(text), dtype=h5py.string_dtype("ascii", len(text)))
    return notes


def _name_dimensions(group: Any, notes: list[str]) -> None:
    import h5py

    for name in list(group):
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            continue
        ds = group[name]
        if not isinstance(ds, h5py.Dataset) or ds.shape is None or h5py.h5ds.is_scale(ds.id):
            continue
        given = ds.attrs.get("_dims")
        for axis, length in enumerate(ds.shape):
            if len(ds.dims[axis]):
                continue
            dim = None
            if given is not None and axis < len(given):
                dim = given[axis].decode() if isinstance(given[axis], bytes) else str(given[axis])
            dim = dim or ds.dims[axis].label
            if not dim:
                continue
            scale = _scale_for(group, dim, length, ds.name, notes)
            if scale is not None and scale.id != ds.id:
                # A coordinate variable (its one dimension named as itself) is made a
                # scale and is not attached to itself: HDF5 refuses that
                # (H5DSattach_scale fails), and netCDF-C does not attach it either.
                ds.dims[axis].attach_scale(scale)
        if given is not None:
            del ds.attrs["_dims"]


def _scale_for(group: Any, dim: str, length: int, user: str, notes: list[str]) -> Any:
    """The dimension scale ``dim`` of length ``length`` in ``group``, made if
    needed; None (with a note) if a member of that name cannot be one."""
    import h5py

    existing = group.get(dim)
    if existing is None:
        scale = group.create_dataset(dim, shape=(length,), dtype="f4")
        scale.make_scale(f"{DIMENSION_ONLY}{length:10d}")
        return scale
    if isinstance(existing, h5py.Dataset) and existing.shape == (length,):
        if not h5py.h5ds.is_scale(existing.id):
            existing.make_scale(dim)
        return existing
    notes.append(f"{user}: dimension {dim!r} is not attached: {existing.name} is not a 1-D variable of "
                 f"length {length}")
    return None

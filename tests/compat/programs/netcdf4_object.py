"""A netCDF-4 file read with xarray (engine="h5netcdf") and h5py: dimensions from
its dimension scales, coordinates, CF decoding, netCDF's own attributes."""
import sys

import h5py
import numpy as np
import xarray as xr

path = f"{sys.argv[1]}/{sys.argv[2]}"
ds = xr.open_dataset(path, engine="h5netcdf")
print(ds)
print("dims:", dict(ds.sizes), "coords:", sorted(ds.coords))
for name, var in sorted(ds.variables.items()):
    values = var.values
    digest = values.tolist() if values.size < 8 else [values.ravel()[:3].tolist(), str(values.dtype)]
    print(name, var.dims, str(var.dtype), digest, sorted(var.attrs.items()))
ds.close()
with h5py.File(path, "r") as f:
    def show(name, obj):
        attrs = {k: (repr(obj.attrs[k]) if k not in ("DIMENSION_LIST", "REFERENCE_LIST") else "refs")
                 for k in obj.attrs}
        scales = [[s.name for s in d.values()] for d in obj.dims] if isinstance(obj, h5py.Dataset) else None
        print(name, type(obj).__name__, getattr(obj, "shape", None), attrs, scales,
              h5py.h5ds.is_scale(obj.id) if isinstance(obj, h5py.Dataset) else None)
    f.visititems(show)
    print(sorted(f.attrs), np.asarray(f[list(f)[0]][...]).dtype)

"""xarray writing and reading netCDF4 through h5netcdf (which opens files with h5py.File)."""
import sys

import numpy as np
import xarray as xr

d = sys.argv[1]
path = f"{d}/climate.nc"
time = np.arange(4)
ds = xr.Dataset(
    {
        "temperature": (("time", "x"), np.arange(12, dtype="f4").reshape(4, 3) + 0.5, {"units": "K"}),
        "count": (("x",), np.array([1, 2, 3], dtype="i4")),
        "label": (("x",), np.array(["a", "bb", "ccc"], dtype=object)),
    },
    coords={"time": ("time", time, {"calendar": "none"}), "x": ("x", np.array([10.0, 20.0, 30.0]))},
    attrs={"title": "router test", "version": 3},
)
ds.to_netcdf(path, engine="h5netcdf")
back = xr.open_dataset(path, engine="h5netcdf")
print(back)
print("equal:", back.identical(ds) or back.equals(ds))
print("temperature:", back["temperature"].values.tolist())
print("labels:", back["label"].values.tolist())
print("attrs:", dict(back.attrs), dict(back["temperature"].attrs))
back.close()

"""Coordinates as HDF5 dimension scales: make_scale, attach, labels, lookup."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    time = f.create_dataset("time", data=np.arange(5) * 0.5)
    lat = f.create_dataset("lat", data=np.linspace(-45, 45, 4))
    lon = f.create_dataset("lon", data=np.linspace(0, 90, 3))
    alt_lat = f.create_dataset("lat_index", data=np.arange(4))
    temp = f.create_dataset("temp", data=np.arange(60, dtype="f4").reshape(5, 4, 3))
    time.make_scale("time")
    lat.make_scale("latitude")
    lon.make_scale()
    alt_lat.make_scale("index")
    temp.dims[0].attach_scale(time)
    temp.dims[1].attach_scale(lat)
    temp.dims[1].attach_scale(alt_lat)
    temp.dims[2].attach_scale(lon)
    temp.dims[0].label = "t"
    temp.dims[2].label = "x"
    temp.dims[1].detach_scale(alt_lat)
    temp.dims[1].attach_scale(alt_lat)

with h5py.File(path, "r") as f:
    temp = f["temp"]
    print("ndims:", len(temp.dims), [d.label for d in temp.dims])
    for i, dim in enumerate(temp.dims):
        print(f"dim {i}: n={len(dim)} keys={dim.keys()} first={dim[0].name}",
              [v.name for v in dim.values()], [k for k, _ in dim.items()])
        print("   values:", dim[0][...].tolist())
    print("by name:", temp.dims[1]["index"][...].tolist())
    print("is scale:", [h5py.h5ds.is_scale(f[n].id) for n in ("time", "lat", "temp")])
    print("scale attrs:", sorted(k for k in f["lat"].attrs.keys()))
    print("class attr:", f["lat"].attrs["CLASS"], f["lat"].attrs["NAME"])
    print("is_scale prop:", f["lon"].is_scale, temp.is_scale)
    print("temp attrs:", sorted(temp.attrs.keys()))

"""astropy Table.write(format='hdf5') and Table.read: the path= inside the file,
serialize_meta with units and descriptions, appending a second table, overwrite."""
import sys
import warnings

import h5py
import numpy as np
from astropy import units as u
from astropy.table import Table

warnings.simplefilter("ignore")
path = sys.argv[1]
t = Table()
t["id"] = np.arange(5)
t["flux"] = np.linspace(0.5, 2.5, 5) * u.Jy
t["flux"].description = "peak flux"
t["name"] = ["a", "bb", "ccc", "dd", "e"]
t.meta["observer"] = "K. L."
t.meta["run"] = 17
t.write(path, format="hdf5", path="catalog/v1", serialize_meta=True)
(t[:2]).write(path, format="hdf5", path="catalog/v2", append=True)
t2 = Table.read(path, format="hdf5", path="catalog/v1")
print(t2.colnames, t2["flux"].unit, t2["flux"].description, dict(t2.meta))
print(t2["name"].tolist(), t2["flux"].value.tolist())
# format= given: astropy would otherwise sniff the first bytes with open(), which sees
# the local filesystem, not the mount
t3 = Table.read(path, format="hdf5", path="catalog/v2")
print(len(t3), t3["id"].tolist())
t[:1].write(path, format="hdf5", path="catalog/v2", append=True, overwrite=True)
print(len(Table.read(path, format="hdf5", path="catalog/v2")))
with h5py.File(path, "r") as f:
    names = []
    f.visit(names.append)
    print(sorted(names))
    print(f["catalog/v1"].dtype.names, f["catalog/v1"].shape)

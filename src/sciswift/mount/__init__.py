"""``sciswift mount``: the store as a file system (FUSE), for programs that read
and write files themselves: C, C++ and Fortran HDF5 programs, MPI-IO, h5dump,
ncdump, and Python libraries with their own HDF5/netCDF C libraries.

Modules, from the kernel down:

- ``fs``: the FUSE operations (mfusepy over libfuse3), errno answers;
- ``session``: the live state of a mount and the semantics (close-to-open);
- ``namespace``: paths <-> containers and object names, listings;
- ``openfile``: one open file's staged writes; ``uploader``: commits (single PUT
  or static large object with only the changed segments re-sent);
- ``reader`` and ``cache``: ranged GETs, read-ahead, the bounded block cache;
- ``native``: native sciswift files shown as read-only HDF5 files;
- ``daemon``: starting in the background, unmounting; ``config``: the options.

See docs/mount.md.
"""

from sciswift.mount.config import MountConfig, parse_size
from sciswift.mount.daemon import MountError, start, unmount

__all__ = ["MountConfig", "MountError", "parse_size", "start", "unmount"]

"""A native sciswift file seen as one read-only HDF5 file, for HDF5's own readers.

    from sciswift.h5view import open_view
    view = open_view(location)        # one GET of the consolidated metadata
    view.size, view.etag              # bytes of the virtual file; metadata version
    view.read(offset, length)         # thread-safe; short only at the end
    view.close()

The first bytes are HDF5 metadata generated from the consolidated metadata in
HDF5 1.8's oldest format (superblock version 0, version-1 object headers,
symbol-table groups, v1 B-tree chunk indexes), followed by one address range
per chunk, served from the chunk objects. Readers: HDF5 1.8 and later (Debian
12's 1.10 tools, C programs, h5py) and netCDF-C. docs/h5view.md lists the
format choices, when chunk bytes pass through unchanged, and what cannot be
presented (``NotExpressible``).

Modules: ``tree`` (the file's objects from its metadata), ``datatypes`` (numpy
dtypes as HDF5 types), ``values`` (element bytes, global heaps), ``structures``
(superblock, headers, messages, heaps, symbol tables), ``chunkindex`` (chunk
B-trees generated on demand), ``passthrough`` (which codecs HDF5's filters
read, and the bytes served for them), ``serving`` (chunk bytes: passed through
or decoded), ``planner`` (addresses), ``view`` (reads).
"""

from sciswift.h5view.errors import NotExpressible, ServeError
from sciswift.h5view.view import HDF5View, open_view

__all__ = ["open_view", "HDF5View", "NotExpressible", "ServeError"]

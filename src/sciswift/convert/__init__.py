"""Converting files into and out of sciswift: the library behind ``sciswift import``
and ``sciswift export`` (the CLI only parses arguments and shows progress).

- ``import_file(source, dest)``: a local HDF5 file, an HDF5 blob, any format a
  plugin reads, or a native file -> a new native file.
- ``export_file(source, dest)``: any of those -> a local file or one stored object,
  as HDF5 (through h5py) or any format whose plugin writes.

Modules: ``endpoints`` (what a URL or path is and how it opens), ``treecopy`` (the
HDF5-model copier), ``apis`` (h5py vs sciswift.h5py differences), ``blocks`` and
``transfer`` (chunk-wise copying with bounded memory and concurrency),
``regions`` (region references), ``nodeview`` (a file as a plugin's node tree),
``progress``, ``describe`` (words for dtypes, shapes and filters, used by
``ls``/``dump``).
"""

from sciswift.convert.api import export_file, export_format, import_file
from sciswift.convert.progress import LogProgress, NullProgress, Progress, RichProgress
from sciswift.convert.treecopy import ConversionError, CopyOptions, CopyReport

__all__ = [
    "import_file",
    "export_file",
    "export_format",
    "ConversionError",
    "CopyOptions",
    "CopyReport",
    "Progress",
    "NullProgress",
    "RichProgress",
    "LogProgress",
]

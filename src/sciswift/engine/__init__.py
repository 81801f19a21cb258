"""The native storage engine: Zarr v3 hierarchies on any Store, on numpy + numcodecs.

- ``Hierarchy``: one file (groups and arrays under a Location), consolidated
  metadata, deferred metadata writes merged safely at flush.
- ``Array``: block reads and writes over the chunk grid, many chunks in flight.
- ``ArrayMeta``, ``build_codecs``, ``describe``: array metadata, h5py filters ->
  Zarr codecs, numpy dtypes -> Zarr data types.

Importing the engine applies ``sciswift.malloc.tune()`` (see there why).
"""

from sciswift import malloc
from sciswift.engine.array import Array, ChunkCache
from sciswift.engine.chunks import guess_chunks
from sciswift.engine.codecs import Pipeline, build_codecs
from sciswift.engine.dtypes import describe, dtype_to_spec, spec_to_dtype
from sciswift.engine.hierarchy import Hierarchy, join, parent_of
from sciswift.engine.kv import KV
from sciswift.engine.metadata import RESERVED, ArrayMeta

malloc.tune()

__all__ = [
    "Array",
    "ArrayMeta",
    "ChunkCache",
    "Hierarchy",
    "KV",
    "Pipeline",
    "RESERVED",
    "build_codecs",
    "describe",
    "dtype_to_spec",
    "guess_chunks",
    "join",
    "parent_of",
    "spec_to_dtype",
]

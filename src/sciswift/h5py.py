"""``import sciswift.h5py as h5py``: the h5py API with files in object stores.

Everything a program uses from h5py's top level is here under the same names:
File, Group, Dataset, Datatype, AttributeManager, the link classes, Empty,
references, the dtype helpers, MultiBlockSlice, virtual dataset classes,
``filters``, ``version`` and ``get_config``. Low-level modules (h5d, h5a, ...)
are not: sciswift has no HDF5 library underneath. Objects have a small ``.id``
stand-in (``sciswift.h5.lowlevel``: types, dataspaces, creation order), and
``h5ds`` (dimension scales) takes those ids as h5py's takes its own. ``h5t``,
``h5r``, ``h5p`` and ``h5s`` are small namespaces: the public names h5py also
exports at top level and the constants the ``.id`` stand-ins answer with.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np

from sciswift import __version__
from sciswift.h5 import *  # noqa: F403 - the API proper
from sciswift.h5 import __all__ as _api
from sciswift.h5 import config as _config
from sciswift.h5 import dtypes as _dtypes
from sciswift.h5 import filters, h5ds, h5py_warnings
from sciswift.h5 import hl as _hl_aliases
from sciswift.h5 import lowlevel as _ll
from sciswift.h5.dtypes import check_complex_dtype, complex_compat_dtype
from sciswift.h5.refs import Reference, RegionReference

__all__ = [
    *_api, "filters", "h5py_warnings", "UNLIMITED", "version", "get_config", "h5t", "h5r", "h5p", "h5s", "h5ds",
    "enable_ipython_completer",
    "complex_compat_dtype", "check_complex_dtype", "__version__",
]


def alias_submodules(package: str) -> None:
    """Make ``import <package>.h5py_warnings`` (and ``.filters``, ``.h5ds`` and
    h5py's private ``._hl.<module>``) work for a module re-exporting this API
    under another name, as h5py's submodules do."""
    sys.modules[package + ".h5py_warnings"] = h5py_warnings
    sys.modules[package + ".filters"] = filters
    sys.modules[package + ".h5ds"] = h5ds
    _hl_aliases.alias(package)


alias_submodules(__name__)


get_config = _config.get_config


version = types.SimpleNamespace(
    version=__version__,
    version_tuple=tuple(int(x) for x in __version__.split(".")[:3]),
    hdf5_version="sciswift",
    hdf5_version_tuple=(0, 0, 0),
    api_version="3.16",
    api_version_tuple=(3, 16),
    numpy_version=np.__version__,
    info=f"sciswift {__version__} (h5py-compatible API), numpy {np.__version__}",
)

#: Public names h5py also exports through its low-level modules, and the
#: constants the ``.id`` stand-ins answer with (sciswift.h5.lowlevel).
h5t = types.SimpleNamespace(**{name: getattr(_dtypes, name) for name in (
    "string_dtype", "vlen_dtype", "enum_dtype", "opaque_dtype", "special_dtype", "check_dtype",
    "check_vlen_dtype", "check_string_dtype", "check_enum_dtype", "check_opaque_dtype", "check_ref_dtype",
    "ref_dtype", "regionref_dtype", "string_info",
)}, **{name: getattr(_ll, name) for name in (
    "INTEGER", "FLOAT", "TIME", "STRING", "BITFIELD", "OPAQUE", "COMPOUND", "REFERENCE", "ENUM", "VLEN", "ARRAY",
    "CSET_ASCII", "CSET_UTF8", "TypeID",
)})
h5r = types.SimpleNamespace(Reference=Reference, RegionReference=RegionReference)
h5p = types.SimpleNamespace(**{name: getattr(_ll, name) for name in (
    "CRT_ORDER_TRACKED", "CRT_ORDER_INDEXED", "COMPACT", "CONTIGUOUS", "CHUNKED", "VIRTUAL",
)})
UNLIMITED = _ll.UNLIMITED
"""h5py.UNLIMITED: a selection count or slice stop meaning "to the current end" (virtual datasets)."""
h5s = types.SimpleNamespace(**{name: getattr(_ll, name) for name in ("ALL", "SCALAR", "SIMPLE", "NULL", "UNLIMITED")})


# What the first open of a native file imports (measured 35-80 ms in a fresh
# process): imported with the module instead, so that opening is I/O only.
import sciswift.h5.identity  # noqa: E402, F401
import sciswift.h5.native  # noqa: E402, F401


def enable_ipython_completer() -> None:
    """Tab completion of members works through ``_ipython_key_completions_``."""


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'sciswift.h5py' has no attribute {name!r}")

"""The h5py-compatible API over sciswift's storage (``sciswift.h5py`` re-exports it).

Files live in object stores: ``File("swift://c/run1.h5", "w")``, ``File("memory://c/x")``,
``File("file:///d/x.h5")`` or a plain path (a LocalStore container of that name).
A name that is one stored object, or a plain path to a regular file, opens
read-only through the format plugins (``sciswift.formats``).

Modules: ``files`` (opening, modes, routing), ``group``, ``dataset``, ``attrs``,
``datatype``, ``dims``, ``vds``; ``selection`` (h5py's indexing rules),
``create`` (create_dataset's arguments), ``convert`` (values to dtypes),
``attrvalues`` (attribute encoding), ``dtypes`` (h5py's dtype helpers), ``refs``,
``links``, ``filters``; ``backend`` with ``native`` (the engine) and ``nodetree``
(format plugins).
"""

from __future__ import annotations

from sciswift.h5.attrs import AttributeManager
from sciswift.h5.dataset import AsStrWrapper, AstypeWrapper, Dataset, FieldsWrapper
from sciswift.h5.datatype import Datatype
from sciswift.h5.dims import DimensionManager, DimensionProxy
from sciswift.h5.dtypes import (
    check_dtype,
    check_enum_dtype,
    check_opaque_dtype,
    check_ref_dtype,
    check_string_dtype,
    check_vlen_dtype,
    enum_dtype,
    opaque_dtype,
    ref_dtype,
    regionref_dtype,
    special_dtype,
    string_dtype,
    vlen_dtype,
)
from sciswift.h5.files import File, is_hdf5, open_stored, set_path_resolver
from sciswift.h5.group import Group
from sciswift.h5.links import Empty, ExternalLink, HardLink, SoftLink
from sciswift.h5.refs import Reference, RegionReference
from sciswift.h5.selection import MultiBlockSlice
from sciswift.h5.vds import VirtualLayout, VirtualSource

__all__ = [
    "AsStrWrapper",
    "AstypeWrapper",
    "AttributeManager",
    "Dataset",
    "Datatype",
    "DimensionManager",
    "DimensionProxy",
    "Empty",
    "ExternalLink",
    "FieldsWrapper",
    "File",
    "Group",
    "HardLink",
    "MultiBlockSlice",
    "Reference",
    "RegionReference",
    "SoftLink",
    "VirtualLayout",
    "VirtualSource",
    "check_dtype",
    "check_enum_dtype",
    "check_opaque_dtype",
    "check_ref_dtype",
    "check_string_dtype",
    "check_vlen_dtype",
    "enum_dtype",
    "is_hdf5",
    "opaque_dtype",
    "open_stored",
    "ref_dtype",
    "regionref_dtype",
    "set_path_resolver",
    "special_dtype",
    "string_dtype",
    "vlen_dtype",
]

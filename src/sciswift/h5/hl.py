"""``h5py._hl``: the private package of h5py's high-level classes, as programs
import from it (``from h5py._hl.dataset import Dataset``, ``from h5py._hl.base
import Empty``, ``from h5py._hl.vds import vds_support``).

h5py keeps its classes in ``h5py._hl.<module>`` and re-exports them at top
level; code written against h5py often imports the private path. ``alias(package)``
registers one module object per h5py submodule under ``<package>._hl.<module>``
(``sciswift.h5py._hl.files``, or ``h5py._hl.files`` for the router's stand-in
when the real h5py is not installed), holding sciswift's class or function of
the same name. Only names sciswift has are there: a name h5py keeps only for
its own use (``h5py._hl.base.with_phil``, ``dataset.readtime_dtype`` ...) stays an
``ImportError``, as for any missing name.
"""

from __future__ import annotations

import importlib.machinery
import math
import sys
import threading
import types
from collections.abc import Iterable
from typing import Any

__all__ = ["alias", "SUBMODULES"]

#: h5py's global lock, which some programs take around h5py calls
#: (``with h5py._hl.base.phil:``); sciswift needs none, so it only has to nest.
phil = threading.RLock()


def product(shape: Iterable[int]) -> int:
    """The number of elements of ``shape`` (h5py's ``_hl.base.product``)."""
    return math.prod(int(n) for n in shape)


def is_empty_dataspace(obj_id: Any) -> bool:
    """Whether a dataset's or attribute's ``.id`` has a null dataspace (an
    ``h5py.Empty`` value), as h5py's ``_hl.base.is_empty_dataspace``."""
    from sciswift.h5.lowlevel import NULL

    return bool(obj_id.get_space().get_simple_extent_type() == NULL)


def _no_access_plist(plist: Any, **kwds: Any) -> None:
    raise TypeError("sciswift files have no HDF5 file access property list to set a driver on")


def _contents() -> dict[str, dict[str, Any]]:
    # Imported here: this module is loaded by sciswift.h5py, after sciswift.h5.
    from sciswift.h5 import attrs, dataset, datatype, dims, files, filters, group, links, vds
    from sciswift.h5.base import HLObject
    from sciswift.h5.dtypes import guess_dtype

    return {
        "base": {"HLObject": HLObject, "Empty": links.Empty, "is_hdf5": files.is_hdf5, "guess_dtype": guess_dtype,
                 "phil": phil, "product": product, "is_empty_dataspace": is_empty_dataspace},
        # _drivers: the driver names File accepts (h5py: name -> function setting
        # up a file access property list, which sciswift does not have).
        "files": {"File": files.File, "direct_vfd": False,
                  "_drivers": dict.fromkeys(("sec2", "stdio", "core", "fileobj"), _no_access_plist)},
        "group": {"Group": group.Group, "HardLink": links.HardLink, "SoftLink": links.SoftLink,
                  "ExternalLink": links.ExternalLink},
        # h5py 3.16's names for what .astype(), .asstr() and .fields() return
        "dataset": {"Dataset": dataset.Dataset, "AsTypeView": dataset.AstypeWrapper,
                    "AsStrView": dataset.AsStrWrapper, "FieldsView": dataset.FieldsWrapper},
        "datatype": {"Datatype": datatype.Datatype},
        "attrs": {"AttributeManager": attrs.AttributeManager},
        "dims": {"DimensionManager": dims.DimensionManager, "DimensionProxy": dims.DimensionProxy},
        "filters": {"Gzip": filters.Gzip, "FilterRefBase": filters.FilterRefBase, "encode": filters.encode,
                    "decode": filters.decode},
        # sciswift always has virtual datasets (h5py: whether HDF5 >= 1.9.233).
        "vds": {"VirtualLayout": vds.VirtualLayout, "VirtualSource": vds.VirtualSource, "vds_support": True},
    }


SUBMODULES: tuple[str, ...] = ("base", "files", "group", "dataset", "datatype", "attrs", "dims", "filters",
                               "vds")
"""The ``_hl`` submodules provided (h5py's public-facing ones)."""


def _module(name: str, doc: str, *, package: bool) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    # A spec, so importlib.util.find_spec() answers for the alias as for a real
    # module; an empty __path__ makes "<package>._hl" a package with no files.
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package)
    if package:
        module.__path__ = []
    return module


def alias(package: str) -> types.ModuleType:
    """Register ``<package>._hl`` and its submodules in ``sys.modules`` (and as
    attributes of ``<package>`` if it is imported); return the ``_hl`` module.
    Calling it again for the same package re-registers the same content."""
    hl = _module(f"{package}._hl", __doc__ or "", package=True)
    for sub, names in _contents().items():
        module = _module(f"{package}._hl.{sub}", f"h5py._hl.{sub}: sciswift's counterparts", package=False)
        module.__dict__.update(names)
        module.__all__ = sorted(names)  # type: ignore[attr-defined]
        setattr(hl, sub, module)
        sys.modules[module.__name__] = module
    sys.modules[hl.__name__] = hl
    parent = sys.modules.get(package)
    if parent is not None:
        parent._hl = hl  # type: ignore[attr-defined]
    return hl

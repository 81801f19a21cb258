"""Named (committed) datatypes."""

from __future__ import annotations

import posixpath
from typing import Any

import numpy as np

from sciswift.h5.base import H5PY_MODULE, HLObject

__all__ = ["Datatype"]


class Datatype(HLObject):
    """A dtype stored under a name in the file (``f['t'] = np.dtype('f4')``)."""

    __slots__ = ()
    __module__ = H5PY_MODULE  # see sciswift.h5.base.H5PY_MODULE

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._backend.datatype(self._path)

    @property
    def id(self) -> Any:
        """h5py's committed ``TypeID`` stand-in (``sciswift.h5.lowlevel.TypeID``)."""
        from sciswift.h5.lowlevel import TypeID

        return TypeID(self.dtype, committed=True)

    def __repr__(self) -> str:
        if not self:
            return "<Closed HDF5 named type>"
        namestr = '"%s"' % posixpath.basename(self._name) if self._name is not None else "(anonymous)"
        return "<HDF5 named type %s (dtype %s)>" % (namestr, self.dtype.str)

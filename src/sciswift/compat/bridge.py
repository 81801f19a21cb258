"""The names a program sees as ``h5py.X`` once the router is installed.

- ``File``, ``Group``, ``Dataset``, ``Datatype``, ``HLObject``,
  ``AttributeManager``: h5py's own classes, unchanged as names. Objects of store
  files are instances of exactly these classes (facades, ``sciswift.compat.exact``),
  so ``type(obj) is h5py.Group``, ``isinstance``, dicts keyed by class and
  ``functools.singledispatch`` hold on both sides; ``h5py.File(name)`` routes by
  name (``router.route``): mounted paths and store URLs open through
  sciswift.h5py, every other name through the real h5py.
- ``Reference``, ``RegionReference``: stand-ins whose ``isinstance`` and
  ``issubclass`` accept the classes of both sides. Class attributes come from the
  real class, a class derived from a stand-in derives from the real class, and
  calling one builds the real h5py object.
- ``SoftLink``, ``ExternalLink``, ``HardLink``, ``Empty``: values a program makes
  and hands to either side. Each is a subclass of both sides' classes, so
  ``f["l"] = h5py.SoftLink("/a")`` and ``attrs["e"] = h5py.Empty("f4")`` work on
  real and store files alike, and ``isinstance`` accepts both sides' instances.
- ``is_hdf5`` routes like ``File``.

The real classes are untouched: h5py's own code keeps using them.
"""

from __future__ import annotations

import functools
from typing import Any

from sciswift.compat import exact, router

__all__ = ["build", "lowlevel", "BRIDGED", "COMBINED", "LOWLEVEL"]

#: Classes replaced by a both-sides stand-in.
BRIDGED = ("Reference", "RegionReference")
#: Low-level modules whose functions sciswift.h5py also has for its own objects.
LOWLEVEL = ("h5ds", "h5p", "h5r", "h5s", "h5t", "h5a", "h5d", "h5g", "h5o", "h5f", "h5l")
#: Value classes replaced by a subclass of both sides' classes.
COMBINED = ("SoftLink", "ExternalLink", "HardLink", "Empty")


def _is_standin(cls: type) -> bool:
    return cls.__dict__.get("_standin") is cls


@functools.cache
def _combined_meta(metas: tuple[type, ...]) -> type:
    return type("+".join(m.__name__ for m in metas), metas, {})


class BridgeMeta(type):
    """Metaclass of the stand-ins: ``_sides`` are the classes an instance of the
    stand-in may have, ``_real`` (for classes) the real h5py class.

    A stand-in is no subclass of the real class: h5py's Group is an ABC, which
    would ask its subclasses, the stand-in among them, whether sciswift's Group
    is a real Group, and real h5py code would then take sciswift objects for its
    own. A class a program derives from a stand-in derives from the real class
    instead (and gets ordinary isinstance semantics); class attributes of the
    real class are reachable through the stand-in.
    """

    _sides: tuple[type, ...]

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kwargs: Any) -> Any:
        if any(_is_standin(b) for b in bases):
            bases = tuple(b.__dict__["_real"] if _is_standin(b) else b for b in bases)
            metas = tuple(dict.fromkeys([mcls, *(type(b) for b in bases)]))
            metas = tuple(m for m in metas if not any(o is not m and issubclass(o, m) for o in metas))
            meta = metas[0] if len(metas) == 1 else _combined_meta(metas)
            return meta(name, bases, ns, **kwargs)
        return super().__new__(mcls, name, bases, ns, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        if _is_standin(cls):
            return isinstance(obj, cls._sides)
        return super().__instancecheck__(obj)

    def __subclasscheck__(cls, sub: type) -> bool:
        if _is_standin(cls):
            return issubclass(sub, cls._sides)
        return super().__subclasscheck__(sub)

    def __eq__(cls, other: object) -> bool:
        # ``f.get(name, getclass=True) == h5py.Dataset``: the class either side
        # returns equals the stand-in (``is`` cannot be made to hold).
        if _is_standin(cls) and isinstance(other, type) and other in cls._sides:
            return True
        return type.__eq__(cls, other) is True

    def __hash__(cls) -> int:
        return type.__hash__(cls)

    def __getattr__(cls, name: str) -> Any:
        real = type.__getattribute__(cls, "__dict__").get("_real")
        if real is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(real, name)


class _ConstructRealMeta(BridgeMeta):
    """Calling the stand-in builds the real h5py class (it takes h5py identifiers)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if _is_standin(cls):
            return cls.__dict__["_real"](*args, **kwargs)
        return super().__call__(*args, **kwargs)


def _standin(name: str, real: type, sci: type, meta: type) -> type:
    ns = {"__module__": "h5py", "__qualname__": name, "__doc__": real.__doc__, "_real": real,
          "_sides": (real, sci)}
    cls = meta(name, (), ns)
    cls._standin = cls
    return cls


#: What makes two values of a combined class equal, whichever side made them.
_VALUE_KEYS: dict[str, Any] = {
    "Empty": lambda v: v.dtype,
    "SoftLink": lambda v: v.path,
    "ExternalLink": lambda v: (v.filename, v.path),
    "HardLink": lambda v: (),
}


def _combined(name: str, real: type, sci: type) -> type:
    # sciswift's class first: its __init__ and slots hold the state, and both
    # sides read it through the same public properties (path, filename, dtype).
    sides = (real, sci)
    key = _VALUE_KEYS[name]

    def __eq__(self: Any, other: object) -> bool:  # noqa: N807
        return isinstance(other, sides) and key(self) == key(other)

    def __hash__(self: Any) -> int:  # noqa: N807
        return hash((name, key(self)))

    ns = {"__module__": "h5py", "__qualname__": name, "__doc__": real.__doc__, "__eq__": __eq__,
          "__hash__": __hash__}
    cls = BridgeMeta(name, (sci, real), ns)
    cls._sides = (real, sci)
    cls._standin = cls
    return cls


def _is_hdf5(real: Any) -> Any:
    def is_hdf5(fname: Any) -> bool:
        """True if ``fname`` is an HDF5 file (or, under a mount, a sciswift file)."""
        where = router.route(fname)
        if where is None:
            return bool(real(fname))
        from sciswift.h5 import is_hdf5 as sci_is_hdf5

        return sci_is_hdf5(where[1])

    return is_hdf5


def build(real: Any, sci: Any) -> dict[str, Any]:
    """The replacement attributes for the real h5py module ``real``, given the
    sciswift.h5py module ``sci``. Names one side lacks are left alone."""
    out: dict[str, Any] = {}
    for name in BRIDGED:
        # sciswift.h5py does not export HLObject; its base class is the counterpart.
        sci_cls = getattr(sci, name, None)
        if hasattr(real, name) and sci_cls is not None:
            out[name] = _standin(name, getattr(real, name), sci_cls, _ConstructRealMeta)
    for name in COMBINED:
        if hasattr(real, name) and hasattr(sci, name):
            out[name] = _combined(name, getattr(real, name), getattr(sci, name))
    if hasattr(real, "is_hdf5"):
        out["is_hdf5"] = _is_hdf5(real.is_hdf5)
    return out


def _from_sciswift(value: Any) -> bool:
    kind = type(value)
    if kind.__module__.startswith("sciswift."):
        return True
    return kind in exact.FACADE_CLASSES and exact.sciswift_object(value) is not None


def _dispatch(real_fn: Any, sci_fn: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        if any(_from_sciswift(v) for v in (*args, *kwargs.values())):
            args = tuple(exact.unwrap(a) for a in args)
            kwargs = {k: exact.unwrap(v) for k, v in kwargs.items()}
            return exact.wrap(sci_fn(*args, **kwargs))
        return real_fn(*args, **kwargs)

    call.__name__ = getattr(real_fn, "__name__", "call")
    call.__doc__ = getattr(real_fn, "__doc__", None)
    call.__wrapped__ = real_fn  # type: ignore[attr-defined]
    return call


def lowlevel(real: Any, sci: Any) -> list[tuple[Any, str, Any]]:
    """``(module, name, replacement)`` for the real h5py's low-level functions
    that sciswift.h5py also offers (``h5ds.is_scale`` ...): called with a sciswift
    object (its ``.id`` stand-ins included) they go to sciswift's version, with
    anything else to h5py's. Libraries that take h5py's low-level path for what
    they believe are h5py objects (h5netcdf) then work on both sides."""
    out: list[tuple[Any, str, Any]] = []
    for modname in LOWLEVEL:
        real_mod, sci_mod = getattr(real, modname, None), getattr(sci, modname, None)
        if real_mod is None or sci_mod is None:
            continue
        for name in getattr(sci_mod, "__all__", None) or dir(sci_mod):
            sci_fn, real_fn = getattr(sci_mod, name, None), getattr(real_mod, name, None)
            if name.startswith("_") or isinstance(sci_fn, type) or isinstance(real_fn, type):
                continue
            if callable(sci_fn) and callable(real_fn) and sci_fn is not real_fn:
                out.append((real_mod, name, _dispatch(real_fn, sci_fn)))
    return out

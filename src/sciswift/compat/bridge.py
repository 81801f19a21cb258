"""The names a program sees as ``h5py.X`` once the router is installed.

- ``File`` routes by name (``router.route``): mounted paths and store URLs open
  through sciswift.h5py, every other name through the real h5py.
- ``Group``, ``Dataset``, ``Datatype``, ``HLObject``, ``AttributeManager``,
  ``Reference``, ``RegionReference``: stand-ins whose ``isinstance`` and
  ``issubclass`` accept the classes of both sides, so the checks programs make
  (``isinstance(obj, h5py.Dataset)`` in a visititems callback) hold for objects
  from either. Each is a subclass of the real h5py class (when the real class
  can be subclassed), so class attributes and user subclasses behave as before;
  calling one builds the real h5py object, as ``h5py.Group(gid)`` does.
- ``SoftLink``, ``ExternalLink``, ``HardLink``, ``Empty``: values a program makes
  and hands to either side. Each is a subclass of both sides' classes, so
  ``f["l"] = h5py.SoftLink("/a")`` and ``attrs["e"] = h5py.Empty("f4")`` work on
  real and store files alike, and ``isinstance`` accepts both sides' instances.
- ``is_hdf5`` routes like ``File``.

The real classes are untouched: h5py's own code keeps using them.
"""

from __future__ import annotations

import threading
import types
from typing import Any

from sciswift.compat import router

__all__ = ["build", "BRIDGED", "COMBINED"]

#: Classes replaced by a both-sides stand-in.
BRIDGED = ("Group", "Dataset", "Datatype", "HLObject", "AttributeManager", "Reference", "RegionReference")
#: Value classes replaced by a subclass of both sides' classes.
COMBINED = ("SoftLink", "ExternalLink", "HardLink", "Empty")


_guard = threading.local()


class BridgeMeta(type):
    """Metaclass of the stand-ins: ``_sides`` are the classes an instance of the
    stand-in itself may have. Subclasses a program derives from a stand-in get
    ordinary ``isinstance`` semantics."""

    _sides: tuple[type, ...]
    _standin: type

    def __instancecheck__(cls, obj: Any) -> bool:
        if cls.__dict__.get("_standin") is cls:
            return cls._check(isinstance, obj)
        return super().__instancecheck__(obj)

    def __subclasscheck__(cls, sub: type) -> bool:
        if cls.__dict__.get("_standin") is cls:
            return cls._check(issubclass, sub) or type.__subclasscheck__(cls, sub)
        return super().__subclasscheck__(sub)

    def _check(cls, test: Any, what: Any) -> bool:
        # A real class that is an ABC (h5py's Group is a MutableMapping) answers
        # by asking each of its subclasses, the stand-in among them, which would
        # ask the real class again. Inside our own question the stand-in is
        # nobody's superclass; whatever derives from it is a subclass of the real
        # class by its MRO anyway.
        if getattr(_guard, "active", False):
            return False
        _guard.active = True
        try:
            return bool(test(what, cls._sides))
        finally:
            _guard.active = False


class _ConstructRealMeta(BridgeMeta):
    """Calling the stand-in builds the real h5py class (it takes h5py identifiers)."""

    _real: type

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("_standin") is cls:
            return cls._real(*args, **kwargs)
        return super().__call__(*args, **kwargs)


class _FileMeta(BridgeMeta):
    """``h5py.File(name, ...)``: routed by name."""

    _real: type

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        name = args[0] if args else kwargs.get("name")
        where = router.route(name)
        if cls.__dict__.get("_standin") is not cls:
            if where is not None:
                raise OSError(
                    f"{cls.__name__}({name!r}): a subclass of h5py.File cannot open a file in an object store "
                    f"({where[1]}); open it with h5py.File"
                )
            return super().__call__(*args, **kwargs)
        if where is None:
            return cls._real(*args, **kwargs)
        if not args:
            kwargs = dict(kwargs)
            kwargs.pop("name")
        return router.open_routed(where[0], where[1], name, tuple(args[1:]), dict(kwargs))


def _subclassable(cls: type) -> bool:
    try:
        types.new_class("_probe", (cls,))
    except TypeError:
        return False
    return True


def _with_metaclass_of(meta: type, base: type) -> type:
    """``meta`` combined with ``base``'s metaclass (h5py's Group is an ABC)."""
    other = type(base)
    if issubclass(meta, other):
        return meta
    return type(f"{meta.__name__}+{other.__name__}", (meta, other), {})


def _standin(name: str, real: type, sci: type, meta: type) -> type:
    bases = (real,) if _subclassable(real) else ()
    if bases:
        meta = _with_metaclass_of(meta, real)
    ns = {"__module__": "h5py", "__qualname__": name, "__doc__": real.__doc__}
    cls = meta(name, bases, ns)
    cls._sides = (real, sci)
    cls._standin = cls
    cls._real = real
    return cls


def _combined(name: str, real: type, sci: type) -> type:
    # sciswift's class first: its __init__ and slots hold the state, and both
    # sides read it through the same public properties (path, filename, dtype).
    ns = {"__module__": "h5py", "__qualname__": name, "__doc__": real.__doc__}
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
    if hasattr(real, "File"):
        out["File"] = _standin("File", real.File, sci.File, _FileMeta)
    for name in BRIDGED:
        # sciswift.h5py does not export HLObject; its base class is the counterpart.
        sci_cls = _sci_hlobject() if name == "HLObject" else getattr(sci, name, None)
        if hasattr(real, name) and sci_cls is not None:
            out[name] = _standin(name, getattr(real, name), sci_cls, _ConstructRealMeta)
    for name in COMBINED:
        if hasattr(real, name) and hasattr(sci, name):
            out[name] = _combined(name, getattr(real, name), getattr(sci, name))
    if hasattr(real, "is_hdf5"):
        out["is_hdf5"] = _is_hdf5(real.is_hdf5)
    return out


def _sci_hlobject() -> type:
    from sciswift.h5.base import HLObject

    return HLObject

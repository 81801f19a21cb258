"""sciswift objects in h5py's own classes, so code that dispatches on exact types
works under the router.

Libraries look h5py objects up by class: anndata keeps its readers and writers in
a registry keyed by ``type(group)``, others use ``type(obj) is h5py.Dataset``,
dicts keyed by class or ``functools.singledispatch``. ``isinstance`` can be made
to accept two classes; ``type()`` cannot be made to return one class for two
kinds of objects. So under the router every object of a store file *is* an
instance of the real h5py class (``h5py.File``, ``Group``, ``Dataset``,
``Datatype``, ``AttributeManager``, and ``dims``' ``DimensionManager`` /
``DimensionProxy``): a *facade* whose ``__dict__`` holds the sciswift object.

``install(real)`` replaces each attribute those classes define (methods, special
methods, properties, cached properties) with a dispatcher: on a real h5py object
it calls h5py's own code unchanged; on a facade it calls the sciswift object's
attribute of the same name, with facades in the arguments unwrapped and sciswift
objects in the result wrapped (classes too: ``f.get(name, getclass=True) is
h5py.Group`` holds). Names only sciswift has are reached through ``__getattr__``.
``h5py.File.__init__`` routes by name (``router.route``): a mounted path or store
URL makes the new object a facade of a ``sciswift.h5py.File``; every other name
runs h5py's ``__init__``. Subclasses of ``h5py.File`` route the same way.

Facades pickle as their sciswift object does (by address, read-only files; see
``sciswift.h5.pickling``) and come back as facades.

Cost on real h5py objects: one Python call and one dict lookup per attribute
access (measured in docs/compat.md).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["install", "wrap", "unwrap", "sciswift_object", "FACADE_KEY", "FACADE_CLASSES"]

FACADE_KEY = "_sciswift_object"
"""The instance-dict key holding a facade's sciswift object."""

#: Names never replaced: object machinery, class-level hooks, and pickling hooks
#: that the facade's own ``__reduce_ex__`` makes unnecessary.
_SKIP = frozenset({
    "__new__", "__init__", "__init_subclass__", "__subclasshook__", "__class_getitem__", "__getattribute__",
    "__setattr__", "__delattr__", "__dict__", "__weakref__", "__class__", "__doc__", "__module__", "__slots__",
    "__abstractmethods__", "_abc_impl", "__getnewargs__", "__getnewargs_ex__", "__getstate__", "__setstate__",
    "__reduce__", "__reduce_ex__", "__sizeof__", "__format__", "__dir__", "__getattr__", "__annotations__",
    "__orig_bases__", "__parameters__", "__firstlineno__", "__static_attributes__", "__qualname__", "__name__",
})

#: Methods taking a callback whose arguments are h5py objects.
_CALLBACKS = frozenset({"visit", "visititems", "visit_links", "visititems_links"})

#: sciswift class -> real h5py class (filled by ``install``), and the reverse.
_REAL_OF: dict[type, type] = {}
_SCI_OF: dict[type, type] = {}
#: sciswift mapping view classes -> h5py's.
_VIEWS: dict[type, type] = {}
#: The real classes whose instances may be facades (their subclasses are found
#: through ``sciswift_object``).
FACADE_CLASSES: set[type] = set()


def sciswift_object(obj: Any) -> Any:
    """The sciswift object behind a facade, or None for anything else."""
    try:
        return object.__getattribute__(obj, "__dict__").get(FACADE_KEY)
    except (AttributeError, TypeError):
        return None


@functools.cache
def _real_class_for(sci_type: Any) -> type | None:
    for cls in sci_type.__mro__:
        real = _REAL_OF.get(cls)
        if real is not None:
            return real
    return None


def wrap(value: Any) -> Any:
    """``value`` with sciswift objects (and classes) as facades (and real classes)."""
    kind = type(value)
    if kind is tuple or kind is list:
        items = [wrap(v) for v in value]
        return kind(items) if any(a is not b for a, b in zip(items, value)) else value
    if isinstance(value, type):
        return _REAL_OF.get(value, value)
    view = _VIEWS.get(kind)
    if view is not None:
        return view(wrap(value._mapping))
    real = _real_class_for(kind)  # type: ignore[arg-type]
    if real is None:
        return value
    facade: Any = object.__new__(real)
    facade.__dict__[FACADE_KEY] = value
    return facade


def unwrap(value: Any) -> Any:
    """``value`` with facades replaced by their sciswift objects (in lists and
    tuples too), and h5py's null references by sciswift's."""
    kind = type(value)
    if kind is tuple or kind is list:
        items = [unwrap(v) for v in value]
        return kind(items) if any(a is not b for a, b in zip(items, value)) else value
    if kind.__module__ == "h5py.h5r" and not value:
        # h5py.Reference() under the router builds h5py's class (it takes HDF5
        # identifiers); a null one means the same on both sides.
        from sciswift.h5 import refs

        null = getattr(refs, kind.__name__, None)
        return value if null is None else null()
    sci = sciswift_object(value)
    return value if sci is None else sci


def _unwrap_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return tuple(unwrap(a) for a in args), {k: unwrap(v) for k, v in kwargs.items()}


def _wrapping_callback(fn: Any) -> Any:
    if not callable(fn) or isinstance(fn, type):
        return fn

    def callback(*args: Any) -> Any:
        return fn(*(wrap(a) for a in args))

    return callback


def _call_sciswift(facade: Any, sci: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    args, kwargs = _unwrap_call(args, kwargs)
    if name in _CALLBACKS:
        args = tuple(_wrapping_callback(a) for a in args)
        kwargs = {k: _wrapping_callback(v) for k, v in kwargs.items()}
    result = getattr(sci, name)(*args, **kwargs)
    if result is sci:
        return facade  # ``with Sub(path) as f``: the object itself, of its own class
    if name in ("__iter__", "__reversed__"):
        return (wrap(x) for x in result)
    return wrap(result)


def _method(name: str, original: Any) -> Callable[..., Any]:
    def dispatch(self: Any, *args: Any, **kwargs: Any) -> Any:
        sci = self.__dict__.get(FACADE_KEY)
        if sci is None:
            return original(self, *args, **kwargs)
        return _call_sciswift(self, sci, name, args, kwargs)

    dispatch.__name__ = name
    dispatch.__qualname__ = getattr(original, "__qualname__", name)
    dispatch.__doc__ = getattr(original, "__doc__", None)
    dispatch.__wrapped__ = original  # type: ignore[attr-defined]
    return dispatch


def _property(name: str, original: property) -> property:
    real_get = original.fget
    assert real_get is not None

    def fget(self: Any) -> Any:
        sci = self.__dict__.get(FACADE_KEY)
        if sci is None:
            return real_get(self)
        return wrap(getattr(sci, name))

    def fset(self: Any, value: Any) -> None:
        sci = self.__dict__.get(FACADE_KEY)
        if sci is None:
            original.__set__(self, value)
        else:
            setattr(sci, name, unwrap(value))

    return property(fget, fset, doc=original.__doc__)


class _NonData:
    """A non-data descriptor (``functools.cached_property``) that dispatches."""

    def __init__(self, name: str, original: Any) -> None:
        self.name = name
        self.original = original
        self.__doc__ = getattr(original, "__doc__", None)

    def __get__(self, inst: Any, owner: type | None = None) -> Any:
        if inst is None:
            return self
        sci = inst.__dict__.get(FACADE_KEY)
        if sci is None:
            return self.original.__get__(inst, owner)
        return wrap(getattr(sci, self.name))


def _getattr_fallback(real: type) -> Callable[[Any, str], Any]:
    def __getattr__(self: Any, name: str) -> Any:  # noqa: N807
        sci = self.__dict__.get(FACADE_KEY) if name != "__dict__" else None
        if sci is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return wrap(getattr(sci, name))

    return __getattr__


def _reduce_ex(self: Any, protocol: int) -> Any:
    sci = self.__dict__.get(FACADE_KEY)
    if sci is None:
        return object.__reduce_ex__(self, protocol)  # h5py's own refusal for its objects
    return wrap, (sci,)


def _replacement(name: str, original: Any) -> Any:
    """The dispatcher for class attribute ``original``, or None to leave it."""
    if original is None or isinstance(original, (classmethod, staticmethod, type)):
        return None
    if isinstance(original, property):
        return _property(name, original)
    if isinstance(original, functools.cached_property):
        return _NonData(name, original)
    if callable(original) and hasattr(original, "__get__"):
        return _method(name, original)
    return None


def _file_init(original: Callable[..., None]) -> Callable[..., None]:
    from sciswift.compat import router

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        name = args[0] if args else kwargs.get("name")
        where = router.route(name)
        if where is None:
            original(self, *args, **kwargs)
            return
        if not args:
            kwargs = {k: v for k, v in kwargs.items() if k != "name"}
        self.__dict__[FACADE_KEY] = router.open_routed(where[0], where[1], name, tuple(args[1:]), dict(kwargs))

    __init__.__doc__ = original.__doc__
    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    return __init__


def _pairs(real: Any, sci: Any) -> list[tuple[type, type]]:
    import h5py._hl.dims as real_dims

    from sciswift.h5 import dims as sci_dims
    from sciswift.h5.base import HLObject

    pairs = [(getattr(real, n), getattr(sci, n)) for n in ("File", "Group", "Dataset", "Datatype", "AttributeManager")]
    pairs += [(real_dims.DimensionManager, sci_dims.DimensionManager),
              (real_dims.DimensionProxy, sci_dims.DimensionProxy), (real.HLObject, HLObject)]
    return pairs


def install(real: Any, sci: Any) -> list[tuple[Any, str, Any]]:
    """Make the real h5py module's classes dispatch on facades (see the module
    docstring). Returns ``(class, name, dispatcher)`` patches for the caller to
    apply and record; nothing is changed here."""
    from h5py._hl import base as real_base

    from sciswift.h5 import base as sci_base

    pairs = _pairs(real, sci)
    for real_cls, sci_cls in pairs:
        _REAL_OF[sci_cls] = real_cls
        _SCI_OF[real_cls] = sci_cls
        FACADE_CLASSES.add(real_cls)
    for view in ("KeysViewHDF5", "ValuesViewHDF5", "ItemsViewHDF5"):
        _VIEWS[getattr(sci_base, view)] = getattr(real_base, view)
    _real_class_for.cache_clear()
    patches: list[tuple[Any, str, Any]] = []
    for real_cls, _ in pairs:
        if real_cls is real.HLObject:
            continue  # its subclasses get their own dispatchers (it has no instances)
        for name in _class_attribute_names(real_cls):
            replacement = _replacement(name, inspect.getattr_static(real_cls, name))
            if replacement is not None:
                patches.append((real_cls, name, replacement))
        patches.append((real_cls, "__getattr__", _getattr_fallback(real_cls)))
        patches.append((real_cls, "__reduce_ex__", _reduce_ex))
    patches.append((real.File, "__init__", _file_init(real.File.__init__)))
    return patches


def _class_attribute_names(cls: type) -> Iterator[str]:
    """The names to dispatch: every public and special attribute the class has.
    h5py's private helpers (``_lapl``, ``_fast_reader`` ...) run only inside h5py's
    own methods, which facades never reach; leaving them alone keeps h5py's
    internal calls at full speed (a facade that asks for one gets sciswift's
    through ``__getattr__`` when h5py's raises AttributeError)."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name in vars(klass):
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                continue
            if name not in seen and name not in _SKIP:
                seen.add(name)
                yield name

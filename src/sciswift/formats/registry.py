"""Which plugin opens an object, and opening/writing stored objects through it.

Plugins are the entry points of the group ``sciswift.formats`` (the built-in ones
too, in pyproject.toml), loaded on first use. A plugin is *registered* when its
entry point loads; it is *available* when the library it needs imports.

Detection (``detect``) ranks the evidence:

1. magic bytes and extension both match (``.nc`` holding HDF5 bytes -> netcdf),
2. magic bytes alone (an HDF5 file called ``x.fits`` is HDF5),
3. extension alone (CSV has no magic; a damaged ``x.fits`` still goes to FITS, which
   then reports the damage).

Unavailable plugins take part, so that a FITS file without astropy gets "it looks
like FITS, but astropy is not installed" rather than "unknown format". Ties go to
the order of ``PRIORITY`` (then name).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO

from sciswift.errors import InvalidInput, NotSupported
from sciswift.formats.base import FormatPlugin, GroupNode, StoredObject
from sciswift.formats.nodes import OwnedRoot
from sciswift.formats.ranged import RangedFile, TransferStats
from sciswift.store.base import Store
from sciswift.store.types import ObjectInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "HEAD_BYTES",
    "registered_plugins",
    "available_plugins",
    "get_plugin",
    "detect",
    "open_object",
    "write_object",
    "describe_installed",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "sciswift.formats"
#: How many leading bytes detection looks at.
HEAD_BYTES = 4096
#: Tie-break order among plugins that match equally well (hdf5 before netcdf for
#: an HDF5 file without a netCDF extension; npz before anything zip-like).
PRIORITY = ("hdf5", "netcdf", "fits", "parquet", "root", "npy", "npz", "tfrecord", "csv")


@functools.cache
def registered_plugins() -> dict[str, FormatPlugin]:
    """Every plugin whose entry point loads, by name (cached for the process)."""
    plugins: dict[str, FormatPlugin] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
            plugin = cls()
        except Exception as exc:  # a broken third-party plugin must not hide the others
            log.warning("format plugin %r (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        plugins[plugin.name or ep.name] = plugin
    return dict(sorted(plugins.items(), key=lambda kv: _rank(kv[0])))


def _rank(name: str) -> tuple[int, str]:
    return (PRIORITY.index(name) if name in PRIORITY else len(PRIORITY), name)


def available_plugins() -> dict[str, FormatPlugin]:
    """Registered plugins whose library imports, by name."""
    return {n: p for n, p in registered_plugins().items() if p.available()}


def describe_installed() -> str:
    """One line naming the formats that can be opened, and those that could be with
    an extra installed."""
    ok = [n for n, p in registered_plugins().items() if p.available()]
    missing = [f"{n} (pip install 'sciswift[{p.extra}]')" for n, p in registered_plugins().items()
               if not p.available()]
    text = "Installed formats: " + (", ".join(ok) or "none") + "."
    if missing:
        text += " Not installed: " + ", ".join(missing) + "."
    return text


def get_plugin(name: str, *, subject: str | None = None) -> FormatPlugin:
    """The plugin called ``name`` (case-insensitive), whose library must be
    installed. InvalidInput for an unknown name, NotSupported for a missing library."""
    plugins = registered_plugins()
    plugin = plugins.get(name.lower())
    if plugin is None:
        raise InvalidInput(f"unknown format {name!r}. {describe_installed()}", subject or name)
    _require_available(plugin, subject or name, f"format {plugin.name!r} was asked for")
    return plugin


def _require_available(plugin: FormatPlugin, subject: str, why: str) -> None:
    if not plugin.available():
        raise NotSupported(
            f"cannot open {subject}: {why}, but {_library_of(plugin)} is not installed: "
            f"pip install 'sciswift[{plugin.extra}]'. {describe_installed()}",
            subject,
        )


def _library_of(plugin: FormatPlugin) -> str:
    return getattr(plugin, "library", "") or f"the library for {plugin.name}"


def _magic(plugin: FormatPlugin, name: str, head: bytes) -> bool:
    # A plugin written against the first protocol only answers guess_can_open.
    if type(plugin).matches_magic is FormatPlugin.matches_magic and (
        type(plugin).guess_can_open is not FormatPlugin.guess_can_open
    ):
        return plugin.guess_can_open(name, head)
    return plugin.matches_magic(head)


def detect(name: str, head: bytes) -> FormatPlugin:
    """The plugin for an object called ``name`` starting with ``head``.

    NotSupported when no plugin recognises it, or when the one that does lacks its
    library; both messages list the installed formats and the extra to install.
    """
    best: tuple[int, FormatPlugin] | None = None
    for plugin in registered_plugins().values():
        try:
            score = 2 * _magic(plugin, name, head) + plugin.matches_extension(name)
        except Exception as exc:  # detection must never take the registry down
            log.warning("format plugin %r failed to inspect %s: %s", plugin.name, name, exc)
            continue
        if score and (best is None or score > best[0]):
            best = (score, plugin)
    if best is None:
        raise NotSupported(
            f"cannot open {name}: no format plugin recognises its bytes or its name. "
            f"{describe_installed()}",
            name,
        )
    score, plugin = best
    what = plugin.label if hasattr(plugin, "label") else plugin.name
    how = "it looks like" if score >= 2 else "its name says it is"
    _require_available(plugin, name, f"{how} {what}")
    return plugin


def _read_head(source: RangedFile) -> bytes:
    source.seek(0)
    head = source.read(HEAD_BYTES)
    source.seek(0)
    return head


def open_object(
    store: Store,
    container: str,
    name: str,
    format: str | None = None,
    *,
    stats: TransferStats | None = None,
    info: ObjectInfo | None = None,
    read: Callable[[int, int], bytes] | None = None,
) -> GroupNode:
    """Open the stored object ``container/name`` as a tree of nodes.

    The format is detected from the object's first bytes and name unless ``format``
    forces one. The returned root owns the object's RangedFile and the library's
    handles: ``close()`` it (or use it as a context manager) when done. ``stats``,
    if given, accumulates the requests and bytes the open and later reads cost.

    ``read`` (with ``info``) reads the object's bytes instead of the store (see
    ``RangedFile``): a large object, whose store entry is its manifest.

    Raises NotFound if the object is missing, NotSupported/InvalidInput for an
    unknown or uninstalled format, CorruptData if the bytes are not a valid file of
    the format chosen.
    """
    display = f"{container}/{name}"
    stats = stats if stats is not None else TransferStats()
    source = RangedFile(store, container, name, info=info, stats=stats, read=read)
    try:
        plugin = get_plugin(format, subject=display) if format else detect(display, _read_head(source))
        obj = StoredObject(store=store, container=container, name=name, info=source.info, source=source)
        root = plugin.open_stored(obj)
    except BaseException:
        source.close()
        raise
    return OwnedRoot(root, source)


def write_object(
    store: Store,
    container: str,
    name: str,
    root: GroupNode,
    format: str | None = None,
    *,
    content_type: str | None = None,
) -> ObjectInfo:
    """Write the tree ``root`` as object ``container/name`` in ``format`` (default:
    chosen from the name's extension).

    Atomic: the plugin writes into a temporary spool, and only a complete file is
    stored, with one put that replaces any previous object in one step. If the
    plugin fails (NotSupported for a shape the format cannot hold, or anything
    else) nothing is stored and a previous object is left intact. Sidecar indexes
    of the previous version stop matching its ETag and are rebuilt on next open.
    """
    display = f"{container}/{name}"
    if format:
        plugin = get_plugin(format, subject=display)
    else:
        matches = [p for p in registered_plugins().values() if p.can_write and p.matches_extension(display)]
        if not matches:
            writable = ", ".join(n for n, p in registered_plugins().items() if p.can_write)
            raise NotSupported(
                f"cannot write {display}: no writable format has that extension; pass format= "
                f"one of: {writable}",
                display,
            )
        plugin = max(matches, key=lambda p: max(len(e) for e in p.extensions if display.lower().endswith(e)))
        _require_available(plugin, display, f"its name says it is {plugin.name}")
    if not plugin.can_write:
        raise NotSupported(f"cannot write {display}: the {plugin.name} format plugin only reads", display)
    return _atomic_put(store, container, name, lambda sink: plugin.write(root, sink, display), content_type)


def _atomic_put(
    store: Store,
    container: str,
    name: str,
    produce: Callable[[BinaryIO], Any],
    content_type: str | None,
) -> ObjectInfo:
    # Whatever the writer raises propagates unchanged: the spool is dropped and the
    # store was never touched.
    with tempfile.SpooledTemporaryFile(max_size=16 << 20) as spool:
        produce(spool)  # type: ignore[arg-type]
        spool.seek(0)
        return store.put_object(container, name, spool, content_type=content_type)

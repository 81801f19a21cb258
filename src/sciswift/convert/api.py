"""``import_file`` and ``export_file``: what ``sciswift import``/``export`` do.

- import: any source (local HDF5 file, HDF5 blob, any format a plugin reads, a
  native file) -> a new native file. If the copy fails, what was written of the
  new file is removed again.
- export: any source -> a local file or one stored object, as HDF5 (h5py writes
  it) or in any format whose plugin can write. The destination is replaced only
  once the new file is complete.
"""

from __future__ import annotations

from typing import Any

from sciswift.convert.apis import h5py_api
from sciswift.convert.endpoints import (
    HDF5_EXTENSIONS,
    Opened,
    OutputTarget,
    create_native,
    open_source,
    remove_native,
    same_place,
)
from sciswift.convert.nodeview import group_node
from sciswift.convert.progress import NullProgress, Progress
from sciswift.convert.treecopy import ConversionError, CopyOptions, CopyReport, TreeCopier
from sciswift.errors import InvalidInput, NotFound, NotSupported

__all__ = ["import_file", "export_file", "export_format"]


def _options_for(*sides: Opened) -> CopyOptions:
    # A remote store answers each request in ~1-20 ms: keep many blocks in flight.
    if any(side.remote for side in sides):
        return CopyOptions(workers=8, inflight=16)
    return CopyOptions()


def _subtree(opened: Opened, path: str) -> Any:
    if path in ("", "/"):
        return opened.file
    try:
        obj = opened.file[path]
    except KeyError:
        raise NotFound(f"{opened.display}: no group {path!r} in it", f"{opened.display}:{path}") from None
    if not opened.api.is_group(obj):
        raise InvalidInput(f"{opened.display}:{path} is not a group", f"{opened.display}:{path}")
    return obj


def import_file(source: str, dest: str, *, path: str = "/", overwrite: bool = False,
                progress: Progress | None = None, options: CopyOptions | None = None) -> CopyReport:
    """Copy ``source`` (the group ``path`` in it, default the whole file) into a
    new native file at ``dest``.

    AlreadyExists if ``dest`` exists and ``overwrite`` is false. On any failure
    the partly written destination is deleted and the error re-raised.
    """
    if same_place(source, dest):
        raise InvalidInput(f"{dest}: is the source itself; import into a new name", dest)
    with open_source(source) as src:
        root = _subtree(src, path)
        dst = create_native(dest, overwrite=overwrite, track_order=src.api.tracks_order(root))
        try:
            copier = TreeCopier(root, dst.file, src.api, dst.api, options=options or _options_for(src, dst),
                                progress=progress or NullProgress())
            report = copier.run()
        except BaseException:
            _abandon(dst)
            raise
        try:
            dst.close()  # writes the metadata
        except Exception as exc:
            _abandon(dst)
            raise ConversionError(f"{dest}: writing the file's metadata failed: {exc}", dest) from exc
    return report


def _abandon(dst: Opened) -> None:
    """Close a half-written native file without its metadata and delete it."""
    try:
        dst.close()
    except Exception:  # noqa: BLE001 - the original error is what the caller reports
        pass
    remove_native(dst)


def export_format(dest: str, format: str | None) -> str:
    """The format ``export`` writes ``dest`` in: ``"hdf5"`` or a plugin name."""
    if format:
        return format.lower()
    name = dest.lower()
    if name.endswith(HDF5_EXTENSIONS):
        return "hdf5"
    from sciswift.formats import registry

    matches = [p for p in registry.registered_plugins().values() if p.can_write and p.matches_extension(name)]
    if not matches:
        writable = ", ".join(["hdf5", *(n for n, p in registry.registered_plugins().items() if p.can_write)])
        raise NotSupported(f"cannot tell which format to write {dest} in from its name; "
                           f"pass --format (one of: {writable})", dest)
    return max(matches, key=lambda p: max(len(e) for e in p.extensions if name.endswith(e))).name


def export_file(source: str, dest: str, *, format: str | None = None, path: str = "/", overwrite: bool = False,
                progress: Progress | None = None, options: CopyOptions | None = None) -> CopyReport:
    """Write ``source`` (the group ``path`` in it) to ``dest`` as HDF5 or in
    ``format`` (default: from ``dest``'s extension).

    NotSupported names the dataset when the tree does not fit the format.
    AlreadyExists if ``dest`` exists and ``overwrite`` is false. ``dest`` is left
    untouched unless the whole file was written.
    """
    fmt = export_format(dest, format)
    target = OutputTarget.parse(dest, overwrite=overwrite)
    with open_source(source) as src:
        root = _subtree(src, path)
        if fmt == "hdf5":
            return _export_hdf5(src, root, target, progress, options)
        return _export_plugin(src, root, target, fmt)


def _export_hdf5(src: Opened, root: Any, target: OutputTarget, progress: Progress | None,
                 options: CopyOptions | None) -> CopyReport:
    import h5py

    api = h5py_api()
    with target.local_file() as tmp:
        track = True if src.api.tracks_order(root) else None
        with h5py.File(tmp, "w", track_order=track) as out:
            copier = TreeCopier(root, out, src.api, api, options=options or _options_for(src),
                                progress=progress or NullProgress())
            report = copier.run()
    return report


def _export_plugin(src: Opened, root: Any, target: OutputTarget, fmt: str) -> CopyReport:
    from sciswift.formats import registry

    plugin = registry.get_plugin(fmt, subject=target.display)
    if not plugin.can_write:
        writable = ", ".join(["hdf5", *(n for n, p in registry.registered_plugins().items() if p.can_write)])
        raise NotSupported(f"cannot write {target.display}: the {plugin.name} format can only be read "
                           f"(writable: {writable})", target.display)
    report = CopyReport()
    with target.open_sink() as sink:
        plugin.write(group_node(root, src.api), sink, target.display)
        report.bytes = sink.tell()
    report.notes.append(f"written by the {plugin.name} plugin ({plugin.library}); "
                        "see docs/cli.md for what that format keeps")
    return report

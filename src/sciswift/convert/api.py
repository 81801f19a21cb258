"""``import_file`` and ``export_file``: what ``sciswift import``/``export`` do.

- import: any source (local HDF5 file, HDF5 blob, any format a plugin reads, a
  native file) -> a new native file. If the copy fails, what was written of the
  new file is removed again.
- export: any source -> a local file or one stored object, as HDF5 (h5py writes
  it) or in any format whose plugin can write. The destination is replaced only
  once the new file is complete.
"""

from __future__ import annotations

from dataclasses import replace
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


def _tuned(options: CopyOptions | None, *sides: Opened) -> CopyOptions:
    """``options``, with more work in flight when a side is remote: a store
    answers each request in ~1-20 ms."""
    options = options or CopyOptions()
    if any(side.remote for side in sides) and options.workers == CopyOptions.workers:
        return replace(options, workers=8, inflight=16)
    return options


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
                progress: Progress | None = None, options: CopyOptions | None = None,
                portable_codecs: bool | None = None, pass_through: bool = True) -> CopyReport:
    """Copy ``source`` (the group ``path`` in it, default the whole file) into a
    new native file at ``dest``.

    ``portable_codecs``: write only Zarr v3 core codecs (True), the default style
    (False) or what ``SCISWIFT_CODECS`` says (None). ``pass_through``: copy
    compressed HDF5 chunks as they are where the codecs allow (``chunkcopy``).
    AlreadyExists if ``dest`` exists and ``overwrite`` is false. On any failure
    the partly written destination is deleted and the error re-raised.
    """
    from sciswift.engine.codecs import codec_style

    options = options or CopyOptions()
    if not pass_through:
        options = replace(options, pass_through=False)
    with codec_style(portable_codecs):
        return _import(source, dest, path, overwrite, progress, options)


def _import(source: str, dest: str, path: str, overwrite: bool, progress: Progress | None,
            options: CopyOptions) -> CopyReport:
    if same_place(source, dest):
        raise InvalidInput(f"{dest}: is the source itself; import into a new name", dest)
    with open_source(source) as src:
        root = _subtree(src, path)
        dst = create_native(dest, overwrite=overwrite, track_order=src.api.tracks_order(root))
        try:
            copier = TreeCopier(root, dst.file, src.api, dst.api, options=_tuned(options, src, dst),
                                progress=progress or NullProgress(), read_range=src.read_range)
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


#: ``--format`` names that are not plugin names.
_FORMAT_ALIASES = {"h5": "hdf5", "netcdf": "netcdf4", "nc4": "netcdf4", "nc": "netcdf4", "netcdf-4": "netcdf4",
                   "nc3": "netcdf3", "netcdf-3": "netcdf3"}


def export_format(dest: str, format: str | None) -> str:
    """The format ``export`` writes ``dest`` in: ``"hdf5"``, ``"netcdf4"``,
    ``"netcdf3"`` or a plugin name."""
    if format:
        name = format.lower()
        return _FORMAT_ALIASES.get(name, name)
    name = dest.lower()
    if name.endswith(HDF5_EXTENSIONS):
        return "hdf5"
    if name.endswith((".nc3",)):
        return "netcdf3"
    from sciswift.formats import registry

    matches = [p for p in registry.registered_plugins().values() if p.can_write and p.matches_extension(name)]
    if not matches:
        raise NotSupported(f"cannot tell which format to write {dest} in from its name; "
                           f"pass --format (one of: {_writable()})", dest)
    best = max(matches, key=lambda p: max(len(e) for e in p.extensions if name.endswith(e))).name
    return _FORMAT_ALIASES.get(best, best)


def _writable() -> str:
    from sciswift.formats import registry

    names = ["hdf5", "netcdf4", "netcdf3"]
    names += [n for n, p in registry.registered_plugins().items() if p.can_write and n != "netcdf"]
    return ", ".join(names)


def export_file(source: str, dest: str, *, format: str | None = None, path: str = "/", overwrite: bool = False,
                progress: Progress | None = None, options: CopyOptions | None = None,
                drop_attrs: bool = False, pass_through: bool = True) -> CopyReport:
    """Write ``source`` (the group ``path`` in it) to ``dest`` as HDF5, netCDF-4
    (``.nc``), netCDF-3 (``format="netcdf3"``) or in ``format`` (default: from
    ``dest``'s extension).

    CSV keeps attributes in a sidecar ``DEST.attrs.json`` unless ``drop_attrs``.
    NotSupported names the dataset when the tree does not fit the format.
    AlreadyExists if ``dest`` exists and ``overwrite`` is false. ``dest`` is left
    untouched unless the whole file was written; a new local file gets the mode
    the umask gives (an existing one keeps its mode).
    """
    fmt = export_format(dest, format)
    target = OutputTarget.parse(dest, overwrite=overwrite)
    options = options or CopyOptions()
    if not pass_through:
        options = replace(options, pass_through=False)
    with open_source(source) as src:
        root = _subtree(src, path)
        if fmt in ("hdf5", "netcdf4"):
            return _export_hdf5(src, root, target, progress, options, netcdf4=fmt == "netcdf4")
        return _export_plugin(src, root, target, fmt, drop_attrs)


def _export_hdf5(src: Opened, root: Any, target: OutputTarget, progress: Progress | None,
                 options: CopyOptions, netcdf4: bool = False) -> CopyReport:
    import h5py

    api = h5py_api()
    with target.local_file() as tmp:
        track = True if (src.api.tracks_order(root) or netcdf4) else None
        with h5py.File(tmp, "w", track_order=track) as out:
            copier = TreeCopier(root, out, src.api, api, options=_tuned(options, src),
                                progress=progress or NullProgress())
            report = copier.run()
            if netcdf4:
                from sciswift.convert.netcdf4 import finish_netcdf4

                report.notes.extend(finish_netcdf4(out))
    return report


def _export_plugin(src: Opened, root: Any, target: OutputTarget, fmt: str, drop_attrs: bool) -> CopyReport:
    from sciswift.convert.nodeview import count_tree, netcdf3_view
    from sciswift.formats import registry

    plugin = registry.get_plugin("netcdf" if fmt == "netcdf3" else fmt, subject=target.display)
    if not plugin.can_write:
        raise NotSupported(f"cannot write {target.display}: the {plugin.name} format can only be read "
                           f"(writable: {_writable()})", target.display)
    report = CopyReport()
    tree = group_node(root, src.api)
    if fmt == "netcdf3":
        tree = netcdf3_view(tree, target.display, report.notes)
    counts = count_tree(tree)
    sidecar = None
    if plugin.name == "csv":
        from sciswift.convert.sidecar import attrs_sidecar, strip_attrs

        sidecar = None if drop_attrs else attrs_sidecar(tree)
        tree = strip_attrs(tree)
    with target.open_sink() as sink:
        plugin.write(tree, sink, target.display)
        report.bytes = sink.tell()
    report.groups, report.datasets, report.attributes = counts
    if plugin.name == "csv" and sidecar is None:
        report.attributes = 0
    if sidecar is not None:
        name = target.write_sidecar(".attrs.json", sidecar)
        report.notes.append(f"attributes written to {name} (CSV cannot hold them; --drop-attrs leaves them out)")
    report.notes.append(f"written by the {plugin.name} plugin ({plugin.library}); "
                        "see docs/cli.md for what that format keeps")
    return report

"""Whole files in a store: list, size, copy, move and remove them.

A store holds two kinds of files side by side:

- *native files*: a prefix (or a whole container) holding a Zarr hierarchy; the
  file is every object under it, recognised by the ``zarr.json`` at its root;
- *objects* (blobs): one object each, such as an uploaded ``run1.h5`` or
  ``table.parquet`` (with its chunk-index sidecar ``NAME.sciswift-index``, which
  goes wherever the object goes).

``swift list`` shows every chunk object; these functions show and handle files::

    import sciswift.files as sf

    for entry in sf.list_files("swift://wind"):          # native files, objects, sub-"directories"
        print(entry.name, entry.kind, entry.size)
    sf.copy("swift://wind/run1.h5", "swift://backup/")   # server-side copies, object by object
    sf.move("swift://wind/run1.h5", "swift://wind/old/run1.h5")
    sf.remove("swift://wind/old", recursive=True)
    sf.disk_usage("swift://wind").size

URLs are what ``sciswift.h5py.File`` takes (``swift://``, ``memory://``,
``file://`` and plain paths into a store). Errors are sciswift's
(``NotFound``, ``AlreadyExists``, ``InvalidInput``), each naming the file.
A native file is copied root metadata last and removed root metadata first, so
an interrupted copy or removal never leaves something that opens as a complete
file under the name.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sciswift.errors import AlreadyExists, InvalidInput, NotFound
from sciswift.store.links import link_target
from sciswift.store.types import ObjectInfo
from sciswift.store.url import Location, parse_location

__all__ = ["FileEntry", "list_files", "stat", "disk_usage", "remove", "copy", "move", "is_directory", "INDEX_SUFFIX"]

#: Sidecar the HDF5 plugin keeps beside an HDF5 object (its chunk index).
INDEX_SUFFIX = ".sciswift-index"
_ROOT = "zarr.json"


@dataclass(frozen=True)
class FileEntry:
    """One file (or a directory of files) in a store.

    ``kind``: ``"native"``, ``"object"``, ``"link"`` (a symbolic link: Swift's
    symlink, see ``sciswift.store.links``) or ``"dir"`` (a prefix holding
    files); ``format``: for objects, the format plugin their name suggests
    (``"hdf5"``, ``"parquet"`` ...), else None; ``size``: bytes of all its
    objects; ``objects``: how many; ``modified``: the latest object's time
    (seconds since the epoch); ``name``: relative to the listed location
    (``"run1.h5"``, ``"old/"``); ``target``: a link's, ``container/object``
    (``account:container/object`` in another account)."""

    name: str
    url: str
    kind: str
    size: int
    objects: int
    modified: float
    format: str | None = None
    target: str | None = None


def _base(loc: Location) -> str:
    return f"{loc.prefix}/" if loc.prefix else ""


def _url(loc: Location, rel: str) -> str:
    base = loc.display.rstrip("/")
    return f"{base}/{rel}" if rel else base


def _objects(loc: Location, prefix: str) -> list[ObjectInfo]:
    try:
        return list(loc.store.iter_objects(loc.container, prefix))
    except NotFound:
        return []


def _format_of(name: str) -> str | None:
    from sciswift.formats import registry

    lower = name.lower()
    if lower.endswith((".h5", ".hdf5", ".he5", ".hdf")):
        return "hdf5"
    best: tuple[int, str] | None = None
    for plugin in registry.registered_plugins().values():
        for ext in plugin.extensions:
            if lower.endswith(ext) and (best is None or len(ext) > best[0]):
                best = (len(ext), plugin.name)
    return best[1] if best else None


def _is_native(loc: Location) -> bool:
    return loc.store.has_object(loc.container, loc.key(_ROOT))


def _is_object(loc: Location) -> bool:
    return bool(loc.prefix) and loc.store.has_object(loc.container, loc.prefix)


def _file_members(loc: Location) -> list[ObjectInfo]:
    """The objects of the file at ``loc`` (native: all under it; object: it and
    its index sidecar); NotFound naming it when there is no file there."""
    if loc.prefix and _is_object(loc):
        found = [loc.store.head_object(loc.container, loc.prefix)]
        with contextlib.suppress(NotFound):
            found.append(loc.store.head_object(loc.container, loc.prefix + INDEX_SUFFIX))
        return found
    if _is_native(loc):
        return _objects(loc, _base(loc))
    raise NotFound(f"{loc.display}: no such file", loc.display)


def _group(loc: Location, objects: list[ObjectInfo]) -> Iterator[tuple[str, str, list[ObjectInfo]]]:
    """``(relative name, kind, objects)`` of every file among ``objects`` (all
    under ``loc``), in name order."""
    base = _base(loc)
    rels = {o.name[len(base):]: o for o in objects}
    roots = set()
    for rel in rels:
        if rel == _ROOT or rel.endswith("/" + _ROOT):
            roots.add(rel[:-len(_ROOT)].rstrip("/"))
    files: dict[str, tuple[str, list[ObjectInfo]]] = {}
    for rel, info in rels.items():
        parts = rel.split("/")
        owner = next(("/".join(parts[:i]) for i in range(0, len(parts)) if "/".join(parts[:i]) in roots), None)
        if owner is not None:
            files.setdefault(owner, ("native", []))[1].append(info)
        elif rel.endswith(INDEX_SUFFIX) and rel[:-len(INDEX_SUFFIX)] in rels:
            files.setdefault(rel[:-len(INDEX_SUFFIX)], ("object", []))[1].append(info)
        else:
            files.setdefault(rel, ("object", []))[1].append(info)
    for rel in sorted(files):
        kind, members = files[rel]
        yield rel, kind, members


def _entry(loc: Location, rel: str, kind: str, members: Iterable[ObjectInfo], url: str | None = None) -> FileEntry:
    members = list(members)
    link = link_target(members[0]) if kind == "object" and len(members) == 1 else None
    if link is not None:
        target = f"{link.container}/{link.name}"
        return FileEntry(rel, url or _url(loc, rel), "link", 0, 1, members[0].timestamp,
                         target=f"{link.account}:{target}" if link.account else target)
    return FileEntry(rel, url or _url(loc, rel.rstrip("/")), kind, sum(m.size for m in members), len(members),
                     max((m.timestamp for m in members), default=0.0),
                     _format_of(rel) if kind == "object" else None)


def list_files(url: str, *, recursive: bool = False) -> list[FileEntry]:
    """The files in a container or under a prefix, in name order.

    Without ``recursive``, files deeper down are summed into one ``"dir"`` entry
    per first path component (``"old/"``). NotFound names ``url`` when nothing is
    there; InvalidInput when ``url`` is itself a file (``stat`` it instead)."""
    loc = parse_location(url)
    if _is_object(loc) or _is_native(loc):
        raise InvalidInput(f"{url}: is a file, not a container or directory", url)
    objects = _objects(loc, _base(loc))
    if not objects:
        if not loc.prefix:
            loc.store.head_container(loc.container)  # NotFound if there is no such container
            return []
        raise NotFound(f"{url}: no such container, directory or file", url)
    out: list[FileEntry] = []
    dirs: dict[str, list[ObjectInfo]] = {}
    for rel, kind, members in _group(loc, objects):
        if not recursive and "/" in rel:
            dirs.setdefault(rel.split("/", 1)[0] + "/", []).extend(members)
            continue
        out.append(_entry(loc, rel, kind, members))
    out.extend(_entry(loc, name, "dir", members) for name, members in dirs.items())
    return sorted(out, key=lambda e: e.name)


def stat(url: str) -> FileEntry:
    """The one file at ``url`` (native or object); NotFound naming it."""
    loc = parse_location(url)
    members = _file_members(loc)
    kind = "object" if loc.prefix and any(m.name == loc.prefix for m in members) else "native"
    return _entry(loc, posixpath.basename(loc.prefix) or loc.container, kind, members, loc.display)


def disk_usage(url: str) -> FileEntry:
    """Bytes and objects of the file at ``url``, or of everything under a
    container or prefix (kind ``"dir"``)."""
    loc = parse_location(url)
    try:
        return stat(url)
    except NotFound:
        pass
    objects = _objects(loc, _base(loc))
    if not objects and loc.prefix:
        raise NotFound(f"{url}: no such container, directory or file", url)
    if not objects:
        loc.store.head_container(loc.container)
    return _entry(loc, posixpath.basename(loc.prefix) or loc.container, "dir", objects, loc.display)


def _root_last(names: list[str], root: str) -> list[str]:
    return [n for n in names if n != root] + ([root] if root in names else [])


def remove(url: str, *, recursive: bool = False) -> int:
    """Remove the file at ``url`` (every object of a native file, root metadata
    first); with ``recursive``, a container or prefix and everything under it (a
    whole container is deleted too). Returns how many objects were deleted.

    NotFound names ``url`` if nothing is there; InvalidInput if it is a
    container or directory and ``recursive`` is false."""
    loc = parse_location(url)
    store = loc.store
    try:
        members = [m.name for m in _file_members(loc)]
    except NotFound:
        members = None
    if members is not None:
        root = loc.key(_ROOT)
        if root in members:  # the file stops opening before its chunks go
            store.delete_object(loc.container, root)
            members.remove(root)
            return 1 + store.delete_many(loc.container, members)
        return store.delete_many(loc.container, members)
    objects = [o.name for o in _objects(loc, _base(loc))]
    if not loc.prefix:
        store.head_container(loc.container)  # NotFound: no such container
    elif not objects:
        raise NotFound(f"{url}: no such container, directory or file", url)
    if not recursive:
        what = "container" if not loc.prefix else "directory"
        raise InvalidInput(f"{url}: is a {what} ({len(objects)} objects); use recursive removal (-r)", url)
    # Native files below lose their root metadata first, as for one file.
    roots = [n for n in objects if n.endswith("/" + _ROOT) or n == _ROOT]
    count = store.delete_many(loc.container, roots)
    count += store.delete_many(loc.container, [n for n in objects if n not in set(roots)])
    if not loc.prefix:
        store.delete_container(loc.container)
    return count


def _destination(src: Location, dst_url: str) -> Location:
    """Where a copy of ``src`` goes: ``dst_url`` itself, or inside it when it
    names a container, ends with "/" or is an existing directory."""
    dst = parse_location(dst_url)
    name = posixpath.basename(src.prefix) or src.container
    into = not dst.prefix or dst_url.endswith("/")
    if not into and not _is_object(dst) and not _is_native(dst):
        with contextlib.suppress(NotFound):
            into = next(iter(dst.store.iter_names(dst.container, dst.prefix + "/")), None) is not None
    if into:
        return parse_location(f"{dst_url.rstrip('/')}/{name}")
    return dst


def _same_store(a: Any, b: Any) -> bool:
    """Whether two store objects reach the same data (each URL opens its own)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    creds_a, creds_b = getattr(a, "credentials", None), getattr(b, "credentials", None)
    if creds_a is not None or creds_b is not None:  # SwiftStore: one account, one endpoint
        fields = ("auth_url", "user", "storage_url", "project_name", "project_id")
        return all(getattr(creds_a, f, None) == getattr(creds_b, f, None) for f in fields)
    url = getattr(a, "url", None)
    return url is not None and url == getattr(b, "url", None)


def _same(a: Location, b: Location) -> bool:
    return _same_store(a.store, b.store) and a.container == b.container and a.prefix == b.prefix


def _copy_objects(src: Location, dst: Location, names: list[str], src_base: str, dst_base: str) -> None:
    same_store = _same_store(src.store, dst.store)

    def one(name: str) -> None:
        target = dst_base + name[len(src_base):]
        if same_store:
            src.store.copy_object(src.container, name, dst.container, target)
        else:
            info = src.store.head_object(src.container, name)
            dst.store.put_object(dst.container, target, src.store.get_object(src.container, name),
                                 content_type=info.content_type, metadata=info.metadata)

    if len(names) <= 1 or (src.store.is_local and dst.store.is_local):
        for n in names:
            one(n)
        return
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, names))


def copy(src_url: str, dst_url: str, *, overwrite: bool = False, recursive: bool = False) -> FileEntry:
    """Copy the file at ``src_url`` to ``dst_url`` (into it when it names a
    container, ends with "/" or is a directory), object by object: server-side
    copies within one store, through this process between stores. A native
    file's root metadata is copied last. With ``recursive``, a container or
    prefix is copied with everything under it.

    AlreadyExists names the destination if a file is there and ``overwrite`` is
    false (with ``overwrite`` that file is removed first); InvalidInput for a
    copy onto itself or of a directory without ``recursive``."""
    src = parse_location(src_url)
    dst = _destination(src, dst_url)
    if _same(src, dst):
        raise InvalidInput(f"{src_url} and {dst.display} are the same file", dst.display)
    try:
        members = [m.name for m in _file_members(src)]
        is_file = True
    except NotFound:
        is_file = False
        members = [o.name for o in _objects(src, _base(src))]
        if not members:
            raise NotFound(f"{src_url}: no such file", src_url) from None
        if not recursive:
            raise InvalidInput(f"{src_url}: is a {'container' if not src.prefix else 'directory'}; "
                               "use recursive copy (-r)", src_url) from None
    if dst.prefix and (_is_object(dst) or _is_native(dst)):
        if not overwrite:
            raise AlreadyExists(f"{dst.display}: exists (use overwrite, -f, to replace it)", dst.display)
        remove(dst.display)
    dst.store.create_container(dst.container)
    if is_file and src.prefix and members and members[0] == src.prefix:  # an object (and its sidecar)
        _copy_objects(src, dst, members, src.prefix, dst.prefix)
    else:
        src_base, dst_base = _base(src), _base(dst)
        _copy_objects(src, dst, _root_last(members, src_base + _ROOT), src_base, dst_base)
    return stat(dst.display) if is_file else disk_usage(dst.display)


def move(src_url: str, dst_url: str, *, overwrite: bool = False, recursive: bool = False) -> FileEntry:
    """``copy`` then ``remove`` the source (only once the copy is complete)."""
    entry = copy(src_url, dst_url, overwrite=overwrite, recursive=recursive)
    remove(src_url, recursive=recursive)
    return entry


def is_directory(url: str) -> bool:
    """True if ``url`` names a container or prefix that is not itself a file
    (whether or not anything is in it); False for a file or a missing name."""
    loc = parse_location(url)
    if _is_object(loc) or _is_native(loc):
        return False
    if not loc.prefix:
        try:
            loc.store.head_container(loc.container)
        except NotFound:
            return False
        return True
    with contextlib.suppress(NotFound):
        return next(iter(loc.store.iter_names(loc.container, loc.prefix + "/")), None) is not None
    return False

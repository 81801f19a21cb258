"""Groups: a dict-like view of named members (objects and links), h5py style."""

from __future__ import annotations

import math
import posixpath
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np

from sciswift.errors import AlreadyExists, NotFound
from sciswift.h5.backend import ARRAY, DATATYPE, EXTERNAL, GROUP, HARD, SOFT, Entry
from sciswift.h5.base import ANON, HIDDEN, HLObject, MappingViews, name_str
from sciswift.h5.config import default_track_order
from sciswift.h5.dataset import Dataset
from sciswift.h5.datatype import Datatype
from sciswift.h5.links import ExternalLink, HardLink, SoftLink
from sciswift.h5.names import listed
from sciswift.h5.refs import Reference

__all__ = ["Group"]

#: Soft links may point at soft links; HDF5 stops following after this many.
_MAX_LINK_DEPTH = 16


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _utf8(name: str) -> bytes:
    return name.encode("utf-8", "surrogatepass")


def _components(name: str) -> list[str]:
    return [c for c in name.split("/") if c and c != "."]


#: h5py links new members in with HDF5's link creation: a non-group on the path is an OSError.
_LINK_NOT_A_GROUP: tuple[type[Exception], type[Exception]] = (OSError, OSError)

class _Resolved:
    """Where a name led: the file handle, the node path there, the name to report,
    and the kind of object."""

    __slots__ = ("handle", "path", "name", "kind")

    def __init__(self, handle: Any, path: str, name: str | None, kind: str) -> None:
        self.handle = handle
        self.path = path
        self.name = name
        self.kind = kind


def make_object(handle: Any, path: str, name: str | None, kind: str) -> HLObject:
    if kind == ARRAY:
        return Dataset(handle, path, name, handle.backend.array(path))
    if kind == DATATYPE:
        return Datatype(handle, path, name)
    if path == "":
        from sciswift.h5.files import File  # (files imports this module)

        return File._from_handle(handle)
    return Group(handle, path, name)


class Group(HLObject, MappingViews, MutableMapping[str | bytes, Any]):
    """A group of named members. Paths may be relative ("a/b") or absolute ("/a")."""

    __slots__ = ("_elink",)
    _elink: str | None

    @property
    def _elink_mode(self) -> str | None:
        """Mode external links are opened with (None: the mode of this file)."""
        return getattr(self, "_elink", None)

    # ------------------------------------------------------------ resolution
    def _display(self, name: str, parts: list[str]) -> str | None:
        if name.startswith("/"):
            return "/" + "/".join(parts)
        if self._name is None:
            return None
        base = self._name.rstrip("/")
        return base + "/" + "/".join(parts) if parts else (self._name or "/")

    def _resolve(self, name: str, *, follow_last: bool = True) -> _Resolved | None:
        """Follow ``name`` (links included) from this group; None if it leads nowhere."""
        handle = self._h
        backend = self._backend
        parts = _components(name)
        base = "" if name.startswith("/") else self._path
        display = self._display(name, parts)
        full = base
        for p in parts:
            full = _join(full, p)
        entry = backend.lookup(full)
        if entry is not None and (not entry.is_link or not follow_last):
            return _Resolved(handle, full, display, entry.kind)
        return self._walk(handle, base, parts, display, follow_last, 0)

    def _walk(self, handle: Any, base: str, parts: list[str], display: str | None, follow_last: bool,
              depth: int) -> _Resolved | None:
        if depth > _MAX_LINK_DEPTH:
            return None
        cur = base
        if not parts:
            entry = handle.backend.lookup(cur)
            return None if entry is None else _Resolved(handle, cur, display, entry.kind)
        for i, comp in enumerate(parts):
            last = i == len(parts) - 1
            path = _join(cur, comp)
            entry = handle.backend.lookup(path)
            if entry is None:
                return None
            if entry.is_link and (follow_last or not last):
                target = self._follow(handle, cur, entry, depth)
                if target is None:
                    return None
                if target.handle is not handle:
                    # Reached through an external link: named by its path in that file.
                    display = "/" + "/".join(_components(target.path)) + (
                        "/" + "/".join(parts[i + 1:]) if not last else "")
                handle, path, kind = target.handle, target.path, target.kind
            else:
                kind = entry.kind
            if last:
                return _Resolved(handle, path, display, kind)
            if kind != GROUP:
                return None
            cur = path
        return None

    def _follow(self, handle: Any, cur: str, entry: Entry, depth: int) -> _Resolved | None:
        if entry.kind == HARD:
            e = handle.backend.lookup(entry.target)
            return None if e is None else _Resolved(handle, entry.target, None, e.kind)
        if entry.kind == SOFT:
            target = entry.target
            base = "" if target.startswith("/") else cur
            return self._walk(handle, base, _components(target), None, True, depth + 1)
        if entry.kind == EXTERNAL:
            from sciswift.h5.files import open_external

            try:
                ext = open_external(handle, entry.filename, self._elink_mode)
            except FileNotFoundError:
                return None
            return self._walk(ext._h, "", _components(entry.target), None, True, depth + 1)
        return None

    # ------------------------------------------------------------ access
    def __getitem__(self, name: Any) -> Any:
        if isinstance(name, Reference):
            return self._deref(name)
        name = name_str(name)
        if self._h.closed:
            raise KeyError("Unable to synchronously open object (the file is closed)")
        if name == "":
            raise ValueError("Unable to open object: empty name")
        res = self._resolve(name)
        if res is None:
            if self._h.closed:
                raise ValueError("Invalid location identifier (file is closed)")
            raise KeyError("Unable to synchronously open object (object '%s' doesn't exist)" % posixpath.basename(name.rstrip("/")))
        return make_object(res.handle, res.path, res.name, res.kind)

    def _deref(self, ref: Reference) -> Any:
        if not ref:
            raise ValueError("Invalid HDF5 object reference (null reference)")
        path = ref.path or ""
        res = self.file._resolve(path)
        if res is None:
            # The object was moved (or lost this name): follow it, as HDF5's
            # references point at the object itself.
            moved = getattr(self._h.backend, "forward", lambda p: None)(path)
            res = self.file._resolve(moved) if moved else None
        if res is None:
            raise KeyError("Unable to open object by reference: %s no longer exists" % path)
        obj = make_object(res.handle, res.path, res.name, res.kind)
        return obj

    def get(self, name: Any, default: Any = None, getclass: bool = False, getlink: bool = False,
            elink_mode: str | None = None, **_kwds: Any) -> Any:
        """Member ``name``, or ``default``; with ``getclass`` its class, with ``getlink``
        its link (HardLink/SoftLink/ExternalLink), or both (the link's class).
        ``elink_mode`` ("r" or "r+") opens files reached by external links so."""
        from sciswift.h5.dataset import Dataset
        from sciswift.h5.datatype import Datatype

        if elink_mode is not None:
            if elink_mode not in ("r", "r+"):
                raise ValueError(f"elink_mode must be 'r' or 'r+', not {elink_mode!r}")
            if elink_mode == "r+" and not self._backend.writable:
                raise ValueError("Cannot open external links for writing from a file open read-only")
            view = type(self).__new__(type(self))
            HLObject.__init__(view, self._h, self._path, self._name)
            view._elink = elink_mode
            return view.get(name, default, getclass, getlink)
        if not (getclass or getlink):
            try:
                return self[name]
            except KeyError:
                return default
        if isinstance(name, Reference):
            raise TypeError("get with getclass/getlink needs a name, not a reference")
        name = name_str(name)
        if name not in self and not self._is_link(name):
            return default
        if getclass and not getlink:
            res = self._resolve(name)
            if res is None:
                # h5py asks HDF5 for the info of the object the link leads to
                raise RuntimeError(f"Unable to get object info ({name!r} is a link to an object that does not "
                                   "exist: component not found)")
            return {GROUP: Group, ARRAY: Dataset, DATATYPE: Datatype}[res.kind]
        entry = self._entry(name)
        if entry is None:
            return default
        if entry.kind == SOFT:
            return SoftLink if getclass else SoftLink(entry.target)
        if entry.kind == EXTERNAL:
            return ExternalLink if getclass else ExternalLink(entry.filename, entry.target)
        return HardLink if getclass else HardLink()

    def _entry(self, name: str) -> Entry | None:
        parent, _, last = name.rstrip("/").rpartition("/")
        if parent or name.startswith("/"):
            res = self._resolve(parent or "/")
            if res is None or res.kind != GROUP:
                return None
            return res.handle.backend.lookup(_join(res.path, last))
        return self._backend.lookup(_join(self._path, last))

    def _is_link(self, name: str) -> bool:
        entry = self._entry(name)
        return entry is not None and entry.is_link

    def __contains__(self, name: object) -> bool:
        if self._h.closed:
            return False
        try:
            key = name_str(name)
        except (TypeError, ValueError):
            return False
        if key == "":
            return False
        # A dangling link is contained (its name exists); what is under it is not.
        return self._resolve(key, follow_last=False) is not None

    def __iter__(self) -> Iterator[str | bytes]:
        # A name whose bytes are not UTF-8 is listed as bytes, as h5py lists it.
        names = self._backend.members(self._path)
        if self._path == "":
            names = [n for n in names if n not in HIDDEN]
        for name in names:
            yield listed(name)

    def __reversed__(self) -> Iterator[str | bytes]:
        yield from reversed(list(self))

    def __len__(self) -> int:
        names = self._backend.members(self._path)
        if self._path == "":
            return sum(1 for n in names if n not in HIDDEN)
        return len(names)

    def __repr__(self) -> str:
        if not self:
            return "<Closed HDF5 group>"
        namestr = '"%s"' % self._name if self._name is not None else "(anonymous)"
        return "<HDF5 group %s (%d members)>" % (namestr, len(self))

    def _ipython_key_completions_(self) -> list[str | bytes]:
        return list(self)

    # -------------------------------------------------------------- creating
    def _new_path(self, name: Any, not_a_group: tuple[type[Exception], type[Exception]] = (ValueError, ValueError),
                  ) -> tuple[Any, str, str | None]:
        """``(handle, node path, display name)`` for a new member called ``name``;
        missing intermediate groups are created. ValueError if the name is taken.
        A path component that is not a group raises ``not_a_group[0]`` if it is the
        new member's parent, ``not_a_group[1]`` if it is further up (h5py's classes
        differ by call: create_dataset makes the parent with require_group)."""
        self._check_writable()
        if name is None:
            backend = self._backend
            if backend.lookup(ANON) is None:
                backend.create_group(ANON)
            return self._h, _join(ANON, uuid.uuid4().hex), None
        name = name_str(name)
        parts = _components(name)
        if not parts:
            raise ValueError("Unable to create object: name %r names no new member" % name)
        base = "" if name.startswith("/") else self._path
        display = self._display(name, parts)
        handle = self._h
        check = getattr(handle.backend, "check_new_name", None)
        if check is not None:
            check("/".join([base, *parts]) if base else "/".join(parts))
        cur = base
        for i, comp in enumerate(parts[:-1]):
            error = not_a_group[0] if i == len(parts) - 2 else not_a_group[1]
            path = _join(cur, comp)
            entry = handle.backend.lookup(path)
            if entry is None:
                handle.backend.create_group(path)
                cur = path
                continue
            if entry.is_link:
                target = self._follow(handle, cur, entry, 0)
                if target is None or target.kind != GROUP:
                    raise error(f"Unable to create {name!r}: {comp!r} is not a group")
                handle, cur = target.handle, target.path
                continue
            if entry.kind != GROUP:
                raise error(f"Unable to create {name!r}: {comp!r} is not a group")
            cur = path
        path = _join(cur, parts[-1])
        if handle.backend.lookup(path) is not None:
            raise ValueError("Unable to synchronously create object (name already exists)")
        if handle is not self._h or not path.endswith("/".join(parts)):
            # A link led elsewhere: check the name where it will really be stored.
            check = getattr(handle.backend, "check_new_name", None)
            if check is not None:
                check(path)
        return handle, path, display

    def create_group(self, name: Any, track_order: bool | None = None) -> Group:
        """Create a group (and any missing intermediate groups)."""
        handle, path, display = self._new_path(name)
        try:
            handle.backend.create_group(path, default_track_order(track_order))
        except AlreadyExists:
            raise ValueError("Unable to synchronously create group (name already exists)") from None
        return Group(handle, path, display)

    def require_group(self, name: Any) -> Group:
        """The group ``name``, created if missing; TypeError if something else is there."""
        if name not in self:
            return self.create_group(name)
        grp = self[name]
        if not isinstance(grp, Group):
            raise TypeError("Incompatible object (%s) already exists" % grp.__class__.__name__)
        return grp

    def create_dataset(self, name: Any, shape: Any = None, dtype: Any = None, data: Any = None, **kwds: Any) -> Any:
        """Create a dataset (h5py's arguments: chunks, maxshape, compression,
        compression_opts, shuffle, fletcher32, scaleoffset, fillvalue, track_order ...).
        Arguments are checked before anything is created."""
        from sciswift.h5.create import make_spec
        from sciswift.h5.dataset import Dataset

        self._check_writable()
        # h5py: require_group(parent) raises TypeError for an existing non-group
        # parent; linking a new dataset in (``group[name] = data``) raises OSError.
        not_a_group = kwds.pop("_not_a_group", (TypeError, ValueError))
        track_order = default_track_order(kwds.pop("track_order", None))
        for key in ("dcpl", "dapl", "efile_prefix", "virtual_prefix", "rdcc_nslots", "rdcc_nbytes", "rdcc_w0"):
            kwds.pop(key, None)
        spec, arr = make_spec(shape, dtype, data, **kwds)
        handle, path, display = self._new_path(name, not_a_group)
        try:
            backend = handle.backend.create_array(path, spec, track_order)
        except AlreadyExists:
            raise ValueError("Unable to synchronously create dataset (name already exists)") from None
        except NotFound as e:
            raise ValueError(f"Unable to create dataset {name!r}: {e}") from None
        dset = Dataset(handle, path, display, backend)
        if arr is not None:
            size: int = math.prod(list(spec.shape))
            try:
                if spec.shape and size and arr.shape != spec.shape:
                    arr = arr.reshape(spec.shape)
                if size:
                    dset[()] = arr
            except BaseException:
                handle.backend.delete(path)
                raise
        return dset

    def require_dataset(self, name: Any, shape: Any, dtype: Any, exact: bool = False, **kwds: Any) -> Any:
        """The dataset ``name`` if it has this shape and a compatible dtype (exactly
        this dtype with ``exact``); created if missing. TypeError on a mismatch."""
        from sciswift.h5.dataset import Dataset

        if name not in self:
            return self.create_dataset(name, *(shape, dtype), **kwds)
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        dset = self[name]
        if not isinstance(dset, Dataset):
            raise TypeError("Incompatible object (%s) already exists" % dset.__class__.__name__)
        if shape != dset.shape:
            if "maxshape" not in kwds:
                raise TypeError("Shapes do not match (existing %s vs new %s)" % (dset.shape, shape))
            if kwds["maxshape"] != dset.maxshape:
                raise TypeError("Max shapes do not match (existing %s vs new %s)" % (dset.maxshape, kwds["maxshape"]))
        if exact:
            if np.dtype(dtype) != dset.dtype:
                raise TypeError("Datatypes do not exactly match (existing %s vs new %s)" % (dset.dtype, dtype))
        elif not np.can_cast(np.dtype(dtype), dset.dtype):
            raise TypeError("Datatypes cannot be safely cast (existing %s vs new %s)" % (dset.dtype, dtype))
        return dset

    def create_dataset_like(self, name: Any, other: Any, **kwupdate: Any) -> Any:
        """A new dataset with ``other``'s shape, dtype, chunks, filters and fill value."""
        for k in ("shape", "dtype", "chunks", "compression", "compression_opts", "scaleoffset", "shuffle",
                  "fletcher32", "fillvalue"):
            kwupdate.setdefault(k, getattr(other, k))
        if other.chunks is not None and other.maxshape != other.shape:
            kwupdate.setdefault("maxshape", other.maxshape)
        return self.create_dataset(name, **kwupdate)

    def create_virtual_dataset(self, name: Any, layout: Any, fillvalue: Any = None) -> Any:
        from sciswift.h5.vds import create_virtual

        return create_virtual(self, name, layout, fillvalue)

    def build_virtual_dataset(self, name: Any, shape: Any, dtype: Any, maxshape: Any = None,
                              fillvalue: Any = None) -> Any:
        from sciswift.h5.vds import VirtualBuilder

        return VirtualBuilder(self, name, shape, dtype, maxshape, fillvalue)

    # ------------------------------------------------------- links, deletion
    def __setitem__(self, name: Any, obj: Any) -> None:
        from sciswift.h5.datatype import Datatype

        if isinstance(obj, HLObject):
            self._check_writable(OSError, "create link")
            if obj._h.key != self._h.key:
                raise ValueError("Unable to create link (interfile hard links are not allowed)")
            handle, path, _ = self._new_path(name, _LINK_NOT_A_GROUP)
            if obj._name is None and obj._path.startswith(ANON + "/"):
                handle.backend.move(obj._path, path)
                obj._path = path
                obj._name = "/" + path
            else:
                handle.backend.set_link(path, Entry(HARD, obj._path))
        elif isinstance(obj, SoftLink):
            self._check_writable(OSError, "create soft link")
            handle, path, _ = self._new_path(name, _LINK_NOT_A_GROUP)
            handle.backend.set_link(path, Entry(SOFT, obj.path))
        elif isinstance(obj, ExternalLink):
            self._check_writable(RuntimeError, "create external link")
            handle, path, _ = self._new_path(name, _LINK_NOT_A_GROUP)
            handle.backend.set_link(path, Entry(EXTERNAL, obj.path, obj.filename))
        elif isinstance(obj, np.dtype):
            self._check_writable()
            handle, path, _ = self._new_path(name, _LINK_NOT_A_GROUP)
            handle.backend.create_datatype(path, obj)
        elif isinstance(obj, Datatype):
            self._check_writable(OSError, "create link")
            handle, path, _ = self._new_path(name, _LINK_NOT_A_GROUP)
            handle.backend.set_link(path, Entry(HARD, obj._path))
        else:
            self.create_dataset(name, data=obj, _not_a_group=_LINK_NOT_A_GROUP)

    def __delitem__(self, name: Any) -> None:
        name = name_str(name)
        if not self._backend.writable:
            raise KeyError("Couldn't delete link: file is open read-only")
        parts = _components(name)
        if not parts:
            raise KeyError("Couldn't delete link: %r names no member" % name)
        parent = "/".join(parts[:-1])
        if name.startswith("/"):
            parent = "/" + parent
        res = self._resolve(parent) if parent not in ("", "/") else None
        if parent in ("", "/"):
            handle = self._h
            ppath = "" if name.startswith("/") else self._path
        elif res is None or res.kind != GROUP:
            raise KeyError("Couldn't delete link (component not found): %r" % name)
        else:
            handle, ppath = res.handle, res.path
        path = _join(ppath, parts[-1])
        try:
            moves = handle.backend.delete(path)
        except (KeyError, NotFound):
            raise KeyError("Couldn't delete link (object '%s' doesn't exist)" % parts[-1]) from None
        if moves:
            # Open objects that lived on under another hard link follow there.
            handle.renames.extend(moves)

    def move(self, source: Any, dest: Any) -> None:
        """Rename ``source`` to ``dest`` (both paths in this file)."""
        self._check_writable()
        source = name_str(source)
        dest = name_str(dest)
        if source == dest:
            return
        src = self._resolve(source, follow_last=False)
        if src is None:
            raise KeyError("Unable to move object: source %r doesn't exist" % source)
        handle, path, _ = self._new_path(dest)
        if handle.key != src.handle.key:
            raise ValueError("Unable to move object across files")
        handle.backend.move(src.path, path)
        handle.renames.append((src.path, path))

    def copy(self, source: Any, dest: Any, name: Any = None, shallow: bool = False, expand_soft: bool = False,
             expand_external: bool = False, expand_refs: bool = False, without_attrs: bool = False) -> None:
        """Copy an object (and, for groups, everything below it) to ``dest`` (a group
        or a path, in this file or another)."""
        from sciswift.h5.copying import copy_object

        copy_object(self, source, dest, name, shallow=shallow, expand_soft=expand_soft,
                    expand_external=expand_external, expand_refs=expand_refs, without_attrs=without_attrs)

    # ------------------------------------------------------------ visiting
    def visit(self, func: Callable[[Any], Any]) -> Any:
        """Call ``func(name)`` for every object below this group (each object once,
        by one of its names); stop and return the first non-None result."""
        return self.visititems(lambda name, obj: func(name))

    def visititems(self, func: Callable[[Any, Any], Any]) -> Any:
        """Call ``func(name, object)`` for every object below this group (each object
        once); stop and return the first non-None result."""
        seen: set[str] = {self._path}  # HDF5 counts the group visited from as seen: a link back up is skipped
        base = self._name.rstrip("/") if self._name else ""
        handle = self._h
        backend = handle.backend

        def visit(rel: str, path: str, entry: Entry) -> tuple[Any, str | None]:
            if entry.kind in (SOFT, EXTERNAL):
                return None, None
            target, kind = path, entry.kind
            if entry.kind == HARD:
                e = backend.lookup(entry.target)
                if e is None:
                    return None, None
                target, kind = entry.target, e.kind
            if target in seen:
                return None, None
            seen.add(target)
            obj = make_object(handle, target, f"{base}/{rel}" if self._name is not None else None, kind)
            return func(listed(rel), obj), (target if kind == GROUP else None)

        return _walk_members(backend, self._path, "", visit)

    def visit_links(self, func: Callable[[Any], Any]) -> Any:
        """Call ``func(name)`` for every link below this group (links are not followed)."""
        return self.visititems_links(lambda name, link: func(name))

    def visititems_links(self, func: Callable[[Any, Any], Any]) -> Any:
        def visit(rel: str, path: str, entry: Entry) -> tuple[Any, str | None]:
            if entry.kind == SOFT:
                link: Any = SoftLink(entry.target)
            elif entry.kind == EXTERNAL:
                link = ExternalLink(entry.filename, entry.target)
            else:
                link = HardLink()
            return func(listed(rel), link), (path if entry.kind == GROUP else None)

        return _walk_members(self._h.backend, self._path, "", visit)


def _walk_members(backend: Any, path: str, prefix: str,
                  visit: Callable[[str, str, Entry], tuple[Any, str | None]]) -> Any:
    """Depth-first over the members of ``path`` in name order (as HDF5 visits, even
    in creation-ordered groups). ``visit(relative name, node path, entry)`` returns
    ``(result, group to descend into or None)``; the first non-None result stops."""
    for member in sorted(backend.members(path), key=_utf8):
        if path == "" and member in HIDDEN:
            continue
        child = _join(path, member)
        entry = backend.lookup(child)
        if entry is None:
            continue
        rel = _join(prefix, member)
        ret, descend = visit(rel, child, entry)
        if ret is not None:
            return ret
        if descend is not None:
            ret = _walk_members(backend, descend, rel, visit)
            if ret is not None:
                return ret
    return None

"""DirectoryStore: a read-only Store view of plain directory trees on disk.

Other tools keep Zarr hierarchies as directories whose files are named by their
keys (zarr-python's ``LocalStore``, xarray's ``to_zarr``). This view lets the
engine read them where they are: a container is a directory under ``root`` and an
object is a regular file below it, named by its relative path with ``/``
separators. It cannot hold what Swift names can express (``a`` and ``a/b`` at
once, metadata), so it is read-only: every write raises NotSupported, and a path
that would leave the container (``..``, absolute paths, symbolic links pointing
outside) is refused as an InvalidName.

ETags are computed on demand (MD5 of the file). Listings walk the directory tree
and sort names by UTF-8 bytes, as Swift does.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sciswift.errors import InvalidName, NotFound, NotSupported
from sciswift.store.base import BytesReader, ObjectReader, PutData, Store
from sciswift.store.listing import apply_listing, utf8_key
from sciswift.store.names import check_container_name, check_object_name
from sciswift.store.types import (
    OVERWRITE,
    AccountInfo,
    ByteRange,
    ContainerInfo,
    ListingParams,
    ObjectInfo,
    PutMode,
    Subdir,
)

__all__ = ["DirectoryStore", "looks_like_zarr_dir"]

_ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray", ".zmetadata")


def looks_like_zarr_dir(path: Path) -> bool:
    """True if ``path`` is a directory holding a Zarr hierarchy root (v2 or v3)."""
    return path.is_dir() and any((path / m).is_file() for m in _ZARR_MARKERS)


class DirectoryStore(Store):
    """Directories under ``root`` as read-only containers of files."""

    supports_conditional_put = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.abspath(root))
        self.url = f"file://{self.root}"

    def __reduce__(self) -> tuple[Any, ...]:
        return DirectoryStore, (str(self.root),)  # by address, as the other stores

    def _readonly(self, what: str) -> NotSupported:
        return NotSupported(f"{self.root} is a plain directory tree, read-only for sciswift: cannot {what}", str(self.root))

    # --------------------------------------------------------------- paths
    def _container_dir(self, container: str) -> Path:
        check_container_name(container)
        path = self.root / container
        if not path.is_dir():
            raise NotFound(f"container {container!r} does not exist", container)
        return path

    def _file(self, container: str, name: str) -> Path:
        check_object_name(name)
        parts = name.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise InvalidName(f"object name {name!r} is not a relative file path", f"{container}/{name}")
        base = self._container_dir(container)
        path = base.joinpath(*parts)
        real = os.path.realpath(path)
        if os.path.commonpath([real, os.path.realpath(base)]) != os.path.realpath(base):
            raise InvalidName(f"object {container}/{name} points outside its directory", f"{container}/{name}")
        if not os.path.isfile(real):
            raise NotFound(f"object {container}/{name} does not exist", f"{container}/{name}")
        return path

    def _info(self, name: str, path: Path, etag: str | None = None) -> ObjectInfo:
        st = path.stat()
        if etag is None:
            h = hashlib.md5()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(8 << 20), b""):
                    h.update(block)
            etag = h.hexdigest()
        return ObjectInfo(name=name, size=st.st_size, etag=etag, timestamp=st.st_mtime)

    def _walk(self, container: str, prefix: str) -> Iterator[str]:
        base = self._container_dir(container)
        start = base
        # Walk only below the deepest directory the prefix names.
        head = prefix.rpartition("/")[0]
        if head:
            start = base.joinpath(*head.split("/"))
            if not start.is_dir():
                return
        real_base = os.path.realpath(base)
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            rel = Path(dirpath).relative_to(base).as_posix()
            rel = "" if rel == "." else rel + "/"
            for f in filenames:
                name = rel + f
                full = os.path.join(dirpath, f)
                if os.path.islink(full) and os.path.commonpath([os.path.realpath(full), real_base]) != real_base:
                    continue  # a link out of the tree is not part of it
                if name.startswith(prefix):
                    yield name
            dirnames[:] = [d for d in dirnames if (rel + d + "/").startswith(prefix) or prefix.startswith(rel + d + "/")]

    # ------------------------------------------------------------- account
    def account_info(self) -> AccountInfo:
        names = [p.name for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else []
        return AccountInfo(container_count=len(names))

    def post_account(self, metadata: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None) -> None:
        raise self._readonly("set account metadata")

    def list_containers(self, params: ListingParams = ListingParams()) -> list[ContainerInfo | Subdir]:
        names = sorted((p.name for p in self.root.iterdir() if p.is_dir()), key=utf8_key, reverse=params.reverse)
        return apply_listing([ContainerInfo(n) for n in names], lambda c: c.name, params)

    # ----------------------------------------------------------- container
    def create_container(self, container: str, metadata: Mapping[str, str] | None = None,
                         system: Mapping[str, str] | None = None) -> bool:
        self._container_dir(container)
        if metadata or system:
            raise self._readonly("set container metadata")
        return False

    def delete_container(self, container: str) -> None:
        raise self._readonly(f"delete container {container!r}")

    def head_container(self, container: str) -> ContainerInfo:
        base = self._container_dir(container)
        return ContainerInfo(container, timestamp=base.stat().st_mtime)

    def post_container(self, container: str, metadata: Mapping[str, str] | None = None,
                       system: Mapping[str, str] | None = None) -> None:
        raise self._readonly(f"set metadata of container {container!r}")

    def list_objects(self, container: str, params: ListingParams = ListingParams()) -> list[ObjectInfo | Subdir]:
        names = sorted(self._walk(container, params.prefix), key=utf8_key, reverse=params.reverse)
        base = self._container_dir(container)
        lazy = [(n, base.joinpath(*n.split("/"))) for n in names]
        entries = apply_listing(lazy, lambda t: t[0], params)
        return [e if isinstance(e, Subdir) else self._info(e[0], e[1]) for e in entries]

    def iter_names(self, container: str, prefix: str = "", *, page_size: int = 10000) -> Iterator[str]:
        yield from sorted(self._walk(container, prefix), key=utf8_key)

    # -------------------------------------------------------------- object
    def head_object(self, container: str, name: str) -> ObjectInfo:
        return self._info(name, self._file(container, name))

    def open_object(self, container: str, name: str, byte_range: ByteRange | None = None, *,
                    need_etag: bool = True) -> ObjectReader:
        path = self._file(container, name)
        data = path.read_bytes()
        info = ObjectInfo(name, len(data), hashlib.md5(data).hexdigest(), path.stat().st_mtime)
        start, stop = (byte_range or ByteRange()).resolve(len(data))
        return BytesReader(info, data, start, stop)

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        path = self._file(container, name)
        if byte_range is None:
            return path.read_bytes()
        size = path.stat().st_size
        start, stop = byte_range.resolve(size)
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(stop - start)

    def put_object(self, container: str, name: str, data: PutData, *, content_type: str | None = None,
                   metadata: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None,
                   mode: PutMode = OVERWRITE, etag: str | None = None) -> ObjectInfo:
        raise self._readonly(f"write {container}/{name}")

    def delete_object(self, container: str, name: str) -> None:
        raise self._readonly(f"delete {container}/{name}")

    def post_object(self, container: str, name: str, *, metadata: Mapping[str, str],
                    content_type: str | None = None, system: Mapping[str, str] | None = None) -> ObjectInfo:
        raise self._readonly(f"set metadata of {container}/{name}")

"""``swift://`` for the fsspec ecosystem: pandas, pyarrow, zarr-python, xarray's
zarr engine and dask.dataframe open ``swift://CONTAINER/NAME`` through this file
system, registered under fsspec's entry-point group ``fsspec.specs``.

It is a thin layer over a sciswift ``SwiftStore``, so authentication (TempAuth or
Keystone), retries and the keep-alive connection pool are sciswift's own, and
large uploads become static large objects as with ``swift upload``.

- Credentials: ``storage_options`` with SwiftStore's argument names (``auth_url``,
  ``user``, ``key``, ``auth_version``, ``storage_url``, ``token``, the Keystone
  names such as ``project_name``) and tuning (``retries``, ``pool_size`` ...);
  whatever they leave out comes from the environment as for the ``swift`` command
  (``ST_AUTH``/``ST_USER``/``ST_KEY`` or ``OS_*``). ``store=`` takes a ready
  Store instead (any sciswift Store: LocalStore too).
- Paths: ``CONTAINER/OBJECT`` (with or without ``swift://``); the account itself is
  ``""``. A container is a directory, and so is every ``/``-delimited prefix that
  objects have (a native sciswift file ``run1.h5`` is such a directory of Zarr
  objects, which is what zarr-python and xarray read).
- Reads are byte ranges (``open(..., "rb")`` fetches only the blocks read,
  ``cat_file(path, start, end)`` one ranged GET); writes go to a random-access
  spooled temporary file (memory up to 8 MiB, then disk: ``seek``/``tell``/
  ``truncate`` work, so h5py and scipy can write netCDF into it) and are stored
  atomically at close. Appending (``"ab"``) starts the spool with the object's
  bytes and replaces the object at close only if nobody else replaced it since.
- ``ls``/``find``/``info``/``du``/``glob`` use container listings (``find`` one
  flat listing, not one per directory); ``rm`` uses bulk delete; ``cp_file`` is a
  server-side copy; ``mkdir`` of a container creates it, deeper ones are implied.
- Pickling (dask workers) carries the store by address, credentials included
  (each store's ``__reduce__``); reprs and messages never show a secret.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from sciswift.errors import (
    AlreadyExists,
    ContainerNotEmpty,
    NotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
)
from sciswift.store.base import Store
from sciswift.store.types import ByteRange, ContainerInfo, ListingParams, ObjectInfo, Subdir

__all__ = ["SwiftFileSystem", "SwiftFile"]

#: Arguments fsspec itself gives every file system (not SwiftStore options).
_FSSPEC_OPTIONS = frozenset({"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths",
                             "asynchronous", "loop", "batch_size"})
_LISTING_PAGE = 10_000


def _split(path: str) -> tuple[str, str]:
    container, _, key = path.partition("/")
    return container, key


class SwiftFileSystem(AbstractFileSystem):
    """fsspec file system over one Swift account (see the module docstring)."""

    protocol = ("swift",)
    root_marker = ""

    def __init__(self, *args: Any, store: Store | None = None, **storage_options: Any) -> None:
        super().__init__(*args, **storage_options)
        if store is None:
            from sciswift.store.swift import SwiftStore

            options = {k: v for k, v in storage_options.items() if k not in _FSSPEC_OPTIONS}
            store = SwiftStore.from_environment(**options)
        self.store = store

    def __reduce__(self) -> tuple[Any, ...]:
        # The store travels by address (credentials included), so a worker without
        # the environment reaches the same account.
        return _from_store, (self.store,)

    def __repr__(self) -> str:
        return f"SwiftFileSystem({self.store!r})"

    # ------------------------------------------------------------- paths
    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]  # type: ignore[return-value]
        path = str(path)
        if path.startswith("swift://"):
            path = path[len("swift://"):]
        return path.strip("/")

    def unstrip_protocol(self, name: str) -> str:
        return "swift://" + self._strip_protocol(name)

    # ---------------------------------------------------------- metadata
    @staticmethod
    def _file_entry(container: str, info: ObjectInfo) -> dict[str, Any]:
        return {"name": f"{container}/{info.name}", "size": info.size, "type": "file", "ETag": info.etag,
                "mtime": info.timestamp, "content_type": info.content_type}

    @staticmethod
    def _dir_entry(name: str) -> dict[str, Any]:
        return {"name": name, "size": 0, "type": "directory"}

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Members of the account (containers), a container or a prefix. A path
        naming one object lists that object; FileNotFoundError if nothing is there."""
        path = self._strip_protocol(path)
        entries: list[dict[str, Any]] = []
        if not path:
            for c in self._all_containers():
                entries.append(self._dir_entry(c.name))
        else:
            container, key = _split(path)
            prefix = key + "/" if key else ""
            for entry in self._listing(container, prefix, "/"):
                if isinstance(entry, Subdir):
                    entries.append(self._dir_entry(f"{container}/{entry.name.rstrip('/')}"))
                elif entry.name != prefix:  # a "directory marker" object is not a member
                    entries.append(self._file_entry(container, entry))
            if not entries and key:
                info = self._object_info(container, key)
                if info is None:
                    raise FileNotFoundError(f"swift://{path}: no such object or prefix")
                entries = [self._file_entry(container, info)]
            elif not entries and not key:
                self._container_info(container)  # FileNotFoundError if missing
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        if not path:
            return self._dir_entry("")
        container, key = _split(path)
        if not key:
            self._container_info(container)
            return self._dir_entry(container)
        obj = self._object_info(container, key)
        if obj is not None:
            return self._file_entry(container, obj)
        try:
            page = self.store.list_objects(container, ListingParams(prefix=key + "/", limit=1))
        except NotFound:
            page = []
        if page:
            return self._dir_entry(path)
        raise FileNotFoundError(f"swift://{path}: no such object or prefix")

    def find(self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False,
             **kwargs: Any) -> Any:
        """Every object below ``path`` from one flat listing (directories derived
        from the names when ``withdirs``)."""
        path = self._strip_protocol(path)
        if maxdepth is not None or not path:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        container, key = _split(path)
        out: dict[str, dict[str, Any]] = {}
        prefix = key + "/" if key else ""
        try:
            for info in self.store.iter_objects(container, prefix, page_size=_LISTING_PAGE):
                entry = self._file_entry(container, info)
                out[entry["name"]] = entry
                if withdirs:
                    parts = info.name[len(prefix):].split("/")[:-1]
                    base = path
                    for part in parts:
                        base = f"{base}/{part}"
                        out.setdefault(base, self._dir_entry(base))
        except NotFound:
            pass
        if withdirs and out:
            out[path] = self._dir_entry(path)
        if not out and key:
            obj = self._object_info(container, key)
            if obj is not None:
                out[path] = self._file_entry(container, obj)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def _all_containers(self) -> Iterator[ContainerInfo]:
        marker = ""
        while True:
            page = self.store.list_containers(ListingParams(marker=marker, limit=_LISTING_PAGE))
            for entry in page:
                if isinstance(entry, ContainerInfo):
                    yield entry
            if len(page) < _LISTING_PAGE:
                return
            marker = page[-1].name

    def _listing(self, container: str, prefix: str, delimiter: str) -> Iterator[ObjectInfo | Subdir]:
        marker = ""
        while True:
            try:
                page = self.store.list_objects(
                    container, ListingParams(prefix=prefix, delimiter=delimiter, marker=marker, limit=_LISTING_PAGE))
            except NotFound:
                raise FileNotFoundError(f"swift://{container}: no such container") from None
            yield from page
            if len(page) < _LISTING_PAGE:
                return
            marker = page[-1].name

    def _container_info(self, container: str) -> ContainerInfo:
        try:
            return self.store.head_container(container)
        except NotFound:
            raise FileNotFoundError(f"swift://{container}: no such container") from None

    def _object_info(self, container: str, key: str) -> ObjectInfo | None:
        try:
            return self.store.head_object(container, key)
        except NotFound:
            return None

    def ukey(self, path: str) -> str:
        return str(self.info(path).get("ETag", ""))

    def modified(self, path: str) -> datetime.datetime:
        info = self.info(path)
        if "mtime" not in info:
            raise IsADirectoryError(f"swift://{self._strip_protocol(path)} is a prefix, it has no time")
        return datetime.datetime.fromtimestamp(info["mtime"], tz=datetime.UTC)

    created = modified

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        """Create an empty object, or with ``truncate=False`` make an existing
        one's modification time now and keep its bytes and metadata (as
        ``touch`` does to a local file): a POST of its own metadata, which sets
        the object's time in Swift, and ``X-Object-Meta-Mtime`` (the time the
        ``swift`` tools and the mount take as the file's) moved to now when the
        object has one."""
        container, key = self._object_path(path)
        info = None if truncate else self._object_info(container, key)
        if info is None:
            self.pipe_file(path, b"")
            return
        from sciswift.mount.mtime import META_KEY, format_mtime

        metadata = dict(info.metadata)
        if META_KEY in metadata:
            metadata[META_KEY] = format_mtime(time.time_ns())
        try:
            self.store.post_object(container, key, metadata=metadata)
        except NotFound:  # deleted since the HEAD: touch creates it
            self.pipe_file(path, b"")

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """A Swift temporary URL for the object (``GET`` unless ``method=``
        says otherwise), valid ``expiration`` seconds, signed with HMAC-SHA256
        by the container's temp-URL key, else the account's (``swift post -m
        Temp-URL-Key:SECRET``). NotImplementedError (fsspec's answer for "cannot
        sign") when neither has a key or the store is not a Swift endpoint."""
        container, key = self._object_path(path)
        storage_url = getattr(self.store, "storage_url", None)
        if not isinstance(storage_url, str):
            raise NotImplementedError(f"{self.store!r} has no Swift storage URL to sign for")
        method = str(kwargs.get("method", "GET")).upper()
        self._check_temp_urls(method)
        secret = _temp_url_key(self._container_info(container).metadata) or _temp_url_key(
            self.store.account_info().metadata)
        if secret is None:
            raise NotImplementedError(
                f"swift://{container}: neither the container nor the account has a temp-URL key to sign with; "
                "set one (swift post -m Temp-URL-Key:SECRET) and sign again")
        expires = int(time.time() + expiration)
        base = urllib.parse.urlsplit(storage_url)
        obj_path = f"{urllib.parse.unquote(base.path).rstrip('/')}/{container}/{key}"
        # Swift's tempurl signs the decoded path (what the server sees), the URL carries it quoted.
        body = f"{method}\n{expires}\n{obj_path}".encode("utf-8", "surrogateescape")
        sig = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        query = urllib.parse.urlencode({"temp_url_sig": sig, "temp_url_expires": str(expires)})
        return urllib.parse.urlunsplit((base.scheme, base.netloc, urllib.parse.quote(obj_path), query, ""))

    def _check_temp_urls(self, method: str) -> None:
        """NotImplementedError where the endpoint's ``/info`` shows it would refuse
        a temp URL for ``method``: without Swift's ``tempurl`` middleware (a
        cluster may leave it out; then every signed URL answers 401), or with
        ``method`` not among its ``methods``. An endpoint without ``/info`` is
        given the benefit of the doubt."""
        capabilities = getattr(self.store, "capabilities", None)
        info = capabilities() if callable(capabilities) else {}
        if not info:
            return
        tempurl = info.get("tempurl")
        if not isinstance(tempurl, dict):
            raise NotImplementedError(
                f"{self.store!r} does not offer temporary URLs (its /info has no tempurl: the cluster runs "
                "without Swift's tempurl middleware), so a signed URL would be refused")
        methods = tempurl.get("methods")
        if isinstance(methods, list) and method not in methods:
            raise NotImplementedError(f"{self.store!r} gives temporary URLs for {', '.join(methods)} only, "
                                      f"not {method}")

    # ------------------------------------------------------------- reads
    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """The object's bytes ``start`` to ``end`` (Python slice rules, negative
        from the end) in one ranged GET."""
        container, key = _split(self._strip_protocol(path))
        if (start is not None and start < 0 and end is None):
            byte_range: ByteRange | None = ByteRange.last(-start)
        elif (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path)["size"]
            s = 0 if start is None else (max(0, size + start) if start < 0 else start)
            e = size if end is None else (max(0, size + end) if end < 0 else end)
            if e <= s:
                return b""
            byte_range = ByteRange(s, e)
        elif start or end is not None:
            s = start or 0
            if end is not None and end <= s:
                return b""
            byte_range = ByteRange(s, end)
        else:
            byte_range = None
        try:
            return self.store.get_object(container, key, byte_range)
        except NotFound:
            raise FileNotFoundError(f"swift://{container}/{key}: no such object") from None
        except RangeNotSatisfiable:
            return b""

    def get_file(self, rpath: str, lpath: str, callback: Any = None, outfile: Any = None, **kwargs: Any) -> None:
        """Stream one object into a local file (or ``outfile``), creating the
        local file's missing parent directories (as fsspec's own ``get_file``)."""
        import os

        container, key = _split(self._strip_protocol(rpath))
        if outfile is None and self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        try:
            reader = self.store.open_object(container, key)
        except NotFound:
            raise FileNotFoundError(f"swift://{container}/{key}: no such object") from None
        with reader:
            if outfile is not None:
                shutil.copyfileobj(reader, outfile, 1 << 20)
            else:
                os.makedirs(os.path.dirname(os.path.abspath(lpath)), exist_ok=True)
                with open(lpath, "wb") as out:
                    shutil.copyfileobj(reader, out, 1 << 20)

    def open(self, path: str, mode: str = "rb", block_size: Any = None, cache_options: Any = None,
             compression: Any = None, **kwargs: Any) -> Any:
        """fsspec's ``open``; text-mode writing (``"w"``, ``"x"``, ``"a"``)
        refuses bytes with a message naming the call to use (``_WritableText``)."""
        plain = mode.replace("t", "")
        if plain not in ("w", "x", "a"):
            return super().open(path, mode, block_size=block_size, cache_options=cache_options,
                                compression=compression, **kwargs)
        text = {k: kwargs.pop(k) for k in ("encoding", "errors", "newline") if k in kwargs}
        binary = super().open(path, plain + "b", block_size=block_size, cache_options=cache_options,
                              compression=compression, **kwargs)
        return _WritableText(binary, **text)

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: Any = None, **kwargs: Any) -> SwiftFile:
        return SwiftFile(self, self._strip_protocol(path), mode, block_size=block_size, autocommit=autocommit,
                         cache_options=cache_options, **kwargs)

    # ------------------------------------------------------------ writes
    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        from sciswift.store.types import CREATE, OVERWRITE

        container, key = self._object_path(path)
        try:
            self.store.put_object(container, key, value, mode=CREATE if mode == "create" else OVERWRITE)
        except AlreadyExists:
            raise FileExistsError(f"swift://{container}/{key} exists") from None
        except NotFound:
            raise FileNotFoundError(f"swift://{container}: no such container (mkdir it first)") from None

    def put_file(self, lpath: str, rpath: str, callback: Any = None, mode: str = "overwrite",
                 **kwargs: Any) -> None:
        """Upload one local file (a static large object above the store's threshold)."""
        import os

        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        container, key = self._object_path(rpath)
        with open(lpath, "rb") as f:
            try:
                self.store.put_object(container, key, f)
            except NotFound:
                raise FileNotFoundError(f"swift://{container}: no such container (mkdir it first)") from None

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Server-side copy of one object. A source that is a prefix (a directory)
        copies nothing: fsspec's recursive ``copy``/``mv`` hand every directory of
        the tree to ``cp_file``, and a prefix at the destination exists as soon as
        its objects do (as fsspec's memory and local file systems make the
        directory). FileNotFoundError if the source is neither."""
        c1, k1 = self._object_path(path1)
        c2, k2 = self._object_path(path2)
        try:
            self.store.copy_object(c1, k1, c2, k2)
        except NotFound:
            if self._is_prefix(c1, k1):
                return
            raise FileNotFoundError(f"swift://{c1}/{k1} (or container {c2}) does not exist") from None

    def _is_prefix(self, container: str, key: str) -> bool:
        """Whether objects exist below ``container/key/``."""
        try:
            return bool(self.store.list_objects(container, ListingParams(prefix=key + "/", limit=1)))
        except NotFound:
            return False

    def rm_file(self, path: str) -> None:
        container, key = self._object_path(path)
        try:
            self.store.delete_object(container, key)
        except NotFound:
            raise FileNotFoundError(f"swift://{container}/{key}: no such object") from None

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete objects (bulk delete per container); with ``recursive``
        everything below a prefix, and a container named as a whole too."""
        paths = [path] if isinstance(path, str) else list(path)
        by_container: dict[str, list[str]] = {}
        whole: list[str] = []
        for p in paths:
            p = self._strip_protocol(p)
            container, key = _split(p)
            if not container:
                raise ValueError("refusing to delete a whole Swift account")
            if recursive and (not key or self.isdir(p)):
                names = list(self.store.iter_names(container, key + "/" if key else ""))
                by_container.setdefault(container, []).extend(names)
                if not key:
                    whole.append(container)
                continue
            if not key:
                # A container is not an object: without this, the store's
                # InvalidName for the empty object name reached the caller.
                raise IsADirectoryError(f"swift://{p} is a container: rm(..., recursive=True) deletes it with "
                                        "its objects, rmdir deletes it when empty")
            if self._object_info(container, key) is None:
                raise FileNotFoundError(f"swift://{p}: no such object")
            by_container.setdefault(container, []).append(key)
        for container, names in by_container.items():
            self.store.delete_many(container, names)
        for container in whole:
            self.store.delete_container(container)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create the container ``path`` names (prefixes below it need no creating)."""
        container, key = _split(self._strip_protocol(path))
        if not container:
            return
        if key and not create_parents:
            self._container_info(container)
            return
        self.store.create_container(container)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        container, key = _split(self._strip_protocol(path))
        if container and not self.store.create_container(container) and not key and not exist_ok:
            raise FileExistsError(f"swift://{container} exists")

    def rmdir(self, path: str) -> None:
        """Delete an empty container (prefixes vanish with their last object)."""
        container, key = _split(self._strip_protocol(path))
        if key:
            return
        try:
            self.store.delete_container(container)
        except NotFound:
            raise FileNotFoundError(f"swift://{container}: no such container") from None
        except ContainerNotEmpty:
            raise OSError(f"swift://{container} is not empty") from None

    def _object_path(self, path: str) -> tuple[str, str]:
        p = self._strip_protocol(path)
        container, key = _split(p)
        if not container or not key:
            raise IsADirectoryError(f"swift://{p} names a container or the account, not an object")
        return container, key


def _temp_url_key(metadata: dict[str, str]) -> str | None:
    """The first temp-URL key of account or container metadata (Swift's two
    names), None without one."""
    return next((metadata[k] for k in ("temp-url-key", "temp-url-key-2") if metadata.get(k)), None)


def _from_store(store: Store) -> SwiftFileSystem:
    # Not from fsspec's instance cache: its key would not tell accounts apart.
    return SwiftFileSystem(store=store, skip_instance_cache=True)


class _WritableText(io.TextIOWrapper):
    """A file opened for writing in text mode (``"w"``, ``"x"``, ``"a"``).

    Text is written as by any text file. Bytes are refused, as Python refuses
    them, but with a message saying what to call instead, and refused *once*:
    the object is then dropped (nothing stored) and whatever the writer does
    afterwards is accepted and ignored. That is for h5py: xarray's
    ``ds.to_netcdf("swift://...", engine="h5netcdf")`` opens the URL this way
    (with fsspec's ``get_fs_token_paths``, which also turns the name into
    ``NAME/0.part``: on every fsspec file system, memory:// too) and hands it to
    h5py, whose file-object driver, failing again and again while it closes
    the half-written file, crashed the interpreter."""

    _refused = False
    _pos = 0

    def write(self, s: Any) -> int:
        if isinstance(s, str) and not self._refused:
            return super().write(s)
        size = len(s) if isinstance(s, str) else memoryview(s).nbytes
        if self._refused:
            self._pos += size
            return size
        self._refused = True
        target: Any = self.buffer  # the SwiftFile this wraps
        target.discard()
        raise TypeError(
            f"swift://{target.path} was opened in text mode, and bytes were written to it; nothing is "
            "stored. Open it with 'wb'. For xarray, whose to_netcdf(url, engine='h5netcdf') opens URLs in "
            "text mode (and as url + '/0.part'): `with fsspec.open(url, 'wb') as f: ds.to_netcdf(f, "
            "engine='h5netcdf')`, or `fsspec.filesystem('swift').pipe(url, bytes(ds.to_netcdf()))`")

    def readinto(self, b: Any) -> int:
        if not self._refused:
            raise io.UnsupportedOperation("readinto of a text file")
        view = memoryview(b).cast("B")
        view[:] = bytes(len(view))
        self._pos += len(view)
        return len(view)

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self._refused:
            return super().seek(offset, whence)
        self._pos = offset if whence == 0 else self._pos + offset
        return self._pos

    def tell(self) -> int:
        return self._pos if self._refused else super().tell()

    def truncate(self, pos: int | None = None) -> int:
        if not self._refused:
            return super().truncate(pos)
        return self._pos if pos is None else pos

    def flush(self) -> None:
        if not self._refused:
            super().flush()


class SwiftFile(AbstractBufferedFile):
    """An object opened for reading by byte ranges, or for writing.

    Writing (``"wb"``, ``"xb"``) goes to a spooled temporary file (memory up to
    8 MiB, then disk) that is random-access: ``seek``, ``tell``, ``truncate`` and
    reading back what was written work, as on a local file, so writers that
    patch headers after the data (h5py/h5netcdf through ``to_netcdf(f)``,
    scipy's netCDF-3 writer, zip files) can write straight into the store. The
    whole object is stored at ``close`` (one PUT, or a static large object above
    the store's threshold); nothing is visible before. Appending (``"ab"``)
    copies the object into the spool first, writes at its end, and replaces
    it at close if it is still the object that was read (else OSError,
    nothing stored); an object that does not exist is created."""

    DEFAULT_BLOCK_SIZE = 4 << 20
    #: Bytes a file being written keeps in memory before spilling to disk.
    SPOOL_MEMORY = 8 << 20

    def __init__(self, fs: SwiftFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        container, key = fs._object_path(path)
        if mode == "rb" and "size" not in kwargs:
            obj = fs._object_info(container, key)
            if obj is None:
                raise FileNotFoundError(f"swift://{path}: no such object")
            kwargs["size"] = obj.size
        if mode == "xb" and fs._object_info(container, key) is not None:
            # Refused at open, as fsspec's file systems and open(..., "xb") do (the
            # store's create-only PUT at close still settles a race).
            raise FileExistsError(f"swift://{path} exists")
        self._container, self._key = container, key
        self._spool: Any = None
        #: What appending (``"ab"``) replaces at close: the object's ETag, or
        #: None when there was no object (then it is created).
        self._appended_to: str | None = None
        spool: Any = None if mode == "rb" else tempfile.SpooledTemporaryFile(self.SPOOL_MEMORY)
        if mode == "ab":
            self._appended_to = self._load_for_append(fs, spool)
        super().__init__(fs, path, mode, **kwargs)
        self._spool = spool
        if mode == "ab":
            self.loc = spool.tell()

    def _load_for_append(self, fs: SwiftFileSystem, spool: Any) -> str | None:
        """Copy the object into the spool (streamed; memory up to SPOOL_MEMORY);
        its ETag, or None if there is no object yet."""
        try:
            reader = fs.store.open_object(self._container, self._key)
        except NotFound:
            return None
        with reader:
            shutil.copyfileobj(reader, spool, 1 << 20)
            return reader.info.etag

    # -------------------------------------------------------------- reading
    def _fetch_range(self, start: int, end: int) -> bytes:
        if end <= start or start >= self.size:
            return b""
        return self.fs.store.get_object(self._container, self._key, ByteRange(start, end))

    # -------------------------------------------------------------- writing
    def _writing(self) -> Any:
        """The spool of a file open for writing (ValueError once closed)."""
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._spool

    def write(self, data: Any) -> int:
        if self.mode == "rb":
            return super().write(data)  # fsspec's ValueError
        spool = self._writing()
        if self.mode == "ab":
            spool.seek(0, 2)  # appending writes at the end wherever it was read (O_APPEND)
        n = spool.write(data)
        self.loc = self._spool.tell()
        return int(n)

    def seek(self, loc: int, whence: int = 0) -> int:
        if self.mode == "rb":
            return super().seek(loc, whence)
        self.loc = self._writing().seek(loc, whence)
        return int(self.loc)

    def tell(self) -> int:
        if self.mode == "rb":
            return super().tell()
        return int(self._writing().tell())

    def read(self, length: int = -1) -> bytes:
        if self.mode == "rb":
            return super().read(length)
        data = self._writing().read(-1 if length is None else length)
        self.loc = self._spool.tell()
        return bytes(data)

    def readinto(self, b: Any) -> int:
        if self.mode == "rb":
            return super().readinto(b)
        n = self._writing().readinto(b)
        self.loc = self._spool.tell()
        return int(n)

    def truncate(self, size: int | None = None) -> int:
        if self.mode == "rb":
            raise OSError("objects opened for reading cannot be truncated")
        return int(self._writing().truncate(self._spool.tell() if size is None else size))

    def seekable(self) -> bool:
        return not self.closed

    def flush(self, force: bool = False) -> None:
        """Nothing is sent before ``close`` (``force``: store the object now;
        the file can then only be closed)."""
        if self.mode == "rb" or self.closed:
            return
        if force and not getattr(self, "forced", False):
            self._store_spool()
            self.forced = True

    def _store_spool(self) -> None:
        from sciswift.store.types import CREATE, OVERWRITE, IfMatch

        spool = self._spool
        spool.seek(0)
        mode = CREATE if self.mode == "xb" else OVERWRITE
        if self.mode == "ab":
            # Appending replaces the object it read, not one stored since.
            mode = CREATE if self._appended_to is None else IfMatch(self._appended_to)
        try:
            self.fs.store.put_object(self._container, self._key, spool, mode=mode)
        except (AlreadyExists, PreconditionFailed):
            if self.mode == "ab":
                raise OSError(f"swift://{self.path} was changed by another writer while this one appended to "
                              "it; nothing was stored") from None
            raise FileExistsError(f"swift://{self.path} exists") from None
        except NotFound:
            raise FileNotFoundError(f"swift://{self._container}: no such container (mkdir it first)") from None
        finally:
            spool.close()

    def close(self) -> None:
        try:
            super().close()  # flush(force=True) stores the object once
        finally:
            if self._spool is not None:
                self._spool.close()

    def discard(self) -> None:
        """Forget what was written; nothing is stored."""
        if self._spool is not None:
            self._spool.close()
        self.forced = True

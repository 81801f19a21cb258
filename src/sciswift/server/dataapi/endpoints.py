"""The data API's endpoints, each ``async (api, req, account) -> Reply``.

h5grove's (what H5Web's h5grove provider asks for), all with ``file`` (a
``container/name`` in the account) and ``path`` (in the file, default ``/``):

- ``meta``: the entity at ``path`` (a group with its children);
  ``resolve_links`` = ``only_valid`` (default), ``all`` or ``none``.
- ``attr``: attribute values (``attr_keys`` to pick some).
- ``data``: the dataset's values, ``selection`` (``0:100, ::4``), ``format``
  (``json``, ``bin``, ``npy``, ``csv``), ``dtype`` (``origin``, ``safe``),
  ``flatten`` (``true``/``false``).
- ``stats``: min, max, mean, std, positive and strictly positive minimum of
  the finite values of a selection.
- ``paths``: every path under a group.

Ours: ``ls``: the account's containers (no ``container``), or one level of a
container (``container``, ``prefix``) with each entry classified as a
``folder``, a native ``file`` or an ``object`` (with the format its name
suggests), through the Swift listing API and its authorization.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sciswift.errors import CorruptData, InvalidInput, NotSupported, SciSwiftError
from sciswift.formats.confine import confined
from sciswift.server.dataapi import describe
from sciswift.server.dataapi.access import NATIVE_MARKER, Target, forwarded, resolve
from sciswift.server.dataapi.encode import DTYPES, FORMATS, convert, encode
from sciswift.server.dataapi.errors import ApiError, json_reply
from sciswift.server.dataapi.selection import SelectionError, parse_selection
from sciswift.server.http import Reply, SwiftRequest

if TYPE_CHECKING:
    from sciswift.server.dataapi.service import DataAPI

__all__ = ["ENDPOINTS", "MAX_SELECTION_BYTES", "MAX_JSON_ELEMENTS"]

#: A selection larger than this is refused (413): ask for slices.
MAX_SELECTION_BYTES = 2 << 30
#: JSON is for small answers; larger numeric selections should use bin or npy.
MAX_JSON_ELEMENTS = 1 << 24

Endpoint = Callable[["DataAPI", SwiftRequest, str], Awaitable[Reply]]


def _param(req: SwiftRequest, name: str, default: str) -> str:
    value = req.query.get(name)
    return default if value is None or value == "" else value


def _choice(req: SwiftRequest, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _param(req, name, default).lower()
    if value not in choices:
        raise ApiError(400, f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def _flag(req: SwiftRequest, name: str) -> bool:
    value = _param(req, name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, f"{name}={value!r} must be true or false")
    return value in ("true", "1")


def _article(word: str) -> str:
    """English's indefinite article for ``word`` ("an external link", "a group")."""
    return "an" if word[:1] in "aeiou" else "a"


def _path(req: SwiftRequest) -> str:
    path = _param(req, "path", "/")
    if "\x00" in path:
        # No HDF5 (or Zarr) name holds NUL; refused here, before the h5py layer's
        # ValueError could surface as an internal error.
        raise ApiError(400, f"path={path!r} contains a NUL character, which no name in a file can hold")
    if not path.startswith("/"):
        path = "/" + path
    return path if path == "/" else path.rstrip("/")


async def _in_file(api: DataAPI, req: SwiftRequest, account: str, work: Callable[[Any], Any]) -> Any:
    """Authorize, then run ``work(file)`` on the open file in the thread pool."""
    target = await resolve(api.backend, req, account, req.query.get("file"), api.layouts)
    return await api.backend.run(_locked, api, target, work)


def _locked(api: DataAPI, target: Target, work: Callable[[Any], Any]) -> Any:
    # The file was authorized, not what it names: external links, virtual
    # sources and HDF5 external storage would read with the server's rights.
    with confined():
        return _locked_confined(api, target, work)


def _locked_confined(api: DataAPI, target: Target, work: Callable[[Any], Any]) -> Any:
    try:
        opened = api.files.get(target)
    except FileNotFoundError:
        raise ApiError(404, f"File not found: {target.display!r}") from None
    except (NotSupported, InvalidInput) as exc:  # no plugin for it, or its library is missing
        raise ApiError(415, f"Cannot open {target.display!r}: {exc}") from None
    except CorruptData as exc:
        raise ApiError(422, f"Cannot open {target.display!r}: {exc}") from None
    except OSError as exc:
        if isinstance(exc.__cause__, NotSupported):  # a native file of a layout we do not read
            raise ApiError(415, f"Cannot open {target.display!r}: {exc}") from None
        raise
    with opened.lock:
        try:
            return work(opened.file)
        except CorruptData as exc:
            # Damage found past the open (a chunk, a node's metadata): the file is
            # unprocessable, not the server broken.
            raise ApiError(422, f"Cannot read {target.display!r}: {exc}") from None
        except NotSupported as exc:
            # What a format plugin documents it cannot present, found past the open
            # (a pickled .npz member, an HDF5 type with no NumPy equivalent, a
            # filter with no decoder): as at the open, 415 with the reason, not a
            # 501 that hides it behind "the store failed reading this file".
            raise ApiError(415, f"Cannot read {target.display!r}: {exc}") from None


async def meta(api: DataAPI, req: SwiftRequest, account: str) -> Reply:
    path = _path(req)
    mode = _choice(req, "resolve_links", "only_valid", describe.LINK_MODES)
    return json_reply(200, await _in_file(api, req, account, lambda f: describe.entity_metadata(f, path, mode)))


async def attr(api: DataAPI, req: SwiftRequest, account: str) -> Reply:
    path = _path(req)
    keys = req.query.getall("attr_keys", []) or None
    return json_reply(200, await _in_file(api, req, account, lambda f: describe.attribute_values(f, path, keys)))


async def paths(api: DataAPI, req: SwiftRequest, account: str) -> Reply:
    path = _path(req)
    return json_reply(200, await _in_file(api, req, account, lambda f: describe.walk_paths(f, path)))


def _read(f: Any, path: str, selection: str | None) -> tuple[Any, str]:
    kind, obj = describe.entity(f, path)
    if kind != "dataset":
        raise ApiError(400, f"{path} is {_article(kind)} {kind.replace('_', ' ')}, not a dataset")
    try:
        sel = parse_selection(selection, obj.shape)
    except SelectionError as exc:
        raise ApiError(400, f"{path}: {exc}") from None
    nbytes = sel.size * obj.dtype.itemsize
    if nbytes > MAX_SELECTION_BYTES:
        step = fitting_step(sel.shape, obj.dtype.itemsize, MAX_SELECTION_BYTES)
        raise ApiError(413, f"{path}: the selection is {nbytes} bytes, more than the API's limit of "
                            f"{MAX_SELECTION_BYTES} bytes: ask for smaller slices, or take a step of {step} "
                            f"along each axis (selection='{', '.join(f'::{step}' for _ in sel.shape)}' "
                            "for all of it)")
    if obj.shape is None:
        return obj[()], path
    data = obj[sel.index] if sel.index else obj[()]
    return data, path


def fitting_step(shape: tuple[int, ...], itemsize: int, limit: int) -> int:
    """The smallest step that, taken along every axis of a result of ``shape``,
    brings it within ``limit`` bytes (what a 413 suggests; the /browse/ page
    asks for such strided overviews itself, web/src/overview.js)."""
    step = 2
    while math.prod(-(-n // step) for n in shape) * itemsize > limit:
        step += 1
    return step


async def data(api: DataAPI, req: SwiftRequest, account: str) -> Reply:
    path = _path(req)
    fmt = _choice(req, "format", "json", FORMATS)
    dtype = _choice(req, "dtype", "origin", DTYPES)
    flatten = _flag(req, "flatten")
    selection = req.query.get("selection")

    def work(f: Any) -> Reply:
        values, name = _read(f, path, selection)
        if isinstance(values, np.ndarray):
            if fmt == "json" and values.size > MAX_JSON_ELEMENTS:
                raise ApiError(413, f"{path}: {values.size} elements are too many for JSON "
                                    f"(at most {MAX_JSON_ELEMENTS}): use format=bin or format=npy")
            values = convert(values, dtype)
        elif dtype == "safe":
            values = convert(np.asarray(values), dtype)
        return encode(values, fmt, flatten, name)

    reply: Reply = await _in_file(api, req, account, work)
    return reply


async def stats(api: DataAPI, req: SwiftRequest, account: str) -> Reply:
    path = _path(req)
    selection = req.query.get("selection")

    def work(f: Any) -> dict[str, Any]:
        values, _ = _read(f, path, selection)
        arr = np.asarray(values)
        if arr.dtype.kind not in "biuf":
            raise ApiError(400, f"{path}: statistics need numeric data, not {arr.dtype}")
        if arr.dtype.kind == "f":
            arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            return dict.fromkeys(("strict_positive_min", "positive_min", "min", "max", "mean", "std"))
        cast = float if arr.dtype.kind == "f" else int
        strict, positive = arr[arr > 0], arr[arr >= 0]
        return {
            "strict_positive_min": cast(strict.min()) if strict.size else None,
            "positive_min": cast(positive.min()) if positive.size else None,
            "min": cast(arr.min()), "max": cast(arr.max()),
            "mean": float(arr.mean()), "std": float(arr.std()),
        }

    return json_reply(200, await _in_file(api, req, account, work))


async def ls(api: DataAPI, req: SwiftRequest, account: str) -> Reply:
    """Containers, or one level of a container, through Swift listings."""
    be = api.backend
    container = req.query.get("container") or None
    prefix = req.query.get("prefix") or ""
    headers, _ = forwarded(req)
    query = {"format": "json"}
    for key in ("marker", "limit"):
        if req.query.get(key):
            query[key] = req.query[key]
    if container is not None:
        query.update(delimiter="/", prefix=prefix)
    reply = await be.subrequest(req.sub("GET", account, container, headers=headers, query=query))
    body = await reply.read()
    if reply.status == 404:
        raise ApiError(404, f"{account}/{container or ''} does not exist")
    if reply.status in (401, 403):
        what = f"container {container!r}" if container else f"account {account}"
        raise ApiError(reply.status, f"Cannot list {what}: " + (
            "Permission denied" if reply.status == 403 else "log in (X-Auth-Token) to list it"))
    if reply.status == 204 or not body:
        items: list[dict[str, Any]] = []
    elif reply.ok:
        items = json.loads(body)
    else:
        raise ApiError(reply.status, f"listing failed with status {reply.status}")
    if container is None:
        entries = [{"name": c["name"], "kind": "container", "count": c.get("count"), "bytes": c.get("bytes")}
                   for c in items]
        return json_reply(200, {"account": account, "entries": entries})
    store = be.store(account)
    entries = await be.run(_classify, store, container, items)
    native_root = not prefix and any(e["name"] == NATIVE_MARKER for e in entries)
    return json_reply(200, {"account": account, "container": container, "prefix": prefix,
                            "native": native_root, "entries": entries})


def _classify(store: Any, container: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from sciswift.formats import registry

    plugins = registry.registered_plugins()
    out: list[dict[str, Any]] = []
    for item in items:
        if "subdir" in item:
            name = item["subdir"]
            try:
                store.head_object(container, f"{name}{NATIVE_MARKER}")
                kind = "file"
            except SciSwiftError:
                kind = "folder"
            out.append({"name": name, "kind": kind, "format": "native" if kind == "file" else None})
            continue
        name = item["name"]
        fmt = next((n for n, p in plugins.items() if p.matches_extension(name)), None)
        out.append({"name": name, "kind": "object", "format": fmt, "bytes": item.get("bytes"),
                    "last_modified": item.get("last_modified"), "content_type": item.get("content_type")})
    return out


ENDPOINTS: dict[str, Endpoint] = {
    "meta": meta, "attr": attr, "data": data, "stats": stats, "paths": paths, "ls": ls,
}

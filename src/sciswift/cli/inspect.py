"""``sciswift ls`` and ``sciswift dump``: look inside any file (like h5ls and h5dump).

Both take a native file, any object a format plugin reads (FITS, Parquet, ROOT,
an HDF5 blob ...) or a local file (HDF5 or another format), through
``sciswift.convert.endpoints.open_source``. On a terminal the output is a rich
tree; piped, it is plain indented text (stable, greppable, tested).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import click
import numpy as np

from sciswift.errors import SciSwiftError

__all__ = ["ls", "dump"]

_STYLES = {"group": "bold blue", "dataset": "green", "datatype": "magenta", "soft": "cyan", "external": "cyan",
           "hard": "cyan", "unreadable": "red", "attr": "yellow", "detail": "dim", "data": ""}


@dataclass
class _Node:
    """One line of output (``text``, maybe several lines) and what hangs below it."""

    text: str
    kind: str = "detail"
    children: list[_Node] = field(default_factory=list)

    def add(self, text: str, kind: str = "detail") -> _Node:
        node = _Node(text, kind)
        self.children.append(node)
        return node


def _render(root: _Node, tree: bool | None) -> None:
    """Print ``root``: a rich tree on a terminal (or when ``tree`` is True), plain
    indented text otherwise."""
    if tree is None:
        tree = sys.stdout.isatty()
    if not tree:
        for line in _plain_lines(root, 0):
            click.echo(line)
        return
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    def build(node: _Node, parent: Tree | None) -> Tree:
        label = Text(node.text, style=_STYLES.get(node.kind, ""))
        here = Tree(label) if parent is None else parent.add(label)
        for child in node.children:
            build(child, here)
        return here

    Console(highlight=False).print(build(root, None))


def _plain_lines(node: _Node, depth: int) -> Iterator[str]:
    pad = "  " * depth
    for line in node.text.split("\n"):
        yield pad + line
    for child in node.children:
        yield from _plain_lines(child, depth + 1)


def _open(url: str) -> Any:
    from sciswift.cli.datadir import resolve
    from sciswift.convert.endpoints import open_source

    try:
        return open_source(resolve(url) or url)
    except SciSwiftError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{url}: {exc}") from None


def _start(opened: Any, path: str) -> Any:
    try:
        return opened.file[path] if path not in ("", "/") else opened.file
    except (KeyError, ValueError):
        raise click.ClickException(f"{opened.display}: nothing called {path!r} in it") from None


def _header(opened: Any) -> str:
    kind = {"native": "sciswift native file", "hdf5": "HDF5 file"}.get(opened.kind, f"{opened.kind} file")
    return f"{opened.display}  ({kind})"


# ------------------------------------------------------------------------ ls
def _item_summary(item: Any, api: Any) -> str:
    from sciswift.convert.describe import dtype_text, shape_text

    if item.kind == "group":
        count = len(item.obj)
        return f"Group ({count} member{'' if count == 1 else 's'})"
    if item.kind == "dataset":
        ds = item.obj
        return f"Dataset {shape_text(ds.shape, ds.maxshape)} {dtype_text(ds.dtype)}"
    if item.kind == "datatype":
        return f"Type {dtype_text(item.obj.dtype)}"
    if item.kind == "soft":
        return f"Soft Link {{{item.target}}}"
    if item.kind == "external":
        return f"External Link {{{item.filename}//{item.target.lstrip('/')}}}"
    if item.kind == "hard":
        return f"Hard Link, same as {item.target}"
    return f"unreadable: {item.target}"


def _ref_namer(file: Any) -> Any:
    def name(ref: Any) -> str:
        try:
            return str(file[ref].name)
        except (KeyError, ValueError, OSError, TypeError):
            return "?"

    return name


def _attr_nodes(obj: Any, api: Any, parent: _Node, *, values: bool, threshold: int) -> None:
    from sciswift.convert.describe import dtype_text, shape_text, value_text

    for name in obj.attrs:
        try:
            value = obj.attrs[name]
            dt, shape = api.attr_dtype_shape(obj, name, value)
        except (OSError, TypeError, ValueError, KeyError) as exc:
            parent.add(f"@{name}: cannot be read ({exc})", "unreadable")
            continue
        where = "" if shape in ((), None) else f" {shape_text(shape)}"
        text = f"@{name}: {dtype_text(dt)}{where}"
        if shape is None:
            text += " (empty)"
        elif values:
            text += " = " + _indent_tail(value_text(value, dt, threshold=threshold, name_ref=_ref_namer(obj.file)),
                                         len(text) + 3)
        parent.add(text, "attr")


def _indent_tail(text: str, width: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * width + ln for ln in lines[1:]])


@click.command("ls")
@click.argument("url")
@click.argument("path", required=False, default="/")
@click.option("-r", "--recursive", is_flag=True, help="List every group below, not just PATH's members.")
@click.option("-v", "--verbose", is_flag=True, help="Show storage (chunks, filters, fill value) and attributes.")
@click.option("--tree/--plain", "tree", default=None,
              help="Force the rich tree view or plain text  [default: tree on a terminal]")
@click.option("-H", "--human", is_flag=True, help="File listings: sizes like 1.2 GB.")
def ls(url: str, path: str, recursive: bool, verbose: bool, tree: bool | None, human: bool) -> None:
    """List the files in a container or directory, or the groups, datasets and
    links in a file (like h5ls).

    \b
    On a container or prefix (swift://wind, swift://wind/2026/, or on disk a
    container of `sciswift serve --data DIR`: DIR/AUTH_test/wind, DIR/wind): one
    line per file (native files, uploaded objects by format, and
    sub-directories) with size, date and object count; -r lists files at every
    depth.
    On a file: a native file (swift://c/run1.h5, a local directory), any object
    a format plugin reads (swift://sky/table.parquet, .fits, .root ...), or a
    local file (an HDF5 file opens with h5py). PATH starts inside the file.

    \b
      sciswift ls swift://wind
      sciswift ls -r swift://wind/run1.h5
      sciswift ls -v data.h5 /group
    """
    from sciswift.convert.describe import storage_text, walk

    listing = _directory(url) if path in ("", "/") else None
    if listing is not None:
        from sciswift.cli.files import print_listing
        from sciswift.files import list_files

        try:
            entries = list_files(listing, recursive=recursive)
        except SciSwiftError as exc:
            raise click.ClickException(str(exc)) from None
        print_listing(entries, human)
        return

    with _open(url) as opened:
        start = _start(opened, path)
        api = opened.api
        root = _Node(_header(opened), "group")
        if api.is_dataset(start):
            from sciswift.convert.describe import Item

            items: list[Any] = [Item(start.name, start.name, 0, "dataset", start)]
        else:
            items = list(walk(start, api, recursive=recursive))
        rows = [(item, _item_summary(item, api)) for item in items]
        names = [item.path if recursive else item.name for item in items]
        width = max((len(n) for n in names), default=0)
        if verbose and api.is_group(start):
            _attr_nodes(start, api, root, values=True, threshold=20)
        for (item, summary), name in zip(rows, names):
            node = root.add(f"{name.ljust(width)}  {summary}", item.kind)
            if verbose and item.kind == "dataset":
                node.add(f"Storage: {storage_text(item.obj, api)}")
            if verbose and item.kind in ("dataset", "group", "datatype"):
                _attr_nodes(item.obj, api, node, values=True, threshold=20)
        _render(root, tree)


def _directory(url: str) -> str | None:
    """What to list when ``url`` names a container or prefix that is not itself a
    file: a store URL, or a local path into a ``sciswift serve`` data directory
    (``cli.datadir``); None when ``url`` is a file to look inside."""
    from sciswift.cli.datadir import resolve
    from sciswift.files import is_directory
    from sciswift.store.url import is_url

    try:
        target = url if is_url(url) else resolve(url)
        return target if target is not None and is_directory(target) else None
    except SciSwiftError as exc:
        raise click.ClickException(str(exc)) from None


# ---------------------------------------------------------------------- dump
def _data_node(ds: Any, parent: _Node, *, full: bool, limit: int) -> None:
    from sciswift.convert.describe import corner, value_text

    shape = ds.shape
    if shape is None:
        parent.add("DATA: (empty: no dataspace)", "data")
        return
    size = math.prod(shape)
    if size == 0:
        parent.add("DATA: (no elements)", "data")
        return
    if full or size <= limit:
        data = ds[()]
        text = value_text(data, ds.dtype, threshold=sys.maxsize if full else limit, name_ref=_ref_namer(ds.file))
        parent.add("DATA:\n" + text, "data")
        return
    sel = corner(shape, limit)
    block = ds[sel]
    where = ", ".join(f"0:{s.stop}" for s in sel)
    text = value_text(np.asarray(block), ds.dtype, threshold=limit, name_ref=_ref_namer(ds.file))
    parent.add(f"DATA [{where}] of {size} elements (use --data for all):\n{text}", "data")


def _dataset_node(ds: Any, api: Any, parent: _Node, title: str, *, data: bool, full: bool, limit: int) -> None:
    from sciswift.convert.describe import dtype_text, shape_text, storage_text

    node = parent.add(f"DATASET {title}  {shape_text(ds.shape, ds.maxshape)} {dtype_text(ds.dtype)}", "dataset")
    node.add(f"storage: {storage_text(ds, api)}")
    _attr_nodes(ds, api, node, values=True, threshold=limit)
    if data:
        try:
            _data_node(ds, node, full=full, limit=limit)
        except (OSError, ValueError, TypeError, SciSwiftError) as exc:
            from sciswift.formats.hdf5 import read_error_text

            node.add(f"DATA: cannot be read ({read_error_text(ds, exc)})", "unreadable")


def _group_node(group: Any, api: Any, parent: _Node, title: str, *, data: bool, full: bool, limit: int) -> None:
    from sciswift.convert.describe import dtype_text, walk

    node = parent.add(f"GROUP {title}", "group")
    _attr_nodes(group, api, node, values=True, threshold=limit)
    nodes = {group.name or "/": node}
    for item in walk(group, api, recursive=True):
        here = nodes.get(item.path.rsplit("/", 1)[0] or "/", node)
        if item.kind == "group":
            child = here.add(f"GROUP {item.path}", "group")
            _attr_nodes(item.obj, api, child, values=True, threshold=limit)
            nodes[item.path] = child
        elif item.kind == "dataset":
            _dataset_node(item.obj, api, here, item.path, data=data, full=full, limit=limit)
        elif item.kind == "datatype":
            child = here.add(f"DATATYPE {item.path}  {dtype_text(item.obj.dtype)}", "datatype")
            _attr_nodes(item.obj, api, child, values=True, threshold=limit)
        elif item.kind == "soft":
            here.add(f"SOFTLINK {item.path} -> {item.target}", "soft")
        elif item.kind == "external":
            here.add(f"EXTERNALLINK {item.path} -> {item.filename}:{item.target}", "external")
        elif item.kind == "hard":
            here.add(f"HARDLINK {item.path} -> {item.target}", "hard")
        else:
            here.add(f"{item.path}: cannot be opened ({item.target})", "unreadable")


@click.command("dump")
@click.argument("url")
@click.option("-d", "--dataset", "dataset", metavar="PATH", default=None, help="Dump only this dataset (or group).")
@click.option("--data", "full", is_flag=True, help="Print all data, however large.")
@click.option("-H", "--header", "header_only", is_flag=True, help="Structure and attributes only, no data.")
@click.option("--max-elements", "limit", type=click.IntRange(1), default=64, show_default=True,
              help="Without --data, datasets larger than this show only their first elements.")
@click.option("--tree/--plain", "tree", default=None,
              help="Force the rich tree view or plain text  [default: tree on a terminal]")
def dump(url: str, dataset: str | None, full: bool, header_only: bool, limit: int, tree: bool | None) -> None:
    """Print the structure, attributes and data of URL (like h5dump).

    \b
    Datasets larger than --max-elements show their leading block only, read
    without fetching the rest; --data prints everything.

    \b
      sciswift dump swift://wind/run1.h5
      sciswift dump -d /grp/temperature --data data.h5
      sciswift dump -H swift://sky/table.parquet
    """
    if full and header_only:
        raise click.UsageError("--data and --header exclude each other")
    with _open(url) as opened:
        api = opened.api
        start = _start(opened, dataset or "/")
        root = _Node(_header(opened), "group")
        data = not header_only
        if api.is_dataset(start):
            _dataset_node(start, api, root, start.name, data=data, full=full, limit=limit)
        elif api.is_group(start):
            _group_node(start, api, root, start.name or "/", data=data, full=full, limit=limit)
        else:
            from sciswift.convert.describe import dtype_text

            root.add(f"DATATYPE {start.name}  {dtype_text(start.dtype)}", "datatype")
        _render(root, tree)

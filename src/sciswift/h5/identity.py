"""Object identity in a layout that names objects by path.

HDF5 objects live at addresses: an object stays alive while any hard link names
it, and references and dimension-scale attachments point at the object itself,
wherever it is moved. The native layout has paths only (docs/layout.md), so the
native backend keeps those semantics by bookkeeping when objects move or lose a
name:

- **Hard links** (``["hard", target]`` in a group's reserved ``links``): deleting
  an object that other hard links name moves it to one of those names instead
  (and repoints the others); moving an object repoints the hard links to it. The
  same holds for objects below a deleted or moved group.
- **Dimension scales**: the paths in ``dims`` (on datasets) and ``refs`` (on
  scales) follow moved objects.
- **References** stored in data cannot be rewritten; the root keeps a forwarding
  table, reserved ``moved`` (``{old path: new path}``), and a reference whose
  path no longer resolves follows it (``forward``). A new object created at an
  old path takes the path over.

Paths here are node paths without a leading slash; ``dims``/``refs`` entries
and references carry one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sciswift.engine.metadata import RESERVED

if TYPE_CHECKING:
    from sciswift.h5.native import NativeFile

__all__ = ["hard_links", "rehome_linked", "after_move", "forward", "drop_link"]

#: How many forwarding hops a reference may take (moves of moves).
_MAX_HOPS = 32


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _rebase(path: str, old: str, new: str) -> str:
    return new + path[len(old):]


def hard_links(nf: NativeFile) -> list[tuple[str, str]]:
    """``(link path, target path)`` of every hard link in the file. Cheap when the
    file has none (remembered until one is made)."""
    if nf.has_hard_links is False:
        return []
    out: list[tuple[str, str]] = []
    h = nf.h
    for gpath in ["", *h.walk("")]:
        doc = h.get(gpath)
        if doc is None or doc.get("node_type") != "group":
            continue
        links = ((doc.get("attributes") or {}).get(RESERVED) or {}).get("links") or {}
        for name, link in links.items():
            if link[0] == "hard":
                out.append((f"{gpath}/{name}" if gpath else name, link[1]))
    nf.has_hard_links = bool(out)
    return out


def _set_hard_target(nf: NativeFile, link_path: str, target: str) -> None:
    parent, _, name = link_path.rpartition("/")
    nf._edit_reserved(parent, lambda r: r.__setitem__("links", {**r["links"], name: ["hard", target]}))


def drop_link(nf: NativeFile, link_path: str) -> None:
    """Remove the link entry ``link_path`` from its parent's reserved attributes."""
    parent, _, name = link_path.rpartition("/")

    def drop(r: dict[str, Any]) -> None:
        links = dict(r.get("links") or {})
        links.pop(name, None)
        if links:
            r["links"] = links
        else:
            r.pop("links", None)

    nf._edit_reserved(parent, drop)


def rehome_linked(nf: NativeFile, doomed: str) -> list[tuple[str, str]]:
    """Before the node ``doomed`` (and its subtree) is deleted: every object in it
    that a hard link outside it names moves to that link's place, as HDF5 keeps
    an object alive while a link names it. Returns the moves made, ``(old, new)``."""
    moves: list[tuple[str, str]] = []
    while True:
        links = [(lp, t) for lp, t in hard_links(nf) if _under(t, doomed) and not _under(lp, doomed)]
        if not links:
            return moves
        # The outermost object first: its subtree, links included, goes with it.
        target = min((t for _, t in links), key=lambda t: (t.count("/"), t))
        home = next(lp for lp, t in links if t == target)
        drop_link(nf, home)
        nf.h.move(target, home)
        nf.forget_arrays(target)
        after_move(nf, target, home)
        moves.append((target, home))


def after_move(nf: NativeFile, old: str, new: str) -> None:
    """Bookkeeping after the node ``old`` (and its subtree) moved to ``new``: hard
    links to it repointed, dimension-scale paths rewritten both ways, and a
    forwarding entry for references."""
    for lp, t in hard_links(nf):
        if _under(t, old):
            _set_hard_target(nf, lp, _rebase(t, old, new))
    _rewrite_scale_paths(nf, old, new)
    nf._edit_reserved("", lambda r: _add_forward(r, old, new))


def _add_forward(res: dict[str, Any], old: str, new: str) -> None:
    moved = dict(res.get("moved") or {})
    moved.pop(new, None)  # the new place is no longer a former one
    moved[old] = new
    res["moved"] = moved


def _rewrite_scale_paths(nf: NativeFile, old: str, new: str) -> None:
    """Rewrite ``dims`` and ``refs`` paths that pointed into the moved subtree, on
    the moved arrays and on their partners (found through those same entries)."""
    h = nf.h
    moved = [new, *h.walk(new)] if h.kind(new) == "group" else [new]
    slash_old, slash_new = "/" + old, "/" + new
    touched: set[str] = set()
    for path in moved:
        res = ((h.get(path) or {}).get("attributes") or {}).get(RESERVED) or {}
        for axis_paths in res.get("dims") or ():
            touched.update(p.lstrip("/") for p in axis_paths)
        touched.update(str(p).lstrip("/") for p, _ in res.get("refs") or ())
        if "dims" in res or "refs" in res:
            touched.add(path)
    for path in touched:
        if _under(path, old):
            path = _rebase(path, old, new)
        doc = h.get(path)
        if doc is None or doc.get("node_type") != "array":
            continue

        def fix(r: dict[str, Any]) -> None:
            if "dims" in r:
                r["dims"] = [[_rebase(p, slash_old, slash_new) if _under(p, slash_old) else p for p in axis]
                             for axis in r["dims"]]
            if "refs" in r:
                r["refs"] = [[_rebase(p, slash_old, slash_new) if _under(p, slash_old) else p, a]
                             for p, a in r["refs"]]

        nf._edit_reserved(path, fix)


def forward(nf: NativeFile, path: str) -> str | None:
    """Where the object a reference names as ``path`` went, if it was moved (or
    kept alive under another name) and ``path`` no longer resolves; None if
    there is no forwarding entry."""
    root = nf.h.get("") or {}
    moved = ((root.get("attributes") or {}).get(RESERVED) or {}).get("moved")
    if not moved:
        return None
    cur = path.lstrip("/")
    for _ in range(_MAX_HOPS):
        best = max((old for old in moved if _under(cur, old)), key=len, default=None)
        if best is None:
            break
        cur = _rebase(cur, best, moved[best])
        if nf.h.get(cur) is not None:
            return "/" + cur
    return None

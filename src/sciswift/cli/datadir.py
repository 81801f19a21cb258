"""Local paths into the data directory of ``sciswift serve``, for ``sciswift ls``.

``sciswift serve --data DIR`` keeps each account as a LocalStore, ``DIR/AUTH_<account>``
(marked by its ``.sciswift-store`` file), and each container as a directory in it.
People point the CLI at those directories as they see them on disk; this module
says what such a path means:

- ``DIR/AUTH_test/wind[/prefix]``: the container (or a prefix in it), a store
  location that ``parse_location`` resolves; listed like ``swift list wind``;
- ``DIR/wind[/prefix]`` (the account directory left out): the same, when exactly
  one account holds a container ``wind``;
- ``DIR/AUTH_test`` (an account) and ``DIR`` itself: no container named, so an
  ``InvalidInput`` saying which paths (and ``swift://`` URLs) to list instead.

Anything else is not this module's business (``resolve`` returns None).
"""

from __future__ import annotations

import os
from pathlib import Path

from sciswift.errors import InvalidInput, NotFound

__all__ = ["resolve", "server_accounts"]


def _is_account(path: Path) -> bool:
    from sciswift.store.url import ROOT_MARKER

    return (path / ROOT_MARKER).is_file()


def server_accounts(path: Path) -> list[Path]:
    """The account stores of a server data directory ``path``, in name order
    (empty if it is not one)."""
    try:
        children = sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []
    return [p for p in children if _is_account(p)]


def _containers(account: Path) -> list[str]:
    from sciswift.store.local.layout import container_names

    try:
        return sorted(container_names(str(account)))
    except NotFound:
        return []


def _names(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "") if items else "none yet"


def resolve(target: str) -> str | None:
    """The store path ``target`` (a plain local path) names in a server data
    directory or LocalStore, for listing; None when ``target`` is not such a path
    (a URL, an ordinary file or directory).

    InvalidInput when it names an account or the data directory itself (no
    container), or a container no account holds; the message says what to list.
    """
    from sciswift.store.url import find_marked_root, is_url

    if is_url(target):
        return None
    path = Path(os.path.abspath(target))
    if find_marked_root(path) is not None:
        return target  # <account>/<container>[/prefix]: parse_location resolves it
    if path.is_dir() and _is_account(path):
        containers = _containers(path)
        example = f"{target.rstrip('/')}/{containers[0] if containers else 'CONTAINER'}"
        raise InvalidInput(
            f"{target}: is a LocalStore (an account of `sciswift serve`), not a container; list one of its "
            f"containers ({_names(containers)}): sciswift ls {example}, or through the server: "
            f"sciswift ls swift://{containers[0] if containers else 'CONTAINER'}", target)
    if path.is_dir():
        accounts = server_accounts(path)
        if accounts:
            first = accounts[0]
            raise InvalidInput(
                f"{target}: is a `sciswift serve` data directory (accounts: "
                f"{_names([a.name for a in accounts])}); list a container in an account: "
                f"sciswift ls {os.path.join(target, first.name, 'CONTAINER')}, or through the server: "
                "sciswift ls swift://CONTAINER", target)
        return None
    if path.exists():
        return None
    return _without_account(target, path)


def _without_account(target: str, path: Path) -> str | None:
    """``DATA/<container>[/prefix]`` with ``DATA`` a server data directory: the
    path through the one account holding that container."""
    for base in path.parents:
        if base.exists():
            break
    else:
        return None
    accounts = server_accounts(base) if base.is_dir() else []
    if not accounts:
        return None
    container, *rest = path.relative_to(base).parts
    holders = [a for a in accounts if container in _containers(a)]
    if len(holders) == 1:
        return str(holders[0].joinpath(container, *rest))
    if not holders:
        raise InvalidInput(
            f"{target}: {base} is a `sciswift serve` data directory, and none of its accounts "
            f"({_names([a.name for a in accounts])}) has a container {container!r}", target)
    raise InvalidInput(
        f"{target}: several accounts of the `sciswift serve` data directory {base} have a container "
        f"{container!r}; name one: " + ", ".join(str(a.joinpath(container, *rest)) for a in holders), target)

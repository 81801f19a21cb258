"""The mount table: which local paths are really places in an object store.

A mount is ``LOCAL=TARGET``: ``LOCAL`` an absolute directory path (it need not
exist), ``TARGET`` a ``swift://``, ``file://`` or ``memory://`` URL or a plain
directory path (a LocalStore). ``/scratch/run1=swift://wind/run1`` maps
``/scratch/run1/a/b.h5`` to ``swift://wind/run1/a/b.h5`` and ``/scratch/run1``
itself to ``swift://wind/run1``.

Mounts come from ``--mount`` options (repeatable) and from the environment
variable ``SCISWIFT_MOUNTS``, whose entries are separated by ``;`` (or newlines):
``SCISWIFT_MOUNTS="/scratch/run1=swift://wind/run1;/data=file:///srv/store"``.
``=`` separates the two halves at its first occurrence, so a local path cannot
contain ``=`` (a target may).

Matching is on normalised absolute paths (``os.path.abspath``: ``..`` and ``.``
resolved, relative paths taken from the current directory at the time of the
call; symbolic links are not followed) and whole path components, longest mount
point first: with mounts ``/a`` and ``/a/b``, ``/a/b/c.h5`` goes to ``/a/b``'s
target and ``/a/bc.h5`` to ``/a``'s.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sciswift.errors import InvalidInput

__all__ = ["ENV_VAR", "SEPARATOR", "URL_SCHEMES", "Mount", "MountTable", "is_store_url"]

ENV_VAR = "SCISWIFT_MOUNTS"
"""Environment variable carrying the mount table to programs and their children."""

SEPARATOR = ";"
"""Separator of entries in ``SCISWIFT_MOUNTS`` (newlines separate them too)."""

URL_SCHEMES = ("swift", "file", "memory")
"""URL schemes that always go to sciswift, mounted or not."""


def is_store_url(name: str) -> bool:
    """True if ``name`` is a ``swift://``, ``file://`` or ``memory://`` URL."""
    scheme, sep, _ = name.partition("://")
    return bool(sep) and scheme in URL_SCHEMES


def normalise_path(path: str) -> str:
    """Absolute and normalised; a leading ``//`` (which POSIX lets abspath keep)
    is ``/`` as on Linux."""
    full = os.path.abspath(path)
    return "/" + full.lstrip("/") if full.startswith("//") else full


def _normalise_target(target: str, spec: str) -> str:
    """The target as a URL without a trailing slash (plain paths become file:// URLs)."""
    target = target.strip()
    if not target:
        raise InvalidInput(f"mount {spec!r} has no target after '='", spec)
    scheme, sep, rest = target.partition("://")
    if sep:
        if scheme not in URL_SCHEMES:
            raise InvalidInput(
                f"mount {spec!r}: unknown URL scheme {scheme!r}; use swift://, file://, memory:// or a directory path",
                spec,
            )
        if scheme in ("swift", "memory") and not rest.strip("/"):
            raise InvalidInput(f"mount {spec!r}: {target!r} names no container", spec)
        if scheme == "file" and not rest.startswith("/"):
            raise InvalidInput(f"mount {spec!r}: a file:// URL needs an absolute path (file:///dir)", spec)
        return target.rstrip("/") if rest.strip("/") else target
    return Path(normalise_path(target)).as_uri()


@dataclass(frozen=True)
class Mount:
    """One entry: the normalised absolute local ``point`` and the ``target`` URL."""

    point: str
    target: str

    @classmethod
    def parse(cls, spec: str) -> Mount:
        """``LOCAL=TARGET`` to a Mount; InvalidInput naming the entry if malformed."""
        local, sep, target = spec.partition("=")
        local = local.strip()
        if not sep or not local:
            raise InvalidInput(f"mount {spec!r} is not of the form /local/dir=swift://container/prefix", spec)
        if is_store_url(local):
            raise InvalidInput(f"mount {spec!r}: the left side must be a local path, not a URL", spec)
        point = normalise_path(os.path.expanduser(local))
        return cls(point, _normalise_target(target, spec))

    def __str__(self) -> str:
        return f"{self.point}={self.target}"

    def contains(self, path: str) -> bool:
        """True if the normalised absolute ``path`` is the mount point or below it."""
        if path == self.point:
            return True
        base = self.point if self.point.endswith("/") else self.point + "/"
        return path.startswith(base)

    def map(self, path: str) -> str:
        """The target URL of the normalised absolute ``path`` (which ``contains``)."""
        rest = path[len(self.point):].lstrip("/")
        if not rest:
            return self.target
        if self.target.startswith("file://"):
            # file:// URLs are percent-decoded by the store: keep names literal.
            rest = quote(rest, safe="/")
        return posixpath.join(self.target, rest)


class MountTable:
    """An ordered set of mounts with longest-prefix lookup."""

    def __init__(self, mounts: Iterable[Mount] = ()) -> None:
        self._mounts: list[Mount] = []
        for m in mounts:
            self.add(m)

    def add(self, mount: Mount) -> None:
        """Add a mount; InvalidInput if its mount point is already mounted elsewhere."""
        for m in self._mounts:
            if m.point == mount.point:
                if m.target == mount.target:
                    return
                raise InvalidInput(f"{mount.point} is mounted twice: {m.target} and {mount.target}", mount.point)
        self._mounts.append(mount)
        # Longest mount point first, so the first match is the most specific one.
        self._mounts.sort(key=lambda m: len(m.point), reverse=True)

    @classmethod
    def parse(cls, text: str | None) -> MountTable:
        """A table from ``SCISWIFT_MOUNTS`` syntax (entries separated by ``;`` or newlines)."""
        table = cls()
        for raw in (text or "").replace("\n", SEPARATOR).split(SEPARATOR):
            if raw.strip():
                table.add(Mount.parse(raw.strip()))
        return table

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> MountTable:
        """The table in ``SCISWIFT_MOUNTS`` (empty if unset)."""
        env = os.environ if environ is None else environ
        return cls.parse(env.get(ENV_VAR))

    def to_env(self) -> str:
        """The table in ``SCISWIFT_MOUNTS`` syntax (``parse`` gives it back)."""
        for m in self._mounts:
            if SEPARATOR in str(m) or "\n" in str(m):
                raise InvalidInput(f"mount {m} contains {SEPARATOR!r}, which SCISWIFT_MOUNTS uses to separate entries")
        return SEPARATOR.join(str(m) for m in self._mounts)

    def __iter__(self):
        return iter(self._mounts)

    def __len__(self) -> int:
        return len(self._mounts)

    def __bool__(self) -> bool:
        return bool(self._mounts)

    def find(self, path: str | os.PathLike[str] | bytes) -> tuple[Mount, str] | None:
        """``(mount, target URL)`` for a local path under some mount, else None.
        URLs are not mount-table business (see ``is_store_url``)."""
        name = os.fsdecode(os.fspath(path))
        if not self._mounts or is_store_url(name) or "://" in name:
            return None
        full = normalise_path(name)
        for m in self._mounts:
            if m.contains(full):
                return m, m.map(full)
        return None

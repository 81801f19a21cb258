"""A small tmpfs a test mounts itself (root), to run out of space on purpose.

``fill(pages)`` takes all the space but ``pages`` pages (4 KiB, tmpfs allocates
whole pages) with a filler file; ``free()`` gives it back. Leaving ``with`` (or
``unmount()``) always unmounts, lazily if something still holds a file there.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["PAGE", "SmallDisk"]

PAGE = 4096


class SmallDisk:
    """A tmpfs of ``size`` (``mount -o size=``, e.g. ``8m``) at ``path``."""

    def __init__(self, path: Path, size: str) -> None:
        self.path = path
        path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "sciswift-full-disk",
                               str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mounting a tmpfs on {path} failed (it needs root): {done.stderr.strip()}")
        self.filler = path / "filler"

    def fill(self, pages: int = 0) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            for step in (1 << 20, PAGE):  # whole pages: tmpfs allocates pages
                while True:
                    try:
                        os.posix_fallocate(fd, size, step)
                    except OSError:
                        break
                    size += step
            os.ftruncate(fd, max(0, size - pages * PAGE))
        finally:
            os.close(fd)
        assert os.statvfs(self.path).f_bavail <= pages

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def leftovers(self, under: str = "data") -> list[str]:
        """Half-written things a failed LocalStore write could leave below
        ``under``: temp files of writers (``CONTAINER/tmp/*``), ``*.tmp`` of
        atomic small files, containers being assembled (``.sciswift-new-*``)."""
        found = []
        for root, dirs, files in os.walk(self.path / under):
            for name in [*dirs, *files]:
                if (os.path.basename(root) == "tmp" or name.endswith(".tmp")
                        or name.startswith(".sciswift-new-")):
                    found.append(os.path.relpath(os.path.join(root, name), self.path))
        return found

    def unmount(self) -> None:
        if subprocess.run(["umount", str(self.path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)

    def __enter__(self) -> SmallDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unmount()

"""A file's permission bits, kept as object metadata.

Object stores keep no file modes. rclone's convention for a file's mode in
metadata is ``mode``: its ``st_mode`` in octal, file type included (a script:
``0100755``); here that is ``X-Object-Meta-Mode``. The mount shows a file's
permission bits from it (0644 without it, as before), writes it on ``chmod``,
and with the content of a file created with other bits than 0644, so ``chmod
+x`` makes a script runnable from the mount (the kernel runs a file only if some
execute bit is set) and ``cp -p``, ``rsync -a`` and ``tar x`` keep modes.

Only the permission bits are kept: set-id and sticky bits never are (the mount
is ``nosuid``, and writes are served on the promise that no file has set-id
bits or capabilities, see ``sciswift.mount.fs``). Directories show 0755 and
keep no mode (most have no object of their own).
"""

from __future__ import annotations

import re
import stat

__all__ = ["META_KEY", "DEFAULT", "parse_mode", "format_mode"]

#: The metadata key (``X-Object-Meta-Mode``, lower-cased as the stores give it).
META_KEY = "mode"
#: The bits of a file whose object carries none.
DEFAULT = 0o644
#: The bits kept.
BITS = 0o777

_DIGITS = re.compile(r"[0-9]{1,7}")


def parse_mode(metadata: dict[str, str]) -> int | None:
    """The permission bits ``metadata`` gives; None if there are none or the
    value is not a mode (then the default is shown). Octal, with or without
    the file type; a decimal ``st_mode`` of a regular file (what s3fs writes in
    ``x-amz-meta-mode``, e.g. ``33261``) is read as such, since those digits
    as octal name no file type."""
    text = metadata.get(META_KEY)
    if text is None:
        return None
    text = text.strip()
    if _DIGITS.fullmatch(text) is None:
        return None
    if set(text) <= set("01234567"):
        value = int(text, 8)
        if stat.S_IFMT(value) in (0, stat.S_IFREG):
            return value & BITS
    value = int(text)
    return value & BITS if value <= 0o177777 and stat.S_IFMT(value) == stat.S_IFREG else None


def format_mode(bits: int) -> str:
    """The metadata value for a regular file with permission ``bits``."""
    return f"0{stat.S_IFREG | (bits & BITS):o}"

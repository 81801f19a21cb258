"""The kernel's read-ahead for a mount.

The kernel sets a FUSE mount's read-ahead to the smaller of its default (128
KiB) and what the file system asks for at INIT, so asking for more at INIT is
not enough: the mount's backing device must be told afterwards, through sysfs.
With 8 MiB, a sequential read reaches the file system as 1 MiB requests, several
at once, instead of one 128 KiB request at a time (a 256 MiB ``dd`` through the
mount: 2,049 requests before, 256 after).

A file takes the device's read-ahead when it is opened, so ``sciswift mount``
sets it before it returns (``start`` calls ``raise_readahead``); a file opened
earlier keeps the old value. Only root may write the setting; others keep the
kernel's default and are told so in the log.
"""

from __future__ import annotations

import os

from sciswift.mount.errors import log

__all__ = ["KERNEL_READAHEAD", "raise_readahead"]

KERNEL_READAHEAD = 8 << 20


def raise_readahead(mountpoint: str) -> bool:
    """Set the read-ahead of the device ``mountpoint`` is on to KERNEL_READAHEAD;
    True if it is set. The ``stat`` first waits for the mount's INIT to finish
    (the kernel would otherwise lower the value again when it does)."""
    try:
        dev = os.stat(mountpoint).st_dev
        path = f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb"
        want = str(KERNEL_READAHEAD >> 10)
        with open(path) as f:
            if f.read().strip() == want:
                return True
        with open(path, "w") as f:
            f.write(want)
        return True
    except OSError as exc:
        log.debug("kernel read-ahead of %s left at its default (%s)", mountpoint, exc)
        return False

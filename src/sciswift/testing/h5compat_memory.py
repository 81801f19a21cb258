"""``sciswift.h5py`` with plain paths mapped into the process-wide MemoryStore.

For running h5py's own test suite over MemoryStore (``scripts/compat_h5py.py``):
the tests hand ``File`` local temporary paths; here each path names a file (a
prefix) in the container ``h5compat`` of ``memory://``, so nothing touches disk.
"""

from __future__ import annotations

import os
from urllib.parse import quote

from sciswift.h5 import set_path_resolver
from sciswift.h5py import *  # noqa: F403 - this module is the API under test
from sciswift.h5py import __all__, __version__, alias_submodules  # noqa: F401

CONTAINER = "h5compat"


def _to_memory(path: str) -> str:
    return f"memory://{CONTAINER}/" + quote(os.path.abspath(path).lstrip("/"), safe="/")


set_path_resolver(_to_memory)
alias_submodules(__name__)

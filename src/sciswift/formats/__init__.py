"""Format plugins: other scientific file formats stored as one object, shown as a
tree of groups, datasets and attributes (see docs/formats.md).

The entry points for the rest of sciswift are in ``sciswift.formats.registry``
(``open_object``, ``write_object``, ``detect``, ``get_plugin``,
``available_plugins``); the node classes are in ``sciswift.formats.base``.
Importing this package imports no format library.
"""

from __future__ import annotations

from sciswift.formats.base import (
    ArrayNode,
    FormatPlugin,
    GroupNode,
    LinkNode,
    MemoryArray,
    MemoryGroup,
    Node,
    StoredObject,
)
from sciswift.formats.ranged import RangedFile, TransferStats
from sciswift.formats.registry import (
    available_plugins,
    detect,
    get_plugin,
    open_object,
    registered_plugins,
    write_object,
)

__all__ = [
    "ArrayNode",
    "FormatPlugin",
    "GroupNode",
    "LinkNode",
    "MemoryArray",
    "MemoryGroup",
    "Node",
    "StoredObject",
    "RangedFile",
    "TransferStats",
    "available_plugins",
    "detect",
    "get_plugin",
    "open_object",
    "registered_plugins",
    "write_object",
]

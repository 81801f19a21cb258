"""Attributes of a tree written beside a file whose format cannot hold them (CSV).

``attrs_sidecar`` renders every attribute as JSON, by node path::

    {"format": "sciswift-attrs", "version": 1,
     "attrs": {"/": {"title": "run 1"}, "/temperature": {"units": "K", "valid_range": [200.0, 330.0]}},
     "typed": {"/temperature": {"valid_range": {"dtype": "<f4", "shape": [2], "data": "..."}}}}

``attrs`` holds a plain JSON rendition any tool reads; ``typed`` holds, for values
JSON alone would change (numpy arrays, non-default dtypes, bytes ...), the exact
typed copy in the native layout's encoding (docs/layout.md section 5).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sciswift.formats.base import ArrayNode, GroupNode, MemoryGroup, Node

__all__ = ["attrs_sidecar", "strip_attrs", "encode_value", "encode_attrs", "decode_attrs"]


def encode_value(value: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(plain JSON, typed entry or None)`` for one attribute value as read."""
    from sciswift.h5.attrvalues import array_for_new_object, encode_attr
    from sciswift.h5.links import Empty

    if isinstance(value, str):
        return value, None
    return encode_attr(value if isinstance(value, Empty) else array_for_new_object(value))


def encode_attrs(attrs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(plain, typed)`` JSON-able renditions of attribute values."""
    plain: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    for key, value in attrs.items():
        rendition, entry = encode_value(value)
        plain[key] = rendition
        if entry is not None:
            typed[key] = entry
    return plain, typed


def decode_attrs(plain: Mapping[str, Any], typed: Mapping[str, Any]) -> dict[str, Any]:
    """The attribute values ``encode_attrs`` rendered, with their types."""
    from sciswift.h5.attrvalues import decode_attr

    return {k: decode_attr(v, typed.get(k), f"attribute {k!r}") for k, v in plain.items()}


def attrs_sidecar(root: GroupNode) -> bytes | None:
    """The sidecar document for every attribute in ``root``, None if it has none."""
    attrs: dict[str, Any] = {}
    typed: dict[str, Any] = {}

    def visit(node: Node, path: str) -> None:
        if node.attrs:
            plain, exact = encode_attrs(node.attrs)
            attrs[path] = plain
            if exact:
                typed[path] = exact
        if isinstance(node, GroupNode):
            for key in node.keys():
                visit(node[key], f"{path.rstrip('/')}/{key}")

    visit(root, "/")
    if not attrs:
        return None
    doc = {"format": "sciswift-attrs", "version": 1, "attrs": attrs, "typed": typed}
    return (json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=True) + "\n").encode("utf-8")


class _Bare(ArrayNode):
    """An array node without its attributes."""

    def __init__(self, node: ArrayNode) -> None:
        self._node = node

    @property
    def attrs(self) -> Mapping[str, Any]:
        return {}

    @property
    def shape(self) -> tuple[int, ...]:
        return self._node.shape

    @property
    def dtype(self) -> Any:
        return self._node.dtype

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._node.chunks

    def read(self, selection: tuple[slice, ...]) -> Any:
        return self._node.read(selection)


def strip_attrs(root: GroupNode) -> GroupNode:
    """``root``'s members without attributes (one level: CSV trees are flat)."""
    out = MemoryGroup()
    for key in root.keys():
        node = root[key]
        out.add(key, _Bare(node) if isinstance(node, ArrayNode) else node)
    return out

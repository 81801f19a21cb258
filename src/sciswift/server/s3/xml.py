"""S3's XML documents: rendering replies and parsing request bodies safely.

Request bodies (CreateBucketConfiguration, Delete, CompleteMultipartUpload,
AccessControlPolicy, VersioningConfiguration) are parsed with ``defusedxml``
refusing any document type declaration: S3 documents never need one, and a
DTD is how external-entity (XXE) and entity-expansion attacks arrive. Such a
body is malformed XML to us (the caller answers ``MalformedXML``), and
nothing it names is ever read. Element names are compared without their
namespace, since clients send S3's namespace or none.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, tostring

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

__all__ = ["XML_TYPE", "S3_NAMESPACE", "XMLError", "to_xml", "parse", "child_text"]

XML_TYPE = "application/xml"
S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class XMLError(ValueError):
    """A request body that is not the well-formed, DTD-free document expected."""


def to_xml(doc: Element, namespace: bool = True) -> bytes:
    """``doc`` as an S3 reply body: the XML declaration, then the document
    (its root in S3's namespace unless ``namespace`` is False)."""
    if namespace:
        doc.set("xmlns", S3_NAMESPACE)
    return _DECLARATION + tostring(doc, encoding="utf-8", xml_declaration=False)


def _strip(elem: Element) -> None:
    for e in elem.iter():
        if isinstance(e.tag, str) and e.tag.startswith("{"):
            e.tag = e.tag.split("}", 1)[1]


def parse(body: bytes, root: str) -> Element:
    """The document in ``body``, whose root element must be ``root``; raises
    XMLError for anything else (not XML, a DTD or entity, another root)."""
    try:
        doc = safe_et.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, safe_et.ParseError, ValueError) as exc:
        raise XMLError(f"not a well-formed {root} document: {exc}") from None
    _strip(doc)
    if doc.tag != root:
        raise XMLError(f"expected a {root} document, got {doc.tag}")
    return doc


def child_text(elem: Element, name: str) -> str | None:
    """The text of ``elem``'s first child called ``name`` ("" when empty), or
    None when there is no such child."""
    child = elem.find(name)
    if child is None:
        return None
    return child.text or ""

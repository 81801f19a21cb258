"""Swift's ACL syntax: container ACLs (v1 strings) and account ACLs (v2 JSON).

Container ACLs (``X-Container-Read`` / ``X-Container-Write``) are comma lists of
grants: ``account``, ``account:user``, ``AUTH_account`` and, on read ACLs only,
referrer designations ``.r:*``, ``.r:.example.com``, ``.r:-bad.example.com``
plus ``.rlistings`` (anonymous listings). ``clean_acl`` normalises them as Swift
stores them (``.referrer:*`` becomes ``.r:*``; spaces and empty items go).

Account ACLs (``X-Account-Access-Control``) are JSON objects with the keys
``admin``, ``read-write`` and ``read-only``, each a list of grantee strings.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlparse

__all__ = [
    "clean_acl",
    "parse_acl",
    "referrer_allowed",
    "validate_account_acl",
    "account_acls_from",
    "format_account_acl",
    "ACCOUNT_ACL_KEYS",
]

ACCOUNT_ACL_KEYS = ("admin", "read-write", "read-only")
_REFERRER_DESIGNATORS = (".r", ".ref", ".referer", ".referrer")


def clean_acl(name: str, value: str) -> str:
    """The normalised form of a container ACL header value.

    Raises ValueError (with Swift's message) for an unknown designator, a
    referrer without a host, or a referrer in a write ACL.
    """
    values: list[str] = []
    for raw in value.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if ":" not in raw:
            values.append(raw)
            continue
        first, second = (v.strip() for v in raw.split(":", 1))
        if not first or not first.startswith("."):
            values.append(raw)
        elif first in _REFERRER_DESIGNATORS:
            if "write" in name.lower():
                raise ValueError(f"Referrers not allowed in write ACL: {raw!r}")
            negate = second.startswith("-")
            if negate:
                second = second[1:].strip()
            if second and second != "*" and second.startswith("*"):
                second = second[1:].strip()
            if not second or second == ".":
                raise ValueError(f"No host/domain value after referrer designation in ACL: {raw!r}")
            values.append(f".r:{'-' if negate else ''}{second}")
        else:
            raise ValueError(f"Unknown designator {first!r} in ACL: {raw!r}")
    return ",".join(values)


def parse_acl(acl: str | None) -> tuple[list[str], list[str]]:
    """``(referrers, groups)`` of a cleaned container ACL string."""
    referrers: list[str] = []
    groups: list[str] = []
    for value in (acl or "").split(","):
        if not value:
            continue
        if value.startswith(".r:"):
            referrers.append(value[3:])
        else:
            groups.append(unquote(value))
    return referrers, groups


def referrer_allowed(referer: str | None, referrers: list[str]) -> bool:
    """True if the HTTP Referer's host is granted by the referrer list (later
    entries override earlier ones, ``-host`` denies)."""
    allow = False
    if referrers:
        try:
            rhost = urlparse(referer or "").hostname or "unknown"
        except ValueError:
            rhost = "unknown"
        for mhost in referrers:
            if mhost.startswith("-"):
                mhost = mhost[1:]
                if mhost == rhost or (mhost.startswith(".") and rhost.endswith(mhost)):
                    allow = False
            elif mhost == "*" or mhost == rhost or (mhost.startswith(".") and rhost.endswith(mhost)):
                allow = True
    return allow


def validate_account_acl(value: str) -> str | None:
    """None if ``value`` is a valid tempauth account ACL, else a message saying
    what is wrong (the server answers 400 with it)."""
    try:
        data = json.loads(value) if value != "" else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return f"Syntax error in input ({value!r})"
    for key in data:
        if key not in ACCOUNT_ACL_KEYS:
            return f"Key {json.dumps(key)} not recognized"
    for key in ACCOUNT_ACL_KEYS:
        if key not in data:
            continue
        if not isinstance(data[key], list):
            return f"Value for key {json.dumps(key)} must be a list"
        if not all(isinstance(g, str) for g in data[key]):
            return f"Elements of {json.dumps(key)} list must be strings"
    return None


def _json_dict(stored: str | None) -> dict[str, object] | None:
    if not stored:
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def format_account_acl(stored: str | None) -> str | None:
    """A stored account ACL as tempauth shows it (compact, sorted JSON), or
    None when it is empty."""
    data = _json_dict(stored)
    if not data:
        return None
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def account_acls_from(stored: str | None) -> dict[str, list[str]] | None:
    """The account ACLs stored for an account, or None when none grant anything."""
    data = _json_dict(stored)
    if data is None:
        return None
    acls = {k: [g for g in data.get(k, []) if isinstance(g, str)] for k in ACCOUNT_ACL_KEYS}  # type: ignore[attr-defined]
    return acls if any(acls.values()) else None

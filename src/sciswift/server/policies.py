"""Storage policies: names a container is created under, as Swift's
``swift.conf`` declares them.

Every policy stores its containers in the same account Store: here a policy
is a label (``X-Storage-Policy`` on a container, per-policy account totals and
quotas), not a placement. Real clusters use several (replicated, erasure
coded), and clients and Swift's own tests select among them, so a server
standing in for one can declare the same names. The default is Swift's single
``Policy-0``.

A ``--config`` INI declares them in ``swift.conf``'s own syntax::

    [storage-policy:0]
    name = gold
    aliases = yellow, orange
    default = yes

    [storage-policy:1]
    name = silver

Names and aliases are unique regardless of case; without ``default = yes``
policy 0 is the default, as in Swift.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sciswift.errors import InvalidInput

__all__ = ["Policy", "DEFAULT_POLICIES", "find", "default_policy", "info", "policies_from_ini"]

_VALID_NAME = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Policy:
    """One storage policy: its index, name, other names, and whether it is
    the one containers get when they name none."""

    index: int
    name: str
    aliases: tuple[str, ...] = ()
    default: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


DEFAULT_POLICIES: tuple[Policy, ...] = (Policy(0, "Policy-0", default=True),)


def find(policies: Sequence[Policy], name: str) -> Policy | None:
    """The policy called ``name`` (or aliased so), ignoring case; else None."""
    wanted = name.strip().lower()
    for policy in policies:
        if any(n.lower() == wanted for n in policy.names):
            return policy
    return None


def default_policy(policies: Sequence[Policy]) -> Policy:
    return next((p for p in policies if p.default), policies[0])


def info(policies: Sequence[Policy]) -> list[dict[str, Any]]:
    """The ``policies`` list of ``/info``, as Swift shows it."""
    out: list[dict[str, Any]] = []
    for p in policies:
        entry: dict[str, Any] = {"name": p.name, "aliases": ", ".join(p.names)}
        if p.default:
            entry["default"] = True
        out.append(entry)
    return out


def policies_from_ini(parser: configparser.ConfigParser, source: str) -> tuple[Policy, ...] | None:
    """The policies an INI file's ``[storage-policy:N]`` sections declare
    (None when it has none). Raises InvalidInput naming the section at fault."""
    found: list[Policy] = []
    for section in parser.sections():
        if not section.startswith("storage-policy:"):
            continue
        where = f"{source} [{section}]"
        try:
            index = int(section.split(":", 1)[1])
        except ValueError:
            raise InvalidInput(f"{where}: the policy index must be an integer", source) from None
        s = parser[section]
        name = s.get("name", "").strip() or ("Policy-0" if index == 0 else "")
        aliases = tuple(a.strip() for a in s.get("aliases", "").split(",") if a.strip() and a.strip() != name)
        for n in (name, *aliases):
            if not _VALID_NAME.match(n):
                raise InvalidInput(f"{where}: invalid policy name {n!r} (letters, digits and '-')", source)
        flag = s.get("default", "no").strip().lower()
        found.append(Policy(index, name, aliases, flag in ("1", "yes", "true", "on", "t", "y")))
    if not found:
        return None
    found.sort(key=lambda p: p.index)
    seen: set[str] = set()
    for p in found:
        for n in p.names:
            if n.lower() in seen:
                raise InvalidInput(f"{source}: policy name {n!r} is used twice", source)
            seen.add(n.lower())
    defaults = [p for p in found if p.default]
    if len(defaults) > 1:
        raise InvalidInput(f"{source}: more than one default storage policy", source)
    if not defaults:
        first = found[0]
        found[0] = Policy(first.index, first.name, first.aliases, True)
    return tuple(found)

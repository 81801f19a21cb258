"""The hidden store each account may have beside it (object versioning keeps
versions there), and the account a name in it belongs to.

A hidden account's name has no reseller prefix, so authorization refuses it
to every request; only features reach it, on requests they authorized
themselves. Objects kept there refer to other objects as their own account's
would: a version that is a symlink, a DLO or an SLO names its target,
segments or segment container relative to the account it was written in,
which :func:`home_account` gives back.
"""

from __future__ import annotations

__all__ = ["hidden_account", "home_account"]

_PREFIX = ".versions-"


def hidden_account(account: str) -> str:
    """The hidden store beside ``account``."""
    return _PREFIX + account


def home_account(account: str) -> str:
    """The account relative names in ``account`` resolve in: the account a
    hidden store belongs to, any other account itself."""
    return account[len(_PREFIX):] if account.startswith(_PREFIX) else account

"""TempAuth: v1.0 token auth and Swift's authorization rules.

Authentication (``GET /auth/v1.0`` with ``X-Auth-User``/``X-Auth-Key`` or
``X-Storage-User``/``X-Storage-Pass``) answers ``X-Auth-Token``,
``X-Storage-Token``, ``X-Auth-Token-Expires`` and ``X-Storage-Url``, as Swift's
tempauth middleware does.

Tokens are stateless: ``AUTH_tk<payload>.<mac>`` where the payload carries the
user and the expiry time and the MAC is HMAC-SHA256 over the payload and the
user's key with a server secret. Every worker process holding the secret
validates every token, a token dies at its expiry, and changing a user's key
revokes its tokens.

Authorization follows tempauth's ``authorize``: account owners (``.admin`` of
the account, ``.reseller_admin``), container ACLs (``X-Container-Read`` /
``X-Container-Write``: referrers ``.r:``, ``.rlistings``, account and user
grants), and account ACLs (``X-Account-Access-Control``: admin, read-write,
read-only). Anonymous callers that are refused get 401, authenticated ones 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

from sciswift.server.acl import parse_acl, referrer_allowed
from sciswift.server.config import REQUIRE_GROUP, RESELLER_PREFIXES, User
from sciswift.server.http import Reply, SwiftRequest, error

__all__ = ["Identity", "Scope", "TempAuth", "TOKEN_PREFIX"]

TOKEN_PREFIX = "AUTH_tk"


@dataclass(frozen=True)
class Scope:
    """What a signature grants in place of a token (a temporary URL, a form
    post): everything within ``account`` (and ``container``, when set), nothing
    outside it, as Swift's ``authorize_same_account`` / ``_same_container``."""

    account: str
    container: str | None = None

    def allows(self, account: str | None, container: str | None) -> bool:
        return account == self.account and (self.container is None or container == self.container)


@dataclass(frozen=True)
class Identity:
    """Who a token belongs to: ``groups`` as tempauth lists them (account,
    ``account:user``, any groups, and ``AUTH_<account>``/``SERVICE_<account>``
    for account admins), plus the groups of an ``X-Service-Token``.

    A signed request (temporary URL, form post) has no groups but a ``scope``:
    authorization then only asks whether the target lies within it."""

    user: str
    groups: frozenset[str]
    scope: Scope | None = None

    @property
    def is_reseller_admin(self) -> bool:
        return ".reseller_admin" in self.groups


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TempAuth:
    """Users, tokens and authorization decisions for the whole server."""

    def __init__(self, users: dict[str, User], secret: bytes | None = None, token_life: int = 86400) -> None:
        self.users = dict(users)
        self.secret = secret or secrets.token_bytes(32)
        self.token_life = token_life

    # ------------------------------------------------------------- tokens
    def _mac(self, payload: str, user: User) -> str:
        msg = payload.encode("utf-8") + b"\0" + user.key.encode("utf-8")
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()[:40]

    def issue_token(self, user: User, now: float | None = None) -> tuple[str, int]:
        """A new token for ``user`` and its expiry (epoch seconds)."""
        expires = int((now if now is not None else time.time()) + self.token_life)
        payload = _b64(f"{expires:x}:{user.account_user}".encode())
        return f"{TOKEN_PREFIX}{payload}.{self._mac(payload, user)}", expires

    def user_for_token(self, token: str | None, now: float | None = None) -> User | None:
        """The user a valid, unexpired token belongs to, else None."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        payload, sep, mac = token[len(TOKEN_PREFIX):].partition(".")
        if not sep:
            return None
        try:
            expires_hex, _, account_user = _unb64(payload).decode("utf-8").partition(":")
            expires = int(expires_hex, 16)
        except (ValueError, UnicodeDecodeError):
            return None
        user = self.users.get(account_user)
        # As bytes: compare_digest refuses str with non-ASCII characters (a
        # header's raw bytes arrive as surrogate escapes), which was a 500.
        given = mac.encode("utf-8", "surrogateescape")
        if user is None or not hmac.compare_digest(given, self._mac(payload, user).encode("ascii")):
            return None
        if expires < (now if now is not None else time.time()):
            return None
        return user

    def groups_of(self, user: User) -> list[str]:
        """tempauth's group list: account, ``account:user``, the user's groups,
        and for ``.admin`` every reseller-prefixed account id."""
        groups = [user.account, user.account_user]
        groups.extend(g for g in user.groups if g != ".admin")
        if user.is_admin:
            groups.extend(f"{prefix}{user.account}" for prefix in RESELLER_PREFIXES)
        return groups

    def identify(self, req: SwiftRequest) -> Identity | None | Reply:
        """The caller of ``req``: an Identity, None when no token was sent, or a
        401 reply when a token was sent but is not valid."""
        token = req.headers.get("X-Auth-Token") or req.headers.get("X-Storage-Token")
        if not token:
            return None
        user = self.user_for_token(token)
        if user is None:
            return error(401, headers={"Www-Authenticate": f'Swift realm="{_realm(req.account)}"'})
        groups = self.groups_of(user)
        service = self.user_for_token(req.headers.get("X-Service-Token"))
        if service is not None:
            groups.extend(self.groups_of(service))
        return Identity(user=user.account_user, groups=frozenset(groups))

    # -------------------------------------------------------------- /auth
    def handle_auth(self, req: SwiftRequest) -> Reply:
        """``GET /auth/v1.0`` (also ``/auth/v1/<account>/auth``)."""
        if req.method != "GET":
            return error(405, headers={"Allow": "GET"})
        parts = [p for p in req.path.split("/")[2:]]
        h = req.headers
        if parts and parts[0] == "v1" and len(parts) >= 3 and parts[2] == "auth":
            account = parts[1]
            user_name = h.get("X-Storage-User")
            if not user_name:
                full = h.get("X-Auth-User", "")
                acct2, sep, user_name = full.partition(":")
                if not sep or acct2 != account:
                    return _unauthorized(account)
            key = h.get("X-Storage-Pass") or h.get("X-Auth-Key")
        elif parts and parts[0] in ("v1.0", "auth") and len(parts) == 1:
            full = h.get("X-Auth-User") or h.get("X-Storage-User") or ""
            account, sep, user_name = full.partition(":")
            if not sep:
                return _unauthorized("unknown")
            key = h.get("X-Auth-Key") or h.get("X-Storage-Pass")
        elif parts and parts[0]:
            return error(400)  # a version or form tempauth does not serve
        else:
            return error(404)
        user = self.users.get(f"{account}:{user_name}")
        if not (account and user_name and key) or user is None or not hmac.compare_digest(
            user.key.encode("utf-8"), key.encode("utf-8", "surrogateescape")
        ):
            return _unauthorized(account or "unknown")
        token, expires = self.issue_token(user)
        reply = Reply(200)
        reply.headers.update(
            {
                "Content-Type": "text/html; charset=UTF-8",
                "X-Auth-Token": token,
                "X-Storage-Token": token,
                "X-Auth-Token-Expires": str(max(0, int(expires - time.time()))),
                "X-Storage-Url": f"{req.host_url}/v1/{RESELLER_PREFIXES[0]}{user.account}",
            }
        )
        return reply

    # ----------------------------------------------------- authorization
    def authorize(
        self,
        req: SwiftRequest,
        acl: str | None = None,
        account_acls: dict[str, list[str]] | None = None,
    ) -> Reply | None:
        """None if ``req`` may proceed, else the 401/403 reply.

        ``acl`` is the container ACL that applies (read ACL for GET/HEAD,
        write ACL for PUT/POST/DELETE of objects); ``account_acls`` the parsed
        ``X-Account-Access-Control`` of the target account. Sets
        ``req.swift_owner`` when the caller owns the account.
        """
        account, container, obj = req.account, req.container, req.obj
        ident = req.identity
        if ident is not None and ident.scope is not None:
            if ident.scope.allows(account, container):
                return None
            return error(401, headers={"Www-Authenticate": f'Swift realm="{_realm(account)}"'})
        if account is None or _prefix_of(account) is None:
            return self.denied(req)
        groups = ident.groups if ident else frozenset()
        if ident is not None and ident.is_reseller_admin and not _dot_account(account):
            req.swift_owner = True
            return None
        if account in groups and (req.method not in ("DELETE", "PUT") or container):
            required = REQUIRE_GROUP.get(_prefix_of(account) or "")
            if not required or required in groups:
                req.swift_owner = True
                return None
        if req.method == "OPTIONS":
            return None
        referrers, acl_groups = parse_acl(acl)
        if referrer_allowed(req.referer, referrers) and (obj or ".rlistings" in acl_groups):
            return None
        if groups & set(acl_groups):
            return None
        if account_acls:
            if groups & set(account_acls.get("admin", ())):
                req.swift_owner = True
                return None
            if groups & set(account_acls.get("read-write", ())) and (
                container or req.method in ("GET", "HEAD")
            ):
                return None
            if groups & set(account_acls.get("read-only", ())) and req.method in ("GET", "HEAD"):
                return None
        return self.denied(req)

    @staticmethod
    def denied(req: SwiftRequest) -> Reply:
        """403 for an authenticated caller, 401 for an anonymous one."""
        if req.identity is not None:
            return error(403)
        return error(401, headers={"Www-Authenticate": f'Swift realm="{_realm(req.account)}"'})


def _prefix_of(account: str) -> str | None:
    for prefix in RESELLER_PREFIXES:
        if account.startswith(prefix):
            return prefix
    return None


def _dot_account(account: str) -> bool:
    prefix = _prefix_of(account)
    return prefix is not None and account[len(prefix) : len(prefix) + 1] == "."


def _realm(account: str | None) -> str:
    # Quoted as swob does, so a crafted account name cannot inject headers.
    return quote(account) if account else "unknown"


def _unauthorized(realm: str) -> Reply:
    return error(401, headers={"Www-Authenticate": f'Swift realm="{quote(realm)}"'})

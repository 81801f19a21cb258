"""Server configuration: listen address, backend, users, and how they are read.

Users are declared with TempAuth's own syntax, so a Swift ``proxy-server.conf``
``[filter:tempauth]`` section can be reused as is::

    user_test_tester = testing .admin
    user_admin_admin = admin .admin .reseller_admin
    user_test5_tester5 = testing5 service
    user64_<b64 account>_<b64 user> = key ...    # names containing '_'

A line is ``user_<account>_<user> = <key> [group ...] [storage-url]``. Groups
starting with a dot are roles (``.admin`` owns the account, ``.reseller_admin``
owns every account); other words are plain groups (``service``). A trailing
``http://...`` storage URL is accepted and ignored: the server builds storage
URLs from the request's Host.

A ``--config`` file is INI with a ``[server]`` section (``host``, ``port``,
``data``, ``backend``, ``workers``, ``quiet``, ``token_life``, ``token_secret``,
``durable``, ``users``) and an optional ``[users]`` section of user lines.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from sciswift.errors import InvalidInput

__all__ = [
    "User",
    "ServerConfig",
    "parse_user_line",
    "parse_users_text",
    "load_users_file",
    "load_config_file",
    "DEFAULT_PORT",
    "DEFAULT_DATA_DIR",
    "RESELLER_PREFIXES",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12345
DEFAULT_DATA_DIR = Path(".sciswift-data")
DEFAULT_TOKEN_LIFE = 86400

#: Account prefixes the server is the authority for, as TempAuth's
#: ``reseller_prefix = AUTH, SERVICE``. Accounts are ``AUTH_<account>``; the
#: ``SERVICE_`` twin of each account needs a service token in addition
#: (``SERVICE_require_group = service``), as in Swift's functional-test setup.
RESELLER_PREFIXES = ("AUTH_", "SERVICE_")
REQUIRE_GROUP = {"SERVICE_": "service"}


@dataclass(frozen=True)
class User:
    """One TempAuth user: ``account:name`` authenticates with ``key``."""

    account: str
    name: str
    key: str
    groups: tuple[str, ...] = ()

    @property
    def account_user(self) -> str:
        return f"{self.account}:{self.name}"

    @property
    def is_admin(self) -> bool:
        return ".admin" in self.groups

    @property
    def is_reseller_admin(self) -> bool:
        return ".reseller_admin" in self.groups


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"bad base64 in user line name {text!r}: {exc}", text) from None


def parse_user_line(name: str, value: str) -> User:
    """One ``user_<account>_<user> = <key> [groups...]`` entry as a User.

    Raises InvalidInput naming the entry when it is malformed.
    """
    if name.startswith("user64_"):
        account_b64, sep, user_b64 = name[len("user64_"):].partition("_")
        if not sep:
            raise InvalidInput(f"{name!r}: expected user64_<account>_<user>", name)
        account, user = _b64(account_b64), _b64(user_b64)
    elif name.startswith("user_"):
        account, sep, user = name[len("user_"):].partition("_")
        if not sep:
            raise InvalidInput(f"{name!r}: expected user_<account>_<user>", name)
    else:
        raise InvalidInput(f"{name!r}: user entries start with user_ or user64_", name)
    if not account or not user:
        raise InvalidInput(f"{name!r}: empty account or user name", name)
    for part in (account, user):
        if ":" in part or "/" in part or part in (".", ".."):
            raise InvalidInput(f"{name!r}: account and user names may not contain ':' or '/'", name)
    words = value.split()
    if not words:
        raise InvalidInput(f"{name!r}: no key given", name)
    key, groups = words[0], words[1:]
    if groups and "://" in groups[-1]:
        groups = groups[:-1]  # TempAuth's optional storage URL; we build our own
    return User(account=account, name=user, key=key, groups=tuple(groups))


def parse_users_text(text: str, source: str = "<users>") -> dict[str, User]:
    """Users from TempAuth-style lines (``#`` comments and blank lines allowed;
    an INI ``[section]`` header is skipped). Keyed by ``account:user``."""
    users: dict[str, User] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise InvalidInput(f"{source}:{lineno}: expected 'user_<account>_<user> = <key> ...'", source)
        try:
            user = parse_user_line(name.strip(), value.strip())
        except InvalidInput as exc:
            raise InvalidInput(f"{source}:{lineno}: {exc}", source) from None
        users[user.account_user] = user
    return users


def load_users_file(path: str | os.PathLike[str]) -> dict[str, User]:
    """Users declared in a file of TempAuth lines."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read users file {p}: {exc.strerror}", str(p)) from None
    return parse_users_text(text, str(p))


@dataclass
class ServerConfig:
    """Everything ``sciswift serve`` needs to run.

    ``backend`` is ``"local"`` (one LocalStore per account under ``data_dir``)
    or ``"memory"`` (one MemoryStore per account, lost at exit; one worker only).
    ``token_secret`` signs tokens; when None a random one is made at start (and,
    with a data directory, kept in ``<data>/.token-secret`` so tokens survive a
    restart).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    backend: str = "local"
    users: dict[str, User] = field(default_factory=dict)
    workers: int = 1
    quiet: bool = False
    token_life: int = DEFAULT_TOKEN_LIFE
    token_secret: bytes | None = None
    durable: bool = True
    #: The region the S3 API serves (signatures' credential scope).
    s3_region: str = "us-east-1"

    def with_default_user(self, user: str = "test:tester", key: str = "testing") -> ServerConfig:
        """This config with ``user`` (an ``account:name``) added as an account admin,
        unless users were already declared."""
        if self.users:
            return self
        account, sep, name = user.partition(":")
        if not sep or not account or not name:
            raise InvalidInput(f"user {user!r} must be written account:name", user)
        u = User(account=account, name=name, key=key, groups=(".admin",))
        return replace(self, users={u.account_user: u})


_BOOL = {"1": True, "yes": True, "true": True, "on": True, "0": False, "no": False, "false": False, "off": False}


def load_config_file(path: str | os.PathLike[str]) -> dict[str, object]:
    """Settings from an INI ``--config`` file, as ServerConfig keyword values.

    Only keys present in the file are returned, so command-line options can be
    layered on top.
    """
    p = Path(path)
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # user_ names are case-sensitive
    try:
        with p.open(encoding="utf-8") as fh:
            parser.read_file(fh)
    except OSError as exc:
        raise InvalidInput(f"cannot read config file {p}: {exc.strerror}", str(p)) from None
    except configparser.Error as exc:
        raise InvalidInput(f"config file {p} is not valid INI: {exc}", str(p)) from None
    out: dict[str, object] = {}
    if parser.has_section("server"):
        s = parser["server"]
        try:
            for key in ("host", "backend", "s3_region"):
                if key in s:
                    out[key] = s[key].strip()
            for key in ("port", "workers", "token_life"):
                if key in s:
                    out[key] = int(s[key])
            for key in ("quiet", "durable"):
                if key in s:
                    out[key] = _BOOL[s[key].strip().lower()]
        except (ValueError, KeyError) as exc:
            raise InvalidInput(f"config file {p}: bad value in [server]: {exc}", str(p)) from None
        if "data" in s:
            out["data_dir"] = (p.parent / s["data"].strip()).resolve()
        if "token_secret" in s:
            out["token_secret"] = s["token_secret"].strip().encode("utf-8")
        if "users" in s:
            out["users"] = load_users_file(p.parent / s["users"].strip())
    if parser.has_section("users"):
        users = dict(out.get("users", {}))  # type: ignore[call-overload]
        for name, value in parser["users"].items():
            try:
                u = parse_user_line(name, value)
            except InvalidInput as exc:
                raise InvalidInput(f"config file {p} [users]: {exc}", str(p)) from None
            users[u.account_user] = u
        out["users"] = users
    return out

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
``durable``, ``users``, ``middleware``), an optional ``[users]`` section of user
lines, and optional middleware sections with Swift's option names
(``[tempurl]``, ``[formpost]``, ``[symlink]``, ``[versioned_writes]``,
``[staticweb]``, ``[domain_remap]``; ``[filter:<name>]`` works too: see
:mod:`sciswift.server.middleware.settings`), and storage policy names in
``swift.conf``'s ``[storage-policy:N]`` sections (:mod:`sciswift.server.policies`).
"""

from __future__ import annotations

import base64
import binascii
import configparser
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from sciswift.errors import InvalidInput
from sciswift.server.middleware.settings import MiddlewareSettings, settings_from_ini
from sciswift.server.policies import DEFAULT_POLICIES, Policy, policies_from_ini

__all__ = [
    "User",
    "ServerConfig",
    "SegmentLimits",
    "parse_user_line",
    "parse_users_text",
    "load_users_file",
    "load_config_file",
    "DEFAULT_PORT",
    "DEFAULT_DATA_DIR",
    "RESELLER_PREFIXES",
    "WELL_KNOWN_KEYS",
    "is_loopback",
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


#: Keys of the Sci-Swift quickstart and Swift's test setups: publicly known.
WELL_KNOWN_KEYS = frozenset({"testing", "testing2", "testing3", "testing4", "testing5", "testing6", "admin",
                             "password", "secret", "swordfish"})


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SegmentLimits:
    """How large objects are read back (Swift's slo and dlo options, same names
    and defaults). After ``rate_limit_after_segment`` segments, segments smaller
    than ``rate_limit_under_size`` bytes are fetched at most
    ``rate_limit_segments_per_sec`` per second (0: no limit); a GET stops after
    ``max_get_time`` seconds. SLOs nest at most ``max_nesting_depth`` manifests
    deep (Swift's fixed limit of 10)."""

    rate_limit_under_size: int = 1024 * 1024
    rate_limit_after_segment: int = 10
    rate_limit_segments_per_sec: float = 1.0
    max_get_time: float = 86400.0
    max_nesting_depth: int = 10


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
    slo: SegmentLimits = field(default_factory=SegmentLimits)
    dlo: SegmentLimits = field(default_factory=SegmentLimits)
    #: PEM certificate chain and private key: serve HTTPS (both or neither).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Listen beyond loopback even though a user has a well-known key.
    insecure_default_user: bool = False
    #: Which of Swift's middlewares run, and their options (``[tempurl]`` ...).
    middleware: MiddlewareSettings = field(default_factory=MiddlewareSettings)
    #: Storage policy names (``[storage-policy:N]``), see ``server.policies``.
    policies: tuple[Policy, ...] = DEFAULT_POLICIES
    #: The region the S3 API serves (signatures' credential scope).
    s3_region: str = "us-east-1"
    #: Domains under which the S3 API takes virtual-hosted-style requests
    #: (``Host: <bucket>.<domain>``), as Swift s3api's ``storage_domain``.
    s3_storage_domains: tuple[str, ...] = ("localhost",)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    def check_exposure(self) -> None:
        """Refuse a configuration anyone on the network could take over: a
        non-loopback address with a user whose key is a well-known default
        (``testing`` ...), unless ``insecure_default_user`` says so; and half a
        TLS setup."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidInput("give both --tls-cert and --tls-key (or neither)")
        if is_loopback(self.host) or self.insecure_default_user:
            return
        weak = sorted(u.account_user for u in self.users.values() if u.key in WELL_KNOWN_KEYS)
        if weak:
            raise InvalidInput(
                f"refusing to listen on {self.host or 'all addresses'} with well-known credentials "
                f"({', '.join(weak)}: anyone on the network would be an admin). Give users with keys of "
                "your own (--users FILE, or --user/--key), or pass --insecure-default-user if this "
                "network is yours alone."
            )

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


def _segment_limits(section: configparser.SectionProxy, where: str) -> SegmentLimits:
    kinds = {"rate_limit_under_size": int, "rate_limit_after_segment": int, "rate_limit_segments_per_sec": float,
             "max_get_time": float, "max_nesting_depth": int}
    values: dict[str, object] = {}
    for key, value in section.items():
        if key not in kinds:
            raise InvalidInput(f"{where}: unknown option {key!r} (known: {', '.join(kinds)})")
        try:
            number = kinds[key](value.strip())
        except ValueError:
            raise InvalidInput(f"{where}: {key} must be a number, not {value!r}") from None
        if number < 0 or (key == "max_nesting_depth" and number < 1):
            raise InvalidInput(f"{where}: {key} must be positive, not {value!r}")
        values[key] = number
    return SegmentLimits(**values)  # type: ignore[arg-type]


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
            for key in ("quiet", "durable", "insecure_default_user"):
                if key in s:
                    out[key] = _BOOL[s[key].strip().lower()]
        except (ValueError, KeyError) as exc:
            raise InvalidInput(f"config file {p}: bad value in [server]: {exc}", str(p)) from None
        if "s3_storage_domain" in s:
            out["s3_storage_domains"] = tuple(d.strip().strip(".").lower() for d in s["s3_storage_domain"].split(",")
                                              if d.strip().strip("."))
        if "data" in s:
            out["data_dir"] = (p.parent / s["data"].strip()).resolve()
        for key in ("tls_cert", "tls_key"):
            if key in s:
                out[key] = (p.parent / s[key].strip()).resolve()
        if "token_secret" in s:
            out["token_secret"] = s["token_secret"].strip().encode("utf-8")
        if "users" in s:
            out["users"] = load_users_file(p.parent / s["users"].strip())
    for section in ("slo", "dlo"):
        if parser.has_section(section):
            out[section] = _segment_limits(parser[section], f"config file {p} [{section}]")
    middleware = settings_from_ini(parser, str(p))
    if middleware is not None:
        out["middleware"] = middleware
    policies = policies_from_ini(parser, str(p))
    if policies is not None:
        out["policies"] = policies
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

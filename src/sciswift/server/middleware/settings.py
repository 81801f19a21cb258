"""What the middlewares are told: which run, and each one's options, with
Swift's option names so a ``proxy-server.conf`` filter section can be reused.

A ``--config`` INI file may hold, besides ``[server]`` and ``[users]``::

    [server]
    middleware = tempurl formpost symlink versioned_writes staticweb domain_remap

    [tempurl]                      # or [filter:tempurl], as in proxy-server.conf
    methods = GET HEAD PUT POST DELETE
    allowed_digests = sha1 sha256 sha512
    incoming_remove_headers = x-timestamp x-open-expired
    incoming_allow_headers =
    outgoing_remove_headers = x-object-meta-*
    outgoing_allow_headers = x-object-meta-public-*

    [formpost]
    allowed_digests = sha1 sha256 sha512

    [symlink]
    symloop_max = 2

    [versioned_writes]
    allow_versioned_writes = true      # X-Versions-Location / X-History-Location
    allow_object_versioning = true     # X-Versions-Enabled (needs symlink)

    [staticweb]
    url_base = https://www.example.com     # optional: scheme and host of redirects

    [domain_remap]
    storage_domain = example.com
    path_root = v1
    reseller_prefixes = AUTH
    default_reseller_prefix =
    mangle_client_paths = false

``middleware`` lists the middlewares that run (all of them when not given).
Values are Swift's defaults, except that both versioning modes are on (Swift
needs ``allow_versioned_writes`` / ``allow_object_versioning`` set to offer
them; the clusters this server stands in for do).
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field, replace
from typing import Any

from sciswift.errors import InvalidInput

__all__ = [
    "MIDDLEWARE",
    "SUPPORTED_DIGESTS",
    "DEPRECATED_DIGESTS",
    "TempURLSettings",
    "FormPostSettings",
    "SymlinkSettings",
    "VersioningSettings",
    "StaticWebSettings",
    "DomainRemapSettings",
    "MiddlewareSettings",
    "settings_from_ini",
]

#: Every middleware this server has, in the order Swift's pipeline runs them.
MIDDLEWARE = ("domain_remap", "tempurl", "formpost", "staticweb", "versioned_writes", "symlink")

#: HMAC digests signatures may use (Swift's ``SUPPORTED_DIGESTS``); sha1 is
#: allowed but announced as deprecated, as Swift does.
SUPPORTED_DIGESTS = ("sha1", "sha256", "sha512")
DEPRECATED_DIGESTS = ("sha1",)

_TRUE = {"1", "yes", "true", "on", "t", "y"}
_FALSE = {"0", "no", "false", "off", "f", "n", ""}


@dataclass(frozen=True)
class TempURLSettings:
    """Swift's ``[filter:tempurl]`` options (header lists may end in ``*``)."""

    methods: tuple[str, ...] = ("GET", "HEAD", "PUT", "POST", "DELETE")
    allowed_digests: tuple[str, ...] = SUPPORTED_DIGESTS
    incoming_remove_headers: tuple[str, ...] = ("x-timestamp", "x-open-expired")
    incoming_allow_headers: tuple[str, ...] = ()
    outgoing_remove_headers: tuple[str, ...] = ("x-object-meta-*",)
    outgoing_allow_headers: tuple[str, ...] = ("x-object-meta-public-*",)


@dataclass(frozen=True)
class FormPostSettings:
    """Swift's ``[filter:formpost]`` options."""

    allowed_digests: tuple[str, ...] = SUPPORTED_DIGESTS


@dataclass(frozen=True)
class SymlinkSettings:
    """Swift's ``[filter:symlink]``: how many symlinks a GET follows."""

    symloop_max: int = 2


@dataclass(frozen=True)
class VersioningSettings:
    """Swift's ``[filter:versioned_writes]`` switches for the two APIs."""

    allow_versioned_writes: bool = True
    allow_object_versioning: bool = True


@dataclass(frozen=True)
class StaticWebSettings:
    """Swift's ``[filter:staticweb]``: ``url_base`` (``scheme://host``) for redirects."""

    url_base: str | None = None


@dataclass(frozen=True)
class DomainRemapSettings:
    """Swift's ``[filter:domain_remap]`` options."""

    storage_domain: tuple[str, ...] = ("example.com",)
    path_root: str = "v1"
    reseller_prefixes: tuple[str, ...] = ("AUTH",)
    default_reseller_prefix: str | None = None
    mangle_client_paths: bool = False


@dataclass(frozen=True)
class MiddlewareSettings:
    """Which middlewares run and how (see the module docstring)."""

    enabled: frozenset[str] = frozenset(MIDDLEWARE)
    tempurl: TempURLSettings = field(default_factory=TempURLSettings)
    formpost: FormPostSettings = field(default_factory=FormPostSettings)
    symlink: SymlinkSettings = field(default_factory=SymlinkSettings)
    versioning: VersioningSettings = field(default_factory=VersioningSettings)
    staticweb: StaticWebSettings = field(default_factory=StaticWebSettings)
    domain_remap: DomainRemapSettings = field(default_factory=DomainRemapSettings)

    def on(self, name: str) -> bool:
        return name in self.enabled

    @property
    def legacy_versioning(self) -> bool:
        """``X-Versions-Location`` / ``X-History-Location`` are honoured."""
        return self.on("versioned_writes") and self.versioning.allow_versioned_writes

    @property
    def object_versioning(self) -> bool:
        """``X-Versions-Enabled`` is honoured (it stores versions behind symlinks)."""
        return self.on("versioned_writes") and self.versioning.allow_object_versioning and self.on("symlink")

    def info(self) -> dict[str, Any]:
        """The ``/info`` entries of the middlewares that run, as Swift words them."""
        out: dict[str, Any] = {}
        if self.on("tempurl"):
            t = self.tempurl
            out["tempurl"] = {
                "methods": list(t.methods),
                "incoming_remove_headers": list(t.incoming_remove_headers),
                "incoming_allow_headers": list(t.incoming_allow_headers),
                "outgoing_remove_headers": list(t.outgoing_remove_headers),
                "outgoing_allow_headers": list(t.outgoing_allow_headers),
                **_digest_info(t.allowed_digests),
            }
        if self.on("formpost"):
            out["formpost"] = _digest_info(self.formpost.allowed_digests)
        if self.on("symlink"):
            out["symlink"] = {"symloop_max": self.symlink.symloop_max, "static_links": True}
        if self.legacy_versioning:
            out["versioned_writes"] = {"allowed_flags": ["x-versions-location", "x-history-location"]}
        if self.object_versioning:
            out["object_versioning"] = {}
        if self.on("staticweb"):
            out["staticweb"] = {}
        if self.on("domain_remap"):
            out["domain_remap"] = {"default_reseller_prefix": self.domain_remap.default_reseller_prefix}
        return out


def _digest_info(digests: tuple[str, ...]) -> dict[str, list[str]]:
    out = {"allowed_digests": sorted(digests)}
    deprecated = sorted(set(digests) & set(DEPRECATED_DIGESTS))
    if deprecated:
        out["deprecated_digests"] = deprecated
    return out


# ------------------------------------------------------------------- INI
def _words(value: str) -> tuple[str, ...]:
    return tuple(value.replace(",", " ").split())


def _bool(value: str, where: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InvalidInput(f"{where}: expected true or false, got {value!r}", where)


def _digests(value: str, where: str) -> tuple[str, ...]:
    digests = tuple(d.lower() for d in _words(value)) or SUPPORTED_DIGESTS
    unknown = [d for d in digests if d not in SUPPORTED_DIGESTS]
    if unknown:
        raise InvalidInput(
            f"{where}: unsupported digest(s) {', '.join(unknown)} (use {', '.join(SUPPORTED_DIGESTS)})", where
        )
    return digests


def _section(parser: configparser.ConfigParser, name: str) -> configparser.SectionProxy | None:
    for candidate in (name, f"filter:{name}"):
        if parser.has_section(candidate):
            return parser[candidate]
    return None


def settings_from_ini(parser: configparser.ConfigParser, source: str) -> MiddlewareSettings | None:
    """The middleware settings an INI file declares (None when it declares
    none). Raises InvalidInput naming the file, section and option at fault."""
    settings = MiddlewareSettings()
    touched = False
    if parser.has_section("server") and "middleware" in parser["server"]:
        names = frozenset(_words(parser["server"]["middleware"]))
        unknown = sorted(names - set(MIDDLEWARE))
        if unknown:
            raise InvalidInput(
                f"{source} [server] middleware: unknown {', '.join(unknown)} (known: {', '.join(MIDDLEWARE)})",
                source,
            )
        settings = replace(settings, enabled=names)
        touched = True
    s = _section(parser, "tempurl")
    if s is not None:
        touched = True
        where = f"{source} [tempurl]"
        t = settings.tempurl
        changes: dict[str, Any] = {}
        if "methods" in s:
            changes["methods"] = tuple(m.upper() for m in _words(s["methods"]))
        if "allowed_digests" in s:
            changes["allowed_digests"] = _digests(s["allowed_digests"], f"{where} allowed_digests")
        for key in ("incoming_remove_headers", "incoming_allow_headers",
                    "outgoing_remove_headers", "outgoing_allow_headers"):
            if key in s:
                changes[key] = tuple(h.lower() for h in _words(s[key]))
        settings = replace(settings, tempurl=replace(t, **changes))
    s = _section(parser, "formpost")
    if s is not None and "allowed_digests" in s:
        touched = True
        digests = _digests(s["allowed_digests"], f"{source} [formpost] allowed_digests")
        settings = replace(settings, formpost=FormPostSettings(allowed_digests=digests))
    s = _section(parser, "symlink")
    if s is not None and "symloop_max" in s:
        touched = True
        try:
            loops = int(s["symloop_max"])
        except ValueError:
            raise InvalidInput(f"{source} [symlink] symloop_max: not an integer: {s['symloop_max']!r}", source) from None
        # as Swift: a value below 1 means the default
        settings = replace(settings, symlink=SymlinkSettings(symloop_max=loops if loops >= 1 else 2))
    s = _section(parser, "versioned_writes")
    if s is not None:
        touched = True
        v = settings.versioning
        settings = replace(settings, versioning=VersioningSettings(
            allow_versioned_writes=_bool(s.get("allow_versioned_writes", str(v.allow_versioned_writes)),
                                         f"{source} [versioned_writes] allow_versioned_writes"),
            allow_object_versioning=_bool(s.get("allow_object_versioning", str(v.allow_object_versioning)),
                                          f"{source} [versioned_writes] allow_object_versioning"),
        ))
    s = _section(parser, "staticweb")
    if s is not None and s.get("url_base", "").strip():
        touched = True
        settings = replace(settings, staticweb=StaticWebSettings(url_base=s["url_base"].strip()))
    s = _section(parser, "domain_remap")
    if s is not None:
        touched = True
        d = settings.domain_remap
        where = f"{source} [domain_remap]"
        settings = replace(settings, domain_remap=DomainRemapSettings(
            storage_domain=_words(s["storage_domain"]) if "storage_domain" in s else d.storage_domain,
            path_root=s.get("path_root", d.path_root).strip().strip("/") or "v1",
            reseller_prefixes=_words(s["reseller_prefixes"]) if "reseller_prefixes" in s else d.reseller_prefixes,
            default_reseller_prefix=s.get("default_reseller_prefix", "").strip() or d.default_reseller_prefix,
            mangle_client_paths=_bool(s.get("mangle_client_paths", "false"), f"{where} mangle_client_paths"),
        ))
    return settings if touched else None

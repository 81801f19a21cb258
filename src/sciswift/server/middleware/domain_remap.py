"""Domain remapping: ``container.account.<storage domain>/object`` and
``account.<storage domain>/container/object`` name the same things as
``/v1/account/container/object``, as Swift's domain_remap (for browsers and
static web sites served from their own host names).

The account part may be lower-cased and use ``-`` for the reseller prefix's
``_`` (``auth-test`` is ``AUTH_test``); a prefix not among
``reseller_prefixes`` leaves the request alone unless ``default_reseller_prefix``
is set. A host with more than two labels before the storage domain is
``400 Bad domain in host header``. Only the path changes; ``Host`` stays.
"""

from __future__ import annotations

import re

from sciswift.server.http import TEXT_TYPE, Reply, error
from sciswift.server.middleware.settings import DomainRemapSettings

__all__ = ["remap", "restore_locations"]


def remap(settings: DomainRemapSettings, host: str | None, path: str) -> str | Reply:
    """The path ``path`` stands for when sent to ``host`` (``path`` itself when
    the host is not under a storage domain), or the 400 reply for a bad host."""
    if not host:
        return path
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    domains = ["." + d if not d.startswith(".") else d for d in settings.storage_domain if d]
    domain = next((d for d in domains if name.endswith(d)), None)
    if domain is None:
        return path
    labels = name[: -len(domain)].strip(".").split(".")
    if len(labels) == 2:
        container, account = labels
    elif len(labels) == 1 and labels[0]:
        container, account = None, labels[0]
    else:
        return error(400, "Bad domain in host header", content_type=TEXT_TYPE)
    if settings.reseller_prefixes:
        if "_" not in account and "-" in account:
            account = account.replace("-", "_", 1)
        found = account.split("_", 1)[0].lower()
        lowered = [p.lower() for p in settings.reseller_prefixes]
        if found in lowered:
            real = settings.reseller_prefixes[lowered.index(found)]
            if not account.startswith(real):
                account = real + account[len(real):]
        elif settings.default_reseller_prefix:
            account = f"{settings.default_reseller_prefix}_{account}"
        else:
            return path
    rest = path[1:]
    root = settings.path_root.strip("/") + "/"
    if settings.mangle_client_paths and (rest + "/").startswith(root):
        rest = rest[len(root):]
    parts = ["", root[:-1], account] + ([container] if container else []) + [rest]
    return "/".join(parts)


def restore_locations(reply: Reply, requested: str, rewritten: str) -> None:
    """Point absolute ``Location``/``Content-Location`` URLs made for the
    rewritten path back at the path the client asked for (both URL-quoted)."""
    pattern = re.compile(r"^(https?://[^/]+)%s(.*)$" % re.escape(rewritten))
    for header in ("Location", "Content-Location"):
        value = reply.headers.get(header)
        if value is not None:
            reply.headers[header] = pattern.sub(lambda m: m.group(1) + requested + m.group(2), value)

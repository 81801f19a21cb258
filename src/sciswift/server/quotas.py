"""Account and container quotas, as Swift's account_quotas and
container_quotas middleware.

Container quotas are user metadata anyone who may write the container sets:
``X-Container-Meta-Quota-Bytes`` and ``X-Container-Meta-Quota-Count``. Account
quotas are set only by a reseller admin: ``X-Account-Quota-Bytes``,
``X-Account-Quota-Count`` (and their ``-Policy-<name>`` forms) are kept as
system values, and the legacy ``X-Account-Meta-Quota-Bytes`` as metadata. An
upload that would take the container or account over a quota answers 413
``Upload exceeds quota.``.
"""

from __future__ import annotations

from sciswift.server.backend import Backend
from sciswift.server.http import SwiftError, SwiftRequest
from sciswift.store.types import AccountInfo, ContainerInfo

__all__ = [
    "account_quota_updates",
    "check_container_quota_values",
    "check_upload",
    "has_quota",
    "ACCOUNT_QUOTA_PREFIX",
]

ACCOUNT_QUOTA_PREFIX = "x-account-quota-"
_LEGACY = "x-account-meta-quota-bytes"


def _int_value(value: str, what: str) -> None:
    if value == "":
        return
    try:
        if int(value) < 0:
            raise ValueError
    except ValueError:
        raise SwiftError(400, f"Invalid {what} quota.") from None


def account_quota_updates(req: SwiftRequest) -> dict[str, str]:
    """The account quota system values a POST/PUT sets (``""`` removes).

    Raises SwiftError(403) when anyone but a reseller admin tries to change
    a quota, 400 for a value that is not a non-negative integer.
    """
    updates: dict[str, str] = {}
    touched = False
    for key, value in req.headers.items():
        lkey = key.lower()
        if lkey in (_LEGACY, "x-remove-account-meta-quota-bytes"):
            touched = True
            if lkey == _LEGACY:
                _int_value(value, "bytes")
        elif lkey.startswith(ACCOUNT_QUOTA_PREFIX):
            touched = True
            _int_value(value, "count" if "count" in lkey else "bytes")
            updates[lkey] = value
        elif lkey.startswith("x-remove-" + ACCOUNT_QUOTA_PREFIX[2:]):
            touched = True
            updates["x-" + lkey[len("x-remove-"):]] = ""
    if touched and not (req.identity and req.identity.is_reseller_admin):
        raise SwiftError(403)
    return updates


def check_container_quota_values(req: SwiftRequest) -> None:
    """400 unless the container quota metadata being set are integers."""
    for what in ("bytes", "count"):
        value = req.headers.get(f"X-Container-Meta-Quota-{what.title()}")
        if value is not None:
            try:
                if value != "" and int(value) < 0:
                    raise ValueError
            except ValueError:
                raise SwiftError(400, f"Invalid {what} quota.") from None


def _over(quota: str | None, used: int, adding: int) -> bool:
    if not quota:
        return False
    try:
        return used + adding > int(quota)
    except ValueError:
        return False


def _container_limited(cinfo: ContainerInfo) -> bool:
    return bool(cinfo.metadata.get("quota-bytes") or cinfo.metadata.get("quota-count"))


def _account_limited(ainfo: AccountInfo | None) -> bool:
    return ainfo is not None and bool(
        ainfo.metadata.get("quota-bytes") or any(k.startswith(ACCOUNT_QUOTA_PREFIX) for k in ainfo.system)
    )


async def has_quota(be: Backend, req: SwiftRequest, account: str, container: str) -> bool:
    """Whether uploads into ``container`` are limited by a container or account
    quota (or the container is gone): such uploads must be checked one by one."""
    cinfo = await be.container_info(req, account, container)
    if cinfo is None or _container_limited(cinfo):
        return True
    return _account_limited(await be.account_info(req, account))


async def check_upload(be: Backend, req: SwiftRequest, cinfo: ContainerInfo, length: int | None) -> None:
    """Raise SwiftError(413) if storing ``length`` more bytes (one more object)
    in this container would break a container or account quota."""
    size = length or 0
    assert req.account is not None and req.container is not None
    if _container_limited(cinfo):
        # totals in cached info may be a moment old; quotas need exact ones
        cinfo = await be.container_info(req, req.account, req.container, fresh=True) or cinfo
        meta = cinfo.metadata
        if _over(meta.get("quota-bytes"), cinfo.bytes_used, size) or _over(
            meta.get("quota-count"), cinfo.object_count, 1
        ):
            raise SwiftError(413, "Upload exceeds quota.")
    ainfo = await be.account_info(req, req.account)
    if ainfo is None or not _account_limited(ainfo):
        return
    ainfo = await be.account_info(req, req.account, fresh=True) or ainfo
    sysq = ainfo.system
    bytes_quotas = [sysq.get("x-account-quota-bytes"), ainfo.metadata.get("quota-bytes")]
    count_quotas = [sysq.get("x-account-quota-count")]
    policy = cinfo.system.get("x-storage-policy", "").lower()
    if policy:
        bytes_quotas.append(sysq.get(f"x-account-quota-bytes-policy-{policy}"))
        count_quotas.append(sysq.get(f"x-account-quota-count-policy-{policy}"))
    if any(_over(q, ainfo.bytes_used, size) for q in bytes_quotas) or any(
        _over(q, ainfo.object_count, 1) for q in count_quotas
    ):
        raise SwiftError(413, "Upload exceeds quota.")

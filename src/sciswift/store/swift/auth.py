"""How SwiftStore finds its account: credentials from arguments and the environment,
and the auth round trip (TempAuth v1.0, or Keystone v2/v3 through keystoneauth1).

The environment is read the way python-swiftclient's ``swift`` command reads it, so
a shell set up for ``swift stat`` works unchanged:

- v1.0: ``ST_AUTH``, ``ST_USER``, ``ST_KEY``.
- Keystone: ``OS_AUTH_URL``, ``OS_USERNAME`` / ``OS_USER_ID``, ``OS_PASSWORD``,
  ``OS_PROJECT_NAME`` / ``OS_PROJECT_ID`` (or the older ``OS_TENANT_*``),
  ``OS_USER_DOMAIN_NAME`` / ``_ID``, ``OS_PROJECT_DOMAIN_NAME`` / ``_ID``,
  ``OS_REGION_NAME``, ``OS_ENDPOINT_TYPE`` / ``OS_INTERFACE``, ``OS_SERVICE_TYPE``,
  ``OS_APPLICATION_CREDENTIAL_ID`` / ``_SECRET``, ``OS_CACERT``.
- Pre-authenticated: ``OS_STORAGE_URL`` with ``OS_AUTH_TOKEN`` skips auth.
- The version: ``ST_AUTH_VERSION``, ``OS_AUTH_VERSION`` or
  ``OS_IDENTITY_API_VERSION``; otherwise v1.0 when ``ST_*`` is complete, else
  inferred as ``SwiftCredentials.resolved_version`` says (Keystone v3 when a
  domain is named, v2.0 when only a project is: python-swiftclient's rule).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import urllib3

from sciswift.errors import CorruptData, InvalidInput, NotSupported, StoreUnavailable, Unauthenticated
from sciswift.store.object_frames import CONTENT_TYPE as FRAMES_TYPE
from sciswift.store.object_frames import Frame, read_frames

__all__ = ["SwiftCredentials", "authenticate", "PREFETCH_HEADER"]

#: Reads a client asks an auth v1.0 reply to answer at once (sciswift serve:
#: ``sciswift.server.auth_prefetch``; other endpoints ignore it).
PREFETCH_HEADER = "X-Sciswift-Prefetch"


@dataclass(frozen=True)
class SwiftCredentials:
    """Everything needed to reach one Swift account. Secrets stay out of ``repr``."""

    auth_url: str | None = None
    user: str | None = None
    key: str | None = None
    auth_version: str | None = None
    storage_url: str | None = None
    token: str | None = None
    # Keystone
    user_id: str | None = None
    project_name: str | None = None
    project_id: str | None = None
    user_domain_name: str | None = None
    user_domain_id: str | None = None
    project_domain_name: str | None = None
    project_domain_id: str | None = None
    region_name: str | None = None
    interface: str | None = None
    service_type: str = "object-store"
    application_credential_id: str | None = None
    application_credential_secret: str | None = None
    # TLS
    cacert: str | None = None
    insecure: bool = False

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)
                 if getattr(self, f.name) not in (None, False)
                 and f.name not in ("key", "token", "application_credential_secret")}
        return f"SwiftCredentials({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def can_authenticate(self) -> bool:
        """True if there is enough to get a (new) token, not only a given one."""
        return bool(self.auth_url and (self.key or self.application_credential_secret))

    @property
    def endpoint(self) -> str:
        """The URL named in messages: the auth URL, else the storage URL."""
        return self.auth_url or self.storage_url or "<no endpoint>"

    def resolved_version(self) -> str:
        """``"1.0"``, ``"2.0"`` or ``"3"``: the one given, else what the auth URL
        ends with (``/v3``, ``/v2.0``), else Keystone v3 when a domain or application
        credential is named, v2.0 when a project is, and v1.0 otherwise."""
        v = (self.auth_version or "").strip().lower().lstrip("v")
        if v in ("1", "1.0"):
            return "1.0"
        if v in ("2", "2.0"):
            return "2.0"
        if v in ("3", "3.0"):
            return "3"
        if v:
            raise InvalidInput(f"unknown Swift auth version {self.auth_version!r} (1.0, 2.0 or 3)")
        path = (self.auth_url or "").rstrip("/")
        if path.endswith("/v3"):
            return "3"
        if path.endswith("/v2.0"):
            return "2.0"
        if self.application_credential_id or any((
                self.user_domain_name, self.user_domain_id, self.project_domain_name,
                self.project_domain_id)):
            return "3"
        if self.project_name or self.project_id or self.user_id:
            return "2.0"
        return "1.0"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> SwiftCredentials:
        """Credentials from ``environ`` (default ``os.environ``); keyword arguments win.

        ``ST_*`` (v1.0) take precedence over ``OS_*`` for the URL, user and key, as
        in python-swiftclient, and ``OS_*`` fill in whatever ``ST_*`` leave out.
        """
        env = os.environ if environ is None else environ

        def get(*names: str) -> str | None:
            for n in names:
                if env.get(n):
                    return env[n]
            return None

        st_complete = all(env.get(n) for n in ("ST_AUTH", "ST_USER", "ST_KEY"))
        values: dict[str, Any] = {
            "auth_url": get("ST_AUTH") if st_complete else get("OS_AUTH_URL", "ST_AUTH"),
            "user": get("ST_USER") if st_complete else get("OS_USERNAME", "ST_USER"),
            "key": get("ST_KEY") if st_complete else get("OS_PASSWORD", "ST_KEY"),
            "auth_version": get("ST_AUTH_VERSION", "OS_AUTH_VERSION", "OS_IDENTITY_API_VERSION"),
            "storage_url": get("OS_STORAGE_URL"),
            "token": get("OS_AUTH_TOKEN"),
            "user_id": get("OS_USER_ID"),
            "project_name": get("OS_PROJECT_NAME", "OS_TENANT_NAME"),
            "project_id": get("OS_PROJECT_ID", "OS_TENANT_ID"),
            "user_domain_name": get("OS_USER_DOMAIN_NAME"),
            "user_domain_id": get("OS_USER_DOMAIN_ID"),
            "project_domain_name": get("OS_PROJECT_DOMAIN_NAME"),
            "project_domain_id": get("OS_PROJECT_DOMAIN_ID"),
            "region_name": get("OS_REGION_NAME"),
            "interface": get("OS_INTERFACE", "OS_ENDPOINT_TYPE"),
            "service_type": get("OS_SERVICE_TYPE") or "object-store",
            "application_credential_id": get("OS_APPLICATION_CREDENTIAL_ID"),
            "application_credential_secret": get("OS_APPLICATION_CREDENTIAL_SECRET"),
            "cacert": get("OS_CACERT"),
            "insecure": (get("SWIFTCLIENT_INSECURE") or "").lower() in ("1", "true", "yes", "on"),
        }
        if st_complete and not values["auth_version"]:
            values["auth_version"] = "1.0"
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise InvalidInput(f"unknown SwiftStore option(s): {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> SwiftCredentials:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def authenticate(http: urllib3.PoolManager, creds: SwiftCredentials, timeout: float,
                 retries: urllib3.Retry | None = None, prefetch: Sequence[tuple[str, str]] = (),
                 prefetched: list[Frame] | None = None) -> tuple[str, str, float | None]:
    """Get ``(storage_url, token, expires)`` for ``creds``: ``expires`` is the
    token's expiry (epoch seconds) when the endpoint tells it (TempAuth's
    ``X-Auth-Token-Expires``, Keystone's token expiry), else None. ``retries``
    governs the v1.0 request (connection errors and 502-504 are retried).
    Unauthenticated if the endpoint refuses the credentials, StoreUnavailable if
    it cannot be reached, InvalidInput if the credentials are incomplete.

    ``prefetch``: ``(method, path)`` reads (GET or HEAD, the path a suffix of
    the storage URL) a v1.0 endpoint may answer in the auth reply
    (``sciswift.server.auth_prefetch``); their answers go into ``prefetched``,
    each frame named ``"METHOD path"``. Endpoints that do not know the header
    answer none."""
    if not creds.can_authenticate:
        raise InvalidInput(
            "no Swift credentials: set ST_AUTH/ST_USER/ST_KEY (auth v1.0), the OS_* variables "
            "(Keystone), or OS_STORAGE_URL with OS_AUTH_TOKEN; or pass auth_url/user/key",
            creds.endpoint,
        )
    version = creds.resolved_version()
    if version == "1.0":
        storage_url, token, expires = _auth_v1(http, creds, timeout, retries, prefetch, prefetched)
    else:
        storage_url, token, expires = _auth_keystone(creds, version, timeout)
    return creds.storage_url or storage_url, token, expires


def _auth_v1(http: urllib3.PoolManager, creds: SwiftCredentials, timeout: float,
             retries: urllib3.Retry | None, prefetch: Sequence[tuple[str, str]] = (),
             prefetched: list[Frame] | None = None) -> tuple[str, str, float | None]:
    assert creds.auth_url is not None
    if not creds.user:
        raise InvalidInput(f"auth v1.0 at {creds.auth_url} needs a user (ST_USER)", creds.auth_url)
    headers = {"X-Auth-User": creds.user, "X-Auth-Key": creds.key or ""}
    if prefetch and prefetched is not None:
        headers[PREFETCH_HEADER] = ", ".join(f"{method} {path}" for method, path in prefetch)
    try:
        resp = http.request(
            "GET", creds.auth_url,
            headers=headers,
            timeout=timeout,
            retries=retries or urllib3.Retry(3, backoff_factor=0.2, status_forcelist=(502, 503, 504),
                                             raise_on_status=False),
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as e:
        raise StoreUnavailable(f"cannot reach Swift auth endpoint {creds.auth_url}: {e}",
                               creds.auth_url) from None
    if resp.status in (401, 403):
        raise Unauthenticated(
            f"Swift auth endpoint {creds.auth_url} rejected user {creds.user!r} ({resp.status})",
            creds.auth_url,
        )
    storage_url, token = resp.headers.get("X-Storage-Url"), resp.headers.get("X-Auth-Token")
    if resp.status >= 300 or not storage_url or not token:
        raise StoreUnavailable(
            f"Swift auth endpoint {creds.auth_url} answered {resp.status} "
            f"without a storage URL and token", creds.auth_url,
        )
    if prefetched is not None and resp.headers.get(PREFETCH_HEADER) and \
            resp.headers.get("Content-Type", "").startswith(FRAMES_TYPE):
        try:
            prefetched.extend(read_frames(io.BytesIO(resp.data or b"").read, f"auth reply of {creds.auth_url}"))
        except CorruptData:
            prefetched.clear()  # nothing is taken from a reply cut short: the reads are made as usual
    expires: float | None = None
    try:  # seconds the token has left, as TempAuth says
        left = float(resp.headers.get("X-Auth-Token-Expires", ""))
        if left > 0:
            expires = time.time() + left
    except ValueError:
        pass
    return storage_url, token, expires


def _auth_keystone(creds: SwiftCredentials, version: str, timeout: float) -> tuple[str, str, float | None]:
    try:
        from keystoneauth1 import exceptions as ks_exc
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v2, v3
    except ImportError:
        raise NotSupported(
            f"Keystone auth (v{version}) at {creds.auth_url} needs keystoneauth1: "
            "pip install 'sciswift[keystone]'", creds.auth_url,
        ) from None
    plugin: Any
    auth_url = creds.auth_url or ""
    if version == "3" and creds.application_credential_id:
        plugin = v3.ApplicationCredential(
            auth_url=auth_url,
            application_credential_id=creds.application_credential_id,
            application_credential_secret=creds.application_credential_secret or "",
        )
    elif version == "3":
        plugin = v3.Password(
            auth_url=auth_url, username=creds.user, user_id=creds.user_id,
            password=creds.key or "", project_name=creds.project_name, project_id=creds.project_id,
            user_domain_name=creds.user_domain_name, user_domain_id=creds.user_domain_id,
            project_domain_name=creds.project_domain_name,
            project_domain_id=creds.project_domain_id,
        )
    else:
        plugin = v2.Password(
            auth_url=auth_url, username=creds.user, user_id=creds.user_id,
            password=creds.key or "", tenant_name=creds.project_name, tenant_id=creds.project_id,
        )
    verify: bool | str = creds.cacert or not creds.insecure
    session = ks_session.Session(auth=plugin, verify=verify, timeout=timeout)
    try:
        token = session.get_token()
        storage_url = creds.storage_url or session.get_endpoint(
            service_type=creds.service_type,
            interface=_interface(creds.interface),
            region_name=creds.region_name,
        )
    except ks_exc.Unauthorized as e:
        raise Unauthenticated(f"Keystone at {creds.auth_url} rejected the credentials: {e}",
                              creds.auth_url) from None
    except ks_exc.EndpointNotFound:
        raise InvalidInput(
            f"Keystone at {creds.auth_url} lists no {creds.service_type!r} endpoint"
            f"{f' in region {creds.region_name!r}' if creds.region_name else ''}", creds.auth_url,
        ) from None
    except (ks_exc.ConnectFailure, ks_exc.DiscoveryFailure, ks_exc.ConnectTimeout) as e:
        raise StoreUnavailable(f"cannot reach Keystone at {creds.auth_url}: {e}", creds.auth_url) from None
    except ks_exc.ClientException as e:
        raise StoreUnavailable(f"Keystone auth at {creds.auth_url} failed: {e}", creds.auth_url) from None
    if not token or not storage_url:
        raise StoreUnavailable(f"Keystone at {creds.auth_url} gave no token or storage URL", creds.auth_url)
    expires: float | None = None
    try:
        access = plugin.get_access(session)
        if access.expires is not None:
            expires = access.expires.timestamp()
    except ks_exc.ClientException:
        pass
    return storage_url, token, expires


def _interface(value: str | None) -> str:
    # python-swiftclient speaks "publicURL"; keystoneauth1 wants "public".
    v = (value or "public").lower()
    return v[:-3] if v.endswith("url") else v

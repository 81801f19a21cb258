"""Swift tokens kept between processes, so a fresh process skips the auth request.

Over a network every request in sequence costs a round trip, and a program that
opens a file and reads one small dataset makes four: the auth request (after its
own TCP handshake), the file's root document, the data. A token kept from an
earlier process removes the first; at 50 ms per round trip that is 50-100 ms
for every short job of a batch script.

Safety rules:

- A token is kept only with its expiry (TempAuth's ``X-Auth-Token-Expires``,
  Keystone's token expiry) and used only while more than ``MARGIN`` seconds of
  it are left; without a known expiry nothing is kept.
- The file belongs to the user and only the user may read it (a folder of mode
  0700, files of 0600, written whole by rename). A file that is not a regular
  file owned by the user with no group or other permissions is ignored.
- Entries are named by a hash of everything that selects the account (auth URL,
  version, user, project, region, interface, storage URL), never the secret.
  The entry also holds a salted hash of the secret (key, password or
  application-credential secret): a process given other credentials, even a
  wrong key for the same user, does not use the token and authenticates itself.
- A token the server refuses (401) is forgotten, and the new one kept.

With the token, the entry keeps the endpoint's ``/info`` (its capabilities) once
a process has fetched it, for ``INFO_MAX_AGE`` seconds: a fresh process then
learns what the endpoint offers (batched reads, archives, conditional PUTs)
without asking. It is used only together with the kept token it was fetched
with; a server that refuses the token (a different or restarted one) drops
both, and the process asks anew.

``SCISWIFT_TOKEN_CACHE=0`` turns it off; ``SCISWIFT_TOKEN_CACHE_DIR`` moves it
(default ``$XDG_CACHE_HOME/sciswift/tokens``, i.e. ``~/.cache/sciswift/tokens``).
A process handed ``OS_STORAGE_URL`` and ``OS_AUTH_TOKEN`` uses those and keeps
nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sciswift.store.swift.auth import SwiftCredentials

__all__ = ["TokenCache", "MARGIN", "INFO_MAX_AGE"]

#: A kept token is used only while it has more than this many seconds left.
MARGIN = 120.0
#: A kept ``/info`` is used for this long after it was fetched: long enough for
#: the jobs of a batch script, short enough that a reconfigured endpoint (a
#: middleware added or removed behind the same token) is seen within minutes.
INFO_MAX_AGE = 900.0
#: An ``/info`` bigger than this is not kept (an entry is read up to 64 KiB, and
#: the token must stay readable). Swift's own is 3-10 KB.
INFO_MAX_BYTES = 48 * 1024
#: How much of an entry is read.
_ENTRY_MAX_BYTES = 64 * 1024

# auth_version is represented by the version it resolves to.
_LEFT_OUT = frozenset({"key", "token", "application_credential_secret", "auth_version"})
_OFF = frozenset({"0", "off", "no", "false"})


@dataclass(frozen=True)
class Kept:
    """A token read back from the cache."""

    storage_url: str
    token: str
    expires: float
    #: The endpoint's ``/info`` fetched with this token, while fresh (INFO_MAX_AGE).
    info: dict[str, Any] | None = None


class TokenCache:
    """Tokens on disk under ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> TokenCache | None:
        """The cache the environment asks for, or None when it is turned off."""
        env = os.environ if environ is None else environ
        if env.get("SCISWIFT_TOKEN_CACHE", "").strip().lower() in _OFF:
            return None
        where = env.get("SCISWIFT_TOKEN_CACHE_DIR")
        if where:
            return cls(Path(where))
        base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return cls(Path(base) / "sciswift" / "tokens")

    # ------------------------------------------------------------ naming
    @staticmethod
    def _identity(creds: SwiftCredentials) -> str:
        who = {f.name: getattr(creds, f.name) for f in fields(creds) if f.name not in _LEFT_OUT}
        who["resolved_version"] = creds.resolved_version()
        raw = json.dumps(who, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()

    @staticmethod
    def _secret(creds: SwiftCredentials) -> bytes:
        return (creds.key or creds.application_credential_secret or "").encode("utf-8", "surrogatepass")

    def _path(self, creds: SwiftCredentials) -> Path:
        return self.directory / f"{self._identity(creds)}.json"

    @staticmethod
    def _check(salt: bytes, secret: bytes) -> str:
        return hmac.new(salt, secret, hashlib.sha256).hexdigest()

    # ------------------------------------------------------------ reading
    def load(self, creds: SwiftCredentials, now: float | None = None) -> Kept | None:
        """The kept token for ``creds`` if there is a usable one, else None.
        Never raises: a damaged or foreign entry is as good as none."""
        entry = self._entry(creds)
        if entry is None:
            return None
        now = time.time() if now is None else now
        try:
            kept = Kept(str(entry["storage_url"]), str(entry["token"]), float(entry["expires"]))
        except (ValueError, KeyError, TypeError):
            return None
        if kept.expires - now <= MARGIN or not kept.token:
            return None
        info, fetched = entry.get("info"), entry.get("info_time")
        if isinstance(info, dict) and isinstance(fetched, (int, float)) and 0 <= now - fetched <= INFO_MAX_AGE:
            kept = Kept(kept.storage_url, kept.token, kept.expires, info)
        return kept

    def _entry(self, creds: SwiftCredentials) -> dict[str, Any] | None:
        """The entry for ``creds`` as stored, if it is the user's own file and was
        kept for the same secret; else None."""
        if not creds.can_authenticate:
            return None
        try:
            fd = os.open(self._path(creds), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
                return None
            with os.fdopen(fd, "rb", closefd=False) as f:
                entry = json.loads(f.read(_ENTRY_MAX_BYTES))
            salt = bytes.fromhex(entry["salt"])
            if not hmac.compare_digest(entry["check"], self._check(salt, self._secret(creds))):
                return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        finally:
            os.close(fd)
        return entry if isinstance(entry, dict) else None

    # ------------------------------------------------------------ writing
    def save(self, creds: SwiftCredentials, storage_url: str, token: str, expires: float | None) -> None:
        """Keep ``token`` for ``creds`` until ``expires`` (epoch seconds); nothing
        is kept without an expiry. Best effort: a folder that cannot be written
        only means the next process authenticates."""
        if expires is None or not creds.can_authenticate:
            return
        salt = os.urandom(16)
        self._write(creds, {"storage_url": storage_url, "token": token, "expires": expires,
                            "salt": salt.hex(), "check": self._check(salt, self._secret(creds))})

    def keep_info(self, creds: SwiftCredentials, token: str, info: dict[str, Any], now: float | None = None) -> None:
        """Keep the endpoint's ``/info``, fetched with ``token``, beside that token
        (nothing if the entry holds another token meanwhile, or ``info`` is too
        big to keep). Best effort, as ``save``."""
        entry = self._entry(creds)
        if entry is None or entry.get("token") != token:
            return
        try:
            if len(json.dumps(info)) > INFO_MAX_BYTES:
                return
        except (TypeError, ValueError):
            return
        entry["info"] = info
        entry["info_time"] = time.time() if now is None else now
        self._write(creds, entry)

    def _write(self, creds: SwiftCredentials, entry: dict[str, Any]) -> None:
        """Replace the entry for ``creds`` whole (a private file, by rename)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.lstat(self.directory)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
                return  # someone else's or too open a folder: keep nothing there
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".token-")  # mode 0600
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(entry, f)
                os.replace(tmp, self._path(creds))
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            return

    def forget(self, creds: SwiftCredentials, token: str) -> None:
        """Drop the kept entry for ``creds`` if it holds ``token`` (the server
        refused it); an entry another process renewed meanwhile stays."""
        path = self._path(creds)
        try:
            with open(path, "rb") as f:
                if json.loads(f.read(_ENTRY_MAX_BYTES)).get("token") != token:
                    return
            os.unlink(path)
        except (OSError, ValueError, AttributeError):
            return

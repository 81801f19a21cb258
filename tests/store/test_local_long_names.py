"""LocalStore: container names longer than a file name may be (Swift allows 256 bytes)."""

from __future__ import annotations

import os
from pathlib import Path

from sciswift.store.local import LocalStore
from sciswift.store.types import ListingParams

LONG = "sky-" + "ß" * 126  # 256 UTF-8 bytes


def test_long_name_survives_reopening(tmp_path: Path) -> None:
    s = LocalStore(tmp_path, durable=True)
    s.create_container(LONG, metadata={"Survey": "deep"})
    s.put_object(LONG, "img.fits", b"SIMPLE")
    s.create_container("sky-short")
    s.close()
    # Nothing on disk is named by the long name itself.
    assert all(len(e.encode()) <= 255 for e in os.listdir(tmp_path))
    again = LocalStore(tmp_path, durable=True)
    try:
        names = [c.name for c in again.list_containers(ListingParams(prefix="sky-"))]  # type: ignore[union-attr]
        assert names == sorted([LONG, "sky-short"], key=str.encode)
        assert again.get_object(LONG, "img.fits") == b"SIMPLE"
        assert again.head_container(LONG).metadata == {"survey": "deep"}
        assert again.account_info().container_count == 2
        again.delete_object(LONG, "img.fits")
        again.delete_container(LONG)
        assert [c.name for c in again.list_containers()] == ["sky-short"]  # type: ignore[union-attr]
        assert not [e for e in os.listdir(tmp_path) if e.startswith(".sciswift-long-")]
    finally:
        again.close()


def test_foreign_or_half_made_long_directories_are_not_containers(tmp_path: Path) -> None:
    s = LocalStore(tmp_path, durable=False)
    try:
        s.create_container("real")
        (tmp_path / ".sciswift-long-0123").mkdir()  # no name file
        forged = tmp_path / (".sciswift-long-" + "0" * 64)
        forged.mkdir()
        (forged / "container-name").write_text("x" * 300)  # not a valid name, wrong hash
        assert [c.name for c in s.list_containers()] == ["real"]  # type: ignore[union-attr]
    finally:
        s.close()

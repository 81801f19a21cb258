"""The mount table: syntax, normalisation, longest-prefix matching on whole
path components, and the SCISWIFT_MOUNTS round trip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sciswift.compat.mounts import ENV_VAR, Mount, MountTable, is_store_url
from sciswift.errors import InvalidInput


def test_maps_paths_below_the_mount_point() -> None:
    table = MountTable.parse("/scratch/run1=swift://wind/run1")
    assert table.find("/scratch/run1/a/b.h5") == (Mount("/scratch/run1", "swift://wind/run1"),
                                                  "swift://wind/run1/a/b.h5")
    assert table.find("/scratch/run1")[1] == "swift://wind/run1"  # type: ignore[index]
    assert table.find("/scratch/run10/x.h5") is None  # a component boundary, not a string prefix
    assert table.find("/scratch/other.h5") is None


def test_longest_mount_point_wins_whatever_the_order() -> None:
    table = MountTable.parse("/a/b=memory://inner;/a=memory://outer/p")
    assert table.find("/a/b/c.h5")[1] == "memory://inner/c.h5"  # type: ignore[index]
    assert table.find("/a/bc.h5")[1] == "memory://outer/p/bc.h5"  # type: ignore[index]
    assert [m.point for m in table] == ["/a/b", "/a"]


def test_paths_are_normalised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    table = MountTable.parse("/scratch/run1/=swift://wind/run1/")
    assert table.find("/scratch/x/../run1/./f.h5")[1] == "swift://wind/run1/f.h5"  # type: ignore[index]
    assert table.find("//scratch//run1//f.h5")[1] == "swift://wind/run1/f.h5"  # type: ignore[index]
    monkeypatch.chdir("/scratch" if os.path.isdir("/scratch") else tmp_path)
    rel = MountTable.parse(f"{os.getcwd()}/m=memory://c")
    assert rel.find("m/f.h5")[1] == "memory://c/f.h5"  # type: ignore[index]
    assert table.find(Path("/scratch/run1/p.h5"))[1] == "swift://wind/run1/p.h5"  # type: ignore[index]
    assert table.find(b"/scratch/run1/p.h5")[1] == "swift://wind/run1/p.h5"  # type: ignore[index]


def test_plain_directory_targets_become_file_urls(tmp_path: Path) -> None:
    m = Mount.parse(f"/data={tmp_path}/store")
    assert m.target == (tmp_path / "store").as_uri()
    # names reach the LocalStore literally, even with characters URLs escape
    assert m.map("/data/a b%.h5") == f"{(tmp_path / 'store').as_uri()}/a%20b%25.h5"


def test_urls_are_not_mount_business() -> None:
    table = MountTable.parse("/=memory://everything")
    assert table.find("swift://c/x.h5") is None
    assert table.find("http://host/x.h5") is None
    assert is_store_url("swift://c/x") and is_store_url("file:///x") and is_store_url("memory://c")
    assert not is_store_url("/swift://x") and not is_store_url("s3://b/k")


@pytest.mark.parametrize("spec, words", [
    ("/scratch", "LOCAL=URL"),
    ("=swift://c", "LOCAL=URL"),
    ("/scratch=", "no target"),
    ("/scratch=s3://bucket/x", "unknown URL scheme 's3'"),
    ("/scratch=swift://", "names no container"),
    ("/scratch=file://relative/x", "absolute path"),
    ("swift://c=/scratch", "must be a local path"),
])
def test_malformed_mounts_are_named(spec: str, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        Mount.parse(spec.replace("LOCAL=URL", ""))
    message = str(e.value)
    assert spec in message
    assert words.replace("LOCAL=URL", "/local/dir=swift://container/prefix") in message


def test_a_point_mounted_twice_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="mounted twice"):
        MountTable.parse("/s=memory://a;/s/=memory://b")
    assert len(MountTable.parse("/s=memory://a;/s=memory://a")) == 1


def test_environment_round_trip() -> None:
    text = "/scratch/run1=swift://wind/run1;/data=file:///srv/store\n/tmp/m=memory://c/p"
    table = MountTable.from_environment({ENV_VAR: text})
    again = MountTable.parse(table.to_env())
    assert [str(m) for m in again] == [str(m) for m in table]
    assert len(table) == 3
    assert not MountTable.from_environment({})

"""``sciswift fsck DATA [--deep] [--repair]`` on LocalStores and server data
directories: what it finds, what it repairs, its exit status, and that without
--repair it changes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from sciswift.errors import Quarantined
from sciswift.store.local import LocalStore
from sciswift.testing.damage import flip_byte, truncate_record


def _store(root: Path) -> LocalStore:
    s = LocalStore(root, durable=False, mark_root=True)
    s.create_container("c")
    s.put_object("c", "plain", os.urandom(200_000))
    s.put_many("c", {f"k{i}": os.urandom(5000) for i in range(4)})
    s.create_container("d")
    s.put_object("d", "x", b"x" * 100)
    return s


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_clean_store_passes(run: Callable[..., Result], tmp_path: Path) -> None:
    _store(tmp_path / "acct").close()
    for args in ([], ["--deep"], ["--repair"], ["--deep", "--repair"]):
        result = run("fsck", *args, str(tmp_path / "acct"))
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1].startswith("6 object(s) in 2 container(s)")
        assert "0 damaged, 0 quarantined" in result.output
        assert not any(line.startswith(("DAMAGED", "QUARANTINED", "REPAIRABLE")) for line in result.output.splitlines())


def test_detects_without_changing_anything(run: Callable[..., Result], tmp_path: Path) -> None:
    root = tmp_path / "acct"
    _store(root).close()
    flip_byte(root, "c", "plain", 150_000)  # body damage: only --deep reads bodies
    truncate_record(root, "d", "x", 50)  # a record cut short: any check sees it
    before = _snapshot(root)
    result = run("fsck", str(root))
    assert result.exit_code == 1
    assert "DAMAGED      d/x: " in result.output and "plain" not in result.output
    deep = run("fsck", "--deep", str(root))
    assert deep.exit_code == 1
    assert "DAMAGED      c/plain: body bytes 131072-196607 do not match their checksum" in deep.output
    assert "DAMAGED      d/x: " in deep.output
    assert "sciswift fsck --repair --deep" in deep.output
    assert _snapshot(root) == before  # nothing written, nothing moved


def test_repair_quarantines_and_reads_then_fail(run: Callable[..., Result], tmp_path: Path) -> None:
    root = tmp_path / "acct"
    _store(root).close()
    flip_byte(root, "c", "k2", 10)
    result = run("fsck", "--deep", "--repair", str(root))
    assert result.exit_code == 1  # damage was found (the data of c/k2 is lost here)
    lines = result.output.splitlines()
    assert any(line.startswith("DAMAGED      c/k2: body bytes 0-4999") for line in lines)
    assert "REPAIRED     c/k2: quarantined" in lines
    assert any(line.startswith("QUARANTINED  c/k2: body bytes 0-4999") for line in lines)
    assert (root / "c" / "quarantine").is_dir()
    s = LocalStore(root, create=False)
    with pytest.raises(Quarantined):
        s.get_object("c", "k2")
    # Still reported (exit 1) until the object is put again or deleted.
    assert run("fsck", str(root)).exit_code == 1
    s.delete_object("c", "k2")
    s.close()
    again = run("fsck", "--deep", str(root))
    assert again.exit_code == 0 and "0 damaged, 0 quarantined" in again.output


def test_repairable_findings_alone_exit_0(run: Callable[..., Result], tmp_path: Path) -> None:
    root = tmp_path / "acct"
    _store(root).close()
    (root / "c" / "tmp" / "deadbeef.0").write_bytes(b"left by a writer that died")
    result = run("fsck", str(root))
    assert result.exit_code == 0
    assert "REPAIRABLE" in result.output and "deadbeef.0" in result.output
    repaired = run("fsck", "--repair", str(root))
    assert repaired.exit_code == 0
    assert "REPAIRED     " in repaired.output and "temporary file of a writer that died (fixed)" in repaired.output
    assert not (root / "c" / "tmp" / "deadbeef.0").exists()


def test_server_data_directory(run: Callable[..., Result], tmp_path: Path) -> None:
    data = tmp_path / "data"
    for account in ("AUTH_a", "AUTH_b"):
        _store(data / account).close()
    flip_byte(data / "AUTH_b", "c", "k1", 0)
    result = run("fsck", "--deep", str(data))
    assert result.exit_code == 1
    assert "a server data directory, 2 account(s)" in result.output
    assert "DAMAGED      AUTH_b/c/k1: " in result.output and "AUTH_a/" not in result.output
    assert "12 object(s) in 4 container(s)" in result.output


def test_not_a_data_directory(run: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    result = run("fsck", str(tmp_path))
    assert result.exit_code == 2 and "neither a `sciswift serve` data directory" in result.output
    missing = run("fsck", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "is not a directory" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    fresh = run("fsck", str(empty))  # a server's data directory before its first write
    assert fresh.exit_code == 0 and "0 object(s) in 0 container(s)" in fresh.output


def test_help_explains_the_exit_status(run: Callable[..., Result]) -> None:
    result = run("fsck", "--help")
    assert result.exit_code == 0
    for word in ("--deep", "--repair", "QUARANTINED", "Exit status", "X-Sciswift-Quarantined"):
        assert word in result.output
    assert "fsck" in run("--help").output

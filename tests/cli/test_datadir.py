"""``sciswift ls`` on the data directory of a running ``sciswift serve``: a
container's directory lists the container's files as ``swift list`` shows the
objects (native files summed); an account or the data directory itself gets an
error saying what to list instead."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import swiftclient
from click.testing import Result

import sciswift.h5py as sh5
from saio_fixtures import ServerEndpoint
from sciswift.convert import import_file


@pytest.fixture
def served(sciswift_server: ServerEndpoint, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> tuple[ServerEndpoint, str]:
    """A container on the server holding uploaded objects (swiftclient) and a
    native file (imported through the server)."""
    container = f"ls-{uuid.uuid4().hex[:8]}"
    conn = swiftclient.Connection(authurl=sciswift_server.auth_url, user=sciswift_server.user,
                                  key=sciswift_server.key)
    conn.put_container(container)
    conn.put_object(container, "notes/readme.txt", b"hello")
    conn.put_object(container, "table.csv", b"a,b\n1,2\n")
    native = tmp_path / "run1"
    with sh5.File(str(native), "w") as f:
        f.create_dataset("x", data=np.arange(10))
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    import_file(str(native), f"swift://{container}/run1.h5")
    return sciswift_server, container


def _names(output: str) -> list[str]:
    return [line.split()[-1] for line in output.splitlines() if line.strip()]


def test_ls_container_directory_lists_its_files(run: Callable[..., Result],
                                                served: tuple[ServerEndpoint, str]) -> None:
    server, container = served
    account_dir = Path(server.data) / "AUTH_test"
    want = ["notes/", "run1.h5", "table.csv"]
    for target in (account_dir / container, Path(server.data) / container):
        result = run("ls", str(target))
        assert result.exit_code == 0, result.output
        assert _names(result.output) == want, target
    # a file in it opens as through the server
    result = run("ls", str(Path(server.data) / container / "run1.h5"))
    assert result.exit_code == 0, result.output
    assert "x  Dataset {10} int64" in result.output


def test_ls_account_or_data_directory_says_what_to_list(run: Callable[..., Result],
                                                         served: tuple[ServerEndpoint, str]) -> None:
    server, container = served
    result = run("ls", str(Path(server.data) / "AUTH_test"))
    assert result.exit_code == 1
    assert container in result.output and "swift://" in result.output
    result = run("ls", server.data)
    assert result.exit_code == 1
    assert "data directory" in result.output and "AUTH_test" in result.output
    result = run("ls", str(Path(server.data) / "no-such-container"))
    assert result.exit_code == 1
    assert "'no-such-container'" in result.output



def test_a_refused_read_says_how_access_is_granted(run: Callable[..., Result], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # test:tester3 is a non-admin user of the same account: without a read ACL
    # the store answers 403, and the error says what grants access.
    from sciswift.server.spawn import spawn

    users = tmp_path / "users.conf"
    users.write_text("user_test_tester = testing .admin\nuser_test_tester3 = testing3\n")
    server = spawn(["--data", str(tmp_path / "data"), "--users", str(users), "--quiet"])
    try:
        conn = swiftclient.Connection(authurl=server.auth_url, user="test:tester", key="testing")
        conn.put_container("private")
        conn.put_object("private", "table.csv", b"a,b\n1,2\n")
        monkeypatch.setenv("ST_AUTH", server.auth_url)
        monkeypatch.setenv("ST_USER", "test:tester3")
        monkeypatch.setenv("ST_KEY", "testing3")
        for target in ("swift://private", "swift://private/table.csv"):
            result = run("ls", target)
            assert result.exit_code != 0
            assert "403" in result.output and "swift post -r" in result.output, result.output
    finally:
        server.stop()

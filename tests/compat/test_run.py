"""``sciswift run`` and ``python -m sciswift.run`` from the outside: programs and
every Python they start are routed; the command line's errors; --check."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from compat.h5run import mount_point

SCISWIFT = [sys.executable, "-m", "sciswift.cli.main"]

# A plain h5py program that writes through its children: multiprocessing workers
# (start method from argv), then a `python -c` subprocess that reads back.
CHILDREN = textwrap.dedent('''
    import multiprocessing, subprocess, sys
    import h5py
    import numpy as np

    def work(args):
        path, i = args
        with h5py.File(path, "r+") as f:
            f["x"][i * 10 + 3:(i + 1) * 10 + 3] = np.full(10, i + 1, "i4")
            # which side opened it: routed files are h5py.File facades whose driver is "sciswift"
            return "sciswift" if f.driver == "sciswift" else "h5py"

    if __name__ == "__main__":
        path, method = sys.argv[1], sys.argv[2]
        with h5py.File(path, "w") as f:
            f.create_dataset("x", shape=(50,), dtype="i4", chunks=(7,))
        with multiprocessing.get_context(method).Pool(2) as pool:
            print("workers:", sorted(set(pool.map(work, [(path, i) for i in range(4)]))))
        with h5py.File(path, "r") as f:
            print("data:", f["x"][()].tolist())
        code = (f"import h5py; f = h5py.File({path!r}); "
                "print('sciswift' if f.driver == 'sciswift' else 'h5py', f['x'][5])")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        print("subprocess:", out.stdout.strip())
''')
EXPECTED_DATA = [0, 0, 0] + [1] * 10 + [2] * 10 + [3] * 10 + [4] * 10 + [0] * 7


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SCISWIFT_MOUNTS"}
    env.update(kw.pop("env", {}))  # type: ignore[arg-type]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env,  # type: ignore[call-overload]
                          stdin=subprocess.DEVNULL, **kw)


@pytest.fixture
def children_program(tmp_path: Path) -> Path:
    prog = tmp_path / "children.py"
    prog.write_text(CHILDREN)
    return prog


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_sciswift_run_routes_every_child(method: str, children_program: Path, tmp_path: Path) -> None:
    point = mount_point()
    proc = _run([*SCISWIFT, "run", "--mount", f"{point}={tmp_path / 'store'}", "--",
                 "python", str(children_program), f"{point}/kids.h5", method])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "workers: ['sciswift']", f"data: {EXPECTED_DATA}", "subprocess: sciswift 1",
    ]
    assert (tmp_path / "store" / "kids.h5").is_dir()


def test_python_m_sciswift_run_with_the_environment(children_program: Path, tmp_path: Path) -> None:
    point = mount_point()
    proc = _run([sys.executable, "-m", "sciswift.run", str(children_program), f"{point}/k.h5", "spawn"],
                env={"SCISWIFT_MOUNTS": f"{point}={tmp_path / 'store'}"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "subprocess: sciswift 1"


def test_python_m_sciswift_run_module_and_code_forms(tmp_path: Path) -> None:
    point = mount_point()
    (tmp_path / "writer_mod.py").write_text(
        "import sys, h5py\nwith h5py.File(sys.argv[1], 'w') as f:\n    f['v'] = [7, 8]\nprint(sys.argv[0])\n")
    base = [sys.executable, "-m", "sciswift.run", "--mount", f"{point}={tmp_path / 'store'}"]
    made = _run([*base, "-m", "writer_mod", f"{point}/m.h5"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().endswith("writer_mod.py")
    read = _run([*base, "-c", "import sys, h5py; print(h5py.File(sys.argv[1])['v'][()].tolist())", f"{point}/m.h5"])
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "[7, 8]"
    assert not os.path.exists(point)


def test_program_mixes_local_and_store_files(tmp_path: Path) -> None:
    point = mount_point()
    prog = tmp_path / "mix.py"
    prog.write_text(textwrap.dedent('''
        import sys, h5py, numpy as np
        local, stored = sys.argv[1], sys.argv[2]
        with h5py.File(local, "w") as f:
            f["data"] = np.arange(6.0).reshape(2, 3)
            f["data"].attrs["units"] = "m"
        with h5py.File(local, "r") as src, h5py.File(stored, "w") as dst:
            dst.create_dataset("copy", data=src["data"][()])
            dst["copy"].attrs.update(src["data"].attrs)
            print(*("sciswift" if x.driver == "sciswift" else "h5py" for x in (src, dst)))
            print(type(src) is type(dst) is h5py.File)
            print(all(isinstance(x, h5py.Dataset) for x in (src["data"], dst["copy"])))
        with h5py.File(stored, "r") as f:
            print(f["copy"][()].sum(), f["copy"].attrs["units"])
    '''))
    proc = _run([*SCISWIFT, "run", "--mount", f"{point}={tmp_path / 'store'}", "--",
                 "python", str(prog), str(tmp_path / "local.h5"), f"{point}/stored.h5"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["h5py sciswift", "True", "True", "15.0 m"]


def test_existing_sitecustomize_still_runs(tmp_path: Path) -> None:
    theirs = tmp_path / "site"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import os\nos.environ['SITE_WAS_HERE'] = 'yes'\n")
    point = mount_point()
    # h5py.File is h5py's own class under the router (exact types); the router
    # shows in where a mounted path goes
    code = (f"import os, h5py; f = h5py.File('{point}/x.h5', 'w'); "
            "print(os.environ.get('SITE_WAS_HERE'), f.driver)")
    proc = _run([*SCISWIFT, "run", "--mount", f"{point}=memory://c", "--", "python", "-c", code],
                env={"PYTHONPATH": str(theirs)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["yes", "sciswift"]


def test_check_reports_every_mount(tmp_path: Path) -> None:
    good = _run([*SCISWIFT, "run", "--check", "--mount", f"/a={tmp_path / 's'}", "--mount", "/b=memory://c"])
    assert good.returncode == 0, good.stderr
    lines = good.stderr.splitlines()
    assert any(line.startswith("sciswift run: ok   /a -> file://") and "LocalStore reachable" in line
               for line in lines)
    assert any("/b -> memory://c" in line and "private to each process" in line for line in lines)


def test_check_fails_on_an_unreachable_store_before_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    proc = _run([*SCISWIFT, "run", "--check", "--mount", "/s=swift://wind/run1", "--",
                 "python", "-c", f"open({str(marker)!r}, 'w')"],
                env={"ST_AUTH": "http://127.0.0.1:9/auth/v1.0", "ST_USER": "a:b", "ST_KEY": "k"})
    assert proc.returncode == 1
    assert "FAIL /s -> swift://wind/run1: StoreUnavailable" in proc.stderr and "127.0.0.1:9" in proc.stderr
    assert not marker.exists()


def test_first_use_error_names_the_mount() -> None:
    code = "import h5py; h5py.File('/s/run/p.h5', 'r')"
    proc = _run([*SCISWIFT, "run", "--mount", "/s=swift://wind/run1", "--", "python", "-c", code],
                env={"ST_AUTH": "http://127.0.0.1:9/auth/v1.0", "ST_USER": "a:b", "ST_KEY": "k"})
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("sciswift.compat.router.MountError: sciswift: mount /s=swift://wind/run1 cannot open "
                           "'/s/run/p.h5' as swift://wind/run1/run/p.h5: StoreUnavailable")


@pytest.mark.parametrize("argv, code, words", [
    (["run", "--mount", "nonsense", "--", "true"], 2, "is not of the form"),
    (["run", "--mount", "/a=memory://c"], 2, "no command given"),
    (["run", "--", "no-such-command-xyz"], 127, "command not found: no-such-command-xyz"),
])
def test_command_line_errors(argv: list[str], code: int, words: str) -> None:
    proc = _run([*SCISWIFT, *argv])
    assert proc.returncode == code
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exit_status_is_the_programs() -> None:
    proc = _run([*SCISWIFT, "run", "--mount", "/a=memory://c", "--", "python", "-c", "raise SystemExit(7)"])
    assert proc.returncode == 7


def test_malformed_environment_fails_at_import_naming_the_entry() -> None:
    proc = _run([sys.executable, "-c", "import h5py"],
                env={"SCISWIFT_MOUNTS": "/ok=memory://c;broken", "PYTHONPATH": _site_dir()})
    assert proc.returncode == 1
    assert "mount 'broken' is not of the form" in proc.stderr


def _site_dir() -> str:
    from sciswift.compat.hook import SITE_DIR

    return str(SITE_DIR)


def test_without_a_real_h5py_mounted_paths_still_open(tmp_path: Path) -> None:
    point = mount_point()
    code = textwrap.dedent(f'''
        import sys
        import sciswift.h5py, sciswift.compat.hook as hook
        from sciswift.compat import MountTable
        with sciswift.h5py.File("memory://warm/x.h5", "w") as warm:  # the modules it needs, imported
            warm["x"] = [1, 2]
        sys.modules.pop("h5py", None)
        hook.install(MountTable.parse("{point}=memory://c"))
        sys.meta_path[:] = [f for f in sys.meta_path if isinstance(f, hook.H5pyFinder)]
        import h5py
        from h5py._hl.dataset import Dataset  # h5py's private paths, as programs import them
        from h5py.filters import Gzip
        with h5py.File("{point}/a.h5", "w") as f:
            f.create_dataset("x", data=[1, 2], compression=Gzip(5))
            print(type(f).__module__, isinstance(f["x"], Dataset), f["x"].compression_opts)
        try:
            h5py.File("{tmp_path}/local.h5", "w")
        except OSError as e:
            print("refused:", "real h5py is not installed" in str(e))
    ''')
    proc = _run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["sciswift.h5.files True 5", "refused: True"]
    assert not (tmp_path / "local.h5").exists()

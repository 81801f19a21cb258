"""Runs mutants in a child process, so that a hang inside a library's C code (no
signal reaches Python code then) or a crash (a segfault, an abort from an
uncaught C++ exception) is one failed mutant, reported, rather than the end of
the test run. The child is forked (it inherits the seeds) and replaced after a
hang or crash; a mutant it does not answer within the limit is killed."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from dataclasses import dataclass
from typing import Any

from fuzz_mutate import mutate, mutate_native
from fuzz_run import SIDECAR_FORMATS, Outcome, run_blob, run_native
from fuzz_seeds import corpus, native_corpus

from sciswift.store import MemoryStore

__all__ = ["Isolated", "Result"]


@dataclass
class Result:
    """A mutant's outcome, what was done to make it, and (for a bad one) the
    bytes to keep: ``{file name: bytes}``."""

    outcome: Outcome
    description: str
    blobs: dict[str, bytes]


def _one(fmt: str, index: int, master: int, container: str, limit: float) -> Result:
    store = MemoryStore.named("")
    if fmt == "native":
        nm = mutate_native(index, native_corpus(), master)
        out = run_native(store, container, nm, limit)
        return Result(out, nm.describe(), {nm.key.replace("/", "_"): nm.objects[nm.key]})
    m = mutate(fmt, index, corpus(fmt), master)
    out = run_blob(store, container, m, limit)
    return Result(out, m.describe(), {m.seed.name: m.data})


def _describe(fmt: str, index: int, master: int) -> tuple[str, dict[str, bytes]]:
    """What mutant ``index`` is, made again in this process (after its child died)."""
    if fmt == "native":
        nm = mutate_native(index, native_corpus(), master)
        return nm.describe(), {nm.key.replace("/", "_"): nm.objects[nm.key]}
    m = mutate(fmt, index, corpus(fmt), master)
    if fmt in SIDECAR_FORMATS and index % 8 == 7:
        return f"{fmt} mutant {index} of {m.seed.origin}: its index sidecar, damaged", {}
    return m.describe(), {m.seed.name: m.data}


def _serve(conn: multiprocessing.connection.Connection, fmt: str, master: int, container: str, limit: float) -> None:
    import logging
    import warnings

    logging.disable(logging.WARNING)  # damage is logged; expected here
    warnings.simplefilter("ignore")
    store = MemoryStore.named("")
    store.create_container(container)
    while True:
        index = conn.recv()
        if index is None:
            return
        result = _one(fmt, index, master, container, limit)
        if result.outcome.kind != "violation":
            result.blobs = {}
        conn.send(result)


#: Plain h5py walking a file as the fuzzer walks one: every attribute, dataset
#: properties, small slices. The oracle for hangs inside libhdf5.
_H5PY_WALK = """
import io, sys
import h5py
f = h5py.File(io.BytesIO(sys.stdin.buffer.read()), "r")
def visit(name, obj):
    try:
        dict(obj.attrs)
        if isinstance(obj, h5py.Dataset):
            obj.shape, obj.dtype, obj.chunks, obj.maxshape, obj.compression
            obj[()] if obj.size <= 4096 else obj[tuple(slice(0, 2) for _ in obj.shape)]
    except Exception:
        pass
try:
    dict(f.attrs)
    f.visititems(visit)
except Exception:
    pass
"""


def _h5py_hangs(data: bytes, limit: float) -> bool:
    """Whether real h5py, reading ``data`` in a process of its own, is still
    running after ``limit`` seconds (or crashes): the hang is libhdf5's."""
    import subprocess
    import sys

    try:
        proc = subprocess.run([sys.executable, "-c", _H5PY_WALK], input=data, capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return True
    return proc.returncode < 0


class Isolated:
    """A child process running the mutants of one format."""

    def __init__(self, fmt: str, master: int, container: str, limit: float) -> None:
        self.fmt, self.master, self.container, self.limit = fmt, master, container, limit
        self._ctx = multiprocessing.get_context("fork")
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None
        self.restarts = 0

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_serve, args=(child, self.fmt, self.master, self.container, self.limit),
                                       daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def _stop(self, kill: bool) -> None:
        if self._proc is None:
            return
        if kill:
            self._proc.kill()
        elif self._conn is not None:
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def run(self, index: int) -> Result:
        """Mutant ``index``: its outcome, or a violation saying it hung (no answer
        within twice the limit: the child's own alarm failed to stop it) or
        crashed (the child died)."""
        if self._proc is None:
            self._start()
        assert self._conn is not None
        self._conn.send(index)
        try:
            if self._conn.poll(2 * self.limit + 5):
                result: Result = self._conn.recv()
                return result
            what = f"hang: no answer after {2 * self.limit + 5:.0f} s (stuck where no signal reaches: C code)"
            self._stop(kill=True)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            code = self._proc.exitcode if self._proc is not None else None
            self._proc.join(5)
            what = f"crash: the process died (exit code {self._proc.exitcode if self._proc else code})"
            self._stop(kill=True)
        self.restarts += 1
        description, blobs = _describe(self.fmt, index, self.master)
        if what.startswith("hang") and self.fmt in ("hdf5", "netcdf4") and blobs:
            (data,) = blobs.values()
            if _h5py_hangs(data, self.limit):
                what = "libhdf5 hangs on it: plain h5py reading the same bytes does not finish either"
                return Result(Outcome("known", what, 2 * self.limit), description, blobs)
        return Result(Outcome("violation", what, 2 * self.limit), description, blobs)

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop(kill=False)

"""Running one mutant of the format fuzzer: store it, open it through
``sciswift.h5py.File`` and walk everything, under a time limit, and say how it
went.

The contract a mutant is held to:

- the only exceptions are ``CorruptData`` naming the object, and the documented
  ``NotSupported`` (a type or filter sciswift cannot present);
- every name a group lists opens with ``group[name]`` (a dangling soft link
  aside: h5py raises KeyError for those too), and every name ``attrs`` lists
  reads with ``attrs[name]``; damage found on the way is CorruptData;
- no mutant runs longer than the time limit.
"""

from __future__ import annotations

import contextlib
import signal
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fuzz_mutate import Mutant, NativeMutant, sidecar_mutation

import sciswift.h5py as h5py
from sciswift.errors import CorruptData, NotSupported
from sciswift.store import MemoryStore

__all__ = ["Outcome", "run_blob", "run_native", "MutantTimeout", "INDEX_SUFFIX"]

INDEX_SUFFIX = ".sciswift-index"
#: Formats whose plugin keeps an index sidecar beside the blob (fuzzed too).
SIDECAR_FORMATS = ("hdf5", "netcdf4", "tfrecord")
#: Objects walked per mutant, and elements read whole from one dataset.
MAX_OBJECTS = 300
SMALL = 4096


class Violation(Exception):
    """A breach of the contract found by the walk (not an error of the code under test)."""


class MutantTimeout(BaseException):
    """The time limit passed. A BaseException, so no ``except Exception`` in the
    code under test can turn it into something else."""


@dataclass
class Outcome:
    """How one mutant went: ``kind`` "ok", "CorruptData", "NotSupported" (the
    first allowed error met; the walk goes on after it) or "violation"."""

    kind: str
    detail: str = ""
    seconds: float = 0.0


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise MutantTimeout in this (main) thread after ``seconds``."""

    def alarm(_signum: int, _frame: Any) -> None:
        raise MutantTimeout(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class _Walk:
    """One walk of an open file, counting the allowed errors it met."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.first_allowed: str | None = None
        self.objects = 0

    def allowed(self, exc: BaseException, where: str) -> None:
        """Note an allowed error, or turn a wrong one into a Violation."""
        if type(exc) is OSError and isinstance(exc.__cause__, NotSupported):
            # File() says so as h5py does (OSError), with the reason as its cause.
            exc = exc.__cause__
        if isinstance(exc, CorruptData):
            text = f"{exc} {exc.subject or ''}"
            if self.name not in text:
                raise Violation(f"{where}: CorruptData does not name the object {self.name!r}: {exc}") from exc
        elif not isinstance(exc, NotSupported):
            raise exc
        if self.first_allowed is None:
            self.first_allowed = type(exc).__name__

    def step(self, where: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except (CorruptData, NotSupported) as exc:
            self.allowed(exc, where)
            return _FAILED

    def file(self, f: Any) -> None:
        groups = [("/", f)]
        while groups and self.objects < MAX_OBJECTS:
            where, g = groups.pop()
            self.attrs(g, where)
            names = self.step(f"{where}: iterating", list, g)
            if names is _FAILED:
                continue
            if len(g) != len(names):
                raise Violation(f"{where}: len() is {len(g)} but iteration lists {len(names)} names")
            for key in names:
                self.objects += 1
                path = f"{where.rstrip('/')}/{key!r}"
                # `in` may open the member (to know its kind), so meet its damage.
                if self.step(path, g.__contains__, key) is False:
                    raise Violation(f"{where}: {key!r} is listed but `in` says it is not there")
                link = self.step(path, g.get, key, None, False, True)
                if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                    continue  # not followed: external files are out of scope, dangling links are KeyError in h5py
                try:
                    obj = self.step(path, g.__getitem__, key)
                except KeyError as exc:
                    raise Violation(f"{where}: {key!r} is listed but group[{key!r}] raises KeyError: {exc}") from exc
                if obj is _FAILED:
                    continue
                if isinstance(obj, h5py.Group):
                    groups.append((path, obj))
                elif isinstance(obj, h5py.Dataset):
                    self.dataset(obj, path)
                else:
                    self.attrs(obj, path)

    def attrs(self, obj: Any, where: str) -> None:
        attrs = obj.attrs
        names = self.step(f"{where}: attribute names", list, attrs)
        if names is _FAILED:
            return
        for key in names:
            if self.step(f"{where}: attribute {key!r}", attrs.__contains__, key) is False:
                raise Violation(f"{where}: attribute {key!r} is listed but `in` says it is not there")
            try:
                self.step(f"{where}: attribute {key!r}", attrs.__getitem__, key)
            except KeyError as exc:
                raise Violation(f"{where}: attribute {key!r} is listed but attrs[{key!r}] raises KeyError: {exc}") \
                    from exc
            self.step(f"{where}: attribute {key!r} type", attrs.get_id, key)

    def dataset(self, ds: Any, where: str) -> None:
        self.attrs(ds, where)
        for prop in ("shape", "dtype", "chunks", "maxshape", "fillvalue", "compression", "size"):
            self.step(f"{where}.{prop}", getattr, ds, prop)
        shape = self.step(f"{where}.shape", getattr, ds, "shape")
        if shape is _FAILED:
            return
        if shape is None or len(shape) == 0:
            self.step(f"{where}[()]", ds.__getitem__, ())
            return
        if 0 < _size(shape) <= SMALL:
            self.step(f"{where}[()]", ds.__getitem__, ())
            return
        if all(shape):
            self.step(f"{where}[:2,...]", ds.__getitem__, tuple(slice(0, 2) for _ in shape))
            self.step(f"{where}[-1,...]", ds.__getitem__, tuple(n - 1 for n in shape))


class _Failed:
    """What a step that met an allowed error returns."""


_FAILED = _Failed()


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _open_and_walk(url: str, name: str) -> _Walk:
    walk = _Walk(name)
    try:
        f = h5py.File(url, "r")
    except (CorruptData, NotSupported, OSError) as exc:
        walk.allowed(exc, "open")
        return walk
    with f:
        walk.file(f)
    return walk


def _classify(run: Any, limit: float) -> Outcome:
    start = time.perf_counter()
    try:
        with time_limit(limit):
            walk = run()
    except Violation as exc:
        return Outcome("violation", str(exc), time.perf_counter() - start)
    except MutantTimeout as exc:
        return Outcome("violation", f"hang: {exc}\n{_where(exc)}", time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - exactly what must not happen
        return Outcome("violation", f"{type(exc).__name__}: {exc}\n{_where(exc)}", time.perf_counter() - start)
    return Outcome(walk.first_allowed or "ok", "", time.perf_counter() - start)


def _where(exc: BaseException) -> str:
    """Where the exception came from: the last frame in sciswift (where it escaped
    from a library) and the last two frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/sciswift/" in f.filename and "/tests/" not in f.filename]
    picked = ([ours[-1]] if ours and ours[-1] not in frames[-2:] else []) + frames[-2:]
    return "".join(traceback.format_list(picked)).rstrip()


def _clear(store: MemoryStore, container: str) -> None:
    for info in list(store.iter_objects(container)):
        store.delete_object(container, info.name)


def run_blob(store: MemoryStore, container: str, mutant: Mutant, limit: float) -> Outcome:
    """Store the mutant as ``container/<seed name>`` of the process-wide MemoryStore
    and open and walk it. For formats with an index sidecar, 1 mutant in 8 damages
    the sidecar of the undamaged seed instead (made by a first clean open)."""
    _clear(store, container)
    name = mutant.seed.name
    if mutant.fmt in SIDECAR_FORMATS and mutant.index >= 0 and mutant.index % 8 == 7:
        store.put_object(container, name, mutant.seed.data)
        _classify(lambda: _open_and_walk(f"memory://{container}/{name}", name), limit)
        sidecar = container, name + INDEX_SUFFIX
        if store.has_object(*sidecar):
            info = store.head_object(*sidecar)
            data, step = sidecar_mutation(mutant.describe(), store.get_object(*sidecar))
            store.put_object(*sidecar, data, metadata=dict(info.metadata))
            mutant.sidecar = True
            mutant.data = data
            mutant.steps = [step]
    else:
        store.put_object(container, name, mutant.data)
    return _classify(lambda: _open_and_walk(f"memory://{container}/{name}", name), limit)


def run_native(store: MemoryStore, container: str, mutant: NativeMutant, limit: float) -> Outcome:
    """Store the mutant's objects under ``container/<seed name>/`` and open and walk
    it as a native file."""
    _clear(store, container)
    name = mutant.seed.name
    for key, data in mutant.objects.items():
        store.put_object(container, f"{name}/{key}", data)
    return _classify(lambda: _open_and_walk(f"memory://{container}/{name}", name), limit)

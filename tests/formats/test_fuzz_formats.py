"""A seeded mutation fuzzer for every format plugin and for native files.

For each format, mutants of real files shipped in installed packages and of small
files written here (fuzz_seeds.py) are stored in a MemoryStore, opened through
``sciswift.h5py.File`` and walked whole: every group member, every attribute,
small slices of every dataset (fuzz_run.py says what is held to). Mutations are
byte flips, interesting integers, truncations, insertions, deletions and moved
blocks aimed at the metadata, plus format-aware ones (fuzz_mutate.py).

``make test`` runs ``SCISWIFT_FUZZ_MUTANTS`` mutants per format (default 150);
``make fuzz`` a long run. A failure prints, for each bad mutant, what was done to
which seed and how to run it again alone::

    SCISWIFT_FUZZ_SEED=<seed> SCISWIFT_FUZZ_ONLY=<format>:<mutant> \\
        pytest tests/formats/test_fuzz_formats.py -k <format> -p no:xdist

and keeps its bytes under ``SCISWIFT_FUZZ_SAVE`` (default: pytest's tmp dir).
"""

from __future__ import annotations

import collections
import os
import time
import warnings
from pathlib import Path

import pytest
from fuzz_mutate import Mutant, NativeMutant
from fuzz_pool import Isolated
from fuzz_run import Outcome, run_blob, run_native
from fuzz_seeds import FORMATS, corpus, native_corpus

from sciswift.store import MemoryStore

MUTANTS = int(os.environ.get("SCISWIFT_FUZZ_MUTANTS", "150"))
MASTER_SEED = int(os.environ.get("SCISWIFT_FUZZ_SEED", "20260513"))
#: Seconds one mutant may take (most take a few milliseconds).
LIMIT = float(os.environ.get("SCISWIFT_FUZZ_LIMIT", "10"))
ONLY = os.environ.get("SCISWIFT_FUZZ_ONLY", "")
#: Violations shown in a failure message (all are counted).
SHOWN = 12
def _selected(fmt: str) -> range | list[int]:
    if ONLY:
        only_fmt, _, index = ONLY.partition(":")
        if only_fmt != fmt:
            return []
        return [int(index)] if index else range(MUTANTS)
    return range(MUTANTS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutants_fail_only_cleanly(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    indices = _selected(fmt)
    if not indices:
        pytest.skip(f"SCISWIFT_FUZZ_ONLY={ONLY} selects another format")
    seeds = native_corpus() if fmt == "native" else corpus(fmt)
    assert seeds, f"no seed files for {fmt}"
    save = Path(os.environ.get("SCISWIFT_FUZZ_SAVE", str(tmp_path)))
    counts: collections.Counter[str] = collections.Counter()
    bad: list[str] = []
    known: list[str] = []
    slowest = (0.0, "")
    start = time.perf_counter()
    with Isolated(fmt, MASTER_SEED, f"fuzz-{fmt}", LIMIT) as runner:
        for i in indices:
            result = runner.run(i)
            out = result.outcome
            counts[out.kind] += 1
            if out.kind == "known":  # a defect of the library underneath, shown not failed
                known.append(f"{fmt}:{i} ({result.description}): {out.detail}")
            if out.seconds > slowest[0]:
                slowest = (out.seconds, result.description)
            if out.kind == "violation":
                for key, data in result.blobs.items():
                    (save / f"{fmt}-{i}-{key}").write_bytes(data)
                bad.append(f"SCISWIFT_FUZZ_SEED={MASTER_SEED} SCISWIFT_FUZZ_ONLY={fmt}:{i}\n"
                           f"  {result.description}\n  -> {out.detail}".replace("\n", "\n  "))
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nfuzz {fmt}: {len(indices)} mutants of {len(seeds)} seeds in {elapsed:.1f} s "
              f"({dict(sorted(counts.items()))}); slowest {slowest[0]:.2f} s: {slowest[1][:160]}")
        for line in known:
            print(f"  known: {line}")
    assert not bad, (f"{len(bad)} of {len(indices)} {fmt} mutants broke the contract (bytes kept in {save}):\n"
                     + "\n".join(bad[:SHOWN]))


@pytest.mark.parametrize("fmt", FORMATS)
def test_seeds_read_cleanly(fmt: str) -> None:
    """The seeds themselves open and walk without any error (a sciswift error on
    an intact file would hide what the mutants do), NotSupported aside for the
    shipped files that hold what sciswift documents it cannot show."""
    store = MemoryStore.named("")
    container = f"fuzz-seeds-{fmt}"
    store.create_container(container)
    outcomes: dict[str, Outcome] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt == "native":
                for nseed in native_corpus():
                    nm = NativeMutant(fmt, -1, nseed, dict(nseed.objects), "zarr.json", [])
                    outcomes[nseed.origin] = run_native(store, container, nm, LIMIT)
            else:
                for seed in corpus(fmt):
                    outcomes[seed.origin] = run_blob(store, container, Mutant(fmt, -1, seed, seed.data, []), LIMIT)
    finally:
        for info in list(store.iter_objects(container)):
            store.delete_object(container, info.name)
        store.delete_container(container)
    bad = {origin: (o.kind, o.detail) for origin, o in outcomes.items()
           if o.kind != "ok" and not (o.kind == "NotSupported" and any(k in origin for k in NOT_SUPPORTED))}
    assert not bad


#: Shipped seeds holding what sciswift documents it cannot present (docs/formats.md).
NOT_SUPPORTED = {
    "objarr": "pickled Python objects (.npy/.npz)",
    "time-table-vlarray": "an HDF5 H5T_TIME dataset",
    "tables/tests/float.h5": "128-bit IEEE floats",
}

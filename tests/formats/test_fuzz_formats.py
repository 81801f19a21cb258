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
import logging
import os
import time
import warnings
from pathlib import Path

import pytest
from fuzz_mutate import mutate, mutate_native
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
    store = MemoryStore.named("")
    container = f"fuzz-{fmt}"
    store.create_container(container)
    save = Path(os.environ.get("SCISWIFT_FUZZ_SAVE", str(tmp_path)))
    counts: collections.Counter[str] = collections.Counter()
    bad: list[str] = []
    slowest = (0.0, "")
    start = time.perf_counter()
    seeds = native_corpus() if fmt == "native" else corpus(fmt)
    assert seeds, f"no seed files for {fmt}"
    # Damage is logged (chunk index not built, attributes left out...): expected here.
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in indices:
                if fmt == "native":
                    nm = mutate_native(i, native_corpus(), MASTER_SEED)
                    out: Outcome = run_native(store, container, nm, LIMIT)
                    description, blobs = nm.describe(), {nm.key.replace("/", "_"): nm.objects[nm.key]}
                else:
                    m = mutate(fmt, i, seeds, MASTER_SEED)
                    out = run_blob(store, container, m, LIMIT)
                    description, blobs = m.describe(), {m.seed.name: m.data}
                counts[out.kind] += 1
                if out.seconds > slowest[0]:
                    slowest = (out.seconds, description)
                if out.kind == "violation":
                    for key, data in blobs.items():
                        (save / f"{fmt}-{i}-{key}").write_bytes(data)
                    bad.append(f"SCISWIFT_FUZZ_SEED={MASTER_SEED} SCISWIFT_FUZZ_ONLY={fmt}:{i}\n"
                               f"  {description}\n  -> {out.detail}".replace("\n", "\n  "))
    finally:
        logging.disable(logging.NOTSET)
        for info in list(store.iter_objects(container)):
            store.delete_object(container, info.name)
        store.delete_container(container)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nfuzz {fmt}: {len(indices)} mutants of {len(seeds)} seeds in {elapsed:.1f} s "
              f"({dict(sorted(counts.items()))}); slowest {slowest[0]:.2f} s: {slowest[1][:160]}")
    assert not bad, (f"{len(bad)} of {len(indices)} {fmt} mutants broke the contract (bytes kept in {save}):\n"
                     + "\n".join(bad[:SHOWN]))

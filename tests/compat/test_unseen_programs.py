"""h5py programs written without looking at sciswift's implementation (scientists'
styles: loggers, catalogs, references, scales, copies, errors ...), each run as
``python prog.py DIR/data.h5 LOCALDIR`` with plain h5py on a local file and,
unmodified, through ``sciswift run --mount DIR=URL``: the printed digests must be
identical. Programs that show a documented limitation are strict xfails."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat.h5run import PROGRAMS, Way, assert_same, h5py_way, localstore_way, serve_way

PROGRAM_NAMES = (
    "sensor_logger", "particle_records", "string_catalog", "enum_states", "object_refs",
    "experiment_meta", "tree_survey", "reorganize_groups", "link_farm", "modes_lifecycle",
    "selection_tricks", "dimension_scales", "file_options", "compressed_chunks", "object_reprs",
    "local_and_store", "scalar_and_types", "write_errors", "same_file_twice", "getclass_identity",
    "datetime_refused", "natural_order", "numpy_interop", "parallel_readers", "ragged_tracks", "swmr_writer",
    "unicode_arrays", "virtual_stack", "attr_edits", "copy_variants", "fill_and_iterate",
    "filters_and_meta", "quickstart_tour",
    # the second sweep: library and documentation styles (Keras weight files, astropy
    # tables, SWMR-style logs, in-memory staging, growing virtual stacks ...)
    "keras_weights", "table_append", "nested_compound", "string_encodings", "refs_everywhere", "link_kinds",
    "catalog_copy", "direct_io", "orders_versions", "bytesio_bridge", "astropy_table", "mapping_api", "growing_vds",
    "ragged_catalog",
)

#: Also run against ``sciswift serve`` (swift://): a few, to keep the suite short.
ON_SERVE = ("sensor_logger", "object_refs", "reorganize_groups", "link_farm", "local_and_store", "ragged_tracks",
            "parallel_readers", "virtual_stack", "keras_weights", "refs_everywhere", "orders_versions", "growing_vds",
            "astropy_table")

#: Program -> why it differs (docs/compat.md, "What does not work through the router").
LIMITS = {
    "datetime_refused": "sciswift stores numpy datetime64/timedelta64 data (docs/layout.md), which h5py refuses "
                        "with TypeError",
}


def _digest(way: Way, program: str, tmp_path: Path) -> str:
    proc = way.run([str(PROGRAMS / f"{program}.py"), way.path("data.h5"), str(tmp_path / f"local-{way.name}")])
    return way.normalise(proc.stdout)


def _param(program: str) -> object:
    if program in LIMITS:
        return pytest.param(program, marks=pytest.mark.xfail(strict=True, reason=LIMITS[program]))
    return program


def _compare(way: Way, program: str, tmp_path: Path) -> None:
    reference = _digest(h5py_way(tmp_path), program, tmp_path)
    assert reference.strip(), f"{program} printed nothing"
    assert_same(reference.splitlines(), _digest(way, program, tmp_path).splitlines(), f"{program}: printed digest")


@pytest.mark.parametrize("program", [_param(p) for p in PROGRAM_NAMES])
def test_unseen_program_on_localstore(program: str, tmp_path: Path) -> None:
    _compare(localstore_way(tmp_path), program, tmp_path)


@pytest.mark.parametrize("program", ON_SERVE)
def test_unseen_program_on_serve(program: str, tmp_path: Path, sciswift_server: object) -> None:
    _compare(serve_way(sciswift_server), program, tmp_path)

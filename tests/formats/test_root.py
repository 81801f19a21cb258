"""ROOT: every file of scikit-hep-testdata 0.3.12, compared with uproot reading the
same local file."""

from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np
import pytest
import skhep_testdata
import uproot
from fmt_helpers import CONTAINER, assert_same_array, read, upload

from sciswift.errors import CorruptData
from sciswift.formats.base import GroupNode
from sciswift.formats.nodes import vlen_base
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

DATA_DIR = os.path.dirname(skhep_testdata.data_path("uproot-HZZ.root"))
ROOT_FILES = sorted(glob.glob(os.path.join(DATA_DIR, "*.root")))
# Bigger files hold the same kinds of trees as the small ones: test their structure
# and a slice in the fast suite, their every value under -m slow.
SMALL = 512 << 10


def expected(branch: Any, node: Any) -> np.ndarray[Any, Any]:
    arr = branch.array(library="np")
    base = vlen_base(node.dtype)
    if base is None:
        return np.ascontiguousarray(arr, dtype=node.dtype)
    out = np.empty(len(arr), dtype=node.dtype)
    out[:] = [str(s) for s in arr] if base is str else [np.asarray(a, dtype=base) for a in arr]
    return out


def lookup(uobj: Any, key: str) -> Any:
    """uproot's object for a member name, ``name_2`` being the second branch called
    ``name`` (the mapping's rule for repeated branch names)."""
    if not hasattr(uobj, "branches") or hasattr(uobj, "classnames"):
        return uobj[key]
    exact = [b for b in uobj.branches if b.name.replace("/", "_") == key]
    if exact:
        return exact[0]
    base, _, nth = key.rpartition("_")
    same = [b for b in uobj.branches if b.name.replace("/", "_") == base]
    assert nth.isdigit() and int(nth) >= 2 and len(same) >= int(nth), key
    return same[int(nth) - 1]


def compare(group: GroupNode, uobj: Any, where: str, full: bool, counts: dict[str, int]) -> None:
    for key in group.keys():
        node = group[key]
        child = lookup(uobj, key)
        path = f"{where}/{key}"
        if isinstance(node, GroupNode):
            if hasattr(child, "values") and hasattr(child, "axes"):  # a histogram
                assert_same_array(read(node["values"]), np.asarray(child.values(flow=False)), path)
                assert_same_array(read(node["x_edges"]), np.asarray(child.axis(0).edges(flow=False)), path)
                counts["histograms"] += 1
            else:
                compare(node, child, path, full, counts)
            continue
        if isinstance(child, uproot.behaviors.TBranch.TBranch):
            assert node.shape[0] == child.num_entries, path
            if full:
                got = read(node)  # first: on a branch uproot cannot read, CorruptData
                try:
                    want = expected(child, node)
                except ValueError:
                    # uproot cannot read this branch of the local file either (broken
                    # test files of uproot's bug reports): nothing to compare with.
                    counts["unreadable"] = counts.get("unreadable", 0) + 1
                    continue
                assert_same_array(got, want, path)
            else:
                n = min(node.shape[0], 5)
                sel = (slice(0, n, 1),) + tuple(slice(0, m, 1) for m in node.shape[1:])
                got = node.read(sel)
                assert len(got) == n
            counts["branches"] += 1
        else:
            value = read(node)[()]
            want = child.member("fVal") if hasattr(child, "member") and node.attrs["class"].startswith("TParameter") \
                else str(child)
            assert value == want, path
            counts["objects"] += 1


def _uproot_reads(path: str) -> bool:
    """Whether uproot itself reads every branch the mapping presents."""
    from sciswift.formats.root import branch_dtype

    try:
        with uproot.open(path) as f:
            for key, cls in f.classnames(cycle=False).items():
                if cls in ("TTree", "TNtuple"):
                    for b in f[key].itervalues(recursive=True):
                        if not b.branches and branch_dtype(b) is not None:
                            b.array(library="np")
    except Exception:
        return False
    return True


def check(store: Store, path: str) -> dict[str, int]:
    name = upload(store, path)
    full = os.path.getsize(path) <= SMALL
    counts = {"branches": 0, "histograms": 0, "objects": 0}
    with open_object(store, CONTAINER, name) as root, uproot.open(path) as f:
        compare(root, f, name, full, counts)
    return counts


@pytest.mark.parametrize("path", ROOT_FILES, ids=os.path.basename)
def test_matches_uproot(store: MemoryStore, path: str) -> None:
    try:
        counts = check(store, path)
    except CorruptData as err:
        # Only where uproot itself cannot read the file's branches.
        assert "ROOT" in str(err) and not _uproot_reads(path), err
        return
    assert all(v >= 0 for v in counts.values())


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in ROOT_FILES if os.path.getsize(p) > SMALL], ids=os.path.basename)
def test_big_files_every_value(store: MemoryStore, path: str) -> None:
    """Every value of the bigger files (the fast suite checks their structure and a
    slice of every branch)."""
    name = upload(store, path)
    counts = {"branches": 0, "histograms": 0, "objects": 0}
    try:
        with open_object(store, CONTAINER, name) as root, uproot.open(path) as f:
            compare(root, f, name, True, counts)
    except CorruptData:
        assert not _uproot_reads(path)


def test_hzz_content(store: MemoryStore, local_store: Store) -> None:
    path = skhep_testdata.data_path("uproot-HZZ.root")
    for s in (store, local_store):
        name = upload(s, path)
        with open_object(s, CONTAINER, name) as root:
            events = root["events"]
            assert events.attrs["num_entries"] == 2421 and events.attrs["class"] == "TTree"
            px = events["Muon_Px"]
            assert px.dtype.metadata == {"vlen": np.dtype("float32")} and px.shape == (2421,)
            assert events["NMuon"].dtype == np.int32
            part = px.read((slice(10, 20, 1),))
            want = uproot.open(path)["events"]["Muon_Px"].array(library="np", entry_start=10, entry_stop=20)
            for g, w in zip(part, want, strict=True):
                np.testing.assert_array_equal(g, w)


def test_histograms(store: MemoryStore) -> None:
    path = skhep_testdata.data_path("uproot-hepdata-example.root")
    upload(store, path)
    with open_object(store, CONTAINER, os.path.basename(path)) as root:
        assert set(root.keys()) >= {"hpx", "hpxpy", "hprof", "ntuple"}
        hpx = root["hpx"]
        assert hpx.attrs["class"] == "TH1F" and read(hpx["values"]).shape == (100,)
        assert read(hpx["x_edges"]).shape == (101,)
        assert read(root["hpxpy"]["values"]).shape == (40, 40) and "y_edges" in root["hpxpy"].keys()


@pytest.mark.parametrize("cut", [3, 500, 0.5])
def test_truncated_is_corrupt(store: MemoryStore, cut: float) -> None:
    with open(skhep_testdata.data_path("uproot-HZZ.root"), "rb") as f:
        data = f.read()
    store.put_object(CONTAINER, "cut.root", data[: int(cut if cut >= 1 else len(data) * cut)])
    with pytest.raises(CorruptData, match=r"data/cut\.root.*ROOT"), open_object(store, CONTAINER, "cut.root") as root:
        read(root["events"]["Muon_Px"])


@pytest.mark.parametrize("sample", ["uproot-issue38a.root", "uproot-issue38b.root", "uproot-issue126a.root"])
def test_jagged_branches_export_to_hdf5(tmp_path: Any, sample: str) -> None:
    """Jagged branches whose entries all have the same length (also all empty)
    export to HDF5 as vlen datasets holding uproot's values: h5py's slice
    assignment turned such a block into one 2-D array and failed "Can't broadcast
    (n, m) -> (n,)"."""
    import h5py

    from sciswift.convert import export_file

    path = skhep_testdata.data_path(sample)
    out = tmp_path / "out.h5"
    export_file(path, str(out))
    checked = 0
    with h5py.File(out) as f, uproot.open(path) as u:
        def visit(name: str, obj: Any) -> None:
            nonlocal checked
            base = h5py.check_vlen_dtype(obj.dtype) if isinstance(obj, h5py.Dataset) else None
            if not isinstance(base, np.dtype):
                return
            branch = u
            for part in name.split("/"):
                branch = lookup(branch, part)
            want = branch.array(library="np")
            got = obj[()]
            assert len(got) == len(want), name
            for g, w in zip(got, want, strict=True):
                assert g.ndim == 1 and np.array_equal(g, np.asarray(w, dtype=g.dtype)), name
            checked += 1
        f.visititems(visit)
    assert checked >= 2

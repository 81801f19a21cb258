"""Differences from h5py found by running unseen h5py programs through the router
(tests/compat/test_unseen_programs.py); each case compares with the real h5py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Both = Callable[..., tuple[Any, Any]]

# Given neither sorted by name nor by value: HDF5 reports members sorted by name,
# byte-wise ("B" < "Beta" < "_x" < "alpha").
MEMBERS = {"zeta": 1, "Beta": 2, "alpha": 3, "_x": 0, "B": 9}


def test_enum_members_in_hdf5_order(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[Any]:
        dt = h5py.enum_dtype(MEMBERS, basetype="i4")
        seen = []
        with h5py.File(path, "w") as f:
            seen.append(list(h5py.check_enum_dtype(f.create_dataset("d", data=[1], dtype=dt).dtype).items()))
            f.attrs.create("a", 2, dtype=dt)
            f["T"] = dt
            cdt = np.dtype([("e", dt), ("n", "<i2")])
            seen.append(list(h5py.check_enum_dtype(f.create_dataset("c", shape=(1,), dtype=cdt).dtype["e"])))
        with h5py.File(path, "r") as f:
            seen.append(list(h5py.check_enum_dtype(f["d"].dtype).items()))
            seen.append(list(h5py.check_enum_dtype(f.attrs.get_id("a").dtype).items()))
            seen.append(list(h5py.check_enum_dtype(f["T"].dtype).items()))
            seen.append(list(h5py.check_enum_dtype(f["c"].dtype["e"])))
        return seen

    real, ours = both(run)
    assert real[0] == sorted(MEMBERS.items(), key=lambda kv: kv[0].encode())  # the premise
    assert ours == real


def test_dataset_made_with_real_h5py_ref_dtype_takes_our_references(ss_name: Callable[[str], str]) -> None:
    # Under the router a program's h5py.ref_dtype is the real h5py's (its class is
    # h5py.h5r.Reference) while obj.ref gives sciswift references.
    import h5py as real_h5py

    import sciswift.h5py as sh5

    with sh5.File(ss_name("refs.h5"), "w") as f:
        target = f.create_dataset("t", data=[1, 2, 3])
        index = f.create_dataset("index", shape=(2,), dtype=real_h5py.ref_dtype)
        index[0] = target.ref
        rois = f.create_dataset("rois", shape=(1,), dtype=real_h5py.regionref_dtype)
        rois[0] = target.regionref[1:]
        assert sh5.check_ref_dtype(index.dtype) is sh5.Reference
        assert f[index[0]].name == "/t"
    with sh5.File(ss_name("refs.h5"), "r") as f:
        assert f[f["index"][0]].name == "/t"
        assert not f["index"][1]
        assert f["t"][f["rois"][0]].tolist() == [2, 3]


REGIONS = {
    "slices": np.s_[1:3, 2:5], "int+step": np.s_[::4, 7], "row": np.s_[5, :], "point": np.s_[2, 3],
    "list": np.s_[[0, 2, 5], 1], "empty": np.s_[2:2, :], "mask": np.arange(64).reshape(8, 8) % 9 == 0,
}


def test_region_reference_reads_keep_every_axis(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[Any]:
        with h5py.File(path, "w") as f:
            img = f.create_dataset("image", data=np.arange(64, dtype="u2").reshape(8, 8))
            out = []
            for idx in REGIONS.values():
                ref = img.regionref[idx]
                out.append((img[ref].shape, img[ref].ravel().tolist(), img.regionref.selection(ref)))
            return out

    real, ours = both(run)
    assert real[1][0] == (2, 1)  # the premise: an integer index stays as an axis of 1
    assert ours == real


def test_copy_onto_an_existing_name_is_a_runtime_error(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[str]:
        out = []
        with h5py.File(path, "w") as f:
            f["raw/a"] = [1, 2]
            f.create_group("processed")
            f["processed/a"] = [0]
            f["processed/link"] = h5py.SoftLink("/nowhere")
            for dest, name in (("processed", None), (f["processed"], None), (f["processed"], "link")):
                try:
                    f.copy("raw/a", dest, name=name)
                except Exception as e:  # noqa: BLE001 - the class is the result
                    out.append(type(e).__name__)
            out.append(str(f["processed/a"][...].tolist()))
        return out

    real, ours = both(run)
    assert real == ["RuntimeError", "RuntimeError", "RuntimeError", "[0]"]
    assert ours == real


def test_compound_writes_match_fields_by_name(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[Any]:
        out: list[Any] = []
        with h5py.File(path, "w") as f:
            c = f.create_dataset("c", data=np.array([(1, 1.5), (2, 2.5)], dtype=[("a", "i4"), ("b", "f4")]))
            c[0] = np.array((9,), dtype=[("a", "i4")])  # b keeps its value
            out.append(c[...].tolist())
            c[:] = np.array([(5, 7.0), (6, 8.0)], dtype=[("a", "i4"), ("z", "f4")])  # z is ignored
            out.append(c[...].tolist())
            c[:] = np.array([(3.5, 7)], dtype=[("b", "f8"), ("q", "i2")])  # broadcast, converted
            out.append(c[...].tolist())
            try:
                c[1] = np.array((1, 2.0), dtype=[("x", "i4"), ("y", "f4")])
            except Exception as e:  # noqa: BLE001 - the class is the result
                out.append(type(e).__name__)
            out.append(c[...].tolist())
        return out

    real, ours = both(run)
    assert real[0] == [(9, 1.5), (2, 2.5)] and real[3] == "ValueError"  # the premise
    assert ours == real


def test_exception_classes_of_bad_writes(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[str]:
        out = []
        with h5py.File(path, "w") as f:
            d = f.create_dataset("d", shape=(2, 3), dtype="i4")
            f["lnk"] = h5py.SoftLink("/d")
            attempts = [
                lambda: d.__setitem__(0, "abc"),
                lambda: d.__setitem__(0, {"a": 1}),
                lambda: f.create_dataset("d/inner", data=[1]),
                lambda: f.create_dataset("lnk/inner", shape=(1,), dtype="i2"),
                lambda: f.create_dataset("d/x/y", data=[1]),
                lambda: f.require_dataset("d/inner", shape=(1,), dtype="i8"),
                lambda: f.__setitem__("d/inner", [1]),
                lambda: f.__setitem__("d/sl", h5py.SoftLink("/")),
                lambda: f.create_group("d/inner"),
            ]
            for fn in attempts:
                try:
                    fn()
                    out.append("accepted")
                except Exception as e:  # noqa: BLE001 - the class is the result
                    out.append(type(e).__name__)
            out.append(str(sorted(f)))
        return out

    real, ours = both(run)
    assert real[:3] == ["ValueError", "TypeError", "TypeError"]  # the premise
    assert ours == real


def test_closing_one_opening_of_a_file_leaves_the_others_open(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[Any]:
        import gc

        out: list[Any] = []
        with h5py.File(path, "w") as f:
            f["x"] = [1, 2, 3]
        outer = h5py.File(path, "r+")
        kept = outer["x"]
        with h5py.File(path, "r") as inner:  # a helper peeking at the caller's file
            through_inner = inner["x"]
            out.append(int(inner["x"][0]))
        out += [bool(outer), bool(kept), bool(through_inner), kept[...].tolist()]
        dropped = h5py.File(path, "r")
        del dropped
        gc.collect()
        outer["y"] = [4.5]
        out.append(sorted(outer))
        outer.close()
        out.append(bool(kept))
        with h5py.File(path, "r") as again:  # what the last close wrote
            out.append(again["y"][...].tolist())
        return out

    real, ours = both(run)
    assert real == [1, True, True, False, [1, 2, 3], ["x", "y"], False, [4.5]]  # the premise
    assert ours == real


def test_vlen_elements_written_one_at_a_time_across_reopens(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[Any]:
        with h5py.File(path, "w") as f:
            hits = f.create_dataset("hits", shape=(0,), maxshape=(None,), chunks=(4,),
                                    dtype=h5py.vlen_dtype(np.float32))
            for i in range(3):
                hits.resize((i + 1,))
                hits[i] = np.arange(i + 1, dtype="f4") / 4
        with h5py.File(path, "r+") as f:
            f["hits"][1] = np.array([9.5], dtype="f4")
        with h5py.File(path, "r") as f:
            return [x.tolist() for x in f["hits"][...]]

    real, ours = both(run)
    assert real == [[0.0], [9.5], [0.0, 0.25, 0.5]]  # the premise
    assert ours == real



def test_visit_skips_links_back_to_the_group_visited_from(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[Any]:
        with h5py.File(path, "w") as f:
            g = f.create_group("g")
            g["d"] = [1]
            g.create_group("sub")["up"] = g
            f["top_alias"] = f["g/sub"]
            seen_g: list[str] = []
            g.visit(seen_g.append)
            seen_f: list[str] = []
            f.visit(seen_f.append)
            return [seen_g, seen_f]

    real, ours = both(run)
    assert real[0] == ["d", "sub"]  # the premise
    assert ours == real


def test_copy_keeps_shared_objects_shared(both: Both) -> None:
    def run(h5py: Any, path: str) -> list[Any]:
        with h5py.File(path, "w") as f:
            src = f.create_group("src")
            src["values"] = np.arange(3)
            src["twin"] = src["values"]                 # a hard link
            src["alias"] = h5py.SoftLink("/src/values")  # expanded below
            src.create_group("sub")
            src["sub/up"] = src                          # a link back up the tree
            f.copy("src", "plain")
            f.copy("src", "expanded", expand_soft=True)
            out: list[Any] = []
            for name in ("plain", "expanded"):
                g = f[name]
                seen: list[str] = []
                g.visit(seen.append)
                out.append((name, seen, g["values"] == g["twin"], g["sub/up"] == g,
                            type(g.get("alias", getlink=True)).__name__, g["alias"] == g["values"]))
            return out

    real, ours = both(run)
    assert real[1][5] is True  # the premise: the expanded soft link is the copied object
    assert ours == real

"""Files, groups, links and attributes: the same operations through real h5py and
sciswift.h5py give the same results and raise the same exception types."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as ss_h5py


def _exc(fn: Any) -> Any:
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e).__name__


def test_modes(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        out = [_exc(lambda: mod.File(path, "r")), _exc(lambda: mod.File(path, "r+")),
               _exc(lambda: mod.File(path, "q"))]
        with mod.File(path, "w-") as f:
            f.create_group("g")
            out.append(f.mode)
        out.append(_exc(lambda: mod.File(path, "w-")))
        out.append(_exc(lambda: mod.File(path, "x")))
        with mod.File(path, "a") as f:
            out += [f.mode, list(f)]
            f.create_group("h")
        with mod.File(path, "r") as f:
            out += [f.mode, list(f), _exc(lambda: f.create_group("z")), _exc(lambda: f.attrs.__setitem__("a", 1))]
            out.append(_exc(lambda: f["g"].attrs.__setitem__("a", 1)))
            out.append(_exc(lambda: f.__delitem__("g")))
        with mod.File(path, "w") as f:
            out.append(list(f))
        return out

    ref, got = both(run)
    assert got == ref


def test_file_properties_and_close(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        f = mod.File(path, "w")
        g = f.create_group("g")
        d = g.create_dataset("d", data=[1, 2])
        out = [f.filename == path, f.name, g.name, d.name, f.parent.name, g.parent.name, d.parent.name,
               d.file == f, g.file == f, bool(f), bool(d), f == f["/"], g == f["g"], d == f["/g/d"]]
        f.flush()
        f.close()
        out += [bool(f), bool(g), bool(d), repr(f), repr(g), repr(d), _exc(lambda: f.create_group("x")),
                _exc(lambda: d[0]), "g" in f]
        f.close()
        return out

    ref, got = both(run)
    assert got == ref


def test_pathlike_and_unicode_names(ss_name: Any, tmp_path: Any) -> None:
    import pathlib

    name = ss_name("ünï‚code.h5")
    target = pathlib.Path(name) if "://" not in name else name
    with ss_h5py.File(target, "w") as f:
        assert f.filename == (str(target) if "://" not in name else name)
        f["x"] = 1
    with ss_h5py.File(target, "r") as f:
        assert f["x"][()] == 1
    if "://" not in name:
        assert os.path.exists(name)
        with ss_h5py.File(os.fsencode(name), "r") as f:
            assert f.filename == name


def test_groups_and_mapping(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            f.create_group("b/c/d")
            f.create_group(b"a")
            f["z"] = np.arange(3)
            out = [list(f), list(f["b"]), len(f), "b/c" in f, "/b/c/d" in f, "b/x" in f, "" in f, "." in f,
                   "/" in f, list(reversed(f)), str(f.keys()), sorted(f.keys()), [k for k, _ in f.items()]]
            out.append(_exc(lambda: f.create_group("a")))
            out.append(_exc(lambda: f["nope"]))
            out.append(_exc(lambda: f[0]))
            out.append(type(f.require_group("a")).__name__)
            out.append(_exc(lambda: f.require_group("z")))
            out.append(f.require_dataset("z", (3,), "i8").shape)
            out.append(_exc(lambda: f.require_dataset("z", (4,), "i8")))
            out.append(_exc(lambda: f.require_dataset("z", (3,), "S3")))
            out.append(f.get("nope", 5))
            out.append(f.get("z", getclass=True).__name__)
            out.append(f.get("b", getlink=True).__class__.__name__)
            del f["b/c"]
            out.append(list(f["b"]))
            out.append(_exc(lambda: f.__delitem__("nope")))
            f.move("a", "b/a2")
            out += [list(f), list(f["b"])]
            g = f.create_group("t", track_order=True)
            for n in ("3", "1", "2"):
                g.create_group(n)
            out.append(list(g))
            like = f.create_dataset_like("like", f["z"])
            out += [like.shape, like.dtype.str, like.chunks]
            return out

    ref, got = both(run)
    assert got == ref


def test_links(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        ext = path + ".ext.h5"
        with mod.File(ext, "w") as e:
            e.create_dataset("data", data=np.arange(4))
        with mod.File(path, "w") as f:
            g = f.create_group("g")
            f["soft"] = mod.SoftLink("/g")
            f["dangling"] = mod.SoftLink("/nowhere")
            f["ext"] = mod.ExternalLink(os.path.basename(ext) if "://" not in ext else ext, "/data")
            f["hard"] = g
            g.create_dataset("x", data=[1.0])
            out = [sorted(f), f["soft"] == g, f["hard"] == g, f["soft/x"][0], "dangling" in f,
                   _exc(lambda: f["dangling"]), list(f["ext"][()]), f["ext"].name, f["soft"].name,
                   type(f.get("soft", getlink=True)).__name__, f.get("soft", getlink=True).path,
                   type(f.get("ext", getlink=True)).__name__, f.get("ext", getlink=True).path,
                   type(f.get("hard", getlink=True)).__name__, f.get("dangling", getclass=True, getlink=True).__name__,
                   f.get("dangling")]
            names: list[str] = []
            f.visit(names.append)
            out.append(names)
            links: list[str] = []
            f.visit_links(links.append)
            out.append(links)
            items: list[tuple[str, str]] = []
            f.visititems(lambda n, o: items.append((n, type(o).__name__)))
            out.append(items)
            out.append(f.visit(lambda n: n if n.endswith("x") else None))
        with mod.File(path, "r") as f:
            out += [sorted(f), f["soft/x"][0], list(f["ext"][()]), f["ext"].file.mode]
        return out

    ref, got = both(run)
    assert got == ref


def test_copy(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f, mod.File(path + ".2.h5", "w") as f2:
            src = f.create_group("src")
            src.attrs["a"] = 1
            d = src.create_dataset("d", data=np.arange(10), chunks=(5,), compression="gzip")
            d.attrs["unit"] = "m"
            src.create_group("sub").create_dataset("e", data=[1.5])
            src["link"] = mod.SoftLink("/src/d")
            f.copy("src", "dst")
            f.copy(d, f2, "dcopy")
            f.copy(src, f2["/"], shallow=True)
            f.copy("src", "noattrs", without_attrs=True)
            f.copy("src", "expanded", expand_soft=True)
            return [sorted(f), sorted(f["dst"]), f["dst/d"][()].tolist(), dict(f["dst"].attrs), f["dst/d"].compression,
                    f["dst/d"].chunks, dict(f["dst/d"].attrs), sorted(f2), f2["dcopy"][()].tolist(), sorted(f2["src"]),
                    len(f2["src/sub"]), dict(f["noattrs"].attrs), type(f["dst"].get("link", getlink=True)).__name__,
                    type(f["expanded"].get("link", getlink=True)).__name__,
                    _exc(lambda: f.copy("src", d))]

    ref, got = both(run)
    assert got == ref


def test_attribute_manager(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            g = f.create_group("g", track_order=True)
            a = f.attrs
            for name in ("b", "a", "c"):
                a[name] = name
                g.attrs[name] = name
            out = [list(a), list(g.attrs), len(a), "a" in a, "zz" in a, a.get("zz", 9), _exc(lambda: a["zz"])]
            a.create("shaped", data=np.arange(6), shape=(2, 3), dtype="i2")
            a.create("arr_t", data=np.arange(3), dtype="(3,)i4")
            a.modify("a", "new")
            a.modify("shaped", np.ones((2, 3)))
            out.append(_exc(lambda: a.modify("shaped", np.ones(4))))
            out.append(_exc(lambda: a.create("bad", data=np.arange(6), shape=(4,))))
            out.append(_exc(lambda: a.create("u", data=np.array(["x"], dtype="U1"))))
            out += [a["shaped"], a["shaped"].dtype.str, a["arr_t"], a["a"], a.get("b")]
            del a["b"]
            out.append(_exc(lambda: a.__delitem__("b")))
            out.append(sorted(a.keys()))
            out.append([str(v) for v in g.attrs.values()])
        with mod.File(path, "r") as f:
            out.append(sorted((k, str(v)) for k, v in f.attrs.items()))
        return out

    ref, got = both(run)
    for a, b in zip(ref, got):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
        else:
            assert a == b


def test_dataset_creation_options(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            out = []
            d = f.create_dataset("contig", (10, 10), "f4")
            out += [d.chunks, d.maxshape, d.compression, d.fillvalue, _exc(lambda: d.resize((20, 10)))]
            d = f.create_dataset("ext", (10,), "i4", maxshape=(None,), fillvalue=-1)
            d.resize((15,))
            out += [d.chunks is not None, d.maxshape, d[()].tolist(), _exc(lambda: d.resize((3, 3)))]
            d = f.create_dataset("gz", data=np.arange(100), compression="gzip", compression_opts=7, shuffle=True,
                                 fletcher32=True)
            out += [d.compression, d.compression_opts, d.shuffle, d.fletcher32, d[()].sum()]
            d = f.create_dataset("lzf", data=np.arange(100.0), compression="lzf")
            out += [d.compression, d.compression_opts, d[50]]
            d = f.create_dataset("so", data=np.linspace(0, 1, 50), scaleoffset=3)
            out += [d.scaleoffset, bool(np.allclose(d[()], np.linspace(0, 1, 50), atol=1e-3))]
            d = f.create_dataset("gzint", data=np.arange(10), compression=3)
            out += [d.compression, d.compression_opts]
            for bad in (dict(compression="bogus"), dict(compression="gzip", compression_opts=12),
                        dict(chunks=(200,)), dict(chunks=(2, 2)), dict(maxshape=(5,)),
                        dict(scaleoffset=3, fletcher32=True), dict(dtype="U3"), dict(fillvalue="x", dtype="i4"),
                        dict(chunks=False, maxshape=(None,)), dict(compression_opts=3)):
                kw = dict(shape=(10,), dtype="f4")
                kw.update(bad)
                out.append(_exc(lambda kw=kw: f.create_dataset("bad", **kw)))
            out.append("bad" in f)
            d = f.create_dataset("auto", (1000, 1000), "f8", chunks=True)
            out.append(d.chunks is not None and len(d.chunks) == 2)
            d = f.create_dataset("scalar", data=5)
            out += [d.shape, d.chunks, d[()], _exc(lambda: len(d)), _exc(lambda: list(d))]
            return out

    ref, got = both(run)
    assert got == ref


def test_dims_labels_and_scales(ss_name: Any) -> None:
    with ss_h5py.File(ss_name(), "w") as f:
        d = f.create_dataset("d", (3, 4), "f4")
        x = f.create_dataset("x", data=np.arange(3.0))
        x.make_scale("xs")
        d.dims[0].attach_scale(x)
        d.dims[1].label = "columns"
        assert d.dims[0].keys() == ["xs"]
        assert d.dims[0][0] == x and d.dims[0]["xs"] == x
    with ss_h5py.File(ss_name(), "r") as f:
        d = f["d"]
        assert [dim.label for dim in d.dims] == ["", "columns"]
        assert len(d.dims[0]) == 1 and d.dims[0][0].name == "/x"
        assert d.dims[1].items() == []
        assert f["x"].is_scale


def test_virtual_dataset(ss_name: Any) -> None:
    with ss_h5py.File(ss_name("src.h5"), "w") as f:
        f.create_dataset("a", data=np.arange(5))
        f.create_dataset("b", data=np.arange(5) * 10)
    layout = ss_h5py.VirtualLayout((2, 5), "i8")
    layout[0] = ss_h5py.VirtualSource(ss_name("src.h5"), "a", shape=(5,))
    layout[1, :3] = ss_h5py.VirtualSource(ss_name("src.h5"), "b", shape=(5,))[2:]
    with ss_h5py.File(ss_name("v.h5"), "w") as f:
        v = f.create_virtual_dataset("v", layout, fillvalue=-1)
        assert v.is_virtual
        np.testing.assert_array_equal(v[()], [[0, 1, 2, 3, 4], [20, 30, 40, -1, -1]])
    with ss_h5py.File(ss_name("src.h5"), "a") as f:
        f["a"][0] = 100
    with ss_h5py.File(ss_name("v.h5"), "r") as f:
        assert f["v"][0, 0] == 100
    with pytest.raises(ValueError, match="different number"):
        layout[0, :2] = ss_h5py.VirtualSource(ss_name("src.h5"), "a", shape=(5,))


def test_objects_follow_moves(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            g = f.create_group("x")
            d = g.create_dataset("d", data=np.arange(5))
            f.move("x", "y/z")
            out = [f["y/z"] == g, g.name, d.name, d[()].tolist(), f["y/z/d"] == d]
            d[0] = 10
            out.append(f["y/z/d"][0])
            return out

    ref, got = both(run)
    assert got == ref


def test_copy_expand_refs(ss_name: Any) -> None:
    with ss_h5py.File(ss_name("a.h5"), "w") as f, ss_h5py.File(ss_name("b.h5"), "w") as f2:
        foo = f.create_dataset("foo", data=[1, 2, 3])
        bar = f.create_dataset("bar", data=[4, 5, 6])
        foo.attrs["bar"] = bar.ref
        f.copy(foo, "baz", expand_refs=True)
        copied = f[f["baz"].attrs["bar"]]
        assert copied.name != bar.name and copied[()].tolist() == [4, 5, 6]
        f.copy("/", f2, "all", expand_refs=True)
        inside = f2[f2["all/foo"].attrs["bar"]]
        assert inside.name == "/all/bar"  # referenced object inside the copied tree: its copy
        assert sorted(f2) == ["all"]  # the hidden holder is not listed
    with ss_h5py.File(ss_name("a.h5"), "r") as f:
        assert f[f["baz"].attrs["bar"]][()].tolist() == [4, 5, 6]  # kept after reopening


def test_local_paths_like_h5py(tmp_path: Any) -> None:
    import h5py as real_h5py

    for mod, sub in ((real_h5py, "ref"), (ss_h5py, "ss")):
        base = tmp_path / sub
        base.mkdir()
        with pytest.raises(FileNotFoundError):
            mod.File(base / "missing" / "f.h5", "w")
        with pytest.raises(FileNotFoundError):
            mod.File(str(base / "nope.h5"), "r")
        (base / "empty.h5").write_bytes(b"")
        with mod.File(base / "empty.h5", "w") as f:  # an existing plain file is replaced
            f["a"] = 1
        with mod.File(base / "empty.h5", "r") as f:
            assert f["a"][()] == 1


def test_core_driver_without_backing_store(tmp_path: Any) -> None:
    name = str(tmp_path / "scratch.h5")
    with ss_h5py.File(name, "w", driver="core", backing_store=False) as f:
        f["x"] = np.arange(3)
        assert f.filename == name and f["x"][1] == 1
    assert not os.path.exists(name)
    with pytest.raises(NotImplementedError):
        ss_h5py.File(name, "a", driver="core", backing_store=False)
    with pytest.raises(ValueError):
        ss_h5py.File(name, "w", driver="mpio")


def test_config_track_order_is_the_default(both: Any) -> None:
    # h5py.get_config().track_order: new files, groups and datasets (their
    # attributes) track creation order unless told otherwise; copies keep the source's.
    names = ["zeta", "Alpha", "mid", "10"]

    def run(mod: Any, path: str) -> Any:
        config = mod.get_config()
        config.track_order = True
        try:
            with mod.File(path, "w") as f:
                for n in names:
                    f.create_dataset(n, data=[1])
                    f.attrs[n] = 1
                    f["zeta"].attrs[n] = 2
                sub, off = f.create_group("sub"), f.create_group("off", track_order=False)
                for n in reversed(names):
                    sub.create_group(n)
                    off.create_group(n)
                f.copy("off", "off_copy")
        finally:
            config.track_order = False
        with mod.File(path, "r") as f:
            return [list(f), list(f.attrs), list(f["zeta"].attrs), list(f["sub"]), list(f["off"]),
                    list(f["off_copy"])]

    ref, got = both(run)
    assert ref[0][:4] == names and ref[4] == sorted(names)  # the premise
    assert got == ref


def test_userblock_and_libver_arguments(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        out: list[Any] = []
        for i, kwds in enumerate([{"userblock_size": 100}, {"userblock_size": 1000}, {"userblock_size": 1024},
                                  {"userblock_size": "x"}, {"libver": "v999"}, {"libver": ("latest", "earliest")},
                                  {"libver": ("earliest", "v999")}, {"libver": ("v108", "v110")}, {"libver": 5}]):
            try:
                with mod.File(f"{path}{i}", "w", **kwds) as f:
                    out.append(f.userblock_size)
            except (ValueError, KeyError, TypeError) as e:
                out.append(type(e).__name__)
        try:
            mod.File(f"{path}2", "r", userblock_size=1024)
        except ValueError:
            out.append("r refused")
        with mod.File(f"{path}2", "r") as f:
            out.append(f.userblock_size)
        return out

    ref, got = both(run)
    assert ref[2] == 1024 and ref[-1] == 1024  # the premise
    assert got == ref


def test_require_dataset_and_getclass_errors(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        out: list[Any] = []
        with mod.File(path, "w") as f:
            f.create_dataset("d", data=np.arange(3, dtype="i4"))
            f["dangling"] = mod.SoftLink("/nowhere")
            f["elsewhere"] = mod.ExternalLink("missing.h5", "/x")
            for kwds in ({"dtype": "i2", "exact": True}, {"dtype": "f8"}):
                try:
                    f.require_dataset("d", shape=(3,), **kwds)
                except TypeError as e:
                    out.append(str(e).split(" (")[0])
            for name in ("dangling", "elsewhere", "absent"):
                try:
                    out.append(f.get(name, "default", getclass=True))
                except RuntimeError:
                    out.append("RuntimeError")
        return out

    ref, got = both(run)
    assert ref == ["Datatypes do not exactly match", "Datatypes cannot be safely cast", "RuntimeError",
                   "RuntimeError", "default"]  # the premise
    assert got == ref

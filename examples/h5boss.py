"""H5Boss: many small spectra with attributes in deep group trees, then a subset.

A plain h5py program shaped like NERSC's H5Boss (SDSS BOSS spectra in HDF5):

1. create: one file per plate, ``PREFIX-plate-PPPP.h5``, holding
   ``/PPPP/MJD`` groups (observation attributes), a ``plugmap`` compound table
   per MJD, and ``/PPPP/MJD/fibers/FFF`` groups (fiber attributes: RA, DEC, Z,
   OBJTYPE ...) each with small datasets ``flux``, ``ivar``, ``and_mask`` and
   ``wavelength``. Plates are shared out among the processes.
2. select: the processes read the plugmaps and pick the quasar fibers.
3. subset: the picked fibers (groups, datasets, attributes) are copied into a
   new file, ``PREFIX-subset.h5``, under the same paths.

    python h5boss.py PREFIX [PLATES] [PROCESSES] [--mjds 2] [--fibers 50] [--length 256]

Prints what was created and copied, one line per step.

    sciswift run --mount /scratch/run1=swift://wind/run1 -- python h5boss.py /scratch/run1/boss 16 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time

import h5py
import numpy as np

OBJTYPES = ("GALAXY", "QSO", "STAR", "SKY")
PLUGMAP = np.dtype([("fiberid", "<i4"), ("ra", "<f8"), ("dec", "<f8"), ("objtype", "S8"), ("mag", "<f4", (5,))])
FIRST_PLATE, FIRST_MJD = 3586, 55181


def plate_file(prefix: str, plate: int) -> str:
    return f"{prefix}-plate-{plate:04d}.h5"


def create_plate(prefix: str, plate: int, mjds: int, fibers: int, length: int) -> int:
    """Write one plate's file; returns the number of datasets created."""
    count = 0
    with h5py.File(plate_file(prefix, plate), "w") as f:
        f.attrs["survey"] = "BOSS"
        f.attrs["plate"] = np.int32(plate)
        for m in range(mjds):
            mjd = FIRST_MJD + 7 * m + plate % 5
            rng = np.random.default_rng(plate * 1000 + m)
            obs = f.create_group(f"{plate:04d}/{mjd}")
            obs.attrs["mjd"] = np.int32(mjd)
            obs.attrs["airmass"] = 1.0 + rng.random() * 0.3
            obs.attrs["exptime"] = np.float32(900.0 * (1 + m))
            obs.attrs["cameras"] = np.array([b"b1", b"b2", b"r1", b"r2"])
            plug = np.zeros(fibers, dtype=PLUGMAP)
            plug["fiberid"] = np.arange(1, fibers + 1)
            plug["ra"] = 150.0 + rng.random(fibers)
            plug["dec"] = 2.0 + rng.random(fibers)
            plug["objtype"] = [OBJTYPES[(plate + m + i) % len(OBJTYPES)].encode() for i in range(fibers)]
            plug["mag"] = 18.0 + 3.0 * rng.random((fibers, 5))
            obs.create_dataset("plugmap", data=plug)
            count += 1
            wave = np.float32(3600.0) + np.arange(length, dtype="f4") * np.float32(2.5)
            for i in range(fibers):
                fib = obs.create_group(f"fibers/{i + 1:03d}")
                fib.attrs["FIBERID"] = np.int32(i + 1)
                fib.attrs["RA"] = plug["ra"][i]
                fib.attrs["DEC"] = plug["dec"][i]
                fib.attrs["Z"] = float(rng.random() * 3.0)
                fib.attrs["OBJTYPE"] = plug["objtype"][i].decode()
                fib.attrs["ZWARNING"] = np.int16(i % 3 == 0)
                flux = rng.standard_normal(length).astype("f4") + np.float32(i % 7)
                fib.create_dataset("flux", data=flux)
                fib.create_dataset("ivar", data=np.abs(flux) + np.float32(0.5))
                fib.create_dataset("and_mask", data=(np.arange(length) % (i + 2) == 0).astype("i4"))
                fib.create_dataset("wavelength", data=wave)
                fib["flux"].attrs["units"] = "1e-17 erg/s/cm^2/Angstrom"
                count += 4
    return count


def select_plate(prefix: str, plate: int) -> list[str]:
    """Paths of the plate's quasar fiber groups."""
    picked: list[str] = []
    with h5py.File(plate_file(prefix, plate), "r") as f:
        top = f[f"{plate:04d}"]
        for mjd in sorted(top):
            plug = top[mjd]["plugmap"][()]
            for row in plug[plug["objtype"] == b"QSO"]:
                picked.append(f"/{plate:04d}/{mjd}/fibers/{int(row['fiberid']):03d}")
    return picked


def _create(args: tuple[str, int, int, int, int]) -> int:
    return create_plate(*args)


def _select(args: tuple[str, int]) -> list[str]:
    return select_plate(*args)


def copy_subset(prefix: str, picked: dict[int, list[str]]) -> int:
    """Copy the picked fibers into PREFIX-subset.h5; returns how many were copied."""
    copied = 0
    with h5py.File(f"{prefix}-subset.h5", "w") as out:
        out.attrs["source"] = "h5boss subset: QSO fibers"
        for plate, paths in sorted(picked.items()):
            with h5py.File(plate_file(prefix, plate), "r") as src:
                for path in paths:
                    parent, _, name = path.rpartition("/")
                    obs_path = parent.rpartition("/")[0]
                    dest = out.require_group(parent)
                    for key, value in src[obs_path].attrs.items():
                        out[obs_path].attrs[key] = value
                    src.copy(src[path], dest, name=name)
                    copied += 1
    return copied


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("prefix", help="path prefix of the files to write (PREFIX-plate-PPPP.h5, PREFIX-subset.h5)")
    p.add_argument("plates", nargs="?", type=int, default=16, help="number of plates (default 16)")
    p.add_argument("procs", nargs="?", type=int, default=4, help="number of processes (default 4)")
    p.add_argument("--mjds", type=int, default=2, help="observations per plate (default 2)")
    p.add_argument("--fibers", type=int, default=50, help="fibers per observation (default 50)")
    p.add_argument("--length", type=int, default=256, help="samples per spectrum (default 256)")
    p.add_argument("--start-method", default="spawn", choices=("spawn", "forkserver", "fork"))
    a = p.parse_args(argv)
    if min(a.plates, a.procs, a.mjds, a.fibers, a.length) < 1:
        p.error("all counts must be positive")
    plates = [FIRST_PLATE + i for i in range(a.plates)]
    if a.procs > 1:
        # Workers started (and h5py imported) before the clock starts.
        pool = multiprocessing.get_context(a.start_method).Pool(a.procs)
        pool.map(abs, range(a.procs), chunksize=1)
    t0 = time.perf_counter()
    if a.procs == 1:
        counts = [create_plate(a.prefix, pl, a.mjds, a.fibers, a.length) for pl in plates]
        t1 = time.perf_counter()
        selections = [select_plate(a.prefix, pl) for pl in plates]
    else:
        with pool:
            counts = pool.map(_create, [(a.prefix, pl, a.mjds, a.fibers, a.length) for pl in plates], chunksize=1)
            t1 = time.perf_counter()
            selections = pool.map(_select, [(a.prefix, pl) for pl in plates], chunksize=1)
    t2 = time.perf_counter()
    copied = copy_subset(a.prefix, dict(zip(plates, selections)))
    t3 = time.perf_counter()
    print(f"created {len(plates)} plate files, {sum(counts)} datasets")
    print(f"selected {sum(len(s) for s in selections)} QSO fibers: {[len(s) for s in selections]}")
    print(f"copied {copied} fibers into {a.prefix}-subset.h5")
    print(f"create {t1 - t0:.3f} s, select {t2 - t1:.3f} s, subset {t3 - t2:.3f} s with {a.procs} processes",
          file=sys.stderr)


if __name__ == "__main__":
    main()

/*
 * H5Boss kernel: the I/O pattern of SDSS BOSS spectra kept in HDF5, many small
 * groups and datasets spread over many files. Each file is one plate/MJD; every
 * fiber is a group holding small datasets (flux, ivar, loglam, and_mask) and
 * attributes (ra, dec). Files are shared out among MPI ranks, each rank writing
 * or reading its files with serial HDF5.
 *
 * Written for sciswift from the kernel's published description. Values depend
 * only on (file, plate, fiber, pixel), so any rank count gives the same files;
 * object times are not recorded.
 *
 * usage: mpirun -np N h5boss write DIR NFILES NPLATES NFIBERS
 *        mpirun -np N h5boss read  DIR NFILES NPLATES NFIBERS
 * `read` checks every value, prints one checksum line per file (in file order)
 * and exits 1 on a mismatch.
 */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPIX 1000
static const char *FLOATS[3] = {"flux", "ivar", "loglam"};

static float value(int f, int p, int fib, int k, int i)
{
    return (float)((f * 131 + p * 17 + fib * 7 + k * 3 + i) % 1000) * 0.01f;
}

static int write_file(const char *path, int f, int nplates, int nfibers)
{
    hid_t file, gcpl, dcpl, space, ascalar, g, d, a;
    hsize_t n = NPIX;
    float fbuf[NPIX];
    int ibuf[NPIX];
    int p, fib, k, i;
    char name[64];

    file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) return 1;
    gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    space = H5Screate_simple(1, &n, NULL);
    ascalar = H5Screate(H5S_SCALAR);
    for (p = 0; p < nplates; p++) {
        snprintf(name, sizeof name, "%04d", 3500 + p);
        g = H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
        H5Gclose(g);
        snprintf(name, sizeof name, "%04d/%05d", 3500 + p, 55000 + f);
        g = H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
        H5Gclose(g);
        for (fib = 0; fib < nfibers; fib++) {
            double ra = f + p * 0.5 + fib * 0.01, dec = -(double)fib * 0.1;
            snprintf(name, sizeof name, "%04d/%05d/%03d", 3500 + p, 55000 + f, fib + 1);
            g = H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
            for (k = 0; k < 3; k++) {
                for (i = 0; i < NPIX; i++) fbuf[i] = value(f, p, fib, k, i);
                d = H5Dcreate2(g, FLOATS[k], H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
                if (d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, fbuf) < 0) return 1;
                H5Dclose(d);
            }
            for (i = 0; i < NPIX; i++) ibuf[i] = (f + p + fib + i) % 7;
            d = H5Dcreate2(g, "and_mask", H5T_NATIVE_INT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
            if (d < 0 || H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ibuf) < 0) return 1;
            H5Dclose(d);
            a = H5Acreate2(g, "ra", H5T_NATIVE_DOUBLE, ascalar, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, H5T_NATIVE_DOUBLE, &ra);
            H5Aclose(a);
            a = H5Acreate2(g, "dec", H5T_NATIVE_DOUBLE, ascalar, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, H5T_NATIVE_DOUBLE, &dec);
            H5Aclose(a);
            H5Gclose(g);
        }
    }
    H5Sclose(ascalar);
    H5Sclose(space);
    H5Pclose(dcpl);
    H5Pclose(gcpl);
    return H5Fclose(file) < 0;
}

static int read_file(const char *path, int f, int nplates, int nfibers, double *sum)
{
    hid_t file, g, d, a;
    float fbuf[NPIX];
    int ibuf[NPIX];
    int p, fib, k, i, bad = 0;
    double ra;
    char name[64];

    *sum = 0.0;
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return 1;
    for (p = 0; p < nplates; p++) {
        for (fib = 0; fib < nfibers; fib++) {
            snprintf(name, sizeof name, "%04d/%05d/%03d", 3500 + p, 55000 + f, fib + 1);
            g = H5Gopen2(file, name, H5P_DEFAULT);
            if (g < 0) return 1;
            for (k = 0; k < 3; k++) {
                d = H5Dopen2(g, FLOATS[k], H5P_DEFAULT);
                if (d < 0 || H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, fbuf) < 0) return 1;
                H5Dclose(d);
                for (i = 0; i < NPIX; i++) {
                    *sum += fbuf[i];
                    if (fbuf[i] != value(f, p, fib, k, i)) bad++;
                }
            }
            d = H5Dopen2(g, "and_mask", H5P_DEFAULT);
            if (d < 0 || H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ibuf) < 0) return 1;
            H5Dclose(d);
            for (i = 0; i < NPIX; i++) {
                *sum += ibuf[i];
                if (ibuf[i] != (f + p + fib + i) % 7) bad++;
            }
            a = H5Aopen(g, "ra", H5P_DEFAULT);
            H5Aread(a, H5T_NATIVE_DOUBLE, &ra);
            H5Aclose(a);
            if (ra != f + p * 0.5 + fib * 0.01) bad++;
            *sum += ra;
            H5Gclose(g);
        }
    }
    H5Fclose(file);
    return bad ? 2 : 0;
}

int main(int argc, char **argv)
{
    int rank, nprocs, nfiles, nplates, nfibers, f, rc = 0, all_rc = 0;
    double *sums, *all_sums, t0, t1;
    char path[4096];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 6 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "read") != 0)) {
        if (rank == 0) fprintf(stderr, "usage: %s write|read DIR NFILES NPLATES NFIBERS\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    nfiles = atoi(argv[3]);
    nplates = atoi(argv[4]);
    nfibers = atoi(argv[5]);
    sums = calloc((size_t)nfiles + 1, sizeof(double));
    all_sums = calloc((size_t)nfiles + 1, sizeof(double));
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (f = rank; f < nfiles; f += nprocs) {
        snprintf(path, sizeof path, "%s/boss-%04d.h5", argv[2], f);
        if (argv[1][0] == 'w') {
            if (write_file(path, f, nplates, nfibers)) {
                fprintf(stderr, "h5boss: writing %s failed\n", path);
                rc = 1;
            }
        } else {
            int r = read_file(path, f, nplates, nfibers, &sums[f]);
            if (r) {
                fprintf(stderr, "h5boss: %s %s\n", path, r == 1 ? "could not be read" : "has wrong values");
                rc = 1;
            }
        }
    }
    MPI_Reduce(sums, all_sums, nfiles, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&rc, &all_rc, 1, MPI_INT, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    t1 = MPI_Wtime();
    if (rank == 0) {
        if (argv[1][0] == 'r')
            for (f = 0; f < nfiles; f++) printf("boss-%04d.h5 checksum %.6f\n", f, all_sums[f]);
        fprintf(stderr, "h5boss %s: %d ranks, %d files x %d plates x %d fibers in %.3f s\n", argv[1], nprocs,
                nfiles, nplates, nfibers, t1 - t0);
    }
    free(sums);
    free(all_sums);
    MPI_Bcast(&all_rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return all_rc;
}

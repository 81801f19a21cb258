/*
 * BD-CATS-IO kernel: the read pattern of the BD-CATS clustering code on VPIC
 * output. Each of N MPI ranks opens the shared file through MPI-IO and reads
 * its share of every particle variable of /Step#0, in parallel.
 *
 * Written for sciswift from the kernel's published description. Every value is
 * checked against what vpicio writes for its global index; the global sums are
 * printed (the same for any rank count), and the exit status is 1 on a mismatch.
 *
 * usage: mpirun -np N bdcats FILE
 */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static const char *NAMES[8] = {"x", "y", "z", "id1", "id2", "px", "py", "pz"};

int main(int argc, char **argv)
{
    int rank, nprocs, v, bad = 0, all_bad = 0;
    hsize_t total, offset, count, i;
    hid_t fapl, file, dset, fspace, mspace, dxpl;
    double t0, t1;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 2) {
        if (rank == 0) fprintf(stderr, "usage: %s FILE\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    file = H5Fopen(argv[1], H5F_ACC_RDONLY, fapl);
    if (file < 0) MPI_Abort(MPI_COMM_WORLD, 4);
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    for (v = 0; v < 8; v++) {
        char path[32];
        int is_int = (v == 3 || v == 4);
        double sum = 0.0, all_sum = 0.0;
        void *buf;
        snprintf(path, sizeof path, "/Step#0/%s", NAMES[v]);
        dset = H5Dopen2(file, path, H5P_DEFAULT);
        if (dset < 0) MPI_Abort(MPI_COMM_WORLD, 5);
        fspace = H5Dget_space(dset);
        H5Sget_simple_extent_dims(fspace, &total, NULL);
        count = total / (hsize_t)nprocs;
        offset = count * (hsize_t)rank;
        if (rank == nprocs - 1) count = total - offset;
        buf = malloc((count ? count : 1) * 4);
        mspace = H5Screate_simple(1, &count, NULL);
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &offset, NULL, &count, NULL);
        if (H5Dread(dset, is_int ? H5T_NATIVE_INT : H5T_NATIVE_FLOAT, mspace, fspace, dxpl, buf) < 0)
            MPI_Abort(MPI_COMM_WORLD, 6);
        for (i = 0; i < count; i++) {
            long long g = (long long)(offset + i);
            if (is_int) {
                int want = (int)(v == 3 ? g : 2 * g + 1), got = ((int *)buf)[i];
                sum += got;
                if (got != want) bad++;
            } else {
                float want = (float)((double)(g % 100000) * 0.001 + (double)v), got = ((float *)buf)[i];
                sum += got;
                if (got != want) bad++;
            }
        }
        MPI_Reduce(&sum, &all_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) printf("%s: %llu values, sum %.6e\n", NAMES[v], (unsigned long long)total, all_sum);
        free(buf);
        H5Sclose(mspace);
        H5Sclose(fspace);
        H5Dclose(dset);
    }
    H5Pclose(dxpl);
    H5Fclose(file);
    MPI_Barrier(MPI_COMM_WORLD);
    t1 = MPI_Wtime();
    MPI_Reduce(&bad, &all_bad, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("bdcats: %d mismatching values\n", all_bad);
        fprintf(stderr, "bdcats: %d ranks read the file in %.3f s\n", nprocs, t1 - t0);
    }
    H5Pclose(fapl);
    MPI_Bcast(&all_bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return all_bad ? 1 : 0;
}

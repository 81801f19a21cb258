/*
 * VPIC-IO kernel: the write pattern of the VPIC plasma simulation's particle
 * dumps. Each of N MPI ranks holds P particles with eight properties (x, y, z,
 * id1, id2, px, py, pz) and writes its slice of eight 1-D datasets of N*P
 * elements in the group /Step#0 of one shared HDF5 file, through MPI-IO.
 *
 * Written for sciswift from the kernel's published description. Values are a
 * function of the global particle index, so any rank count gives the same file
 * content; object times are not recorded, so the same rank count gives the same
 * bytes on any file system.
 *
 * usage: mpirun -np N vpicio FILE [PARTICLES_PER_RANK] [independent]
 */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *NAMES[8] = {"x", "y", "z", "id1", "id2", "px", "py", "pz"};

int main(int argc, char **argv)
{
    int rank, nprocs, v;
    long long per_rank, i;
    hsize_t total, offset, count;
    hid_t fapl, file, group, gcpl, dcpl, fspace, mspace, dset, dxpl;
    float *fbuf;
    int *ibuf;
    double t0, t1;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 2) {
        if (rank == 0) fprintf(stderr, "usage: %s FILE [PARTICLES_PER_RANK] [independent]\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    per_rank = argc > 2 ? atoll(argv[2]) : 1048576;
    total = (hsize_t)per_rank * (hsize_t)nprocs;
    offset = (hsize_t)per_rank * (hsize_t)rank;
    count = (hsize_t)per_rank;

    fbuf = malloc(sizeof(float) * (size_t)per_rank);
    ibuf = malloc(sizeof(int) * (size_t)per_rank);
    if (!fbuf || !ibuf) MPI_Abort(MPI_COMM_WORLD, 3);

    fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    file = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0) MPI_Abort(MPI_COMM_WORLD, 4);
    gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    group = H5Gcreate2(file, "Step#0", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    fspace = H5Screate_simple(1, &total, NULL);
    mspace = H5Screate_simple(1, &count, NULL);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &offset, NULL, &count, NULL);
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, argc > 3 && strcmp(argv[3], "independent") == 0 ? H5FD_MPIO_INDEPENDENT
                                                                            : H5FD_MPIO_COLLECTIVE);

    for (v = 0; v < 8; v++) {
        int is_int = (v == 3 || v == 4);
        for (i = 0; i < per_rank; i++) {
            long long g = (long long)offset + i;
            if (is_int)
                ibuf[i] = (int)(v == 3 ? g : 2 * g + 1);
            else
                fbuf[i] = (float)((double)(g % 100000) * 0.001 + (double)v);
        }
        dset = H5Dcreate2(group, NAMES[v], is_int ? H5T_NATIVE_INT : H5T_NATIVE_FLOAT, fspace,
                          H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (dset < 0) MPI_Abort(MPI_COMM_WORLD, 5);
        if (H5Dwrite(dset, is_int ? H5T_NATIVE_INT : H5T_NATIVE_FLOAT, mspace, fspace, dxpl,
                     is_int ? (void *)ibuf : (void *)fbuf) < 0)
            MPI_Abort(MPI_COMM_WORLD, 6);
        H5Dclose(dset);
    }
    H5Pclose(dxpl);
    H5Sclose(mspace);
    H5Sclose(fspace);
    H5Pclose(dcpl);
    H5Pclose(gcpl);
    H5Gclose(group);
    if (H5Fclose(file) < 0) MPI_Abort(MPI_COMM_WORLD, 7);
    MPI_Barrier(MPI_COMM_WORLD);
    t1 = MPI_Wtime();
    if (rank == 0)
        printf("vpicio: %d ranks wrote %llu particles x 8 variables (%.1f MiB) in %.3f s\n", nprocs,
               (unsigned long long)total, (double)total * 32.0 / 1048576.0, t1 - t0);
    H5Pclose(fapl);
    free(fbuf);
    free(ibuf);
    MPI_Finalize();
    return 0;
}

/*
 * Plain MPI-IO (no HDF5): each rank writes BLOCKS blocks of SIZE bytes,
 * interleaved (block b of rank r at offset (b * nprocs + r) * SIZE), with
 * MPI_File_write_at, then rank 0 prints nothing; the file's bytes depend only
 * on the offsets, so any file system must give the same file.
 *
 * usage: mpirun -np N mpiio_blocks FILE BLOCKS SIZE
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int rank, nprocs, b, blocks, size, i;
    MPI_File fh;
    char *buf;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 4) MPI_Abort(MPI_COMM_WORLD, 2);
    blocks = atoi(argv[2]);
    size = atoi(argv[3]);
    buf = malloc((size_t)size);
    if (MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh))
        MPI_Abort(MPI_COMM_WORLD, 3);
    for (b = 0; b < blocks; b++) {
        MPI_Offset off = ((MPI_Offset)b * nprocs + rank) * size;
        for (i = 0; i < size; i++) buf[i] = (char)((off + i) * 7 % 251);
        if (MPI_File_write_at(fh, off, buf, size, MPI_BYTE, MPI_STATUS_IGNORE)) MPI_Abort(MPI_COMM_WORLD, 4);
    }
    if (MPI_File_close(&fh)) MPI_Abort(MPI_COMM_WORLD, 5);
    free(buf);
    MPI_Finalize();
    return 0;
}

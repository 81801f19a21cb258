/* Prints a hyperslab of a dataset read as doubles: hyperslab FILE DSET START0 COUNT0 [START1 COUNT1 ...].
   Used by tests/h5view to read the HDF5 view with the HDF5 C library. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage\n"); return 2; }
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 3;
    hid_t d = H5Dopen2(f, argv[2], H5P_DEFAULT);
    if (d < 0) return 4;
    hid_t s = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(s);
    hsize_t start[8] = {0}, count[8] = {1,1,1,1,1,1,1,1}, n = 1;
    for (int i = 0; i < rank && 3 + 2 * i + 1 < argc; i++) {
        start[i] = strtoull(argv[3 + 2 * i], NULL, 10);
        count[i] = strtoull(argv[4 + 2 * i], NULL, 10);
    }
    for (int i = 0; i < rank; i++) n *= count[i];
    if (H5Sselect_hyperslab(s, H5S_SELECT_SET, start, NULL, count, NULL) < 0) return 5;
    hid_t m = H5Screate_simple(1, &n, NULL);
    double *buf = malloc(n * sizeof(double));
    if (H5Dread(d, H5T_NATIVE_DOUBLE, m, s, H5P_DEFAULT, buf) < 0) return 6;
    for (hsize_t i = 0; i < n; i++) printf("%.17g\n", buf[i]);
    free(buf); H5Sclose(m); H5Sclose(s); H5Dclose(d); H5Fclose(f);
    return 0;
}

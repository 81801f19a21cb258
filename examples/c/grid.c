/*
 * A 2-D float32 dataset for read benchmarks: `grid write FILE ROWS COLS` writes
 * /data (contiguous, value = row * 0.5 + col * 0.001); `grid windows FILE COUNT
 * SIZE SEED` reads COUNT random SIZE x SIZE windows (a fixed pseudo-random
 * sequence) and prints their sum, checking every value.
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float value(hsize_t r, hsize_t c) { return (float)((double)r * 0.5 + (double)(c % 1000) * 0.001); }

int main(int argc, char **argv)
{
    hid_t file, dset, space, mspace, dcpl;
    hsize_t dims[2], start[2], count[2], r, c;
    float *buf;
    if (argc >= 5 && strcmp(argv[1], "write") == 0) {
        dims[0] = (hsize_t)atoll(argv[3]);
        dims[1] = (hsize_t)atoll(argv[4]);
        buf = malloc(sizeof(float) * dims[1]);
        file = H5Fcreate(argv[2], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        space = H5Screate_simple(2, dims, NULL);
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_obj_track_times(dcpl, 0);
        dset = H5Dcreate2(file, "data", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        count[0] = 1;
        count[1] = dims[1];
        mspace = H5Screate_simple(2, count, NULL);
        for (r = 0; r < dims[0]; r++) {
            for (c = 0; c < dims[1]; c++) buf[c] = value(r, c);
            start[0] = r;
            start[1] = 0;
            H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
            if (H5Dwrite(dset, H5T_NATIVE_FLOAT, mspace, space, H5P_DEFAULT, buf) < 0) return 1;
        }
        H5Sclose(mspace);
        H5Dclose(dset);
        H5Pclose(dcpl);
        H5Sclose(space);
        free(buf);
        return H5Fclose(file) < 0;
    }
    if (argc >= 6 && strcmp(argv[1], "windows") == 0) {
        int n = atoi(argv[3]), w = atoi(argv[4]), i, bad = 0;
        unsigned long long seed = strtoull(argv[5], NULL, 10) | 1;
        double sum = 0.0;
        file = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
        if (file < 0) return 1;
        dset = H5Dopen2(file, "data", H5P_DEFAULT);
        space = H5Dget_space(dset);
        H5Sget_simple_extent_dims(space, dims, NULL);
        count[0] = count[1] = (hsize_t)w;
        mspace = H5Screate_simple(2, count, NULL);
        buf = malloc(sizeof(float) * (size_t)w * (size_t)w);
        for (i = 0; i < n; i++) {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;  /* xorshift64 */
            start[0] = seed % (dims[0] - count[0] + 1);
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            start[1] = seed % (dims[1] - count[1] + 1);
            H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
            if (H5Dread(dset, H5T_NATIVE_FLOAT, mspace, space, H5P_DEFAULT, buf) < 0) return 1;
            for (r = 0; r < count[0]; r++)
                for (c = 0; c < count[1]; c++) {
                    float v = buf[r * count[1] + c];
                    sum += v;
                    if (v != value(start[0] + r, start[1] + c)) bad++;
                }
        }
        printf("windows: %d x %dx%d, sum %.6e, %d mismatching\n", n, w, w, sum, bad);
        free(buf);
        H5Sclose(mspace);
        H5Sclose(space);
        H5Dclose(dset);
        H5Fclose(file);
        return bad ? 1 : 0;
    }
    fprintf(stderr, "usage: %s write FILE ROWS COLS | windows FILE COUNT SIZE SEED\n", argv[0]);
    return 2;
}

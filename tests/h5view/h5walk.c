/* Walks an HDF5 file with the C library and prints one line per link, object,
   dataset and attribute: every dataset and attribute read whole with its
   native type (H5Tget_native_type) and summed into an FNV-1a checksum of its
   values, variable-length data by content and references by the name of what
   they name, so two files holding the same content print the same lines.
   Used by tests/h5view to compare the HDF5 view with files h5py writes.

   h5walk FILE    (exit status: 0, or the step that failed) */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hid_t file;

static void fnv(uint64_t *h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) { *h ^= b[i]; *h *= 1099511628211ULL; }
}

/* Adds one element of memory type t at p to the checksum. */
static int sum(uint64_t *h, hid_t t, const unsigned char *p) {
    H5T_class_t c = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    if (c == H5T_STRING && H5Tis_variable_str(t) > 0) {
        const char *s = *(char *const *)p;
        if (s) fnv(h, s, strlen(s)); else fnv(h, "<null>", 6);
        return 0;
    }
    if (c == H5T_VLEN) {
        const hvl_t *v = (const hvl_t *)p;
        hid_t base = H5Tget_super(t);
        size_t bs = H5Tget_size(base);
        fnv(h, &v->len, sizeof v->len);
        for (size_t i = 0; i < v->len; i++)
            if (sum(h, base, (const unsigned char *)v->p + i * bs) < 0) return -1;
        H5Tclose(base);
        return 0;
    }
    if (c == H5T_COMPOUND) {
        int n = H5Tget_nmembers(t);
        for (int i = 0; i < n; i++) {
            hid_t m = H5Tget_member_type(t, (unsigned)i);
            char *name = H5Tget_member_name(t, (unsigned)i);
            fnv(h, name, strlen(name));
            H5free_memory(name);
            if (sum(h, m, p + H5Tget_member_offset(t, (unsigned)i)) < 0) return -1;
            H5Tclose(m);
        }
        return 0;
    }
    if (c == H5T_ARRAY) {
        hid_t base = H5Tget_super(t);
        size_t bs = H5Tget_size(base);
        for (size_t i = 0; i < size / bs; i++)
            if (sum(h, base, p + i * bs) < 0) return -1;
        H5Tclose(base);
        return 0;
    }
    if (c == H5T_REFERENCE) {
        char name[1024] = "<null>";
        if (H5Tequal(t, H5T_STD_REF_OBJ) > 0) {
            hobj_ref_t r = *(const hobj_ref_t *)p;
            if (r && H5Rget_name(file, H5R_OBJECT, &r, name, sizeof name) < 0) strcpy(name, "<dangling>");
        } else {
            hdset_reg_ref_t r;
            memcpy(&r, p, sizeof r);
            static const hdset_reg_ref_t zero;
            if (memcmp(&r, &zero, sizeof r)) {
                if (H5Rget_name(file, H5R_DATASET_REGION, &r, name, sizeof name) < 0) strcpy(name, "<dangling>");
                hid_t s = H5Rget_region(file, H5R_DATASET_REGION, &r);
                if (s >= 0) {
                    hssize_t np = H5Sget_select_npoints(s);
                    fnv(h, &np, sizeof np);
                    H5Sclose(s);
                }
            }
        }
        fnv(h, name, strlen(name));
        return 0;
    }
    fnv(h, p, size);
    return 0;
}

static const char *class_name(H5T_class_t c) {
    static const char *names[] = {"integer", "float", "time", "string", "bitfield", "opaque",
                                  "compound", "reference", "enum", "vlen", "array"};
    return c >= 0 && c <= H5T_ARRAY ? names[c] : "?";
}

/* Prints "what class rank dims size checksum" for a dataset or attribute whose
   file type is ftype and dataspace space, read by read(). */
static int report(const char *what, hid_t ftype, hid_t space, hid_t obj, int is_attr) {
    hid_t mtype = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
    if (mtype < 0) return -1;
    H5S_class_t sc = H5Sget_simple_extent_type(space);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[32];
    H5Sget_simple_extent_dims(space, dims, NULL);
    hssize_t n = sc == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
    size_t size = H5Tget_size(mtype);
    printf("%s %s %s rank=%d dims=", what, class_name(H5Tget_class(ftype)),
           sc == H5S_NULL ? "null" : sc == H5S_SCALAR ? "scalar" : "simple", rank);
    for (int i = 0; i < rank; i++) printf("%s%llu", i ? "x" : "", (unsigned long long)dims[i]);
    uint64_t h = 14695981039346656037ULL;
    if (n > 0) {
        if ((double)n * size > 1.0e9) { printf(" (too large to read)\n"); H5Tclose(mtype); return 0; }
        unsigned char *buf = calloc((size_t)n, size);
        herr_t st = is_attr ? H5Aread(obj, mtype, buf) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        if (st < 0) { printf(" READ FAILED\n"); free(buf); H5Tclose(mtype); return -1; }
        for (hssize_t i = 0; i < n; i++) sum(&h, mtype, buf + i * size);
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf);
        free(buf);
    }
    printf(" size=%zu sum=%016llx\n", size, (unsigned long long)h);
    H5Tclose(mtype);
    return 0;
}

static int failures;

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)info;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) { printf("  attr %s OPEN FAILED\n", name); failures++; return 0; }
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    char what[2048];
    snprintf(what, sizeof what, "  attr %s/%s", (const char *)data, name);
    if (report(what, t, s, a, 1) < 0) failures++;
    H5Tclose(t); H5Sclose(s); H5Aclose(a);
    return 0;
}

static herr_t object_cb(hid_t root, const char *name, const H5O_info_t *info, void *data) {
    (void)data;
    hid_t o = H5Oopen(root, name, H5P_DEFAULT);
    if (o < 0) { printf("object %s OPEN FAILED\n", name); failures++; return 0; }
    if (info->type == H5O_TYPE_DATASET) {
        hid_t t = H5Dget_type(o), s = H5Dget_space(o);
        char what[2048];
        snprintf(what, sizeof what, "dataset %s", name);
        if (report(what, t, s, o, 0) < 0) failures++;
        H5Tclose(t); H5Sclose(s);
    } else {
        printf("%s %s rc=%u\n", info->type == H5O_TYPE_GROUP ? "group" : "datatype", name, info->rc);
    }
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_cb, (void *)name);
    H5Oclose(o);
    return 0;
}

static herr_t link_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)data;
    if (info->type == H5L_TYPE_HARD) {
        printf("link %s hard\n", name);
        return 0;
    }
    char buf[2048] = "";
    H5Lget_val(g, name, buf, sizeof buf, H5P_DEFAULT);
    if (info->type == H5L_TYPE_SOFT) {
        printf("link %s soft -> %s\n", name, buf);
    } else {
        const char *fname, *path;
        unsigned flags;
        H5Lunpack_elink_val(buf, info->u.val_size, &flags, &fname, &path);
        printf("link %s external -> %s:%s\n", name, fname, path);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: h5walk FILE\n"); return 2; }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    file = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return 3;
    if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, link_cb, NULL) < 0) return 4;
    if (H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, object_cb, NULL) < 0) return 5;
    H5Fclose(file);
    return failures ? 6 : 0;
}

/*
 * mylib benchmarks from C, and the plain C reference implementations.
 *
 * Prints one JSON object on stdout: ns per call for add/process, GB/s for the
 * sums at each size, for (a) libmylib called from C and (b) plain C
 * implementations of the same functions as tutorials write them (one
 * accumulator), compiled at -O2, plus (c) a read-bandwidth reference (AVX2
 * loads OR-ed into 4 accumulators: the cost of just reading the memory), over
 * the same number of bytes as each kind of sum (n doubles, n ints).
 * Medians of repeats. Build: see the Makefile (bench target).
 */
#define _POSIX_C_SOURCE 200809L
#include <mylib.h>

#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile double sink_d;
static volatile int64_t sink_i;

#include "cref.c"

static int square(int x) { return x * x; }
static int ud_square(void *ud, int x, int *out) { (void)ud; *out = x * x; return 0; }

enum { K_FAST_SUM, K_SUM_F64, K_SUM_ARRAY, K_SUM_I32, K_REF_F64, K_REF_I32, K_BANDWIDTH, K_BANDWIDTH_I32,
       K_BANDWIDTH_ALL, K_COUNT };
static const char *K_NAMES[K_COUNT] = {"c_fast_sum", "c_mylib_sum_f64", "c_sum_array", "c_mylib_sum_i32",
                                       "cref_sum_f64", "cref_sum_i32", "c_read_bandwidth",
                                       "c_read_bandwidth_i32", "c_read_bandwidth_all_cores"};

static void run_kernel(int k, const double *d, const int *ints, size_t n) {
    double r;
    int64_t s;
    switch (k) {
    case K_FAST_SUM: fast_sum(d, (int)n, &r); sink_d = r; break;
    case K_SUM_F64: mylib_sum_f64(d, n, &r); sink_d = r; break;
    case K_SUM_ARRAY: sink_i = sum_array(ints, (int)n); break;
    case K_SUM_I32: mylib_sum_i32(ints, n, &s); sink_i = s; break;
    case K_REF_F64: sink_d = ref_sum_f64(d, n); break;
    case K_REF_I32: sink_i = ref_sum_i32(ints, n); break;
    case K_BANDWIDTH: sink_i = read_bandwidth(d, n * sizeof(double)); break;
    case K_BANDWIDTH_I32: sink_i = read_bandwidth(ints, n * sizeof(int)); break;
    /* as many threads as mylib's sum of the same bytes uses */
    case K_BANDWIDTH_ALL:
        sink_i = read_bandwidth_threads(d, n * sizeof(double), read_threads_for(n * sizeof(double), mylib_get_num_threads()));
        break;
    }
}

static size_t kernel_bytes(int k, size_t n) {
    return (k == K_SUM_ARRAY || k == K_SUM_I32 || k == K_REF_I32 || k == K_BANDWIDTH_I32) ? n * sizeof(int)
                                                                                    : n * sizeof(double);
}

int main(int argc, char **argv) {
    size_t sizes[8];
    int nsizes = 0;
    for (int i = 1; i < argc && nsizes < 8; i++) sizes[nsizes++] = (size_t)strtod(argv[i], NULL);
    if (nsizes == 0) { sizes[0] = 1000; sizes[1] = 100000; sizes[2] = 10000000; nsizes = 3; }

    printf("{\n");
    /* per call */
    {
        const int calls = 2000000, reps = 7;
        double t[7];
        const char *names[5] = {"c_add", "cref_add", "c_process", "c_mylib_process", "cref_process"};
        for (int which = 0; which < 5; which++) {
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                int acc = 0, out;
                for (int i = 0; i < calls; i++) {
                    switch (which) {
                    case 0: acc += add(i & 1023, 3); break;
                    case 1: acc += ref_add(i & 1023, 3); break;
                    case 2: acc += process(square, i & 1023); break;
                    case 3: mylib_process(ud_square, NULL, i & 1023, &out); acc += out; break;
                    case 4: acc += ref_process(square, i & 1023); break;
                    }
                }
                t[r] = (now() - t0) / calls * 1e9;
                sink_i = acc;
            }
            qsort(t, reps, sizeof t[0], cmp_double);
            printf("  \"%s_ns\": %.2f,\n", names[which], t[reps / 2]);
        }
    }
    printf("  \"sizes\": {\n");
    for (int si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        double *d = aligned_alloc(64, ((n * sizeof(double)) + 63) / 64 * 64);
        int *ints = aligned_alloc(64, ((n * sizeof(int)) + 63) / 64 * 64);
        if (!d || !ints) { fprintf(stderr, "out of memory\n"); return 1; }
        for (size_t i = 0; i < n; i++) { d[i] = (double)(i % 1000) * 0.001; ints[i] = (int)(i % 2001) - 1000; }
        printf("    \"%zu\": {", n);
        for (int k = 0; k < K_COUNT; k++) {
            if ((k == K_FAST_SUM || k == K_SUM_ARRAY) && n > 2147483647u) continue;
            size_t bytes = kernel_bytes(k, n);
            /* repeat inner loops so one sample is >= ~20 ms, medians of 7 samples */
            size_t inner = bytes >= 50000000 ? 1 : (size_t)(50000000 / (bytes + 1)) + 1;
            double t[7];
            for (int r = 0; r < 7; r++) {
                double t0 = now();
                for (size_t i = 0; i < inner; i++) run_kernel(k, d, ints, n);
                t[r] = (now() - t0) / (double)inner;
            }
            qsort(t, 7, sizeof t[0], cmp_double);
            printf("%s\"%s\": %.3f", k ? ", " : "", K_NAMES[k], (double)bytes / t[3] / 1e9);
        }
        printf("}%s\n", si + 1 < nsizes ? "," : "");
        free(d);
        free(ints);
    }
    printf("  }\n}\n");
    return 0;
}

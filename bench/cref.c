/*
 * The plain C references of the benchmark, compiled at -O2: the sums as
 * tutorials write them (one accumulator), and read-bandwidth references on one
 * thread and on several (the all-core read bandwidth mylib's threaded sums are
 * measured against). Included by bench_c.c, and built alone as
 * target/bench/libcref.so so that bench/run.py can time them on the very same
 * arrays as mylib and numpy.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

int ref_add(int a, int b);
int ref_process(int (*f)(int), int v);
double ref_sum_f64(const double *d, size_t n);
int64_t ref_sum_i32(const int *d, size_t n);
int64_t read_bandwidth(const void *p, size_t bytes);
int64_t read_bandwidth_threads(const void *p, size_t bytes, int threads);
int read_threads_for(size_t bytes, int max_threads);

/* ---- plain C references, as tutorials write them ---- */
__attribute__((noinline)) int ref_add(int a, int b) { return a + b; }
__attribute__((noinline)) double ref_sum_f64(const double *d, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += d[i];
    return s;
}
__attribute__((noinline)) int64_t ref_sum_i32(const int *d, size_t n) {
    int64_t s = 0;
    for (size_t i = 0; i < n; i++) s += d[i];
    return s;
}
__attribute__((noinline)) int ref_process(int (*f)(int), int v) { return f(v); }

/* ---- read bandwidth: touch every byte with the widest loads, no arithmetic chain ---- */
__attribute__((target("avx2"), noinline)) int64_t read_bandwidth(const void *p, size_t bytes) {
    const __m256i *v = (const __m256i *)p;
    size_t n = bytes / 32;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a = _mm256_or_si256(a, _mm256_loadu_si256(v + i));
        b = _mm256_or_si256(b, _mm256_loadu_si256(v + i + 1));
        c = _mm256_or_si256(c, _mm256_loadu_si256(v + i + 2));
        d = _mm256_or_si256(d, _mm256_loadu_si256(v + i + 3));
    }
    a = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
    int64_t out[4];
    _mm256_storeu_si256((__m256i *)out, a);
    return out[0] | out[1] | out[2] | out[3];
}


/* ---- all-core read bandwidth: the same loop on `threads` threads (the caller
 * included), each reading one contiguous part; threads are created for the
 * call and joined, as mylib does, so both pay the same start-up cost. ---- */
typedef struct {
    const char *p;
    size_t bytes;
    int64_t out;
} bw_part;

static void *bw_main(void *arg) {
    bw_part *part = arg;
    part->out = read_bandwidth(part->p, part->bytes);
    return NULL;
}

/* The thread count mylib's sums use for `bytes` of data with `max_threads`
 * allowed (mylib_get_num_threads()): one per 2 MiB, at least 1. */
int read_threads_for(size_t bytes, int max_threads) {
    size_t by_size = bytes / ((size_t)2 << 20);
    if (by_size < 1) by_size = 1;
    return by_size < (size_t)max_threads ? (int)by_size : max_threads;
}

__attribute__((noinline)) int64_t read_bandwidth_threads(const void *p, size_t bytes, int threads) {
    enum { MAX_PARTS = 256 };
    bw_part parts[MAX_PARTS];
    pthread_t th[MAX_PARTS];
    int started[MAX_PARTS] = {0};
    int64_t out = 0;
    if (threads < 1) threads = 1;
    if (threads > MAX_PARTS) threads = MAX_PARTS;
    /* Parts of whole 128-byte lines; the last one takes the rest. */
    size_t per = bytes / (size_t)threads / 128 * 128, off = 0;
    for (int t = 0; t < threads; t++) {
        parts[t].p = (const char *)p + off;
        parts[t].bytes = t + 1 < threads ? per : bytes - off;
        off += parts[t].bytes;
    }
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&th[t], NULL, bw_main, &parts[t]) == 0;
    for (int t = 1; t < threads; t++) {
        if (!started[t]) bw_main(&parts[t]); /* could not start: read it here */
    }
    bw_main(&parts[0]);
    for (int t = 0; t < threads; t++) {
        if (t > 0 && started[t]) pthread_join(th[t], NULL);
        out |= parts[t].out;
    }
    return out;
}

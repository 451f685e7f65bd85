/*
 * The plain C references of the benchmark, compiled at -O2: the sums as
 * tutorials write them (one accumulator), and a read-bandwidth reference.
 * Included by bench_c.c, and built alone as target/bench/libcref.so so that
 * bench/run.py can time them on the very same arrays as mylib and numpy.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

int ref_add(int a, int b);
int ref_process(int (*f)(int), int v);
double ref_sum_f64(const double *d, size_t n);
int64_t ref_sum_i32(const int *d, size_t n);
int64_t read_bandwidth(const void *p, size_t bytes);

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


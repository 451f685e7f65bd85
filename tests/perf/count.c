/* Runs each hot kernel once on N elements, for the instruction count check. */
#include <mylib.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1000000;
    double *d = malloc(n * sizeof *d);
    int *v = malloc(n * sizeof *v);
    if (!d || !v) return 1;
    for (size_t i = 0; i < n; i++) { d[i] = (double)(i % 97) * 0.25; v[i] = (int)(i % 2001) - 1000; }
    double s;
    int64_t t;
    if (mylib_sum_f64(d, n, &s) != MYLIB_OK || mylib_sum_i32(v, n, &t) != MYLIB_OK) return 2;
    printf("%f %lld\n", s, (long long)t);
    free(d);
    free(v);
    return 0;
}

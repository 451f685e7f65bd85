/*
 * Exhausted memory is an error, not an abort: each test runs in a forked
 * child that first builds a very long (but valid) name, then caps its own
 * address space (RLIMIT_AS) so that there is room for small allocations but
 * not for a second copy of the name. The greeting functions must return
 * MYLIB_ERR_NO_MEMORY, write nothing, and leave the library usable; the
 * debug line must still log the whole name (it streams it, no copy). The
 * parent checks that the child exited normally: an abort of the host (Rust's
 * default on allocation failure) is a SIGABRT there.
 *
 * The exact sums, under the same limit with what is left taken too (a
 * hoard of blocks): with no memory at all, mylib_exact_sum_new and
 * mylib_exact_sum_from_bytes are MYLIB_ERR_NO_MEMORY; with only a few KiB
 * left (no 64 KiB block: neither the exponent bins nor a thread's stack),
 * a large cancelling sum on "4 threads" is still exact.
 *
 * Linux only (RLIMIT_AS, /proc/self/statm). Built without sanitizers: ASan
 * reserves terabytes of address space and cannot run under RLIMIT_AS.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mylib.h"
#include "harness.h"

/* The name: large enough that its copy cannot fit the headroom below. */
#define NAME_BYTES ((size_t)64 << 20)
/* Address space left above what the child uses when it sets the limit. */
#define HEADROOM ((size_t)16 << 20)

static char *big_name(void) {
    char *name = malloc(NAME_BYTES + 1);
    if (name == NULL) return NULL;
    memset(name, 'n', NAME_BYTES);
    name[NAME_BYTES] = '\0';
    return name;
}

/* Caps the address space at what is in use now plus HEADROOM. */
static bool limit_address_space(void) {
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    struct rlimit rl;
    if (f == NULL) return false;
    if (fscanf(f, "%lu", &pages) != 1) {
        fclose(f);
        return false;
    }
    fclose(f);
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + HEADROOM;
    return setrlimit(RLIMIT_AS, &rl) == 0;
}

/* The test is only meaningful if the limit really refuses a name-sized block. */
static bool limit_refuses_a_copy(void) {
    void *p = malloc(NAME_BYTES);
    free(p);
    return p == NULL;
}

/* Redirects `fd` to a new temporary file; returns the file (or NULL). */
static FILE *redirect_to_tmp(int fd) {
    FILE *tmp = tmpfile();
    if (tmp == NULL || dup2(fileno(tmp), fd) < 0) return NULL;
    return tmp;
}

static long file_size(FILE *f) {
    struct stat st;
    if (fstat(fileno(f), &st) != 0) return -1;
    return (long)st.st_size;
}

/* ------------------------------------------------------------- the cases */

static bool greeting_case(const char *name) {
    char *out = (char *)0x1;
    CHECK_INT(mylib_greeting(name, &out), MYLIB_ERR_NO_MEMORY);
    CHECK(out == (char *)0x1); /* not written */
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NO_MEMORY);
    CHECK_CONTAINS(mylib_last_error_message(), "out of memory: cannot allocate");
    CHECK_CONTAINS(mylib_last_error_message(), "bytes for the greeting");
    CHECK_STR(mylib_status_str(MYLIB_ERR_NO_MEMORY), "out of memory");
    /* Still usable: a small greeting works. */
    CHECK_INT(mylib_greeting("small", &out), MYLIB_OK);
    CHECK_STR(out, "Hello, small!");
    mylib_string_free(out);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

static bool greet_case(const char *name) {
    FILE *out = redirect_to_tmp(STDOUT_FILENO);
    CHECK(out != NULL);
    greet(name);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NO_MEMORY);
    CHECK_CONTAINS(mylib_last_error_message(), "out of memory");
    CHECK_INT(mylib_greet(name), MYLIB_ERR_NO_MEMORY);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NO_MEMORY);
    fflush(stdout);
    CHECK_INT(file_size(out), 0); /* nothing written */
    /* Still usable: a short line is written. */
    CHECK_INT(mylib_greet("ok"), MYLIB_OK);
    CHECK_INT(file_size(out), (long)strlen("Hello, ok!\n"));
    return true;
}

static bool debug_line_case(const char *name) {
    char *out = NULL;
    char head[64];
    FILE *err = redirect_to_tmp(STDERR_FILENO);
    CHECK(err != NULL);
    set_debug(1);
    CHECK_INT(mylib_greeting(name, &out), MYLIB_ERR_NO_MEMORY);
    greet(name);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NO_MEMORY);
    set_debug(0);
    /* Both lines were logged with the whole name: more than twice its size. */
    CHECK(file_size(err) > (long)(2 * NAME_BYTES));
    rewind(err);
    CHECK(fread(head, 1, sizeof head - 1, err) == sizeof head - 1);
    head[sizeof head - 1] = '\0';
    CHECK_CONTAINS(head, "mylib: mylib_greeting(\"nnnn");
    return true;
}

/* ------------------------------------------------- the exact sums, no memory */

/* Blocks taken until malloc refuses, in a list threaded through the blocks
 * themselves (keeping it needs no memory). */
static void *hoard_head = NULL;

static void hoard_take(size_t size) {
    void *p;
    while ((p = malloc(size)) != NULL) {
        *(void **)p = hoard_head;
        hoard_head = p;
    }
}

/* Takes every block of `smallest` bytes or more that malloc still gives. */
static void hoard_down_to(size_t smallest) {
    size_t size;
    for (size = (size_t)1 << 24; size >= smallest; size /= 2) {
        hoard_take(size);
    }
}

static void hoard_release(void) {
    while (hoard_head != NULL) {
        void *next = *(void **)hoard_head;
        free(hoard_head);
        hoard_head = next;
    }
}

/* Whether malloc gives `size` bytes now (given back at once). */
static bool can_allocate(size_t size) {
    void *p = malloc(size);
    free(p);
    return p != NULL;
}

static bool exact_sum_case(const char *name) {
    mylib_exact_sum *const marker = (mylib_exact_sum *)(uintptr_t)8;
    mylib_exact_sum *before = NULL, *acc = marker;
    uint8_t bytes[MYLIB_EXACT_SUM_BYTES];
    double r = 0.0;
    (void)name;
    CHECK_INT(mylib_exact_sum_new(&before), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add_value(before, 1.5), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_to_bytes(before, bytes, sizeof bytes), MYLIB_OK);
    hoard_down_to(8);
    CHECK(!can_allocate(8));
    CHECK_INT(mylib_exact_sum_new(&acc), MYLIB_ERR_NO_MEMORY);
    CHECK(acc == marker); /* not written */
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NO_MEMORY);
    CHECK_CONTAINS(mylib_last_error_message(), "out of memory");
    CHECK_INT(mylib_exact_sum_from_bytes(bytes, sizeof bytes, &acc), MYLIB_ERR_NO_MEMORY);
    CHECK(acc == marker);
    /* A state made before needs no memory to be added to and read. */
    CHECK_INT(mylib_exact_sum_add_value(before, 2.0), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(before, &r), MYLIB_OK);
    CHECK(r == 3.5);
    hoard_release();
    CHECK_INT(mylib_exact_sum_new(&acc), MYLIB_OK);
    mylib_exact_sum_free(acc);
    mylib_exact_sum_free(before);
    return true;
}

/* The large sum: made and summed by the parent, before the fork. */
#define SUM_N ((size_t)600000) /* past the threading threshold (524,288) */
static double *sum_data;
static double sum_want;
static uint8_t sum_state_want[MYLIB_EXACT_SUM_BYTES];

static bool prepare_sum(void) {
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    size_t i, half = (SUM_N - 100) / 2;
    mylib_exact_sum *acc = NULL;
    bool ok;
    sum_data = malloc(SUM_N * sizeof *sum_data);
    if (sum_data == NULL) return false;
    /* Values over the whole exponent range and their negations, shuffled, and
     * a few smaller ones: the certificate fails, the exact path runs. */
    for (i = 0; i < SUM_N; i++) {
        uint64_t b;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b = (x >> 12) | ((uint64_t)(1 + (x >> 5) % 2000) << 52) | (x & (UINT64_C(1) << 63));
        if (i >= 2 * half) b = (x >> 12) | ((uint64_t)(900 + x % 200) << 52);
        memcpy(&sum_data[i], &b, sizeof b);
        if (i >= half && i < 2 * half) sum_data[i] = -sum_data[i - half];
    }
    for (i = SUM_N - 1; i > 0; i--) {
        size_t j;
        double t;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        j = (size_t)(x % (i + 1));
        t = sum_data[i];
        sum_data[i] = sum_data[j];
        sum_data[j] = t;
    }
    ok = mylib_sum_f64(sum_data, SUM_N, &sum_want) == MYLIB_OK && mylib_exact_sum_new(&acc) == MYLIB_OK &&
         mylib_exact_sum_add(acc, sum_data, SUM_N) == MYLIB_OK &&
         mylib_exact_sum_to_bytes(acc, sum_state_want, sizeof sum_state_want) == MYLIB_OK;
    mylib_exact_sum_free(acc);
    return ok;
}

/* Only a 32 KiB block left, no 64 KiB one: the exponent bins (64 KiB) and
 * the threads' stacks cannot be had; the sum is the same, bit for bit. */
static bool sum_without_bins_case(const char *name) {
    void *reserve = malloc((size_t)32 << 10);
    mylib_exact_sum *acc = NULL;
    uint8_t state[MYLIB_EXACT_SUM_BYTES];
    size_t shape[1] = {SUM_N};
    ptrdiff_t strides[1] = {-8};
    double r = -1.0, r2 = -1.0, r3 = -1.0;
    (void)name;
    CHECK(reserve != NULL);
    hoard_down_to((size_t)64 << 10);
    free(reserve);
    hoard_take((size_t)64 << 10); /* what the freed reserve may have joined */
    CHECK(!can_allocate((size_t)64 << 10));
    CHECK(can_allocate((size_t)4 << 10));
    CHECK_INT(mylib_set_num_threads(4), MYLIB_OK);
    CHECK_INT(mylib_sum_f64(sum_data, SUM_N, &r), MYLIB_OK);
    CHECK(memcmp(&r, &sum_want, sizeof r) == 0);
    fast_sum(sum_data, (int)SUM_N, &r2);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK(memcmp(&r2, &sum_want, sizeof r) == 0);
    CHECK_INT(mylib_sum_f64_strided(sum_data + SUM_N - 1, 1, shape, strides, &r3), MYLIB_OK);
    CHECK(memcmp(&r3, &sum_want, sizeof r) == 0);
    CHECK_INT(mylib_exact_sum_new(&acc), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add(acc, sum_data, SUM_N), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_to_bytes(acc, state, sizeof state), MYLIB_OK);
    CHECK(memcmp(state, sum_state_want, sizeof state) == 0);
    mylib_exact_sum_free(acc);
    CHECK(!can_allocate((size_t)64 << 10)); /* still no bins: the sums above ran without */
    hoard_release();
    return true;
}

/* ------------------------------------------------------------ the driver */

typedef bool (*nomem_case)(const char *name);

/* Runs `fn` in a child under the limit; passes when the child exits 0. */
static bool in_limited_child(nomem_case fn, const char *what) {
    int status = 0;
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return false;
    }
    if (pid == 0) {
        char *name = big_name();
        if (name == NULL) {
            fprintf(stderr, "  %s: could not allocate the name before the limit\n", what);
            _exit(2);
        }
        if (!limit_address_space()) {
            fprintf(stderr, "  %s: could not set RLIMIT_AS\n", what);
            _exit(3);
        }
        if (!limit_refuses_a_copy()) {
            fprintf(stderr, "  %s: the limit does not refuse a name-sized block\n", what);
            _exit(4);
        }
        _exit(fn(name) ? 0 : 1);
    }
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return false;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "  %s: the child was killed by signal %d%s\n", what, WTERMSIG(status),
                WTERMSIG(status) == SIGABRT ? " (SIGABRT: an abort on allocation failure)" : "");
        return false;
    }
    CHECK_INT(WEXITSTATUS(status), 0);
    return true;
}

static bool test_greeting_no_memory(void) { return in_limited_child(greeting_case, "greeting"); }
static bool test_greet_no_memory(void) { return in_limited_child(greet_case, "greet"); }
static bool test_debug_line_no_memory(void) { return in_limited_child(debug_line_case, "debug line"); }
static bool test_exact_sum_no_memory(void) { return in_limited_child(exact_sum_case, "exact sum"); }
static bool test_sum_without_bins(void) {
    bool ok = prepare_sum() && in_limited_child(sum_without_bins_case, "sum without bins");
    free(sum_data);
    return ok;
}

int main(void) {
    run_test(test_greeting_no_memory, "greeting_no_memory");
    run_test(test_greet_no_memory, "greet_no_memory");
    run_test(test_debug_line_no_memory, "debug_line_no_memory");
    run_test(test_exact_sum_no_memory, "exact_sum_no_memory");
    run_test(test_sum_without_bins, "sum_without_bins");
    return harness_finish();
}

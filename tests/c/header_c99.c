/*
 * include/mylib.h as a strict C99 consumer sees it: compiled with
 * -std=c99 -Wall -Wextra -Werror -pedantic and sanitizers, using only the
 * header (no test harness), every export called and checked.
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mylib.h"

/* C99 has no _Static_assert (gcc -std=c99 -pedantic rejects it): a negative
 * array size when the condition is false. */
#define C99_CAT_(a, b) a##b
#define C99_CAT(a, b) C99_CAT_(a, b)
#define STATIC_ASSERT(cond) typedef char C99_CAT(static_assert_line_, __LINE__)[(cond) ? 1 : -1]

STATIC_ASSERT(MYLIB_OK == 0);
STATIC_ASSERT(MYLIB_ERR_NULL_POINTER == 1);
STATIC_ASSERT(MYLIB_ERR_INVALID_LENGTH == 2);
STATIC_ASSERT(MYLIB_ERR_OVERFLOW == 3);
STATIC_ASSERT(MYLIB_ERR_MISSING_CALLBACK == 4);
STATIC_ASSERT(MYLIB_ERR_IO == 5);
STATIC_ASSERT(MYLIB_ERR_PANIC == 6);
STATIC_ASSERT(MYLIB_ERR_MISALIGNED == 7);
STATIC_ASSERT(MYLIB_ERR_CALLBACK_FAILED == 8);
STATIC_ASSERT(MYLIB_ERR_NO_MEMORY == 9);
STATIC_ASSERT(MYLIB_ERR_BAD_FORMAT == 10);
STATIC_ASSERT(MYLIB_ERR_UNSUPPORTED_VERSION == 11);
STATIC_ASSERT(MYLIB_EXACT_SUM_BYTES == 288);
STATIC_ASSERT(MYLIB_MAX_NDIM == 64);
STATIC_ASSERT(sizeof(Point) == 2 * sizeof(int));
STATIC_ASSERT(offsetof(Point, x) == 0);
STATIC_ASSERT(offsetof(Point, y) == sizeof(int));
STATIC_ASSERT(sizeof(mylib_status) == sizeof(int));

/* The new declarations, typed exactly: a pointer of another type is an
 * incompatible-pointer error under -Werror. mylib_exact_sum is opaque: only
 * pointers to it are declared (sizeof(mylib_exact_sum) would not compile). */
static int (*const sum_f64_strided_fn)(const void *, size_t, const size_t *, const ptrdiff_t *, double *) =
    mylib_sum_f64_strided;
static int (*const exact_sum_new_fn)(mylib_exact_sum **) = mylib_exact_sum_new;
static void (*const exact_sum_free_fn)(mylib_exact_sum *) = mylib_exact_sum_free;
static int (*const exact_sum_add_fn)(mylib_exact_sum *, const double *, size_t) = mylib_exact_sum_add;
static int (*const exact_sum_add_strided_fn)(mylib_exact_sum *, const void *, size_t, const size_t *,
                                             const ptrdiff_t *) = mylib_exact_sum_add_strided;
static int (*const exact_sum_add_value_fn)(mylib_exact_sum *, double) = mylib_exact_sum_add_value;
static int (*const exact_sum_merge_fn)(mylib_exact_sum *, const mylib_exact_sum *) = mylib_exact_sum_merge;
static int (*const exact_sum_result_fn)(const mylib_exact_sum *, double *) = mylib_exact_sum_result;
static int (*const exact_sum_count_fn)(const mylib_exact_sum *, uint64_t *) = mylib_exact_sum_count;
static int (*const exact_sum_reset_fn)(mylib_exact_sum *) = mylib_exact_sum_reset;
static int (*const exact_sum_to_bytes_fn)(const mylib_exact_sum *, uint8_t *, size_t) = mylib_exact_sum_to_bytes;
static int (*const exact_sum_from_bytes_fn)(const uint8_t *, size_t, mylib_exact_sum **) =
    mylib_exact_sum_from_bytes;

static int failures = 0;

#define EXPECT(cond)                                                        \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

#define EXPECT_CODE(code)                                                    \
    do {                                                                     \
        int got_ = mylib_last_error();                                       \
        if (got_ != (int)(code)) {                                           \
            fprintf(stderr, "%s:%d: last error %d, expected %s (%d): %s\n",  \
                    __FILE__, __LINE__, got_, #code, (int)(code),            \
                    mylib_last_error_message());                             \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* Typed exactly as the header's typedefs, so a signature change breaks the build. */
static int square(int v) { return v * v; }
static const callback_t square_cb = square;

static int add_offset(void *user_data, int value, int *result_out) {
    *result_out = value + *(const int *)user_data;
    return 0;
}
static const mylib_callback_fn add_offset_cb = add_offset;

static int always_fail(void *user_data, int value, int *result_out) {
    (void)user_data;
    (void)value;
    (void)result_out;
    return -1;
}

/* Runs `fn(arg)` with stdout going to a temporary file; copies what was
 * written into buf (NUL-terminated). */
static size_t stdout_of(void (*fn)(const void *), const void *arg, char *buf, size_t cap) {
    FILE *tmp = tmpfile();
    int saved;
    size_t n = 0;
    if (tmp == NULL) {
        return 0;
    }
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    fn(arg);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(buf, 1, cap - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return n;
}

static int last_code;
static void call_greet(const void *name) {
    greet((const char *)name);
    last_code = mylib_last_error();
}
static void call_print_point(const void *p) {
    print_point((const Point *)p);
    last_code = mylib_last_error();
}

int main(void) {
    char buf[256];
    char version[64];
    int ints[] = {INT_MAX, 1, -1};
    double doubles[] = {0.1, 0.2, 0.3, 0.4};
    double dres = -1.0;
    int64_t sum64 = 0;
    char *greeting = NULL;
    int offset = 10;
    int result = 0;
    int code;
    Point p = {INT_MIN, INT_MAX};

    /* add + last error */
    EXPECT(add(5, 3) == 8);
    EXPECT_CODE(MYLIB_OK);
    EXPECT(add(INT_MAX, 1) == INT_MIN);
    EXPECT_CODE(MYLIB_ERR_OVERFLOW);
    EXPECT(mylib_last_error_message() != NULL);
    EXPECT(strstr(mylib_last_error_message(), "overflow") != NULL);
    EXPECT(add(1, 2) == 3);
    EXPECT_CODE(MYLIB_OK);
    EXPECT(strcmp(mylib_last_error_message(), "no error") == 0);

    /* greet, print_point */
    EXPECT(stdout_of(call_greet, "C99", buf, sizeof buf) == strlen("Hello, C99!\n"));
    EXPECT(strcmp(buf, "Hello, C99!\n") == 0);
    EXPECT(last_code == MYLIB_OK);
    EXPECT(stdout_of(call_greet, NULL, buf, sizeof buf) == 0);
    EXPECT(last_code == MYLIB_ERR_NULL_POINTER);
    stdout_of(call_print_point, &p, buf, sizeof buf);
    EXPECT(strcmp(buf, "Point(-2147483648, 2147483647)\n") == 0);
    EXPECT(last_code == MYLIB_OK);
    EXPECT(stdout_of(call_print_point, NULL, buf, sizeof buf) == 0);
    EXPECT(last_code == MYLIB_ERR_NULL_POINTER);

    /* sum_array */
    EXPECT(sum_array(ints, 3) == INT_MAX);
    EXPECT_CODE(MYLIB_OK);
    EXPECT(sum_array(ints, 2) == INT_MIN);
    EXPECT_CODE(MYLIB_ERR_OVERFLOW);
    EXPECT(sum_array(NULL, 0) == 0);
    EXPECT_CODE(MYLIB_OK);
    EXPECT(sum_array(NULL, 3) == 0);
    EXPECT_CODE(MYLIB_ERR_NULL_POINTER);
    EXPECT(sum_array(ints, -1) == 0);
    EXPECT_CODE(MYLIB_ERR_INVALID_LENGTH);

    /* process */
    EXPECT(process(square_cb, 7) == 49);
    EXPECT_CODE(MYLIB_OK);
    EXPECT(process(NULL, 7) == 0);
    EXPECT_CODE(MYLIB_ERR_MISSING_CALLBACK);

    /* fast_sum */
    fast_sum(doubles, 4, &dres);
    EXPECT_CODE(MYLIB_OK);
    EXPECT(dres == 1.0);
    dres = 5.0;
    fast_sum(NULL, 4, &dres);
    EXPECT_CODE(MYLIB_ERR_NULL_POINTER);
    EXPECT(dres == 5.0);
    fast_sum(doubles, -4, &dres);
    EXPECT_CODE(MYLIB_ERR_INVALID_LENGTH);
    EXPECT(dres == 5.0);
    fast_sum(doubles, 4, NULL);
    EXPECT_CODE(MYLIB_ERR_NULL_POINTER);
    fast_sum(NULL, 0, &dres);
    EXPECT(dres == 0.0);

    /* set_debug / mylib_get_debug (stderr noise while on is silenced) */
    {
        int saved_err;
        FILE *sink = tmpfile();
        EXPECT(sink != NULL);
        if (sink != NULL) {
            saved_err = dup(STDERR_FILENO);
            dup2(fileno(sink), STDERR_FILENO);
            set_debug(1);
            EXPECT(mylib_get_debug() == 1);
            EXPECT(add(5, 3) == 8);
            set_debug(0);
            dup2(saved_err, STDERR_FILENO);
            close(saved_err);
            rewind(sink);
            memset(buf, 0, sizeof buf);
            EXPECT(fread(buf, 1, sizeof buf - 1, sink) > 0);
            EXPECT(strstr(buf, "mylib: add(5, 3) -> 8") != NULL);
            fclose(sink);
        }
        EXPECT(mylib_get_debug() == 0);
    }

    /* version, status strings */
    snprintf(version, sizeof version, "%d.%d.%d", MYLIB_VERSION_MAJOR, MYLIB_VERSION_MINOR,
             MYLIB_VERSION_PATCH);
    EXPECT(mylib_version() != NULL);
    EXPECT(strcmp(mylib_version(), MYLIB_VERSION_STRING) == 0);
    EXPECT(strcmp(mylib_version(), version) == 0);
    for (code = MYLIB_OK; code <= MYLIB_ERR_UNSUPPORTED_VERSION; code++) {
        EXPECT(mylib_status_str(code) != NULL);
        EXPECT(strcmp(mylib_status_str(code), mylib_status_str(-1)) != 0);
    }
    EXPECT(mylib_status_str(INT_MIN) != NULL);
    EXPECT(mylib_status_str(INT_MAX) != NULL);

    /* mylib_sum_i32 / mylib_sum_f64 */
    EXPECT(mylib_sum_i32(ints, 2, &sum64) == MYLIB_OK);
    EXPECT(sum64 == (int64_t)INT_MAX + 1);
    EXPECT(mylib_sum_i32(NULL, 0, &sum64) == MYLIB_OK);
    EXPECT(sum64 == 0);
    sum64 = 42;
    EXPECT(mylib_sum_i32(NULL, 1, &sum64) == MYLIB_ERR_NULL_POINTER);
    EXPECT(mylib_sum_i32(ints, 1, NULL) == MYLIB_ERR_NULL_POINTER);
    EXPECT(mylib_sum_i32(ints, SIZE_MAX, &sum64) == MYLIB_ERR_INVALID_LENGTH);
    EXPECT_CODE(MYLIB_ERR_INVALID_LENGTH);
    EXPECT(sum64 == 42);
    EXPECT(mylib_sum_f64(doubles, 4, &dres) == MYLIB_OK);
    EXPECT(dres == 1.0);
    dres = 9.0;
    EXPECT(mylib_sum_f64(NULL, 1, &dres) == MYLIB_ERR_NULL_POINTER);
    EXPECT(mylib_sum_f64(doubles, 1, NULL) == MYLIB_ERR_NULL_POINTER);
    EXPECT(mylib_sum_f64(doubles, SIZE_MAX, &dres) == MYLIB_ERR_INVALID_LENGTH);
    EXPECT(dres == 9.0);

    /* mylib_greeting / mylib_string_free */
    EXPECT(mylib_greeting("C99", &greeting) == MYLIB_OK);
    EXPECT(greeting != NULL && strcmp(greeting, "Hello, C99!") == 0);
    mylib_string_free(greeting);
    greeting = NULL;
    EXPECT(mylib_greeting(NULL, &greeting) == MYLIB_ERR_NULL_POINTER);
    EXPECT(greeting == NULL);
    EXPECT(mylib_greeting("x", NULL) == MYLIB_ERR_NULL_POINTER);
    mylib_string_free(NULL);
    EXPECT_CODE(MYLIB_OK);

    /* mylib_process */
    EXPECT(mylib_process(add_offset_cb, &offset, 32, &result) == MYLIB_OK);
    EXPECT(result == 42);
    result = 7;
    EXPECT(mylib_process(always_fail, NULL, 1, &result) == MYLIB_ERR_CALLBACK_FAILED);
    EXPECT_CODE(MYLIB_ERR_CALLBACK_FAILED);
    EXPECT(result == 7);
    EXPECT(mylib_process(NULL, NULL, 1, &result) == MYLIB_ERR_MISSING_CALLBACK);
    EXPECT(mylib_process(add_offset_cb, &offset, 1, NULL) == MYLIB_ERR_NULL_POINTER);
    EXPECT(result == 7);

    /* mylib_sum_f64_strided: a column of a 2 x 3 row-major matrix, reversed */
    {
        double m[6] = {1.0, 2.0, 4.0, 8.0, 16.0, 32.0};
        size_t shape[1] = {2};
        ptrdiff_t strides[1] = {-24};
        dres = -1.0;
        EXPECT(sum_f64_strided_fn(&m[4], 1, shape, strides, &dres) == MYLIB_OK);
        EXPECT(dres == 18.0);
        EXPECT(mylib_sum_f64_strided(m, 1, NULL, strides, &dres) == MYLIB_ERR_NULL_POINTER);
        EXPECT(mylib_sum_f64_strided(m, MYLIB_MAX_NDIM + 1, shape, strides, &dres) == MYLIB_ERR_INVALID_LENGTH);
        EXPECT(dres == 18.0);
    }

    /* mylib_exact_sum_*: a state made, added to, merged, serialized, read back */
    {
        mylib_exact_sum *acc = NULL, *other = NULL, *back = NULL;
        uint8_t bytes[MYLIB_EXACT_SUM_BYTES];
        size_t shape[1] = {2};
        ptrdiff_t strides[1] = {8};
        uint64_t count = 0;
        EXPECT(exact_sum_new_fn(&acc) == MYLIB_OK && acc != NULL);
        EXPECT(mylib_exact_sum_new(&other) == MYLIB_OK && other != NULL);
        EXPECT(exact_sum_add_fn(acc, doubles, 4) == MYLIB_OK);
        EXPECT(exact_sum_add_strided_fn(acc, doubles, 1, shape, strides) == MYLIB_OK);
        EXPECT(exact_sum_add_value_fn(other, 1e308) == MYLIB_OK);
        EXPECT(exact_sum_merge_fn(acc, other) == MYLIB_OK);
        EXPECT(exact_sum_add_value_fn(acc, -1e308) == MYLIB_OK);
        EXPECT(exact_sum_result_fn(acc, &dres) == MYLIB_OK && dres == 1.3);
        EXPECT(exact_sum_count_fn(acc, &count) == MYLIB_OK && count == 8);
        EXPECT(exact_sum_to_bytes_fn(acc, bytes, sizeof bytes) == MYLIB_OK);
        EXPECT(memcmp(bytes, "MYXS\x01", 5) == 0);
        EXPECT(exact_sum_from_bytes_fn(bytes, sizeof bytes, &back) == MYLIB_OK && back != NULL);
        EXPECT(mylib_exact_sum_result(back, &dres) == MYLIB_OK && dres == 1.3);
        bytes[4] = 2;
        EXPECT(mylib_exact_sum_from_bytes(bytes, sizeof bytes, &other) == MYLIB_ERR_UNSUPPORTED_VERSION);
        bytes[0] = 'X';
        EXPECT(mylib_exact_sum_from_bytes(bytes, sizeof bytes, &other) == MYLIB_ERR_BAD_FORMAT);
        EXPECT(exact_sum_reset_fn(acc) == MYLIB_OK);
        EXPECT(mylib_exact_sum_count(acc, &count) == MYLIB_OK && count == 0);
        EXPECT(mylib_exact_sum_to_bytes(acc, bytes, sizeof bytes - 1) == MYLIB_ERR_INVALID_LENGTH);
        exact_sum_free_fn(acc);
        mylib_exact_sum_free(other);
        mylib_exact_sum_free(back);
        mylib_exact_sum_free(NULL);
        EXPECT_CODE(MYLIB_OK);
    }

    printf("header_c99: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}

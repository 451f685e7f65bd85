/*
 * A tiny test harness in the style of regex-capi's tests.
 *
 *   static bool test_something(void) { CHECK(1 + 1 == 2); return true; }
 *   int main(void) { run_test(test_something, "something"); return harness_finish(); }
 *
 * A test function returns bool (or int): true/non-zero means pass. The CHECK
 * macros print file:line and the failing expression (CHECK_INT/CHECK_SIZE also
 * the two values, CHECK_STR the two strings) to stderr and make the test
 * function return false. run_test prints "ok <name>" or "FAIL <name>" on
 * stdout and counts; harness_finish() prints "<N> passed, <M> failed" alone on
 * a line and returns the exit status (non-zero when anything failed).
 *
 * Plain C99, header-only: include it from exactly one translation unit.
 */
#ifndef MYLIB_TEST_HARNESS_H
#define MYLIB_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed = 0;
static int harness_failed = 0;

/* Runs one test and records its outcome. `fn` takes no arguments. */
#define run_test(fn, name) harness_run((fn)(), (name))

static void harness_run(int passed, const char *name) {
    if (passed) {
        harness_passed++;
        printf("ok %s\n", name);
    } else {
        harness_failed++;
        printf("FAIL %s\n", name);
    }
    fflush(stdout);
}

/* Prints the summary line; returns the process exit status. */
static int harness_finish(void) {
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    fflush(stdout);
    return harness_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define HARNESS_FAIL_HEADER() \
    fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__)

/* Fails the current test when `expr` is false. */
#define CHECK(expr)                                                       \
    do {                                                                  \
        if (!(expr)) {                                                    \
            HARNESS_FAIL_HEADER();                                        \
            fprintf(stderr, "%s\n", #expr);                               \
            return false;                                                 \
        }                                                                 \
    } while (0)

/* Fails unless the two integer expressions are equal; prints both values. */
#define CHECK_INT(actual, expected)                                       \
    do {                                                                  \
        long long harness_a_ = (long long)(actual);                       \
        long long harness_e_ = (long long)(expected);                     \
        if (harness_a_ != harness_e_) {                                   \
            HARNESS_FAIL_HEADER();                                        \
            fprintf(stderr, "%s == %s (got %lld, expected %lld)\n",       \
                    #actual, #expected, harness_a_, harness_e_);          \
            return false;                                                 \
        }                                                                 \
    } while (0)

/* Same as CHECK_INT for unsigned values (size_t, uint64_t). */
#define CHECK_SIZE(actual, expected)                                      \
    do {                                                                  \
        unsigned long long harness_a_ = (unsigned long long)(actual);     \
        unsigned long long harness_e_ = (unsigned long long)(expected);   \
        if (harness_a_ != harness_e_) {                                   \
            HARNESS_FAIL_HEADER();                                        \
            fprintf(stderr, "%s == %s (got %llu, expected %llu)\n",       \
                    #actual, #expected, harness_a_, harness_e_);          \
            return false;                                                 \
        }                                                                 \
    } while (0)

/* Fails unless the two doubles are identical (==); prints both with %a. */
#define CHECK_DBL(actual, expected)                                       \
    do {                                                                  \
        double harness_a_ = (actual);                                     \
        double harness_e_ = (expected);                                   \
        if (!(harness_a_ == harness_e_)) {                                \
            HARNESS_FAIL_HEADER();                                        \
            fprintf(stderr, "%s == %s (got %.17g = %a, expected %.17g = %a)\n", \
                    #actual, #expected, harness_a_, harness_a_,           \
                    harness_e_, harness_e_);                              \
            return false;                                                 \
        }                                                                 \
    } while (0)

/* Fails unless both strings are non-NULL and equal; prints both. */
#define CHECK_STR(actual, expected)                                       \
    do {                                                                  \
        const char *harness_a_ = (actual);                                \
        const char *harness_e_ = (expected);                              \
        if (harness_a_ == NULL || harness_e_ == NULL ||                   \
            strcmp(harness_a_, harness_e_) != 0) {                        \
            HARNESS_FAIL_HEADER();                                        \
            fprintf(stderr, "%s == %s (got \"%s\", expected \"%s\")\n",   \
                    #actual, #expected,                                   \
                    harness_a_ ? harness_a_ : "(null)",                   \
                    harness_e_ ? harness_e_ : "(null)");                  \
            return false;                                                 \
        }                                                                 \
    } while (0)

/* Fails unless `haystack` (non-NULL) contains `needle`. */
#define CHECK_CONTAINS(haystack, needle)                                  \
    do {                                                                  \
        const char *harness_h_ = (haystack);                              \
        const char *harness_n_ = (needle);                                \
        if (harness_h_ == NULL || strstr(harness_h_, harness_n_) == NULL) { \
            HARNESS_FAIL_HEADER();                                        \
            fprintf(stderr, "%s contains %s (got \"%s\")\n",              \
                    #haystack, #needle,                                   \
                    harness_h_ ? harness_h_ : "(null)");                  \
            return false;                                                 \
        }                                                                 \
    } while (0)

/* A compile-time assertion that is valid C99 (_Static_assert is C11 and
 * gcc -std=c99 -pedantic rejects it): a negative array size when false. */
#define HARNESS_CAT_(a, b) a##b
#define HARNESS_CAT(a, b) HARNESS_CAT_(a, b)
#define STATIC_CHECK(cond, msg) \
    typedef char HARNESS_CAT(static_check_line_, __LINE__)[(cond) ? 1 : -1]

#endif /* MYLIB_TEST_HARNESS_H */

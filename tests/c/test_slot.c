/*
 * The last-error slot's contract, from C:
 *  - a call that succeeds leaves the slot at MYLIB_OK, whatever mylib calls
 *    its callback made (process, mylib_process);
 *  - a call that fails reports its own error, not its callback's;
 *  - thread teardown: mylib calls made from a pthread key destructor (which
 *    glibc runs after every C++/Rust thread-local destructor) record their
 *    errors like any other call, whether or not the thread used mylib before.
 *
 * Built like test_mylib.c: -std=c99 -pedantic -Werror, ASan/UBSan/LSan.
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mylib.h"
#include "harness.h"

/* ------------------------------------------------------- success means OK */

static int cb_fails_inside(int x) {
    sum_array(NULL, 3); /* fails: NULL with a length */
    if (mylib_last_error() != MYLIB_ERR_NULL_POINTER) return -1000;
    return x + 1;
}

static bool test_process_success_clears_inner_error(void) {
    CHECK_INT(process(cb_fails_inside, 1), 2);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_STR(mylib_last_error_message(), "no error");
    return true;
}

static int cb_ud_fails_inside(void *user_data, int value, int *result_out) {
    int sum = 0;
    int *inner = (int *)user_data;
    *inner = mylib_add(INT_MAX, value, &sum); /* fails: overflow */
    *result_out = value * 3;
    return 0;
}

static bool test_mylib_process_success_clears_inner_error(void) {
    int inner = -1, r = 0;
    CHECK_INT(mylib_process(cb_ud_fails_inside, &inner, 5, &r), MYLIB_OK);
    CHECK_INT(inner, MYLIB_ERR_OVERFLOW);
    CHECK_INT(r, 15);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_STR(mylib_last_error_message(), "no error");
    return true;
}

static int cb_ud_fails_then_refuses(void *user_data, int value, int *result_out) {
    char *s = NULL;
    (void)user_data;
    (void)value;
    (void)result_out;
    (void)mylib_greeting(NULL, &s); /* fails: NULL name */
    return 7;
}

static bool test_failure_reports_own_error(void) {
    int r = 0;
    CHECK_INT(mylib_process(cb_ud_fails_then_refuses, NULL, 1, &r), MYLIB_ERR_CALLBACK_FAILED);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_CALLBACK_FAILED);
    CHECK_STR(mylib_last_error_message(), "callback failed with status 7");
    return true;
}

/* Nested: a callback that runs process() with a callback that fails inside. */
static int cb_nested(int x) {
    return process(cb_fails_inside, x) * 10;
}

static bool test_nested_callbacks(void) {
    CHECK_INT(process(cb_nested, 4), 50);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* -------------------------------------------------------- thread teardown */

typedef struct {
    int code_after_failure;
    char message[128];
    int code_after_success;
    int greeting_status;
    char greeting[64];
    int code_after_overflow;
    bool ran;
} teardown_record;

static pthread_key_t teardown_key;
static teardown_record records[2];

static void copy_str(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : "(null)");
}

/* Runs at thread exit, after the thread's C++/Rust thread-local destructors. */
static void teardown_destructor(void *arg) {
    teardown_record *rec = (teardown_record *)arg;
    char *s = NULL;
    sum_array(NULL, 3);
    rec->code_after_failure = mylib_last_error();
    copy_str(rec->message, sizeof rec->message, mylib_last_error_message());
    (void)add(2, 3);
    rec->code_after_success = mylib_last_error();
    rec->greeting_status = mylib_greeting("late", &s);
    copy_str(rec->greeting, sizeof rec->greeting, s);
    mylib_string_free(s);
    (void)add(INT_MAX, 1);
    rec->code_after_overflow = mylib_last_error();
    rec->ran = true;
}

static void *teardown_thread(void *arg) {
    teardown_record *rec = (teardown_record *)arg;
    if (pthread_setspecific(teardown_key, rec) != 0) return NULL;
    if (rec == &records[0]) {
        /* This thread uses mylib before it exits; the other one does not. */
        int v[] = {1, 2};
        (void)sum_array(v, 2);
        (void)add(INT_MAX, 1);
    }
    return NULL;
}

static bool check_record(const teardown_record *rec) {
    CHECK(rec->ran);
    CHECK_INT(rec->code_after_failure, MYLIB_ERR_NULL_POINTER);
    CHECK_STR(rec->message, "arr must not be NULL");
    CHECK_INT(rec->code_after_success, MYLIB_OK);
    CHECK_INT(rec->greeting_status, MYLIB_OK);
    CHECK_STR(rec->greeting, "Hello, late!");
    CHECK_INT(rec->code_after_overflow, MYLIB_ERR_OVERFLOW);
    return true;
}

static bool test_errors_recorded_during_thread_teardown(void) {
    pthread_t t;
    int i;
    memset(records, 0, sizeof records);
    CHECK_INT(pthread_key_create(&teardown_key, teardown_destructor), 0);
    for (i = 0; i < 2; i++) {
        CHECK_INT(pthread_create(&t, NULL, teardown_thread, &records[i]), 0);
        CHECK_INT(pthread_join(t, NULL), 0);
    }
    CHECK_INT(pthread_key_delete(teardown_key), 0);
    for (i = 0; i < 2; i++) {
        if (!check_record(&records[i])) {
            fprintf(stderr, "  in the destructor of thread %d (%s mylib before exit)\n", i,
                    i == 0 ? "used" : "did not use");
            return false;
        }
    }
    return true;
}

int main(void) {
    run_test(test_process_success_clears_inner_error, "process_success_clears_inner_error");
    run_test(test_mylib_process_success_clears_inner_error, "mylib_process_success_clears_inner_error");
    run_test(test_failure_reports_own_error, "failure_reports_own_error");
    run_test(test_nested_callbacks, "nested_callbacks");
    run_test(test_errors_recorded_during_thread_teardown, "errors_recorded_during_thread_teardown");
    return harness_finish();
}

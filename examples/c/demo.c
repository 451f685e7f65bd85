/*
 * mylib from C: every function once.
 *
 *   cc -std=c99 -Iinclude examples/c/demo.c -Ltarget/release -lmylib \
 *      -Wl,-rpath,$PWD/target/release -o demo && ./demo
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "mylib.h"

/* For process(): an int -> int function. */
static int square(int x) { return x * x; }

/* For mylib_process(): gets the user_data pointer back, reports success
 * with 0 and its result through *result_out. */
struct counter {
    int calls;
};

static int count_and_double(void *user_data, int value, int *result_out) {
    struct counter *c = user_data;
    c->calls++;
    *result_out = 2 * value;
    return 0;
}

int main(void) {
    int numbers[] = {INT_MAX, 1};
    double values[] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
    double total = 0.0;
    int64_t exact = 0;
    char *greeting = NULL;
    struct counter counter = {0};
    int result = 0;
    Point p = {3, 4};

    printf("mylib %s\n", mylib_version());

    /* The tutorial functions. */
    printf("add(5, 3) = %d\n", add(5, 3));
    greet("world");
    print_point(&p);
    printf("process(square, 7) = %d\n", process(square, 7));
    fast_sum(values, 10, &total);
    printf("fast_sum(ten times 0.1) = %.17g\n", total);

    /* sum_array wraps around on overflow and flags it. Call first, then read
     * the error: C leaves the order of evaluation of arguments unspecified. */
    result = sum_array(numbers, 2);
    printf("sum_array({INT_MAX, 1}) = %d (error %d: %s)\n", result, mylib_last_error(),
           mylib_last_error_message());
    /* ...mylib_sum_i32 gives the exact 64-bit sum. */
    if (mylib_sum_i32(numbers, 2, &exact) == MYLIB_OK) {
        printf("mylib_sum_i32({INT_MAX, 1}) = %lld\n", (long long)exact);
    }
    if (mylib_sum_f64(values, 10, &total) == MYLIB_OK) {
        printf("mylib_sum_f64(ten times 0.1) = %.17g\n", total);
    }

    /* Strings from mylib are freed with mylib_string_free, never free(). */
    if (mylib_greeting("C", &greeting) == MYLIB_OK) {
        printf("mylib_greeting: %s\n", greeting);
        mylib_string_free(greeting);
    }

    /* Callbacks with user data. */
    if (mylib_process(count_and_double, &counter, 21, &result) == MYLIB_OK) {
        printf("mylib_process: %d (callback called %d time)\n", result, counter.calls);
    }

    /* Debug logging: one line per call on stderr while on. */
    fflush(stdout);
    set_debug(1);
    add(2, 2);
    set_debug(0);
    printf("debug logging is %s\n", mylib_get_debug() ? "on" : "off");

    /* Handling an error: the code and message of the last failed call on this
     * thread (the message stays valid until the next mylib call). */
    result = sum_array(NULL, 3);
    if (mylib_last_error() != MYLIB_OK) {
        int code = mylib_last_error();
        printf("sum_array(NULL, 3) = %d -> error %d (%s): %s\n", result, code,
               mylib_status_str(code), mylib_last_error_message());
    }

    return 0;
}

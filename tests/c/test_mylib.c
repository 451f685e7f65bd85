/*
 * The C test suite of mylib: every export, every documented bad input.
 *
 * Built twice by the Makefile (against libmylib.so and against libmylib.a),
 * both times with -std=c99 -pedantic -Werror and ASan/UBSan/LSan; again
 * without sanitizers (make test-c-nosan), under valgrind (make
 * test-valgrind), for aarch64 under qemu and for Windows under Wine.
 *
 * The float sums are exact (the exact sum rounded once): they are checked
 * bit for bit against a plain big-integer reference written here in C, and
 * against tests/vectors/sum_f64.txt (hard cases with their expected bits,
 * from Python's exact fractions), compiled in as target/c/sum_f64_vectors.inc
 * so that no file is read under Wine or qemu. Those checks compare bits, so
 * that they hold while the floating-point environment is changed.
 *
 * Windows (mk/windows.mk, run under Wine): the same suite, built with
 * mingw-w64 against mylib.dll, against libmylib.a, and as a UCRT program.
 * The `#ifdef _WIN32` parts are the Windows spellings of the POSIX calls
 * (_pipe, _dup, _dup2, _beginthreadex, a temporary file in %TEMP%); the
 * SIGPIPE test is POSIX-only, and text-mode stdout is Windows-only.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <windows.h>
#define dup _dup
#define dup2 _dup2
#define close _close
#define fileno _fileno
#define pipe(fds) _pipe((fds), 4096, _O_BINARY)
#define STDOUT_FILENO 1
#define STDERR_FILENO 2
#else
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h> /* _mm_getcsr / _mm_setcsr: the floating-point environment test */
#endif

#include "mylib.h"
#include "harness.h"

/* ------------------------------------------------------------------ ABI */

/* The status codes are ABI: exactly these values. */
STATIC_CHECK(MYLIB_OK == 0, "MYLIB_OK");
STATIC_CHECK(MYLIB_ERR_NULL_POINTER == 1, "MYLIB_ERR_NULL_POINTER");
STATIC_CHECK(MYLIB_ERR_INVALID_LENGTH == 2, "MYLIB_ERR_INVALID_LENGTH");
STATIC_CHECK(MYLIB_ERR_OVERFLOW == 3, "MYLIB_ERR_OVERFLOW");
STATIC_CHECK(MYLIB_ERR_MISSING_CALLBACK == 4, "MYLIB_ERR_MISSING_CALLBACK");
STATIC_CHECK(MYLIB_ERR_IO == 5, "MYLIB_ERR_IO");
STATIC_CHECK(MYLIB_ERR_PANIC == 6, "MYLIB_ERR_PANIC");
STATIC_CHECK(MYLIB_ERR_MISALIGNED == 7, "MYLIB_ERR_MISALIGNED");
STATIC_CHECK(MYLIB_ERR_CALLBACK_FAILED == 8, "MYLIB_ERR_CALLBACK_FAILED");
STATIC_CHECK(MYLIB_ERR_NO_MEMORY == 9, "MYLIB_ERR_NO_MEMORY");
STATIC_CHECK(MYLIB_ERR_BAD_FORMAT == 10, "MYLIB_ERR_BAD_FORMAT");
STATIC_CHECK(MYLIB_ERR_UNSUPPORTED_VERSION == 11, "MYLIB_ERR_UNSUPPORTED_VERSION");
STATIC_CHECK(MYLIB_EXACT_SUM_BYTES == 288, "MYLIB_EXACT_SUM_BYTES");
STATIC_CHECK(MYLIB_MAX_NDIM == 64, "MYLIB_MAX_NDIM");

/* Point is two ints, x then y, no padding. */
STATIC_CHECK(sizeof(Point) == 2 * sizeof(int), "sizeof(Point)");
STATIC_CHECK(offsetof(Point, x) == 0, "offsetof(Point, x)");
STATIC_CHECK(offsetof(Point, y) == sizeof(int), "offsetof(Point, y)");

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool test_enum_values(void) {
    /* Also at run time, so a failure is visible in the output. */
    CHECK_INT(MYLIB_OK, 0);
    CHECK_INT(MYLIB_ERR_NULL_POINTER, 1);
    CHECK_INT(MYLIB_ERR_INVALID_LENGTH, 2);
    CHECK_INT(MYLIB_ERR_OVERFLOW, 3);
    CHECK_INT(MYLIB_ERR_MISSING_CALLBACK, 4);
    CHECK_INT(MYLIB_ERR_IO, 5);
    CHECK_INT(MYLIB_ERR_PANIC, 6);
    CHECK_INT(MYLIB_ERR_MISALIGNED, 7);
    CHECK_INT(MYLIB_ERR_CALLBACK_FAILED, 8);
    CHECK_INT(MYLIB_ERR_NO_MEMORY, 9);
    CHECK_INT(MYLIB_ERR_BAD_FORMAT, 10);
    CHECK_INT(MYLIB_ERR_UNSUPPORTED_VERSION, 11);
    return true;
}

static bool test_point_layout(void) {
    Point pts[2] = {{1, 2}, {3, 4}};
    const int *raw = &pts[0].x;
    CHECK_SIZE(sizeof(Point), 2 * sizeof(int));
    CHECK_SIZE(offsetof(Point, y), sizeof(int));
    CHECK_SIZE(sizeof pts, 4 * sizeof(int));
    CHECK_INT(raw[0], 1);
    CHECK_INT(raw[1], 2);
    return true;
}

/* ------------------------------------------------------- fd capture helpers */

/* A temporary file, "w+b", gone when closed. msvcrt.dll's tmpfile() creates
 * it in the root of the drive, which users may not write to: Windows takes
 * one from %TEMP%. A binary file: dup2 gives fd 1 its mode, so the capture
 * sees the bytes written, not a CRLF translation. */
static FILE *temp_file(const char *mode) {
#ifdef _WIN32
    char dir[MAX_PATH], path[MAX_PATH], full_mode[8];
    DWORD n = GetTempPathA(sizeof dir, dir);
    if (n == 0 || n >= sizeof dir || GetTempFileNameA(dir, "myl", 0, path) == 0) {
        return NULL;
    }
    snprintf(full_mode, sizeof full_mode, "%sD", mode); /* D: delete on close */
    return fopen(path, full_mode);
#else
    (void)mode;
    return tmpfile();
#endif
}

/* Redirects `fd` (1 or 2) into a temporary file until capture_end. */
typedef struct {
    int fd;
    int saved;
    FILE *tmp;
} capture;

static bool capture_begin_mode(capture *c, int fd, const char *mode) {
    c->fd = fd;
    c->tmp = temp_file(mode);
    if (c->tmp == NULL) {
        perror("temporary file");
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    c->saved = dup(fd);
    if (c->saved < 0 || dup2(fileno(c->tmp), fd) < 0) {
        perror("dup/dup2");
        fclose(c->tmp);
        return false;
    }
    return true;
}

static bool capture_begin(capture *c, int fd) {
    return capture_begin_mode(c, fd, "w+b");
}

/* Restores the fd and returns what was written (malloc'd, NUL-terminated,
 * length in *len_out); NULL on error. */
static char *capture_end(capture *c, size_t *len_out) {
    char *buf = NULL;
    long size;
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved, c->fd);
    close(c->saved);
    clearerr(stdout);
#ifdef _WIN32
    /* Read back the bytes in the file, whatever mode it was written in. */
    _setmode(fileno(c->tmp), _O_BINARY);
#endif
    if (fseek(c->tmp, 0, SEEK_END) == 0 && (size = ftell(c->tmp)) >= 0 &&
        fseek(c->tmp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf != NULL) {
            size_t got = fread(buf, 1, (size_t)size, c->tmp);
            buf[got] = '\0';
            if (len_out != NULL) {
                *len_out = got;
            }
        }
    }
    fclose(c->tmp);
    return buf;
}

/* Runs greet(name) with stdout captured; returns the bytes written. */
static char *greet_captured(const char *name, size_t *len, int *code) {
    capture c;
    if (!capture_begin(&c, STDOUT_FILENO)) {
        return NULL;
    }
    greet(name);
    *code = mylib_last_error();
    return capture_end(&c, len);
}

static char *print_point_captured(const Point *p, size_t *len, int *code) {
    capture c;
    if (!capture_begin(&c, STDOUT_FILENO)) {
        return NULL;
    }
    print_point(p);
    *code = mylib_last_error();
    return capture_end(&c, len);
}

/* Checks that a captured buffer is exactly `expected` (bytes); frees it. */
static bool captured_equals(char *got, size_t len, const char *expected) {
    bool same = got != NULL && len == strlen(expected) && memcmp(got, expected, len) == 0;
    if (!same) {
        fprintf(stderr, "  captured %zu bytes \"%s\", expected \"%s\"\n",
                got ? len : 0, got ? got : "(null)", expected);
    }
    free(got);
    return same;
}

/* ------------------------------------------------------------------ add */

static bool test_add(void) {
    CHECK_INT(add(5, 3), 8);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(add(-5, 3), -2);
    CHECK_INT(add(0, 0), 0);
    CHECK_INT(add(INT_MAX, 0), INT_MAX);
    CHECK_INT(add(INT_MIN, 0), INT_MIN);
    CHECK_INT(add(INT_MAX, INT_MIN), -1);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

static bool test_add_overflow(void) {
    CHECK_INT(add(INT_MAX, 1), INT_MIN);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_CONTAINS(mylib_last_error_message(), "overflow");
    /* A successful call clears the slot. */
    CHECK_INT(add(5, 3), 8);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_STR(mylib_last_error_message(), "no error");

    CHECK_INT(add(INT_MIN, -1), INT_MAX);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_INT(add(INT_MAX, INT_MAX), -2);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_INT(add(INT_MIN, INT_MIN), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    return true;
}

/* ------------------------------------------------------- last error */

static bool test_last_error_message(void) {
    const char *msg;
    int sentinel = 0;
    CHECK_INT(add(1, 1), 2);
    CHECK_STR(mylib_last_error_message(), "no error");

    CHECK_INT(sum_array(NULL, 3), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    msg = mylib_last_error_message();
    CHECK(msg != NULL);
    CHECK_CONTAINS(msg, "NULL");
    /* Reading the error does not clear it. */
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK_CONTAINS(mylib_last_error_message(), "NULL");

    CHECK_INT(sum_array(&sentinel, -1), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK_CONTAINS(mylib_last_error_message(), "length");

    CHECK_INT(process(NULL, 1), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISSING_CALLBACK);
    CHECK_CONTAINS(mylib_last_error_message(), "NULL");

    /* Any successful mylib call clears it again. */
    CHECK_INT(sum_array(&sentinel, 1), 0);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_STR(mylib_last_error_message(), "no error");
    return true;
}

/* ------------------------------------------------------------------ greet */

static bool test_greet_output(void) {
    size_t len = 0;
    int code = -1;
    char *out = greet_captured("world", &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, world!\n"));

    out = greet_captured("", &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, !\n"));

    out = greet_captured("caf\xc3\xa9", &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, caf\xc3\xa9!\n"));
    return true;
}

static bool test_greet_non_utf8(void) {
    size_t len = 0;
    int code = -1;
    char *out = greet_captured("\xff\xfe", &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, \xff\xfe!\n"));
    return true;
}

static bool test_greet_null(void) {
    size_t len = 0;
    int code = -1;
    char *out;
    add(INT_MAX, 1); /* leave an error behind: greet must clear, then set */
    out = greet_captured(NULL, &len, &code);
    CHECK_INT(code, MYLIB_ERR_NULL_POINTER);
    CHECK_CONTAINS(mylib_last_error_message(), "NULL");
    CHECK(captured_equals(out, len, ""));

    /* A good call afterwards clears the slot. */
    out = greet_captured("again", &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, again!\n"));
    return true;
}

/* greet writes through C's `stdout` FILE, so buffered printf text comes first. */
static bool test_greet_ordering(void) {
    capture c;
    size_t len = 0;
    char *out;
    int code;
    CHECK(capture_begin(&c, STDOUT_FILENO));
    printf("a");   /* stays in stdout's buffer (redirected to a file) */
    greet("b");
    code = mylib_last_error();
    printf("c\n");
    out = capture_end(&c, &len);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "aHello, b!\nc\n"));
    return true;
}

#ifdef _WIN32
/* A text-mode stdout translates "\n" to "\r\n": mylib's lines get the same
 * translation as printf's, because they go through the same stream. */
static bool test_greet_text_mode(void) {
    capture c;
    size_t len = 0;
    char *out;
    int code;
    Point p = {1, -1};
    CHECK(capture_begin_mode(&c, STDOUT_FILENO, "w+t"));
    printf("a");
    greet("b");
    code = mylib_last_error();
    printf("c\n");
    print_point(&p);
    out = capture_end(&c, &len);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "aHello, b!\r\nc\r\nPoint(1, -1)\r\n"));
    return true;
}
#endif

/* fd 1 → the write end of a pipe whose read end is closed: EPIPE, and with the
 * default SIGPIPE disposition the process must survive. */
static bool test_greet_broken_pipe(void) {
    int fds[2];
    int saved;
    int code_greet, code_point, code_after;
    Point p = {1, 2};
#ifndef _WIN32
    sigset_t pending;
#endif
    size_t len = 0;
    char *out;

#ifndef _WIN32
    CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
#endif
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0);
    if (dup2(fds[1], STDOUT_FILENO) < 0) {
        close(saved);
        close(fds[1]);
        CHECK(!"dup2");
    }
    close(fds[1]);

    greet("x");
    code_greet = mylib_last_error();
    print_point(&p);
    code_point = mylib_last_error();

    dup2(saved, STDOUT_FILENO);
    close(saved);
    clearerr(stdout);

    CHECK_INT(code_greet, MYLIB_ERR_IO);
    CHECK_INT(code_point, MYLIB_ERR_IO);
#ifndef _WIN32
    /* No SIGPIPE left pending either. */
    CHECK(sigpending(&pending) == 0);
    CHECK(sigismember(&pending, SIGPIPE) == 0);
#endif

    /* stdout works again and nothing from the failed calls leaks out. */
    out = greet_captured("y", &len, &code_after);
    CHECK_INT(code_after, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, y!\n"));
    return true;
}

#ifndef _WIN32
/* POSIX-only from here to the matching #endif: SIGPIPE and signal masks. */

/* Points fd 1 at a pipe whose read end is closed; returns the saved fd 1. */
static int stdout_to_broken_pipe(void) {
    int fds[2];
    int saved;
    if (pipe(fds) != 0) {
        return -1;
    }
    close(fds[0]);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    if (saved >= 0 && dup2(fds[1], STDOUT_FILENO) < 0) {
        close(saved);
        saved = -1;
    }
    close(fds[1]);
    return saved;
}

static void stdout_restore(int saved) {
    dup2(saved, STDOUT_FILENO);
    close(saved);
    clearerr(stdout);
}

static bool sigpipe_pending(void) {
    sigset_t pending;
    return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

/* The caller blocks SIGPIPE itself: a SIGPIPE it already had pending stays
 * pending (mylib only swallows the one its own write raised), and mylib's own
 * SIGPIPE does not leak out. */
static bool test_greet_sigpipe_caller_blocked(void) {
    sigset_t pipe_only, old;
    const struct timespec zero = {0, 0};
    int saved, code1, code2;
    bool pending_before, pending_after_own, pending_after_foreign;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    CHECK(pthread_sigmask(SIG_BLOCK, &pipe_only, &old) == 0);

    /* 1. Nothing pending before: nothing pending after. */
    saved = stdout_to_broken_pipe();
    if (saved < 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        CHECK(!"broken pipe setup");
    }
    pending_before = sigpipe_pending();
    greet("x");
    code1 = mylib_last_error();
    pending_after_own = sigpipe_pending();

    /* 2. The caller's own SIGPIPE pending before: still pending after. */
    raise(SIGPIPE);
    greet("y");
    code2 = mylib_last_error();
    pending_after_foreign = sigpipe_pending();
    stdout_restore(saved);

    while (sigtimedwait(&pipe_only, NULL, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    CHECK(!pending_before);
    CHECK_INT(code1, MYLIB_ERR_IO);
    CHECK(!pending_after_own);
    CHECK_INT(code2, MYLIB_ERR_IO);
    CHECK(pending_after_foreign);
    CHECK(!sigpipe_pending());
    return true;
}
#endif /* !_WIN32 */

/* A name longer than stdio's buffer. */
static bool test_greet_long_name(void) {
    const size_t n = 200000;
    char *name = malloc(n + 1);
    char *expected = malloc(n + 16);
    char *out;
    size_t len = 0;
    int code = -1;
    size_t i;
    bool same;
    CHECK(name != NULL && expected != NULL);
    for (i = 0; i < n; i++) {
        name[i] = (char)('a' + i % 26);
    }
    name[n] = '\0';
    snprintf(expected, n + 16, "Hello, %s!\n", name);
    out = greet_captured(name, &len, &code);
    same = captured_equals(out, len, expected);
    free(name);
    free(expected);
    CHECK_INT(code, MYLIB_OK);
    CHECK(same);
    return true;
}

/* fd 1 closed: EBADF. */
static bool test_greet_closed_stdout(void) {
    int saved;
    int code_greet, code_point, code_after;
    const char *msg;
    char msg_copy[256];
    Point p = {3, 4};
    size_t len = 0;
    char *out;

    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0);
    close(STDOUT_FILENO);

    greet("x");
    code_greet = mylib_last_error();
    msg = mylib_last_error_message();
    snprintf(msg_copy, sizeof msg_copy, "%s", msg ? msg : "(null)");
    print_point(&p);
    code_point = mylib_last_error();

    dup2(saved, STDOUT_FILENO);
    close(saved);
    clearerr(stdout);

    CHECK_INT(code_greet, MYLIB_ERR_IO);
    CHECK_INT(code_point, MYLIB_ERR_IO);
    CHECK(strcmp(msg_copy, "no error") != 0);
    CHECK(msg_copy[0] != '\0');

    out = greet_captured("z", &len, &code_after);
    CHECK_INT(code_after, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, z!\n"));
    return true;
}

/* --------------------------------------- status-returning twins (mylib_add, ...) */

/* Runs mylib_greet(name) with stdout captured; *code is the returned status. */
static char *mylib_greet_captured(const char *name, size_t *len, int *code) {
    capture c;
    if (!capture_begin(&c, STDOUT_FILENO)) {
        return NULL;
    }
    *code = mylib_greet(name);
    return capture_end(&c, len);
}

static char *mylib_print_point_captured(const Point *p, size_t *len, int *code) {
    capture c;
    if (!capture_begin(&c, STDOUT_FILENO)) {
        return NULL;
    }
    *code = mylib_print_point(p);
    return capture_end(&c, len);
}

static bool test_mylib_add(void) {
    int sum = 12345;
    CHECK_INT(mylib_add(5, 3, &sum), MYLIB_OK);
    CHECK_INT(sum, 8);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(mylib_add(INT_MAX, INT_MIN, &sum), MYLIB_OK);
    CHECK_INT(sum, -1);
    /* Overflow: the status, the slot, and *sum_out untouched. */
    sum = 777;
    CHECK_INT(mylib_add(INT_MAX, 1, &sum), MYLIB_ERR_OVERFLOW);
    CHECK_INT(sum, 777);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_STR(mylib_last_error_message(), "integer overflow in add");
    CHECK_INT(mylib_add(INT_MIN, -1, &sum), MYLIB_ERR_OVERFLOW);
    CHECK_INT(sum, 777);
    CHECK_INT(mylib_add(1, 2, NULL), MYLIB_ERR_NULL_POINTER);
    CHECK_STR(mylib_last_error_message(), "sum_out must not be NULL");
    {
        int cells[2] = {0, 0};
        int *odd = (int *)(void *)((char *)cells + 1);
        CHECK_INT(mylib_add(1, 2, odd), MYLIB_ERR_MISALIGNED);
        CHECK_INT(cells[0], 0);
        CHECK_INT(cells[1], 0);
    }
    /* A good call clears the slot. */
    CHECK_INT(mylib_add(-2, -3, &sum), MYLIB_OK);
    CHECK_INT(sum, -5);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* mylib_add_packed: the sum, or MYLIB_PACKED_FAIL_BASE + status, in one int64_t. */
static bool test_mylib_add_packed(void) {
    CHECK(mylib_add_packed(5, 3) == 8);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK(mylib_add_packed(INT_MAX, 0) == INT_MAX);
    CHECK(mylib_add_packed(INT_MIN, 0) == INT_MIN);
    CHECK(mylib_add_packed(INT_MAX, INT_MIN) == -1);
    CHECK(mylib_add_packed(INT_MAX, 1) == MYLIB_PACKED_FAIL_BASE + MYLIB_ERR_OVERFLOW);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_STR(mylib_last_error_message(), "integer overflow in add");
    {
        /* How a caller tells them apart: any failure is below INT_MIN. */
        int64_t r = mylib_add_packed(INT_MIN, -1);
        CHECK(r < INT_MIN);
        CHECK_INT((int)(r - MYLIB_PACKED_FAIL_BASE), MYLIB_ERR_OVERFLOW);
    }
    CHECK(mylib_add_packed(-2, -3) == -5);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

static bool test_mylib_greet(void) {
    size_t len = 0;
    int code = -1;
    char *out = mylib_greet_captured("twin", &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, twin!\n"));
    out = mylib_greet_captured("\xff", &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Hello, \xff!\n"));
    out = mylib_greet_captured(NULL, &len, &code);
    CHECK_INT(code, MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK(captured_equals(out, len, ""));
    return true;
}

static bool test_mylib_print_point(void) {
    size_t len = 0;
    int code = -1;
    Point p = {INT_MIN, 7};
    Point pts[2] = {{1, 2}, {3, 4}};
    const Point *odd = (const Point *)(const void *)((const char *)pts + 1);
    char *out = mylib_print_point_captured(&p, &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Point(-2147483648, 7)\n"));
    out = mylib_print_point_captured(NULL, &len, &code);
    CHECK_INT(code, MYLIB_ERR_NULL_POINTER);
    CHECK(captured_equals(out, len, ""));
    out = mylib_print_point_captured(odd, &len, &code);
    CHECK_INT(code, MYLIB_ERR_MISALIGNED);
    CHECK(captured_equals(out, len, ""));
    return true;
}

/* With fd 1 closed, the twins return MYLIB_ERR_IO themselves. */
static bool test_twins_closed_stdout(void) {
    int saved, code_greet, code_point;
    Point p = {3, 4};
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0);
    close(STDOUT_FILENO);
    code_greet = mylib_greet("x");
    code_point = mylib_print_point(&p);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    clearerr(stdout);
    CHECK_INT(code_greet, MYLIB_ERR_IO);
    CHECK_INT(code_point, MYLIB_ERR_IO);
    return true;
}

/* ------------------------------------------------------------ print_point */

static bool test_print_point(void) {
    size_t len = 0;
    int code = -1;
    Point p = {1, 2};
    Point q = {-3, 0};
    Point ext = {INT_MIN, INT_MAX};
    char *out = print_point_captured(&p, &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Point(1, 2)\n"));

    out = print_point_captured(&q, &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Point(-3, 0)\n"));

    out = print_point_captured(&ext, &len, &code);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out, len, "Point(-2147483648, 2147483647)\n"));
    return true;
}

static bool test_print_point_null(void) {
    size_t len = 0;
    int code = -1;
    char *out = print_point_captured(NULL, &len, &code);
    CHECK_INT(code, MYLIB_ERR_NULL_POINTER);
    CHECK(captured_equals(out, len, ""));
    return true;
}

/* ------------------------------------------------------------- sum_array */

static bool test_sum_array(void) {
    int a[] = {1, 2, 3, 4, 5};
    int neg[] = {-10, 3, -7};
    int one[] = {INT_MIN};
    CHECK_INT(sum_array(a, 5), 15);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(sum_array(a, 2), 3);
    CHECK_INT(sum_array(a, 0), 0);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(sum_array(neg, 3), -14);
    CHECK_INT(sum_array(one, 1), INT_MIN);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

static bool test_sum_array_bad_input(void) {
    int a[] = {1, 2, 3};
    CHECK_INT(sum_array(NULL, 0), 0);
    CHECK_INT(mylib_last_error(), MYLIB_OK);

    CHECK_INT(sum_array(NULL, 3), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);

    CHECK_INT(sum_array(a, -1), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(sum_array(a, INT_MIN), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(sum_array(NULL, -1), 0);
    CHECK(mylib_last_error() == MYLIB_ERR_INVALID_LENGTH ||
          mylib_last_error() == MYLIB_ERR_NULL_POINTER);
    return true;
}

static bool test_sum_array_overflow(void) {
    int up[] = {INT_MAX, 1};
    int down[] = {INT_MIN, -1};
    int fits[] = {INT_MAX, 1, -1};
    int big[4] = {INT_MAX, INT_MAX, INT_MAX, INT_MAX};
    CHECK_INT(sum_array(up, 2), INT_MIN);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_CONTAINS(mylib_last_error_message(), "overflow");

    CHECK_INT(sum_array(down, 2), INT_MAX);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);

    /* The exact sum fits: no error even though a prefix overflows. */
    CHECK_INT(sum_array(fits, 3), INT_MAX);
    CHECK_INT(mylib_last_error(), MYLIB_OK);

    /* 4 * INT_MAX = 0x1_FFFF_FFFC wraps to -4. */
    CHECK_INT(sum_array(big, 4), -4);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    return true;
}

/* A misaligned int pointer, made through uintptr_t arithmetic (the
 * conversion is implementation-defined, not UB; gcc keeps the address).
 * The pointer is never dereferenced by this code. */
static const void *misaligned(const void *base) {
    return (const void *)((uintptr_t)base + 1);
}

static bool test_sum_array_misaligned(void) {
    static double storage[8]; /* 8-aligned, zeroed, 64 readable bytes */
    const int *bad = (const int *)misaligned(storage);
    CHECK_INT(sum_array(bad, 3), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISALIGNED);
    CHECK_CONTAINS(mylib_last_error_message(), "align");
    return true;
}

/* ------------------------------------------------------------------ process */

static int times_two(int v) { return v * 2; }
static int negate(int v) { return v == INT_MIN ? INT_MIN : -v; }
/* Re-entrant: calls mylib from inside the callback. */
static int via_add(int v) { return add(v, 100); }
static int via_sum(int v) {
    int arr[3] = {v, v, v};
    return sum_array(arr, 3);
}

static bool test_process(void) {
    CHECK_INT(process(times_two, 21), 42);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(process(negate, 5), -5);
    CHECK_INT(process(times_two, 0), 0);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

static bool test_process_null(void) {
    CHECK_INT(process(NULL, 5), 0);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISSING_CALLBACK);
    CHECK_INT(process(times_two, 1), 2);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

static bool test_process_reentrant(void) {
    CHECK_INT(process(via_add, 1), 101);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(process(via_sum, 7), 21);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* ------------------------------------------------ the exact reference (C) */

/* The exact sum of doubles, as plainly as tests/common/exact.rs, for trust
 * rather than speed and independent of mylib: every finite double is an
 * integer number of units of 2^-1074; the positive and the negative values
 * are added separately into two big unsigned integers (base-2^32 digits,
 * schoolbook carries), and ref_result subtracts the smaller from the larger
 * and rounds the difference bit by bit, to nearest, ties to even. NaN and
 * the infinities as IEEE 754 and the header say. */
#define REF_DIGITS 80 /* 2560 bits: room for 2^462 values of up to 2^2098 units */
typedef struct {
    uint32_t pos[REF_DIGITS];
    uint32_t neg[REF_DIGITS];
    bool nan, pos_inf, neg_inf;
} ref_sum;

/* The expected answer of a sum: its status, and its bits (any NaN when is_nan). */
typedef struct {
    int status;
    bool is_nan;
    uint64_t bits;
} answer;

static uint64_t bits_of(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double from_bits(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* Classified from the bits: no floating-point operation (the environment
 * test calls it with flush-to-zero set). */
static bool bits_are_nan(uint64_t b) {
    return ((b >> 52) & 0x7ff) == 0x7ff && (b & ((UINT64_C(1) << 52) - 1)) != 0;
}

static void ref_init(ref_sum *r) { memset(r, 0, sizeof *r); }

/* n += x * 2^(32 d), for x < 2^64. */
static void ref_add_at(uint32_t *n, unsigned d, uint64_t x) {
    while (x != 0) {
        uint64_t t = (uint64_t)n[d] + (x & 0xffffffffu);
        n[d] = (uint32_t)t;
        x = (x >> 32) + (t >> 32);
        d++;
    }
}

static void ref_add(ref_sum *r, double x) {
    uint64_t b = bits_of(x);
    unsigned e = (unsigned)((b >> 52) & 0x7ff);
    uint64_t m = b & ((UINT64_C(1) << 52) - 1);
    unsigned shift;
    uint32_t *target = (b >> 63) ? r->neg : r->pos;
    if (e == 0x7ff) {
        if (m != 0) {
            r->nan = true;
        } else if (b >> 63) {
            r->neg_inf = true;
        } else {
            r->pos_inf = true;
        }
        return;
    }
    if (e != 0) {
        m |= UINT64_C(1) << 52;
    }
    shift = e == 0 ? 0 : e - 1; /* x = m * 2^(shift - 1074) */
    ref_add_at(target, shift / 32, (m & 0xffffffffu) << (shift % 32));
    ref_add_at(target, shift / 32 + 1, (m >> 32) << (shift % 32));
}

static void ref_add_all(ref_sum *r, const double *d, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        ref_add(r, d[i]);
    }
}

static int ref_bit(const uint32_t *n, unsigned i) { return (int)((n[i / 32] >> (i % 32)) & 1); }

static answer ref_result(const ref_sum *r) {
    answer a = {MYLIB_OK, false, 0};
    uint32_t mag[REF_DIGITS];
    const uint32_t *big = r->pos, *small = r->neg;
    uint64_t sign = 0, mant = 0;
    int64_t borrow = 0;
    int top = -1, d, half, below = 0;
    unsigned i, shift;
    if (r->nan || (r->pos_inf && r->neg_inf)) {
        a.is_nan = true;
        a.bits = UINT64_C(0x7ff8000000000000);
        return a;
    }
    if (r->pos_inf || r->neg_inf) {
        a.bits = r->pos_inf ? UINT64_C(0x7ff0000000000000) : UINT64_C(0xfff0000000000000);
        return a;
    }
    for (d = REF_DIGITS - 1; d >= 0; d--) {
        if (r->pos[d] != r->neg[d]) {
            if (r->pos[d] < r->neg[d]) {
                big = r->neg;
                small = r->pos;
                sign = UINT64_C(1) << 63;
            }
            break;
        }
    }
    for (d = 0; d < REF_DIGITS; d++) {
        int64_t v = (int64_t)big[d] - (int64_t)small[d] - borrow;
        borrow = v < 0;
        mag[d] = (uint32_t)(v < 0 ? v + (INT64_C(1) << 32) : v);
    }
    for (i = 0; i < 32 * REF_DIGITS; i++) {
        if (ref_bit(mag, i)) {
            top = (int)i;
        }
    }
    if (top < 0) {
        return a; /* an exact zero: +0.0 */
    }
    if (top < 53) {
        for (i = 0; i < 53; i++) {
            mant |= (uint64_t)ref_bit(mag, i) << i;
        }
        a.bits = sign | mant;
        return a;
    }
    shift = (unsigned)top - 52;
    for (i = 0; i < 53; i++) {
        mant |= (uint64_t)ref_bit(mag, shift + i) << i;
    }
    half = ref_bit(mag, shift - 1);
    for (i = 0; i + 1 < shift; i++) {
        below |= ref_bit(mag, i);
    }
    if (half && (below || (mant & 1))) {
        mant++;
        if (mant == UINT64_C(1) << 53) {
            mant >>= 1;
            shift++;
        }
    }
    /* mant * 2^(shift - 1074), mant in [2^52, 2^53): biased exponent shift + 1. */
    if (shift + 1 >= 2047) {
        a.status = MYLIB_ERR_OVERFLOW;
        a.bits = sign | UINT64_C(0x7ff0000000000000);
        return a;
    }
    a.bits = sign | (((uint64_t)shift << 52) + mant);
    return a;
}

/* The expected answer for n doubles. */
static answer ref_of(const double *d, size_t n) {
    static ref_sum r; /* 640 bytes: off the stack of small test threads */
    ref_init(&r);
    ref_add_all(&r, d, n);
    return ref_result(&r);
}

/* Whether (status, value) is the answer, to the bit; reports it if not. */
static bool answer_is(answer want, int status, double got, const char *what) {
    uint64_t g = bits_of(got);
    if (status == want.status && (want.is_nan ? bits_are_nan(g) : g == want.bits)) {
        return true;
    }
    fprintf(stderr, "  %s: got status %d, bits %016llx (%.17g); want status %d, %s %016llx\n", what, status,
            (unsigned long long)g, got, want.status, want.is_nan ? "NaN" : "bits",
            (unsigned long long)want.bits);
    return false;
}

static bool test_reference_itself(void) {
    /* The reference, on sums whose answer is known without it. */
    double tie[] = {0x1p53, 1.0, 0x1p-60};
    double even[] = {0x1p53, 1.0};
    double big[] = {1e308, 1e308, -1e308};
    double over[] = {DBL_MAX, 0x1p970};
    double under[] = {-DBL_MAX, -0x1p970, 0x1p-1074};
    double sub[] = {DBL_MIN, -0x1p-1074};
    double zero[] = {-0.0, -0.0};
    double nan_[] = {1.0, NAN};
    double infs[] = {INFINITY, -INFINITY};
    answer a;
    a = ref_of(tie, 3);
    CHECK(a.status == MYLIB_OK && a.bits == bits_of(0x1p53 + 2.0));
    a = ref_of(even, 2);
    CHECK(a.bits == bits_of(0x1p53));
    a = ref_of(big, 3);
    CHECK(a.bits == bits_of(1e308));
    a = ref_of(over, 2);
    CHECK(a.status == MYLIB_ERR_OVERFLOW && a.bits == bits_of(INFINITY));
    a = ref_of(under, 3);
    CHECK(a.status == MYLIB_OK && a.bits == bits_of(-DBL_MAX));
    a = ref_of(sub, 2);
    CHECK(a.bits == UINT64_C(0x000fffffffffffff));
    a = ref_of(zero, 2);
    CHECK(a.status == MYLIB_OK && a.bits == 0);
    CHECK(ref_of(nan_, 2).is_nan);
    CHECK(ref_of(infs, 2).is_nan);
    return true;
}

/* ------------------------------------------------------------------ fast_sum */

static bool test_fast_sum_basic(void) {
    double d[] = {1.5, 2.25, -0.75};
    double r = -1.0;
    fast_sum(d, 3, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, 3.0);
    fast_sum(d, 1, &r);
    CHECK_DBL(r, 1.5);

    r = 123.0;
    fast_sum(NULL, 0, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK(bits_of(r) == 0); /* +0.0 */

    r = 123.0;
    fast_sum(d, 0, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK(bits_of(r) == 0);
    return true;
}

static bool test_fast_sum_bad_input(void) {
    double d[] = {1.0, 2.0, 3.0};
    double cells[2] = {-9.0, -9.0};
    const double sentinel = -4242.5;
    double r = sentinel;

    fast_sum(d, 2, NULL);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    fast_sum(NULL, 0, NULL);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);

    fast_sum(NULL, 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK_DBL(r, sentinel);

    fast_sum(d, -1, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK_DBL(r, sentinel);
    fast_sum(d, INT_MIN, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK_DBL(r, sentinel);

    /* Misaligned data or result: nothing read, nothing written. */
    fast_sum((const double *)misaligned(d), 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISALIGNED);
    CHECK_DBL(r, sentinel);
    fast_sum(d, 2, (double *)misaligned(cells));
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISALIGNED);
    CHECK_DBL(cells[0], -9.0);
    CHECK_DBL(cells[1], -9.0);

    fast_sum(d, 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, 3.0);
    return true;
}

static bool test_fast_sum_exact_cases(void) {
    double tenth[10];
    double classic[] = {1.0, 1e100, 1.0, -1e100};
    double tie[] = {0x1p53, 1.0, 0x1p-60};
    double tie_even[] = {0x1p53, 1.0};
    double tie_up[] = {0x1p53, 3.0};
    static const int ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100, 1000, 30000};
    double r;
    size_t i, j;

    for (i = 0; i < 10; i++) {
        tenth[i] = 0.1;
    }
    fast_sum(tenth, 10, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, 1.0);

    fast_sum(classic, 4, &r);
    CHECK_DBL(r, 2.0);

    /* Half-ulp ties: to even, unless a value far below breaks them. */
    fast_sum(tie, 3, &r);
    CHECK_DBL(r, 0x1p53 + 2.0);
    fast_sum(tie_even, 2, &r);
    CHECK_DBL(r, 0x1p53);
    fast_sum(tie_up, 2, &r);
    CHECK_DBL(r, 0x1p53 + 4.0);

    /* {1e16, 1, -1e16} k times: exactly k, whatever the lanes and blocks. */
    for (j = 0; j < COUNT_OF(ks); j++) {
        int k = ks[j];
        double *v = malloc(3 * (size_t)k * sizeof *v);
        CHECK(v != NULL);
        for (i = 0; i < (size_t)k; i++) {
            v[3 * i] = 1e16;
            v[3 * i + 1] = 1.0;
            v[3 * i + 2] = -1e16;
        }
        r = -1.0;
        fast_sum(v, 3 * k, &r);
        free(v);
        if (r != (double)k) {
            fprintf(stderr, "  {1e16, 1, -1e16} x %d\n", k);
        }
        CHECK_DBL(r, (double)k);
    }
    return true;
}

/* Finite values whose exact sum is beyond the double range: the infinity of
 * its sign and MYLIB_ERR_OVERFLOW; no intermediate overflow otherwise. */
static bool test_fast_sum_overflow_to_inf(void) {
    double two_max[] = {DBL_MAX, DBL_MAX};
    double two_min[] = {-DBL_MAX, -DBL_MAX};
    double back[] = {DBL_MAX, DBL_MAX, -DBL_MAX};
    double big[] = {1e308, 1e308, -1e308};
    double top_tie[] = {DBL_MAX, 0x1p970};
    double below_tie[] = {DBL_MAX, 0x1p970, -0x1p-1074};
    double many[64];
    double r = 0.0;
    int i;
    for (i = 0; i < 64; i++) {
        many[i] = 1e307;
    }

    fast_sum(two_max, 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_CONTAINS(mylib_last_error_message(), "beyond the range of double");
    CHECK_DBL(r, INFINITY);
    r = 0.0;
    CHECK_INT(mylib_sum_f64(two_max, 2, &r), MYLIB_ERR_OVERFLOW);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_DBL(r, INFINITY); /* the one failure that writes */

    fast_sum(two_min, 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_DBL(r, -INFINITY);

    fast_sum(many, 64, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_DBL(r, INFINITY);

    /* DBL_MAX + half its ulp is a tie that rounds to even: beyond the range. */
    fast_sum(top_tie, 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_DBL(r, INFINITY);
    fast_sum(below_tie, 3, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, DBL_MAX);

    /* No intermediate overflow: the exact sums are doubles. */
    fast_sum(back, 3, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, DBL_MAX);
    CHECK_INT(mylib_sum_f64(big, 3, &r), MYLIB_OK);
    CHECK_DBL(r, 1e308);
    return true;
}

static bool test_fast_sum_special_values(void) {
    double with_nan[] = {1.0, NAN, 2.0};
    double with_inf[] = {INFINITY, 1.0};
    double with_ninf[] = {-1.0, -INFINITY, 5.0};
    double both_inf[] = {INFINITY, -INFINITY};
    double inf_over[] = {DBL_MAX, INFINITY, DBL_MAX};
    double ninf_over[] = {DBL_MAX, -INFINITY, DBL_MAX};
    double nan_over[] = {DBL_MAX, DBL_MAX, NAN};
    double r = 0.0;

    fast_sum(with_nan, 3, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK(isnan(r));

    fast_sum(with_inf, 2, &r);
    CHECK(isinf(r) && r > 0);

    fast_sum(with_ninf, 3, &r);
    CHECK(isinf(r) && r < 0);

    fast_sum(both_inf, 2, &r);
    CHECK(isnan(r));

    /* An infinity given decides, even against values that overflow: no error. */
    fast_sum(inf_over, 3, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, INFINITY);
    fast_sum(ninf_over, 3, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, -INFINITY);
    fast_sum(nan_over, 3, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK(isnan(r));
    return true;
}

/* xorshift64*: a deterministic generator, the same on every platform. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
/* Uniform in [0, 1). */
static double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }

/* A double of random sign and significand with a biased exponent in
 * [lo, hi] (made from bits: no libm). */
static double rng_exponent(unsigned lo, unsigned hi) {
    uint64_t e = lo + rng_next() % (hi - lo + 1);
    uint64_t b = (rng_next() >> 12) | (e << 52) | (rng_next() & (UINT64_C(1) << 63));
    return from_bits(b);
}

static void rng_shuffle(double *d, size_t n) {
    size_t i;
    for (i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next() % i);
        double t = d[i - 1];
        d[i - 1] = d[j];
        d[j] = t;
    }
}

/* n values that cancel: random values with exponents over (nearly) the
 * whole range, their exact negations, and a few smaller values; shuffled. */
static void fill_cancelling(double *d, size_t n) {
    size_t i, half = n / 2;
    for (i = 0; i < half; i++) {
        d[i] = rng_exponent(1, 2000);
        d[half + i] = -d[i];
    }
    for (i = 2 * half; i < n; i++) {
        d[i] = rng_exponent(900, 1100);
    }
    if (n > 2 && n == 2 * half) {
        d[n - 1] = rng_exponent(1, 1100); /* not an exact zero */
    }
    rng_shuffle(d, n);
}

/* fast_sum and mylib_sum_f64 against the C reference, bit for bit. */
static bool sums_match_reference(const double *d, size_t n, const char *what) {
    answer want = ref_of(d, n);
    double r = -1.0, r2 = -1.0;
    int st;
    fast_sum(d, (int)n, &r);
    st = mylib_last_error();
    if (!answer_is(want, st, r, what)) {
        fprintf(stderr, "  (fast_sum, n = %zu)\n", n);
        return false;
    }
    st = mylib_sum_f64(d, n, &r2);
    if (!answer_is(want, st, r2, what)) {
        fprintf(stderr, "  (mylib_sum_f64, n = %zu)\n", n);
        return false;
    }
    return true;
}

static bool test_fast_sum_random_large(void) {
    const size_t n = 1000000;
    double *d = malloc(n * sizeof *d);
    size_t i;
    bool ok;
    CHECK(d != NULL);

    /* Mixed signs and magnitudes (certified on the fast path). */
    for (i = 0; i < n; i++) {
        d[i] = (rng_unit() * 2.0 - 1.0) * from_bits((uint64_t)(1003 + rng_next() % 40) << 52);
    }
    ok = sums_match_reference(d, n, "mixed signs and magnitudes");
    /* Positive values (no cancellation). */
    for (i = 0; ok && i < n; i++) {
        d[i] = rng_unit();
    }
    ok = ok && sums_match_reference(d, n, "positive values");
    /* Cancellation with exponents over the whole range (the exact path). */
    if (ok) {
        fill_cancelling(d, n);
    }
    ok = ok && sums_match_reference(d, n, "cancelling, every exponent");
    free(d);
    CHECK(ok);
    return true;
}

/* Every small length (SIMD tails, the one-by-one route below 64 values)
 * and every start offset, on hard and on easy data. */
static bool test_fast_sum_lengths(void) {
    double hard[140], easy[140];
    size_t n, off, i;
    fill_cancelling(hard, COUNT_OF(hard));
    for (i = 0; i < COUNT_OF(easy); i++) {
        easy[i] = (rng_unit() - 0.5) * 1000.0;
    }
    for (off = 0; off < 4; off++) {
        for (n = 0; n + off <= 136; n++) {
            CHECK(sums_match_reference(hard + off, n, "hard, every length"));
            CHECK(sums_match_reference(easy + off, n, "easy, every length"));
        }
    }
    return true;
}

static bool test_fast_sum_aliasing(void) {
    double d[5] = {1.0, 2.0, 3.0, 4.0, 5.0};
    double e[5] = {1.0, 2.0, 3.0, 4.0, 5.0};
    fast_sum(d, 5, &d[0]);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(d[0], 15.0);
    CHECK_DBL(d[4], 5.0);
    fast_sum(e, 5, &e[4]);
    CHECK_DBL(e[4], 15.0);
    CHECK_DBL(e[0], 1.0);
    return true;
}

/* ------------------------------------------------------------------ debug */

static bool test_debug_logging(void) {
    capture c;
    size_t len = 0;
    char *err_text;
    int r1, r2, on, off;

    if (getenv("MYLIB_DEBUG") == NULL) {
        CHECK_INT(mylib_get_debug(), 0);
    }
    CHECK(capture_begin(&c, STDERR_FILENO));
    set_debug(1);
    on = mylib_get_debug();
    r1 = add(5, 3);
    r2 = add(-1, -2);
    set_debug(0);
    off = mylib_get_debug();
    err_text = capture_end(&c, &len);
    CHECK(err_text != NULL);
    if (r1 != 8 || r2 != -3 || on != 1 || off != 0 ||
        strstr(err_text, "mylib: add(5, 3) -> 8\n") == NULL ||
        strstr(err_text, "mylib: add(-1, -2) -> -3\n") == NULL) {
        fprintf(stderr, "  captured stderr: \"%s\"\n", err_text);
        free(err_text);
        CHECK(!"debug log lines missing");
    }
    free(err_text);

    /* Off: nothing logged. */
    CHECK(capture_begin(&c, STDERR_FILENO));
    r1 = add(5, 3);
    err_text = capture_end(&c, &len);
    CHECK_INT(r1, 8);
    CHECK(err_text != NULL);
    len = strlen(err_text);
    free(err_text);
    CHECK_SIZE(len, 0);
    return true;
}

/* The debug log goes to stderr only: greet's stdout text is unchanged. */
static bool test_debug_log_not_on_stdout(void) {
    capture out_cap, err_cap;
    size_t out_len = 0, err_len = 0;
    char *out_text, *err_text;
    int code;
    bool logged;
    CHECK(capture_begin(&err_cap, STDERR_FILENO));
    if (!capture_begin(&out_cap, STDOUT_FILENO)) {
        free(capture_end(&err_cap, NULL));
        CHECK(!"capture stdout");
    }
    set_debug(1);
    greet("dbg");
    code = mylib_last_error();
    set_debug(0);
    out_text = capture_end(&out_cap, &out_len);
    err_text = capture_end(&err_cap, &err_len);
    logged = err_text != NULL && strstr(err_text, "mylib: greet") != NULL;
    if (!logged) {
        fprintf(stderr, "  captured stderr: \"%s\"\n", err_text ? err_text : "(null)");
    }
    free(err_text);
    CHECK_INT(code, MYLIB_OK);
    CHECK(captured_equals(out_text, out_len, "Hello, dbg!\n"));
    CHECK(logged);
    return true;
}

static bool test_debug_values(void) {
    capture c;
    int got[4];
    char *text;
    /* Silence the log of the calls made while on. */
    CHECK(capture_begin(&c, STDERR_FILENO));
    set_debug(-7);
    got[0] = mylib_get_debug();
    set_debug(INT_MIN);
    got[1] = mylib_get_debug();
    set_debug(INT_MAX);
    got[2] = mylib_get_debug();
    set_debug(0);
    got[3] = mylib_get_debug();
    text = capture_end(&c, NULL);
    free(text);
    CHECK_INT(got[0], 1);
    CHECK_INT(got[1], 1);
    CHECK_INT(got[2], 1);
    CHECK_INT(got[3], 0);
    return true;
}

/* ------------------------------------------------------- version, status */

static bool test_version(void) {
    char expected[64];
    const char *v = mylib_version();
    CHECK(v != NULL);
    CHECK_STR(v, MYLIB_VERSION_STRING);
    snprintf(expected, sizeof expected, "%d.%d.%d", MYLIB_VERSION_MAJOR,
             MYLIB_VERSION_MINOR, MYLIB_VERSION_PATCH);
    CHECK_STR(v, expected);

    /* Does not touch the last-error slot. */
    add(INT_MAX, 1);
    (void)mylib_version();
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    return true;
}

static bool test_status_str(void) {
    static const int odd[] = {-1, 12, 100, INT_MIN, INT_MAX};
    const char *texts[12];
    int i, j;
    for (i = 0; i <= 11; i++) {
        texts[i] = mylib_status_str(i);
        CHECK(texts[i] != NULL);
        CHECK(texts[i][0] != '\0');
    }
    for (i = 0; i <= 11; i++) {
        for (j = i + 1; j <= 11; j++) {
            if (strcmp(texts[i], texts[j]) == 0) {
                fprintf(stderr, "  codes %d and %d share \"%s\"\n", i, j, texts[i]);
                CHECK(!"status texts not distinct");
            }
        }
    }
    for (i = 0; i < (int)COUNT_OF(odd); i++) {
        const char *s = mylib_status_str(odd[i]);
        CHECK(s != NULL);
        CHECK_STR(s, "unknown mylib status code");
    }

    /* Does not touch the last-error slot. */
    sum_array(NULL, 1);
    (void)mylib_status_str(0);
    (void)mylib_status_str(-1);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    return true;
}

/* ------------------------------------------------------------- sum_i32 */

static bool test_sum_i32(void) {
    int a[] = {1, 2, 3, -10};
    int64_t out = -99;
    int *big = malloc(1000 * sizeof *big);
    int i;
    CHECK(big != NULL);

    CHECK_INT(mylib_sum_i32(a, 4, &out), MYLIB_OK);
    CHECK_INT(out, -4);
    CHECK_INT(mylib_last_error(), MYLIB_OK);

    out = -99;
    CHECK_INT(mylib_sum_i32(NULL, 0, &out), MYLIB_OK);
    CHECK_INT(out, 0);

    for (i = 0; i < 1000; i++) {
        big[i] = INT_MAX;
    }
    CHECK_INT(mylib_sum_i32(big, 1000, &out), MYLIB_OK);
    CHECK(out == 1000 * (int64_t)INT_MAX);
    for (i = 0; i < 1000; i++) {
        big[i] = INT_MIN;
    }
    CHECK_INT(mylib_sum_i32(big, 1000, &out), MYLIB_OK);
    CHECK(out == 1000 * (int64_t)INT_MIN);
    free(big);
    return true;
}

static bool test_sum_i32_bad_input(void) {
    int a[] = {1, 2, 3};
    const int64_t sentinel = INT64_C(-123456789012);
    int64_t out = sentinel;

    CHECK_INT(mylib_sum_i32(a, 3, NULL), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_sum_i32(NULL, 0, NULL), MYLIB_ERR_NULL_POINTER);

    CHECK_INT(mylib_sum_i32(NULL, 3, &out), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK(out == sentinel);

    /* Lengths whose byte size exceeds the address space: checked before any
     * read, so passing a 3-element array is safe. */
    CHECK_INT(mylib_sum_i32(a, SIZE_MAX, &out), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK(out == sentinel);
    CHECK_INT(mylib_sum_i32(a, SIZE_MAX / sizeof(int) + 1, &out), MYLIB_ERR_INVALID_LENGTH);
    CHECK(out == sentinel);
    CHECK_INT(mylib_sum_i32(a, (size_t)PTRDIFF_MAX / sizeof(int) + 1, &out),
              MYLIB_ERR_INVALID_LENGTH);
    CHECK(out == sentinel);

    CHECK_INT(mylib_sum_i32((const int *)misaligned(a), 2, &out), MYLIB_ERR_MISALIGNED);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISALIGNED);
    CHECK(out == sentinel);

    CHECK_INT(mylib_sum_i32(a, 3, &out), MYLIB_OK);
    CHECK_INT(out, 6);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* ------------------------------------------------------------- sum_f64 */

static bool test_sum_f64(void) {
    double a[] = {0.5, 0.25, 2.0};
    double tenth[10] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
    double classic[] = {1.0, 1e100, 1.0, -1e100};
    double nan_in[] = {NAN, 1.0};
    double zeros[] = {-0.0, -0.0, -0.0};
    double out = -1.0;

    CHECK_INT(mylib_sum_f64(a, 3, &out), MYLIB_OK);
    CHECK_DBL(out, 2.75);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    out = -1.0;
    CHECK_INT(mylib_sum_f64(NULL, 0, &out), MYLIB_OK);
    CHECK(bits_of(out) == 0);
    CHECK_INT(mylib_sum_f64(tenth, 10, &out), MYLIB_OK);
    CHECK_DBL(out, 1.0);
    CHECK_INT(mylib_sum_f64(classic, 4, &out), MYLIB_OK);
    CHECK_DBL(out, 2.0);
    CHECK_INT(mylib_sum_f64(nan_in, 2, &out), MYLIB_OK);
    CHECK(isnan(out));
    /* An exact zero is +0.0, even of negative zeros. */
    CHECK_INT(mylib_sum_f64(zeros, 3, &out), MYLIB_OK);
    CHECK(bits_of(out) == 0);
    return true;
}

static bool test_sum_f64_bad_input(void) {
    double a[] = {1.0, 2.0, 3.0};
    double cells[2] = {-5.0, -5.0};
    const double sentinel = -777.25;
    double out = sentinel;

    CHECK_INT(mylib_sum_f64(a, 3, NULL), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_sum_f64(NULL, 3, &out), MYLIB_ERR_NULL_POINTER);
    CHECK_DBL(out, sentinel);
    CHECK_INT(mylib_sum_f64(a, SIZE_MAX, &out), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK_DBL(out, sentinel);
    CHECK_INT(mylib_sum_f64(a, SIZE_MAX / sizeof(double) + 1, &out),
              MYLIB_ERR_INVALID_LENGTH);
    CHECK_DBL(out, sentinel);
    CHECK_INT(mylib_sum_f64(a, (size_t)PTRDIFF_MAX / sizeof(double) + 1, &out),
              MYLIB_ERR_INVALID_LENGTH);
    CHECK_DBL(out, sentinel);
    CHECK_INT(mylib_sum_f64((const double *)misaligned(a), 2, &out), MYLIB_ERR_MISALIGNED);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISALIGNED);
    CHECK_DBL(out, sentinel);
    CHECK_INT(mylib_sum_f64(a, 2, (double *)misaligned(cells)), MYLIB_ERR_MISALIGNED);
    CHECK_DBL(cells[0], -5.0);
    CHECK_DBL(cells[1], -5.0);

    CHECK_INT(mylib_sum_f64(a, 3, &out), MYLIB_OK);
    CHECK_DBL(out, 6.0);
    return true;
}

/* ------------------------------------------------------ mylib_sum_f64_strided */

/* mylib_sum_f64_strided of an array, checked against the reference of the
 * values it names (listed in `idx`, indices into `base`). */
static bool strided_is(const void *data, size_t ndim, const size_t *shape, const ptrdiff_t *strides,
                       const double *base, const size_t *idx, size_t n, const char *what) {
    double vals[64];
    double r = -1.0;
    size_t i;
    int st;
    for (i = 0; i < n; i++) {
        vals[i] = base[idx[i]];
    }
    st = mylib_sum_f64_strided(data, ndim, shape, strides, &r);
    if (mylib_last_error() != st) {
        fprintf(stderr, "  %s: the slot says %d, the call %d\n", what, mylib_last_error(), st);
        return false;
    }
    return answer_is(ref_of(vals, n), st, r, what);
}

static bool test_sum_f64_strided(void) {
    double m[13];
    size_t shape[3];
    ptrdiff_t strides[3];
    static const size_t all12[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    static const size_t col3[] = {3, 7, 11};
    static const size_t rev2[] = {12, 10, 8, 6, 4, 2, 0};
    static const size_t block[] = {5, 6, 9, 10};
    static const size_t row0x5[] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
    static const size_t one[] = {2};
    size_t i;
    double r;
    int st;
    /* Distinct values whose sums round: the reference decides. */
    for (i = 0; i < 13; i++) {
        m[i] = (double)(i + 1) * 0.1 - 0.35;
    }
    m[4] = 1e300;
    m[9] = -1e300;

    /* A 3 x 4 C-ordered matrix, and the same memory in Fortran order. */
    shape[0] = 3; shape[1] = 4; strides[0] = 32; strides[1] = 8;
    CHECK(strided_is(m, 2, shape, strides, m, all12, 12, "C order"));
    shape[0] = 4; shape[1] = 3; strides[0] = 8; strides[1] = 32;
    CHECK(strided_is(m, 2, shape, strides, m, all12, 12, "Fortran order"));
    /* A column, a reversed view with a step, a sub-block. */
    shape[0] = 3; strides[0] = 32;
    CHECK(strided_is(m + 3, 1, shape, strides, m, col3, 3, "a column"));
    shape[0] = 7; strides[0] = -16;
    CHECK(strided_is(m + 12, 1, shape, strides, m, rev2, 7, "x[::-2]"));
    shape[0] = 2; shape[1] = 2; strides[0] = 32; strides[1] = 8;
    CHECK(strided_is(m + 5, 2, shape, strides, m, block, 4, "a sub-block"));
    /* Both strides negative: the whole matrix from its last value. */
    shape[0] = 3; shape[1] = 4; strides[0] = -32; strides[1] = -8;
    CHECK(strided_is(m + 11, 2, shape, strides, m, all12, 12, "both strides negative"));
    /* Broadcast (stride 0) along one dimension. */
    shape[0] = 5; shape[1] = 3; strides[0] = 0; strides[1] = 8;
    CHECK(strided_is(m, 2, shape, strides, m, row0x5, 15, "broadcast"));
    /* Dimensions of length 1 with any strides; 0-d (one value, shape and strides unread). */
    shape[0] = 1; shape[1] = 1; shape[2] = 1; strides[0] = 999; strides[1] = -5; strides[2] = 3;
    CHECK(strided_is(m + 2, 3, shape, strides, m, one, 1, "ones"));
    CHECK(strided_is(m + 2, 0, NULL, NULL, m, one, 1, "0-d"));
    CHECK(strided_is(m + 2, 0, shape, strides, m, one, 1, "0-d, shape given"));

    /* Empty: a dimension of length 0 is the empty sum, data unread (NULL allowed). */
    shape[0] = 0; shape[1] = 4; strides[0] = 8; strides[1] = 8;
    r = -1.0;
    CHECK_INT(mylib_sum_f64_strided(NULL, 2, shape, strides, &r), MYLIB_OK);
    CHECK(bits_of(r) == 0);
    shape[0] = 3; shape[1] = 0;
    r = -1.0;
    CHECK_INT(mylib_sum_f64_strided(m, 2, shape, strides, &r), MYLIB_OK);
    CHECK(bits_of(r) == 0);

    /* Misaligned arrays are read where they lie: byte offsets 1 and strides 12. */
    {
        unsigned char bytes[8 * 16 + 1];
        static const double vals[] = {1.5, -2.25, 1e300, -1e300, 0x1p-1074, 3.0, 0.1, -7.0};
        static const size_t idx4[] = {0, 1, 2, 3};
        static const size_t idx_odd[] = {0, 1, 2, 3, 4, 5, 6, 7};
        memset(bytes, 0xff, sizeof bytes); /* NaN bits between the values */
        for (i = 0; i < 4; i++) {
            memcpy(bytes + 1 + 8 * i, &vals[i], 8);
        }
        shape[0] = 4; strides[0] = 8;
        CHECK(strided_is(bytes + 1, 1, shape, strides, vals, idx4, 4, "misaligned, contiguous"));
        memset(bytes, 0xff, sizeof bytes);
        for (i = 0; i < 8; i++) {
            memcpy(bytes + 3 + 12 * i, &vals[i], 8);
        }
        shape[0] = 8; strides[0] = 12;
        CHECK(strided_is(bytes + 3, 1, shape, strides, vals, idx_odd, 8, "stride 12, misaligned"));
        shape[0] = 2; shape[1] = 4; strides[0] = 48; strides[1] = 12;
        CHECK(strided_is(bytes + 3, 2, shape, strides, vals, idx_odd, 8, "2-d, stride 12"));
    }

    /* The most dimensions: 64, all of length 1 but two. */
    {
        size_t shape64[MYLIB_MAX_NDIM];
        ptrdiff_t strides64[MYLIB_MAX_NDIM];
        static const size_t idx[] = {0, 1, 4, 5};
        for (i = 0; i < MYLIB_MAX_NDIM; i++) {
            shape64[i] = 1;
            strides64[i] = (ptrdiff_t)i * 8;
        }
        shape64[10] = 2; strides64[10] = 32;
        shape64[63] = 2; strides64[63] = 8;
        CHECK(strided_is(m, MYLIB_MAX_NDIM, shape64, strides64, m, idx, 4, "64 dimensions"));
    }

    /* A large broadcast: one value a million times (threads, the exact sum). */
    {
        static ref_sum ref;
        double x = 0.1;
        answer want;
        shape[0] = 1000; shape[1] = 1000; strides[0] = 0; strides[1] = 0;
        ref_init(&ref);
        for (i = 0; i < 1000000; i++) {
            ref_add(&ref, x);
        }
        want = ref_result(&ref);
        r = -1.0;
        st = mylib_sum_f64_strided(&x, 2, shape, strides, &r);
        CHECK(answer_is(want, st, r, "0.1 a million times"));
    }

    /* Overflow writes the infinity; NaN and infinities as in fast_sum. */
    {
        double big[] = {DBL_MAX, NAN, DBL_MAX, -INFINITY};
        shape[0] = 2; strides[0] = 16;
        r = 0.0;
        CHECK_INT(mylib_sum_f64_strided(big, 1, shape, strides, &r), MYLIB_ERR_OVERFLOW);
        CHECK_DBL(r, INFINITY);
        CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
        shape[0] = 4; strides[0] = 8;
        CHECK_INT(mylib_sum_f64_strided(big, 1, shape, strides, &r), MYLIB_OK);
        CHECK(isnan(r));
        shape[0] = 2; strides[0] = 16;
        CHECK_INT(mylib_sum_f64_strided(big + 1, 1, shape, strides, &r), MYLIB_OK);
        CHECK(isnan(r));
        shape[0] = 2; strides[0] = -8;
        CHECK_INT(mylib_sum_f64_strided(big + 3, 1, shape, strides, &r), MYLIB_OK);
        CHECK_DBL(r, -INFINITY);
    }
    return true;
}

/* Every bad input of mylib_sum_f64_strided's contract: its status, in the
 * slot too, and nothing written. */
static bool test_sum_f64_strided_bad_input(void) {
    double m[12] = {0};
    size_t shape[2] = {3, 4};
    ptrdiff_t strides[2] = {32, 8};
    size_t shape_cells[3] = {3, 4, 0};
    ptrdiff_t strides_cells[3] = {32, 8, 0};
    double cells[2] = {-3.0, -3.0};
    const double sentinel = -55.5;
    double out = sentinel;
    size_t bad_shape[2];
    ptrdiff_t bad_strides[2];

#define STRIDED_FAILS(want, data, ndim, sh, st, outp)                                 \
    do {                                                                             \
        CHECK_INT(mylib_sum_f64_strided((data), (ndim), (sh), (st), (outp)), (want)); \
        CHECK_INT(mylib_last_error(), (want));                                       \
        CHECK_DBL(out, sentinel);                                                    \
    } while (0)

    STRIDED_FAILS(MYLIB_ERR_NULL_POINTER, m, 2, shape, strides, NULL);
    STRIDED_FAILS(MYLIB_ERR_NULL_POINTER, m, 2, NULL, strides, &out);
    STRIDED_FAILS(MYLIB_ERR_NULL_POINTER, m, 2, shape, NULL, &out);
    STRIDED_FAILS(MYLIB_ERR_NULL_POINTER, NULL, 2, shape, strides, &out);
    STRIDED_FAILS(MYLIB_ERR_NULL_POINTER, NULL, 0, NULL, NULL, &out); /* 0-d: one value to read */
    STRIDED_FAILS(MYLIB_ERR_MISALIGNED, m, 2, shape, strides, (double *)misaligned(cells));
    CHECK_DBL(cells[0], -3.0);
    CHECK_DBL(cells[1], -3.0);
    STRIDED_FAILS(MYLIB_ERR_MISALIGNED, m, 2, (const size_t *)misaligned(shape_cells), strides, &out);
    STRIDED_FAILS(MYLIB_ERR_MISALIGNED, m, 2, shape, (const ptrdiff_t *)misaligned(strides_cells), &out);
    /* More than MYLIB_MAX_NDIM dimensions: refused before shape is read. */
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, MYLIB_MAX_NDIM + 1, shape, strides, &out);
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, SIZE_MAX, shape, strides, &out);
    /* More values than SIZE_MAX. */
    bad_shape[0] = SIZE_MAX / 2;
    bad_shape[1] = 3;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, 2, bad_shape, strides, &out);
    bad_shape[0] = SIZE_MAX;
    bad_shape[1] = SIZE_MAX;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, 2, bad_shape, strides, &out);
    /* An extent beyond the address space, with strides of either sign. */
    bad_strides[0] = PTRDIFF_MAX / 2;
    bad_strides[1] = 8;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, 2, shape, bad_strides, &out);
    bad_strides[0] = PTRDIFF_MIN / 4;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, 2, shape, bad_strides, &out);
    bad_strides[0] = PTRDIFF_MIN;
    bad_shape[0] = 2;
    bad_shape[1] = 1;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, 2, bad_shape, bad_strides, &out);
    bad_strides[0] = PTRDIFF_MAX;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, m, 2, bad_shape, bad_strides, &out);
    /* An array that would wrap around the address space (never read). */
    bad_shape[0] = 4;
    bad_strides[0] = -8;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, (const void *)(uintptr_t)16, 1, bad_shape, bad_strides, &out);
    bad_strides[0] = 8;
    STRIDED_FAILS(MYLIB_ERR_INVALID_LENGTH, (const void *)(UINTPTR_MAX - 15), 1, bad_shape, bad_strides, &out);
#undef STRIDED_FAILS

    CHECK_INT(mylib_sum_f64_strided(m, 2, shape, strides, &out), MYLIB_OK);
    CHECK(bits_of(out) == 0);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* ------------------------------------------------------------ mylib_exact_sum */

/* A state's serialized bytes (asserting the call succeeds). */
static bool state_bytes(const mylib_exact_sum *acc, uint8_t out[MYLIB_EXACT_SUM_BYTES]) {
    return mylib_exact_sum_to_bytes(acc, out, MYLIB_EXACT_SUM_BYTES) == MYLIB_OK;
}

static uint64_t state_count(const mylib_exact_sum *acc) {
    uint64_t n = UINT64_MAX;
    if (mylib_exact_sum_count(acc, &n) != MYLIB_OK) {
        return UINT64_MAX - 1;
    }
    return n;
}

/* A new state, or NULL. */
static mylib_exact_sum *state_new(void) {
    mylib_exact_sum *acc = NULL;
    if (mylib_exact_sum_new(&acc) != MYLIB_OK) {
        return NULL;
    }
    return acc;
}

/* The state read back from `acc`'s bytes, or NULL. */
static mylib_exact_sum *state_copy(const mylib_exact_sum *acc) {
    uint8_t b[MYLIB_EXACT_SUM_BYTES];
    mylib_exact_sum *copy = NULL;
    if (!state_bytes(acc, b) || mylib_exact_sum_from_bytes(b, sizeof b, &copy) != MYLIB_OK) {
        return NULL;
    }
    return copy;
}

static bool test_exact_sum_basic(void) {
    mylib_exact_sum *a = NULL, *b = NULL;
    double tenth[10] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
    double big[] = {-1e308, -1e308};
    double r = -1.0;
    uint8_t bytes[MYLIB_EXACT_SUM_BYTES];
    static const uint8_t head[16] = {'M', 'Y', 'X', 'S', 1, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0};

    CHECK_INT(mylib_exact_sum_new(&a), MYLIB_OK);
    CHECK(a != NULL);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK(bits_of(r) == 0); /* the empty sum: +0.0 */
    CHECK_SIZE(state_count(a), 0);

    CHECK_INT(mylib_exact_sum_add(a, tenth, 10), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK_DBL(r, 1.0);
    CHECK_SIZE(state_count(a), 10);
    CHECK_INT(mylib_exact_sum_add_value(a, 1e308), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add_value(a, 1e308), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_ERR_OVERFLOW);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_DBL(r, INFINITY);
    /* The exact state holds 2e308 + 1 without overflowing. */
    CHECK(state_bytes(a, bytes));
    CHECK(memcmp(bytes, head, sizeof head) == 0);

    CHECK_INT(mylib_exact_sum_new(&b), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add(b, big, 2), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_merge(a, b), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK_DBL(r, 1.0); /* 0.1 * 10 + 1e308 * 2 - 1e308 * 2: the rounding of 10 times 0.1 */
    CHECK_SIZE(state_count(a), 14);
    CHECK_SIZE(state_count(b), 2); /* other unchanged */

    /* The empty add; reset. */
    CHECK_INT(mylib_exact_sum_add(a, NULL, 0), MYLIB_OK);
    CHECK_SIZE(state_count(a), 14);
    CHECK_INT(mylib_exact_sum_reset(a), MYLIB_OK);
    CHECK_SIZE(state_count(a), 0);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK(bits_of(r) == 0);

    mylib_exact_sum_free(a);
    mylib_exact_sum_free(b);
    mylib_exact_sum_free(NULL);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* A state merged with itself doubles; after 63 self-merges of one value
 * the count is 2^63, and one more would pass 2^64 - 1: MYLIB_ERR_OVERFLOW
 * with the state unchanged. */
static bool test_exact_sum_merge_self_and_count_overflow(void) {
    mylib_exact_sum *a = state_new(), *full = NULL, *one = state_new();
    uint8_t before[MYLIB_EXACT_SUM_BYTES], after[MYLIB_EXACT_SUM_BYTES], crafted[MYLIB_EXACT_SUM_BYTES];
    double r = 0.0, two[] = {1.0, 2.0};
    int i;
    CHECK(a != NULL && one != NULL);
    CHECK_INT(mylib_exact_sum_add_value(a, 1.5), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_merge(a, a), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK_DBL(r, 3.0);
    CHECK_SIZE(state_count(a), 2);

    CHECK_INT(mylib_exact_sum_reset(a), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add_value(a, DBL_MAX), MYLIB_OK);
    for (i = 0; i < 63; i++) {
        CHECK_INT(mylib_exact_sum_merge(a, a), MYLIB_OK);
    }
    CHECK_SIZE(state_count(a), UINT64_C(1) << 63);
    CHECK(state_bytes(a, before));
    CHECK_INT(mylib_exact_sum_merge(a, a), MYLIB_ERR_OVERFLOW);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_OVERFLOW);
    CHECK_CONTAINS(mylib_last_error_message(), "2^64 - 1 values");
    CHECK(state_bytes(a, after));
    CHECK(memcmp(before, after, sizeof before) == 0);
    CHECK_SIZE(state_count(a), UINT64_C(1) << 63);
    /* 2^63 * DBL_MAX: beyond the range, and still exact in the state. */
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_ERR_OVERFLOW);
    CHECK_DBL(r, INFINITY);

    /* A state counting 2^64 - 1 values (read from bytes): every add refused. */
    memset(crafted, 0, sizeof crafted);
    memcpy(crafted, "MYXS\x01", 5);
    memset(crafted + 8, 0xff, 8);
    CHECK_INT(mylib_exact_sum_from_bytes(crafted, sizeof crafted, &full), MYLIB_OK);
    CHECK_SIZE(state_count(full), UINT64_MAX);
    CHECK_INT(mylib_exact_sum_add_value(full, 1.0), MYLIB_ERR_OVERFLOW);
    CHECK_INT(mylib_exact_sum_add(full, two, 2), MYLIB_ERR_OVERFLOW);
    CHECK_INT(mylib_exact_sum_add(full, two, 0), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add_value(one, 1.0), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_merge(full, one), MYLIB_ERR_OVERFLOW);
    CHECK_INT(mylib_exact_sum_merge(one, full), MYLIB_ERR_OVERFLOW);
    CHECK(state_bytes(full, after));
    CHECK(memcmp(crafted, after, sizeof crafted) == 0);
    CHECK_SIZE(state_count(one), 1);
    mylib_exact_sum_free(a);
    mylib_exact_sum_free(full);
    mylib_exact_sum_free(one);
    return true;
}

/* NaN and infinities stay in the state: through adds, merges, bytes; only a
 * reset clears them. */
static bool test_exact_sum_specials_stay(void) {
    mylib_exact_sum *a = state_new(), *b = state_new(), *c = NULL;
    double r = 0.0, vals[] = {1.0, DBL_MAX, DBL_MAX};
    CHECK(a != NULL && b != NULL);
    CHECK_INT(mylib_exact_sum_add_value(a, INFINITY), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add(a, vals, 3), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK); /* an infinity decides: no overflow */
    CHECK_DBL(r, INFINITY);
    CHECK_INT(mylib_exact_sum_add_value(b, -INFINITY), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(b, &r), MYLIB_OK);
    CHECK_DBL(r, -INFINITY);
    CHECK_INT(mylib_exact_sum_merge(a, b), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK(isnan(r));
    c = state_copy(a);
    CHECK(c != NULL);
    CHECK_INT(mylib_exact_sum_add(c, vals, 1), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(c, &r), MYLIB_OK);
    CHECK(isnan(r));
    CHECK_SIZE(state_count(c), 6);
    CHECK_INT(mylib_exact_sum_reset(b), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add_value(b, NAN), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add(b, vals, 1), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(b, &r), MYLIB_OK);
    CHECK(isnan(r));
    CHECK_INT(mylib_exact_sum_reset(b), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add(b, vals, 1), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(b, &r), MYLIB_OK);
    CHECK_DBL(r, 1.0);
    mylib_exact_sum_free(a);
    mylib_exact_sum_free(b);
    mylib_exact_sum_free(c);
    return true;
}

static bool test_exact_sum_strided(void) {
    double m[12];
    size_t shape[2] = {3, 4};
    ptrdiff_t strides[2] = {-32, 8};
    mylib_exact_sum *a = state_new();
    double r = 0.0;
    size_t i;
    CHECK(a != NULL);
    for (i = 0; i < 12; i++) {
        m[i] = (double)(1 << i);
    }
    /* Rows from the last one up: every value once. */
    CHECK_INT(mylib_exact_sum_add_strided(a, m + 8, 2, shape, strides), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK_DBL(r, 4095.0);
    CHECK_SIZE(state_count(a), 12);
    /* A column, broadcast twice. */
    shape[0] = 2; shape[1] = 3; strides[0] = 0; strides[1] = 32;
    CHECK_INT(mylib_exact_sum_add_strided(a, m + 1, 2, shape, strides), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK_DBL(r, 4095.0 + 2 * (2.0 + 32.0 + 512.0));
    CHECK_SIZE(state_count(a), 18);
    /* 0-d, and empty. */
    CHECK_INT(mylib_exact_sum_add_strided(a, m, 0, NULL, NULL), MYLIB_OK);
    shape[0] = 0;
    CHECK_INT(mylib_exact_sum_add_strided(a, NULL, 2, shape, strides), MYLIB_OK);
    CHECK_SIZE(state_count(a), 19);
    mylib_exact_sum_free(a);
    return true;
}

/* Every NULL, misaligned and short-buffer case of every mylib_exact_sum_*
 * function: its status (in the slot too), nothing written, the state
 * unchanged. */
static bool test_exact_sum_bad_input(void) {
    mylib_exact_sum *a = state_new();
    mylib_exact_sum *odd;
    mylib_exact_sum *cells[3] = {NULL, NULL, NULL};
    double d[4] = {1.0, 2.0, 3.0, 4.0};
    double dcells[2] = {-8.0, -8.0};
    uint64_t ucells[2] = {7, 7};
    size_t shape[1] = {2}, shape_cells[2] = {2, 2};
    ptrdiff_t strides[1] = {8}, strides_cells[2] = {8, 8};
    uint8_t before[MYLIB_EXACT_SUM_BYTES], after[MYLIB_EXACT_SUM_BYTES];
    uint8_t buf[MYLIB_EXACT_SUM_BYTES + 1], *no_bytes = NULL;
    mylib_exact_sum *out = (mylib_exact_sum *)misaligned(cells); /* a marker value, never dereferenced */
    double r = -1.0;
    uint64_t n = 99;
    size_t i;
    CHECK(a != NULL);
    odd = (mylib_exact_sum *)misaligned(a);
    CHECK_INT(mylib_exact_sum_add(a, d, 4), MYLIB_OK);
    CHECK(state_bytes(a, before));

#define FAILS(call, want)                                 \
    do {                                                  \
        CHECK_INT((call), (want));                        \
        CHECK_INT(mylib_last_error(), (want));            \
    } while (0)

    /* new */
    FAILS(mylib_exact_sum_new(NULL), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_new((mylib_exact_sum **)misaligned(cells)), MYLIB_ERR_MISALIGNED);
    CHECK(cells[0] == NULL && cells[1] == NULL);
    /* add */
    FAILS(mylib_exact_sum_add(NULL, d, 4), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_add(odd, d, 4), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_add(a, NULL, 1), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_add(a, (const double *)misaligned(d), 2), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_add(a, d, SIZE_MAX), MYLIB_ERR_INVALID_LENGTH);
    FAILS(mylib_exact_sum_add(a, d, (size_t)PTRDIFF_MAX / sizeof(double) + 1), MYLIB_ERR_INVALID_LENGTH);
    /* add_strided: the state's errors and the array's */
    FAILS(mylib_exact_sum_add_strided(NULL, d, 1, shape, strides), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_add_strided(odd, d, 1, shape, strides), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_add_strided(a, d, 1, NULL, strides), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_add_strided(a, d, 1, shape, NULL), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_add_strided(a, NULL, 1, shape, strides), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_add_strided(a, d, 1, (const size_t *)misaligned(shape_cells), strides), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_add_strided(a, d, 1, shape, (const ptrdiff_t *)misaligned(strides_cells)), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_add_strided(a, d, MYLIB_MAX_NDIM + 1, shape, strides), MYLIB_ERR_INVALID_LENGTH);
    /* add_value */
    FAILS(mylib_exact_sum_add_value(NULL, 1.0), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_add_value(odd, 1.0), MYLIB_ERR_MISALIGNED);
    /* merge */
    FAILS(mylib_exact_sum_merge(NULL, a), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_merge(a, NULL), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_merge(odd, a), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_merge(a, odd), MYLIB_ERR_MISALIGNED);
    /* result */
    FAILS(mylib_exact_sum_result(NULL, &r), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_result(odd, &r), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_result(a, NULL), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_result(a, (double *)misaligned(dcells)), MYLIB_ERR_MISALIGNED);
    CHECK_DBL(r, -1.0);
    CHECK_DBL(dcells[0], -8.0);
    CHECK_DBL(dcells[1], -8.0);
    /* count */
    FAILS(mylib_exact_sum_count(NULL, &n), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_count(odd, &n), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_count(a, NULL), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_count(a, (uint64_t *)misaligned(ucells)), MYLIB_ERR_MISALIGNED);
    CHECK_SIZE(n, 99);
    CHECK_SIZE(ucells[0], 7);
    CHECK_SIZE(ucells[1], 7);
    /* reset */
    FAILS(mylib_exact_sum_reset(NULL), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_reset(odd), MYLIB_ERR_MISALIGNED);
    /* to_bytes: short buffers; nothing written. */
    memset(buf, 0xa5, sizeof buf);
    FAILS(mylib_exact_sum_to_bytes(NULL, buf, sizeof buf), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_to_bytes(odd, buf, sizeof buf), MYLIB_ERR_MISALIGNED);
    FAILS(mylib_exact_sum_to_bytes(a, NULL, sizeof buf), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_to_bytes(a, buf, MYLIB_EXACT_SUM_BYTES - 1), MYLIB_ERR_INVALID_LENGTH);
    FAILS(mylib_exact_sum_to_bytes(a, buf, 0), MYLIB_ERR_INVALID_LENGTH);
    for (i = 0; i < sizeof buf; i++) {
        CHECK_INT(buf[i], 0xa5);
    }
    /* A longer buffer: exactly MYLIB_EXACT_SUM_BYTES written. */
    CHECK_INT(mylib_exact_sum_to_bytes(a, buf, sizeof buf), MYLIB_OK);
    CHECK(memcmp(buf, before, MYLIB_EXACT_SUM_BYTES) == 0);
    CHECK_INT(buf[MYLIB_EXACT_SUM_BYTES], 0xa5);
    /* from_bytes: every malformed length; *acc_out not written. */
    FAILS(mylib_exact_sum_from_bytes(before, sizeof before, NULL), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_from_bytes(before, sizeof before, (mylib_exact_sum **)misaligned(cells)), MYLIB_ERR_MISALIGNED);
    CHECK(cells[0] == NULL && cells[1] == NULL);
    FAILS(mylib_exact_sum_from_bytes(NULL, MYLIB_EXACT_SUM_BYTES, &out), MYLIB_ERR_NULL_POINTER);
    FAILS(mylib_exact_sum_from_bytes(no_bytes, 0, &out), MYLIB_ERR_BAD_FORMAT);
    FAILS(mylib_exact_sum_from_bytes(before, 0, &out), MYLIB_ERR_BAD_FORMAT);
    FAILS(mylib_exact_sum_from_bytes(before, 4, &out), MYLIB_ERR_BAD_FORMAT);
    FAILS(mylib_exact_sum_from_bytes(before, MYLIB_EXACT_SUM_BYTES - 1, &out), MYLIB_ERR_BAD_FORMAT);
    memcpy(buf, before, MYLIB_EXACT_SUM_BYTES);
    FAILS(mylib_exact_sum_from_bytes(buf, MYLIB_EXACT_SUM_BYTES + 1, &out), MYLIB_ERR_BAD_FORMAT);
    buf[4] = 2;
    FAILS(mylib_exact_sum_from_bytes(buf, MYLIB_EXACT_SUM_BYTES, &out), MYLIB_ERR_UNSUPPORTED_VERSION);
    CHECK_CONTAINS(mylib_last_error_message(), "version 2");
    buf[4] = 0;
    FAILS(mylib_exact_sum_from_bytes(buf, 5, &out), MYLIB_ERR_UNSUPPORTED_VERSION);
    CHECK(out == (mylib_exact_sum *)misaligned(cells));
#undef FAILS

    /* After all that, the state is what it was. */
    CHECK(state_bytes(a, after));
    CHECK(memcmp(before, after, sizeof before) == 0);
    CHECK_INT(mylib_exact_sum_result(a, &r), MYLIB_OK);
    CHECK_DBL(r, 10.0);
    mylib_exact_sum_free(a);
    return true;
}

/* Every single-byte corruption of serialized states: a status (with
 * *acc_out untouched), or a state that serializes back to the same bytes. */
static bool corruptions_of(const uint8_t good[MYLIB_EXACT_SUM_BYTES], bool every_value, long *states) {
    uint8_t x[MYLIB_EXACT_SUM_BYTES], back[MYLIB_EXACT_SUM_BYTES];
    static const uint8_t flips[] = {0x01, 0x02, 0x10, 0x80, 0xff};
    size_t i, k, tries = every_value ? 255 : COUNT_OF(flips);
    for (i = 0; i < MYLIB_EXACT_SUM_BYTES; i++) {
        for (k = 0; k < tries; k++) {
            mylib_exact_sum *s = (mylib_exact_sum *)(uintptr_t)1;
            int st;
            memcpy(x, good, sizeof x);
            x[i] = every_value ? (uint8_t)(good[i] + 1 + k) : (uint8_t)(good[i] ^ flips[k]);
            st = mylib_exact_sum_from_bytes(x, sizeof x, &s);
            if (st == MYLIB_OK) {
                bool same = state_bytes(s, back) && memcmp(back, x, sizeof x) == 0;
                mylib_exact_sum_free(s);
                if (!same) {
                    fprintf(stderr, "  byte %zu set to %#x: read, but serializes to other bytes\n", i, x[i]);
                    return false;
                }
                ++*states;
                continue;
            }
            if (s != (mylib_exact_sum *)(uintptr_t)1 || mylib_last_error() != st ||
                !(st == MYLIB_ERR_BAD_FORMAT || (st == MYLIB_ERR_UNSUPPORTED_VERSION && i == 4)) ||
                (i < 4 && st != MYLIB_ERR_BAD_FORMAT) || (i == 4 && st != MYLIB_ERR_UNSUPPORTED_VERSION)) {
                fprintf(stderr, "  byte %zu set to %#x: status %d\n", i, x[i], st);
                return false;
            }
        }
    }
    return true;
}

static bool test_exact_sum_corrupted_bytes(void) {
    mylib_exact_sum *states[4];
    uint8_t b[MYLIB_EXACT_SUM_BYTES];
    double v1[] = {1.5, -1e-300, 3e300, INFINITY};
    double v2[] = {-2.5, NAN, -0x1p-1074};
    long read_back = 0;
    size_t i;
    int k;
    for (i = 0; i < 4; i++) {
        states[i] = state_new();
        CHECK(states[i] != NULL);
    }
    CHECK_INT(mylib_exact_sum_add(states[0], v1, 4), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add(states[1], v2, 3), MYLIB_OK);
    CHECK_INT(mylib_exact_sum_add_value(states[2], -DBL_MAX), MYLIB_OK);
    for (k = 0; k < 40; k++) {
        CHECK_INT(mylib_exact_sum_merge(states[2], states[2]), MYLIB_OK);
    }
    /* states[3] stays empty. */
    for (i = 0; i < 4; i++) {
        CHECK(state_bytes(states[i], b));
        CHECK(corruptions_of(b, i < 2, &read_back));
        mylib_exact_sum_free(states[i]);
    }
    /* Some corruptions are states (a count made larger, a low bit of the sum). */
    CHECK(read_back > 0);
    return true;
}

/* ------------------------------------------------- the vector file (C) */

/* tests/vectors/sum_f64.txt, compiled in (the Makefile turns it into
 * target/c/sum_f64_vectors.inc with tests/vectors/to_c.awk): hard inputs
 * with the bits of their correctly rounded sum, from Python's exact
 * fractions, independent of mylib. Each case is `repeat` repetitions of
 * `n` values starting at sum_vector_bits[first]. */
typedef struct {
    const char *name;
    int status;         /* MYLIB_OK or MYLIB_ERR_OVERFLOW */
    int is_nan;         /* the answer is NaN (any) */
    uint64_t expected;  /* else its bits */
    size_t repeat;
    size_t n;
    size_t first;
} sum_vector;

#include "sum_f64_vectors.inc"

static size_t vector_len(const sum_vector *v) { return v->repeat * v->n; }

static answer vector_answer(const sum_vector *v) {
    answer a;
    a.status = v->status;
    a.is_nan = v->is_nan != 0;
    a.bits = v->expected;
    return a;
}

/* The values of a case, in a new array (at least one element; freed by the
 * caller), or NULL when memory runs out. No floating-point operation. */
static double *vector_values(const sum_vector *v) {
    size_t len = vector_len(v), i, k;
    double *d = malloc((len > 0 ? len : 1) * sizeof *d);
    if (d == NULL) {
        return NULL;
    }
    for (k = 0; k < v->repeat; k++) {
        for (i = 0; i < v->n; i++) {
            memcpy(&d[k * v->n + i], &sum_vector_bits[v->first + i], sizeof(double));
        }
    }
    return d;
}

/* Bit-exact comparison that reports the case: no floating-point operation. */
static bool vector_is(const sum_vector *v, int status, double got, const char *what) {
    char label[256];
    snprintf(label, sizeof label, "%s: %s (%zu values)", v->name, what, vector_len(v));
    return answer_is(vector_answer(v), status, got, label);
}

static bool test_vectors_file(void) {
    size_t i, large = 0, values = 0;
    CHECK(SUM_VECTOR_COUNT > 2000);
    for (i = 0; i < SUM_VECTOR_COUNT; i++) {
        const sum_vector *v = &sum_vectors[i];
        CHECK(v->status == MYLIB_OK || v->status == MYLIB_ERR_OVERFLOW);
        CHECK(v->first + v->n <= SUM_VECTOR_VALUES);
        values += vector_len(v);
        large += vector_len(v) >= 524288;
    }
    CHECK(large >= 5);
    printf("  %d cases, %zu values, %zu past the threading threshold\n", SUM_VECTOR_COUNT, values, large);
    /* The C reference agrees with the file on every case (small enough to be quick). */
    for (i = 0; i < SUM_VECTOR_COUNT; i++) {
        const sum_vector *v = &sum_vectors[i];
        double *d;
        answer a;
        bool ok;
        if (vector_len(v) > 20000) {
            continue;
        }
        d = vector_values(v);
        CHECK(d != NULL);
        a = ref_of(d, vector_len(v));
        free(d);
        ok = a.status == v->status && (v->is_nan ? a.is_nan : (!a.is_nan && a.bits == v->expected));
        if (!ok) {
            fprintf(stderr, "  %s: the C reference says status %d, bits %016llx\n", v->name, a.status,
                    (unsigned long long)a.bits);
        }
        CHECK(ok);
    }
    return true;
}

/* fast_sum and mylib_sum_f64 of every case. */
static bool vectors_contiguous(void) {
    size_t i;
    for (i = 0; i < SUM_VECTOR_COUNT; i++) {
        const sum_vector *v = &sum_vectors[i];
        double *d = vector_values(v);
        double r = -1.0, r2 = -1.0;
        int st, st2;
        bool ok;
        if (d == NULL) {
            fprintf(stderr, "  %s: no memory for the values\n", v->name);
            return false;
        }
        fast_sum(d, (int)vector_len(v), &r);
        st = mylib_last_error();
        st2 = mylib_sum_f64(d, vector_len(v), &r2);
        free(d);
        ok = vector_is(v, st, r, "fast_sum") && vector_is(v, st2, r2, "mylib_sum_f64");
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* mylib_sum_f64_strided of every case: reversed (stride -8), misaligned
 * (byte offset 3), and every other value of a buffer whose gaps hold NaN. */
static bool vectors_strided(void) {
    size_t i, k;
    for (i = 0; i < SUM_VECTOR_COUNT; i++) {
        const sum_vector *v = &sum_vectors[i];
        size_t n = vector_len(v);
        double *d = vector_values(v);
        double *gaps = malloc((2 * n + 1) * sizeof *gaps);
        unsigned char *bytes = malloc(8 * n + 3);
        size_t shape[1];
        ptrdiff_t stride[1];
        double r1 = -1.0, r2 = -1.0, r3 = -1.0;
        int s1, s2, s3;
        bool ok;
        if (d == NULL || gaps == NULL || bytes == NULL) {
            free(d);
            free(gaps);
            free(bytes);
            fprintf(stderr, "  %s: no memory for the values\n", v->name);
            return false;
        }
        memset(gaps, 0xff, (2 * n + 1) * sizeof *gaps); /* NaN bits */
        for (k = 0; k < n; k++) {
            gaps[2 * k] = d[k];
        }
        memcpy(bytes + 3, d, 8 * n);
        shape[0] = n;
        stride[0] = -8;
        s1 = mylib_sum_f64_strided(n > 0 ? d + n - 1 : d, 1, shape, stride, &r1);
        stride[0] = 8;
        s2 = mylib_sum_f64_strided(bytes + 3, 1, shape, stride, &r2);
        stride[0] = 16;
        s3 = mylib_sum_f64_strided(gaps, 1, shape, stride, &r3);
        free(d);
        free(gaps);
        free(bytes);
        ok = vector_is(v, s1, r1, "strided, reversed") && vector_is(v, s2, r2, "strided, misaligned") &&
             vector_is(v, s3, r3, "strided, stride 16 over NaN gaps");
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Every case split at several points into two mylib_exact_sum states (the
 * head added by array or value by value, the tail by a reversed strided
 * add), the tail's state carried through bytes, merged: the result and the
 * bytes of the whole. */
static bool vectors_exact_sum(void) {
    size_t i, c, k;
    for (i = 0; i < SUM_VECTOR_COUNT; i++) {
        const sum_vector *v = &sum_vectors[i];
        size_t n = vector_len(v);
        size_t cuts[5];
        double *d = vector_values(v);
        mylib_exact_sum *whole = state_new();
        uint8_t want[MYLIB_EXACT_SUM_BYTES], got[MYLIB_EXACT_SUM_BYTES];
        double r = -1.0;
        bool ok = d != NULL && whole != NULL && mylib_exact_sum_add(whole, d, n) == MYLIB_OK &&
                  state_bytes(whole, want);
        int st = ok ? mylib_exact_sum_result(whole, &r) : -1;
        ok = ok && vector_is(v, st, r, "mylib_exact_sum_add, whole");
        cuts[0] = 0;
        cuts[1] = n > 0 ? 1 : 0;
        cuts[2] = n / 2;
        cuts[3] = n > 0 ? n - 1 : 0;
        cuts[4] = n;
        for (c = 0; ok && c < 5; c++) {
            mylib_exact_sum *a = state_new(), *b = state_new(), *b2 = NULL;
            size_t head = cuts[c], tail = n - cuts[c];
            size_t shape[1];
            ptrdiff_t stride[1] = {-8};
            char what[64];
            shape[0] = tail;
            ok = a != NULL && b != NULL;
            if (ok && head <= 64) {
                for (k = 0; ok && k < head; k++) {
                    ok = mylib_exact_sum_add_value(a, d[k]) == MYLIB_OK;
                }
            } else if (ok) {
                ok = mylib_exact_sum_add(a, d, head) == MYLIB_OK;
            }
            ok = ok && mylib_exact_sum_add_strided(b, tail > 0 ? d + n - 1 : d, 1, shape, stride) == MYLIB_OK;
            ok = ok && (b2 = state_copy(b)) != NULL && mylib_exact_sum_merge(a, b2) == MYLIB_OK;
            snprintf(what, sizeof what, "two states split at %zu, merged through bytes", head);
            st = ok ? mylib_exact_sum_result(a, &r) : -1;
            ok = ok && vector_is(v, st, r, what);
            ok = ok && state_bytes(a, got) && memcmp(got, want, sizeof got) == 0 && state_count(a) == n;
            if (!ok) {
                fprintf(stderr, "  %s: %s\n", v->name, what);
            }
            mylib_exact_sum_free(a);
            mylib_exact_sum_free(b);
            mylib_exact_sum_free(b2);
        }
        free(d);
        mylib_exact_sum_free(whole);
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool test_vectors_sum(void) { return vectors_contiguous(); }
static bool test_vectors_strided(void) { return vectors_strided(); }
static bool test_vectors_exact_sum(void) { return vectors_exact_sum(); }

/* The cases past the threading threshold, with 1 to 8 threads. */
static bool test_vectors_threads(void) {
    static const int counts[] = {1, 2, 3, 8};
    size_t i, t;
    bool ok = true;
    for (i = 0; ok && i < SUM_VECTOR_COUNT; i++) {
        const sum_vector *v = &sum_vectors[i];
        double *d;
        if (vector_len(v) < 2 * 65536) {
            continue;
        }
        d = vector_values(v);
        ok = d != NULL;
        for (t = 0; ok && t < COUNT_OF(counts); t++) {
            double r = -1.0;
            char what[32];
            snprintf(what, sizeof what, "%d threads", counts[t]);
            mylib_set_num_threads(counts[t]);
            int st = mylib_sum_f64(d, vector_len(v), &r);
            ok = vector_is(v, st, r, what);
        }
        free(d);
    }
    mylib_set_num_threads(0);
    CHECK(ok);
    return true;
}

/* ------------------------------------------- the floating-point environment */

/* A host program may change the rounding mode (fesetround) or flush
 * subnormals to zero (x86 MXCSR FTZ|DAZ, as -ffast-math does; aarch64
 * FPCR.FZ). The sums must still give the exact bits: the library sees the
 * environment is not IEEE's default and takes its integer-only exact path.
 * Nothing here does floating-point arithmetic while the environment is
 * changed, except the probes that prove it took effect. */
#if defined(__x86_64__) || defined(_M_X64)
#define MYLIB_TEST_FLUSH "MXCSR FTZ|DAZ"
typedef unsigned int flush_state;
static flush_state flush_save(void) { return _mm_getcsr(); }
static void flush_on(void) { _mm_setcsr(_mm_getcsr() | 0x8040u); /* FTZ bit 15, DAZ bit 6 */ }
static void flush_restore(flush_state saved) { _mm_setcsr(saved); }
#elif defined(__aarch64__)
#define MYLIB_TEST_FLUSH "FPCR.FZ"
typedef uint64_t flush_state;
static flush_state flush_save(void) {
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v) : : "memory");
    return v;
}
static void flush_restore(flush_state v) { __asm__ __volatile__("msr fpcr, %0" : : "r"(v) : "memory"); }
static void flush_on(void) { flush_restore(flush_save() | (UINT64_C(1) << 24)); }
#endif

typedef struct {
    const char *name;
    int round; /* an FE_ rounding mode, or -1 to keep it */
    bool flush;
} fp_env;

static const fp_env fp_envs[] = {
#ifdef FE_UPWARD
    {"FE_UPWARD", FE_UPWARD, false},
#endif
#ifdef FE_DOWNWARD
    {"FE_DOWNWARD", FE_DOWNWARD, false},
#endif
#ifdef FE_TOWARDZERO
    {"FE_TOWARDZERO", FE_TOWARDZERO, false},
#endif
#ifdef MYLIB_TEST_FLUSH
    {MYLIB_TEST_FLUSH, -1, true},
#ifdef FE_DOWNWARD
    {MYLIB_TEST_FLUSH " and FE_DOWNWARD", FE_DOWNWARD, true},
#endif
#endif
    {"the default (control)", -1, false},
};

/* Probes, kept from constant folding by volatile. */
static volatile double probe_one = 1.0, probe_eps = DBL_EPSILON / 4, probe_tiny = 0x1p-1074;

/* Whether the environment `e` is in effect, as seen by arithmetic: its
 * rounding mode (the return value) and its flushing (*flush_ok: subnormal
 * results flushed to zero exactly when e->flush). */
static bool fp_env_in_effect(const fp_env *e, bool *flush_ok) {
    double up = probe_one + probe_eps;    /* 1 + 2^-54: 1 to nearest, down, toward zero */
    double down = -probe_one - probe_eps; /* -1 - 2^-54 */
    double tiny = probe_tiny + probe_tiny;
    bool rounding_ok = true;
#ifdef FE_UPWARD
    if (e->round == FE_UPWARD) rounding_ok = up > 1.0 && down == -1.0;
#endif
#ifdef FE_DOWNWARD
    if (e->round == FE_DOWNWARD) rounding_ok = up == 1.0 && down < -1.0;
#endif
#ifdef FE_TOWARDZERO
    if (e->round == FE_TOWARDZERO) rounding_ok = up == 1.0 && down == -1.0;
#endif
    if (e->round == -1) rounding_ok = up == 1.0 && down == -1.0;
    *flush_ok = e->flush ? bits_of(tiny) == 0 : bits_of(tiny) == 2;
    return rounding_ok;
}

static bool test_fp_environment(void) {
    size_t e, i;
    int saved_round = fegetround();
#ifdef MYLIB_TEST_FLUSH
    flush_state saved_flush = flush_save();
#endif
    bool ok = true;
    for (e = 0; ok && e < COUNT_OF(fp_envs); e++) {
        const fp_env *env = &fp_envs[e];
        const sum_vector *failed = NULL;
        const char *what = NULL;
        int status = 0;
        double got = 0.0;
        bool rounding_ok, flush_ok = false;
        if (env->round != -1 && fesetround(env->round) != 0) {
            fprintf(stderr, "  fesetround(%s) refused\n", env->name);
            ok = false;
            break;
        }
#ifdef MYLIB_TEST_FLUSH
        if (env->flush) {
            flush_on();
        }
#endif
        rounding_ok = fp_env_in_effect(env, &flush_ok);
        for (i = 0; i < SUM_VECTOR_COUNT && failed == NULL; i++) {
            const sum_vector *v = &sum_vectors[i];
            size_t n = vector_len(v);
            double *d = vector_values(v);
            mylib_exact_sum *acc = state_new();
            size_t shape[1];
            ptrdiff_t stride[1] = {-8};
            double r[4];
            int st[4], k;
            answer want = vector_answer(v);
            shape[0] = n;
            if (d == NULL || acc == NULL) {
                failed = v;
                what = "no memory";
            } else {
                fast_sum(d, (int)n, &r[0]);
                st[0] = mylib_last_error();
                st[1] = mylib_sum_f64(d, n, &r[1]);
                st[2] = mylib_sum_f64_strided(n > 0 ? d + n - 1 : d, 1, shape, stride, &r[2]);
                st[3] = mylib_exact_sum_add(acc, d, n);
                if (st[3] == MYLIB_OK) {
                    st[3] = mylib_exact_sum_result(acc, &r[3]);
                }
                for (k = 0; k < 4 && failed == NULL; k++) {
                    uint64_t b = bits_of(r[k]);
                    if (st[k] != want.status || (want.is_nan ? !bits_are_nan(b) : b != want.bits)) {
                        static const char *names[] = {"fast_sum", "mylib_sum_f64", "mylib_sum_f64_strided",
                                                      "mylib_exact_sum"};
                        failed = v;
                        what = names[k];
                        status = st[k];
                        got = r[k];
                    }
                }
            }
            free(d);
            mylib_exact_sum_free(acc);
        }
        /* Back to the default before reporting anything. */
#ifdef MYLIB_TEST_FLUSH
        flush_restore(saved_flush);
#endif
        fesetround(saved_round);
        if (failed != NULL) {
            char label[128];
            snprintf(label, sizeof label, "under %s: %s", env->name, what);
            vector_is(failed, status, got, label);
            ok = false;
        } else if (!rounding_ok || !flush_ok) {
            /* An emulator may compute in the default mode whatever the program
             * sets (the builds for one say so): the sums then ran in it. */
            const char *why = NULL;
            bool rounding_excused = rounding_ok, flushing_excused = flush_ok;
#ifdef MYLIB_TEST_ROUNDING_NOT_EMULATED
            if (!rounding_ok) {
                rounding_excused = true;
                why = MYLIB_TEST_ROUNDING_NOT_EMULATED;
            }
#endif
#ifdef MYLIB_TEST_FLUSH_NOT_EMULATED
            if (!flush_ok) {
                flushing_excused = true;
                why = MYLIB_TEST_FLUSH_NOT_EMULATED;
            }
#endif
            if (!rounding_excused || !flushing_excused) {
                why = NULL;
            }
            if (why == NULL) {
                fprintf(stderr, "  %s did not take effect\n", env->name);
                ok = false;
            } else {
                printf("  %s: not in effect (%s): the vectors ran without it\n", env->name, why);
            }
        } else {
            printf("  %s: %d cases, all bits exact\n", env->name, SUM_VECTOR_COUNT);
        }
    }
    CHECK(ok);
    CHECK_INT(fegetround(), saved_round);
#ifdef MYLIB_TEST_FLUSH
    CHECK(flush_save() == saved_flush);
#endif
    return true;
}

/* ------------------------------------------------------------- greeting */

static bool test_greeting(void) {
    char *g = NULL;
    CHECK_INT(mylib_greeting("world", &g), MYLIB_OK);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_STR(g, "Hello, world!");
    mylib_string_free(g);

    g = NULL;
    CHECK_INT(mylib_greeting("", &g), MYLIB_OK);
    CHECK_STR(g, "Hello, !");
    mylib_string_free(g);

    g = NULL;
    CHECK_INT(mylib_greeting("\xff\xfe", &g), MYLIB_OK);
    CHECK_STR(g, "Hello, \xff\xfe!");
    mylib_string_free(g);
    return true;
}

static bool test_greeting_bad_input(void) {
    char sentinel_text[] = "untouched";
    char *g = sentinel_text;
    CHECK_INT(mylib_greeting(NULL, &g), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK(g == sentinel_text);
    CHECK_INT(mylib_greeting("x", NULL), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_greeting(NULL, NULL), MYLIB_ERR_NULL_POINTER);
    return true;
}

static bool test_string_free_null(void) {
    add(INT_MAX, 1);
    mylib_string_free(NULL);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* ----------------------------------------------------------- mylib_process */

typedef struct {
    int calls;
    int factor;
} counter;

static int cb_scale(void *user_data, int value, int *result_out) {
    counter *c = user_data;
    c->calls++;
    *result_out = value * c->factor;
    return 0;
}

static int cb_fail(void *user_data, int value, int *result_out) {
    counter *c = user_data;
    (void)value;
    c->calls++;
    *result_out = 999; /* mylib must not copy this out */
    return 17;
}

static int cb_no_user_data(void *user_data, int value, int *result_out) {
    if (user_data != NULL) {
        return 1;
    }
    *result_out = value + 1;
    return 0;
}

/* Re-entrant: calls back into mylib, including a failing call. */
static int cb_reentrant(void *user_data, int value, int *result_out) {
    int64_t exact = 0;
    int arr[2] = {value, value};
    counter *c = user_data;
    c->calls++;
    if (mylib_sum_i32(arr, 2, &exact) != MYLIB_OK) {
        return 1;
    }
    *result_out = add((int)exact, 1);
    return 0;
}

static bool test_mylib_process(void) {
    counter c = {0, 3};
    int r = -1;
    CHECK_INT(mylib_process(cb_scale, &c, 14, &r), MYLIB_OK);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(r, 42);
    CHECK_INT(c.calls, 1);
    CHECK_INT(mylib_process(cb_scale, &c, -2, &r), MYLIB_OK);
    CHECK_INT(r, -6);
    CHECK_INT(c.calls, 2);

    CHECK_INT(mylib_process(cb_no_user_data, NULL, 41, &r), MYLIB_OK);
    CHECK_INT(r, 42);
    return true;
}

static bool test_mylib_process_errors(void) {
    counter c = {0, 2};
    const int sentinel = -31337;
    int r = sentinel;

    CHECK_INT(mylib_process(cb_fail, &c, 5, &r), MYLIB_ERR_CALLBACK_FAILED);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_CALLBACK_FAILED);
    CHECK_INT(r, sentinel);
    CHECK_INT(c.calls, 1);

    CHECK_INT(mylib_process(NULL, &c, 5, &r), MYLIB_ERR_MISSING_CALLBACK);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_MISSING_CALLBACK);
    CHECK_INT(r, sentinel);

    CHECK_INT(mylib_process(cb_scale, &c, 5, NULL), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    CHECK_INT(c.calls, 1); /* not called */
    CHECK_INT(r, sentinel);

    CHECK_INT(mylib_process(cb_scale, &c, 5, &r), MYLIB_OK);
    CHECK_INT(r, 10);
    CHECK_INT(c.calls, 2);
    return true;
}

static bool test_mylib_process_reentrant(void) {
    counter c = {0, 0};
    int r = -1;
    CHECK_INT(mylib_process(cb_reentrant, &c, 20, &r), MYLIB_OK);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(r, 41);
    CHECK_INT(c.calls, 1);
    return true;
}

/* ------------------------------------------------------------------ threads */

#define N_THREADS 8
#define N_ITERS 1000

typedef struct {
    int id;
    bool ok;
    char why[160];
} thread_job;

#define T_EXPECT(job, got, want, what)                                              \
    do {                                                                            \
        long long g_ = (long long)(got), w_ = (long long)(want);                    \
        if (g_ != w_) {                                                             \
            snprintf((job)->why, sizeof (job)->why, "thread %d iter %d: %s: got %lld, want %lld", \
                     (job)->id, i, (what), g_, w_);                                 \
            return false;                                                           \
        }                                                                           \
    } while (0)

static bool thread_body(thread_job *job) {
    int t = job->id;
    int arr[3] = {t, 1, 2};
    double darr[2] = {0.5, (double)t};
    int i;
    for (i = 0; i < N_ITERS; i++) {
        int64_t s64 = 0;
        double d = 0.0;
        int r = 0;
        char *g = NULL;
        counter c = {0, t};

        T_EXPECT(job, sum_array(NULL, 3), 0, "sum_array(NULL, 3)");
        T_EXPECT(job, mylib_last_error(), MYLIB_ERR_NULL_POINTER, "code after NULL");

        T_EXPECT(job, add(INT_MAX, t + 1), INT_MIN + t, "add overflow");
        T_EXPECT(job, mylib_last_error(), MYLIB_ERR_OVERFLOW, "code after overflow");

        T_EXPECT(job, add(t, i), t + i, "add");
        T_EXPECT(job, mylib_last_error(), MYLIB_OK, "code after add");

        T_EXPECT(job, sum_array(arr, -t - 1), 0, "sum_array negative");
        T_EXPECT(job, mylib_last_error(), MYLIB_ERR_INVALID_LENGTH, "code after negative");

        T_EXPECT(job, sum_array(arr, 3), t + 3, "sum_array");
        T_EXPECT(job, mylib_last_error(), MYLIB_OK, "code after sum_array");

        T_EXPECT(job, process(NULL, i), 0, "process(NULL)");
        T_EXPECT(job, mylib_last_error(), MYLIB_ERR_MISSING_CALLBACK, "code after process");

        T_EXPECT(job, mylib_sum_i32(arr, 3, &s64), MYLIB_OK, "mylib_sum_i32");
        T_EXPECT(job, s64, t + 3, "mylib_sum_i32 value");
        T_EXPECT(job, mylib_last_error(), MYLIB_OK, "code after sum_i32");

        fast_sum(darr, 2, NULL);
        T_EXPECT(job, mylib_last_error(), MYLIB_ERR_NULL_POINTER, "code after fast_sum NULL");
        fast_sum(darr, 2, &d);
        T_EXPECT(job, mylib_last_error(), MYLIB_OK, "code after fast_sum");
        T_EXPECT(job, d == 0.5 + t, 1, "fast_sum value");

        T_EXPECT(job, mylib_process(cb_fail, &c, i, &r), MYLIB_ERR_CALLBACK_FAILED,
                 "mylib_process failing");
        T_EXPECT(job, mylib_last_error(), MYLIB_ERR_CALLBACK_FAILED, "code after cb_fail");
        T_EXPECT(job, mylib_process(cb_scale, &c, i, &r), MYLIB_OK, "mylib_process");
        T_EXPECT(job, r, i * t, "mylib_process value");

        T_EXPECT(job, mylib_greeting("t", &g), MYLIB_OK, "mylib_greeting");
        T_EXPECT(job, strcmp(g, "Hello, t!"), 0, "greeting text");
        mylib_string_free(g);
        T_EXPECT(job, mylib_last_error(), MYLIB_OK, "code after string_free");

        T_EXPECT(job, mylib_sum_f64(darr, SIZE_MAX, &d), MYLIB_ERR_INVALID_LENGTH,
                 "mylib_sum_f64 huge");
        T_EXPECT(job, mylib_last_error(), MYLIB_ERR_INVALID_LENGTH, "code after huge");
        if ((i + t) % 3 == 0) {
            /* leave an error behind across loop iterations sometimes */
            add(INT_MIN, -1);
            T_EXPECT(job, mylib_last_error(), MYLIB_ERR_OVERFLOW, "code after underflow");
        }
    }
    return true;
}

#ifdef _WIN32
typedef HANDLE thread_t;

static unsigned __stdcall thread_main(void *arg) {
    thread_job *job = arg;
    job->ok = thread_body(job);
    return 0;
}

static bool thread_start(thread_t *th, thread_job *job) {
    *th = (HANDLE)_beginthreadex(NULL, 0, thread_main, job, 0, NULL);
    return *th != 0;
}

static void thread_join(thread_t th) {
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
}
#else
typedef pthread_t thread_t;

static void *thread_main(void *arg) {
    thread_job *job = arg;
    job->ok = thread_body(job);
    return NULL;
}

static bool thread_start(thread_t *th, thread_job *job) {
    return pthread_create(th, NULL, thread_main, job) == 0;
}

static void thread_join(thread_t th) {
    pthread_join(th, NULL);
}
#endif

static bool test_threads_own_errors(void) {
    thread_t th[N_THREADS];
    thread_job jobs[N_THREADS];
    int i, started = 0;
    bool all_ok = true;

    /* The main thread's slot is independent of the workers'. */
    sum_array(NULL, 1);
    for (i = 0; i < N_THREADS; i++) {
        jobs[i].id = i;
        jobs[i].ok = false;
        jobs[i].why[0] = '\0';
        if (!thread_start(&th[i], &jobs[i])) {
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++) {
        thread_join(th[i]);
    }
    CHECK_INT(started, N_THREADS);
    for (i = 0; i < N_THREADS; i++) {
        if (!jobs[i].ok) {
            fprintf(stderr, "  %s\n", jobs[i].why);
            all_ok = false;
        }
    }
    CHECK(all_ok);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_NULL_POINTER);
    return true;
}

/* ------------------------------------------- one exact sum, several threads */

/* Threads of any function: a trampoline on Windows. */
typedef void *(*worker_fn)(void *);
typedef struct {
    worker_fn fn;
    void *arg;
} worker;

#ifdef _WIN32
static unsigned __stdcall worker_main(void *p) {
    worker *w = p;
    w->fn(w->arg);
    return 0;
}
static bool worker_start(thread_t *th, worker *w) {
    *th = (HANDLE)_beginthreadex(NULL, 0, worker_main, w, 0, NULL);
    return *th != 0;
}
#else
static bool worker_start(thread_t *th, worker *w) { return pthread_create(th, NULL, w->fn, w->arg) == 0; }
#endif

/* Runs fn(args[k]) on n threads and joins them; false if one could not start. */
static bool run_workers(worker_fn fn, void **args, int n) {
    thread_t th[16];
    worker w[16];
    int k, started = 0;
    for (k = 0; k < n && k < 16; k++) {
        w[k].fn = fn;
        w[k].arg = args[k];
        if (!worker_start(&th[k], &w[k])) {
            break;
        }
        started++;
    }
    for (k = 0; k < started; k++) {
        thread_join(th[k]);
    }
    return started == n;
}

#define XS_THREADS 4
#define XS_ROUNDS 150
#define XS_VALUES 400

typedef struct {
    mylib_exact_sum *shared;
    const double *values; /* XS_VALUES of them */
    int id;
    bool ok;
    char why[160];
} xs_job;

#define XS_EXPECT(job, cond, ...)                                   \
    do {                                                            \
        if (!(cond)) {                                              \
            snprintf((job)->why, sizeof (job)->why, __VA_ARGS__);   \
            (job)->ok = false;                                      \
            return NULL;                                            \
        }                                                           \
    } while (0)

/* Every kind of call at once on the shared state: adds, values, merges of
 * another state and of the state into itself, results, counts, snapshots
 * through bytes, resets. Every call applies whole, so each snapshot reads
 * back as a state, and the last call of every thread is a reset. */
static void *xs_chaos(void *arg) {
    xs_job *job = arg;
    mylib_exact_sum *mine = state_new();
    int round;
    XS_EXPECT(job, mine != NULL, "thread %d: no state", job->id);
    for (round = 0; round < XS_ROUNDS; round++) {
        uint8_t b[MYLIB_EXACT_SUM_BYTES];
        mylib_exact_sum *snap = NULL;
        double r;
        uint64_t n;
        int st;
        const double *part = job->values + (size_t)(round * 7 + job->id) % (XS_VALUES - 100);
        XS_EXPECT(job, mylib_exact_sum_add(job->shared, part, 100) == MYLIB_OK, "thread %d: add", job->id);
        XS_EXPECT(job, mylib_exact_sum_add_value(job->shared, part[3]) == MYLIB_OK, "thread %d: add_value", job->id);
        XS_EXPECT(job, mylib_exact_sum_add(mine, part, 10) == MYLIB_OK, "thread %d: own add", job->id);
        XS_EXPECT(job, mylib_exact_sum_merge(job->shared, mine) == MYLIB_OK, "thread %d: merge", job->id);
        st = mylib_exact_sum_merge(job->shared, job->shared);
        XS_EXPECT(job, st == MYLIB_OK || st == MYLIB_ERR_OVERFLOW, "thread %d: self-merge %d", job->id, st);
        st = mylib_exact_sum_result(job->shared, &r);
        XS_EXPECT(job, st == MYLIB_OK || st == MYLIB_ERR_OVERFLOW, "thread %d: result %d", job->id, st);
        XS_EXPECT(job, mylib_exact_sum_count(job->shared, &n) == MYLIB_OK, "thread %d: count", job->id);
        XS_EXPECT(job, mylib_exact_sum_to_bytes(job->shared, b, sizeof b) == MYLIB_OK, "thread %d: to_bytes", job->id);
        XS_EXPECT(job, mylib_exact_sum_from_bytes(b, sizeof b, &snap) == MYLIB_OK,
                  "thread %d: a snapshot does not read back: %s", job->id, mylib_last_error_message());
        mylib_exact_sum_free(snap);
        XS_EXPECT(job, mylib_exact_sum_reset(job->shared) == MYLIB_OK, "thread %d: reset", job->id);
    }
    mylib_exact_sum_free(mine);
    job->ok = true;
    return NULL;
}

/* Adds and merges only: thread k adds the values k, k + 4, ... one array at
 * a time, one value at a time, and through a state of its own, merged. */
static void *xs_adds(void *arg) {
    xs_job *job = arg;
    mylib_exact_sum *mine = state_new();
    size_t i;
    XS_EXPECT(job, mine != NULL, "thread %d: no state", job->id);
    for (i = (size_t)job->id; i < XS_VALUES; i += XS_THREADS) {
        switch (i % 3) {
        case 0:
            XS_EXPECT(job, mylib_exact_sum_add(job->shared, &job->values[i], 1) == MYLIB_OK, "add");
            break;
        case 1:
            XS_EXPECT(job, mylib_exact_sum_add_value(job->shared, job->values[i]) == MYLIB_OK, "add_value");
            break;
        default:
            XS_EXPECT(job, mylib_exact_sum_add_value(mine, job->values[i]) == MYLIB_OK, "own add");
            XS_EXPECT(job, mylib_exact_sum_merge(job->shared, mine) == MYLIB_OK, "merge");
            XS_EXPECT(job, mylib_exact_sum_reset(mine) == MYLIB_OK, "reset");
        }
    }
    mylib_exact_sum_free(mine);
    job->ok = true;
    return NULL;
}

static bool test_exact_sum_threads(void) {
    static double values[XS_VALUES];
    xs_job jobs[XS_THREADS];
    void *args[XS_THREADS];
    mylib_exact_sum *shared = state_new(), *alone = state_new();
    uint8_t want[MYLIB_EXACT_SUM_BYTES], got[MYLIB_EXACT_SUM_BYTES];
    double r = -1.0;
    int k, st;
    bool ok = true;
    CHECK(shared != NULL && alone != NULL);
    fill_cancelling(values, XS_VALUES);
    for (k = 0; k < XS_THREADS; k++) {
        jobs[k].shared = shared;
        jobs[k].values = values;
        jobs[k].id = k;
        jobs[k].ok = false;
        jobs[k].why[0] = '\0';
        args[k] = &jobs[k];
    }
    CHECK(run_workers(xs_chaos, args, XS_THREADS));
    for (k = 0; k < XS_THREADS; k++) {
        if (!jobs[k].ok) {
            fprintf(stderr, "  chaos: %s\n", jobs[k].why);
            ok = false;
        }
    }
    CHECK(ok);
    /* The last call of all was a reset. */
    CHECK_SIZE(state_count(shared), 0);
    CHECK_INT(mylib_exact_sum_result(shared, &r), MYLIB_OK);
    CHECK(bits_of(r) == 0);

    for (k = 0; k < XS_THREADS; k++) {
        jobs[k].ok = false;
    }
    CHECK(run_workers(xs_adds, args, XS_THREADS));
    for (k = 0; k < XS_THREADS; k++) {
        if (!jobs[k].ok) {
            fprintf(stderr, "  adds: thread %d: %s\n", k, jobs[k].why);
            ok = false;
        }
    }
    CHECK(ok);
    CHECK_INT(mylib_exact_sum_add(alone, values, XS_VALUES), MYLIB_OK);
    CHECK(state_bytes(alone, want));
    CHECK(state_bytes(shared, got));
    CHECK(memcmp(want, got, sizeof want) == 0);
    CHECK_SIZE(state_count(shared), XS_VALUES);
    st = mylib_exact_sum_result(shared, &r);
    CHECK(answer_is(ref_of(values, XS_VALUES), st, r, "threads' adds"));
    mylib_exact_sum_free(shared);
    mylib_exact_sum_free(alone);
    return true;
}

/* ------------------------------------------------- threads of the large sums */

/* Large enough for several threads: 8 MiB of doubles, 4 MiB of ints, and not
 * a multiple of the 65536-element block. */
#define PAR_N ((size_t)1048576 + 4099)

/* Doubles that cancel: huge values (~1e20) and their exact negations,
 * shuffled, among values of order 1, so the exact sum lies some 70 binary
 * orders below the partial sums (the certificate fails: the exact path,
 * threaded). A sum that rounded per block or per thread would depend on
 * the thread count; the exact sum rounded once does not. */
static double *par_doubles(void) {
    double *d = malloc(PAR_N * sizeof *d);
    size_t i, third = PAR_N / 3;
    if (d != NULL) {
        for (i = 0; i < third; i++) {
            d[i] = (rng_unit() * 2.0 - 1.0) * 1e20;
            d[third + i] = -d[i];
        }
        for (i = 2 * third; i < PAR_N; i++) {
            d[i] = rng_unit() * 2.0 - 1.0;
        }
        for (i = PAR_N - 1; i > 0; i--) {
            size_t j = (size_t)(rng_next() % (i + 1));
            double t = d[i];
            d[i] = d[j];
            d[j] = t;
        }
    }
    return d;
}

static int *par_ints(void) {
    int *v = malloc(PAR_N * sizeof *v);
    size_t i;
    if (v != NULL) {
        for (i = 0; i < PAR_N; i++) {
            v[i] = (int)(uint32_t)rng_next();
        }
    }
    return v;
}

static bool test_num_threads(void) {
    int def = mylib_get_num_threads();
    CHECK(def >= 1 && def <= 1024);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_INT(mylib_set_num_threads(3), MYLIB_OK);
    CHECK_INT(mylib_get_num_threads(), 3);
    CHECK_INT(mylib_set_num_threads(-1), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(mylib_last_error(), MYLIB_ERR_INVALID_LENGTH);
    CHECK_STR(mylib_last_error_message(), "invalid length for n: -1");
    CHECK_INT(mylib_set_num_threads(1025), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(mylib_set_num_threads(INT_MIN), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(mylib_set_num_threads(INT_MAX), MYLIB_ERR_INVALID_LENGTH);
    CHECK_INT(mylib_get_num_threads(), 3);
    CHECK_INT(mylib_set_num_threads(1024), MYLIB_OK);
    CHECK_INT(mylib_get_num_threads(), 1024);
    CHECK_INT(mylib_set_num_threads(1), MYLIB_OK);
    CHECK_INT(mylib_get_num_threads(), 1);
    CHECK_INT(mylib_set_num_threads(0), MYLIB_OK);
    CHECK_INT(mylib_get_num_threads(), def);
    return true;
}

/* Every thread count gives the same bits (doubles) and the same exact sums. */
static bool test_threads_same_results(void) {
    double *d = par_doubles();
    int *v = par_ints();
    double want_f = 0.0, want_fast = 0.0, got = 0.0;
    int64_t want_i = 0, got_i = 0;
    int want_wrapped, got_wrapped, t;
    bool ok = d != NULL && v != NULL;
    if (ok) {
        mylib_set_num_threads(1);
        ok = mylib_sum_f64(d, PAR_N, &want_f) == MYLIB_OK && mylib_sum_i32(v, PAR_N, &want_i) == MYLIB_OK;
        fast_sum(d, (int)PAR_N, &want_fast);
        want_wrapped = sum_array(v, (int)PAR_N);
        ok = ok && memcmp(&want_f, &want_fast, sizeof want_f) == 0;
        ok = ok && answer_is(ref_of(d, PAR_N), MYLIB_OK, want_f, "one thread, against the reference");
        for (t = 2; ok && t <= 9; t++) {
            mylib_set_num_threads(t);
            ok = mylib_sum_f64(d, PAR_N, &got) == MYLIB_OK && memcmp(&got, &want_f, sizeof got) == 0;
            fast_sum(d, (int)PAR_N, &got);
            ok = ok && memcmp(&got, &want_f, sizeof got) == 0;
            ok = ok && mylib_sum_i32(v, PAR_N, &got_i) == MYLIB_OK && got_i == want_i;
            got_wrapped = sum_array(v, (int)PAR_N);
            ok = ok && got_wrapped == want_wrapped;
            if (!ok) {
                fprintf(stderr, "  %d threads: %a vs %a, %lld vs %lld\n", t, got, want_f,
                        (long long)got_i, (long long)want_i);
            }
        }
    }
    mylib_set_num_threads(0);
    free(d);
    free(v);
    CHECK(ok);
    return true;
}

#if defined(__linux__)
/* The number of threads of this process (/proc/self/task entries), or -1. */
static int count_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "Threads:", 8) == 0) {
            n = atoi(line + 8);
        }
    }
    fclose(f);
    return n;
}

/* No thread of mylib outlives the call that started it. A joined thread may
 * still be listed for a moment while the kernel (or an emulator) finishes
 * tearing it down, so the count is given up to 2 s to come back; a pool
 * thread would never go away. */
static bool test_no_threads_left(void) {
    double *d = par_doubles();
    double r;
    int before, after, waits = 0;
    CHECK(d != NULL);
    mylib_set_num_threads(4);
    before = count_threads();
    CHECK_INT(mylib_sum_f64(d, PAR_N, &r), MYLIB_OK);
    while ((after = count_threads()) != before && waits++ < 200) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    mylib_set_num_threads(0);
    free(d);
    CHECK(before >= 1);
    CHECK_INT(after, before);
    return true;
}
#endif

#if !defined(_WIN32)
/* In a child of fork(): sum on several threads and compare with `want`.
 * alarm() turns a hang into a failure the parent sees (SIGALRM). */
static void fork_child(const double *d, double want, const int *v, int64_t want_i) {
    double r = 0.0;
    int64_t s = 0;
    int status = 0;
    alarm(30);
    if (mylib_set_num_threads(4) != MYLIB_OK || mylib_sum_f64(d, PAR_N, &r) != MYLIB_OK ||
        memcmp(&r, &want, sizeof r) != 0 || mylib_sum_i32(v, PAR_N, &s) != MYLIB_OK || s != want_i) {
        status = 1;
    }
    _exit(status);
}

/* The arrays and expected sums of the fork tests. */
typedef struct {
    double *d;
    int *v;
    double want;
    int64_t want_i;
} fork_data;

static bool fork_setup(fork_data *fd) {
    fd->d = par_doubles();
    fd->v = par_ints();
    fd->want = 0.0;
    fd->want_i = 0;
    if (fd->d == NULL || fd->v == NULL) {
        return false;
    }
    mylib_set_num_threads(1);
    return mylib_sum_f64(fd->d, PAR_N, &fd->want) == MYLIB_OK &&
           mylib_sum_i32(fd->v, PAR_N, &fd->want_i) == MYLIB_OK;
}

static void fork_teardown(fork_data *fd) {
    mylib_set_num_threads(0);
    free(fd->d);
    free(fd->v);
}

/* Forks; the child sums on threads; returns true when the child exited 0. */
static bool fork_and_sum(const fork_data *fd, int k) {
    pid_t pid;
    int st = -1;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        fork_child(fd->d, fd->want, fd->v, fd->want_i);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "  fork %d: %s\n", k,
                pid < 0 ? "fork failed"
                : WIFSIGNALED(st) ? (WTERMSIG(st) == SIGALRM ? "child hung (SIGALRM)" : "child killed by a signal")
                : "child's sums wrong");
        return false;
    }
    return true;
}

/* A child of fork() sums on threads of its own after the parent ran
 * threaded sums: there is no pool whose threads the child would wait for. */
static bool test_fork_child_sums(void) {
    fork_data fd;
    double r = 0.0;
    bool ok = fork_setup(&fd);
    int k;
    mylib_set_num_threads(3);
    for (k = 0; ok && k < 3; k++) {
        ok = mylib_sum_f64(fd.d, PAR_N, &r) == MYLIB_OK && memcmp(&r, &fd.want, sizeof r) == 0;
        ok = ok && fork_and_sum(&fd, k);
    }
    fork_teardown(&fd);
    CHECK(ok);
    return true;
}

/* AddressSanitizer's allocator (GCC 12's libasan) is not locked across
 * fork(): a child forked while another thread is inside malloc can hang in
 * ASan itself, whatever the library does. So test_fork_during_sum runs in the
 * suite's unsanitized build only (make test-c-nosan). */
#if defined(__SANITIZE_ADDRESS__)
#define MYLIB_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MYLIB_TEST_ASAN 1
#endif
#endif

#if !defined(MYLIB_TEST_ASAN) && !defined(MYLIB_TEST_NO_FORK_DURING_THREADS)
/* A thread that keeps summing a large array on several threads until told
 * to stop, so that fork() happens while a sum is in progress. */
typedef struct {
    const double *d;
    volatile int stop;
    volatile int in_sum; /* 1 while inside mylib_sum_f64 */
    long sums;
    bool ok;
    double want;
} busy_job;

static void *busy_main(void *arg) {
    busy_job *job = arg;
    double r;
    while (!__atomic_load_n(&job->stop, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&job->in_sum, 1, __ATOMIC_SEQ_CST);
        if (mylib_sum_f64(job->d, PAR_N, &r) != MYLIB_OK || memcmp(&r, &job->want, sizeof r) != 0) {
            job->ok = false;
        }
        __atomic_store_n(&job->in_sum, 0, __ATOMIC_SEQ_CST);
        job->sums++;
    }
    return NULL;
}

/* A child of fork() sums on threads of its own while another thread of the
 * parent is in the middle of a threaded sum at the time of the fork. */
static bool test_fork_during_sum(void) {
    fork_data fd;
    busy_job job;
    pthread_t th;
    int k, forks = 20, during = 0, failures = 0;
    bool ok = fork_setup(&fd);
    if (!ok) {
        fork_teardown(&fd);
        CHECK(ok);
    }
    mylib_set_num_threads(3);
    job.d = fd.d;
    job.stop = 0;
    job.in_sum = 0;
    job.sums = 0;
    job.ok = true;
    job.want = fd.want;
    if (pthread_create(&th, NULL, busy_main, &job) != 0) {
        fork_teardown(&fd);
        CHECK(!"pthread_create");
    }
    for (k = 0; k < forks; k++) {
        /* Wait (at most ~1 s) until the busy thread is inside a sum. */
        int spins = 0;
        while (!__atomic_load_n(&job.in_sum, __ATOMIC_SEQ_CST) && spins++ < 1000) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (__atomic_load_n(&job.in_sum, __ATOMIC_SEQ_CST)) {
            during++;
        }
        if (!fork_and_sum(&fd, k)) {
            failures++;
        }
    }
    __atomic_store_n(&job.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    fork_teardown(&fd);
    CHECK_INT(failures, 0);
    CHECK(job.ok);
    CHECK(job.sums > 0);
    /* The busy thread is inside a sum nearly all the time. */
    CHECK(during >= forks / 2);
    return true;
}
#endif
#endif

/* ------------------------------------------------------------------ main */

int main(void) {
    run_test(test_enum_values, "enum_values");
    run_test(test_point_layout, "point_layout");
    run_test(test_add, "add");
    run_test(test_add_overflow, "add_overflow");
    run_test(test_last_error_message, "last_error_message");
    run_test(test_greet_output, "greet_output");
    run_test(test_greet_non_utf8, "greet_non_utf8");
    run_test(test_greet_null, "greet_null");
    run_test(test_greet_ordering, "greet_ordering");
#ifdef _WIN32
    run_test(test_greet_text_mode, "greet_text_mode");
#endif
    run_test(test_greet_broken_pipe, "greet_broken_pipe");
#ifndef _WIN32
    run_test(test_greet_sigpipe_caller_blocked, "greet_sigpipe_caller_blocked");
#endif
    run_test(test_greet_long_name, "greet_long_name");
    run_test(test_greet_closed_stdout, "greet_closed_stdout");
    run_test(test_mylib_add, "mylib_add");
    run_test(test_mylib_add_packed, "mylib_add_packed");
    run_test(test_mylib_greet, "mylib_greet");
    run_test(test_mylib_print_point, "mylib_print_point");
    run_test(test_twins_closed_stdout, "twins_closed_stdout");
    run_test(test_print_point, "print_point");
    run_test(test_print_point_null, "print_point_null");
    run_test(test_sum_array, "sum_array");
    run_test(test_sum_array_bad_input, "sum_array_bad_input");
    run_test(test_sum_array_overflow, "sum_array_overflow");
    run_test(test_sum_array_misaligned, "sum_array_misaligned");
    run_test(test_process, "process");
    run_test(test_process_null, "process_null");
    run_test(test_process_reentrant, "process_reentrant");
    run_test(test_reference_itself, "reference_itself");
    run_test(test_fast_sum_basic, "fast_sum_basic");
    run_test(test_fast_sum_bad_input, "fast_sum_bad_input");
    run_test(test_fast_sum_exact_cases, "fast_sum_exact_cases");
    run_test(test_fast_sum_special_values, "fast_sum_special_values");
    run_test(test_fast_sum_overflow_to_inf, "fast_sum_overflow_to_inf");
    run_test(test_fast_sum_random_large, "fast_sum_random_large");
    run_test(test_fast_sum_lengths, "fast_sum_lengths");
    run_test(test_fast_sum_aliasing, "fast_sum_aliasing");
    run_test(test_debug_logging, "debug_logging");
    run_test(test_debug_log_not_on_stdout, "debug_log_not_on_stdout");
    run_test(test_debug_values, "debug_values");
    run_test(test_version, "version");
    run_test(test_status_str, "status_str");
    run_test(test_sum_i32, "sum_i32");
    run_test(test_sum_i32_bad_input, "sum_i32_bad_input");
    run_test(test_sum_f64, "sum_f64");
    run_test(test_sum_f64_bad_input, "sum_f64_bad_input");
    run_test(test_sum_f64_strided, "sum_f64_strided");
    run_test(test_sum_f64_strided_bad_input, "sum_f64_strided_bad_input");
    run_test(test_exact_sum_basic, "exact_sum_basic");
    run_test(test_exact_sum_merge_self_and_count_overflow, "exact_sum_merge_self_and_count_overflow");
    run_test(test_exact_sum_specials_stay, "exact_sum_specials_stay");
    run_test(test_exact_sum_strided, "exact_sum_strided");
    run_test(test_exact_sum_bad_input, "exact_sum_bad_input");
    run_test(test_exact_sum_corrupted_bytes, "exact_sum_corrupted_bytes");
    run_test(test_vectors_file, "vectors_file");
    run_test(test_vectors_sum, "vectors_sum");
    run_test(test_vectors_strided, "vectors_strided");
    run_test(test_vectors_exact_sum, "vectors_exact_sum");
    run_test(test_vectors_threads, "vectors_threads");
    run_test(test_fp_environment, "fp_environment");
    run_test(test_greeting, "greeting");
    run_test(test_greeting_bad_input, "greeting_bad_input");
    run_test(test_string_free_null, "string_free_null");
    run_test(test_mylib_process, "mylib_process");
    run_test(test_mylib_process_errors, "mylib_process_errors");
    run_test(test_mylib_process_reentrant, "mylib_process_reentrant");
    run_test(test_threads_own_errors, "threads_own_errors");
    run_test(test_exact_sum_threads, "exact_sum_threads");
    run_test(test_num_threads, "num_threads");
    run_test(test_threads_same_results, "threads_same_results");
#if defined(__linux__)
    run_test(test_no_threads_left, "no_threads_left");
#endif
#if !defined(_WIN32)
    run_test(test_fork_child_sums, "fork_child_sums");
#if defined(MYLIB_TEST_NO_FORK_DURING_THREADS)
    /* Set by the aarch64 build: qemu-user (7.2) itself deadlocks in a child
     * forked while another thread creates threads, with or without mylib. */
    printf("skipped fork_during_sum: %s\n", MYLIB_TEST_NO_FORK_DURING_THREADS);
#elif !defined(MYLIB_TEST_ASAN)
    run_test(test_fork_during_sum, "fork_during_sum");
#endif
#endif
    return harness_finish();
}

/*
 * The C test suite of mylib: every export, every documented bad input.
 *
 * Built twice by the Makefile (against libmylib.so and against libmylib.a),
 * both times with -std=c99 -pedantic -Werror and ASan/UBSan/LSan.
 *
 * Windows (mk/windows.mk, run under Wine): the same suite, built with
 * mingw-w64 against mylib.dll, against libmylib.a, and as a UCRT program.
 * The `#ifdef _WIN32` parts are the Windows spellings of the POSIX calls
 * (_pipe, _dup, _dup2, _beginthreadex, a temporary file in %TEMP%); the
 * SIGPIPE test is POSIX-only, and text-mode stdout is Windows-only.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
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
    CHECK_DBL(r, 0.0);

    r = 123.0;
    fast_sum(d, 0, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, 0.0);
    return true;
}

static bool test_fast_sum_bad_input(void) {
    double d[] = {1.0, 2.0};
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

    fast_sum(d, 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, 3.0);
    return true;
}

static bool test_fast_sum_exact_cases(void) {
    double tenth[10];
    double classic[] = {1.0, 1e100, 1.0, -1e100};
    static const int ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100, 1000};
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

/* Finite inputs whose true sum overflows: the correctly rounded sum is
 * +/-infinity (not NaN from the compensation term). */
static bool test_fast_sum_overflow_to_inf(void) {
    double two_max[] = {DBL_MAX, DBL_MAX};
    double two_min[] = {-DBL_MAX, -DBL_MAX};
    double back[] = {DBL_MAX, DBL_MAX, -DBL_MAX};
    double many[64];
    double r = 0.0;
    int i;
    for (i = 0; i < 64; i++) {
        many[i] = 1e307;
    }

    fast_sum(two_max, 2, &r);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    CHECK_DBL(r, INFINITY);
    CHECK_INT(mylib_sum_f64(two_max, 2, &r), MYLIB_OK);
    CHECK_DBL(r, INFINITY);

    fast_sum(two_min, 2, &r);
    CHECK_DBL(r, -INFINITY);

    fast_sum(many, 64, &r);
    CHECK_DBL(r, INFINITY);

    /* The exact sum DBL_MAX is representable, but a left-to-right IEEE sum
     * overflows; either DBL_MAX or +inf is acceptable, never NaN. */
    fast_sum(back, 3, &r);
    CHECK(!isnan(r));
    return true;
}

static bool test_fast_sum_special_values(void) {
    double with_nan[] = {1.0, NAN, 2.0};
    double with_inf[] = {INFINITY, 1.0};
    double with_ninf[] = {-1.0, -INFINITY, 5.0};
    double both_inf[] = {INFINITY, -INFINITY};
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

/* The Makefile links without -lm, so no libm calls: small local helpers. */
static long double ld_abs(long double x) { return x < 0 ? -x : x; }
static double d_abs(double x) { return x < 0 ? -x : x; }
/* 2^k for small |k|, exactly. */
static double pow2(int k) {
    double r = 1.0;
    for (; k > 0; k--) r *= 2.0;
    for (; k < 0; k++) r *= 0.5;
    return r;
}
/* The distance to the next larger double, for a positive finite x. */
static double ulp_of(double x) {
    uint64_t bits;
    double next;
    memcpy(&bits, &x, sizeof bits);
    bits++;
    memcpy(&next, &bits, sizeof next);
    return next - x;
}

/* A very accurate reference: Neumaier summation in long double. */
static long double ref_sum(const double *d, size_t n, long double *abs_sum) {
    long double s = 0.0L, c = 0.0L, a = 0.0L;
    size_t i;
    for (i = 0; i < n; i++) {
        long double x = d[i];
        long double t = s + x;
        if (ld_abs(s) >= ld_abs(x)) {
            c += (s - t) + x;
        } else {
            c += (x - t) + s;
        }
        s = t;
        a += ld_abs(x);
    }
    *abs_sum = a;
    return s + c;
}

/* |got - ref| within 2 * DBL_EPSILON * |sum| + n * DBL_EPSILON^2 * sum(|x|),
 * plus the reference's own error: tighter than the documented worst case
 * (see fast_sum in mylib.h), which unbiased random data stay well inside. */
static bool within_bound(double got, long double ref, long double abs_sum, size_t n) {
    long double err = ld_abs((long double)got - ref);
    long double bound = 2.0L * DBL_EPSILON * ld_abs(ref) +
                        (long double)n * DBL_EPSILON * DBL_EPSILON * abs_sum +
                        4.0L * LDBL_EPSILON * abs_sum + LDBL_MIN;
    if (!(err <= bound)) {
        fprintf(stderr, "  n=%zu got %.17g ref %.21Lg err %Lg bound %Lg\n", n, got, ref,
                err, bound);
        return false;
    }
    return true;
}

static bool test_fast_sum_random_large(void) {
    const size_t n = 1000000;
    double *d = malloc(n * sizeof *d);
    double r = 0.0, r2 = 0.0;
    long double ref, abs_sum;
    size_t i;
    CHECK(d != NULL);

    /* Mixed signs and magnitudes. */
    for (i = 0; i < n; i++) {
        d[i] = (rng_unit() * 2.0 - 1.0) * pow2((int)(rng_next() % 40) - 20);
    }
    fast_sum(d, (int)n, &r);
    mylib_sum_f64(d, n, &r2);
    ref = ref_sum(d, n, &abs_sum);
    if (!within_bound(r, ref, abs_sum, n) || !within_bound(r2, ref, abs_sum, n)) {
        free(d);
        CHECK(!"random mixed-sign sum outside the documented bound");
    }

    /* Positive values (no cancellation): within 1 ulp of the true sum. */
    for (i = 0; i < n; i++) {
        d[i] = rng_unit();
    }
    fast_sum(d, (int)n, &r);
    ref = ref_sum(d, n, &abs_sum);
    {
        double refd = (double)ref;
        double ulp = ulp_of(refd);
        if (!(d_abs(r - refd) <= ulp)) {
            fprintf(stderr, "  positive: got %.17g ref %.21Lg (1 ulp = %g)\n", r, ref, ulp);
            free(d);
            CHECK(!"positive sum not within 1 ulp");
        }
    }
    free(d);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    return true;
}

/* Every small length (SIMD tails) and every start offset. */
static bool test_fast_sum_lengths(void) {
    double buf[140];
    size_t n, off, i;
    for (i = 0; i < COUNT_OF(buf); i++) {
        buf[i] = (rng_unit() - 0.5) * 1000.0;
    }
    for (off = 0; off < 4; off++) {
        for (n = 0; n + off <= 130; n++) {
            long double abs_sum;
            long double ref = ref_sum(buf + off, n, &abs_sum);
            double r = -1.0, r2 = -1.0;
            fast_sum(buf + off, (int)n, &r);
            CHECK_INT(mylib_last_error(), MYLIB_OK);
            CHECK_INT(mylib_sum_f64(buf + off, n, &r2), MYLIB_OK);
            CHECK(within_bound(r, ref, abs_sum, n));
            CHECK_DBL(r2, r);
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
    static const int odd[] = {-1, 10, 100, INT_MIN, INT_MAX};
    const char *texts[10];
    int i, j;
    for (i = 0; i <= 9; i++) {
        texts[i] = mylib_status_str(i);
        CHECK(texts[i] != NULL);
        CHECK(texts[i][0] != '\0');
    }
    for (i = 0; i <= 9; i++) {
        for (j = i + 1; j <= 9; j++) {
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
    double out = -1.0;

    CHECK_INT(mylib_sum_f64(a, 3, &out), MYLIB_OK);
    CHECK_DBL(out, 2.75);
    CHECK_INT(mylib_last_error(), MYLIB_OK);
    out = -1.0;
    CHECK_INT(mylib_sum_f64(NULL, 0, &out), MYLIB_OK);
    CHECK_DBL(out, 0.0);
    CHECK_INT(mylib_sum_f64(tenth, 10, &out), MYLIB_OK);
    CHECK_DBL(out, 1.0);
    CHECK_INT(mylib_sum_f64(classic, 4, &out), MYLIB_OK);
    CHECK_DBL(out, 2.0);
    CHECK_INT(mylib_sum_f64(nan_in, 2, &out), MYLIB_OK);
    CHECK(isnan(out));
    return true;
}

static bool test_sum_f64_bad_input(void) {
    double a[] = {1.0, 2.0, 3.0};
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

    CHECK_INT(mylib_sum_f64(a, 3, &out), MYLIB_OK);
    CHECK_DBL(out, 6.0);
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

/* ------------------------------------------------- threads of the large sums */

/* Large enough for several threads: 8 MiB of doubles, 4 MiB of ints, and not
 * a multiple of the 65536-element block. */
#define PAR_N ((size_t)1048576 + 4099)

/* Doubles whose compensated sum depends on the summation order: huge values
 * (~1e20) and their exact negations, shuffled, among values of order 1, so
 * the exact sum lies some 70 binary orders below the partial sums. A
 * threaded sum that combined blocks in another order would give other bits. */
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
    run_test(test_greeting, "greeting");
    run_test(test_greeting_bad_input, "greeting_bad_input");
    run_test(test_string_free_null, "string_free_null");
    run_test(test_mylib_process, "mylib_process");
    run_test(test_mylib_process_errors, "mylib_process_errors");
    run_test(test_mylib_process_reentrant, "mylib_process_reentrant");
    run_test(test_threads_own_errors, "threads_own_errors");
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

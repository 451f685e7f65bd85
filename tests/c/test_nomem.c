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
 * Linux only (RLIMIT_AS, /proc/self/statm). Built without sanitizers: ASan
 * reserves terabytes of address space and cannot run under RLIMIT_AS.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <signal.h>
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

int main(void) {
    run_test(test_greeting_no_memory, "greeting_no_memory");
    run_test(test_greet_no_memory, "greet_no_memory");
    run_test(test_debug_line_no_memory, "debug_line_no_memory");
    return harness_finish();
}

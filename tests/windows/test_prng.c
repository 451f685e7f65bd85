/*
 * The test-only bcryptprimitives.dll (tests/windows/bcryptprimitives.c), as
 * Rust's standard library calls it: ProcessPrng fills buffers with random
 * bytes. Loaded by name, so it is whatever the Wine prefix provides.
 */
#include <windows.h>

#include "../c/harness.h"

typedef BOOL(WINAPI *process_prng_fn)(PBYTE, SIZE_T);
static process_prng_fn process_prng;

static bool test_loads(void) {
    HMODULE dll = LoadLibraryA("bcryptprimitives.dll");
    CHECK(dll != NULL);
    process_prng = (process_prng_fn)(void (*)(void))GetProcAddress(dll, "ProcessPrng");
    CHECK(process_prng != NULL);
    return true;
}

/* Two draws differ, and 64 KiB of output holds every byte value (a constant
 * or a short cycle would not; a real RNG fails this with p < 1e-100). */
static bool test_random_bytes(void) {
    static BYTE a[32], b[32], big[65536];
    int seen[256] = {0};
    int distinct = 0;
    size_t i;
    CHECK(process_prng != NULL);
    CHECK(process_prng(a, sizeof a));
    CHECK(process_prng(b, sizeof b));
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(process_prng(big, sizeof big));
    for (i = 0; i < sizeof big; i++) {
        if (!seen[big[i]]++) {
            distinct++;
        }
    }
    CHECK_INT(distinct, 256);
    /* No byte value more than twice its expected 256 times. */
    for (i = 0; i < 256; i++) {
        CHECK(seen[i] < 512);
    }
    return true;
}

static bool test_empty_and_unaligned(void) {
    BYTE buf[19] = {0};
    CHECK(process_prng != NULL);
    CHECK(process_prng(buf, 0));
    CHECK(process_prng(buf + 3, 16));
    CHECK(buf[0] == 0 && buf[1] == 0 && buf[2] == 0);
    return true;
}

int main(void) {
    run_test(test_loads, "prng_loads");
    run_test(test_random_bytes, "prng_random_bytes");
    run_test(test_empty_and_unaligned, "prng_empty_and_unaligned");
    return harness_finish();
}

/*
 * A test-only bcryptprimitives.dll for Wine 8.0, which lacks it.
 *
 * Rust's standard library (1.78+, Windows 10+ targets) imports ProcessPrng
 * from bcryptprimitives.dll, a system DLL on Windows 10 and later; Wine
 * added it in 9.0. `make test-windows` installs this DLL into its own Wine
 * prefix's system32, as the system's copy would be: mylib.dll is not changed
 * and nothing of this ships.
 *
 * ProcessPrng fills the buffer from the system's preferred RNG
 * (BCryptGenRandom, which Wine implements over the host's), the source the
 * real ProcessPrng draws from; like it, it never fails partway silently: it
 * returns FALSE if the RNG does (the real one always returns TRUE).
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

/* Wine 8.0 (Debian 12) has no bcryptprimitives.dll, whose ProcessPrng Rust's
   std calls for randomness (HashMap seeds). ci/wine.sh builds this stand-in
   with mingw-w64 and puts it in its own Wine prefix; nothing else uses it. */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!RtlGenRandom(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}

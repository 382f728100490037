/*
 * bcryptprimitives.dll shim for the wfpwatch Windows ABI bench (winbench).
 *
 * Go >= 1.24 reads its random seed from bcryptprimitives.dll!ProcessPrng,
 * which Wine 8 does not have. This DLL exports ProcessPrng and forwards it to
 * advapi32!SystemFunction036 (RtlGenRandom), which Wine does have. winbench
 * builds it with x86_64-w64-mingw32-gcc and installs it in the throw-away
 * prefix's windows/system32 (the Go runtime loads it from system32 only).
 */
#include <windows.h>
#include <ntsecapi.h>

/* ProcessPrng fills data with len random bytes. It always returns TRUE on
 * Windows; here it reports RtlGenRandom's failure as FALSE. RtlGenRandom
 * takes a ULONG length, so larger requests are split. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

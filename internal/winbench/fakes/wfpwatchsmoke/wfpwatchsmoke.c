/*
 * wfpwatchsmoke.dll: the smallest fake DLL of the wfpwatch Windows ABI bench.
 *
 * internal/winbench/smoke calls it through mkwinsyscall bindings to prove the
 * path every real fake (wevtapi, fwpuclnt) relies on: winbench builds this
 * directory with x86_64-w64-mingw32-gcc into system32/wfpwatchsmoke.dll,
 * x/sys/windows loads it with LoadLibraryEx from system32, a Go callback made
 * with windows.NewCallback is called back from C, a struct laid out by the C
 * compiler is decoded by a Go mirror, and a scenario file named by an
 * environment variable is read by the DLL.
 */
#include <windows.h>
#include <fwpmu.h>
#include "wfpwatch_sdk.h"  /* internal/winbench/include: what mingw lacks */
#include "wfpwatch_fake.h" /* wbfake_disable_exports */
#include <stdio.h>

/* DllMain switches off the exports that %WFPWATCH_FAKE_DISABLE% names. */
BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved)
{
	if (reason == DLL_PROCESS_ATTACH)
		wbfake_disable_exports(self, "wfpwatchsmoke");
	return TRUE;
}

/* WfpwatchSmokeOptional returns 7. Tests switch it off to prove the
 * fallback path of a binding whose export is missing. */
UINT32 WINAPI WfpwatchSmokeOptional(void)
{
	return 7;
}

/* WfpwatchSmokeAdd returns a + b: arguments and result cross the ABI. */
UINT32 WINAPI WfpwatchSmokeAdd(UINT32 a, UINT32 b)
{
	return a + b;
}

static void fill(FWPM_NET_EVENT_HEADER0 *h, UINT32 i)
{
	static const WCHAR app[] = L"\\device\\harddiskvolume3\\windows\\system32\\svchost.exe";
	ZeroMemory(h, sizeof *h);
	h->timeStamp.dwLowDateTime = 0x89abcdef;
	h->timeStamp.dwHighDateTime = 0x01234567;
	h->flags = FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET | FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET |
		   FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET | FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET |
		   FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET | FWPM_NET_EVENT_FLAG_APP_ID_SET; /* 0x3f */
	h->ipVersion = FWP_IP_VERSION_V4;
	h->ipProtocol = 6;
	h->localAddrV4 = 0xC0A80102;  /* 192.168.1.2, host byte order */
	h->remoteAddrV4 = 0x08080808; /* 8.8.8.8 */
	h->localPort = (UINT16)(50000 + i);
	h->remotePort = 443;
	h->scopeId = 0xdeadbeef;
	h->appId.size = sizeof app;
	h->appId.data = (UINT8 *)app;
	h->userId = NULL;
}

/* WfpwatchSmokeFill fills *h with known values; ERROR_INVALID_PARAMETER on NULL. */
DWORD WINAPI WfpwatchSmokeFill(FWPM_NET_EVENT_HEADER0 *h)
{
	if (h == NULL)
		return ERROR_INVALID_PARAMETER;
	fill(h, 0);
	return ERROR_SUCCESS;
}

typedef void (CALLBACK *smoke_callback)(void *context, const FWPM_NET_EVENT_HEADER0 *h);

/* WfpwatchSmokeCall calls cb n times, like a net-event subscription does. */
DWORD WINAPI WfpwatchSmokeCall(smoke_callback cb, void *context, UINT32 n)
{
	FWPM_NET_EVENT_HEADER0 h;
	UINT32 i;
	if (cb == NULL)
		return ERROR_INVALID_PARAMETER;
	for (i = 0; i < n; i++) {
		fill(&h, i);
		cb(context, &h);
	}
	return ERROR_SUCCESS;
}

/* WfpwatchSmokeScenario reads the unsigned decimal number in the file named
 * by %WFPWATCH_SMOKE_SCENARIO% into *value; ERROR_ENVVAR_NOT_FOUND when the
 * variable is not set, the CreateFile error when the file cannot be opened. */
DWORD WINAPI WfpwatchSmokeScenario(UINT32 *value)
{
	WCHAR path[MAX_PATH];
	char buf[32];
	DWORD got = 0, n;
	HANDLE f;

	n = GetEnvironmentVariableW(L"WFPWATCH_SMOKE_SCENARIO", path, MAX_PATH);
	if (n == 0 || n >= MAX_PATH)
		return ERROR_ENVVAR_NOT_FOUND;
	f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
	if (f == INVALID_HANDLE_VALUE)
		return GetLastError();
	if (!ReadFile(f, buf, sizeof buf - 1, &got, NULL)) {
		DWORD e = GetLastError();
		CloseHandle(f);
		return e;
	}
	CloseHandle(f);
	buf[got] = 0;
	if (sscanf(buf, "%u", value) != 1)
		return ERROR_INVALID_DATA;
	return ERROR_SUCCESS;
}

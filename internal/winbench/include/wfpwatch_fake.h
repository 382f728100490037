/*
 * wfpwatch_fake.h: helpers for the fake DLLs of the wfpwatch Windows ABI bench
 * (internal/winbench/fakes/<dll>/, docs/winbench.md). Header-only; include
 * it in one .c file of a fake.
 *
 * wbfake_disable_exports: switch exports off, so that the Go bindings' fallback
 * paths (LazyProc.Find failing, e.g. FwpmNetEventSubscribe4 missing on an
 * older Windows) can be tested against the same fake. Call it from DllMain on
 * DLL_PROCESS_ATTACH:
 *
 *	BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved)
 *	{
 *		if (reason == DLL_PROCESS_ATTACH)
 *			wbfake_disable_exports(self, "fwpuclnt");
 *		return TRUE;
 *	}
 *
 * It reads %WFPWATCH_FAKE_DISABLE%, a comma-separated list of dll!Export
 * names (e.g. "fwpuclnt!FwpmNetEventSubscribe4,fwpuclnt!FwpmNetEventSubscribe3"),
 * and zeroes the export address table entries of the named exports of this
 * DLL, after which GetProcAddress fails for them (Wine returns NULL for an
 * export whose address is 0). The variable is read once, when the DLL is
 * loaded: set it for a child test process (wbtest.Subprocess in Go), not
 * with t.Setenv in a process that has already loaded the DLL.
 */
#ifndef WFPWATCH_FAKE_H
#define WFPWATCH_FAKE_H

#include <windows.h>
#include <string.h>

/* wbfake_disable_exports zeroes the exports of module self that
 * %WFPWATCH_FAKE_DISABLE% names as dll!Export (dll compared without case,
 * without ".dll"). It returns the number of exports switched off. */
static int wbfake_disable_exports(HMODULE self, const char *dll)
{
	char list[4096];
	DWORD n = GetEnvironmentVariableA("WFPWATCH_FAKE_DISABLE", list, sizeof list);
	BYTE *base = (BYTE *)self;
	IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
	IMAGE_NT_HEADERS *nt;
	IMAGE_DATA_DIRECTORY *dir;
	IMAGE_EXPORT_DIRECTORY *exp;
	DWORD *names, *funcs;
	WORD *ords;
	size_t dlen = strlen(dll);
	int disabled = 0;
	char *item, *next;

	if (n == 0 || n >= sizeof list)
		return 0;
	nt = (IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
	dir = &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
	if (dir->Size == 0)
		return 0;
	exp = (IMAGE_EXPORT_DIRECTORY *)(base + dir->VirtualAddress);
	names = (DWORD *)(base + exp->AddressOfNames);
	funcs = (DWORD *)(base + exp->AddressOfFunctions);
	ords = (WORD *)(base + exp->AddressOfNameOrdinals);

	for (item = list; item != NULL && *item != 0; item = next) {
		char *bang;
		DWORD i;
		next = strchr(item, ',');
		if (next != NULL)
			*next++ = 0;
		bang = strchr(item, '!');
		if (bang == NULL || (size_t)(bang - item) != dlen || _strnicmp(item, dll, dlen) != 0)
			continue;
		for (i = 0; i < exp->NumberOfNames; i++) {
			if (strcmp((const char *)(base + names[i]), bang + 1) == 0) {
				DWORD *slot = &funcs[ords[i]];
				DWORD old;
				if (VirtualProtect(slot, sizeof *slot, PAGE_READWRITE, &old)) {
					*slot = 0;
					VirtualProtect(slot, sizeof *slot, old, &old);
					disabled++;
				}
			}
		}
	}
	return disabled;
}

#endif /* WFPWATCH_FAKE_H */

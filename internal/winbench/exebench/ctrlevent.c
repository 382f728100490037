/*
 * ctrlevent.exe: sends a console control event to every process of a given
 * executable name, the way Windows' console host does: a new thread in the
 * target process that runs kernel32!CtrlRoutine with the event as its
 * argument, which calls the handlers registered with SetConsoleCtrlHandler
 * (Go's runtime turns CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT and
 * CTRL_SHUTDOWN_EVENT into SIGTERM, CTRL_C_EVENT and CTRL_BREAK_EVENT into
 * os.Interrupt). Wine has no console window to close, so the exe bench of
 * wfpwatch (internal/winbench) uses this to close "the console" of a watch.
 *
 *   ctrlevent.exe c|break|close|logoff|shutdown NAME.exe
 *
 * Exit status: 0 when the event was sent to at least one process, 1 when no
 * process has that name, 2 on a usage or system error.
 */
#include <windows.h>
#include <tlhelp32.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	static const struct { const char *name; DWORD ev; } events[] = {
		{"c", CTRL_C_EVENT}, {"break", CTRL_BREAK_EVENT}, {"close", CTRL_CLOSE_EVENT},
		{"logoff", CTRL_LOGOFF_EVENT}, {"shutdown", CTRL_SHUTDOWN_EVENT},
	};
	if (argc != 3) {
		fprintf(stderr, "usage: ctrlevent c|break|close|logoff|shutdown NAME.exe\n");
		return 2;
	}
	DWORD ev = (DWORD)-1;
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
		if (!_stricmp(argv[1], events[i].name))
			ev = events[i].ev;
	if (ev == (DWORD)-1) {
		fprintf(stderr, "ctrlevent: unknown event %s\n", argv[1]);
		return 2;
	}
	/* kernel32 is mapped at the same address in every process of a
	 * session, so the routine's address here is its address there. */
	FARPROC routine = GetProcAddress(GetModuleHandleA("kernel32.dll"), "CtrlRoutine");
	if (!routine) {
		fprintf(stderr, "ctrlevent: kernel32 has no CtrlRoutine (%lu)\n", GetLastError());
		return 2;
	}
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	if (snap == INVALID_HANDLE_VALUE) {
		fprintf(stderr, "ctrlevent: CreateToolhelp32Snapshot: %lu\n", GetLastError());
		return 2;
	}
	PROCESSENTRY32 pe = {.dwSize = sizeof pe};
	int sent = 0, failed = 0;
	for (BOOL ok = Process32First(snap, &pe); ok; ok = Process32Next(snap, &pe)) {
		if (_stricmp(pe.szExeFile, argv[2]) || pe.th32ProcessID == GetCurrentProcessId())
			continue;
		HANDLE h = OpenProcess(PROCESS_CREATE_THREAD | PROCESS_QUERY_INFORMATION | PROCESS_VM_OPERATION |
					       PROCESS_VM_WRITE | PROCESS_VM_READ,
				       FALSE, pe.th32ProcessID);
		HANDLE t = h ? CreateRemoteThread(h, NULL, 0, (LPTHREAD_START_ROUTINE)(void *)routine, (LPVOID)(ULONG_PTR)ev, 0, NULL) : NULL;
		if (!t) {
			fprintf(stderr, "ctrlevent: pid %lu: %lu\n", pe.th32ProcessID, GetLastError());
			failed++;
		} else {
			printf("ctrlevent: sent %s to pid %lu\n", argv[1], pe.th32ProcessID);
			CloseHandle(t);
			sent++;
		}
		if (h)
			CloseHandle(h);
	}
	CloseHandle(snap);
	if (failed)
		return 2;
	return sent ? 0 : 1;
}

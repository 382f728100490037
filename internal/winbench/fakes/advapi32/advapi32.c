/*
 * A fake advapi32.dll for the wfpwatch Windows ABI bench (docs/winbench.md).
 *
 * Wine 8 has no AuditSetSystemPolicy or AuditFree and stubs
 * AuditQuerySystemPolicy ("Call not implemented"), so the audit-policy
 * bindings of internal/audit could not run under Wine. This DLL implements
 * the three Audit* calls wfpwatch makes; every other export of advapi32 is a
 * forwarder to Wine's own advapi32, which the bench installs renamed as
 * advapi3w.dll (the forwarders are generated at build time from the export
 * table of the installed Wine's advapi32: see the file "forward" beside this
 * one and internal/winbench/forward.go).
 *
 * The policy lives in a scenario file named by %WFPWATCH_FAKE_AUDIT% (a
 * Windows path), so that it survives the process: 'audit enable' in one
 * process and 'audit restore' in the next see the same policy, and a killed
 * watch leaves its change behind as it would on Windows. Without the
 * variable the policy is per process, in memory, every subcategory "no
 * auditing" (0). The file is read at every call and rewritten by every
 * successful AuditSetSystemPolicy, under a named mutex. See scenario.md.
 *
 * Semantics, from Microsoft's documentation of AUDIT_POLICY_INFORMATION and
 * of the older POLICY_AUDIT_EVENTS_INFO (LsaSetInformationPolicy): 0
 * (POLICY_AUDIT_EVENT_UNCHANGED) changes nothing; in "add" mode (the default)
 * SUCCESS/FAILURE bits are added to what is set, and a value with NONE (4)
 * cancels what was set and starts again from the bits given with it; in
 * "replace" mode the bits given replace what was set. A query returns the
 * stored value (0 after NONE was written, or what the scenario put there,
 * e.g. 4). Only subcategory GUIDs of the form {0CCE92xx-69AE-11D9-BED3-
 * 505054503030} are accepted (ERROR_INVALID_PARAMETER otherwise).
 */
#include <windows.h>
#include <ntsecapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUB 128
#define UNCHANGED 0u
#define SUCCESS_ 1u
#define FAILURE_ 2u
#define NONE_ 4u

struct sub {
	GUID guid;
	ULONG value;
};

/* policy is one loaded scenario: the settings and the directives. */
struct policy {
	struct sub subs[MAX_SUB];
	int n;
	int replace;        /* "mode replace" */
	int locked;         /* "locked": sets succeed but change nothing (Group Policy) */
	DWORD fail_set;     /* "fail-set ERR": the next set fails with ERR, once */
	DWORD fail_query;   /* "fail-query ERR": the next query fails with ERR, once */
	char extra[4096];   /* other lines (comments), kept when the file is rewritten */
};

static CRITICAL_SECTION g_lock;
static struct policy g_mem; /* the policy without a scenario file */
static LONG g_live;         /* buffers returned by AuditQuerySystemPolicy and not freed */

static const GUID subcat_suffix = {0, 0x69AE, 0x11D9, {0xBE, 0xD3, 0x50, 0x50, 0x54, 0x50, 0x30, 0x30}};

static int valid_subcategory(const GUID *g)
{
	return (g->Data1 & 0xFFFFFF00u) == 0x0CCE9200u && g->Data2 == subcat_suffix.Data2 &&
	       g->Data3 == subcat_suffix.Data3 && memcmp(g->Data4, subcat_suffix.Data4, 8) == 0;
}

static void format_guid(const GUID *g, char *out)
{
	sprintf(out, "{%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", (unsigned long)g->Data1, g->Data2, g->Data3,
		g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

static int parse_guid(const char *s, GUID *g)
{
	unsigned long d1;
	unsigned d2, d3, b[8];
	if (sscanf(s, "{%8lx-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}", &d1, &d2, &d3, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &b[6], &b[7]) != 11)
		return 0;
	g->Data1 = d1;
	g->Data2 = (USHORT)d2;
	g->Data3 = (USHORT)d3;
	for (int i = 0; i < 8; i++)
		g->Data4[i] = (UCHAR)b[i];
	return 1;
}

static struct sub *find(struct policy *p, const GUID *g, int add)
{
	for (int i = 0; i < p->n; i++)
		if (IsEqualGUID(&p->subs[i].guid, g))
			return &p->subs[i];
	if (!add || p->n == MAX_SUB)
		return NULL;
	p->subs[p->n].guid = *g;
	p->subs[p->n].value = 0;
	return &p->subs[p->n++];
}

/* scenario_path returns the scenario file, or 0 when none is set. */
static int scenario_path(WCHAR *path, DWORD size)
{
	DWORD n = GetEnvironmentVariableW(L"WFPWATCH_FAKE_AUDIT", path, size);
	return n > 0 && n < size;
}

/* lock_file serialises the processes that use the same scenario file. */
static HANDLE lock_file(void)
{
	HANDLE m = CreateMutexW(NULL, FALSE, L"wfpwatch-fake-advapi32-audit");
	if (m)
		WaitForSingleObject(m, 10000);
	return m;
}

static void unlock_file(HANDLE m)
{
	if (m) {
		ReleaseMutex(m);
		CloseHandle(m);
	}
}

/* load reads the scenario file into p. A missing file is an empty policy. */
static void load(const WCHAR *path, struct policy *p)
{
	memset(p, 0, sizeof *p);
	FILE *f = _wfopen(path, L"rb");
	if (!f)
		return;
	char line[512];
	size_t xl = 0;
	while (fgets(line, sizeof line, f)) {
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = 0;
		GUID g;
		char *sp = strchr(line, ' ');
		if (line[0] == '{' && sp && parse_guid(line, &g)) {
			struct sub *s = find(p, &g, 1);
			if (s)
				s->value = strtoul(sp + 1, NULL, 0);
		} else if (!strcmp(line, "mode replace")) {
			p->replace = 1;
		} else if (!strcmp(line, "mode add")) {
			p->replace = 0;
		} else if (!strcmp(line, "locked")) {
			p->locked = 1;
		} else if (!strncmp(line, "fail-set ", 9)) {
			p->fail_set = strtoul(line + 9, NULL, 0);
		} else if (!strncmp(line, "fail-query ", 11)) {
			p->fail_query = strtoul(line + 11, NULL, 0);
		} else if (l && xl + l + 2 < sizeof p->extra) {
			memcpy(p->extra + xl, line, l);
			xl += l;
			p->extra[xl++] = '\n';
			p->extra[xl] = 0;
		}
	}
	fclose(f);
}

/* save rewrites the scenario file from p. */
static BOOL save(const WCHAR *path, const struct policy *p)
{
	FILE *f = _wfopen(path, L"wb");
	if (!f)
		return FALSE;
	fputs(p->extra, f);
	if (p->replace)
		fputs("mode replace\n", f);
	if (p->locked)
		fputs("locked\n", f);
	if (p->fail_set)
		fprintf(f, "fail-set %lu\n", (unsigned long)p->fail_set);
	if (p->fail_query)
		fprintf(f, "fail-query %lu\n", (unsigned long)p->fail_query);
	for (int i = 0; i < p->n; i++) {
		char g[40];
		format_guid(&p->subs[i].guid, g);
		fprintf(f, "%s %lu\n", g, (unsigned long)p->subs[i].value);
	}
	return fclose(f) == 0;
}

/* journal appends a line to <scenario>.log, when there is a scenario. */
static void journal(const char *fmt, ...)
{
	WCHAR path[MAX_PATH + 8];
	if (!scenario_path(path, MAX_PATH))
		return;
	wcscat(path, L".log");
	FILE *f = _wfopen(path, L"ab");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(f, "pid %lu: ", (unsigned long)GetCurrentProcessId());
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* apply is the effect of writing v over the stored value cur. */
static ULONG apply(const struct policy *p, ULONG cur, ULONG v)
{
	if (v == UNCHANGED)
		return cur;
	if (v & NONE_)
		return v & (SUCCESS_ | FAILURE_);
	if (p->replace)
		return v & (SUCCESS_ | FAILURE_);
	return (cur & (SUCCESS_ | FAILURE_)) | (v & (SUCCESS_ | FAILURE_));
}

BOOLEAN WINAPI AuditQuerySystemPolicy(const GUID *subcats, ULONG n, PAUDIT_POLICY_INFORMATION *out)
{
	if (!subcats || !out || n == 0) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	*out = NULL;
	for (ULONG i = 0; i < n; i++)
		if (!valid_subcategory(&subcats[i])) {
			SetLastError(ERROR_INVALID_PARAMETER);
			return FALSE;
		}
	AUDIT_POLICY_INFORMATION *a = LocalAlloc(LMEM_ZEROINIT, n * sizeof *a);
	if (!a) {
		SetLastError(ERROR_NOT_ENOUGH_MEMORY);
		return FALSE;
	}
	WCHAR path[MAX_PATH];
	static struct policy file; /* guarded by g_lock */
	EnterCriticalSection(&g_lock);
	struct policy *p = &g_mem;
	HANDLE m = NULL;
	if (scenario_path(path, MAX_PATH)) {
		m = lock_file();
		load(path, &file);
		p = &file;
		if (p->fail_query) {
			DWORD e = p->fail_query;
			p->fail_query = 0;
			save(path, p);
			unlock_file(m);
			LeaveCriticalSection(&g_lock);
			LocalFree(a);
			journal("query fails with %lu", (unsigned long)e);
			SetLastError(e);
			return FALSE;
		}
	}
	for (ULONG i = 0; i < n; i++) {
		struct sub *s = find(p, &subcats[i], 0);
		a[i].AuditSubCategoryGuid = subcats[i];
		a[i].AuditingInformation = s ? s->value : 0;
	}
	unlock_file(m);
	LeaveCriticalSection(&g_lock);
	InterlockedIncrement(&g_live);
	*out = a;
	return TRUE;
}

BOOLEAN WINAPI AuditSetSystemPolicy(PCAUDIT_POLICY_INFORMATION info, ULONG n)
{
	if (!info || n == 0) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	for (ULONG i = 0; i < n; i++)
		if (!valid_subcategory(&info[i].AuditSubCategoryGuid) ||
		    (info[i].AuditingInformation & ~(SUCCESS_ | FAILURE_ | NONE_))) {
			SetLastError(ERROR_INVALID_PARAMETER);
			return FALSE;
		}
	WCHAR path[MAX_PATH];
	static struct policy file; /* guarded by g_lock */
	EnterCriticalSection(&g_lock);
	struct policy *p = &g_mem;
	HANDLE m = NULL;
	int have_file = scenario_path(path, MAX_PATH);
	if (have_file) {
		m = lock_file();
		load(path, &file);
		p = &file;
	}
	DWORD err = 0;
	if (p->fail_set) {
		err = p->fail_set;
		p->fail_set = 0;
		journal("set fails with %lu", (unsigned long)err);
	} else {
		for (ULONG i = 0; i < n; i++) {
			struct sub *s = find(p, &info[i].AuditSubCategoryGuid, 1);
			char g[40];
			format_guid(&info[i].AuditSubCategoryGuid, g);
			if (!s) {
				err = ERROR_NOT_ENOUGH_MEMORY;
				break;
			}
			ULONG before = s->value;
			if (!p->locked)
				s->value = apply(p, s->value, info[i].AuditingInformation);
			journal("set %s wrote %lu: %lu -> %lu%s", g, (unsigned long)info[i].AuditingInformation,
				(unsigned long)before, (unsigned long)s->value, p->locked ? " (locked)" : "");
		}
	}
	if (have_file && !save(path, p) && !err)
		err = ERROR_WRITE_FAULT;
	unlock_file(m);
	LeaveCriticalSection(&g_lock);
	if (err) {
		SetLastError(err);
		return FALSE;
	}
	return TRUE;
}

VOID WINAPI AuditFree(PVOID buffer)
{
	if (buffer) {
		InterlockedDecrement(&g_live);
		LocalFree(buffer);
	}
}

/* FakeAuditLiveBuffers returns how many query buffers are not yet freed
 * with AuditFree (for leak checks). */
LONG WINAPI FakeAuditLiveBuffers(void)
{
	return g_live;
}

BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved)
{
	if (reason == DLL_PROCESS_ATTACH) {
		InitializeCriticalSection(&g_lock);
		DisableThreadLibraryCalls(self);
	}
	return TRUE;
}

/*
 * A scripted wevtapi.dll for the Wine bench.
 *
 * Wine's own wevtapi is a stub. This fake, built with mingw against the real
 * winevt.h, implements what wfpwatch's live subscription calls — EvtSubscribe
 * (pull model with a signal event, and the callback model), EvtNext,
 * EvtRender (XML, values, bookmark), EvtCreateRenderContext,
 * EvtCreateBookmark, EvtUpdateBookmark, EvtQuery and EvtClose — over a log
 * described by a scenario file. The path of the scenario file is read from
 * the environment variable WFPWATCH_FAKE_WEVTAPI at every EvtSubscribe and
 * EvtQuery; a changed path (or file) loads the new log. See scenario.md.
 *
 * Handles are heap objects with a magic word; EvtClose frees them and a
 * live-handle counter (FakeWevtapiLiveHandles) lets tests check for leaks.
 */
#include <windows.h>
#include <winevt.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_SUB 0x53554221u
#define MAGIC_EVENT 0x45564e54u
#define MAGIC_BOOKMARK 0x424d4b21u
#define MAGIC_CTX 0x43545821u
#define MAGIC_QUERY 0x51525921u

typedef struct {
	unsigned long long rid;
	int eventid;
	char *xml; /* explicit XML, or NULL: the template */
} fake_record;

typedef struct {
	WCHAR path[MAX_PATH * 2];
	FILETIME mtime;
	char *template_xml;
	fake_record *recs;
	size_t n, cap;
	size_t future; /* index of the first event a ToFutureEvents subscription sees */
	unsigned long long oldest;
	/* fail-next: EvtNext fails once with fail_error after fail_after events were delivered */
	long long fail_after;
	DWORD fail_error;
	int fail_subscribe;
	DWORD fail_subscribe_error;
	unsigned long long delivered;
	int loaded;
	char channel[64]; /* the log's channel name: "Security" unless the scenario says "channel NAME" */
} fake_log;

static fake_log g_log;
static CRITICAL_SECTION g_lock;
static LONG g_live;

typedef struct {
	DWORD magic;
	/* filter: event id ranges from the XPath ("*" = all) */
	int nranges;
	int lo[32], hi[32];
	int has_rid; /* EventRecordID=N in the XPath */
	unsigned long long rid;
	size_t cursor;
	HANDLE signal;
	EVT_SUBSCRIBE_CALLBACK callback;
	PVOID context;
	HANDLE thread;
	volatile LONG closing;
	int is_query;
} fake_sub;

typedef struct {
	DWORD magic;
	size_t index;
} fake_event;

typedef struct {
	DWORD magic;
	unsigned long long rid;
} fake_bookmark;

typedef struct {
	DWORD magic;
	DWORD n;
	char **paths;
} fake_ctx;

static void *new_handle(size_t size, DWORD magic)
{
	DWORD *h = calloc(1, size);
	if (h) {
		*h = magic;
		InterlockedIncrement(&g_live);
	}
	return h;
}

static DWORD magic_of(EVT_HANDLE h)
{
	if (!h)
		return 0;
	return *(DWORD *)h;
}

/* ---- scenario ---------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static int xml_eventid(const char *xml)
{
	const char *p = strstr(xml, "<EventID");
	if (!p)
		return 0;
	p = strchr(p, '>');
	return p ? atoi(p + 1) : 0;
}

static unsigned long long xml_rid(const char *xml)
{
	const char *p = strstr(xml, "<EventRecordID>");
	return p ? _strtoui64(p + 15, NULL, 10) : 0;
}

static void add_record(unsigned long long rid, int eventid, char *xml)
{
	if (g_log.n == g_log.cap) {
		size_t cap = g_log.cap ? g_log.cap * 2 : 256;
		fake_record *r = realloc(g_log.recs, cap * sizeof *r);
		if (!r)
			return;
		g_log.recs = r;
		g_log.cap = cap;
	}
	g_log.recs[g_log.n].rid = rid;
	g_log.recs[g_log.n].eventid = eventid;
	g_log.recs[g_log.n].xml = xml;
	g_log.n++;
}

static void free_log(void)
{
	for (size_t i = 0; i < g_log.n; i++)
		free(g_log.recs[i].xml);
	free(g_log.recs);
	free(g_log.template_xml);
	memset(&g_log, 0, sizeof g_log);
}

/* is_channel reports whether name is the log's channel (case-insensitive).
 * Caller holds g_lock. */
static int is_channel(LPCWSTR name)
{
	WCHAR w[64];
	MultiByteToWideChar(CP_UTF8, 0, g_log.channel[0] ? g_log.channel : "Security", -1, w, 64);
	return lstrcmpiW(name, w) == 0;
}

/* load_scenario (re)reads the scenario named by WFPWATCH_FAKE_WEVTAPI when
 * its path or modification time changed. Caller holds g_lock. */
static void load_scenario(void)
{
	WCHAR path[MAX_PATH * 2];
	DWORD n = GetEnvironmentVariableW(L"WFPWATCH_FAKE_WEVTAPI", path, MAX_PATH * 2);
	if (n == 0 || n >= MAX_PATH * 2) {
		if (g_log.loaded)
			free_log();
		g_log.loaded = 1; /* an empty log */
		g_log.fail_after = -1;
		g_log.oldest = 1;
		strcpy(g_log.channel, "Security");
		return;
	}
	WIN32_FILE_ATTRIBUTE_DATA fa;
	FILETIME mt = {0};
	if (GetFileAttributesExW(path, GetFileExInfoStandard, &fa))
		mt = fa.ftLastWriteTime;
	if (g_log.loaded && wcscmp(path, g_log.path) == 0 && CompareFileTime(&mt, &g_log.mtime) == 0)
		return;
	free_log();
	wcscpy(g_log.path, path);
	g_log.mtime = mt;
	g_log.loaded = 1;
	g_log.fail_after = -1;
	g_log.oldest = 1;
	strcpy(g_log.channel, "Security");
	FILE *f = _wfopen(path, L"rb");
	if (!f)
		return;
	static char line[1 << 16];
	unsigned long long next = 0;
	while (fgets(line, sizeof line, f)) {
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = 0;
		if (!l || line[0] == '#')
			continue;
		if (!strncmp(line, "channel ", 8)) {
			snprintf(g_log.channel, sizeof g_log.channel, "%s", line + 8);
		} else if (!strncmp(line, "template ", 9)) {
			free(g_log.template_xml);
			g_log.template_xml = xstrdup(line + 9);
		} else if (!strncmp(line, "oldest ", 7)) {
			g_log.oldest = _strtoui64(line + 7, NULL, 10);
			if (next < g_log.oldest)
				next = g_log.oldest;
		} else if (!strncmp(line, "skip ", 5)) {
			if (!next)
				next = g_log.oldest;
			next += _strtoui64(line + 5, NULL, 10);
		} else if (!strncmp(line, "events ", 7)) {
			unsigned long long c = _strtoui64(line + 7, NULL, 10);
			if (!next)
				next = g_log.oldest;
			int id = g_log.template_xml ? xml_eventid(g_log.template_xml) : 5157;
			for (unsigned long long i = 0; i < c; i++)
				add_record(next++, id, NULL);
		} else if (!strncmp(line, "event ", 6)) {
			char *x = xstrdup(line + 6);
			unsigned long long rid = xml_rid(x);
			add_record(rid, xml_eventid(x), x);
			next = rid + 1;
		} else if (!strcmp(line, "future")) {
			g_log.future = g_log.n;
		} else if (!strncmp(line, "fail-next ", 10)) {
			char *end;
			g_log.fail_after = _strtoi64(line + 10, &end, 10);
			g_log.fail_error = strtoul(end, NULL, 10);
		} else if (!strncmp(line, "fail-subscribe ", 15)) {
			char *end;
			g_log.fail_subscribe = strtol(line + 15, &end, 10);
			g_log.fail_subscribe_error = strtoul(end, NULL, 10);
		}
	}
	fclose(f);
}

/* ---- XPath (the subset wfpwatch writes) -------------------------------- */

static void parse_query(fake_sub *s, const WCHAR *q)
{
	char a[4096];
	s->nranges = 0;
	s->has_rid = 0;
	if (!q || !WideCharToMultiByte(CP_UTF8, 0, q, -1, a, sizeof a, NULL, NULL))
		return;
	const char *r = strstr(a, "EventRecordID=");
	if (r) {
		s->has_rid = 1;
		s->rid = _strtoui64(r + 14, NULL, 10);
	}
	const char *p = a;
	while ((p = strstr(p, "EventID")) && s->nranges < 32) {
		p += 7;
		if (p[0] == '=' ) {
			int v = atoi(p + 1);
			s->lo[s->nranges] = s->hi[s->nranges] = v;
			s->nranges++;
		} else if (p[0] == '>' && p[1] == '=') {
			int lo = atoi(p + 2);
			const char *q2 = strstr(p, "EventID<=");
			int hi = q2 ? atoi(q2 + 9) : lo;
			s->lo[s->nranges] = lo;
			s->hi[s->nranges] = hi;
			s->nranges++;
			if (q2)
				p = q2 + 9;
		}
	}
}

static int matches(fake_sub *s, size_t i)
{
	if (s->has_rid && g_log.recs[i].rid != s->rid)
		return 0;
	if (!s->nranges)
		return 1;
	int id = g_log.recs[i].eventid;
	for (int k = 0; k < s->nranges; k++)
		if (id >= s->lo[k] && id <= s->hi[k])
			return 1;
	return 0;
}

/* ---- rendering --------------------------------------------------------- */

/* event_xml returns the UTF-8 XML of record i in a malloc'd string. */
static char *event_xml(size_t i)
{
	fake_record *r = &g_log.recs[i];
	if (r->xml)
		return xstrdup(r->xml);
	const char *t = g_log.template_xml ? g_log.template_xml :
		"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>5157</EventID><Version>1</Version><Level>0</Level><Task>12810</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2026-01-02T03:04:05.1234567Z'/><EventRecordID>{RID}</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='80'/><Channel>Security</Channel><Computer>bench.example</Computer><Security/></System><EventData><Data Name='ProcessID'>1234</Data><Data Name='Application'>\\device\\harddiskvolume3\\bench.exe</Data><Data Name='Direction'>%%14593</Data><Data Name='SourceAddress'>192.0.2.1</Data><Data Name='SourcePort'>50000</Data><Data Name='DestAddress'>198.51.100.2</Data><Data Name='DestPort'>443</Data><Data Name='Protocol'>6</Data><Data Name='FilterRTID'>70000</Data><Data Name='LayerName'>%%14611</Data><Data Name='LayerRTID'>48</Data><Data Name='RemoteUserID'>S-1-0-0</Data><Data Name='RemoteMachineID'>S-1-0-0</Data></EventData></Event>";
	char rid[32];
	sprintf(rid, "%llu", r->rid);
	size_t out = strlen(t) + 64;
	char *x = malloc(out);
	if (!x)
		return NULL;
	char *d = x;
	for (const char *p = t; *p;) {
		if (!strncmp(p, "{RID}", 5)) {
			d += sprintf(d, "%s", rid);
			p += 5;
		} else {
			*d++ = *p++;
		}
	}
	*d = 0;
	return x;
}

/* find_value returns the text of the value path in xml (a malloc'd,
 * unescaped string), or NULL when absent. */
static char *find_value(const char *xml, const char *path)
{
	char key[256];
	const char *p = NULL, *end = NULL;
	if (!strncmp(path, "Event/EventData/Data[@Name='", 28)) {
		const char *n = path + 28;
		size_t nl = strcspn(n, "'");
		snprintf(key, sizeof key, "Name='%.*s'>", (int)nl, n);
		p = strstr(xml, key);
		if (!p) {
			snprintf(key, sizeof key, "Name=\"%.*s\">", (int)nl, n);
			p = strstr(xml, key);
		}
		if (!p)
			return NULL;
		p += strlen(key);
		end = strchr(p, '<');
	} else if (!strcmp(path, "Event/System/Provider/@Name")) {
		p = strstr(xml, "<Provider Name=");
		if (!p)
			return NULL;
		p += 16;
		end = strchr(p, p[-1]);
	} else if (!strcmp(path, "Event/System/TimeCreated/@SystemTime")) {
		p = strstr(xml, "SystemTime=");
		if (!p)
			return NULL;
		p += 12;
		end = strchr(p, p[-1]);
	} else if (!strncmp(path, "Event/System/", 13)) {
		snprintf(key, sizeof key, "<%s>", path + 13);
		p = strstr(xml, key);
		if (!p)
			return NULL;
		p += strlen(key);
		end = strchr(p, '<');
	}
	if (!p || !end)
		return NULL;
	char *v = malloc(end - p + 1), *d = v;
	if (!v)
		return NULL;
	while (p < end) {
		if (*p == '&') {
			static const struct { const char *e; char c; } ents[] = {
				{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
			int done = 0;
			for (int k = 0; k < 5; k++) {
				size_t el = strlen(ents[k].e);
				if (!strncmp(p, ents[k].e, el)) {
					*d++ = ents[k].c;
					p += el;
					done = 1;
					break;
				}
			}
			if (done)
				continue;
		}
		*d++ = *p++;
	}
	*d = 0;
	return v;
}

static int parse_systemtime(const char *s, ULONGLONG *ft)
{
	SYSTEMTIME st = {0};
	int frac = 0, digits = 0;
	if (sscanf(s, "%hu-%hu-%huT%hu:%hu:%hu", &st.wYear, &st.wMonth, &st.wDay, &st.wHour, &st.wMinute, &st.wSecond) != 6)
		return 0;
	const char *dot = strchr(s, '.');
	if (dot)
		for (const char *p = dot + 1; *p >= '0' && *p <= '9' && digits < 7; p++, digits++)
			frac = frac * 10 + (*p - '0');
	while (digits < 7 && dot) {
		frac *= 10;
		digits++;
	}
	FILETIME f;
	if (!SystemTimeToFileTime(&st, &f))
		return 0;
	*ft = ((ULONGLONG)f.dwHighDateTime << 32 | f.dwLowDateTime) + frac;
	return 1;
}

/* render_values lays out the EVT_VARIANT array and its data in buf. */
static BOOL render_values(fake_ctx *c, size_t index, DWORD size, PVOID buf, PDWORD used, PDWORD count)
{
	char *xml = event_xml(index);
	if (!xml) {
		SetLastError(ERROR_OUTOFMEMORY);
		return FALSE;
	}
	size_t need = c->n * sizeof(EVT_VARIANT);
	/* first pass: size */
	char **vals = calloc(c->n, sizeof *vals);
	PSID *sids = calloc(c->n, sizeof *sids);
	int *types = calloc(c->n, sizeof *types);
	for (DWORD i = 0; i < c->n; i++) {
		const char *path = c->paths[i];
		vals[i] = find_value(xml, path);
		if (!vals[i]) {
			types[i] = EvtVarTypeNull;
			continue;
		}
		const char *name = strstr(path, "@Name='") ? strstr(path, "@Name='") + 7 : "";
		if (!strcmp(path, "Event/System/EventID"))
			types[i] = EvtVarTypeUInt16;
		else if (!strcmp(path, "Event/System/Version"))
			types[i] = EvtVarTypeByte;
		else if (!strcmp(path, "Event/System/EventRecordID"))
			types[i] = EvtVarTypeUInt64;
		else if (!strcmp(path, "Event/System/Keywords"))
			types[i] = EvtVarTypeHexInt64;
		else if (!strcmp(path, "Event/System/TimeCreated/@SystemTime"))
			types[i] = EvtVarTypeFileTime;
		else if (!strncmp(name, "ProcessI", 8))
			types[i] = EvtVarTypeSizeT;
		else if (!strncmp(name, "Protocol'", 9) || !strncmp(name, "InterfaceIndex'", 15))
			types[i] = EvtVarTypeUInt32;
		else if (!strncmp(name, "FilterRTID'", 11) || !strncmp(name, "LayerRTID'", 10))
			types[i] = EvtVarTypeUInt64;
		else if (!strncmp(name, "RemoteUserID'", 13) || !strncmp(name, "RemoteMachineID'", 16)) {
			WCHAR w[256];
			MultiByteToWideChar(CP_UTF8, 0, vals[i], -1, w, 256);
			if (ConvertStringSidToSidW(w, &sids[i])) {
				types[i] = EvtVarTypeSid;
				need += (GetLengthSid(sids[i]) + 7) & ~7u;
				continue;
			}
			types[i] = EvtVarTypeString;
		} else
			types[i] = EvtVarTypeString;
		if (types[i] == EvtVarTypeString) {
			int wl = MultiByteToWideChar(CP_UTF8, 0, vals[i], -1, NULL, 0);
			need += ((size_t)wl * 2 + 7) & ~7u;
		}
	}
	BOOL ok = TRUE;
	*used = (DWORD)need;
	*count = c->n;
	if (need > size || !buf) {
		SetLastError(ERROR_INSUFFICIENT_BUFFER);
		ok = FALSE;
		goto out;
	}
	EVT_VARIANT *v = buf;
	char *data = (char *)buf + c->n * sizeof(EVT_VARIANT);
	for (DWORD i = 0; i < c->n; i++) {
		memset(&v[i], 0, sizeof v[i]);
		v[i].Type = types[i];
		switch (types[i]) {
		case EvtVarTypeNull:
			break;
		case EvtVarTypeUInt16:
		case EvtVarTypeByte:
		case EvtVarTypeUInt32:
		case EvtVarTypeUInt64:
		case EvtVarTypeSizeT:
			v[i].UInt64Val = _strtoui64(vals[i], NULL, 10);
			break;
		case EvtVarTypeHexInt64:
			v[i].UInt64Val = _strtoui64(vals[i], NULL, 16);
			break;
		case EvtVarTypeFileTime:
			if (!parse_systemtime(vals[i], &v[i].FileTimeVal))
				v[i].Type = EvtVarTypeNull;
			break;
		case EvtVarTypeSid: {
			DWORD l = GetLengthSid(sids[i]);
			memcpy(data, sids[i], l);
			v[i].SidVal = (PSID)data;
			data += (l + 7) & ~7u;
			break;
		}
		default: {
			int wl = MultiByteToWideChar(CP_UTF8, 0, vals[i], -1, (WCHAR *)data, (int)((char *)buf + size - data) / 2);
			v[i].StringVal = (LPCWSTR)data;
			data += ((size_t)wl * 2 + 7) & ~7u;
		}
		}
	}
out:
	for (DWORD i = 0; i < c->n; i++) {
		free(vals[i]);
		if (sids[i])
			LocalFree(sids[i]);
	}
	free(vals);
	free(sids);
	free(types);
	free(xml);
	return ok;
}

static BOOL render_text(const char *s, DWORD size, PVOID buf, PDWORD used)
{
	int wl = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	*used = (DWORD)wl * 2;
	if ((DWORD)wl * 2 > size || !buf) {
		SetLastError(ERROR_INSUFFICIENT_BUFFER);
		return FALSE;
	}
	MultiByteToWideChar(CP_UTF8, 0, s, -1, buf, wl);
	return TRUE;
}

/* ---- the API ----------------------------------------------------------- */

static DWORD WINAPI callback_thread(LPVOID arg);

EVT_HANDLE WINAPI EvtSubscribe(EVT_HANDLE Session, HANDLE SignalEvent, LPCWSTR ChannelPath, LPCWSTR Query,
			       EVT_HANDLE Bookmark, PVOID Context, EVT_SUBSCRIBE_CALLBACK Callback, DWORD Flags)
{
	(void)Session;
	EnterCriticalSection(&g_lock);
	load_scenario();
	if (g_log.fail_subscribe > 0) {
		g_log.fail_subscribe--;
		DWORD e = g_log.fail_subscribe_error;
		LeaveCriticalSection(&g_lock);
		SetLastError(e);
		return NULL;
	}
	if (!ChannelPath || !is_channel(ChannelPath)) {
		LeaveCriticalSection(&g_lock);
		SetLastError(ERROR_EVT_CHANNEL_NOT_FOUND);
		return NULL;
	}
	if ((SignalEvent == NULL) == (Callback == NULL)) {
		LeaveCriticalSection(&g_lock);
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	fake_sub *s = new_handle(sizeof *s, MAGIC_SUB);
	parse_query(s, Query);
	switch (Flags & EvtSubscribeOriginMask) {
	case EvtSubscribeToFutureEvents:
		s->cursor = g_log.future;
		break;
	case EvtSubscribeStartAtOldestRecord:
		s->cursor = 0;
		break;
	case EvtSubscribeStartAfterBookmark: {
		if (magic_of(Bookmark) != MAGIC_BOOKMARK) {
			free(s);
			InterlockedDecrement(&g_live);
			LeaveCriticalSection(&g_lock);
			SetLastError(ERROR_INVALID_HANDLE);
			return NULL;
		}
		unsigned long long rid = ((fake_bookmark *)Bookmark)->rid;
		size_t i = 0;
		int found = 0, selected = 0;
		for (; i < g_log.n; i++) {
			if (g_log.recs[i].rid == rid) {
				found = 1;
				/* Windows: Strict wants the bookmarked record in the
				 * query's results, not only in the log. */
				selected = matches(s, i);
			}
			if (g_log.recs[i].rid >= rid)
				break;
		}
		if (found && !selected && (Flags & EvtSubscribeStrict)) {
			free(s);
			InterlockedDecrement(&g_live);
			LeaveCriticalSection(&g_lock);
			SetLastError(ERROR_NOT_FOUND);
			return NULL;
		}
		if (!found && (Flags & EvtSubscribeStrict)) {
			free(s);
			InterlockedDecrement(&g_live);
			LeaveCriticalSection(&g_lock);
			SetLastError(ERROR_NOT_FOUND);
			return NULL;
		}
		s->cursor = found ? i + 1 : i;
		break;
	}
	default:
		free(s);
		InterlockedDecrement(&g_live);
		LeaveCriticalSection(&g_lock);
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	s->signal = SignalEvent;
	s->callback = Callback;
	s->context = Context;
	LeaveCriticalSection(&g_lock);
	if (SignalEvent)
		SetEvent(SignalEvent);
	else
		s->thread = CreateThread(NULL, 0, callback_thread, s, 0, NULL);
	return s;
}

EVT_HANDLE WINAPI EvtQuery(EVT_HANDLE Session, LPCWSTR Path, LPCWSTR Query, DWORD Flags)
{
	(void)Session;
	EnterCriticalSection(&g_lock);
	load_scenario();
	LeaveCriticalSection(&g_lock);
	EnterCriticalSection(&g_lock);
	int known = Path && is_channel(Path);
	LeaveCriticalSection(&g_lock);
	if (!(Flags & EvtQueryChannelPath) || !known) {
		SetLastError(ERROR_EVT_CHANNEL_NOT_FOUND);
		return NULL;
	}
	fake_sub *s = new_handle(sizeof *s, MAGIC_QUERY);
	s->is_query = 1;
	parse_query(s, Query);
	return s;
}

/* next_events fills up to n handles from s; it returns the number filled,
 * or -1 with the error in *err. Caller holds g_lock. */
static int next_events(fake_sub *s, DWORD n, EVT_HANDLE *out, DWORD *err)
{
	if (!s->is_query && g_log.fail_after >= 0 && g_log.delivered >= (unsigned long long)g_log.fail_after) {
		g_log.fail_after = -1;
		*err = g_log.fail_error;
		return -1;
	}
	DWORD k = 0;
	while (k < n && s->cursor < g_log.n) {
		if (!s->is_query && g_log.fail_after >= 0 && g_log.delivered >= (unsigned long long)g_log.fail_after)
			break;
		size_t i = s->cursor++;
		if (!matches(s, i))
			continue;
		fake_event *e = new_handle(sizeof *e, MAGIC_EVENT);
		e->index = i;
		out[k++] = e;
		if (!s->is_query)
			g_log.delivered++;
	}
	return (int)k;
}

BOOL WINAPI EvtNext(EVT_HANDLE ResultSet, DWORD EventsSize, EVT_HANDLE *Events, DWORD Timeout, DWORD Flags, PDWORD Returned)
{
	(void)Timeout;
	(void)Flags;
	DWORD m = magic_of(ResultSet);
	if ((m != MAGIC_SUB && m != MAGIC_QUERY) || !Events || !Returned) {
		SetLastError(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	fake_sub *s = ResultSet;
	if (s->callback) {
		SetLastError(ERROR_INVALID_OPERATION);
		return FALSE;
	}
	DWORD err = 0;
	EnterCriticalSection(&g_lock);
	int k = next_events(s, EventsSize, Events, &err);
	LeaveCriticalSection(&g_lock);
	*Returned = k > 0 ? (DWORD)k : 0;
	if (k < 0) {
		SetLastError(err);
		return FALSE;
	}
	if (k == 0) {
		SetLastError(ERROR_NO_MORE_ITEMS);
		return FALSE;
	}
	return TRUE;
}

static DWORD WINAPI callback_thread(LPVOID arg)
{
	fake_sub *s = arg;
	while (!s->closing) {
		EVT_HANDLE h;
		DWORD err = 0;
		EnterCriticalSection(&g_lock);
		int k = next_events(s, 1, &h, &err);
		LeaveCriticalSection(&g_lock);
		if (k < 0) {
			s->callback(EvtSubscribeActionError, s->context, (EVT_HANDLE)(ULONG_PTR)err);
			continue;
		}
		if (k == 0) {
			Sleep(10);
			continue;
		}
		s->callback(EvtSubscribeActionDeliver, s->context, h);
		/* The event handle belongs to the service in the callback model. */
		free(h);
		InterlockedDecrement(&g_live);
	}
	return 0;
}

EVT_HANDLE WINAPI EvtCreateRenderContext(DWORD ValuePathsCount, LPCWSTR *ValuePaths, DWORD Flags)
{
	if (Flags != EvtRenderContextValues || (ValuePathsCount && !ValuePaths)) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	fake_ctx *c = new_handle(sizeof *c, MAGIC_CTX);
	c->n = ValuePathsCount;
	c->paths = calloc(ValuePathsCount ? ValuePathsCount : 1, sizeof *c->paths);
	for (DWORD i = 0; i < ValuePathsCount; i++) {
		int l = WideCharToMultiByte(CP_UTF8, 0, ValuePaths[i], -1, NULL, 0, NULL, NULL);
		c->paths[i] = malloc(l);
		WideCharToMultiByte(CP_UTF8, 0, ValuePaths[i], -1, c->paths[i], l, NULL, NULL);
	}
	return c;
}

BOOL WINAPI EvtRender(EVT_HANDLE Context, EVT_HANDLE Fragment, DWORD Flags, DWORD BufferSize, PVOID Buffer, PDWORD BufferUsed, PDWORD PropertyCount)
{
	if (!BufferUsed || !PropertyCount) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	*PropertyCount = 0;
	switch (Flags) {
	case EvtRenderBookmark: {
		if (magic_of(Fragment) != MAGIC_BOOKMARK) {
			SetLastError(ERROR_INVALID_HANDLE);
			return FALSE;
		}
		char x[256];
		snprintf(x, sizeof x, "<BookmarkList>\r\n  <Bookmark Channel='%s' RecordId='%llu' IsCurrent='true'/>\r\n</BookmarkList>",
			 g_log.channel, ((fake_bookmark *)Fragment)->rid);
		return render_text(x, BufferSize, Buffer, BufferUsed);
	}
	case EvtRenderEventXml: {
		if (magic_of(Fragment) != MAGIC_EVENT) {
			SetLastError(ERROR_INVALID_HANDLE);
			return FALSE;
		}
		EnterCriticalSection(&g_lock);
		char *x = event_xml(((fake_event *)Fragment)->index);
		LeaveCriticalSection(&g_lock);
		BOOL ok = x && render_text(x, BufferSize, Buffer, BufferUsed);
		free(x);
		return ok;
	}
	case EvtRenderEventValues: {
		if (magic_of(Fragment) != MAGIC_EVENT || magic_of(Context) != MAGIC_CTX) {
			SetLastError(ERROR_INVALID_HANDLE);
			return FALSE;
		}
		EnterCriticalSection(&g_lock);
		BOOL ok = render_values(Context, ((fake_event *)Fragment)->index, BufferSize, Buffer, BufferUsed, PropertyCount);
		DWORD e = GetLastError();
		LeaveCriticalSection(&g_lock);
		SetLastError(e);
		return ok;
	}
	}
	SetLastError(ERROR_INVALID_PARAMETER);
	return FALSE;
}

EVT_HANDLE WINAPI EvtCreateBookmark(LPCWSTR BookmarkXml)
{
	fake_bookmark *b = new_handle(sizeof *b, MAGIC_BOOKMARK);
	if (BookmarkXml) {
		const WCHAR *p = wcsstr(BookmarkXml, L"RecordId='");
		if (!p)
			p = wcsstr(BookmarkXml, L"RecordId=\"");
		if (!p) {
			free(b);
			InterlockedDecrement(&g_live);
			SetLastError(ERROR_INVALID_PARAMETER);
			return NULL;
		}
		b->rid = _wcstoui64(p + 10, NULL, 10);
	}
	return b;
}

BOOL WINAPI EvtUpdateBookmark(EVT_HANDLE Bookmark, EVT_HANDLE Event)
{
	if (magic_of(Bookmark) != MAGIC_BOOKMARK || magic_of(Event) != MAGIC_EVENT) {
		SetLastError(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	EnterCriticalSection(&g_lock);
	size_t i = ((fake_event *)Event)->index;
	((fake_bookmark *)Bookmark)->rid = i < g_log.n ? g_log.recs[i].rid : 0;
	LeaveCriticalSection(&g_lock);
	return TRUE;
}

BOOL WINAPI EvtClose(EVT_HANDLE Object)
{
	DWORD m = magic_of(Object);
	switch (m) {
	case MAGIC_SUB: {
		fake_sub *s = Object;
		if (s->thread) {
			InterlockedExchange(&s->closing, 1);
			WaitForSingleObject(s->thread, INFINITE);
			CloseHandle(s->thread);
		}
		break;
	}
	case MAGIC_CTX: {
		fake_ctx *c = Object;
		for (DWORD i = 0; i < c->n; i++)
			free(c->paths[i]);
		free(c->paths);
		break;
	}
	case MAGIC_QUERY:
	case MAGIC_EVENT:
	case MAGIC_BOOKMARK:
		break;
	default:
		SetLastError(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	*(DWORD *)Object = 0xdeaddeadu; /* catch double close */
	free(Object);
	InterlockedDecrement(&g_live);
	return TRUE;
}

/* FakeWevtapiLiveHandles returns the number of handles not yet closed. */
__declspec(dllexport) LONG WINAPI FakeWevtapiLiveHandles(void)
{
	return g_live;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH)
		InitializeCriticalSection(&g_lock);
	return TRUE;
}

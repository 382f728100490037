/*
 * A fake fwpuclnt.dll for the Wine bench. It is built with mingw against
 * the real headers (plus internal/winbench/include/wfpwatch_sdk.h for the Windows 8+ structs), so every
 * struct it hands to Go has the C layout. It is driven by environment
 * variables the Go test sets before calling (GetEnvironmentVariable sees
 * os.Setenv):
 *
 *   WFPWATCH_FAKE_RECORD          file to append one line per call that
 *                                 changes state (options, filters, sessions)
 *   WFPWATCH_FAKE_COLLECT         FWPM_ENGINE_COLLECT_NET_EVENTS from the
 *                                 next engine call on (default 1)
 *   WFPWATCH_FAKE_KEYWORDS        FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS
 *                                 likewise (default 0)
 *   WFPWATCH_FAKE_SUBSCRIBE_FAIL  status the next FwpmNetEventSubscribe*
 *                                 call returns (e.g. 5 = ACCESS_DENIED)
 *   WFPWATCH_FAKE_STATE_FILTERS   how many filters the state enumeration
 *                                 makes up from the next filter enumeration
 *                                 on (default 600: three pages)
 *   WFPWATCH_FAKE_ENUM_FAIL       status FwpmFilterEnum0 returns on its
 *                                 second page (after handing out the first)
 *
 * The fake reads and removes each of them; COLLECT, KEYWORDS, STATE_FILTERS
 * then hold until set again, SUBSCRIBE_FAIL and ENUM_FAIL act once.
 *
 * Exports for tests (call them through a LazyDLL):
 *
 *   FakeFwpRestartEngine(status)  simulate a BFE restart: every engine handle
 *                                 opened before returns status from then on
 *                                 (e.g. 1775 RPC_X_SS_IN_NULL_CONTEXT or
 *                                 0x80320010 FWP_E_SESSION_ABORTED), their
 *                                 subscriptions stop, dynamic filters and
 *                                 the stored net events are gone
 *   FakeFwpKillSubscriptions()    every live net-event subscription stops
 *                                 delivering without any error (the silent
 *                                 death seen on hosts short of memory)
 *   FakeFwpDeliver(filterId)      a CLASSIFY_DROP stamped now: delivered to
 *                                 every live subscription and stored for
 *                                 FwpmNetEventEnum (time-filtered)
 *   FakeFwpOutstanding(&h, &p)    state enumeration handles not destroyed
 *                                 and pages not freed with FwpmFreeMemory0
 *
 * FwpmFilterSubscribeChanges0 honours FWPM_FILTER_SUBSCRIPTION0.flags
 * (NOTIFY_ON_ADD 1, NOTIFY_ON_DELETE 2; 0 delivers nothing) and, like the
 * engine, does not report a change to a subscription of the handle that
 * made it. FwpmFilterAdd0 records the sublayer, weight and flags it gets;
 * FwpmSubLayerAdd0 records the sublayer.
 *
 * Build with -DFAKE_MAX_SUBSCRIBE=n to export only FwpmNetEventSubscribe0..n
 * and FwpmNetEventEnum0..n+1: the "older Windows" variant that proves the
 * Go side falls back by export presence (LazyProc.Find), not by guessing.
 */
#include "wfpwatch_sdk.h"
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FAKE_MAX_SUBSCRIBE
#define FAKE_MAX_SUBSCRIBE 4
#endif

#define EXPORT __declspec(dllexport)
#define FWP_E_FILTER_NOT_FOUND_ 0x80320003
#define FWP_E_LAYER_NOT_FOUND_ 0x80320004

static CRITICAL_SECTION lock;
static UINT32 opt_collect = 1, opt_keywords = 0, opt_init = 0;

static LONG subscribe_calls = 0;

static void record(const char *fmt, ...) {
  char path[MAX_PATH];
  DWORD n = GetEnvironmentVariableA("WFPWATCH_FAKE_RECORD", path, sizeof path);
  if (n == 0 || n >= sizeof path) return;
  FILE *f = fopen(path, "a");
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
}

/* take_env reads a one-shot setting and removes it, so that a test sets the
 * fake's state for the next call only. */
static int take_env(const char *name, DWORD *out) {
  char buf[64];
  DWORD n = GetEnvironmentVariableA(name, buf, sizeof buf);
  if (n == 0 || n >= sizeof buf) return 0;
  *out = (DWORD)strtoul(buf, NULL, 0);
  SetEnvironmentVariableA(name, NULL);
  return 1;
}

static void init_opts(void) {
  DWORD v;
  if (take_env("WFPWATCH_FAKE_COLLECT", &v)) opt_collect = v;
  if (take_env("WFPWATCH_FAKE_KEYWORDS", &v)) opt_keywords = v;
  opt_init = 1;
}

BOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID r) {
  (void)h; (void)r;
  if (reason == DLL_PROCESS_ATTACH) InitializeCriticalSection(&lock);
  return TRUE;
}

/* ---- memory: every result is one malloc block, so FwpmFreeMemory0 is free() ---- */

typedef struct { char *base; size_t used, cap; } arena;

static void *aalloc(arena *a, size_t n) {
  size_t off = (a->used + 7) & ~(size_t)7;
  if (off + n > a->cap) return NULL;
  a->used = off + n;
  memset(a->base + off, 0, n);
  return a->base + off;
}

/* The pages the state enumeration hands out, until FwpmFreeMemory0 frees
 * them: FakeFwpOutstanding counts them, so a test sees a page Go forgot. */
#define MAX_PAGES 64
static void *live_pages[MAX_PAGES];
static LONG live_enum_handles;

static void track_page(void *p) {
  EnterCriticalSection(&lock);
  for (int i = 0; i < MAX_PAGES; i++)
    if (!live_pages[i]) { live_pages[i] = p; break; }
  LeaveCriticalSection(&lock);
}

EXPORT void WINAPI FwpmFreeMemory0(void **p) {
  if (p && *p) {
    EnterCriticalSection(&lock);
    for (int i = 0; i < MAX_PAGES; i++)
      if (live_pages[i] == *p) live_pages[i] = NULL;
    LeaveCriticalSection(&lock);
    free(*p);
    *p = NULL;
  }
}

/* ---- engine ---- */

typedef struct { UINT32 dynamic; LONG gen; } engine;

/* BFE "generation": FakeFwpRestartEngine bumps it; handles of an older
 * generation fail with dead_status. */
static volatile LONG bfe_gen = 1;
static DWORD dead_status = 1775;

#define CHECK_ENGINE(h)                                  \
  do {                                                   \
    engine *e_ = (engine *)(h);                          \
    if (!e_) return ERROR_INVALID_HANDLE;                \
    if (e_->gen != bfe_gen) return dead_status;          \
  } while (0)

#define MAX_FILTERS 64
static struct {
  UINT64 id;
  GUID layer;
  UINT32 flags;
  int dynamic;
  wchar_t name[64];
} filters[MAX_FILTERS];
static UINT64 next_filter_id = 90000;

/* filter-change subscriptions */
static struct {
  int used;
  FWPM_FILTER_CHANGE_CALLBACK0 cb;
  void *ctx;
  UINT32 flags;
  engine *eng;
  LONG gen;
} change_subs[8];

EXPORT DWORD WINAPI FwpmEngineOpen0(const wchar_t *server, UINT32 authn, SEC_WINNT_AUTH_IDENTITY_W *id,
                                    const FWPM_SESSION0 *session, HANDLE *h) {
  (void)server; (void)id;
  init_opts();
  engine *e = calloc(1, sizeof *e);
  e->gen = bfe_gen;
  e->dynamic = session && (session->flags & FWPM_SESSION_FLAG_DYNAMIC);
  record("open authn=%u session=%d flags=0x%x", authn, session != NULL, session ? session->flags : 0);
  *h = e;
  return 0;
}

EXPORT DWORD WINAPI FwpmEngineClose0(HANDLE h) {
  engine *e = h;
  if (!e) return ERROR_INVALID_HANDLE;
  if (e->gen != bfe_gen) {
    record("close stale");
    free(e);
    return dead_status;
  }
  if (e->dynamic) {
    EnterCriticalSection(&lock);
    for (int i = 0; i < MAX_FILTERS; i++)
      if (filters[i].id && filters[i].dynamic) {
        record("dynamic-remove %llu", (unsigned long long)filters[i].id);
        filters[i].id = 0;
      }
    LeaveCriticalSection(&lock);
  }
  record("close");
  free(e);
  return 0;
}

EXPORT DWORD WINAPI FwpmEngineGetOption0(HANDLE h, FWPM_ENGINE_OPTION opt, FWP_VALUE0 **v) {
  CHECK_ENGINE(h);
  init_opts();
  FWP_VALUE0 *out = calloc(1, sizeof *out);
  out->type = FWP_UINT32;
  switch ((int)opt) {
  case 0: out->uint32 = opt_collect; break;
  case 1: out->uint32 = opt_keywords; break;
  default: out->uint32 = 0;
  }
  *v = out;
  return 0;
}

EXPORT DWORD WINAPI FwpmEngineSetOption0(HANDLE h, FWPM_ENGINE_OPTION opt, const FWP_VALUE0 *v) {
  CHECK_ENGINE(h);
  init_opts();
  if (v->type != FWP_UINT32) return ERROR_INVALID_PARAMETER;
  record("setoption %d %u", (int)opt, v->uint32);
  switch ((int)opt) {
  case 0: opt_collect = v->uint32; break;
  case 1: opt_keywords = v->uint32; break;
  }
  return 0;
}

/* ---- net events ---- */

static const wchar_t app_path[] = L"\\device\\harddiskvolume3\\windows\\system32\\curl.exe";
static BYTE system_sid[12] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
static BYTE package_sid[16] = {1, 2, 0, 0, 0, 0, 0, 15, 2, 0, 0, 0, 7, 0, 0, 0};
#define FAKE_TIME 0x01DD5E9B3C1D2E00ULL /* a fixed FILETIME */

/* fill_header writes the common header prefix (HEADER0..3 share it). */
static void fill_header(BYTE *hdr, int hv, arena *a, int v6) {
  FWPM_NET_EVENT_HEADER1 *h = (void *)hdr; /* prefix identical in all versions */
  ULARGE_INTEGER t;
  t.QuadPart = FAKE_TIME;
  h->timeStamp.dwLowDateTime = t.LowPart;
  h->timeStamp.dwHighDateTime = t.HighPart;
  h->flags = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100;
  h->ipProtocol = 6;
  if (v6) {
    h->ipVersion = FWP_IP_VERSION_V6;
    static const BYTE l[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const BYTE r[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    memcpy(h->localAddrV6.byteArray16, l, 16);
    memcpy(h->remoteAddrV6.byteArray16, r, 16);
  } else {
    h->ipVersion = FWP_IP_VERSION_V4;
    h->localAddrV4 = 0x0A010203;  /* 10.1.2.3 */
    h->remoteAddrV4 = 0xCB007109; /* 203.0.113.9 */
  }
  h->localPort = 49999;
  h->remotePort = 443;
  wchar_t *p = aalloc(a, sizeof app_path);
  memcpy(p, app_path, sizeof app_path);
  h->appId.size = sizeof app_path;
  h->appId.data = (UINT8 *)p;
  BYTE *s = aalloc(a, sizeof system_sid);
  memcpy(s, system_sid, sizeof system_sid);
  h->userId = (SID *)s;
  if (hv >= 2) {
    FWPM_NET_EVENT_HEADER2 *h2 = (void *)hdr;
    BYTE *ps = aalloc(a, sizeof package_sid);
    memcpy(ps, package_sid, sizeof package_sid);
    h2->packageSid = (SID *)ps;
  }
}

/* build_event lays out FWPM_NET_EVENT<v> of type typ; returns NULL when
 * version v cannot carry typ. Filter ids say the version: 1000*v + typ. */
static void *build_event(arena *a, int v, int typ, UINT64 filter_id, UINT16 layer_id, UINT32 ms_dir) {
  static const size_t sizes[] = {sizeof(FWPM_NET_EVENT0), sizeof(FWPM_NET_EVENT1), sizeof(FWPM_NET_EVENT2),
                                 sizeof(FWPM_NET_EVENT3), sizeof(FWPM_NET_EVENT4), sizeof(FWPM_NET_EVENT5)};
  static const int hvs[] = {0, 1, 2, 3, 3, 3};
  static const size_t hsizes[] = {sizeof(FWPM_NET_EVENT_HEADER0), sizeof(FWPM_NET_EVENT_HEADER1),
                                  sizeof(FWPM_NET_EVENT_HEADER2), sizeof(FWPM_NET_EVENT_HEADER3)};
  if (v < 2 && typ > 5) return NULL;
  BYTE *ev = aalloc(a, sizes[v]);
  if (!ev) return NULL;
  int hv = hvs[v];
  fill_header(ev, hv, a, typ == FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP);
  /* type and union follow the header; their offsets are the C ones */
  FWPM_NET_EVENT_TYPE *tp = (void *)(ev + hsizes[hv]);
  void **un = (void **)(ev + ((hsizes[hv] + sizeof(FWPM_NET_EVENT_TYPE) + 7) & ~(size_t)7));
  switch (v) { /* cross-check with the real struct definitions */
  case 0: un = (void **)&((FWPM_NET_EVENT0 *)ev)->classifyDrop; tp = &((FWPM_NET_EVENT0 *)ev)->type; break;
  case 1: un = (void **)&((FWPM_NET_EVENT1 *)ev)->classifyDrop; tp = &((FWPM_NET_EVENT1 *)ev)->type; break;
  case 2: un = (void **)&((FWPM_NET_EVENT2 *)ev)->classifyDrop; tp = &((FWPM_NET_EVENT2 *)ev)->type; break;
  default: un = (void **)&((FWPM_NET_EVENT5 *)ev)->classifyDrop; tp = &((FWPM_NET_EVENT5 *)ev)->type; break;
  }
  *tp = (FWPM_NET_EVENT_TYPE)typ;
  switch (typ) {
  case FWPM_NET_EVENT_TYPE_CLASSIFY_DROP:
    if (v == 0) {
      FWPM_NET_EVENT_CLASSIFY_DROP0 *d = aalloc(a, sizeof *d);
      d->filterId = filter_id; d->layerId = layer_id; *un = d;
    } else if (v == 1) {
      FWPM_NET_EVENT_CLASSIFY_DROP1 *d = aalloc(a, sizeof *d);
      d->filterId = filter_id; d->layerId = layer_id; d->msFwpDirection = ms_dir; *un = d;
    } else {
      FWPM_NET_EVENT_CLASSIFY_DROP2 *d = aalloc(a, sizeof *d);
      d->filterId = filter_id; d->layerId = layer_id; d->msFwpDirection = ms_dir; d->isLoopback = 0; *un = d;
    }
    break;
  case FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW: {
    FWPM_NET_EVENT_CLASSIFY_ALLOW0 *d = aalloc(a, sizeof *d);
    d->filterId = filter_id; d->layerId = layer_id; d->msFwpDirection = ms_dir; d->isLoopback = 1; *un = d;
    break;
  }
  case FWPM_NET_EVENT_TYPE_CAPABILITY_DROP: {
    FWPM_NET_EVENT_CAPABILITY_DROP0 *d = aalloc(a, sizeof *d);
    d->networkCapabilityId = FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT_SERVER; d->filterId = filter_id; *un = d;
    break;
  }
  case FWPM_NET_EVENT_TYPE_CLASSIFY_DROP_MAC: {
    FWPM_NET_EVENT_CLASSIFY_DROP_MAC0 *d = aalloc(a, sizeof *d);
    memset(d->remoteMacAddr.byteArray6, 0xff, 6);
    d->etherType = 0x0806; d->filterId = filter_id; d->layerId = layer_id; d->msFwpDirection = ms_dir; *un = d;
    break;
  }
  case FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP: {
    FWPM_NET_EVENT_IPSEC_KERNEL_DROP0 *d = aalloc(a, sizeof *d);
    d->failureStatus = (INT32)0xC000A002; d->direction = FWP_DIRECTION_INBOUND; d->spi = 0x1234;
    d->filterId = filter_id; d->layerId = layer_id; *un = d;
    break;
  }
  }
  return ev;
}

static const int fake_types[] = {FWPM_NET_EVENT_TYPE_CLASSIFY_DROP, FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP,
                                 FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW, FWPM_NET_EVENT_TYPE_CAPABILITY_DROP,
                                 FWPM_NET_EVENT_TYPE_CLASSIFY_DROP_MAC};
static const UINT16 fake_layers[] = {48, 14, 40, 0, 60};

typedef void(CALLBACK *any_cb)(void *, const void *);

typedef struct sub {
  any_cb cb;
  void *ctx;
  int version; /* struct version delivered */
  volatile LONG closed;
  volatile LONG dead; /* killed: delivers nothing, reports nothing */
  LONG gen;
  HANDLE thread;
} sub;

static sub *live_subs[16];

static DWORD WINAPI deliver(void *p) {
  sub *s = p;
  Sleep(50);
  arena a = {malloc(1 << 16), 0, 1 << 16};
  for (unsigned i = 0; i < sizeof fake_types / sizeof *fake_types && !s->closed && !s->dead; i++) {
    a.used = 0;
    void *ev = build_event(&a, s->version, fake_types[i], 1000ULL * s->version + fake_types[i], fake_layers[i], 0x3901);
    if (ev) s->cb(s->ctx, ev);
  }
  free(a.base);
  return 0;
}

static DWORD subscribe(int n, HANDLE engine_h, const FWPM_NET_EVENT_SUBSCRIPTION0 *subn, void *cb, void *ctx, HANDLE *out) {
  CHECK_ENGINE(engine_h);
  LONG call = InterlockedIncrement(&subscribe_calls);
  DWORD fail = 0;
  take_env("WFPWATCH_FAKE_SUBSCRIBE_FAIL", &fail);
  UINT32 nc = subn && subn->enumTemplate ? subn->enumTemplate->numFilterConditions : 0;
  record("subscribe %d call=%ld conditions=%u", n, call, nc);
  if (fail) return fail;
  sub *s = calloc(1, sizeof *s);
  s->cb = (any_cb)cb; s->ctx = ctx; s->version = n + 1; s->gen = bfe_gen;
  EnterCriticalSection(&lock);
  for (int i = 0; i < 16; i++)
    if (!live_subs[i]) { live_subs[i] = s; break; }
  LeaveCriticalSection(&lock);
  s->thread = CreateThread(NULL, 0, deliver, s, 0, NULL);
  *out = s;
  return 0;
}

EXPORT DWORD WINAPI FwpmNetEventSubscribe0(HANDLE e, const FWPM_NET_EVENT_SUBSCRIPTION0 *s, FWPM_NET_EVENT_CALLBACK0 cb, void *ctx, HANDLE *h) { return subscribe(0, e, s, (void *)cb, ctx, h); }
#if FAKE_MAX_SUBSCRIBE >= 1
EXPORT DWORD WINAPI FwpmNetEventSubscribe1(HANDLE e, const FWPM_NET_EVENT_SUBSCRIPTION0 *s, FWPM_NET_EVENT_CALLBACK1 cb, void *ctx, HANDLE *h) { return subscribe(1, e, s, (void *)cb, ctx, h); }
#endif
#if FAKE_MAX_SUBSCRIBE >= 2
EXPORT DWORD WINAPI FwpmNetEventSubscribe2(HANDLE e, const FWPM_NET_EVENT_SUBSCRIPTION0 *s, FWPM_NET_EVENT_CALLBACK2 cb, void *ctx, HANDLE *h) { return subscribe(2, e, s, (void *)cb, ctx, h); }
#endif
#if FAKE_MAX_SUBSCRIBE >= 3
EXPORT DWORD WINAPI FwpmNetEventSubscribe3(HANDLE e, const FWPM_NET_EVENT_SUBSCRIPTION0 *s, FWPM_NET_EVENT_CALLBACK3 cb, void *ctx, HANDLE *h) { return subscribe(3, e, s, (void *)cb, ctx, h); }
#endif
#if FAKE_MAX_SUBSCRIBE >= 4
EXPORT DWORD WINAPI FwpmNetEventSubscribe4(HANDLE e, const FWPM_NET_EVENT_SUBSCRIPTION0 *s, FWPM_NET_EVENT_CALLBACK4 cb, void *ctx, HANDLE *h) { return subscribe(4, e, s, (void *)cb, ctx, h); }
#endif

EXPORT DWORD WINAPI FwpmNetEventUnsubscribe0(HANDLE e, HANDLE h) {
  sub *s = h;
  if (!s) return ERROR_INVALID_HANDLE;
  DWORD st = (e && ((engine *)e)->gen != bfe_gen) ? dead_status : 0;
  InterlockedExchange(&s->closed, 1);
  WaitForSingleObject(s->thread, INFINITE); /* no callback after return */
  CloseHandle(s->thread);
  EnterCriticalSection(&lock);
  for (int i = 0; i < 16; i++)
    if (live_subs[i] == s) live_subs[i] = NULL;
  LeaveCriticalSection(&lock);
  record("unsubscribe%s", st ? " stale" : "");
  free(s);
  return st;
}

/* net events stored for FwpmNetEventEnum by FakeFwpDeliver (a BFE restart
 * empties it, as the engine's buffer lives in BFE) */
#define MAX_HISTORY 64
static struct { UINT64 t, filter_id; } history[MAX_HISTORY];
static int nhistory;

static UINT64 ft64(FILETIME f) { return ((UINT64)f.dwHighDateTime << 32) | f.dwLowDateTime; }

typedef struct { int done; UINT32 nconds; UINT64 start, end; } enum_h;

EXPORT DWORD WINAPI FwpmNetEventCreateEnumHandle0(HANDLE e, const FWPM_NET_EVENT_ENUM_TEMPLATE0 *t, HANDLE *h) {
  CHECK_ENGINE(e);
  enum_h *eh = calloc(1, sizeof *eh);
  eh->nconds = t ? t->numFilterConditions : 0;
  eh->start = t ? ft64(t->startTime) : 0;
  eh->end = t ? ft64(t->endTime) : ~(UINT64)0;
  record("enumhandle conditions=%u", eh->nconds);
  *h = eh;
  return 0;
}

EXPORT DWORD WINAPI FwpmNetEventDestroyEnumHandle0(HANDLE e, HANDLE h) {
  (void)e;
  free(h);
  return 0;
}

/* set_time stamps an event built by build_event (header prefix). */
static void set_time(void *ev, UINT64 t) {
  FWPM_NET_EVENT_HEADER1 *h = ev;
  h->timeStamp.dwLowDateTime = (DWORD)t;
  h->timeStamp.dwHighDateTime = (DWORD)(t >> 32);
}

/* enum returns one CLASSIFY_DROP of struct version v (filter id 500+v, the
 * fixed time), then the stored events of FakeFwpDeliver within the
 * template's time range, all in the first call. */
static DWORD do_enum(int v, HANDLE eng, HANDLE h, UINT32 want, void ***entries, UINT32 *got) {
  CHECK_ENGINE(eng);
  enum_h *eh = h;
  record("enum %d", v);
  arena a = {malloc(1 << 16), 0, 1 << 16};
  void **arr = aalloc(&a, sizeof(void *) * (MAX_HISTORY + 1));
  *got = 0;
  if (!eh->done && want > 0) {
    arr[(*got)++] = build_event(&a, v, FWPM_NET_EVENT_TYPE_CLASSIFY_DROP, 500 + v, 44, 0x3900);
    EnterCriticalSection(&lock);
    for (int i = 0; i < nhistory && *got < want; i++) {
      if (history[i].t < eh->start || history[i].t > eh->end) continue;
      void *ev = build_event(&a, v, FWPM_NET_EVENT_TYPE_CLASSIFY_DROP, history[i].filter_id, 48, 0x3901);
      if (!ev) break;
      set_time(ev, history[i].t);
      arr[(*got)++] = ev;
    }
    LeaveCriticalSection(&lock);
    eh->done = 1;
  }
  *entries = (void **)a.base; /* arr is the first allocation: base */
  return 0;
}

EXPORT DWORD WINAPI FwpmNetEventEnum0(HANDLE e, HANDLE h, UINT32 n, FWPM_NET_EVENT0 ***x, UINT32 *g) { return do_enum(0, e, h, n, (void ***)x, g); }
EXPORT DWORD WINAPI FwpmNetEventEnum1(HANDLE e, HANDLE h, UINT32 n, FWPM_NET_EVENT1 ***x, UINT32 *g) { return do_enum(1, e, h, n, (void ***)x, g); }
#if FAKE_MAX_SUBSCRIBE >= 1
EXPORT DWORD WINAPI FwpmNetEventEnum2(HANDLE e, HANDLE h, UINT32 n, FWPM_NET_EVENT2 ***x, UINT32 *g) { return do_enum(2, e, h, n, (void ***)x, g); }
#endif
#if FAKE_MAX_SUBSCRIBE >= 2
EXPORT DWORD WINAPI FwpmNetEventEnum3(HANDLE e, HANDLE h, UINT32 n, FWPM_NET_EVENT3 ***x, UINT32 *g) { return do_enum(3, e, h, n, (void ***)x, g); }
#endif
#if FAKE_MAX_SUBSCRIBE >= 3
EXPORT DWORD WINAPI FwpmNetEventEnum4(HANDLE e, HANDLE h, UINT32 n, FWPM_NET_EVENT4 ***x, UINT32 *g) { return do_enum(4, e, h, n, (void ***)x, g); }
#endif
#if FAKE_MAX_SUBSCRIBE >= 4
EXPORT DWORD WINAPI FwpmNetEventEnum5(HANDLE e, HANDLE h, UINT32 n, FWPM_NET_EVENT5 ***x, UINT32 *g) { return do_enum(5, e, h, n, (void ***)x, g); }
#endif

/* ---- scripted failures (exports for tests) ---- */

EXPORT void WINAPI FakeFwpRestartEngine(DWORD status) {
  EnterCriticalSection(&lock);
  dead_status = status;
  InterlockedIncrement(&bfe_gen);
  for (int i = 0; i < 16; i++)
    if (live_subs[i]) InterlockedExchange(&live_subs[i]->dead, 1);
  for (int i = 0; i < MAX_FILTERS; i++)
    if (filters[i].id && filters[i].dynamic) filters[i].id = 0;
  nhistory = 0;
  LeaveCriticalSection(&lock);
  record("bfe-restart status=0x%lx", (unsigned long)status);
}

EXPORT void WINAPI FakeFwpKillSubscriptions(void) {
  EnterCriticalSection(&lock);
  for (int i = 0; i < 16; i++)
    if (live_subs[i]) InterlockedExchange(&live_subs[i]->dead, 1);
  LeaveCriticalSection(&lock);
  record("subscriptions-killed");
}

EXPORT void WINAPI FakeFwpDeliver(UINT64 filter_id) {
  FILETIME now;
  GetSystemTimeAsFileTime(&now);
  UINT64 t = ft64(now);
  EnterCriticalSection(&lock);
  if (nhistory == MAX_HISTORY) {
    memmove(history, history + 1, sizeof history[0] * (MAX_HISTORY - 1));
    nhistory--;
  }
  history[nhistory].t = t;
  history[nhistory].filter_id = filter_id;
  nhistory++;
  sub *subs[16];
  memcpy(subs, live_subs, sizeof subs);
  LeaveCriticalSection(&lock);
  arena a = {malloc(1 << 14), 0, 1 << 14};
  for (int i = 0; i < 16; i++) {
    if (!subs[i] || subs[i]->closed || subs[i]->dead) continue;
    a.used = 0;
    void *ev = build_event(&a, subs[i]->version, FWPM_NET_EVENT_TYPE_CLASSIFY_DROP, filter_id, 48, 0x3901);
    if (!ev) continue;
    set_time(ev, t);
    subs[i]->cb(subs[i]->ctx, ev);
  }
  free(a.base);
  record("deliver %llu", (unsigned long long)filter_id);
}

/* ---- lookups ---- */

static const GUID fake_provider = {0x4b153735, 0x1049, 0x4480, {0xaa, 0xb4, 0xd1, 0xb9, 0xbd, 0xc0, 0x37, 0x10}};
static const GUID layer_connect_v4 = {0xc38d57d1, 0x05a7, 0x4c33, {0x90, 0x4f, 0x7f, 0xbc, 0xee, 0xe6, 0x0e, 0x82}};

static wchar_t *astr(arena *a, const wchar_t *s) {
  size_t n = (wcslen(s) + 1) * sizeof(wchar_t);
  wchar_t *p = aalloc(a, n);
  memcpy(p, s, n);
  return p;
}

EXPORT DWORD WINAPI FwpmFilterGetById0(HANDLE e, UINT64 id, FWPM_FILTER0 **out) {
  CHECK_ENGINE(e);
  const wchar_t *name = NULL;
  GUID layer = layer_connect_v4;
  wchar_t buf[80];
  if (id >= 1000 && id < 7000) {
    swprintf(buf, 80, L"Fake block filter %llu", (unsigned long long)id);
    name = buf;
  } else {
    EnterCriticalSection(&lock);
    for (int i = 0; i < MAX_FILTERS; i++)
      if (filters[i].id == id) { wcscpy(buf, filters[i].name); name = buf; layer = filters[i].layer; }
    LeaveCriticalSection(&lock);
  }
  if (!name) return FWP_E_FILTER_NOT_FOUND_;
  arena a = {malloc(4096), 0, 4096};
  FWPM_FILTER0 *f = aalloc(&a, sizeof *f);
  f->filterId = id;
  f->displayData.name = astr(&a, name);
  f->displayData.description = astr(&a, L"made by the fake fwpuclnt");
  GUID *pk = aalloc(&a, sizeof *pk);
  *pk = fake_provider;
  f->providerKey = pk;
  f->layerKey = layer;
  f->action.type = FWP_ACTION_BLOCK;
  UINT64 *w = aalloc(&a, sizeof *w);
  *w = 0x0123456789ULL;
  f->effectiveWeight.type = FWP_UINT64;
  f->effectiveWeight.uint64 = w;
  *out = f;
  return 0;
}

EXPORT DWORD WINAPI FwpmLayerGetById0(HANDLE e, UINT16 id, FWPM_LAYER0 **out) {
  CHECK_ENGINE(e);
  if (id != 48) return FWP_E_LAYER_NOT_FOUND_;
  arena a = {malloc(1024), 0, 1024};
  FWPM_LAYER0 *l = aalloc(&a, sizeof *l);
  l->layerKey = layer_connect_v4;
  l->layerId = id;
  l->displayData.name = astr(&a, L"ALE Connect v4 Layer");
  *out = l;
  return 0;
}

EXPORT DWORD WINAPI FwpmProviderGetByKey0(HANDLE e, const GUID *key, FWPM_PROVIDER0 **out) {
  CHECK_ENGINE(e);
  if (!IsEqualGUID(key, &fake_provider)) return 0x80320005; /* FWP_E_PROVIDER_NOT_FOUND */
  arena a = {malloc(1024), 0, 1024};
  FWPM_PROVIDER0 *p = aalloc(&a, sizeof *p);
  p->providerKey = *key;
  p->displayData.name = astr(&a, L"Microsoft Windows WSH");
  *out = p;
  return 0;
}

EXPORT DWORD WINAPI FwpmFilterSubscribeChanges0(HANDLE e, const FWPM_FILTER_SUBSCRIPTION0 *s, FWPM_FILTER_CHANGE_CALLBACK0 cb, void *ctx, HANDLE *h) {
  CHECK_ENGINE(e);
  if (!s || !cb || !h) return ERROR_INVALID_PARAMETER;
  record("filtersubscribe flags=0x%x", s->flags);
  EnterCriticalSection(&lock);
  for (int i = 0; i < 8; i++)
    if (!change_subs[i].used) {
      change_subs[i].used = 1;
      change_subs[i].cb = cb;
      change_subs[i].ctx = ctx;
      change_subs[i].flags = s->flags;
      change_subs[i].eng = e;
      change_subs[i].gen = bfe_gen;
      LeaveCriticalSection(&lock);
      *h = (HANDLE)(ULONG_PTR)(0x5150 + i);
      return 0;
    }
  LeaveCriticalSection(&lock);
  return ERROR_NOT_ENOUGH_MEMORY;
}

EXPORT DWORD WINAPI FwpmFilterUnsubscribeChanges0(HANDLE e, HANDLE h) {
  ULONG_PTR i = (ULONG_PTR)h - 0x5150;
  if (i >= 8) return ERROR_INVALID_HANDLE;
  EnterCriticalSection(&lock);
  change_subs[i].used = 0;
  LeaveCriticalSection(&lock);
  if (e && ((engine *)e)->gen != bfe_gen) return dead_status;
  return 0;
}

/* notify reports a change made through engine src to every subscription
 * that asked for its kind (flags), except those of src itself, and none of
 * an engine generation before a restart. Callbacks run on this thread. */
static void notify(UINT32 type, UINT64 id, engine *src) {
  UINT32 want = type == 1 ? 0x1 : 0x2; /* NOTIFY_ON_ADD, NOTIFY_ON_DELETE */
  for (int i = 0; i < 8; i++) {
    FWPM_FILTER_CHANGE_CALLBACK0 cb = NULL;
    void *ctx = NULL;
    EnterCriticalSection(&lock);
    if (change_subs[i].used && (change_subs[i].flags & want) && change_subs[i].eng != src && change_subs[i].gen == bfe_gen) {
      cb = change_subs[i].cb;
      ctx = change_subs[i].ctx;
    }
    LeaveCriticalSection(&lock);
    if (!cb) continue;
    FWPM_FILTER_CHANGE0 c;
    memset(&c, 0, sizeof c);
    c.changeType = type;
    c.filterId = id;
    cb(ctx, &c);
  }
}

/* ---- self-test calls ---- */

static const GUID zero_guid;

static void guid_str(const GUID *g, char *out) {
  sprintf(out, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned long)g->Data1, g->Data2, g->Data3,
          g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

/* The ALE layers the self-test uses, key → run-time id (FWPS_BUILTIN_LAYERS). */
static const struct { GUID key; UINT16 id; } ale_layers[] = {
  {{0x88bb5dad, 0x76d7, 0x4227, {0x9c, 0x71, 0xdf, 0x0a, 0x3e, 0xd7, 0xbe, 0x7e}}, 40},
  {{0x7ac9de24, 0x17dd, 0x4814, {0xb4, 0xbd, 0xa9, 0xfb, 0xc9, 0x5a, 0x32, 0x1b}}, 42},
  {{0xe1cd9fe7, 0xf4b5, 0x4273, {0x96, 0xc0, 0x59, 0x2e, 0x48, 0x7b, 0x86, 0x50}}, 44},
  {{0xa3b42c97, 0x9f04, 0x4672, {0xb8, 0x7e, 0xce, 0xe9, 0xc4, 0x83, 0x25, 0x7f}}, 46},
  {{0xc38d57d1, 0x05a7, 0x4c33, {0x90, 0x4f, 0x7f, 0xbc, 0xee, 0xe6, 0x0e, 0x82}}, 48},
  {{0x4a72393b, 0x319f, 0x44bc, {0x84, 0xc3, 0xba, 0x54, 0xdc, 0xb3, 0xb6, 0xb4}}, 50},
  {{0x1247d66d, 0x0b60, 0x4a15, {0x8d, 0x44, 0x71, 0x55, 0xd0, 0xf5, 0x3a, 0x0c}}, 36},
  {{0x55a650e1, 0x5f0a, 0x4eca, {0xa6, 0x53, 0x88, 0xf5, 0x3b, 0x26, 0xaa, 0x8c}}, 38},
};

static UINT16 layer_id_of(const GUID *k) {
  for (unsigned i = 0; i < sizeof ale_layers / sizeof *ale_layers; i++)
    if (IsEqualGUID(k, &ale_layers[i].key)) return ale_layers[i].id;
  return 0xffff;
}

/* drop_later simulates the engine's block of the self-test's trigger: a
 * CLASSIFY_DROP naming the new filter and its layer, delivered to every
 * live subscription in that subscription's struct version. The fake
 * blocks nothing; it proves the plumbing, not Windows' enforcement. */
static DWORD WINAPI drop_later(void *p) {
  UINT64 id = (UINT64)(ULONG_PTR)p;
  Sleep(100);
  UINT16 layer = 0xffff;
  EnterCriticalSection(&lock);
  for (int i = 0; i < MAX_FILTERS; i++)
    if (filters[i].id == id) layer = layer_id_of(&filters[i].layer);
  sub *subs[16];
  memcpy(subs, live_subs, sizeof subs);
  LeaveCriticalSection(&lock);
  arena a = {malloc(1 << 14), 0, 1 << 14};
  for (int i = 0; i < 16; i++) {
    if (!subs[i] || subs[i]->closed) continue;
    a.used = 0;
    void *ev = build_event(&a, subs[i]->version, FWPM_NET_EVENT_TYPE_CLASSIFY_DROP, id, layer, 0);
    if (ev) subs[i]->cb(subs[i]->ctx, ev);
  }
  free(a.base);
  return 0;
}

EXPORT DWORD WINAPI FwpmFilterAdd0(HANDLE h, const FWPM_FILTER0 *f, PSECURITY_DESCRIPTOR sd, UINT64 *id) {
  CHECK_ENGINE(h);
  engine *e = h;
  (void)sd;
  char lg[40], sl[40], line[1024];
  guid_str(&f->layerKey, lg);
  guid_str(&f->subLayerKey, sl);
  int n = snprintf(line, sizeof line, "filteradd layer=%s flags=0x%x action=0x%x dynamic=%u", lg, f->flags, f->action.type, e->dynamic);
  if (f->weight.type == FWP_UINT8) n += snprintf(line + n, sizeof line - n, " weight=u8:%u", f->weight.uint8);
  else if (f->weight.type == FWP_UINT64 && f->weight.uint64) n += snprintf(line + n, sizeof line - n, " weight=u64:%llu", (unsigned long long)*f->weight.uint64);
  if (memcmp(&f->subLayerKey, &zero_guid, sizeof zero_guid) != 0) n += snprintf(line + n, sizeof line - n, " sublayer=%s", sl);
  for (UINT32 i = 0; i < f->numFilterConditions && n < (int)sizeof line - 120; i++) {
    const FWPM_FILTER_CONDITION0 *c = &f->filterCondition[i];
    char cg[40];
    guid_str(&c->fieldKey, cg);
    n += snprintf(line + n, sizeof line - n, " cond=%s/%u/%u/", cg, c->matchType, c->conditionValue.type);
    switch (c->conditionValue.type) {
    case FWP_UINT8: n += snprintf(line + n, sizeof line - n, "%u", c->conditionValue.uint8); break;
    case FWP_UINT16: n += snprintf(line + n, sizeof line - n, "%u", c->conditionValue.uint16); break;
    case FWP_UINT32: n += snprintf(line + n, sizeof line - n, "%u", c->conditionValue.uint32); break;
    case FWP_BYTE_ARRAY16_TYPE:
      for (int k = 0; k < 16; k++) n += snprintf(line + n, sizeof line - n, "%02x", c->conditionValue.byteArray16->byteArray16[k]);
      break;
    case FWP_BYTE_BLOB_TYPE: n += snprintf(line + n, sizeof line - n, "blob%u", c->conditionValue.byteBlob->size); break;
    default: n += snprintf(line + n, sizeof line - n, "?"); break;
    }
  }
  record("%s", line);
  EnterCriticalSection(&lock);
  int slot = -1;
  for (int i = 0; i < MAX_FILTERS; i++)
    if (!filters[i].id) { slot = i; break; }
  if (slot < 0) { LeaveCriticalSection(&lock); return ERROR_NOT_ENOUGH_MEMORY; }
  filters[slot].id = ++next_filter_id;
  filters[slot].layer = f->layerKey;
  filters[slot].flags = f->flags;
  filters[slot].dynamic = e->dynamic;
  wcsncpy(filters[slot].name, f->displayData.name ? f->displayData.name : L"", 63);
  *id = filters[slot].id;
  LeaveCriticalSection(&lock);
  notify(1, *id, e);
  CloseHandle(CreateThread(NULL, 0, drop_later, (void *)(ULONG_PTR)*id, 0, NULL));
  return 0;
}

EXPORT DWORD WINAPI FwpmFilterDeleteById0(HANDLE h, UINT64 id) {
  CHECK_ENGINE(h);
  int found = 0;
  EnterCriticalSection(&lock);
  for (int i = 0; i < MAX_FILTERS; i++)
    if (filters[i].id == id) { filters[i].id = 0; found = 1; }
  LeaveCriticalSection(&lock);
  record("filterdelete %llu found=%d", (unsigned long long)id, found);
  if (!found) return FWP_E_FILTER_NOT_FOUND_;
  notify(2, id, h);
  return 0;
}

EXPORT DWORD WINAPI FwpmSubLayerAdd0(HANDLE h, const FWPM_SUBLAYER0 *sl, PSECURITY_DESCRIPTOR sd) {
  CHECK_ENGINE(h);
  engine *e = h;
  (void)sd;
  if (!sl || !sl->displayData.name) return ERROR_INVALID_PARAMETER;
  char k[40];
  guid_str(&sl->subLayerKey, k);
  record("sublayeradd key=%s weight=%u flags=0x%x dynamic=%u name=%ls", k, sl->weight, sl->flags, e->dynamic, sl->displayData.name);
  return 0;
}

EXPORT DWORD WINAPI FwpmTransactionBegin0(HANDLE h, UINT32 flags) { (void)h; record("txn begin 0x%x", flags); return 0; }
EXPORT DWORD WINAPI FwpmTransactionCommit0(HANDLE h) { (void)h; record("txn commit"); return 0; }
EXPORT DWORD WINAPI FwpmTransactionAbort0(HANDLE h) { (void)h; record("txn abort"); return 0; }

EXPORT DWORD WINAPI FwpmGetAppIdFromFileName0(const wchar_t *file, FWP_BYTE_BLOB **out) {
  const wchar_t *base = wcsrchr(file, L'\\');
  base = base ? base + 1 : file;
  wchar_t path[MAX_PATH];
  swprintf(path, MAX_PATH, L"\\device\\harddiskvolume9\\fake\\%ls", base);
  _wcslwr(path);
  size_t n = (wcslen(path) + 1) * sizeof(wchar_t);
  arena a = {malloc(sizeof(FWP_BYTE_BLOB) + n + 16), 0, sizeof(FWP_BYTE_BLOB) + n + 16};
  FWP_BYTE_BLOB *b = aalloc(&a, sizeof *b);
  b->size = (UINT32)n;
  b->data = aalloc(&a, n);
  memcpy(b->data, path, n);
  *out = b;
  return 0;
}

/* ---- state enumeration: Fwpm{Provider,SubLayer,Layer,Callout,Filter}Enum0 ----
 *
 * A made-up engine: the Windows Firewall provider and sublayer, a
 * third-party VPN provider ("Beispiel VPN") with its sublayer and an
 * inspection callout, the ALE layers of ale_layers, and
 * WFPWATCH_FAKE_STATE_FILTERS filters (ids 70000 on) followed by the
 * filters FwpmFilterAdd0 added. Filter i is, by i % 4:
 *   0  a firewall permit at ALE receive/accept v4: local port 3389,
 *      protocol 6, app id svchost.exe (a UTF-16 blob), user SD (SDDL);
 *   1  a firewall block at ALE connect v4: remote 10.0.0.0/8
 *      (V4_ADDR_MASK), remote ports 0-1024 (RANGE), user SID S-1-5-18;
 *   2  a VPN block at ALE connect v6 (weight UINT8 15): remote address
 *      fe80::1 (BYTE_ARRAY16), remote prefix fe80::/10 (V6_ADDR_MASK);
 *   3  a VPN callout (FWP_ACTION_CALLOUT_INSPECTION) at ALE connect v4.
 * Every Enum call answers one page in one malloc block (the array and the
 * entries), freed by FwpmFreeMemory0 on the array as the documentation
 * says. */

static const GUID provider_wf = {0xdecc16ca, 0x3f33, 0x4346, {0xbe, 0x1e, 0x8f, 0xb4, 0xae, 0x0f, 0x3d, 0x62}};
static const GUID provider_vpn = {0x5a1e0001, 0x0bad, 0x4bee, {0x90, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}};
static const GUID sublayer_wf = {0xb3cdd441, 0xaf90, 0x41ba, {0xa7, 0x45, 0x7c, 0x60, 0x08, 0xff, 0x23, 0x01}};
static const GUID sublayer_vpn = {0x5a1e0002, 0x0bad, 0x4bee, {0x90, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02}};
static const GUID callout_vpn = {0x5a1e0003, 0x0bad, 0x4bee, {0x90, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03}};
static const GUID cond_local_port = {0x0c1ba1af, 0x5765, 0x453f, {0xaf, 0x22, 0xa8, 0xf7, 0x91, 0xac, 0x77, 0x5b}};
static const GUID cond_remote_port = {0xc35a604d, 0xd22b, 0x4e1a, {0x91, 0xb4, 0x68, 0xf6, 0x74, 0xee, 0x67, 0x4b}};
static const GUID cond_protocol = {0x3971ef2b, 0x623e, 0x4f9a, {0x8c, 0xb1, 0x6e, 0x79, 0xb8, 0x06, 0xb9, 0xa7}};
static const GUID cond_remote_addr = {0xb235ae9a, 0x1d64, 0x49b8, {0xa4, 0x4c, 0x5f, 0xf3, 0xd9, 0x09, 0x50, 0x45}};
static const GUID cond_app_id = {0xd78e1e87, 0x8644, 0x4ea5, {0x94, 0x37, 0xd8, 0x09, 0xec, 0xef, 0xc9, 0x71}};
static const GUID cond_user_id = {0xaf043a0a, 0xb34d, 0x4f86, {0x97, 0x9c, 0xc9, 0x03, 0x71, 0xaf, 0x6e, 0x66}};
static const wchar_t *const ale_layer_names[] = {
  L"ALE Listen v4 Layer", L"ALE Listen v6 Layer", L"ALE Receive/Accept v4 Layer", L"ALE Receive/Accept v6 Layer",
  L"ALE Connect v4 Layer", L"ALE Connect v6 Layer", L"ALE Resource Assignment v4 Layer", L"ALE Resource Assignment v6 Layer",
};
#define N_ALE_LAYERS (sizeof ale_layers / sizeof *ale_layers)

enum { K_PROVIDER, K_SUBLAYER, K_LAYER, K_CALLOUT, K_FILTER };
typedef struct { int kind; UINT32 pos; int pages; } state_h;

static UINT32 state_filters = 600;
static DWORD enum_fail;

static DWORD state_create(HANDLE e, int kind, HANDLE *h) {
  CHECK_ENGINE(e);
  if (!h) return ERROR_INVALID_PARAMETER;
  if (kind == K_FILTER) {
    DWORD v;
    if (take_env("WFPWATCH_FAKE_STATE_FILTERS", &v)) state_filters = v;
    if (take_env("WFPWATCH_FAKE_ENUM_FAIL", &v)) enum_fail = v;
  }
  state_h *s = calloc(1, sizeof *s);
  s->kind = kind;
  InterlockedIncrement(&live_enum_handles);
  *h = s;
  return 0;
}

static DWORD state_destroy(HANDLE e, HANDLE h) {
  CHECK_ENGINE(e);
  if (!h) return ERROR_INVALID_HANDLE;
  free(h);
  InterlockedDecrement(&live_enum_handles);
  return 0;
}

static wchar_t *astrf(arena *a, const wchar_t *fmt, UINT32 n) {
  wchar_t buf[128];
  swprintf(buf, 128, fmt, n);
  return astr(a, buf);
}

static FWP_BYTE_BLOB *ablob(arena *a, const void *data, UINT32 size) {
  FWP_BYTE_BLOB *b = aalloc(a, sizeof *b);
  b->size = size;
  b->data = aalloc(a, size);
  memcpy(b->data, data, size);
  return b;
}

static GUID *aguid(arena *a, const GUID *g) {
  GUID *p = aalloc(a, sizeof *p);
  *p = *g;
  return p;
}

static void make_filter(arena *a, FWPM_FILTER0 *f, UINT32 i) {
  f->filterId = 70000 + i;
  f->filterKey.Data1 = 0xf1170000 + i;
  f->filterKey.Data2 = 0xfa4e;
  UINT64 *ew = aalloc(a, sizeof *ew);
  *ew = 0x8000000000000000ULL + i;
  f->effectiveWeight.type = FWP_UINT64;
  f->effectiveWeight.uint64 = ew;
  FWPM_FILTER_CONDITION0 *c = aalloc(a, 4 * sizeof *c);
  f->filterCondition = c;
  switch (i % 4) {
  case 0: {
    f->displayData.name = astrf(a, L"Remote Desktop - User Mode (TCP-In) #%u", i);
    f->providerKey = aguid(a, &provider_wf);
    f->subLayerKey = sublayer_wf;
    f->layerKey = ale_layers[2].key;
    f->action.type = FWP_ACTION_PERMIT;
    f->flags = 0x41; /* PERSISTENT | INDEXED */
    c[0].fieldKey = cond_local_port; c[0].matchType = FWP_MATCH_EQUAL;
    c[0].conditionValue.type = FWP_UINT16; c[0].conditionValue.uint16 = 3389;
    c[1].fieldKey = cond_protocol; c[1].matchType = FWP_MATCH_EQUAL;
    c[1].conditionValue.type = FWP_UINT8; c[1].conditionValue.uint8 = 6;
    static const wchar_t app[] = L"\\device\\harddiskvolume3\\windows\\system32\\svchost.exe";
    c[2].fieldKey = cond_app_id; c[2].matchType = FWP_MATCH_EQUAL;
    c[2].conditionValue.type = FWP_BYTE_BLOB_TYPE; c[2].conditionValue.byteBlob = ablob(a, app, sizeof app);
    PSECURITY_DESCRIPTOR sd = NULL;
    ULONG sdlen = 0;
    c[3].fieldKey = cond_user_id; c[3].matchType = FWP_MATCH_EQUAL;
    c[3].conditionValue.type = FWP_SECURITY_DESCRIPTOR_TYPE;
    if (ConvertStringSecurityDescriptorToSecurityDescriptorW(L"O:SYG:SYD:(A;;CCRC;;;S-1-5-80-3055155277-3816794035-3994065555-2874236192-2193176987)", 1, &sd, &sdlen)) {
      c[3].conditionValue.sd = ablob(a, sd, sdlen);
      LocalFree(sd);
    }
    f->numFilterConditions = 4;
    break;
  }
  case 1: {
    f->displayData.name = astrf(a, L"Block outbound to 10/8 #%u", i);
    f->displayData.description = astr(a, L"a firewall rule of the fake");
    f->providerKey = aguid(a, &provider_wf);
    f->subLayerKey = sublayer_wf;
    f->layerKey = ale_layers[4].key;
    f->action.type = FWP_ACTION_BLOCK;
    c[0].fieldKey = cond_remote_addr; c[0].matchType = FWP_MATCH_EQUAL;
    c[0].conditionValue.type = FWP_V4_ADDR_MASK;
    FWP_V4_ADDR_AND_MASK *m = aalloc(a, sizeof *m);
    m->addr = 0x0a000000; m->mask = 0xff000000;
    c[0].conditionValue.v4AddrMask = m;
    FWP_RANGE0 *r = aalloc(a, sizeof *r);
    r->valueLow.type = FWP_UINT16; r->valueLow.uint16 = 0;
    r->valueHigh.type = FWP_UINT16; r->valueHigh.uint16 = 1024;
    c[1].fieldKey = cond_remote_port; c[1].matchType = FWP_MATCH_RANGE;
    c[1].conditionValue.type = FWP_RANGE_TYPE; c[1].conditionValue.rangeValue = r;
    PSID sid = NULL;
    c[2].fieldKey = cond_user_id; c[2].matchType = FWP_MATCH_EQUAL;
    c[2].conditionValue.type = FWP_SID;
    if (ConvertStringSidToSidW(L"S-1-5-18", &sid)) {
      DWORD n = GetLengthSid(sid);
      SID *copy = aalloc(a, n);
      CopySid(n, copy, sid);
      c[2].conditionValue.sid = copy;
      LocalFree(sid);
    }
    f->numFilterConditions = 3;
    break;
  }
  case 2: {
    f->displayData.name = astrf(a, L"Beispiel VPN block IPv6 #%u", i);
    f->providerKey = aguid(a, &provider_vpn);
    f->subLayerKey = sublayer_vpn;
    f->layerKey = ale_layers[5].key;
    f->action.type = FWP_ACTION_BLOCK;
    f->weight.type = FWP_UINT8;
    f->weight.uint8 = 15;
    FWP_BYTE_ARRAY16 *b = aalloc(a, sizeof *b);
    b->byteArray16[0] = 0xfe; b->byteArray16[1] = 0x80; b->byteArray16[15] = 1;
    c[0].fieldKey = cond_remote_addr; c[0].matchType = FWP_MATCH_NOT_EQUAL;
    c[0].conditionValue.type = FWP_BYTE_ARRAY16_TYPE; c[0].conditionValue.byteArray16 = b;
    FWP_V6_ADDR_AND_MASK *m = aalloc(a, sizeof *m);
    m->addr[0] = 0xfe; m->addr[1] = 0x80; m->prefixLength = 10;
    c[1].fieldKey = cond_remote_addr; c[1].matchType = FWP_MATCH_EQUAL;
    c[1].conditionValue.type = FWP_V6_ADDR_MASK; c[1].conditionValue.v6AddrMask = m;
    f->numFilterConditions = 2;
    break;
  }
  default:
    f->displayData.name = astrf(a, L"Beispiel VPN inspect #%u", i);
    f->providerKey = aguid(a, &provider_vpn);
    f->subLayerKey = sublayer_vpn;
    f->layerKey = ale_layers[4].key;
    f->action.type = FWP_ACTION_CALLOUT_INSPECTION;
    f->action.calloutKey = callout_vpn;
    f->numFilterConditions = 0;
    f->filterCondition = NULL;
    break;
  }
}

static DWORD state_enum(HANDLE e, HANDLE h, UINT32 want, void ***entries, UINT32 *got, int kind) {
  CHECK_ENGINE(e);
  state_h *s = h;
  if (!s || s->kind != kind || !entries || !got) return ERROR_INVALID_PARAMETER;
  *entries = NULL;
  *got = 0;
  if (kind == K_FILTER && enum_fail && s->pages == 1) {
    DWORD st = enum_fail;
    enum_fail = 0;
    return st;
  }
  s->pages++;
  if (want > 1024) want = 1024;
  size_t cap = 64 + (size_t)want * 2048;
  arena a = {malloc(cap), 0, cap};
  void **arr = aalloc(&a, sizeof(void *) * (want ? want : 1));
  UINT32 extra[MAX_FILTERS], nextra = 0;
  if (kind == K_FILTER) {
    EnterCriticalSection(&lock);
    for (int i = 0; i < MAX_FILTERS; i++)
      if (filters[i].id) extra[nextra++] = i;
    LeaveCriticalSection(&lock);
  }
  UINT32 total = kind == K_PROVIDER ? 2 : kind == K_SUBLAYER ? 2 : kind == K_LAYER ? N_ALE_LAYERS : kind == K_CALLOUT ? 1 : state_filters + nextra;
  while (*got < want && s->pos < total) {
    UINT32 i = s->pos++;
    switch (kind) {
    case K_PROVIDER: {
      FWPM_PROVIDER0 *p = aalloc(&a, sizeof *p);
      p->providerKey = i == 0 ? provider_wf : provider_vpn;
      p->displayData.name = astr(&a, i == 0 ? L"Microsoft Windows WFP Built-in MPSSVC Windows Firewall provider" : L"Beispiel VPN");
      p->flags = i == 0 ? 0x1 : 0;
      if (i == 1) p->serviceName = astr(&a, L"BeispielVpnSvc");
      arr[(*got)++] = p;
      break;
    }
    case K_SUBLAYER: {
      FWPM_SUBLAYER0 *l = aalloc(&a, sizeof *l);
      l->subLayerKey = i == 0 ? sublayer_wf : sublayer_vpn;
      l->displayData.name = astr(&a, i == 0 ? L"WFP Built-in MPSSVC Windows Firewall sublayer" : L"Beispiel VPN sublayer");
      l->providerKey = aguid(&a, i == 0 ? &provider_wf : &provider_vpn);
      l->weight = i == 0 ? 0x1000 : 0xFFF0;
      l->flags = 1;
      arr[(*got)++] = l;
      break;
    }
    case K_LAYER: {
      FWPM_LAYER0 *l = aalloc(&a, sizeof *l);
      l->layerKey = ale_layers[i].key;
      l->layerId = ale_layers[i].id;
      l->displayData.name = astr(&a, ale_layer_names[i]);
      l->flags = 0x3; /* KERNEL | BUILTIN */
      arr[(*got)++] = l;
      break;
    }
    case K_CALLOUT: {
      FWPM_CALLOUT0 *c = aalloc(&a, sizeof *c);
      c->calloutKey = callout_vpn;
      c->displayData.name = astr(&a, L"Beispiel VPN inspection callout");
      c->providerKey = aguid(&a, &provider_vpn);
      c->applicableLayer = ale_layers[4].key;
      c->calloutId = 321;
      c->flags = 0x40000; /* REGISTERED */
      arr[(*got)++] = c;
      break;
    }
    default: {
      FWPM_FILTER0 *f = aalloc(&a, sizeof *f);
      if (!f) { s->pos--; goto full; }
      if (i < state_filters) {
        make_filter(&a, f, i);
      } else {
        int k = extra[i - state_filters];
        EnterCriticalSection(&lock);
        f->filterId = filters[k].id;
        f->layerKey = filters[k].layer;
        f->flags = filters[k].flags;
        f->displayData.name = astr(&a, filters[k].name);
        LeaveCriticalSection(&lock);
        f->action.type = FWP_ACTION_BLOCK;
      }
      arr[(*got)++] = f;
    }
    }
  }
full:
  record("stateenum kind=%d want=%u got=%u", kind, want, *got);
  track_page(a.base);
  *entries = (void **)a.base; /* arr is the first allocation: base */
  (void)arr;
  return 0;
}

#define STATE_EXPORTS(Name, KIND, T)                                                                                   \
  EXPORT DWORD WINAPI Fwpm##Name##CreateEnumHandle0(HANDLE e, const T##_ENUM_TEMPLATE0 *tmpl, HANDLE *h) {             \
    (void)tmpl;                                                                                                        \
    return state_create(e, KIND, h);                                                                                   \
  }                                                                                                                    \
  EXPORT DWORD WINAPI Fwpm##Name##Enum0(HANDLE e, HANDLE h, UINT32 n, T##0 ***x, UINT32 *g) {                          \
    return state_enum(e, h, n, (void ***)x, g, KIND);                                                                  \
  }                                                                                                                    \
  EXPORT DWORD WINAPI Fwpm##Name##DestroyEnumHandle0(HANDLE e, HANDLE h) { return state_destroy(e, h); }

STATE_EXPORTS(Provider, K_PROVIDER, FWPM_PROVIDER)
STATE_EXPORTS(SubLayer, K_SUBLAYER, FWPM_SUBLAYER)
STATE_EXPORTS(Layer, K_LAYER, FWPM_LAYER)
STATE_EXPORTS(Callout, K_CALLOUT, FWPM_CALLOUT)
STATE_EXPORTS(Filter, K_FILTER, FWPM_FILTER)

EXPORT void WINAPI FakeFwpOutstanding(UINT32 *handles, UINT32 *pages) {
  UINT32 n = 0;
  EnterCriticalSection(&lock);
  for (int i = 0; i < MAX_PAGES; i++)
    if (live_pages[i]) n++;
  LeaveCriticalSection(&lock);
  *handles = (UINT32)live_enum_handles;
  *pages = n;
}

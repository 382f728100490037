package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// hostPolicy is an in-memory audit policy standing in for the host's.
type hostPolicy struct {
	m      map[audit.GUID]audit.Setting
	legacy bool
	writes int
}

func (h *hostPolicy) Query(g []audit.GUID) ([]audit.Setting, error) {
	out := make([]audit.Setting, len(g))
	for i := range g {
		out[i] = h.m[g[i]]
	}
	return out, nil
}

func (h *hostPolicy) Set(g []audit.GUID, s []audit.Setting) error {
	for i := range g {
		if s[i] == 0 {
			return errors.New("wrote 0")
		}
		h.m[g[i]] = s[i].Audited()
		h.writes++
	}
	return nil
}

func (h *hostPolicy) LegacyMayOverride() (bool, error) { return h.legacy, nil }

// fakeHost replaces the audit and event-log bindings for one test.
func fakeHost(t *testing.T, conn, drop audit.Setting, alive map[int]bool) *hostPolicy {
	h := &hostPolicy{m: map[audit.GUID]audit.Setting{audit.Connection: conn, audit.PacketDrop: drop}}
	oldSys, oldAlive, oldSelf, oldSub, oldNet := auditSystem, auditAlive, auditSelf, evtSubscribe, netStream
	t.Cleanup(func() {
		auditSystem, auditAlive, auditSelf, evtSubscribe, netStream = oldSys, oldAlive, oldSelf, oldSub, oldNet
	})
	// History goes to a throw-away default database, never the user's.
	dataDir := wbtest.TempDir(t)
	t.Setenv("XDG_DATA_HOME", dataDir)
	t.Setenv("ProgramData", dataDir)
	t.Setenv("XDG_CACHE_HOME", dataDir) // the state directory elsewhere than Windows
	// No net events unless a test scripts them.
	netStream = func(ctx context.Context, cfg netevent.Config, emit func(*event.Event)) error { return nil }
	auditSystem = func() (audit.Policy, error) { return h, nil }
	auditAlive = func(o audit.Owner) bool { return alive[o.PID] }
	auditSelf = func(cmd string) audit.Owner {
		return audit.Owner{Command: cmd, PID: 7000, Started: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	}
	return h
}

// feedFixture makes evtSubscribe deliver the records of the XML fixture,
// checking the options watch passes, then return as if Ctrl+C was pressed.
func feedFixture(t *testing.T, h *hostPolicy, check func(evtlog.Options)) {
	evtSubscribe = func(ctx context.Context, opt evtlog.Options, fn evtlog.Handler) (evtlog.Stats, error) {
		if check != nil {
			check(opt)
		}
		// While watching, the policy must be on.
		if h.m[audit.Connection]&audit.Failure == 0 {
			t.Error("subscribed before the audit policy was on")
		}
		f, err := os.Open(fixture)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var st evtlog.Stats
		var recs []evtlog.Record
		evtlog.ReadXML(f, func(r *evtlog.Record, off int64) error {
			c := *r
			c.Data = append([]evtlog.Field(nil), r.Data...)
			recs = append(recs, c)
			return nil
		}, func(int64, error) {})
		opt.OnGap(evtlog.Gap{After: 10, Next: 20, Missing: 9, Known: true, Reason: "test gap"})
		if err := fn(recs); err != nil {
			return st, err
		}
		st.Events = uint64(len(recs))
		st.Gaps = 1
		return st, nil
	}
}

func TestWatchChangesAndRestoresPolicy(t *testing.T) {
	displayLocation = time.UTC
	h := fakeHost(t, audit.Success, 0, map[int]bool{7000: true})
	h.legacy = true
	feedFixture(t, h, func(opt evtlog.Options) {
		if !strings.Contains(opt.Query, "EventID>=5150 and EventID<=5153") || opt.Since != 10*time.Minute || opt.Render != evtlog.RenderValues {
			t.Errorf("options %+v", opt)
		}
	})
	state := filepath.Join(wbtest.TempDir(t), "snap.json")
	var out, errb bytes.Buffer
	err := runWatch(context.Background(), []string{"--state", state, "--packets", "--since", "10m", "--format", "json"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	msgs := errb.String()
	for _, want := range []string{
		"audit policy changed: Filtering Platform Connection Success → Success and Failure; Filtering Platform Packet Drop No Auditing → Failure; it will be put back when watch exits",
		"SCENoApplyLegacyAuditPolicy is not set",
		"for blocks, drops from the last 10m",
		"gap in the Security log: test gap",
		"audit policy restored: Filtering Platform Connection back to Success; Filtering Platform Packet Drop back to No Auditing",
	} {
		if !strings.Contains(msgs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msgs)
		}
	}
	if h.m[audit.Connection] != audit.Success || h.m[audit.PacketDrop] != 0 {
		t.Errorf("policy not restored: %v", h.m)
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("snapshot left behind")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("events shown:\n%s", out.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		if m["event"].(map[string]any)["code"] == float64(4624) {
			t.Error("a non-WFP event was shown")
		}
	}
}

func TestWatchRepairsCrashLeftover(t *testing.T) {
	h := fakeHost(t, 0, 0, map[int]bool{7000: true})
	state := filepath.Join(wbtest.TempDir(t), "snap.json")
	// A watch with pid 6000 enabled the policy and crashed.
	crashed := &audit.Manager{Policy: h, State: state, Self: audit.Owner{Command: "watch", PID: 6000}, Alive: func(audit.Owner) bool { return true }}
	if _, err := crashed.Begin(audit.WantFor(true, true)); err != nil {
		t.Fatal(err)
	}
	feedFixture(t, h, nil)
	var out, errb bytes.Buffer
	if err := runWatch(context.Background(), []string{"--state", state, "--recheck", "0"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "'wfpwatch watch' (pid 6000) ended without restoring the audit policy; audit policy restored") {
		t.Errorf("crash repair not told:\n%s", errb.String())
	}
	if h.m[audit.Connection] != 0 || h.m[audit.PacketDrop] != 0 {
		t.Errorf("policy %v", h.m)
	}
}

func TestWatchNoAuditAndErrors(t *testing.T) {
	h := fakeHost(t, 0, 0, nil)
	feedFixture(t, h, nil)
	var out, errb bytes.Buffer
	h.m[audit.Connection] = audit.Failure // managed by GPO
	if err := runWatch(context.Background(), []string{"--no-audit"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if h.writes != 0 || strings.Contains(errb.String(), "audit policy changed") {
		t.Errorf("--no-audit touched the policy: %s", errb.String())
	}
	auditSystem = func() (audit.Policy, error) { return nil, audit.ErrNotElevated }
	err := runWatch(context.Background(), nil, &out, &errb)
	if !errors.Is(err, audit.ErrNotElevated) || !strings.Contains(err.Error(), "run as administrator") {
		t.Errorf("not elevated: %v", err)
	}
	auditSystem = func() (audit.Policy, error) { return nil, audit.ErrNeedsWindows }
	err = runWatch(context.Background(), nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "analyze") {
		t.Errorf("needs Windows: %v", err)
	}
	for _, bad := range [][]string{{"--render", "json"}, {"--since", "-1m"}, {"--direction", "up"}, {"extra"}} {
		if err := runWatch(context.Background(), bad, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestAuditCommand(t *testing.T) {
	h := fakeHost(t, audit.Success, 0, map[int]bool{})
	h.legacy = true
	state := filepath.Join(wbtest.TempDir(t), "snap.json")
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := runAudit(context.Background(), append(args, "--state", state), &out, &errb); err != nil {
			t.Fatalf("audit %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	st := run("status")
	for _, want := range []string{"Filtering Platform Connection", "{0CCE9226-69AE-11D9-BED3-505054503030}", "Success", "blocks no, packet drops no, permits yes", "Changed by wfpwatch: no", "SCENoApplyLegacyAuditPolicy"} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	if got := run("enable", "--packets"); !strings.Contains(got, "Success → Success and Failure") || !strings.Contains(got, "audit restore") {
		t.Errorf("enable: %s", got)
	}
	st = run("status")
	if !strings.Contains(st, "lasting until 'wfpwatch audit restore'") || !strings.Contains(st, "blocks yes, packet drops yes") {
		t.Errorf("status after enable:\n%s", st)
	}
	var js struct {
		Subcategories []struct {
			Value   uint32  `json:"value"`
			BeforeV *uint32 `json:"before_wfpwatch_value"`
		} `json:"subcategories"`
		ChangedBy string `json:"changed_by"`
	}
	if err := json.Unmarshal([]byte(run("status", "--format", "json")), &js); err != nil || js.Subcategories[0].Value != 3 || *js.Subcategories[0].BeforeV != 1 || js.ChangedBy == "" {
		t.Errorf("json status %+v %v", js, err)
	}
	if got := run("disable"); !strings.Contains(got, "→ No Auditing") {
		t.Errorf("disable: %s", got)
	}
	if got := run("restore"); !strings.Contains(got, "Connection back to Success") {
		t.Errorf("restore: %s", got)
	}
	if h.m[audit.Connection] != audit.Success || h.m[audit.PacketDrop] != 0 {
		t.Errorf("after restore %v", h.m)
	}
	if got := run("restore"); !strings.Contains(got, "nothing to restore") {
		t.Errorf("second restore: %s", got)
	}
	var out, errb bytes.Buffer
	for _, bad := range [][]string{{}, {"bogus"}, {"enable", "x"}, {"status", "--packets"}} {
		if err := runAudit(context.Background(), bad, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestAuditRestoreRefusesRunningWatch(t *testing.T) {
	h := fakeHost(t, 0, 0, map[int]bool{6000: true})
	state := filepath.Join(wbtest.TempDir(t), "snap.json")
	w := &audit.Manager{Policy: h, State: state, Self: audit.Owner{Command: "watch", PID: 6000}, Alive: func(audit.Owner) bool { return true }}
	if _, err := w.Begin(audit.WantFor(false, false)); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := runAudit(context.Background(), []string{"restore", "--state", state}, &out, &errb)
	if !errors.Is(err, audit.ErrOwnerRunning) {
		t.Fatalf("restore while a watch runs: %v", err)
	}
	if err := runAudit(context.Background(), []string{"enable", "--state", state}, &out, &errb); !errors.Is(err, audit.ErrOwnerRunning) {
		t.Fatalf("enable while a watch runs: %v", err)
	}
	if err := runAudit(context.Background(), []string{"restore", "--force", "--state", state}, &out, &errb); err != nil || h.m[audit.Connection] != 0 {
		t.Fatalf("forced restore: %v %v", err, h.m)
	}
}

// netEventLike returns a net event for the block of fixture record 1010
// (agent.exe, 192.0.2.10:50123 → 198.51.100.80:443/tcp, filter 92001 at
// ALE_AUTH_CONNECT_V4).
func netEventLike1010() event.Event {
	e := event.Event{
		Time: time.Date(2026, 3, 2, 9, 15, 10, 250_000_000, time.UTC), Sources: event.SourceNetevent,
		NetEventType: event.NetEventClassifyDrop, HasProtocol: true, Protocol: 6,
		LocalIP: netip.MustParseAddr("192.0.2.10"), LocalPort: 50123, HasLocalPort: true,
		RemoteIP: netip.MustParseAddr("198.51.100.80"), RemotePort: 443, HasRemotePort: true,
		HasFilterID: true, FilterID: 92001, HasLayerID: true, LayerID: 48, LayerName: "ALE_AUTH_CONNECT_V4",
		FilterName: "Block agent", Direction: event.DirectionOutbound, ICMPType: -1, ICMPCode: -1,
		UserID: "S-1-5-21-1-2-3-1001",
	}
	event.Classify(&e)
	return e
}

func TestWatchMergesBothSources(t *testing.T) {
	h := fakeHost(t, audit.Failure, audit.Failure, nil)
	feedFixture(t, h, nil)
	netStream = func(ctx context.Context, cfg netevent.Config, emit func(*event.Event)) error {
		e := netEventLike1010()
		emit(&e)
		return nil
	}
	var out, errb bytes.Buffer
	if err := runWatch(context.Background(), []string{"--format", "json", "--packets"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 11 {
		t.Errorf("%d events, want the fixture's 11 blocks and drops (the net event merged into one)\n%s", len(lines), out.String())
	}
	var merged string
	for _, l := range lines {
		if strings.Contains(l, `"record_id":1010`) {
			merged = l
		}
	}
	for _, want := range []string{`"source":["evtlog","netevent"]`, `"net_event_type":"CLASSIFY_DROP"`, `"pid":2212`, `"id":"S-1-5-21-1-2-3-1001"`} {
		if !strings.Contains(merged, want) {
			t.Errorf("merged event lacks %s: %s", want, merged)
		}
	}
	if !strings.Contains(errb.String(), "1 seen by both sources") {
		t.Errorf("summary: %s", errb.String())
	}
}

func TestWatchNetEventsOnly(t *testing.T) {
	h := fakeHost(t, 0, 0, nil)
	evtSubscribe = func(context.Context, evtlog.Options, evtlog.Handler) (evtlog.Stats, error) {
		t.Error("the Security log was subscribed with --source netevent")
		return evtlog.Stats{}, nil
	}
	netStream = func(ctx context.Context, cfg netevent.Config, emit func(*event.Event)) error {
		if !cfg.Filter.HasProtocol || cfg.Filter.Protocol != 6 || cfg.Filter.RemoteAddr.String() != "198.51.100.80" {
			t.Errorf("filter not passed down: %+v", cfg.Filter)
		}
		e := netEventLike1010()
		emit(&e)
		return nil
	}
	var out, errb bytes.Buffer
	if err := runWatch(context.Background(), []string{"--source", "netevent", "--format", "json", "--protocol", "tcp", "--remote", "198.51.100.80"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if h.writes != 0 {
		t.Error("--source netevent changed the audit policy")
	}
	if n := strings.Count(out.String(), "\n"); n != 1 || !strings.Contains(out.String(), `"source":["netevent"]`) {
		t.Errorf("output: %s", out.String())
	}
}

// TestSelftestEvtlog checks the self-test's Security-log source: policy on
// while it runs, events handed on, policy back exactly when it ends.
func TestSelftestEvtlog(t *testing.T) {
	h := fakeHost(t, 0, audit.Success, nil)
	t.Setenv("XDG_CACHE_HOME", wbtest.TempDir(t)) // the default state file lives there
	t.Setenv("LOCALAPPDATA", wbtest.TempDir(t))
	feedFixture(t, h, func(o evtlog.Options) {
		if o.Since <= 0 {
			t.Error("no history: a trigger fired before the subscription would be missed")
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var msgs []string
	ch, done, err := startSelftestEvtlog(ctx, func(f string, a ...any) { msgs = append(msgs, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e := range ch {
		if e.Sources != event.SourceEvtlog {
			t.Errorf("source %v", e.Sources)
		}
		n++
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no events handed on")
	}
	if h.m[audit.Connection] != 0 || h.m[audit.PacketDrop] != audit.Success {
		t.Errorf("policy not restored: %v; messages %q", h.m, msgs)
	}
}

// TestWatchFlowUpdates: watch shows a flow's first sight at once and, when
// its window ends, an update line with the events since, so that the
// counts of all its lines add up to the events seen.
func TestWatchFlowUpdates(t *testing.T) {
	fakeHost(t, 0, 0, nil)
	netStream = func(ctx context.Context, cfg netevent.Config, emit func(*event.Event)) error {
		for i := range 3 {
			e := netEventLike1010()
			e.Time = e.Time.Add(time.Duration(i) * time.Second)
			e.RemotePort++ // the client's port: the same flow
			emit(&e)
		}
		return nil
	}
	var out, errb bytes.Buffer
	if err := runWatch(context.Background(), []string{"--source", "netevent", "--format", "json", "--packets", "--no-db"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want the first sight and one update:\n%s", len(lines), out.String())
	}
	type line struct {
		Event struct{ Count int } `json:"event"`
		WFP   struct {
			Flow struct {
				ID     int
				Update bool
				Total  int
			} `json:"flow"`
		} `json:"wfp"`
	}
	var first, upd line
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &upd)
	if first.Event.Count != 1 || first.WFP.Flow.Update || first.WFP.Flow.ID != 1 {
		t.Errorf("first sight: %s", lines[0])
	}
	if upd.Event.Count != 2 || !upd.WFP.Flow.Update || upd.WFP.Flow.Total != 3 || upd.WFP.Flow.ID != 1 {
		t.Errorf("update: %s", lines[1])
	}
}

package web

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

// testNow is the clock of the test servers: the seeded events lie in the
// 24 hours before it.
var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var testApps = []string{
	`\device\harddiskvolume3\windows\system32\svchost.exe`,
	`\device\harddiskvolume3\program files\google\chrome\application\chrome.exe`,
	`\device\harddiskvolume3\windows\system32\lsass.exe`,
	"System",
	`\device\harddiskvolume3\users\o'brien\app‘x’.exe`,
}

// genEvent fills e with a plausible event at t drawn from r.
func genEvent(r *rand.Rand, e *event.Event, t time.Time) {
	*e = event.Event{ICMPType: -1, ICMPCode: -1, Time: t, Sources: event.SourceEvtlog, Host: []string{"WS-01", "WS-02"}[r.IntN(2)]}
	e.Code = []int{5157, 5152, 5031, 5159}[r.IntN(4)]
	e.Kind = event.AuditIDs[e.Code].Kind
	e.Verdict = []event.Verdict{event.VerdictBlock, event.VerdictDrop}[r.IntN(2)]
	e.Reason = []string{"rule", "default:stealth", "discard", "unresolved"}[r.IntN(4)]
	e.Direction = []event.Direction{event.DirectionInbound, event.DirectionOutbound}[r.IntN(2)]
	e.Protocol, e.HasProtocol = []uint8{6, 17}[r.IntN(2)], true
	e.LocalIP = netip.AddrFrom4([4]byte{192, 168, 1, 10})
	e.LocalPort, e.HasLocalPort = uint16(r.IntN(3)+440), true
	e.RemoteIP = netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(50))})
	e.RemotePort, e.HasRemotePort = uint16([]int{53, 80, 443, 3389}[r.IntN(4)]), true
	e.PID, e.HasPID = uint32(r.IntN(5000)), true
	if a := testApps[r.IntN(len(testApps))]; a == "System" {
		e.Name = a
	} else {
		e.SetExecutable(a)
	}
	if e.Reason == "rule" {
		e.FilterOrigin = "{RULE-" + fmt.Sprint(r.IntN(5)) + "}"
		e.RuleID = e.FilterOrigin
		e.RuleName = "Block <script>alert(1)</script> " + fmt.Sprint(r.IntN(5))
	}
	e.FilterID, e.HasFilterID = uint64(r.IntN(1000)), true
	e.LayerID, e.HasLayerID = 44, true
	e.LayerName = "ALE_AUTH_CONNECT_V4"
	e.RecordID = r.Uint64N(1 << 40)
}

// seed writes n events spread over the 24 hours before testNow to a new
// database and returns it open for reading and writing.
func seed(t testing.TB, n int) (*store.DB, []event.Event) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "h.db"), store.Options{MaxAge: -1, MaxBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := rand.New(rand.NewPCG(1, 2))
	evs := make([]event.Event, n)
	start := testNow.Add(-24 * time.Hour)
	for i := range evs {
		genEvent(r, &evs[i], start.Add(time.Duration(i)*24*time.Hour/time.Duration(n)))
	}
	write(t, db, evs)
	return db, evs
}

func write(t testing.TB, db *store.DB, evs []event.Event) {
	t.Helper()
	w := db.NewWriter(store.WriterOptions{PruneInterval: -1})
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// newTestServer returns a server over db with opt's other fields.
func newTestServer(t testing.TB, db *store.DB, opt Options) *Server {
	t.Helper()
	opt.DB = db
	if opt.Now == nil {
		opt.Now = func() time.Time { return testNow }
	}
	if opt.LivePoll == 0 {
		opt.LivePoll = 50 * time.Millisecond
	}
	if opt.StatusDir == "" {
		opt.StatusDir = "-" // never the machine's own status directory
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get runs one GET through the whole handler (Host 127.0.0.1).
func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Host = "127.0.0.1:8089"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }

// testWriter sends a server's log to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

package store

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

var base = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

var apps = []string{
	`\device\harddiskvolume3\windows\system32\svchost.exe`,
	`\device\harddiskvolume3\program files\google\chrome\application\chrome.exe`,
	`\device\harddiskvolume3\windows\system32\lsass.exe`,
	`\device\harddiskvolume3\users\bob\appdata\local\app\updater.exe`,
	`System`,
}

// genEvent fills e with a plausible event number i at time t, drawn from r.
func genEvent(r *rand.Rand, e *event.Event, t time.Time) {
	*e = event.Event{ICMPType: -1, ICMPCode: -1, Time: t, Sources: event.SourceFile, Host: "WS-01"}
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
	a := apps[r.IntN(len(apps))]
	if a == "System" {
		e.Name = a
	} else {
		e.SetExecutable(a)
	}
	if r.IntN(3) == 0 {
		e.FilterOrigin = "{RULE-" + fmt.Sprint(r.IntN(5)) + "}"
		e.RuleID = e.FilterOrigin
	}
	e.FilterID, e.HasFilterID = uint64(r.IntN(100000)), true
	e.LayerID, e.HasLayerID = 44, true
	e.LayerName = "ALE_AUTH_CONNECT_V4"
	e.RecordID = r.Uint64N(1 << 40)
	e.FilePath = "Security.evtx"
}

func openTemp(t testing.TB, opt Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "h.db")
	db, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func writeAll(t testing.TB, db *DB, evs []event.Event) {
	t.Helper()
	w := db.NewWriter(WriterOptions{BatchSize: 100, PruneInterval: -1})
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func collect(t testing.TB, db *DB, f Filter, limit int) []event.Event {
	t.Helper()
	var out []event.Event
	err := db.Events(context.Background(), f, limit, func(e *event.Event) error {
		c := *e
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	db, _ := openTemp(t, Options{})
	full := event.Event{
		Time: base.Add(1234567 * time.Nanosecond), Sources: event.SourceEvtlog | event.SourceNetevent,
		Code: 5157, RecordID: 99, Host: "host", Verdict: event.VerdictBlock, Kind: event.KindConnection,
		Reason: "rule", Direction: event.DirectionInbound, Protocol: 58, HasProtocol: true,
		LocalIP: netip.MustParseAddr("fe80::1"), LocalPort: 0, HasLocalPort: true,
		RemoteIP: netip.MustParseAddr("2001:db8::2"), RemotePort: 65535, HasRemotePort: true,
		ICMPType: 0, ICMPCode: 3, PID: 0, HasPID: true, Services: []string{"Dnscache", "W32Time"},
		UserID: "S-1-5-18", UserName: `NT AUTHORITY\SYSTEM`, RemoteUserID: "S-1-0-0", RemoteMachineID: "S-1-0-0",
		PackageSID: "S-1-15-2-1", InterfaceIndex: 7, HasInterfaceIndex: true, Profiles: "Domain, Private",
		FilterID: 0, HasFilterID: true, FilterName: "Block all", FilterProvider: "Microsoft",
		LayerID: 44, HasLayerID: true, LayerName: "Receive/Accept", FilterOrigin: "{ABC}", RuleID: "{ABC}",
		RuleName: "My rule", NetEventType: "CLASSIFY_DROP", TCPFlags: "AS", Size: 1500,
		Info: "free\x00form", FilePath: `C:\logs\Security.evtx`,
		Orient:   event.Orientation{Order: event.OrderLocalFirst, By: event.EvidenceMulticast, Host: true, Service: event.EndLocal},
		Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH", Capabilities: "internetClient,privateNetworkClientServer",
	}
	full.SetExecutable(`\device\harddiskvolume3\x\y.exe`)
	minimal := event.Event{ICMPType: -1, ICMPCode: -1}
	nameOnly := event.Event{ICMPType: -1, ICMPCode: -1, Time: base, Name: "System"}
	mapped := event.Event{ICMPType: -1, ICMPCode: -1, Time: base, RemoteIP: netip.MustParseAddr("::ffff:1.2.3.4")}
	writeAll(t, db, []event.Event{full, minimal, nameOnly, mapped})
	got := collect(t, db, Filter{}, 0)
	if len(got) != 4 {
		t.Fatalf("got %d events", len(got))
	}
	// Sorted by time: minimal (unknown time, stored as 0) first.
	want := []event.Event{minimal, nameOnly, mapped, full}
	want[2].RemoteIP = netip.MustParseAddr("1.2.3.4") // IPv4-mapped is stored as IPv4
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestFilters(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1})
	r := rand.New(rand.NewPCG(1, 2))
	evs := make([]event.Event, 3000)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(i)*time.Second))
	}
	writeAll(t, db, evs)
	match := func(f Filter, pred func(e *event.Event) bool) {
		t.Helper()
		want := 0
		for i := range evs {
			if pred(&evs[i]) {
				want++
			}
		}
		got := collect(t, db, f, 0)
		if len(got) != want || want == 0 {
			t.Errorf("filter %+v: got %d events, want %d (>0)", f, len(got), want)
		}
		for i := range got {
			if !pred(&got[i]) {
				t.Errorf("filter %+v returned a non-matching event %+v", f, got[i])
				break
			}
		}
		n, err := db.Count(context.Background(), f)
		if err != nil || n != int64(want) {
			t.Errorf("Count(%+v) = %d, %v; want %d", f, n, err, want)
		}
	}
	since, until := base.Add(100*time.Second), base.Add(1500*time.Second)
	match(Filter{Since: since, Until: until}, func(e *event.Event) bool { return !e.Time.Before(since) && e.Time.Before(until) })
	// Text matches what the path or name contains; a glob the whole name.
	match(Filter{Apps: []string{"CHROME", "syst?m"}}, func(e *event.Event) bool { return e.Name == "chrome.exe" || e.Name == "System" })
	match(Filter{Apps: []string{"System32"}}, func(e *event.Event) bool { return strings.Contains(e.Executable, `\system32\`) })
	match(Filter{Apps: []string{`*\windows\*`}}, func(e *event.Event) bool { return strings.Contains(e.Executable, `\windows\`) })
	match(Filter{Ports: []uint16{53, 441}}, func(e *event.Event) bool {
		return e.RemotePort == 53 || e.LocalPort == 441
	})
	pfx := netip.MustParsePrefix("10.0.2.0/24")
	match(Filter{Remotes: []netip.Prefix{pfx, netip.MustParsePrefix("10.0.0.7/32")}}, func(e *event.Event) bool {
		return pfx.Contains(e.RemoteIP) || e.RemoteIP == netip.MustParseAddr("10.0.0.7")
	})
	in, _ := DirectionCode("in")
	block, _ := VerdictCode("block")
	match(Filter{Directions: []int64{in}, Verdicts: []int64{block}}, func(e *event.Event) bool {
		return e.Direction == event.DirectionInbound && e.Verdict == event.VerdictBlock
	})
	match(Filter{Reasons: []string{"default:*"}}, func(e *event.Event) bool { return strings.HasPrefix(e.Reason, "default:") })
	match(Filter{Apps: []string{"svchost.exe"}, Ports: []uint16{443}, Since: since}, func(e *event.Event) bool {
		return e.Name == "svchost.exe" && (e.RemotePort == 443 || e.LocalPort == 443) && !e.Time.Before(since)
	})
	if got := collect(t, db, Filter{Apps: []string{"nosuch.exe"}}, 0); len(got) != 0 {
		t.Errorf("unknown app matched %d", len(got))
	}
	// limit gives the newest events, oldest first.
	got := collect(t, db, Filter{}, 5)
	if len(got) != 5 || !got[0].Time.Equal(evs[2995].Time) || !got[4].Time.Equal(evs[2999].Time) {
		t.Errorf("limit 5: got %d events from %v", len(got), got[0].Time)
	}
}

// TestTopMatchesScan checks that the rollup answer (hours, minutes and
// second-precise edges) equals counting the events by hand, for many
// ranges, every dimension and the filters the rollups carry.
func TestTopMatchesScan(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1})
	r := rand.New(rand.NewPCG(3, 4))
	evs := make([]event.Event, 6000)
	for i := range evs {
		// Spread over ~5 hours, out of order, with sub-second times.
		genEvent(r, &evs[i], base.Add(time.Duration(r.Int64N(int64(5*time.Hour)))))
		evs[i].Host = []string{"WS-01", "WS-02.corp.example", "DC01", ""}[i%4]
	}
	writeAll(t, db, evs)
	ranges := [][2]time.Time{
		{},
		{base.Add(17*time.Minute + 3*time.Second + 5), base.Add(3*time.Hour + 41*time.Minute + 59*time.Second)},
		{base.Add(time.Hour), base.Add(3 * time.Hour)},
		{base.Add(90 * time.Second), base.Add(150 * time.Second)},
		{base.Add(90*time.Second + 1), base.Add(100 * time.Second)},
		{base.Add(2*time.Hour + 30*time.Minute), {}},
		{{}, base.Add(2*time.Hour + 30*time.Minute + time.Millisecond)},
		{base.Add(time.Hour), base.Add(time.Hour)},
	}
	drop, _ := VerdictCode("drop")
	out, _ := DirectionCode("out")
	for _, rg := range ranges {
		for _, extra := range []Filter{{}, {Verdicts: []int64{drop}, Directions: []int64{out}, Reasons: []string{"d*"}}, {Directions: []int64{out}}} {
			f := extra
			f.Since, f.Until = rg[0], rg[1]
			for dim := DimApp; dim <= DimHost; dim++ {
				res, err := db.Top(context.Background(), f, dim, 0)
				if err != nil {
					t.Fatal(err)
				}
				if !res.FromRollups && canUseRollups(dim, len(f.Reasons) > 0) {
					t.Errorf("top with %+v did not use the rollups", f)
				}
				want := map[string]int64{}
				for i := range evs {
					e := &evs[i]
					if (!f.Since.IsZero() && e.Time.Before(f.Since)) || (!f.Until.IsZero() && !e.Time.Before(f.Until)) {
						continue
					}
					if len(f.Verdicts) > 0 && e.Verdict != event.VerdictDrop ||
						len(f.Directions) > 0 && e.Direction != event.DirectionOutbound ||
						len(f.Reasons) > 0 && !strings.HasPrefix(e.Reason, "d") {
						continue
					}
					want[dimValue(e, dim)]++
				}
				got := map[string]int64{}
				for _, row := range res.Rows {
					got[row.Value] = row.Count
				}
				if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("top dim %d range %v..%v extra %+v:\n got %v\nwant %v", dim, rg[0], rg[1], extra, got, want)
				}
				// The scanning path agrees too.
				f2 := f
				f2.Apps = []string{"*"}
				res2, err := db.Top(context.Background(), f2, dim, 0)
				if err != nil {
					t.Fatal(err)
				}
				got2 := map[string]int64{}
				for _, row := range res2.Rows {
					got2[row.Value] = row.Count
				}
				// Apps "*" leaves out only the events without an app.
				if res2.FromRollups || res2.Total > res.Total {
					t.Errorf("scan path: rollups %v total %d > %d", res2.FromRollups, res2.Total, res.Total)
				}
			}
		}
	}
	res, err := db.Top(context.Background(), Filter{}, DimApp, 2)
	if err != nil || len(res.Rows) != 2 || res.Total != int64(len(evs)) || res.Rows[0].Count < res.Rows[1].Count {
		t.Errorf("top 2 = %+v, %v", res, err)
	}
}

func TestTopScanPath(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1})
	r := rand.New(rand.NewPCG(5, 6))
	evs := make([]event.Event, 2000)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(i)*time.Second))
	}
	writeAll(t, db, evs)
	res, err := db.Top(context.Background(), Filter{Ports: []uint16{443}}, DimApp, 0)
	if err != nil || res.FromRollups {
		t.Fatal(err, res.FromRollups)
	}
	want := map[string]int64{}
	for i := range evs {
		if evs[i].RemotePort == 443 || evs[i].LocalPort == 443 {
			want[dimValue(&evs[i], DimApp)]++
		}
	}
	got := map[string]int64{}
	for _, row := range res.Rows {
		got[row.Value] = row.Count
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
}

func TestRetentionByAge(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: 2 * time.Hour, MaxBytes: -1})
	var evs []event.Event
	r := rand.New(rand.NewPCG(7, 8))
	for h := range 5 {
		for i := range 100 {
			var e event.Event
			genEvent(r, &e, base.Add(time.Duration(h)*time.Hour+time.Duration(i)*time.Second))
			evs = append(evs, e)
		}
	}
	writeAll(t, db, evs)
	now := base.Add(4*time.Hour + 30*time.Minute) // cut at 2:30 rounds down to 2:00
	st, err := db.Prune(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 200 {
		t.Errorf("pruned %d events, want 200 (hours 0 and 1)", st.Events)
	}
	got := collect(t, db, Filter{}, 0)
	if len(got) != 300 || got[0].Time.Before(base.Add(2*time.Hour)) {
		t.Errorf("kept %d events from %v", len(got), got[0].Time)
	}
	res, err := db.Top(context.Background(), Filter{}, DimApp, 0)
	if err != nil || res.Total != 300 {
		t.Errorf("rollups after pruning count %d, want 300 (%v)", res.Total, err)
	}
	if err := db.Check(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestRetentionBySize(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1, MaxBytes: 1 << 20})
	r := rand.New(rand.NewPCG(9, 10))
	var evs []event.Event
	for h := range 12 {
		for i := range 1500 {
			var e event.Event
			genEvent(r, &e, base.Add(time.Duration(h)*time.Hour+time.Duration(i)*time.Second))
			e.Info = strings.Repeat("x", 100) // make rows big enough to pass 1 MiB
			evs = append(evs, e)
		}
	}
	writeAll(t, db, evs)
	before, _ := db.Size(context.Background())
	if before <= 1<<20 {
		t.Fatalf("test data too small: %d bytes", before)
	}
	st, err := db.Prune(context.Background(), base.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := db.Size(context.Background())
	if after > 1<<20 || st.Hours == 0 {
		t.Errorf("size %d → %d after removing %d hours; cap 1 MiB", before, after, st.Hours)
	}
	got := collect(t, db, Filter{}, 0)
	if len(got) == 0 || !got[len(got)-1].Time.Equal(evs[len(evs)-1].Time) {
		t.Errorf("the newest events must stay; kept %d", len(got))
	}
	if n := int64(len(got)) + st.Events; n != int64(len(evs)) {
		t.Errorf("kept %d + pruned %d != %d", len(got), st.Events, len(evs))
	}
	// The oldest kept event starts an hour: pruning removes whole hours.
	if got[0].Time.Sub(base)%time.Hour != 0 {
		t.Errorf("oldest kept %v is not the start of an hour", got[0].Time)
	}
	var pages, free int64
	db.SQL().QueryRow("SELECT * FROM pragma_page_count(), pragma_freelist_count()").Scan(&pages, &free)
	if free > pages/10 {
		t.Errorf("freed pages not returned to the file system: %d free of %d", free, pages)
	}
}

// oldSchemaDB makes a database at schema version and fills it with evs
// the way a writer of that version did (the nine event columns; no
// rollups: the next Open folds them). It returns the handle, open.
func oldSchemaDB(t *testing.T, path string, version int, evs []event.Event) *sql.DB {
	t.Helper()
	sdb, err := sql.Open("sqlite", path+"?_auto_vacuum=INCREMENTAL&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for v := range version {
		if err := migrateStep(ctx, sdb, v); err != nil {
			t.Fatal(err)
		}
	}
	tx, _ := sdb.Begin()
	d := dictWriter{ids: map[string]int64{}}
	d.insert, _ = sdb.Prepare("INSERT INTO dict(s) VALUES(?) ON CONFLICT(s) DO NOTHING")
	d.lookup, _ = sdb.Prepare("SELECT id FROM dict WHERE s = ?")
	d.begin(ctx, tx)
	ins := "INSERT INTO events(" + eventColumns + ") VALUES(" + strings.TrimSuffix(strings.Repeat("?,", numEventColumns), ",") + ")"
	for i := range evs {
		args, _, err := appendArgs(nil, &evs[i], &d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ins, args[:numEventColumns]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return sdb
}

func TestMigrationFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	ctx := context.Background()
	// Fill version 1 the way a version-1 writer did: events and dictionary only.
	r := rand.New(rand.NewPCG(11, 12))
	evs := make([]event.Event, 700)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(i)*37*time.Second))
	}
	sdb := oldSchemaDB(t, path, 1, evs)
	var v int
	sdb.QueryRow("PRAGMA user_version").Scan(&v)
	sdb.Close()
	if v != 1 {
		t.Fatalf("version %d", v)
	}
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "schema version 1") {
		t.Errorf("read-only open of an old schema: %v", err)
	}
	db, err := Open(path, Options{MaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SQL().QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion {
		t.Errorf("migrated to %d", v)
	}
	res, err := db.Top(ctx, Filter{Since: base.Add(5 * time.Minute)}, DimRule, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for i := range evs {
		if !evs[i].Time.Before(base.Add(5 * time.Minute)) {
			want[dimValue(&evs[i], DimRule)]++
		}
	}
	got := map[string]int64{}
	for _, row := range res.Rows {
		got[row.Value] = row.Count
	}
	if !reflect.DeepEqual(got, want) || !res.FromRollups {
		t.Errorf("backfilled rollups: got %v want %v", got, want)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	db, path := openTemp(t, Options{})
	db.SQL().Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion+1))
	db.Close()
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this wfpwatch") {
		t.Errorf("err = %v", err)
	}
}

func TestConcurrentReader(t *testing.T) {
	db, path := openTemp(t, Options{})
	rdb, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	// Only full batches commit (no timed flush), so a reader that saw part
	// of a batch would see a count that is not a multiple of 500.
	w := db.NewWriter(WriterOptions{BatchSize: 500, FlushInterval: time.Hour, PruneInterval: -1, RollupInterval: 5 * time.Millisecond})
	const total = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	werr := make(chan error, 1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(13, 14))
		var e event.Event
		for i := range total {
			genEvent(r, &e, base.Add(time.Duration(i)*time.Millisecond))
			if err := w.Write(&e); err != nil {
				werr <- err
				return
			}
		}
		werr <- w.Close()
	}()
	defer wg.Wait()
	last := int64(0)
	reads := 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the reader saw %d of %d events after 2 minutes", last, total)
		}
		n, err := rdb.Count(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := rdb.Top(context.Background(), Filter{}, DimApp, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n < last || res.Total < last {
			t.Fatalf("count went back: %d then %d (top total %d)", last, n, res.Total)
		}
		// Batches commit whole: a reader never sees part of one.
		if n%500 != 0 && n != total {
			t.Fatalf("reader saw %d events: part of a batch", n)
		}
		last = n
		reads++
		if n == total {
			break
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if reads < 2 {
		t.Logf("only %d reads overlapped the writer", reads)
	}
}

func TestFlowsRecorded(t *testing.T) {
	db, _ := openTemp(t, Options{})
	w := db.NewWriter(WriterOptions{PruneInterval: -1})
	p := pipeline.New(pipeline.Config{Window: time.Minute})
	p.Events(w)
	p.Flows(w)
	r := rand.New(rand.NewPCG(15, 16))
	var e event.Event
	genEvent(r, &e, base)
	for i := range 10 {
		e.Time = base.Add(time.Duration(i) * time.Second)
		p.Process(&e)
	}
	p.Flush()
	e.Time = base.Add(2 * time.Minute)
	p.Process(&e)
	p.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().Query("SELECT seq, count, first_ts, last_ts FROM flows ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var seq, count, first, last int64
		rows.Scan(&seq, &count, &first, &last)
		got = append(got, fmt.Sprintf("%d:%d:%s", seq, count, time.Duration(last-first)))
	}
	want := []string{"1:10:9s", "2:1:0s"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flows %v, want %v", got, want)
	}
	if n, _ := db.Count(context.Background(), Filter{}); n != 11 {
		t.Errorf("events %d", n)
	}
}

// TestFlowsManyInOneBatch records more flows than one upsert statement
// carries, each reported several times within the same batch (opened,
// updated, closed), and checks every flow's final row.
func TestFlowsManyInOneBatch(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1})
	w := db.NewWriter(WriterOptions{PruneInterval: -1})
	p := pipeline.New(pipeline.Config{Window: time.Minute})
	p.Events(w)
	p.Flows(w)
	r := rand.New(rand.NewPCG(17, 18))
	const flows = 2*rowsPerFlowInsert + 7
	var e event.Event
	for i := range flows {
		genEvent(r, &e, base)
		e.Direction = event.DirectionOutbound
		e.RemoteIP = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		for j := range i%3 + 1 { // flow i folds i%3+1 events
			e.Time = base.Add(time.Duration(j) * time.Second)
			if err := p.Process(&e); err != nil {
				t.Fatal(err)
			}
		}
		p.Flush() // the flow is reported (opened, then updated) in this batch
	}
	p.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().Query("SELECT seq, count, last_ts - first_ts FROM flows ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq, count, span int64
		if err := rows.Scan(&seq, &count, &span); err != nil {
			t.Fatal(err)
		}
		i := seq - 1
		if want := i%3 + 1; count != want || time.Duration(span) != time.Duration(want-1)*time.Second {
			t.Errorf("flow %d: count %d span %v, want %d and %v", seq, count, time.Duration(span), want, time.Duration(want-1)*time.Second)
		}
		n++
	}
	if n != flows {
		t.Errorf("%d flows recorded, want %d", n, flows)
	}
}

func TestDefaultPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	home := func() (string, error) { return "/home/u", nil }
	tests := []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"windows", map[string]string{"ProgramData": `D:\PD`}, `D:\PD\wfpwatch\wfpwatch.db`},
		{"windows", nil, `C:\ProgramData\wfpwatch\wfpwatch.db`},
		{"linux", nil, filepath.Join("/home/u", ".local", "share", "wfpwatch", "wfpwatch.db")},
		{"linux", map[string]string{"XDG_DATA_HOME": "/data"}, filepath.Join("/data", "wfpwatch", "wfpwatch.db")},
		{"linux", map[string]string{"XDG_DATA_HOME": "rel"}, filepath.Join("/home/u", ".local", "share", "wfpwatch", "wfpwatch.db")},
		{"darwin", nil, filepath.Join("/home/u", "Library", "Application Support", "wfpwatch", "wfpwatch.db")},
	}
	for _, tt := range tests {
		if tt.env["XDG_DATA_HOME"] != "" && !filepath.IsAbs("/data") {
			continue // the host (Windows) does not take /data as absolute
		}
		got, err := defaultPath(tt.goos, env(tt.env), home)
		if err != nil || got != tt.want {
			t.Errorf("%s %v: %q, %v; want %q", tt.goos, tt.env, got, err, tt.want)
		}
	}
}

func TestPrefixRange(t *testing.T) {
	lo, hi := prefixRange(netip.MustParsePrefix("10.1.0.0/15"))
	if fmt.Sprint(lo, hi) != "[10 0 0 0] [10 1 255 255]" {
		t.Errorf("got %v %v", lo, hi)
	}
	lo, hi = prefixRange(netip.MustParsePrefix("fe80::/10"))
	if lo[0] != 0xfe || lo[1] != 0x80 || hi[1] != 0xbf || hi[15] != 0xff || len(hi) != 16 {
		t.Errorf("v6 got %x %x", lo, hi)
	}
}

func TestWriterAfterClose(t *testing.T) {
	db, _ := openTemp(t, Options{})
	w := db.NewWriter(WriterOptions{})
	w.Close()
	if err := w.Write(&event.Event{}); err == nil {
		t.Error("write after close accepted")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestTopCountsUnfoldedTail checks that Top counts the events a writer
// committed but has not folded into the rollups yet, exactly once.
func TestTopCountsUnfoldedTail(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1})
	r := rand.New(rand.NewPCG(17, 18))
	evs := make([]event.Event, 3000)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(i)*1500*time.Millisecond))
	}
	writeAll(t, db, evs[:1000]) // folded at Close
	w := db.NewWriter(WriterOptions{BatchSize: 300, RollupInterval: time.Hour, PruneInterval: -1})
	for i := 1000; i < len(evs); i++ {
		w.Write(&evs[i])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	upto, _ := rollupUpto(context.Background(), db.SQL())
	check := func(stage string) {
		for _, f := range []Filter{{}, {Since: base.Add(20*time.Minute + 7*time.Second), Until: base.Add(70 * time.Minute)}} {
			res, err := db.Top(context.Background(), f, DimRemote, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{}
			for i := range evs {
				e := &evs[i]
				if (!f.Since.IsZero() && e.Time.Before(f.Since)) || (!f.Until.IsZero() && !e.Time.Before(f.Until)) {
					continue
				}
				want[dimValue(e, DimRemote)]++
			}
			got := map[string]int64{}
			for _, row := range res.Rows {
				got[row.Value] = row.Count
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, filter %v: got %v\nwant %v", stage, f, got, want)
			}
		}
	}
	check("unfolded tail")
	if upto >= 3000 {
		t.Errorf("rollups already folded to %d: the tail was not exercised", upto)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if upto, _ = rollupUpto(context.Background(), db.SQL()); upto != 3000 {
		t.Errorf("after Close rollups count up to %d, want 3000", upto)
	}
	check("folded")
}

func TestFlagsAndOpenWriter(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := RegisterFlags(fs)
	path := filepath.Join(t.TempDir(), "w.db")
	if err := fs.Parse([]string{"--db", path, "--db-keep", "48h", "--db-max-size", "500 MiB"}); err != nil {
		t.Fatal(err)
	}
	p, err := f.Path(false)
	if err != nil || p != path {
		t.Fatalf("path %q %v", p, err)
	}
	opt, err := f.Options()
	if err != nil || opt.MaxAge != 48*time.Hour || opt.MaxBytes != 500<<20 {
		t.Fatalf("options %+v %v", opt, err)
	}
	w, err := OpenWriter(p, opt, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var e event.Event
	genEvent(rand.New(rand.NewPCG(1, 1)), &e, base)
	w.Write(&e)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.DB().SQL().Ping(); err == nil {
		t.Error("OpenWriter's Close left the database open")
	}
	f2 := &Flags{Keep: 0, MaxSize: "0"}
	if o, err := f2.Options(); err != nil || o.MaxAge != -1 || o.MaxBytes != -1 {
		t.Errorf("no retention: %+v %v", o, err)
	}
	if p, err := (&Flags{}).Path(false); p != "" || err != nil {
		t.Errorf("analyze without --db records to %q", p)
	}
	if p, err := (&Flags{}).Path(true); p == "" || err != nil {
		t.Errorf("watch without --db: %q %v", p, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "2GiB": 2 << 30, "500MB": 500e6, "1.5 kib": 1536, "3 gb": 3e9, "7B": 7} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1", "5 parsecs", "1e30GB", "1.2.3"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

// TestIdleWriterFolds checks that a writer that receives nothing more still
// commits its last events and folds them into the rollups on its own.
func TestIdleWriterFolds(t *testing.T) {
	db, _ := openTemp(t, Options{})
	w := db.NewWriter(WriterOptions{FlushInterval: 20 * time.Millisecond, RollupInterval: 50 * time.Millisecond, PruneInterval: -1})
	defer w.Close()
	r := rand.New(rand.NewPCG(19, 20))
	var e event.Event
	for i := range 10 {
		genEvent(r, &e, base.Add(time.Duration(i)*time.Second))
		w.Write(&e)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		upto, err := rollupUpto(context.Background(), db.SQL())
		if err != nil {
			t.Fatal(err)
		}
		if upto == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the rollups count up to event %d of 10", upto)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRollupSymbolGenerations writes with a symbol table so small that
// nearly every batch starts a new generation: the rollups must still count
// every event under its own values.
func TestRollupSymbolGenerations(t *testing.T) {
	defer func(n int) { maxSyms = n }(maxSyms)
	maxSyms = 50
	db, _ := openTemp(t, Options{MaxAge: -1})
	r := rand.New(rand.NewPCG(11, 12))
	evs := make([]event.Event, 3000)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(r.Int64N(int64(3*time.Hour)))))
	}
	writeAll(t, db, evs)
	for dim := DimApp; dim <= DimHost; dim++ {
		res, err := db.Top(context.Background(), Filter{Since: base.Add(10 * time.Minute)}, dim, 0)
		if err != nil || !res.FromRollups {
			t.Fatal(err, res.FromRollups)
		}
		want := map[string]int64{}
		for i := range evs {
			if !evs[i].Time.Before(base.Add(10 * time.Minute)) {
				want[dimValue(&evs[i], dim)]++
			}
		}
		got := map[string]int64{}
		for _, row := range res.Rows {
			got[row.Value] = row.Count
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dim %d:\n got %v\nwant %v", dim, got, want)
		}
	}
}

// reimportEvents returns events of which every third has no Security-log
// identity (a firewall-log line, identified by its content), and a few
// repeat within the input.
func reimportEvents(n int) []event.Event {
	r := rand.New(rand.NewPCG(21, 22))
	evs := make([]event.Event, n)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(i)*7*time.Second))
		evs[i].RecordID = uint64(1000 + i)
		if i%3 == 2 {
			evs[i].Code, evs[i].Sources, evs[i].Host = 0, event.SourceFwlog, ""
		}
	}
	for i := 10; i < n; i += 97 {
		evs[i] = evs[i-1] // the same record twice in one input
	}
	return evs
}

// identityKey is what the store tells records apart by (recordIdentity),
// without the dictionary.
func identityKey(e *event.Event) string {
	if logIdentity(e) {
		return fmt.Sprintf("%d|%s|%d", tsOf(e.Time), e.Host, e.RecordID)
	}
	fp := e.Fingerprint
	if fp == 0 {
		fp = event.Fingerprint(e, 0)
	}
	return fmt.Sprintf("%d||%d", tsOf(e.Time), fp)
}

// countIdentities returns how many of evs have a Security-log identity,
// how many distinct ones there are, and how many distinct identities evs
// have in all.
func countIdentities(evs []event.Event) (with, distinct, all int) {
	seenLog, seen := map[string]bool{}, map[string]bool{}
	for i := range evs {
		k := identityKey(&evs[i])
		if logIdentity(&evs[i]) {
			with++
			seenLog[k] = true
		}
		seen[k] = true
	}
	return with, len(seenLog), len(seen)
}

// writeSkipped writes evs through a Writer with small batches and returns
// how many it skipped as stored already.
func writeSkipped(t *testing.T, db *DB, evs []event.Event) int64 {
	t.Helper()
	w := db.NewWriter(WriterOptions{BatchSize: 300, PruneInterval: -1})
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Skipped()
}

// checkTopTotal checks that the rollups count exactly the stored events.
func checkTopTotal(t *testing.T, db *DB, want int64) {
	t.Helper()
	ctx := context.Background()
	n, err := db.Count(ctx, Filter{})
	if err != nil || n != want {
		t.Fatalf("stored %d events, want %d (%v)", n, want, err)
	}
	for dim := DimApp; dim <= DimHost; dim++ {
		res, err := db.Top(ctx, Filter{Since: base.Add(time.Minute)}, dim, 0)
		if err != nil || !res.FromRollups {
			t.Fatal(err, res.FromRollups)
		}
		scan, err := db.Count(ctx, Filter{Since: base.Add(time.Minute)})
		if err != nil || res.Total != scan {
			t.Errorf("dim %d: the rollups count %d events, the table %d (%v)", dim, res.Total, scan, err)
		}
	}
}

func TestReimportSkipsStoredRecords(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1})
	evs := reimportEvents(2000)
	_, _, distinct := countIdentities(evs)
	if skipped := writeSkipped(t, db, evs); skipped != int64(len(evs)-distinct) {
		t.Errorf("first import skipped %d, want %d (the repeats within the input)", skipped, len(evs)-distinct)
	}
	checkTopTotal(t, db, int64(distinct))
	// Again: every record is skipped, Security-log records by their record
	// id, firewall-log lines by their fingerprint.
	if skipped := writeSkipped(t, db, evs); skipped != int64(len(evs)) {
		t.Errorf("second import skipped %d, want %d", skipped, len(evs))
	}
	checkTopTotal(t, db, int64(distinct))
	// The same records with another time are other records (a log that
	// was cleared numbers its records again).
	later := slices.Clone(evs[:50])
	for i := range later {
		later[i].Time = later[i].Time.Add(1000 * time.Hour)
	}
	if skipped := writeSkipped(t, db, later); skipped != 1 {
		t.Errorf("records at another time: skipped %d, want 1 (the repeat)", skipped)
	}
}

// TestFingerprintOccurrences: records of the same content that their
// reader told apart (occurrences, lines at other positions) are all kept,
// and kept once.
func TestFingerprintOccurrences(t *testing.T) {
	db, _ := openTemp(t, Options{MaxAge: -1})
	e := event.Event{Time: base, Code: 5152, ICMPType: -1, ICMPCode: -1, Verdict: event.VerdictDrop, Name: "System"}
	fp := event.Fingerprint(&e, 0)
	evs := make([]event.Event, 3)
	for i := range evs {
		evs[i] = e
		evs[i].Fingerprint = event.Occurrence(fp, uint32(i))
	}
	if skipped := writeSkipped(t, db, evs); skipped != 0 {
		t.Errorf("three occurrences: skipped %d", skipped)
	}
	if skipped := writeSkipped(t, db, evs); skipped != 3 {
		t.Errorf("read again: skipped %d, want 3", skipped)
	}
	// Without a fingerprint the store derives the one of occurrence 0.
	e.Fingerprint = 0
	if skipped := writeSkipped(t, db, []event.Event{e}); skipped != 1 {
		t.Errorf("derived fingerprint: skipped %d, want 1", skipped)
	}
	checkTopTotal(t, db, 3)
}

func TestMigrationFromV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	evs := reimportEvents(900)
	with, distinct, all := countIdentities(evs)
	// A version-2 database where the same file was imported twice.
	old := append(slices.Clone(evs), evs...)
	sdb := oldSchemaDB(t, path, 2, old)
	sdb.Close()
	db, err := Open(path, Options{MaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Nothing is lost; one copy of each record gets its identity.
	checkTopTotal(t, db, int64(len(old)))
	var ids int
	if err := db.SQL().QueryRow("SELECT count(*) FROM events WHERE record_id IS NOT NULL").Scan(&ids); err != nil || ids != distinct {
		t.Errorf("%d events have an identity, want %d (%v)", ids, distinct, err)
	}
	// The Security-log records are skipped; the firewall-log lines, which
	// had no identity before, are stored once more (their repeats within
	// the input once).
	skip := with + (len(evs) - with) - (all - distinct)
	if skipped := writeSkipped(t, db, evs); skipped != int64(skip) {
		t.Errorf("import after the migration skipped %d, want %d", skipped, skip)
	}
	checkTopTotal(t, db, int64(len(old)+len(evs)-skip))
	if skipped := writeSkipped(t, db, evs); skipped != int64(len(evs)) {
		t.Errorf("and again: skipped %d, want every one of %d", skipped, len(evs))
	}
}

package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// benchEvents returns n decoded-looking events (a realistic mix: a few
// dozen apps, hundreds of remote hosts, ports, rules) starting at start,
// one every step.
func benchEvents(n int, start time.Time, step time.Duration, seed uint64) []event.Event {
	r := rand.New(rand.NewPCG(seed, seed+1))
	appList := make([]string, 60)
	for i := range appList {
		appList[i] = fmt.Sprintf(`\device\harddiskvolume3\program files\vendor%02d\app%02d.exe`, i/3, i)
	}
	evs := make([]event.Event, n)
	for i := range evs {
		e := &evs[i]
		genEvent(r, e, start.Add(time.Duration(i)*step))
		e.SetExecutable(appList[min(int(r.ExpFloat64()*8), len(appList)-1)])
		e.RemoteIP = netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(16)), byte(r.IntN(32))})
	}
	return evs
}

// BenchmarkIngest measures sustained ingest of decoded events through a
// Writer (copy, batch, dictionary, rollups, multi-row INSERT, commit),
// including the final commit. Goal: >= 100,000 events/s.
func BenchmarkIngest(b *testing.B) {
	// The rule dimension of the rollups keys on the filter when no rule
	// is named, so the number of distinct filters drives the rollup work.
	// A host's blocks come from a handful of filters (a Windows 10 engine
	// holds a few thousand in all); 1000 distinct ids per run is generous.
	// The second case, every event from one of 100000 filters, is a
	// synthetic worst case kept to show the cost of that dimension.
	// The third case is records without a record id (net events, JSON
	// exports without RecordNumber), which the store identifies by a
	// fingerprint of their content that it computes itself.
	for _, c := range []struct {
		name     string
		filters  uint64
		noRecord bool
	}{{"filters=1000", 1000, false}, {"filters=100000-worst-case", 100000, false}, {"filters=1000-no-record-id", 1000, true}} {
		b.Run(c.name, func(b *testing.B) { benchIngest(b, c.filters, c.noRecord) })
	}
}

func benchIngest(b *testing.B, filters uint64, noRecord bool) {
	evs := benchEvents(50_000, base, 10*time.Millisecond, 42)
	for i := range evs {
		evs[i].FilterID %= filters
		if noRecord {
			evs[i].RecordID = 0
		}
	}
	db, _ := openTemp(b, Options{MaxAge: -1, MaxBytes: -1})
	w := db.NewWriter(WriterOptions{PruneInterval: -1})
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		e := &evs[i%len(evs)]
		e.Time = base.Add(time.Duration(i) * 10 * time.Millisecond)
		if err := w.Write(e); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	el, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	if cpu > 0 {
		// The CPU cost per event does not depend on how busy a shared
		// machine is; events/cpu-s is the rate one fully available core
		// would sustain if the work did not overlap (it does: the caller
		// copies and counts while the committer writes).
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
	if sz, err := db.Size(context.Background()); err == nil && b.N > 0 {
		b.ReportMetric(float64(sz)/float64(b.N), "bytes/event")
	}
}

// BenchmarkIngestWithFlows is what analyze --db and watch do: events go
// through the pipeline (suppression, flows) and both the events and the
// flows are recorded. "repeats" is a realistic mix where blocks fold into
// flows; "storm" gives nearly every event a flow of its own (a scan from
// thousands of addresses), the worst case for the flows table.
func BenchmarkIngestWithFlows(b *testing.B) {
	for _, c := range []struct {
		name  string
		storm bool
	}{{"repeats", false}, {"storm", true}} {
		b.Run(c.name, func(b *testing.B) {
			evs := benchEvents(50_000, base, 10*time.Millisecond, 43)
			for i := range evs {
				if c.storm {
					evs[i].FilterID %= 1000
					evs[i].RemoteIP = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				} else {
					// 500 distinct blocks, each repeating about 12 times
					// a minute (one event every 10 ms).
					evs[i] = evs[i%500]
				}
			}
			db, _ := openTemp(b, Options{MaxAge: -1, MaxBytes: -1})
			w := db.NewWriter(WriterOptions{PruneInterval: -1})
			p := pipeline.New(pipeline.Config{})
			p.Events(w)
			p.Flows(w)
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			for i := 0; i < b.N; i++ {
				e := &evs[i%len(evs)]
				e.Time = base.Add(time.Duration(i) * 10 * time.Millisecond)
				if err := p.Process(e); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Close(); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			el, cpu := time.Since(start), processCPU()-cpu0
			b.StopTimer()
			st := p.Stats()
			b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
			b.ReportMetric(float64(st.FlowsOpened)/float64(b.N), "flows/event")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
			}
		})
	}
}

// BenchmarkTopApp10M measures `wfpwatch query --top app` (all time, and
// the last 24 hours) over 10 million stored events. Building the data set
// takes minutes, so it is kept in the temp directory keyed by schema
// version and reused by later runs; the benchmark only runs when
// WFPWATCH_BENCH_10M=1. Goal: <= 200 ms per query.
func BenchmarkTopApp10M(b *testing.B) {
	if os.Getenv("WFPWATCH_BENCH_10M") != "1" {
		b.Skip("set WFPWATCH_BENCH_10M=1 to build (once, cached in the temp dir) and query 10 million events")
	}
	const total = 10_000_000
	path := filepath.Join(os.TempDir(), fmt.Sprintf("wfpwatch-bench-top10m-v%d.db", SchemaVersion))
	ctx := context.Background()
	if _, err := os.Stat(path + ".done"); err != nil {
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		db, err := Open(path, Options{MaxAge: -1, MaxBytes: -1})
		if err != nil {
			b.Fatal(err)
		}
		w := db.NewWriter(WriterOptions{PruneInterval: -1})
		start := time.Now()
		// 10M events over 30 days: one every ~260 ms.
		step := 30 * 24 * time.Hour / total
		const chunk = 100_000
		for c := 0; c < total/chunk; c++ {
			evs := benchEvents(chunk, base.Add(time.Duration(c*chunk)*step), step, uint64(c))
			for i := range evs {
				if err := w.Write(&evs[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		db.SQL().Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		db.Close()
		b.Logf("built %d events in %v (%.0f events/s)", total, time.Since(start), total/time.Since(start).Seconds())
		os.WriteFile(path+".done", nil, 0o644)
	}
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, bc := range []struct {
		name string
		f    func() Filter
	}{
		{"all", func() Filter { return Filter{} }},
		{"last24h", func() Filter {
			end := base.Add(30 * 24 * time.Hour)
			return Filter{Since: end.Add(-24*time.Hour - 17*time.Second), Until: end}
		}},
		{"blocks-inbound", func() Filter {
			v, _ := VerdictCode("block")
			d, _ := DirectionCode("in")
			return Filter{Verdicts: []int64{v}, Directions: []int64{d}}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := bc.f()
			var res TopResult
			for b.Loop() {
				if res, err = db.Top(ctx, f, DimApp, 10); err != nil {
					b.Fatal(err)
				}
			}
			// The answer must be right, not only fast: compare with a
			// count over the events table (outside the timing).
			b.StopTimer()
			n, err := db.Count(ctx, f)
			if err != nil || res.Total != n || (bc.name == "all" && n != total) {
				b.Fatalf("top counted %d events, the events table %d (%v)", res.Total, n, err)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
		})
	}
}

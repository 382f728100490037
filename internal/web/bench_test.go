package web

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

// benchDB returns a history of n events over the 30 days before testNow
// (one every 30d/n), built once and kept in the temp directory (keyed by
// size and schema version), so that later runs only query it.
func benchDB(b *testing.B, n int) *store.DB {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("wfpwatch-bench-web-%d-v%d.db", n, store.SchemaVersion))
	if _, err := os.Stat(path + ".done"); err != nil {
		for _, s := range []string{"", "-wal", "-shm"} {
			os.Remove(path + s)
		}
		db, err := store.Open(path, store.Options{MaxAge: -1, MaxBytes: -1})
		if err != nil {
			b.Fatal(err)
		}
		w := db.NewWriter(store.WriterOptions{PruneInterval: -1})
		start := time.Now()
		span := 30 * 24 * time.Hour
		first := testNow.Add(-span)
		r := rand.New(rand.NewPCG(3, 4))
		var e event.Event
		for i := range n {
			genEvent(r, &e, first.Add(time.Duration(i)*(span/time.Duration(n))))
			if r.IntN(4) == 0 { // a quarter from sources without a record identity
				e.Sources, e.Code, e.RecordID = event.SourceFwlog, 0, uint64(i)
			}
			if err := w.Write(&e); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		db.SQL().Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		db.Close()
		b.Logf("built %d events in %v", n, time.Since(start))
		os.WriteFile(path+".done", nil, 0o644)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkAPI measures every request the pages make, over a history of
// 1 million events by default, 10 million with WFPWATCH_BENCH_10M=1 (built
// once, cached in the temp directory). Each sub-benchmark reports the
// median and the 99th percentile of its requests. Goal: p99 <= 50 ms.
func BenchmarkAPI(b *testing.B) {
	n := 1_000_000
	if os.Getenv("WFPWATCH_BENCH_10M") == "1" {
		n = 10_000_000
	}
	db := benchDB(b, n)
	h := newTestServer(b, db, Options{}).Handler()
	var lastID int64
	db.SQL().QueryRow("SELECT MAX(id) FROM events").Scan(&lastID)
	for _, c := range []struct{ name, target string }{
		{"overview-page-24h", "/?since=24h"},
		{"series-24h", "/api/series?since=24h"},
		{"series-2h-minutes", "/api/series?since=2h"},
		{"series-24h-by-minute", "/api/series?since=24h&step=minute"},
		{"series-7d", "/api/series?since=7d"},
		{"series-30d-blocks", "/api/series?since=30d&verdict=block"},
		{"top-app-24h", "/api/top?by=app&since=24h"},
		{"top-port-24h", "/api/top?by=port&since=24h"},
		{"top-remote-24h", "/api/top?by=remote&since=24h"},
		{"top-rule-24h", "/api/top?by=rule&since=24h"},
		{"top-host-24h", "/api/top?by=host&since=24h"},
		{"top-app-all", "/api/top?by=app"},
		{"events-page", "/api/events?limit=50"},
		{"events-24h-blocks", "/api/events?since=24h&verdict=block&limit=50"},
		{"events-port-filter", "/api/events?port=3389&limit=50"},
		{"events-app-filter", "/api/events?app=chrome&since=24h&limit=50"},
		{"search-page", "/search?since=24h&verdict=block"},
		{"event-detail", fmt.Sprintf("/api/event/%d", lastID/2)},
		{"event-page", fmt.Sprintf("/event/%d", lastID/2)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				t0 := time.Now()
				rec := get(b, h, c.target)
				times = append(times, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.target, rec.Code, rec.Body)
				}
			}
			slices.Sort(times)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(times[len(times)/2]), "p50-ms")
			b.ReportMetric(ms(times[min(len(times)-1, len(times)*99/100)]), "p99-ms")
			b.ReportMetric(float64(n), "events")
		})
	}
}

package store

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// TestWebQueries checks the dashboard's queries against counts made in
// memory: series from the rollups equal series from the events, pages
// cover every event once, and EventsAfter/EventByID find what was stored.
func TestWebQueries(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, Options{MaxAge: -1, MaxBytes: -1})
	r := rand.New(rand.NewPCG(7, 8))
	evs := make([]event.Event, 3000)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(i)*7*time.Second))
		if i%3 == 0 {
			evs[i].Host = "WS-02"
		}
		if i%5 == 0 { // no record identity: the host is only in the blob
			evs[i].Code = 0
		}
	}
	writeAll(t, db, evs)
	since, until := base.Add(-30*time.Minute), base.Add(7*time.Hour+13*time.Minute)
	for _, f := range []Filter{
		{Since: since, Until: until},
		{Since: since.Add(17 * time.Minute), Until: until, Verdicts: []int64{1}},
		{Since: since, Until: until, Reasons: []string{"default:*", "rule"}, Directions: []int64{1}},
		{Since: since, Until: until, Ports: []uint16{443}},
	} {
		var want map[[3]string]int64
		// Hour steps read the hour rollups, minute steps the minute
		// counts by verdict and direction, 5 minutes those summed.
		for _, step := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour} {
			want = map[[3]string]int64{}
			for i := range evs {
				e := &evs[i]
				if !matchMem(&f, e) {
					continue
				}
				b := e.Time.Truncate(step).Format(time.RFC3339)
				want[[3]string{b, string(e.Verdict), string(e.Direction)}]++
			}
			pts, err := db.Series(ctx, f, step)
			if err != nil {
				t.Fatal(err)
			}
			got := map[[3]string]int64{}
			for _, p := range pts {
				got[[3]string{p.Bucket.Format(time.RFC3339), string(p.Verdict), string(p.Direction)}] += p.N
			}
			if len(got) != len(want) {
				t.Errorf("%+v step %v: %d buckets, want %d", f, step, len(got), len(want))
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("%+v step %v: %v = %d, want %d", f, step, k, got[k], n)
				}
			}
		}
		n, exact, err := db.CountCapped(ctx, f, 0)
		var wn int64
		for _, c := range want {
			wn += c
		}
		if err != nil || !exact || n != wn {
			t.Errorf("CountCapped %+v = %d %v %v, want %d", f, n, exact, err, wn)
		}
	}
	// Pages: every event once, newest first.
	seen := map[int64]bool{}
	var c Cursor
	var lastTS time.Time
	for pages := 0; ; pages++ {
		next, err := db.EventPage(ctx, Filter{}, c, 700, func(id int64, e *event.Event) error {
			if seen[id] {
				t.Fatalf("id %d twice", id)
			}
			if !lastTS.IsZero() && e.Time.After(lastTS) {
				t.Fatalf("page not newest first")
			}
			lastTS = e.Time
			seen[id] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() {
			break
		}
		c = next
	}
	if len(seen) != len(evs) {
		t.Fatalf("pages gave %d events, want %d", len(seen), len(evs))
	}
	maxID, err := db.MaxID(ctx)
	if err != nil || maxID != int64(len(evs)) {
		t.Fatalf("MaxID = %d %v", maxID, err)
	}
	n := 0
	last, err := db.EventsAfter(ctx, Filter{}, maxID-5, 100, func(id int64, e *event.Event) error { n++; return nil })
	if err != nil || n != 5 || last != maxID {
		t.Fatalf("EventsAfter: %d events, last %d, %v", n, last, err)
	}
	e, ok, err := db.EventByID(ctx, 1)
	if err != nil || !ok || !e.Time.Equal(evs[0].Time) {
		t.Fatalf("EventByID(1) = %v %v %v", e.Time, ok, err)
	}
	if _, ok, _ := db.EventByID(ctx, maxID+1); ok {
		t.Fatal("EventByID past the end found an event")
	}
	hosts, err := db.TopHosts(ctx, Filter{}, 0)
	if err != nil || len(hosts.Rows) != 2 || hosts.Rows[0].Value != "WS-01" || hosts.Rows[1].Count != 1000 {
		t.Fatalf("TopHosts = %+v %v", hosts, err)
	}
}

// matchMem is the part of Filter the test uses, in memory.
func matchMem(f *Filter, e *event.Event) bool {
	if e.Time.Before(f.Since) || !e.Time.Before(f.Until) {
		return false
	}
	if len(f.Verdicts) > 0 && verdictCode(e.Verdict) != f.Verdicts[0] {
		return false
	}
	if len(f.Directions) > 0 && directionCode(e.Direction) != f.Directions[0] {
		return false
	}
	if len(f.Reasons) > 0 {
		ok := false
		for _, r := range f.Reasons {
			if r == e.Reason || (r == "default:*" && strings.HasPrefix(e.Reason, "default:")) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Ports) > 0 && e.LocalPort != f.Ports[0] && e.RemotePort != f.Ports[0] {
		return false
	}
	return true
}

// TestSeriesTail: events committed but not yet folded into the rollups
// are counted from the events table.
func TestSeriesTail(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, Options{MaxAge: -1, MaxBytes: -1})
	r := rand.New(rand.NewPCG(9, 9))
	evs := make([]event.Event, 500)
	for i := range evs {
		genEvent(r, &evs[i], base.Add(time.Duration(i)*30*time.Second))
	}
	w := db.NewWriter(WriterOptions{PruneInterval: -1, RollupInterval: time.Hour})
	defer w.Close()
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	pts, err := db.Series(ctx, Filter{Since: base.Add(-time.Hour), Until: base.Add(5 * time.Hour)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range pts {
		sum += p.N
	}
	if sum != int64(len(evs)) {
		t.Fatalf("series counted %d events, want %d", sum, len(evs))
	}
}

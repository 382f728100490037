package web

import (
	"bufio"
	"context"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

func TestAPI(t *testing.T) {
	db, evs := seed(t, 2000)
	h := newTestServer(t, db, Options{}).Handler()

	// Pages of events cover every event once, with the exact count.
	seen := map[int64]bool{}
	next := ""
	for {
		rec := get(t, h, "/api/events?since=2d&limit=300&cursor="+next)
		if rec.Code != 200 {
			t.Fatalf("events: %d %s", rec.Code, rec.Body)
		}
		a := decode[eventsAnswer](t, rec.Body.String())
		if a.Count != int64(len(evs)) || !a.CountExact {
			t.Fatalf("count = %d (exact %v), want %d", a.Count, a.CountExact, len(evs))
		}
		for _, e := range a.Events {
			if seen[e.ID] {
				t.Fatalf("event %d twice", e.ID)
			}
			seen[e.ID] = true
		}
		if a.Next == "" {
			break
		}
		next = a.Next
	}
	if len(seen) != len(evs) {
		t.Fatalf("pages gave %d events, want %d", len(seen), len(evs))
	}

	// Filters narrow the events and the count (a scan: port).
	a := decode[eventsAnswer](t, get(t, h, "/api/events?port=3389&verdict=block&direction=inbound").Body.String())
	want := 0
	for i := range evs {
		e := &evs[i]
		if (e.LocalPort == 3389 || e.RemotePort == 3389) && e.Verdict == event.VerdictBlock && e.Direction == event.DirectionInbound {
			want++
		}
	}
	if a.Count != int64(want) || want == 0 {
		t.Fatalf("filtered count = %d, want %d", a.Count, want)
	}

	// Top by every dimension adds up to the events.
	for _, by := range topDims {
		rec := get(t, h, "/api/top?since=2d&limit=1000&by="+by)
		if rec.Code != 200 {
			t.Fatalf("top %s: %d %s", by, rec.Code, rec.Body)
		}
		ta := decode[topAnswer](t, rec.Body.String())
		var sum int64
		for _, r := range ta.Rows {
			sum += r.Count
		}
		if ta.Total != int64(len(evs)) || sum != ta.Total {
			t.Errorf("top %s: total %d, rows sum %d, want %d", by, ta.Total, sum, len(evs))
		}
	}

	// The series over the whole day, by hour and by minute, add up too.
	for _, step := range []string{"hour", "minute", "auto", "day"} {
		rec := get(t, h, "/api/series?since=2d&step="+step)
		if rec.Code != 200 {
			t.Fatalf("series %s: %d %s", step, rec.Code, rec.Body)
		}
		sa := decode[seriesAnswer](t, rec.Body.String())
		var sum int64
		for _, p := range sa.Points {
			sum += p.N
		}
		if sum != int64(len(evs)) {
			t.Errorf("series %s: sum %d, want %d", step, sum, len(evs))
		}
	}

	// One event, explained, and one that does not exist.
	rec := get(t, h, "/api/event/1")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"powershell":"New-NetFirewallRule`) {
		t.Fatalf("event 1: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/api/event/999999"); rec.Code != 404 {
		t.Fatalf("missing event: %d", rec.Code)
	}
	if rec := get(t, h, "/api/nothing"); rec.Code != 404 {
		t.Fatalf("unknown endpoint: %d", rec.Code)
	}

	// Downloads.
	rec = get(t, h, "/api/export?format=csv&verdict=drop")
	lines := strings.Count(rec.Body.String(), "\n")
	drops := 0
	for i := range evs {
		if evs[i].Verdict == event.VerdictDrop {
			drops++
		}
	}
	if rec.Code != 200 || lines != drops+1 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d, %d lines, want %d", rec.Code, lines, drops+1)
	}
	rec = get(t, h, "/api/export?format=ndjson&limit=5")
	if rec.Code != 200 || strings.Count(rec.Body.String(), "\n") != 5 {
		t.Fatalf("ndjson: %d %q", rec.Code, rec.Body)
	}

	// Health.
	if rec := get(t, h, "/api/health"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"size_bytes"`) {
		t.Fatalf("health: %d %s", rec.Code, rec.Body)
	}
}

// TestBadParams: every mistake is a 400 with a message that says what is
// wanted, never a 500.
func TestBadParams(t *testing.T) {
	db, _ := seed(t, 100)
	h := newTestServer(t, db, Options{}).Handler()
	for _, c := range []struct{ target, want string }{
		{"/api/events?port=70000", "want a port number"},
		{"/api/events?port=abc", "want a port number"},
		{"/api/events?remote=10.0.0.0/99", "CIDR"},
		{"/api/events?direction=sideways", "want inbound or outbound"},
		{"/api/events?verdict=maybe", "want block, drop or permit"},
		{"/api/events?since=yesterday", "want a duration"},
		{"/api/events?since=1h&until=2h", "since is not before until"},
		{"/api/events?since=1h&since=2h", "give it once"},
		{"/api/events?limit=0", "want a number from 1 to 1000"},
		{"/api/events?limit=1001", "want a number from 1 to 1000"},
		{"/api/events?cursor=x", "cursor"},
		{"/api/events?colour=red", `unknown parameter`},
		{"/api/top?by=colour", "want one of app, port, remote, rule, host"},
		{"/api/top?by=app&limit=-1", "want a number"},
		{"/api/series?step=week", "want minute, hour, day or auto"},
		{"/api/series?since=3000d&step=minute", "buckets"},
		{"/api/export?format=xml", "want csv or ndjson"},
		{"/api/event/abc", "want a positive number"},
		{"/api/event/-1", "want a positive number"},
		{"/api/live?after=x", "want an event id"},
		{"/api/events?app=" + strings.Repeat("a", 2000), "longer than"},
		{"/api/events?port=" + strings.Repeat("1,", 65), "more than 64 values"},
		{"/search?port=x", "want a port number"},
		{"/?verdict=x", "want block"},
		{"/live?since=x", "want a duration"},
		{"/event/x", "want a positive number"},
	} {
		rec := get(t, h, c.target)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("GET %.80s = %d %.200q, want 400 with %q", c.target, rec.Code, rec.Body.String(), c.want)
		}
	}
}

// FuzzParams: whatever the query string, no endpoint answers 500 or
// panics.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"port=70000", "remote=10.0.0.0/99", "since=1h&until=2h", "since=100000d2562047h", "cursor=1.-1",
		"by=app&limit=1000", "step=minute&since=3d", "app=*%5C*&reason=default:*", "since=all&step=day",
		"since=1678-01-01&until=2261-12-31", "since=9999-01-01T00:00:00Z", "remote=::ffff:10.0.0.1/128",
		"format=csv&limit=1", "direction=in,out&verdict=block,drop,permit", "after=0",
	} {
		f.Add(s)
	}
	db, _ := seed(f, 300)
	h := newTestServer(f, db, Options{}).Handler()
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		enc := q.Encode()
		for _, p := range []string{"/api/events", "/api/top", "/api/series", "/api/export", "/search", "/", "/api/event/" + url.PathEscape(q.Get("id"))} {
			rec := get(t, h, p+"?"+enc)
			if rec.Code >= 500 {
				t.Fatalf("GET %s?%s = %d %s", p, enc, rec.Code, rec.Body)
			}
		}
	})
}

// TestLiveStream: an event written to the database arrives on /api/live.
func TestLiveStream(t *testing.T) {
	db, evs := seed(t, 10)
	srv := httptest.NewServer(newTestServer(t, db, Options{}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/live?verdict=block", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != "event: hello" {
		t.Fatalf("first line %q", sc.Text())
	}
	e := evs[0]
	e.Time = testNow
	e.Verdict = event.VerdictDrop
	e2 := e
	e2.Verdict = event.VerdictBlock
	e2.RuleName = "live-marker"
	e.RecordID, e2.RecordID = 1<<41, 1<<41+1
	write(t, db, []event.Event{e, e2})
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"verdict":"drop"`) {
			t.Fatalf("the filter let a drop through: %s", line)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, "live-marker") {
			return
		}
	}
	t.Fatalf("the new event did not arrive: %v", sc.Err())
}

func TestMetrics(t *testing.T) {
	db, evs := seed(t, 500)
	s := newTestServer(t, db, Options{Log: log.New(testWriter{t}, "", 0)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	h := s.Handler()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := get(t, h, "/metrics").Body.String()
		if strings.Contains(body, "\nwfpwatch_history_caught_up 1\n") {
			// One scrape is not a snapshot (collectors are gathered in
			// any order): the counts are complete in the next one.
			body = get(t, h, "/metrics").Body.String()
			var sum float64
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(line, "wfpwatch_events_total{") {
					var v float64
					if _, err := fmtSscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
						t.Fatal(err)
					}
					sum += v
					for _, bad := range []string{"10.0.", "ip=", "port="} {
						if strings.Contains(line, bad) {
							t.Errorf("per-address label: %s", line)
						}
					}
				}
			}
			if sum != float64(len(evs)) {
				t.Fatalf("wfpwatch_events_total sums to %v, want %d:\n%s", sum, len(evs), body)
			}
			for _, m := range []string{"wfpwatch_source_up{source=\"history\"} 1", "wfpwatch_history_size_bytes", "wfpwatch_flows"} {
				if !strings.Contains(body, m) {
					t.Errorf("no %s in /metrics", m)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never caught up:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

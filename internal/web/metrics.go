package web

import (
	"context"
	"log"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

// metrics are the Prometheus metrics of the server. The event counters
// come from reading the history database from its first event and then
// following it (as the live stream does), so they count every event
// stored, whatever process recorded it; a restarted server counts again
// from the start, which Prometheus treats as a counter reset.
//
// Cardinality is bounded: verdict (4), direction (4), reason (the known
// reasons, anything else is "other"), source (combinations of 4 sources);
// no label carries an address, a port, an app or a rule.
type metrics struct {
	db  *store.DB
	log *log.Logger
	reg *prometheus.Registry

	events    *prometheus.CounterVec
	read      prometheus.Gauge
	caughtUp  prometheus.Gauge
	sourceUp  *prometheus.GaugeVec
	flows     prometheus.Gauge
	sizeBytes prometheus.Gauge
	lastEvent prometheus.Gauge

	mu      sync.Mutex
	sources map[string]*sourceHealth
}

// sourceHealth is what /api/health says about a source.
type sourceHealth struct {
	Name     string    `json:"name"`
	Up       bool      `json:"up"`
	Events   int64     `json:"events"`
	Last     time.Time `json:"last_event,omitzero"`
	Problem  string    `json:"problem,omitempty"`
	CaughtUp bool      `json:"caught_up"`
}

// knownReasons are the reason label values; anything else is "other".
var knownReasons = func() map[string]bool {
	m := map[string]bool{"": true, "rule": true, "provider": true, "discard": true, "ipsec": true, "unresolved": true}
	for _, d := range event.DefaultBlocks {
		m["default:"+d.Name] = true
	}
	return m
}()

func newMetrics(db *store.DB, l *log.Logger) *metrics {
	m := &metrics{db: db, log: l, reg: prometheus.NewRegistry(), sources: map[string]*sourceHealth{}}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wfpwatch_events_total",
		Help: "Events in the history database by verdict, reason, direction and source (counted from the first stored event when serve starts).",
	}, []string{"verdict", "reason", "direction", "source"})
	m.read = prometheus.NewGauge(prometheus.GaugeOpts{Name: "wfpwatch_history_read_position", Help: "The row id of the last history event counted."})
	m.caughtUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "wfpwatch_history_caught_up", Help: "1 once the event counters have read the whole history, 0 while they catch up."})
	m.sourceUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wfpwatch_source_up", Help: "1 when the source can be read, 0 when it failed at its last attempt."}, []string{"source"})
	m.flows = prometheus.NewGauge(prometheus.GaugeOpts{Name: "wfpwatch_flows", Help: "Flows (folded repeats) stored in the history database."})
	m.sizeBytes = prometheus.NewGauge(prometheus.GaugeOpts{Name: "wfpwatch_history_size_bytes", Help: "Size of the history database (pages in use)."})
	m.lastEvent = prometheus.NewGauge(prometheus.GaugeOpts{Name: "wfpwatch_history_last_event_timestamp_seconds", Help: "Time of the newest event counted, Unix seconds."})
	m.reg.MustRegister(m.events, m.read, m.caughtUp, m.sourceUp, m.flows, m.sizeBytes, m.lastEvent,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: m.log})
}

// run counts the history from its first event, then follows it every
// poll, and refreshes the size and flow gauges every 10 s, until ctx ends.
func (m *metrics) run(ctx context.Context, poll time.Duration) {
	var pos int64
	lastStats := time.Time{}
	type key struct{ v, r, d, s string }
	for {
		batch := map[key]float64{}
		var newest time.Time
		n := 0
		next, err := m.db.EventsAfter(ctx, store.Filter{}, pos, 20_000, func(id int64, e *event.Event) error {
			r := e.Reason
			if !knownReasons[r] {
				r = "other"
			}
			batch[key{string(e.Verdict), r, string(e.Direction), e.Sources.String()}]++
			if e.Time.After(newest) {
				newest = e.Time
			}
			n++
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		for k, c := range batch {
			m.events.WithLabelValues(k.v, k.r, k.d, k.s).Add(c)
		}
		pos = next
		m.read.Set(float64(pos))
		if !newest.IsZero() {
			m.lastEvent.Set(float64(newest.Unix()))
		}
		if err != nil {
			m.log.Printf("wfpwatch serve: metrics: read the history: %v", err)
		}
		m.setHealth(err, int64(n), newest, err == nil && n < 20_000)
		if time.Since(lastStats) > 10*time.Second {
			m.refreshStats(ctx)
			lastStats = time.Now()
		}
		if n == 20_000 && err == nil {
			continue // catching up: no pause
		}
		if err == nil {
			m.caughtUp.Set(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
	}
}

func (m *metrics) setHealth(err error, n int64, newest time.Time, caughtUp bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.sources["history"]
	if h == nil {
		h = &sourceHealth{Name: "history"}
		m.sources["history"] = h
	}
	h.Events += n
	if newest.After(h.Last) {
		h.Last = newest
	}
	h.Up, h.Problem = err == nil, ""
	if err != nil {
		h.Problem = err.Error()
		m.sourceUp.WithLabelValues("history").Set(0)
	} else {
		m.sourceUp.WithLabelValues("history").Set(1)
	}
	h.CaughtUp = h.CaughtUp || caughtUp
}

func (m *metrics) refreshStats(ctx context.Context) {
	if size, err := m.db.Size(ctx); err == nil {
		m.sizeBytes.Set(float64(size))
	}
	var flows int64
	if err := m.db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM flows").Scan(&flows); err == nil {
		m.flows.Set(float64(flows))
	}
}

// health returns the state of each source, for /api/health and the
// overview.
func (m *metrics) health() []sourceHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []sourceHealth{}
	for _, h := range m.sources {
		out = append(out, *h)
	}
	if len(out) == 0 {
		out = append(out, sourceHealth{Name: "history", Up: true})
	}
	return out
}

package main

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/forward"
	"github.com/wfpwatch/wfpwatch/internal/health"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// healthDir is where watch writes its health snapshot ("": the status
// directory of the state directory); tests point it elsewhere.
var healthDir string

// healthInterval is how often the snapshot is written.
var healthInterval = health.DefaultInterval

// sourceHealth counts what one live source did, for the snapshot. Its
// methods are safe for concurrent use.
type sourceHealth struct {
	name, channel string
	up            atomic.Bool
	events, gaps  atomic.Uint64
	lost, resub   atomic.Uint64
	last          atomic.Int64 // unix nanoseconds of the newest event
	mu            sync.Mutex
	err           string
	errAt         time.Time
}

func (s *sourceHealth) event() {
	s.events.Add(1)
	s.last.Store(time.Now().UnixNano())
}

func (s *sourceHealth) problem(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err, s.errAt = err.Error(), time.Now().UTC()
}

func (s *sourceHealth) sample() health.Source {
	src := health.Source{
		Name: s.name, Channel: s.channel, Up: s.up.Load(), Events: s.events.Load(),
		Gaps: s.gaps.Load(), Lost: s.lost.Load(), Resubscribes: s.resub.Load(),
	}
	if n := s.last.Load(); n != 0 {
		src.LastEvent = time.Unix(0, n).UTC()
	}
	s.mu.Lock()
	src.LastError, src.LastErrorAt = s.err, s.errAt
	s.mu.Unlock()
	return src
}

// watchHealth is the health of a running watch (or of the service, or of
// serve --live), written for 'wfpwatch status', the dashboard and
// /metrics by a health.Reporter.
type watchHealth struct {
	r       *health.Reporter
	sources []*sourceHealth
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// newWatchHealth returns the health of command ("watch" when "").
func newWatchHealth(command string) *watchHealth {
	if command == "" {
		command = "watch"
	}
	h := &watchHealth{r: health.NewReporter(healthDir, command), done: make(chan struct{})}
	h.r.Sample(func(s *health.Snapshot) {
		s.Sources = s.Sources[:0]
		for _, src := range h.sources {
			s.Sources = append(s.Sources, src.sample())
		}
	})
	return h
}

// source adds a live source; call before start.
func (h *watchHealth) source(name, channel string) *sourceHealth {
	s := &sourceHealth{name: name, channel: channel}
	h.sources = append(h.sources, s)
	return s
}

// pipeline samples p's counters, suppression by rule included.
func (h *watchHealth) pipeline(p *pipeline.Pipeline) {
	h.r.Sample(func(s *health.Snapshot) {
		st := p.Stats()
		s.Pipeline = health.Pipeline{Seen: st.Seen, Suppressed: st.Suppressed, Passed: st.Passed,
			FlowsOpened: st.FlowsOpened, FlowsOpen: st.FlowsOpen, Overflow: st.Overflow}
		for _, r := range st.Rules {
			s.Pipeline.Rules = append(s.Pipeline.Rules, health.Rule{Label: r.Label, Source: r.Source, Hits: r.Hits})
		}
	})
}

// outputs samples the forwarder's per-output counters.
func (h *watchHealth) outputs(fw *forward.Forwarder) {
	if fw == nil {
		return
	}
	h.r.Sample(func(s *health.Snapshot) {
		s.Outputs = s.Outputs[:0]
		for _, c := range fw.Counters() {
			s.Outputs = append(s.Outputs, health.Output{URL: c.URL, Sent: c.Sent, Retried: c.Retried, Dropped: c.Dropped,
				Queued: c.Queued, QueueBytes: c.QueueBytes, OldestAge: health.Duration(c.OldestAge),
				LastError: c.LastError, LastErrorAt: c.LastErrorAt})
		}
	})
}

// db samples the history database at path.
func (h *watchHealth) db(path string, sink *dbSink) {
	if path == "" {
		return
	}
	h.r.Sample(func(s *health.Snapshot) {
		d := &health.DB{Path: path, Skipped: uint64(max(sink.Skipped(), 0))}
		if fi, err := os.Stat(path); err == nil {
			d.Bytes = fi.Size()
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			d.Bytes += fi.Size()
		}
		s.DB = d
	})
}

// audit records the audit policy as watch found and set it.
func (h *watchHealth) audit(managed bool, c *audit.Change, enforce bool) {
	h.r.Update(func(s *health.Snapshot) {
		a := &health.Audit{Managed: managed, On: managed, Enforce: enforce, CheckedAt: time.Now().UTC()}
		if c != nil {
			for _, e := range c.Changed {
				a.Changed = append(a.Changed, e.Name+": "+e.After.String())
			}
			if len(c.Missing) > 0 {
				a.On = false
				a.Drift = append(a.Drift, c.Missing...)
			}
		}
		s.Audit = a
	})
}

// drift records the result of a recheck of the audit policy.
func (h *watchHealth) drift(lines []string) {
	h.r.Update(func(s *health.Snapshot) {
		if s.Audit == nil {
			return
		}
		s.Audit.Drift = append([]string(nil), lines...)
		s.Audit.On = len(lines) == 0
		s.Audit.CheckedAt = time.Now().UTC()
	})
}

// start writes the snapshot every healthInterval until stop; write
// problems are said once each.
func (h *watchHealth) start(say func(string, ...any)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.r.Run(h.done, healthInterval, func(err error) {
			say("warning: cannot write the health snapshot for 'wfpwatch status': %v", err)
		})
	}()
}

// stop writes the last snapshot, marked stopped. Safe to call twice.
func (h *watchHealth) stop() {
	h.once.Do(func() {
		close(h.done)
		h.wg.Wait()
	})
}

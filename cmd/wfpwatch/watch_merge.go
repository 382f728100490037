package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/correlate"
	"github.com/wfpwatch/wfpwatch/internal/enrich"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// liveMerge is where the live sources meet: it resolves and enriches
// Security-log events (net events arrive resolved), pairs the same block
// seen by both sources, applies the view and writes. Sources call add from
// their own goroutines; a mutex serializes everything after it, so that an
// event has reached the output (or waits in the correlator) before its
// source moves its bookmark on.
type liveMerge struct {
	mu    sync.Mutex
	view  viewFlags
	p     *pipeline.Pipeline
	corr  *correlate.Correlator
	en    *enrich.Enricher
	say   func(string, ...any)
	err   error // the first write error; it stops the sources
	shown atomic.Uint64

	res       *wfp.Resolver
	closeRes  func()
	resolveOK bool

	// local, when set, says whether an event's host is this machine
	// (watch --channel ForwardedEvents): only this machine's events are
	// resolved and enriched here; others keep what their record says.
	local func(host string) bool
	// remote are the other hosts already told about (once each).
	remote map[string]bool
}

// newLiveMerge returns a merge point that sends what the view selects
// through p (suppression, flows, the output and the history database).
func newLiveMerge(view viewFlags, p *pipeline.Pipeline, window time.Duration, say func(string, ...any)) *liveMerge {
	m := &liveMerge{view: view, p: p, en: enrich.New(), say: say}
	m.corr = &correlate.Correlator{Window: window, Emit: m.emit}
	return m
}

// startResolver opens the filtering engine to name the filters of
// Security-log events. Failing that, events keep their raw ids.
func (m *liveMerge) startResolver() {
	res, err := wfp.OpenLiveResolver(m.say)
	if err != nil {
		m.say("filter names will not be resolved for Security-log events: %v", err)
		return
	}
	m.res = res.Resolver
	m.closeRes = func() { res.Close() }
}

func (m *liveMerge) stopResolver() {
	if m.closeRes != nil {
		m.closeRes()
	}
}

// add takes one event from a source. The event is copied by the
// correlator; add returns the first output error, after which the caller
// should stop.
func (m *liveMerge) add(e *event.Event) error {
	if e.Sources == event.SourceEvtlog && m.local != nil && !m.local(e.Host) {
		m.mu.Lock()
		if !m.remote[e.Host] && len(m.remote) < 10000 {
			if m.remote == nil {
				m.remote = map[string]bool{}
			}
			m.remote[e.Host] = true
			m.say("host %s: events forwarded from another computer: its filter ids, device paths, services and user SIDs mean something only there and are not looked up here", e.Host)
		}
		m.mu.Unlock()
	} else if e.Sources == event.SourceEvtlog {
		if m.res != nil {
			m.res.Resolve(e)
			event.Classify(e) // a resolved rule can make the reason more specific
		}
		m.en.Enrich(e)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.corr.Add(e, time.Now())
	return m.err
}

// emit is the correlator's output: merged or single events. Called with mu
// held.
func (m *liveMerge) emit(e *event.Event) {
	if m.err != nil || !m.view.match(e) {
		return
	}
	if err := m.p.Process(e); err != nil {
		m.err = fmt.Errorf("write: %w", err)
		return
	}
	m.shown.Add(1)
}

// flushLoop lets events whose twin never came out after the window.
func (m *liveMerge) flushLoop(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case now := <-t.C:
			m.mu.Lock()
			m.corr.Flush(now)
			if err := m.p.Advance(now); err != nil && m.err == nil {
				m.err = fmt.Errorf("write: %w", err)
			}
			m.mu.Unlock()
		}
	}
}

// finish emits everything still waiting and returns the first write error.
func (m *liveMerge) finish() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.corr.Flush(time.Now().Add(24 * time.Hour))
	if err := m.p.Close(); err != nil && m.err == nil {
		m.err = fmt.Errorf("write: %w", err)
	}
	return m.err
}

// Package pipeline controls noise between the sources and the outputs:
// events are suppressed by rules, then folded into flows, then fanned out to
// sinks. Both `wfpwatch analyze` (offline files) and `wfpwatch watch` (live)
// plug into it the same way.
//
// # Use
//
//	p := pipeline.New(cfg)             // cfg from (*Flags).Config or by hand
//	p.Events(store)                    // every event that passed suppression
//	p.FirstSight(table)                // only the first event of each flow
//	p.Flows(flowSink)                  // flow opened / updated / closed
//	for each decoded event e {
//		event.Classify(e)              // the pipeline never classifies
//		if !sel.Includes(e) { continue } // the caller's --packets/--permits
//		if err := p.Process(e); err != nil { … }
//	}
//	p.Close()                          // closes the open flows; not the sinks
//
// A live source also calls p.Advance(time.Now()) about once a second (so a
// flow's window ends even when no event comes) and p.Flush() when it wants
// flow updates for display (every few seconds).
//
// # Ownership
//
// The event passed to Process is only valid during the call: the pipeline
// and every sink copy what they keep (output.Writer has the same contract,
// so an output.Writer is an EventSink). A *Flow handed to a FlowSink is
// owned by the pipeline and valid only during the call.
//
// # Stages
//
// Suppression (Rules): the first rule that matches drops the event and
// counts it against that rule (Stats.Rules). Aggregation (Aggregator):
// identical events — same app, pid, services, direction, protocol, local
// port, remote address and port, filter id and origin, verdict, kind and
// reason — inside Window of the flow's first event are one flow with first
// and last seen and a count. The flow table is capped at MaxFlows; under a
// storm of distinct flows the excess is counted in Stats.Overflow, still
// goes to Events sinks, but not to FirstSight sinks (which would otherwise
// show the storm line by line).
//
// A Pipeline is not safe for concurrent use, except Stats, which any
// goroutine may call at any time.
package pipeline

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Defaults of Config.
const (
	DefaultWindow   = time.Minute
	DefaultMaxFlows = 100_000
)

// EventSink receives events. Write must not keep e after it returns; an
// output.Writer is an EventSink.
type EventSink interface {
	Write(e *event.Event) error
}

// FlowSink receives flow changes. WriteFlow must not keep f after it
// returns.
type FlowSink interface {
	WriteFlow(f *Flow, st FlowState) error
}

// FlowEventSink is a FlowSink that shows flows as events: adding one to a
// Pipeline makes each flow keep a copy of its first event (Flow.Event).
type FlowEventSink interface {
	FlowSink
	WantsFlowEvents()
}

// OverflowSink is a FlowSink that also wants the events that were not
// folded into a flow because the flow table was full (so that counts still
// add up): WriteOverflow gets each of them, valid only during the call.
type OverflowSink interface {
	FlowSink
	WriteOverflow(e *event.Event) error
}

// Config sets up a Pipeline.
type Config struct {
	// Rules suppress events; nil suppresses nothing.
	Rules *Rules
	// NoAggregate turns aggregation off: every event that passes
	// suppression goes to the FirstSight sinks too, and no flows are made.
	NoAggregate bool
	// Window is how long a flow counts identical events after its first
	// one (DefaultWindow when 0).
	Window time.Duration
	// MaxFlows caps the flow table (DefaultMaxFlows when 0).
	MaxFlows int
}

// Stats counts what the pipeline did. It is a snapshot.
type Stats struct {
	Seen        uint64 // events given to Process
	Suppressed  uint64 // events dropped by a rule
	Passed      uint64 // events that passed suppression
	FlowsOpened uint64 // flows opened so far (first sights)
	FlowsOpen   int    // flows open now
	Overflow    uint64 // events not aggregated because the table was full
	FlowBytes   int    // estimated memory of the open flows
	Rules       []RuleStat
}

// RuleStat is one rule's hit count.
type RuleStat struct {
	Label  string // the rule's name, or its text
	Source string // where it was written ("rules.conf:3", "--suppress")
	Hits   uint64
}

// Pipeline runs events through suppression and aggregation to sinks.
type Pipeline struct {
	cfg        Config
	agg        *Aggregator
	events     []EventSink
	firstSight []EventSink
	flows      []FlowSink

	seen, suppressed, passed, opened, overflow atomic.Uint64
	open, flowBytes                            atomic.Int64
}

// New returns a Pipeline for cfg with no sinks yet.
func New(cfg Config) *Pipeline {
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	p := &Pipeline{cfg: cfg}
	if !cfg.NoAggregate {
		p.agg = NewAggregator(cfg.Window, cfg.MaxFlows, p.onFlow)
	}
	return p
}

// Config returns the configuration in effect (defaults filled in).
func (p *Pipeline) Config() Config { return p.cfg }

// Events adds a sink that receives every event that passes suppression.
func (p *Pipeline) Events(s EventSink) { p.events = append(p.events, s) }

// FirstSight adds a sink that receives the first event of each flow (every
// event when aggregation is off).
func (p *Pipeline) FirstSight(s EventSink) { p.firstSight = append(p.firstSight, s) }

// Flows adds a sink that receives flow changes. A FlowEventSink makes the
// flows keep their first event; add it before the first Process.
func (p *Pipeline) Flows(s FlowSink) {
	p.flows = append(p.flows, s)
	if _, ok := s.(FlowEventSink); ok && p.agg != nil {
		p.agg.KeepEvents()
	}
}

func (p *Pipeline) onFlow(f *Flow, st FlowState) error {
	var errs []error
	for _, s := range p.flows {
		if err := s.WriteFlow(f, st); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Process runs e through the pipeline. e is only valid during the call. An
// error from a sink is returned after every sink has seen the event.
func (p *Pipeline) Process(e *event.Event) error {
	p.seen.Add(1)
	if _, ok := p.cfg.Rules.Suppress(e); ok {
		p.suppressed.Add(1)
		return nil
	}
	p.passed.Add(1)
	var errs []error
	for _, s := range p.events {
		if err := s.Write(e); err != nil {
			errs = append(errs, err)
		}
	}
	first := true
	if p.agg != nil {
		opened, overflowed, err := p.agg.Add(e)
		if err != nil {
			errs = append(errs, err)
		}
		if overflowed {
			p.overflow.Add(1)
			for _, s := range p.flows {
				if o, ok := s.(OverflowSink); ok {
					if err := o.WriteOverflow(e); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
		if opened {
			p.opened.Add(1)
		}
		first = opened
		p.syncAgg()
	}
	if first {
		for _, s := range p.firstSight {
			if err := s.Write(e); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (p *Pipeline) syncAgg() {
	p.open.Store(int64(p.agg.Len()))
	p.flowBytes.Store(int64(p.agg.ApproxBytes()))
}

// Advance moves the aggregation clock to now and closes flows whose window
// has ended. Live sources call it about once a second.
func (p *Pipeline) Advance(now time.Time) error {
	if p.agg == nil {
		return nil
	}
	defer p.syncAgg()
	return p.agg.Advance(now)
}

// Flush hands every open flow with new events since its last report to the
// flow sinks (FlowUpdated).
func (p *Pipeline) Flush() error {
	if p.agg == nil {
		return nil
	}
	return p.agg.Flush()
}

// Close closes every open flow (FlowClosed to the flow sinks). It does not
// close the sinks: their owner does.
func (p *Pipeline) Close() error {
	if p.agg == nil {
		return nil
	}
	defer p.syncAgg()
	return p.agg.CloseAll()
}

// Stats returns a snapshot of the counters. It is safe to call from any
// goroutine.
func (p *Pipeline) Stats() Stats {
	s := Stats{
		Seen:        p.seen.Load(),
		Suppressed:  p.suppressed.Load(),
		Passed:      p.passed.Load(),
		FlowsOpened: p.opened.Load(),
		FlowsOpen:   int(p.open.Load()),
		Overflow:    p.overflow.Load(),
		FlowBytes:   int(p.flowBytes.Load()),
	}
	for _, r := range p.cfg.Rules.List() {
		s.Rules = append(s.Rules, RuleStat{Label: r.Label(), Source: r.Source, Hits: r.Hits()})
	}
	return s
}

// Summary returns a short human-readable account of the stats, for the end
// of a run: what was suppressed by which rule and what overflowed.
func (s Stats) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events: %d suppressed, %d passed, %d flows", s.Seen, s.Suppressed, s.Passed, s.FlowsOpened)
	if s.Overflow > 0 {
		fmt.Fprintf(&b, ", %d not aggregated (flow table full: raise --max-flows)", s.Overflow)
	}
	for _, r := range s.Rules {
		fmt.Fprintf(&b, "\n  suppressed %d by %s (%s)", r.Hits, r.Label, r.Source)
	}
	return b.String()
}

// Flags are the command-line flags of the pipeline, shared by analyze and
// watch. Register them with RegisterFlags and turn them into a Config with
// (*Flags).Config after parsing.
type Flags struct {
	SuppressFile  string
	Suppress      multiFlag
	HideBroadcast bool
	HideMulticast bool
	HideLoopback  bool
	NoAggregate   bool
	Window        time.Duration
	MaxFlows      int
}

type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, "; ") }
func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// RegisterFlags defines the pipeline flags on fs: --suppress-file,
// --suppress (repeatable), --hide-broadcast, --hide-multicast,
// --hide-loopback, --no-aggregate, --window and --max-flows.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.SuppressFile, "suppress-file", "", "read suppression rules from `FILE` (one rule per line; see docs/history.md)")
	fs.Var(&f.Suppress, "suppress", "suppress events matching `RULE`, e.g. 'app=svchost.exe port=5353' (repeatable)")
	fs.BoolVar(&f.HideBroadcast, "hide-broadcast", false, "suppress broadcast traffic (255.255.255.255 and x.y.z.255)")
	fs.BoolVar(&f.HideMulticast, "hide-multicast", false, "suppress multicast traffic")
	fs.BoolVar(&f.HideLoopback, "hide-loopback", false, "suppress loopback traffic")
	fs.BoolVar(&f.NoAggregate, "no-aggregate", false, "show every event instead of the first of each flow")
	fs.DurationVar(&f.Window, "window", DefaultWindow, "fold identical events into one flow for `DURATION` after its first")
	fs.IntVar(&f.MaxFlows, "max-flows", DefaultMaxFlows, "cap the flow table at `N` flows (the excess is counted, not aggregated)")
	return f
}

// Config builds the pipeline configuration from the parsed flags, reading
// the suppression file if one was given.
func (f *Flags) Config() (Config, error) {
	cfg := Config{NoAggregate: f.NoAggregate, Window: f.Window, MaxFlows: f.MaxFlows}
	if f.Window < 0 {
		return cfg, fmt.Errorf("--window %v: want a positive duration such as 30s or 5m", f.Window)
	}
	if f.MaxFlows < 0 {
		return cfg, fmt.Errorf("--max-flows %d: want a positive number", f.MaxFlows)
	}
	rs := &Rules{}
	if f.SuppressFile != "" {
		fr, err := LoadRules(f.SuppressFile)
		if err != nil {
			return cfg, err
		}
		rs.Add(fr)
	}
	for _, text := range f.Suppress {
		r, err := ParseRule(text, "--suppress")
		if err != nil {
			return cfg, err
		}
		rs.list = append(rs.list, r)
	}
	for _, h := range []struct {
		on   bool
		word string
	}{{f.HideBroadcast, "broadcast"}, {f.HideMulticast, "multicast"}, {f.HideLoopback, "loopback"}} {
		if h.on {
			r, _ := ParseRule(h.word, "--hide-"+h.word)
			r.Name = h.word
			rs.list = append(rs.list, r)
		}
	}
	if rs.Len() > 0 {
		cfg.Rules = rs
	}
	return cfg, nil
}

// Package correlate merges the same blocked connection seen by the
// Security audit log and by WFP net events into one event that carries the
// best fields of each and both sources.
//
// Two events match when they come from those two different sources, their
// times are within the window, their 5-tuples agree (protocol, local and
// remote address and port, where both have them) and, where both carry
// them, their filter and layer ids agree. The audit event gives the process
// (pid, path), direction and Filter Origin; the net event gives the
// net-event type, package SID and user where the audit event lacks them.
package correlate

import (
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Correlator pairs events. It is not safe for concurrent use: feed it from
// one goroutine.
type Correlator struct {
	// Window is the largest time difference between the two sightings
	// (default 2 s). An event waits at most this long (by its arrival) for
	// its partner before it is emitted alone.
	Window time.Duration
	// Max bounds the events waiting (default 10000); beyond it the oldest
	// is emitted alone.
	Max  int
	Emit func(e *event.Event)

	pending []pend           // in arrival order; pending[i] has sequence base+i
	base    uint64           // sequence number of pending[0]
	byKey   map[key][]uint64 // sequence numbers waiting per 5-tuple
	waiting int
	Merged  uint64
}

type pend struct {
	e       event.Event
	arrived time.Time
	done    bool
}

type key struct {
	proto        uint8
	local        [16]byte
	remote       [16]byte
	lport, rport uint16
}

func keyOf(e *event.Event) key {
	k := key{proto: e.Protocol, lport: e.LocalPort, rport: e.RemotePort}
	if e.LocalIP.IsValid() {
		k.local = e.LocalIP.Unmap().As16()
	}
	if e.RemoteIP.IsValid() {
		k.remote = e.RemoteIP.Unmap().As16()
	}
	return k
}

func (c *Correlator) window() time.Duration {
	if c.Window <= 0 {
		return 2 * time.Second
	}
	return c.Window
}

// pairable says whether an event takes part: only single-source evtlog
// and netevent sightings.
func pairable(e *event.Event) bool {
	return e.Sources == event.SourceEvtlog || e.Sources == event.SourceNetevent
}

// Add takes one event; arrived is the wall-clock time it reached
// wfpwatch (not the event's own time). The event is copied.
func (c *Correlator) Add(e *event.Event, arrived time.Time) {
	c.Flush(arrived)
	if !pairable(e) {
		c.Emit(e)
		return
	}
	if c.byKey == nil {
		c.byKey = map[key][]uint64{}
	}
	k := keyOf(e)
	seqs := c.byKey[k]
	keep := seqs[:0]
	matched := false
	for _, q := range seqs {
		if q < c.base || c.pending[q-c.base].done {
			continue // flushed or paired already
		}
		p := &c.pending[q-c.base]
		if !matched && match(&p.e, e, c.window()) {
			p.done = true
			c.waiting--
			m := merge(&p.e, e)
			c.Merged++
			c.Emit(&m)
			matched = true
			continue
		}
		keep = append(keep, q)
	}
	if matched {
		c.setKey(k, keep)
		return
	}
	c.pending = append(c.pending, pend{e: *e, arrived: arrived})
	c.waiting++
	c.setKey(k, append(keep, c.base+uint64(len(c.pending)-1)))
	max := c.Max
	if max <= 0 {
		max = 10000
	}
	for c.waiting > max {
		c.emitHead()
	}
}

func (c *Correlator) setKey(k key, seqs []uint64) {
	if len(seqs) == 0 {
		delete(c.byKey, k)
		return
	}
	c.byKey[k] = seqs
}

// emitHead emits the oldest waiting event alone and drops done heads.
func (c *Correlator) emitHead() {
	for len(c.pending) > 0 {
		p := &c.pending[0]
		wasDone := p.done
		if !wasDone {
			p.done = true
			c.waiting--
			c.Emit(&p.e)
		}
		c.dropHead()
		if !wasDone {
			return
		}
	}
}

func (c *Correlator) dropHead() {
	k := keyOf(&c.pending[0].e)
	c.pending[0] = pend{}
	c.pending = c.pending[1:]
	c.base++
	if seqs, ok := c.byKey[k]; ok {
		keep := seqs[:0]
		for _, q := range seqs {
			if q >= c.base {
				keep = append(keep, q)
			}
		}
		c.setKey(k, keep)
	}
	if len(c.pending) == 0 {
		c.pending = c.pending[:0:0]
	}
}

// Flush emits alone every event that has waited longer than the window.
// Call it periodically (for example once a second) and with a far-future
// time at the end of input.
func (c *Correlator) Flush(now time.Time) {
	w := c.window()
	for len(c.pending) > 0 && (c.pending[0].done || now.Sub(c.pending[0].arrived) > w) {
		if !c.pending[0].done {
			c.pending[0].done = true
			c.waiting--
			c.Emit(&c.pending[0].e)
		}
		c.dropHead()
	}
}

func match(a, b *event.Event, w time.Duration) bool {
	if a.Sources == b.Sources {
		return false
	}
	d := a.Time.Sub(b.Time)
	if d < -w || d > w {
		return false
	}
	if a.HasProtocol != b.HasProtocol || a.HasLocalPort != b.HasLocalPort || a.HasRemotePort != b.HasRemotePort {
		return false
	}
	if a.HasFilterID && b.HasFilterID && a.FilterID != 0 && b.FilterID != 0 && a.FilterID != b.FilterID {
		return false
	}
	if a.HasLayerID && b.HasLayerID && a.LayerID != b.LayerID {
		return false
	}
	if a.Verdict == event.VerdictPermit != (b.Verdict == event.VerdictPermit) {
		return false
	}
	return true
}

// merge combines an audit sighting and a net-event sighting.
func merge(a, b *event.Event) event.Event {
	au, ne := a, b
	if a.Sources == event.SourceNetevent {
		au, ne = b, a
	}
	m := *au
	m.Sources = event.SourceEvtlog | event.SourceNetevent
	if !m.HasFilterID || m.FilterID == 0 {
		m.FilterID, m.HasFilterID = ne.FilterID, ne.HasFilterID
	}
	if !m.HasLayerID {
		m.LayerID, m.HasLayerID = ne.LayerID, ne.HasLayerID
	}
	if m.LayerName == "" || (ne.LayerName != "" && len(m.LayerName) < len(ne.LayerName) && ne.HasLayerID) {
		// Prefer the FWPS key name ("ALE_AUTH_CONNECT_V4") over the audit
		// event's short name ("Connect").
		if ne.LayerName != "" {
			m.LayerName = ne.LayerName
		}
	}
	if m.Executable == "" {
		m.Executable, m.Name = ne.Executable, ne.Name
	}
	if m.UserID == "" {
		m.UserID = ne.UserID
	}
	if m.PackageSID == "" {
		m.PackageSID = ne.PackageSID
	}
	if m.Direction == event.DirectionUnknown {
		m.Direction = ne.Direction
	}
	m.NetEventType = ne.NetEventType
	if m.FilterName == "" {
		m.FilterName = ne.FilterName
	}
	if m.FilterProvider == "" {
		m.FilterProvider = ne.FilterProvider
	}
	if m.RuleID == "" {
		m.RuleID = ne.RuleID
	}
	if m.RuleName == "" {
		m.RuleName = ne.RuleName
	}
	if m.Info == "" {
		m.Info = ne.Info
	}
	if au.Time.After(ne.Time) && !ne.Time.IsZero() {
		m.Time = ne.Time // the earlier sighting is closer to the drop
	}
	m.Kind = ""
	event.Classify(&m)
	return m
}

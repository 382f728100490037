package output

import (
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// FlowWriter shows the flows of a pipeline on a Writer, each as its first
// event carrying an event.FlowInfo (count, first and last time, flow id).
// It is a pipeline.FlowEventSink (the flows keep their first event for it)
// and a pipeline.OverflowSink (events the full flow table could not fold
// are written as single events), so that the counts of everything it
// writes add up to the events the pipeline passed.
//
// In final mode (analyze: the input is finished) each flow is written once,
// when it closes, with its final count, in the order the flows opened
// (first seen first); a flow that closes early waits for the flows opened
// before it. In live mode (watch) a flow is written when it opens (count
// 1), and again when it closes or is flushed with more events: an update
// line whose Count is the events since its previous line and whose Total is
// the flow's count so far.
//
// FlowWriter does not own w: its owner closes it after the pipeline.
type FlowWriter struct {
	w    Writer
	live bool
	next uint64                  // final mode: the id of the next flow to write
	held map[uint64]*event.Event // final mode: closed flows waiting for an earlier one
}

// NewFlowWriter returns a FlowWriter on w; live selects live mode.
func NewFlowWriter(w Writer, live bool) *FlowWriter {
	return &FlowWriter{w: w, live: live, next: 1}
}

// WantsFlowEvents marks FlowWriter as a pipeline.FlowEventSink.
func (fw *FlowWriter) WantsFlowEvents() {}

// WriteFlow implements pipeline.FlowSink.
func (fw *FlowWriter) WriteFlow(f *pipeline.Flow, st pipeline.FlowState) error {
	if f.Event == nil {
		return nil // added after the flow opened: nothing to show
	}
	if fw.live {
		switch {
		case st == pipeline.FlowOpened:
			return fw.write(f, f.Count, false)
		case f.Count > f.Reported:
			return fw.write(f, f.Count-f.Reported, true)
		}
		return nil
	}
	if st != pipeline.FlowClosed {
		return nil
	}
	e := flowEvent(f, f.Count, false)
	if f.ID != fw.next {
		if fw.held == nil {
			fw.held = make(map[uint64]*event.Event)
		}
		fw.held[f.ID] = e
		return nil
	}
	if err := fw.w.Write(e); err != nil {
		return err
	}
	fw.next++
	return fw.drain(false)
}

// drain writes the held flows that are next in order (all of them when
// force is set, in id order).
func (fw *FlowWriter) drain(force bool) error {
	for len(fw.held) > 0 {
		e, ok := fw.held[fw.next]
		if !ok {
			if !force {
				return nil
			}
			fw.next++
			continue
		}
		delete(fw.held, fw.next)
		fw.next++
		if err := fw.w.Write(e); err != nil {
			return err
		}
	}
	return nil
}

// WriteOverflow implements pipeline.OverflowSink: an event that no flow
// counted is written on its own (count 1) at once.
func (fw *FlowWriter) WriteOverflow(e *event.Event) error { return fw.w.Write(e) }

// Close writes any flow still held (none after the pipeline closed its
// flows). It does not close w.
func (fw *FlowWriter) Close() error { return fw.drain(true) }

func (fw *FlowWriter) write(f *pipeline.Flow, n uint64, update bool) error {
	return fw.w.Write(flowEvent(f, n, update))
}

// flowEvent returns a shallow copy of the flow's first event with its flow
// information; the strings are the Aggregator's, which never changes them.
func flowEvent(f *pipeline.Flow, n uint64, update bool) *event.Event {
	e := *f.Event
	e.Flow = &event.FlowInfo{ID: f.ID, Count: n, Total: f.Count, Start: f.First, End: f.Last, Update: update}
	return &e
}

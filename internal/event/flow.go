package event

import "time"

// FlowInfo says that an event stands for a flow: a run of identical events
// (see internal/pipeline) that the outputs show as one line with its count
// and first and last times. The event it hangs on is the flow's first.
//
// Counts are made so that they add up: over every line written (first
// sights and updates alike), the sum of Count is the number of events read.
type FlowInfo struct {
	ID uint64 // wfp.flow.id: numbers the flows of one run from 1, in the order they opened

	// Count is ECS event.count: the events this line stands for. On a
	// first or final line it is the flow's count; on an update (watch) it
	// is the events counted since the flow's previous line.
	Count uint64
	// Total is the flow's count so far (wfp.flow.total on updates).
	Total uint64

	Start, End time.Time // ECS event.start and event.end: the first and last event of the flow
	// Update marks a line that updates a flow already shown
	// (wfp.flow.update: true), written by watch when more events came.
	Update bool
}

// EventCount returns the number of events e stands for: its flow's
// Count, or 1 for a single event.
func (e *Event) EventCount() uint64 {
	if e.Flow != nil {
		return e.Flow.Count
	}
	return 1
}

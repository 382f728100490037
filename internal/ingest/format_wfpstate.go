package ingest

import (
	"context"

	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

func init() {
	Register(Format{
		Name:     "wfpstate",
		Priority: 10,
		Detect:   func(head []byte) bool { return wfpstate.Detect(utf8Head(head)) },
		Read:     readWFPState,
	})
}

type stateSinkKey struct{}

// StateSink receives a WFP state dump read as an input; name is the
// input's Name. The dump belongs to the sink.
type StateSink func(name string, d *wfpstate.Dump)

// WithStateSink returns a context under which state dumps given as inputs
// are handed to sink (analyze uses them to resolve filter ids offline).
// Without one, a dump is read, checked and contributes no events.
func WithStateSink(ctx context.Context, sink StateSink) context.Context {
	return context.WithValue(ctx, stateSinkKey{}, sink)
}

// readWFPState reads "netsh wfp show state" output. It holds no events;
// its filters resolve other inputs' events.
func readWFPState(ctx context.Context, in Input, emit Emit, warn Warn) error {
	d, err := wfpstate.Read(ctx, utf8Input(in.R))
	if err != nil {
		return &Problem{Path: in.Name, Err: err}
	}
	if sink, ok := ctx.Value(stateSinkKey{}).(StateSink); ok && sink != nil {
		sink(in.Name, d)
	}
	return nil
}

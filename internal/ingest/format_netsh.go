package ingest

import (
	"context"
	"errors"
	"strconv"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/netsh"
)

func init() {
	Register(Format{
		Name:     "netsh",
		Priority: 10,
		Detect:   func(head []byte) bool { return netsh.Detect(utf8Head(head)) },
		Read:     readNetsh,
	})
}

// readNetsh reads "netsh wfp show netevents" XML, wfpdiag.xml from
// "netsh wfp capture", or single <netEvent> elements. Net events that
// cannot be read are reported with their position and skipped.
func readNetsh(ctx context.Context, in Input, emit Emit, warn Warn) error {
	_, err := netsh.Read(ctx, utf8Input(in.R), in.Name, func(e *event.Event) error { return emit(e) }, func(err error) {
		p := &Problem{Path: in.Name, Err: err}
		var ie *netsh.ItemError
		if errors.As(err, &ie) {
			p.Where = "net event " + strconv.FormatUint(ie.Index, 10)
			p.Err = ie.Err
		}
		warn(p)
	})
	return err
}

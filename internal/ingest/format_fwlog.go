package ingest

import (
	"context"
	"errors"
	"strconv"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/fwlog"
)

func init() {
	Register(Format{
		Name:     "fwlog",
		Priority: 30,
		Detect:   func(head []byte) bool { return fwlog.Detect(utf8Head(head)) },
		Read:     readFwlog,
	})
}

// readFwlog reads a Windows Firewall log (pfirewall.log). Times are read
// in the local zone of the machine running wfpwatch (the log does not say
// its zone; see the fwlog package). Every skipped line and every
// INFO-EVENTS-LOST line is reported with its line number.
func readFwlog(ctx context.Context, in Input, emit Emit, warn Warn) error {
	p := fwlog.Parser{FilePath: in.Name}
	_, err := fwlog.Read(ctx, utf8Input(in.R), &p, func(e *event.Event) error { return emit(e) }, func(err error) {
		pr := &Problem{Path: in.Name, Err: err}
		var le *fwlog.LineError
		if errors.As(err, &le) {
			pr.Where = "line " + strconv.FormatUint(le.Line, 10)
			pr.Err = le.Err
		}
		warn(pr)
	})
	return err
}

package ingest

import (
	"context"
	"fmt"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

func init() {
	Register(Format{
		Name:     "xml",
		Priority: 20,
		Detect: func(head []byte) bool {
			switch FirstElement(head) {
			case "Event", "Events":
				return true
			}
			return false
		},
		Read: readSecurityXML,
	})
}

// readSecurityXML reads Security event XML (wevtutil qe /f:xml,
// Get-WinEvent ToXml(), a saved event) with evtlog.ReadXML. Records that
// are not Filtering Platform events are skipped silently; fields that
// cannot be read are reported and the event is kept.
func readSecurityXML(ctx context.Context, in Input, emit Emit, warn Warn) error {
	var ev event.Event
	n := 0
	_, err := evtlog.ReadXML(in.R, func(rec *evtlog.Record, off int64) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		err := evtlog.Decode(rec, &ev)
		if err == evtlog.ErrNotWFP {
			return in.otherRecord(rec)
		}
		if err != nil {
			warn(&Problem{Path: in.Name, Where: fmt.Sprintf("offset %d", off), Err: err})
		}
		ev.Sources = event.SourceFile
		ev.FilePath = in.Name
		return emit(&ev)
	}, func(off int64, err error) {
		warn(&Problem{Path: in.Name, Where: fmt.Sprintf("offset %d", off), Err: err})
	})
	return err
}

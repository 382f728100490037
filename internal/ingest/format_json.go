package ingest

import (
	"bufio"
	"context"
	"errors"
	"strconv"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
	"github.com/wfpwatch/wfpwatch/internal/source/siem"
)

func init() {
	Register(Format{
		Name:     "json",
		Priority: 40,
		Detect:   func(head []byte) bool { return siem.Detect(utf8Head(head)) },
		Read:     readJSONLines,
	})
}

// readJSONLines reads SIEM exports of Security events as JSON lines
// (Winlogbeat 6/7+/8, Elastic Agent, NXLog, OTRF datasets): each line
// becomes an evtlog.Record, which evtlog.Decode interprets. Lines of other
// event ids are skipped silently; unreadable lines and fields are reported
// with their line number.
//
// JSON of which no line has the shape of a Security event is reported as an
// unknown format, with how it starts.
func readJSONLines(ctx context.Context, in Input, emit Emit, warn Warn) error {
	var ev event.Event
	br := bufio.NewReaderSize(utf8Input(in.R), 64<<10)
	head, _ := br.Peek(HeadSize)
	st, err := siem.ReadWith(ctx, br, siem.ReadOptions{Logon: in.Client != nil, Boot: in.Boot != nil}, func(rec *evtlog.Record, line uint64) error {
		err := evtlog.Decode(rec, &ev)
		if errors.Is(err, evtlog.ErrNotWFP) {
			return in.otherRecord(rec)
		}
		if err != nil {
			warn(&Problem{Path: in.Name, Where: "line " + strconv.FormatUint(line, 10), Err: err})
		}
		ev.Sources = event.SourceFile
		ev.FilePath = in.Name
		return emit(&ev)
	}, func(le *siem.LineError) {
		warn(&Problem{Path: in.Name, Where: "line " + strconv.FormatUint(le.Line, 10), Err: le.Err})
	})
	if st.Skipped > 0 && in.Other != nil {
		in.Other(int(st.Skipped)) // lines of other event ids
	}
	if st.Lines > 0 && len(st.Shapes) == 0 && ctx.Err() == nil {
		return &Problem{Path: in.Name, Err: notSecurityJSON(head)}
	}
	return err
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/evtx"
	"github.com/wfpwatch/wfpwatch/internal/orient"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

func init() {
	Register(Format{Name: "evtx", Priority: 10, Detect: evtx.Signature, Read: readEvtx})
}

// readEvtx reads the Filtering Platform events of a .evtx file with the
// fast path of package evtx: chunks are parsed on all cores, records that
// are not WFP audit events are skipped after reading their event id, and
// the rest are decoded straight from their substitution values. With a
// regular file it reads chunks with ReadAt; a stream (standard input, an
// archive member, a decompressed file) is first copied to a temporary file,
// within the bounds of the walk's spool budget and the free disk space,
// never into memory.
func readEvtx(ctx context.Context, in Input, emit Emit, warn Warn) error {
	var f *evtx.File
	var err error
	if in.File != nil && in.Size >= 0 {
		f, err = evtx.Open(in.File, in.Size)
	} else {
		tmp, n, cleanup, serr := in.spool.spool(ctx, in.R, ".evtx")
		if serr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &Problem{Path: in.Name, Err: serr}
		}
		defer cleanup()
		f, err = evtx.Open(tmp, n)
	}
	if err != nil {
		return &Problem{Path: in.Name, Err: err}
	}
	report := func(p *evtx.Problem) {
		warn(&Problem{Path: in.Name, Where: p.Where(), Err: p.Err})
	}
	for i := range f.Problems {
		report(&f.Problems[i])
	}
	type chunkEvents struct {
		evs      []event.Event
		errs     []*Problem
		unwanted int // events In.Want rejected
		other    int // records that are not WFP events
		clients  []chunkClient
		boots    []evtlog.Record // boot markers: Computer and Time
	}
	skipped := 0
	err = evtx.Each(ctx, f, evtx.Options{}, func(c *evtx.Chunk) chunkEvents {
		out := chunkEvents{evs: getEvents()}
		var want func(id int) bool
		if in.Want != nil {
			want = func(id int) bool {
				if in.Want(id) {
					return true
				}
				out.unwanted++
				return false
			}
		}
		var rec evtlog.Record
		c.Records(func(r *evtx.Record) bool {
			var ok bool
			var err error
			if in.Client != nil || in.Boot != nil {
				ok, err = r.WFPOrLogonIf(&rec, want)
			} else {
				ok, err = r.WFPIf(&rec, want)
			}
			if err != nil {
				c.Fail(r, err)
				return true
			}
			if !ok {
				out.other++ // counts the unwanted too: taken off below
				return true
			}
			if host, at, ok := evtlog.Boot(&rec); ok {
				out.other++
				if in.Boot != nil {
					out.boots = append(out.boots, evtlog.Record{Computer: host, Time: at})
				}
				return true
			}
			if evtlog.IsLogonID(rec.EventID) {
				out.other++
				if cl, ok := evtlog.Client(&rec); ok && in.Client != nil {
					out.clients = append(out.clients, chunkClient{at: len(out.evs), c: cl})
				}
				return true
			}
			out.evs = append(out.evs, event.Event{})
			ev := &out.evs[len(out.evs)-1]
			if err := evtlog.Decode(&rec, ev); err != nil {
				var fe *evtlog.FieldError
				if !errors.As(err, &fe) {
					out.evs = out.evs[:len(out.evs)-1]
					return true
				}
				out.errs = append(out.errs, &Problem{Path: in.Name,
					Where: fmt.Sprintf("chunk %d record %d offset 0x%x", c.Index, r.ID, r.Offset()), Err: err})
			}
			ev.Sources = event.SourceFile
			ev.FilePath = in.Name
			return true
		})
		return out
	}, func(c *evtx.Chunk, out chunkEvents) error {
		for i := range c.Problems() {
			report(&c.Problems()[i])
		}
		for _, p := range out.errs {
			warn(p)
		}
		skipped += c.Skipped()
		if out.unwanted > 0 && in.Unwanted != nil {
			in.Unwanted(out.unwanted)
		}
		if n := out.other - out.unwanted; n > 0 && in.Other != nil {
			in.Other(n)
		}
		if in.Progress != nil {
			in.Progress(c.Offset + evtx.ChunkSize)
		}
		for _, b := range out.boots {
			in.Boot(b.Computer, b.Time)
		}
		defer putEvents(out.evs)
		next := 0 // clients are handed on in their place among the events
		for i := range out.evs {
			for ; next < len(out.clients) && out.clients[next].at <= i; next++ {
				if err := in.Client(out.clients[next].c); err != nil {
					return err
				}
			}
			if err := emit(&out.evs[i]); err != nil {
				return err
			}
		}
		for ; next < len(out.clients); next++ {
			if err := in.Client(out.clients[next].c); err != nil {
				return err
			}
		}
		return nil
	})
	if skipped > 0 {
		warn(&Problem{Path: in.Name, Err: fmt.Errorf("%d records could not be read and were skipped", skipped)})
	}
	return err
}

// chunkClient is a logon's client and the number of the chunk's events
// read before it.
type chunkClient struct {
	at int
	c  orient.Client
}

// eventsPool recycles the per-chunk event slices of readEvtx: a chunk holds
// up to a few hundred WFP events, and growing a fresh slice of them for
// every chunk was a tenth of the time of reading a file of WFP events.
// Reuse is safe because Emit's event is only valid during the call.
var eventsPool = sync.Pool{New: func() any { return new([]event.Event) }}

func getEvents() []event.Event { return (*eventsPool.Get().(*[]event.Event))[:0] }

func putEvents(evs []event.Event) {
	if cap(evs) > 4096 {
		return // a crafted chunk's worth: let it go
	}
	clear(evs) // drop the strings the events point to
	eventsPool.Put(&evs)
}

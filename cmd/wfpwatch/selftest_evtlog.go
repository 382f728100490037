package main

import (
	"context"
	"errors"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

func init() { selftestEvtlog = startSelftestEvtlog }

// startSelftestEvtlog turns on the Connection audit subcategory (only if it
// is off, snapshot first, as watch does), subscribes to the Security log
// from a little before now (so that no trigger can fire before the
// subscription is in place) and hands the decoded events on. When ctx ends
// it restores the audit policy, then reports on done.
func startSelftestEvtlog(ctx context.Context, say func(string, ...any)) (<-chan event.Event, <-chan error, error) {
	m, err := auditManager(audit.DefaultStatePath(), "selftest")
	if err != nil {
		return nil, nil, err
	}
	c, err := m.Begin(audit.WantFor(false, false))
	if c != nil && c.Repaired != nil {
		say("evtlog: %s ended without restoring the audit policy; %s", c.Repaired.Owner, c.Repaired.Summary())
	}
	if err != nil {
		return nil, nil, err
	}
	say("evtlog: %s", c.Summary("it will be put back when selftest ends"))
	ch := make(chan event.Event, 256)
	done := make(chan error, 1)
	go func() {
		_, err := evtSubscribe(ctx, evtlog.Options{
			Query:     evtlog.QueryFor(false, false),
			Since:     time.Minute,
			OnGap:     func(g evtlog.Gap) { say("evtlog: warning: %s", g) },
			OnProblem: func(err error) { say("evtlog: warning: %v", err) },
		}, func(recs []evtlog.Record) error {
			for i := range recs {
				var e event.Event
				if err := evtlog.Decode(&recs[i], &e); errors.Is(err, evtlog.ErrNotWFP) {
					continue
				}
				e.Sources = event.SourceEvtlog
				select {
				case ch <- e:
				default: // the self-test only needs the first event per filter
				}
			}
			return nil
		})
		close(ch)
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			err = nil
		}
		r, rerr := m.End()
		switch {
		case rerr != nil:
			say("evtlog: could not put the audit policy back: %v\nRun 'wfpwatch audit restore' as administrator.", rerr)
		case r != nil:
			say("evtlog: %s", r.Summary())
		}
		done <- errors.Join(err, rerr)
	}()
	return ch, done, nil
}

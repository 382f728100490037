package output

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

type recWriter struct{ got []event.Event }

func (r *recWriter) Write(e *event.Event) error {
	c := *e
	if e.Flow != nil {
		f := *e.Flow
		c.Flow = &f
	}
	r.got = append(r.got, c)
	return nil
}
func (r *recWriter) Close() error { return nil }

// feed sends events with the given remote last octets at the given
// seconds through a pipeline with a 10 s window.
func feed(t *testing.T, fw *FlowWriter, live bool, evs [][2]int) {
	t.Helper()
	p := pipeline.New(pipeline.Config{Window: 10 * time.Second})
	p.Flows(fw)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, x := range evs {
		e := sample()
		e.RemoteIP = netip.AddrFrom4([4]byte{192, 0, 2, byte(x[0])})
		e.Time = t0.Add(time.Duration(x[1]) * time.Second)
		if err := p.Process(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFlowWriterFinalOrderAndCounts(t *testing.T) {
	var r recWriter
	// Flow 1 (.1) stays open longest; flow 2 (.2) closes first.
	feed(t, NewFlowWriter(&r, false), false, [][2]int{{1, 0}, {2, 1}, {1, 5}, {2, 2}, {1, 9}, {3, 10}, {1, 12}})
	var ids []uint64
	var sum uint64
	for _, e := range r.got {
		ids = append(ids, e.Flow.ID)
		sum += e.Flow.Count
		if e.Flow.Update {
			t.Errorf("update line in final mode: %+v", e.Flow)
		}
	}
	if len(ids) != 4 || ids[0] != 1 || ids[1] != 2 || ids[2] != 3 || ids[3] != 4 {
		t.Errorf("flow order %v, want 1 2 3 4", ids)
	}
	if sum != 7 {
		t.Errorf("counts sum to %d, want 7", sum)
	}
	if f := r.got[0].Flow; f.Count != 3 || f.End.Sub(f.Start) != 9*time.Second {
		t.Errorf("first flow %+v", f)
	}
}

func TestFlowWriterLiveUpdates(t *testing.T) {
	var r recWriter
	feed(t, NewFlowWriter(&r, true), true, [][2]int{{1, 0}, {1, 1}, {1, 2}, {2, 3}})
	// .1 first sight, .2 first sight, then .1's update at close (2 more of 3).
	if len(r.got) != 3 {
		t.Fatalf("%d lines, want 3", len(r.got))
	}
	u := r.got[2].Flow
	if !u.Update || u.Count != 2 || u.Total != 3 || u.ID != 1 {
		t.Errorf("update %+v", u)
	}
	var sum uint64
	for _, e := range r.got {
		sum += e.Flow.Count
	}
	if sum != 4 {
		t.Errorf("counts sum to %d, want 4", sum)
	}
}

package ingest

import (
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func TestFingerprints(t *testing.T) {
	t0 := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	rec := func(at time.Time, port uint16) event.Event {
		return event.Event{Time: at, Code: 5152, Host: "WS1", ICMPType: -1, ICMPCode: -1, LocalPort: port, HasLocalPort: true}
	}
	in := []event.Event{
		rec(t0, 1), rec(t0, 1), rec(t0, 2), rec(t0, 1), // a repeat, another record, a third repeat
		rec(t0.Add(time.Second), 1), rec(t0.Add(time.Second), 1), // a new time: counted again
		rec(t0, 1), // back to t0 (out of order): counted from 0 again
	}
	withID := rec(t0, 1)
	withID.RecordID = 77
	in = append(in, withID)
	preset := rec(t0, 1)
	preset.Fingerprint = 12345
	in = append(in, preset)

	var got []uint64
	emit := (&fingerprints{}).wrap(func(e *event.Event) error { got = append(got, e.Fingerprint); return nil })
	for i := range in {
		e := in[i]
		emit(&e)
	}
	a, b := rec(t0, 1), rec(t0, 2)
	c := rec(t0.Add(time.Second), 1)
	fa, fb, fc := event.Fingerprint(&a, 0), event.Fingerprint(&b, 0), event.Fingerprint(&c, 0)
	want := []uint64{
		fa, event.Occurrence(fa, 1), fb, event.Occurrence(fa, 2),
		fc, event.Occurrence(fc, 1),
		fa,
		0,     // a Security-log record id is its identity
		12345, // the reader's own
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: fingerprint %d, want %d", i, got[i], want[i])
		}
	}
}

package correlate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

var t0 = time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)

func audit(dt time.Duration, rport uint16) event.Event {
	e := event.Event{Time: t0.Add(dt), Sources: event.SourceEvtlog, Code: 5157, PID: 4242, HasPID: true,
		Direction: event.DirectionOutbound, Protocol: 6, HasProtocol: true,
		LocalIP: netip.MustParseAddr("10.0.0.5"), LocalPort: 50000, HasLocalPort: true,
		RemoteIP: netip.MustParseAddr("203.0.113.9"), RemotePort: rport, HasRemotePort: true,
		FilterID: 70123, HasFilterID: true, LayerID: 48, HasLayerID: true, LayerName: "Connect", FilterOrigin: "{RULE-1}"}
	e.SetExecutable(`\device\harddiskvolume3\tools\curl.exe`)
	event.Classify(&e)
	return e
}

func netev(dt time.Duration, rport uint16, filter uint64) event.Event {
	e := event.Event{Time: t0.Add(dt), Sources: event.SourceNetevent, NetEventType: event.NetEventClassifyDrop,
		Protocol: 6, HasProtocol: true, Direction: event.DirectionOutbound,
		LocalIP: netip.MustParseAddr("10.0.0.5"), LocalPort: 50000, HasLocalPort: true,
		RemoteIP: netip.MustParseAddr("203.0.113.9"), RemotePort: rport, HasRemotePort: true,
		FilterID: filter, HasFilterID: true, LayerID: 48, HasLayerID: true, LayerName: "ALE_AUTH_CONNECT_V4",
		UserID: "S-1-5-21-1", PackageSID: "S-1-15-2-9"}
	event.Classify(&e)
	return e
}

func TestMergeSameBlock(t *testing.T) {
	var out []event.Event
	c := &Correlator{Emit: func(e *event.Event) { out = append(out, *e) }}
	a, n := audit(30*time.Millisecond, 443), netev(0, 443, 70123)
	c.Add(&n, t0)
	c.Add(&a, t0.Add(40*time.Millisecond))
	if len(out) != 1 {
		t.Fatalf("%d events", len(out))
	}
	m := out[0]
	if m.Sources != event.SourceEvtlog|event.SourceNetevent || m.PID != 4242 || m.Code != 5157 || m.NetEventType != event.NetEventClassifyDrop ||
		m.PackageSID != "S-1-15-2-9" || m.UserID != "S-1-5-21-1" || m.LayerName != "ALE_AUTH_CONNECT_V4" || m.RuleID != "{RULE-1}" ||
		m.Reason != event.ReasonRule || m.Verdict != event.VerdictBlock || !m.Time.Equal(t0) {
		t.Fatalf("%+v", m)
	}
	if m.Sources.String() != "evtlog+netevent" {
		t.Error(m.Sources.String())
	}
}

func TestNoMerge(t *testing.T) {
	cases := []struct {
		name string
		a, b event.Event
	}{
		{"different port", audit(0, 443), netev(0, 444, 70123)},
		{"different filter", audit(0, 443), netev(0, 443, 1)},
		{"too far apart", audit(5*time.Second, 443), netev(0, 443, 70123)},
		{"same source", audit(0, 443), audit(0, 443)},
	}
	for _, tc := range cases {
		var out []event.Event
		c := &Correlator{Emit: func(e *event.Event) { out = append(out, *e) }}
		c.Add(&tc.a, t0)
		c.Add(&tc.b, t0.Add(10*time.Millisecond))
		if len(out) != 0 {
			t.Errorf("%s: emitted early %d", tc.name, len(out))
		}
		c.Flush(t0.Add(time.Minute))
		if len(out) != 2 || out[0].Sources == event.SourceEvtlog|event.SourceNetevent {
			t.Errorf("%s: %d events after flush", tc.name, len(out))
		}
	}
}

func TestOneToOneAndBounded(t *testing.T) {
	var out []event.Event
	c := &Correlator{Emit: func(e *event.Event) { out = append(out, *e) }, Max: 5}
	n1, n2, a := netev(0, 443, 70123), netev(time.Millisecond, 443, 70123), audit(2*time.Millisecond, 443)
	c.Add(&n1, t0)
	c.Add(&n2, t0)
	c.Add(&a, t0)
	c.Flush(t0.Add(time.Hour))
	if len(out) != 2 || c.Merged != 1 {
		t.Fatalf("%d events, %d merged", len(out), c.Merged)
	}
	out = nil
	for i := 0; i < 20; i++ {
		e := netev(0, uint16(1000+i), 1)
		c.Add(&e, t0)
	}
	if len(out) != 15 {
		t.Errorf("bound: %d emitted early", len(out))
	}
	f := event.Event{Sources: event.SourceFile}
	c.Add(&f, t0)
	if out[len(out)-1].Sources != event.SourceFile {
		t.Error("file event not passed through")
	}
}

func BenchmarkCorrelate(b *testing.B) {
	c := &Correlator{Emit: func(*event.Event) {}}
	evs := make([]event.Event, 0, 2000)
	for i := 0; i < 1000; i++ {
		evs = append(evs, netev(time.Duration(i)*time.Millisecond, uint16(1000+i), 70123), audit(time.Duration(i)*time.Millisecond, uint16(1000+i)))
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range evs {
			c.Add(&evs[i], t0.Add(time.Duration(n)*time.Millisecond))
		}
		n++
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

package orient_test

import (
	"fmt"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
)

// benchEvents returns n decoded events shaped like a Security log with
// auditing on: per host, binds and outbound connections with the host's
// address, and inbound connections to its services, two hosts interleaved,
// one of each order.
func benchEvents(b *testing.B, n int) []event.Event {
	var out []event.Event
	for i := 0; len(out) < n; i++ {
		host, a, order := "NEW", "10.0.0.5", "new"
		if i%2 == 1 {
			host, a, order = "OLD", "10.0.1.5", "old"
		}
		cport := 49152 + i%16000
		peer := fmt.Sprintf("10.0.%d.%d", i%2, 20+i%200)
		specs := []string{
			fmt.Sprintf("%s 5158 - 700 6 0.0.0.0:%d", host, cport),
			fmt.Sprintf("%s 5156 out 700 6 %s:%d %s:443", host, a, cport, peer),
		}
		if order == "new" {
			specs = append(specs, fmt.Sprintf("%s 5156 in 4 6 %s:%d %s:445", host, peer, cport+1, a))
		} else {
			specs = append(specs, fmt.Sprintf("%s 5156 in 4 6 %s:445 %s:%d", host, a, peer, cport+1))
		}
		for _, s := range specs {
			out = append(out, rec(b, len(out), s))
		}
	}
	return out[:n]
}

// BenchmarkOrienter measures the orienter alone on decoded events (the
// cost analyze adds per event, beside decoding; compare with
// BenchmarkDecode5157 of package evtlog).
func BenchmarkOrienter(b *testing.B) {
	evs := benchEvents(b, 4096)
	// Orienting an event again gives the same result (it records the order
	// applied), so the same events serve every round.
	work := evs
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		o := orient.New(func(*event.Event) error { return nil }, 0)
		for i := range work {
			if err := o.Process(&work[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := o.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// On a shared, loaded machine wall-clock figures drop with the load;
	// per CPU-second they do not.
	if cpu := cpuSeconds() - cpu0; cpu0 >= 0 && cpu > 0 {
		b.ReportMetric(float64(len(evs))*float64(b.N)/cpu, "events/cpu-s")
	}
}

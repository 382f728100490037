package netsh

import (
	"bytes"
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

const oneItem = `<item><header><timeStamp>2024-05-02T10:11:13Z</timeStamp><ipProtocol>6</ipProtocol></header><type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type><classifyDrop><filterId>5</filterId><layerId>44</layerId></classifyDrop></item>`

// TestBombs are the recipes of the netsh XML bombs, each built small: the
// reader must stop (or skip) at its bound without holding the input, and
// read what lies beside a skipped net event.
// peakHeap runs f and returns how far the live heap grew above where it
// started, sampled every millisecond with the collector made eager, so
// that garbage counts little and what f holds counts whole.
func peakHeap(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base && v-base > peak.Load() {
				peak.Store(v - base)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return peak.Load()
}

func TestBombs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		in     []byte
		err    error // ends the input
		events int
		probs  []error
	}{
		{"nesting", append([]byte("<netEvents>"), bytes.Repeat([]byte("<a>"), 4<<20)...), errTooDeep, 0, nil},
		{"nesting in an event", append([]byte("<netEvents><item>"), bytes.Repeat([]byte("<a>"), 4<<20)...), errTooDeep, 0, nil},
		{"text node", append([]byte("<netEvents>"+oneItem+"<item><header><timeStamp>"), bytes.Repeat([]byte("x"), 48<<20)...), errTokenLarge, 1, nil},
		{"attribute", append([]byte(`<netEvents><item a="`), bytes.Repeat([]byte("x>"), 24<<20)...), errTokenLarge, 0, nil},
		{"comment", append([]byte(`<netEvents><!--`), bytes.Repeat([]byte("<x>"), 16<<20)...), errTokenLarge, 0, nil},
		{"large net event", []byte("<netEvents>" + oneItem + "<item>" + strings.Repeat("<flags><item>x</item></flags>", (MaxNetEvent/29)+10) + "</item>" + oneItem + "</netEvents>"),
			nil, 2, []error{errItemLarge}},
		{"large filter", []byte("<wfpdiag><filters><item>" + strings.Repeat("<x/>", MaxNetEvent/4+10) + "</item></filters><events><netEvent>" + oneItem[6:len(oneItem)-7] + "</netEvent></events></wfpdiag>"),
			nil, 1, []error{errItemLarge}},
		{"comments and CDATA are not bounded by their '<'", []byte("<netEvents><!-- a <b> c -->" + "<![CDATA[ <x> ]]>" + `<?pi <x> ?>` + oneItem + "</netEvents>"), nil, 1, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var evs []event.Event
			var probs []error
			var err error
			peak := peakHeap(func() { evs, probs, _, err = readAll(t, tt.in, "bomb.xml") })
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if len(evs) != tt.events {
				t.Errorf("%d events, want %d", len(evs), tt.events)
			}
			if len(probs) != len(tt.probs) {
				t.Fatalf("problems %v, want %v", probs, tt.probs)
			}
			for i := range probs {
				if !errors.Is(probs[i], tt.probs[i]) {
					t.Errorf("problem %v, want %v", probs[i], tt.probs[i])
				}
			}
			// The unbounded reader held several times its input.
			if peak > 48<<20 {
				t.Errorf("heap grew by %d MiB for %d MiB of input", peak>>20, len(tt.in)>>20)
			}
		})
	}
}

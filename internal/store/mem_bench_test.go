package store

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// heapSampler records the peak of the live Go heap while it runs, sampled
// every few milliseconds.
type heapSampler struct {
	peak atomic.Uint64
	done chan struct{}
	end  chan struct{}
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{}), end: make(chan struct{})}
	go func() {
		defer close(h.end)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) stop() uint64 {
	close(h.done)
	<-h.end
	return h.peak.Load()
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes, where
// the system says it (Linux), else 0. SQLite's own memory (page cache,
// WAL index) is outside the Go heap and shows only here.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

// BenchmarkIngestMemory is analyze --db on a long input: b.N events
// through the pipeline into a Writer, where every event has a remote
// address, port and app of its own among millions (the worst case for
// anything kept per distinct value). It reports the peak live Go heap,
// which must not grow with b.N (goal: under 150 MB whatever the input),
// under the soft memory limit analyze --db sets (BoundMemory);
// run it with -benchtime=1000000x and 3000000x to compare.
func BenchmarkIngestMemory(b *testing.B) {
	evs := benchEvents(5_000, base, time.Millisecond, 44)
	db, _ := openTemp(b, Options{MaxAge: -1, MaxBytes: -1})
	w := db.NewWriter(WriterOptions{PruneInterval: -1})
	p := pipeline.New(pipeline.Config{})
	p.Events(w)
	p.Flows(w)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	BoundMemory()
	runtime.GC()
	h := startHeapSampler()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := &evs[i%len(evs)]
		e.Time = base.Add(time.Duration(i) * 10 * time.Millisecond)
		e.RecordID = uint64(i + 1)
		e.RemoteIP = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		e.RemotePort = uint16(i)
		e.SetExecutable(fmt.Sprintf(`C:\apps\app%d.exe`, i%200_000))
		if err := p.Process(e); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(h.stop())/(1<<20), "peak-heap-MB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	}
}

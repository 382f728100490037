package evtx

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// The throughput inputs: the two large Security.evtx samples.
var benchFiles = []struct{ name, path string }{
	{"security-2.1MB", "evtx/omerbenamram-evtx_security.evtx"},
	{"mitre-3.2MB", "evtx/EVTX-to-MITRE-Attack_ID4688-5447-4950-Firewall_disabled_command.evtx"},
	{"rdp-5156", "evtx/EVTX-ATTACK-SAMPLES_DE_RDP_Tunnel_5156.evtx"},
}

func benchWorkers() []int {
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

// cpuMetric reports MB per CPU-second (user+system time of the whole
// process) when the returned func runs at the end of the benchmark. On a
// shared, overloaded machine the wall-clock MB/s drops with the load while
// this figure does not: with one worker it is what one idle core would do.
func cpuMetric(b *testing.B, size int) func() {
	start := cpuSeconds()
	return func() {
		if start < 0 {
			return
		}
		if cpu := cpuSeconds() - start; cpu > 0 {
			b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu, "MB/cpu-s")
		}
	}
}

// BenchmarkFullXML renders every record to XML (what 'wfpwatch evtx dump'
// does, minus writing), MB/s of .evtx input, one worker and all cores.
func BenchmarkFullXML(b *testing.B) {
	for _, bf := range benchFiles {
		data := readSample(b, bf.path)
		for _, w := range benchWorkers() {
			b.Run(bf.name+"/workers="+strconv.Itoa(w), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				recs := 0
				defer cpuMetric(b, len(data))()
				for i := 0; i < b.N; i++ {
					res, err := Dump(context.Background(), bytesReaderAt(data), int64(len(data)), io.Discard,
						DumpOptions{Opts: Options{Workers: w}})
					if err != nil {
						b.Fatal(err)
					}
					recs += res.Records
				}
				b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkWFP is the analyze path: every record's event id is read, WFP
// records are decoded into event.Event and classified.
func BenchmarkWFP(b *testing.B) {
	for _, bf := range benchFiles {
		data := readSample(b, bf.path)
		for _, w := range benchWorkers() {
			b.Run(bf.name+"/workers="+strconv.Itoa(w), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				recs, evs := 0, 0
				defer cpuMetric(b, len(data))()
				for i := 0; i < b.N; i++ {
					f, err := OpenBytes(data)
					if err != nil {
						b.Fatal(err)
					}
					err = Each(context.Background(), f, Options{Workers: w}, func(c *Chunk) [2]int {
						var rec evtlog.Record
						var ev event.Event
						var n [2]int
						c.Records(func(r *Record) bool {
							n[0]++
							ok, err := r.WFP(&rec)
							if err != nil {
								b.Error(err)
							}
							if ok {
								evtlog.Decode(&rec, &ev)
								n[1]++
							}
							return true
						})
						return n
					}, func(c *Chunk, n [2]int) error { recs += n[0]; evs += n[1]; return nil })
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(evs)/b.Elapsed().Seconds(), "wfp-events/s")
			})
		}
	}
}

type readerAt []byte

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r)) {
		return 0, io.EOF
	}
	n := copy(p, r[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func bytesReaderAt(b []byte) io.ReaderAt { return readerAt(b) }

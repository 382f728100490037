package evtx

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
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

// wfpFile builds a file of n chunks full of 5157 records (the fixture
// template): the worst case for analyze, every record a WFP event. Values
// vary as on a busy host (ephemeral source ports, thousands of remote
// addresses, a few dozen processes and filters), so caches of repeated
// values are not flattered.
func wfpFile(n int) []byte {
	r := rand.New(rand.NewPCG(7, 8))
	var apps []string
	for i := 0; i < 30; i++ {
		apps = append(apps, fmt.Sprintf(`\device\harddiskvolume2\program files\vendor%02d\app%02d.exe`, i/3, i))
	}
	origins := []string{"Query User Default", "WSH Default", "Stealth",
		"{8A2C7B1E-0D4F-4C1B-9F2E-0123456789AB}", "{0B1C7B1E-0D4F-4C1B-9F2E-0123456789CD}"}
	ports := []string{"443", "80", "53", "445", "3389", "135", "8080", "5985"}
	rid, ft := uint64(1), uint64(131117906743460000)
	vals := func() []value {
		v := wfpValues(5157, "host.example.test", apps[min(int(r.ExpFloat64()*6), len(apps)-1)])
		v[5], v[6] = vFT(ft), vU64(rid)
		v[10] = vU64(uint64(400 + r.IntN(200)*4))
		v[13] = vStr(fmt.Sprintf("10.0.0.%d", 1+r.IntN(3)))
		v[14] = vStr(strconv.Itoa(49152 + r.IntN(16384)))
		v[15] = vStr(fmt.Sprintf("192.0.%d.%d", r.IntN(16), r.IntN(256)))
		v[16] = vStr(ports[r.IntN(len(ports))])
		v[18] = vU64(uint64(66000 + r.IntN(50)))
		v[23] = vStr(origins[r.IntN(len(origins))])
		rid++
		ft += 10000 * uint64(1+r.IntN(50))
		return v
	}
	var chunks [][]byte
	id := uint64(1)
	for i := 0; i < n; i++ {
		c := newChunk(id)
		var defOff int
		c.record(ft, func(x *bx) {
			defOff = len(x.b) + 10
			x.templateInstance(func() { wfpTemplate(x) }, vals)
		})
		for len(c.x.b) < ChunkSize-2048 {
			c.record(ft, func(x *bx) { x.templateRef(defOff, vals()) })
		}
		id += c.n
		chunks = append(chunks, c.bytes())
	}
	return fileOf(chunks...)
}

// TestWriteWFPBenchFile writes wfpFile to $WFPWATCH_WFP_EVTX (chunks:
// $WFPWATCH_WFP_EVTX_CHUNKS, default 320, about 21 MB) for bench/run.sh's
// whole-process figures on a file where every record is a WFP event.
func TestWriteWFPBenchFile(t *testing.T) {
	path := os.Getenv("WFPWATCH_WFP_EVTX")
	if path == "" {
		t.Skip("set WFPWATCH_WFP_EVTX=FILE to write the synthetic all-WFP .evtx file")
	}
	n := 320
	if s := os.Getenv("WFPWATCH_WFP_EVTX_CHUNKS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("WFPWATCH_WFP_EVTX_CHUNKS=%q: want a positive number", s)
		}
	}
	if err := os.WriteFile(path, wfpFile(n), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkWFPAllEvents decodes a file where every record is a WFP event.
func BenchmarkWFPAllEvents(b *testing.B) {
	data := wfpFile(32)
	for _, w := range benchWorkers() {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			defer cpuMetric(b, len(data))()
			evs := 0
			start := cpuSeconds()
			for i := 0; i < b.N; i++ {
				f, err := OpenBytes(data)
				if err != nil {
					b.Fatal(err)
				}
				err = Each(context.Background(), f, Options{Workers: w}, func(c *Chunk) int {
					var rec evtlog.Record
					var ev event.Event
					n := 0
					c.Records(func(r *Record) bool {
						if ok, _ := r.WFP(&rec); ok {
							evtlog.Decode(&rec, &ev)
							n++
						}
						return true
					})
					return n
				}, func(c *Chunk, n int) error { evs += n; return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(evs)/b.Elapsed().Seconds(), "events/s")
			if cpu := cpuSeconds() - start; start >= 0 && cpu > 0 {
				b.ReportMetric(float64(evs)/cpu, "events/cpu-s")
			}
		})
	}
}

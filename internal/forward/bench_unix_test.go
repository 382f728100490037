//go:build unix

package forward

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchForward writes b.N events through a forwarder to url, durable queue
// on, and waits until all were delivered. It reports events/s end to end
// and the CPU time of this process per event (the receiver's CPU is not
// counted when it is another process).
func benchForward(b *testing.B, url string) {
	fw, err := Open([]string{url}, Options{StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	e := testEvent(0)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		e.RecordID = uint64(i + 1)
		if err := fw.Write(e); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
}

func BenchmarkForwardFile(b *testing.B) {
	benchForward(b, "file://"+filepath.ToSlash(filepath.Join(b.TempDir(), "out.ndjson"))+"?max-size=104857600")
}

// BenchmarkForwardSyslogTCP sends to rsyslog when it is installed (its CPU
// is not in cpu-ns/event), else to an in-process receiver that reads and
// discards.
func BenchmarkForwardSyslogTCP(b *testing.B) {
	port := 0
	if rs := rsyslogBench(b); rs != nil {
		rs.start()
		defer rs.stop()
		port = rs.port
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go io.Copy(io.Discard, c)
			}
		}()
		port = l.Addr().(*net.TCPAddr).Port
	}
	benchForward(b, fmt.Sprintf("syslog+tcp://127.0.0.1:%d", port))
}

func BenchmarkForwardKafka(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "wfp"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	benchForward(b, "kafka://"+strings.Join(c.ListenAddrs(), ",")+"/wfp")
}

package fwlog

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

var update = flag.Bool("update", false, "rewrite golden files")

func parseOne(t *testing.T, header, line string) (event.Event, Result, error) {
	t.Helper()
	p := Parser{Location: time.UTC}
	var ev event.Event
	if header != "" {
		if _, err := p.ParseLine([]byte(header), 1, &ev); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.ParseLine([]byte(line), 2, &ev)
	return ev, res, err
}

const hdr = "#Fields: " + DefaultFields

func TestParseLineTable(t *testing.T) {
	tests := []struct {
		name, header, line string
		verdict            event.Verdict
		kind               event.Kind
		dir                event.Direction
		local, remote      string
		proto              uint8
	}{
		{"inbound syn", hdr, "2024-03-01 09:15:02 DROP TCP 203.0.113.7 192.0.2.10 51522 3389 52 S 1 0 64240 - - - RECEIVE",
			event.VerdictBlock, event.KindConnection, event.DirectionInbound, "192.0.2.10:3389", "203.0.113.7:51522", 6},
		{"inbound rst", hdr, "2024-03-01 09:15:02 DROP TCP 203.0.113.7 192.0.2.10 51522 3389 40 R 1 0 0 - - - RECEIVE",
			event.VerdictDrop, event.KindPacket, event.DirectionInbound, "192.0.2.10:3389", "203.0.113.7:51522", 6},
		{"inbound synack", hdr, "2024-03-01 09:15:02 DROP TCP 203.0.113.7 192.0.2.10 443 50000 40 AS 1 1 0 - - - RECEIVE",
			event.VerdictDrop, event.KindPacket, event.DirectionInbound, "192.0.2.10:50000", "203.0.113.7:443", 6},
		{"outbound udp", hdr, "2024-03-01 09:15:02 DROP UDP 192.0.2.10 198.51.100.53 61000 53 60 - - - - - - - SEND",
			event.VerdictBlock, event.KindConnection, event.DirectionOutbound, "192.0.2.10:61000", "198.51.100.53:53", 17},
		{"multicast mdns", hdr, "2021-06-22 12:19:41 DROP UDP 192.168.178.25 224.0.0.251 5353 5353 73 - - - - - - - RECEIVE",
			event.VerdictDrop, event.KindPacket, event.DirectionInbound, "224.0.0.251:5353", "192.168.178.25:5353", 17},
		{"broadcast", hdr, "2021-06-22 12:19:41 DROP UDP 192.168.178.25 192.168.178.255 138 138 73 - - - - - - - RECEIVE",
			event.VerdictDrop, event.KindPacket, event.DirectionInbound, "192.168.178.255:138", "192.168.178.25:138", 17},
		{"unicast udp in v6", hdr, "2021-06-22 12:19:41 DROP UDP 2001:db8::1 2001:db8::2 5000 5001 73 - - - - - - - RECEIVE",
			event.VerdictBlock, event.KindConnection, event.DirectionInbound, "[2001:db8::2]:5001", "[2001:db8::1]:5000", 17},
		{"ping", hdr, "2021-06-22 12:19:41 DROP ICMP 192.0.2.1 192.0.2.2 - - 60 - - - - 8 0 - RECEIVE",
			event.VerdictBlock, event.KindConnection, event.DirectionInbound, "", "", 1},
		{"icmp unreachable", hdr, "2021-06-22 12:19:41 DROP ICMP 192.0.2.1 192.0.2.2 - - 60 - - - - 3 3 - RECEIVE",
			event.VerdictDrop, event.KindPacket, event.DirectionInbound, "", "", 1},
		{"icmpv6 echo", hdr, "2021-06-22 12:19:41 DROP ICMP 2001:db8::1 2001:db8::2 - - 60 - - - - 128 0 - RECEIVE",
			event.VerdictBlock, event.KindConnection, event.DirectionInbound, "", "", 58},
		{"igmp", hdr, "2021-06-22 12:19:41 DROP 2 192.0.2.1 192.0.2.2 - - 60 - - - - - - - RECEIVE",
			event.VerdictDrop, event.KindPacket, event.DirectionInbound, "", "", 2},
		{"allow", hdr, "2021-06-22 12:19:44 ALLOW TCP 192.168.178.51 64.39.104.113 52978 443 0 - 0 0 0 - - - SEND",
			event.VerdictPermit, event.KindConnection, event.DirectionOutbound, "192.168.178.51:52978", "64.39.104.113:443", 6},
		{"forward", hdr, "2021-06-22 12:19:44 DROP TCP 192.0.2.1 198.51.100.1 1 2 0 S 0 0 0 - - - FORWARD",
			event.VerdictDrop, event.KindPacket, event.DirectionForward, "192.0.2.1:1", "198.51.100.1:2", 6},
		{"reordered", "#Fields: path action dst-port date src-ip time dst-ip protocol src-port", "RECEIVE DROP 22 2024-03-01 198.51.100.4 23:59:59 192.0.2.10 TCP 40000",
			event.VerdictBlock, event.KindConnection, event.DirectionInbound, "192.0.2.10:22", "198.51.100.4:40000", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, res, err := parseOne(t, tt.header, tt.line)
			if err != nil || res.Kind != LineEvent {
				t.Fatalf("ParseLine: %v %v", res, err)
			}
			if ev.Verdict != tt.verdict || ev.Kind != tt.kind || ev.Direction != tt.dir {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", ev.Verdict, ev.Kind, ev.Direction, tt.verdict, tt.kind, tt.dir)
			}
			if tt.local != "" && ev.Local().String() != tt.local {
				t.Errorf("local %v, want %s", ev.Local(), tt.local)
			}
			if tt.remote != "" && ev.Remote().String() != tt.remote {
				t.Errorf("remote %v, want %s", ev.Remote(), tt.remote)
			}
			if !ev.HasProtocol || ev.Protocol != tt.proto {
				t.Errorf("protocol %d %v, want %d", ev.Protocol, ev.HasProtocol, tt.proto)
			}
			if ev.Sources != event.SourceFwlog || ev.RecordID != 2 {
				t.Errorf("sources %v record %d", ev.Sources, ev.RecordID)
			}
			if tt.verdict != event.VerdictPermit && ev.Reason != event.ReasonUnresolved {
				t.Errorf("reason %q", ev.Reason)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	bad := []string{
		"2024-03-01 09:15:02 DROP TCP",                                                        // too few fields
		"2024-03-01 09:15:02 OPEN TCP 1.2.3.4 1.2.3.5 1 2 0 - - - - - - - RECEIVE",            // unknown action
		"2024-13-01 09:15:02 DROP TCP 1.2.3.4 1.2.3.5 1 2 0 - - - - - - - RECEIVE",            // bad month
		"2024-03-01 9:15:02 DROP TCP 1.2.3.4 1.2.3.5 1 2 0 - - - - - - - RECEIVE",             // bad time
		"2024-03-01 09:15:02 DROP TCP 1.2.3.4 1.2.3.5 1 2 0 - - - - - - - RECEIVE extra more", // too many
	}
	for _, line := range bad {
		ev := event.Event{Host: "untouched"}
		p := Parser{Location: time.UTC}
		p.SetFields([]byte(DefaultFields))
		res, err := p.ParseLine([]byte(line), 1, &ev)
		if err == nil || res.Kind == LineEvent {
			t.Errorf("%q: no error (%v)", line, res)
		}
		if ev.Host != "untouched" {
			t.Errorf("%q: event changed on error", line)
		}
	}
}

func TestFieldErrorsKeepEvent(t *testing.T) {
	for _, line := range []string{
		"2024-03-01 09:15:02 DROP TCP 1.2.3.400 1.2.3.5 1 2 0 - - - - - - - RECEIVE",
		"2022-04-20 17:33:55 DROP UDP 192.168.17.1 192.168.1.10055 137 137 78 - - - - - - - RECEIVE",
		"2024-03-01 09:15:02 DROP TCP 1.2.3.4 1.2.3.5 1 99999 0 - - - - - - - RECEIVE",
		"2024-03-01 09:15:02 DROP XYZ 1.2.3.4 1.2.3.5 1 2 0 - - - - - - - RECEIVE",
	} {
		ev, res, err := parseOne(t, hdr, line)
		var fe *FieldError
		if res.Kind != LineEvent || !errors.As(err, &fe) || ev.Verdict == "" || ev.Direction != event.DirectionInbound {
			t.Errorf("%q: %v %v %+v", line, res, err, ev)
		}
	}
}

func TestLostAndNoHeader(t *testing.T) {
	_, res, err := parseOne(t, hdr, "2021-06-22 12:48:21 INFO-EVENTS-LOST - - - - - - - - - - - - 7 -")
	if err != nil || res.Kind != LineLost || res.Lost != 7 {
		t.Fatalf("lost: %v %v", res, err)
	}
	ev, res, err := parseOne(t, "", "2021-06-22 12:19:41 DROP UDP 192.168.178.25 224.0.0.251 5353 5353 73 - - - - - - - RECEIVE")
	if !errors.Is(err, ErrNoHeader) || res.Kind != LineEvent || ev.LocalPort != 5353 {
		t.Fatalf("no header: %v %v %+v", res, err, ev)
	}
}

func TestTimeZones(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	p := Parser{Location: ny}
	var ev event.Event
	p.ParseLine([]byte(hdr), 1, &ev)
	line := "2024-03-10 03:30:00 DROP UDP 192.0.2.1 192.0.2.2 1 2 0 - - - - - - - SEND"
	if _, err := p.ParseLine([]byte(line), 2, &ev); err != nil {
		t.Fatal(err)
	}
	if got := ev.Time.Format(time.RFC3339); got != "2024-03-10T07:30:00Z" {
		t.Errorf("DST day: %s", got)
	}
	p.ParseLine([]byte("#Time Format: UTC"), 3, &ev)
	p.ParseLine([]byte(line), 4, &ev)
	if got := ev.Time.Format(time.RFC3339); got != "2024-03-10T03:30:00Z" {
		t.Errorf("UTC header: %s", got)
	}
}

// TestGolden reads the fixtures in testdata and compares the JSON of every
// event, and every problem, with the .golden files. Run with -update to
// rewrite them after checking the diff.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.log")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			p := Parser{Location: time.UTC, FilePath: filepath.Base(f)}
			st, err := Read(context.Background(), bytes.NewReader(data), &p, func(e *event.Event) error {
				out.Write(e.AppendJSON(nil))
				out.WriteByte('\n')
				return nil
			}, func(err error) { fmt.Fprintf(&out, "problem: %v\n", err) })
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "stats: %+v\n", st)
			golden := strings.TrimSuffix(f, ".log") + ".golden"
			if *update {
				os.WriteFile(golden, out.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update and check the diff):\n%s", golden, out.String())
			}
		})
	}
}

// TestSamples checks the real logs against the counts in SOURCES.md.
func TestSamples(t *testing.T) {
	tests := []struct {
		file                 string
		lines, drops, allows uint64
		lostLines, problems  uint64
	}{
		{"pfirewall/BetaHydri-ParseFirewallLog_pfirewall.log", 16809, 11688, 16809 - 11688 - 2, 2, 0},
		// 17 lines have the mangled dst-ip "192.168.1.10055": kept, reported.
		{"pfirewall/rafaelnett-CYBER-DEFENSE-OPERATIONS_Lab_03_pfirewall.log", 267, 56, 211, 0, 17},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			path := samples.Path(t, tt.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var drops, allows, lostLines, blocks, problems uint64
			p := Parser{Location: time.UTC}
			st, err := Read(context.Background(), f, &p, func(e *event.Event) error {
				switch e.Verdict {
				case event.VerdictPermit:
					allows++
				case event.VerdictBlock:
					blocks++
					drops++
				default:
					drops++
				}
				return nil
			}, func(err error) {
				var le *LostError
				if errors.As(err, &le) {
					lostLines++
					return
				}
				t.Logf("problem: %v", err)
				problems++
			})
			if err != nil {
				t.Fatal(err)
			}
			if drops != tt.drops || allows != tt.allows || lostLines != tt.lostLines || problems != tt.problems {
				t.Errorf("drops %d allows %d lost lines %d problems %d; want %d %d %d %d", drops, allows, lostLines, problems, tt.drops, tt.allows, tt.lostLines, tt.problems)
			}
			if st.Events+lostLines != tt.lines || st.Drops != tt.drops || st.Bad != 0 {
				t.Errorf("stats %+v", st)
			}
			t.Logf("%s: %d DROP lines, of which %d classified as blocks; %d ALLOW; %d events lost", tt.file, drops, blocks, allows, st.Lost)
		})
	}
}

func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n#Fields: " + DefaultFields + " pid\n")
	lines := []string{
		"2021-06-22 12:19:41 DROP UDP 192.168.178.25 224.0.0.251 5353 5353 73 - - - - - - - RECEIVE 4\n",
		"2021-06-22 12:19:41 DROP UDP fe80::f58b:f19a:db72:872b ff02::fb 5353 5353 93 - - - - - - - RECEIVE 4\n",
		"2021-06-22 12:19:44 ALLOW TCP 192.168.178.51 64.39.104.113 52978 443 0 - 0 0 0 - - - SEND 1234\n",
		"2021-06-22 12:19:45 DROP TCP 203.0.113.7 192.168.178.51 51522 3389 52 S 1442170427 0 64240 - - - RECEIVE -\n",
	}
	n := 0
	for buf.Len() < 4<<20 {
		buf.WriteString(lines[n%len(lines)])
		n++
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var total uint64
	for i := 0; i < b.N; i++ {
		p := Parser{}
		st, err := Read(context.Background(), bytes.NewReader(data), &p, func(*event.Event) error { return nil }, func(error) {})
		if err != nil {
			b.Fatal(err)
		}
		total += st.Lines
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "lines/s")
	// On a shared machine wall time includes waiting for a core; the
	// per-core figure is lines per CPU-second (GOMAXPROCS does not matter:
	// the parser runs on one goroutine).
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(total)/cpu.Seconds(), "lines/cpu-s")
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte(hdr), []byte("2024-03-01 09:15:02 DROP TCP 203.0.113.7 192.0.2.10 51522 3389 52 S 1 0 64240 - - - RECEIVE"))
	f.Add([]byte("#Fields: path action dst-port date src-ip time dst-ip protocol src-port pid"), []byte("RECEIVE DROP 22 2024-03-01 198.51.100.4 23:59:59.5 192.0.2.10 TCP 40000 7"))
	f.Add([]byte("#Time Format: UTC"), []byte("2021-06-22 12:48:21 INFO-EVENTS-LOST - - - - - - - - - - - - 7 -"))
	f.Add([]byte(""), []byte("2021-06-22 12:19:41 DROP ICMP fe80::1%eth0 ff02::1 - - 0 - - - - 134 0 - RECEIVE"))
	f.Fuzz(func(t *testing.T, header, line []byte) {
		p := Parser{Location: time.UTC}
		var ev event.Event
		p.ParseLine(header, 1, &ev)
		res, err := p.ParseLine(line, 2, &ev)
		if res.Kind == LineEvent {
			if ev.Verdict == "" || ev.Kind == "" || ev.Sources != event.SourceFwlog {
				t.Fatalf("incomplete event %+v", ev)
			}
			ev.AppendJSON(nil)
		} else if err == nil && res.Kind != LineBlank && res.Kind != LineHeader && res.Kind != LineLost {
			t.Fatalf("kind %v without error", res.Kind)
		}
	})
}

func TestReadFingerprints(t *testing.T) {
	const head = "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n" +
		"#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path\n"
	const line = "2024-05-02 10:00:00 DROP UDP 192.168.1.5 239.255.255.250 1900 1900 0 - - - - - - - RECEIVE\n"
	read := func(s string) []uint64 {
		var fps []uint64
		p := Parser{Location: time.UTC}
		if _, err := Read(context.Background(), strings.NewReader(s), &p, func(e *event.Event) error {
			fps = append(fps, e.Fingerprint)
			return nil
		}, func(error) {}); err != nil {
			t.Fatal(err)
		}
		return fps
	}
	log := head + line + line + strings.Replace(line, "1900 1900", "1900 1901", 1)
	a := read(log)
	if len(a) != 3 || a[0] == 0 || a[0] == a[1] || a[1] == a[2] {
		t.Fatalf("fingerprints %v: the same line at two positions must differ", a)
	}
	if b := read(strings.ReplaceAll(log, "\n", "\r\n")); !slices.Equal(a, b) {
		t.Errorf("CRLF changed the fingerprints: %v, %v", a, b)
	}
	// The log grown by a line: the lines it had keep theirs.
	if b := read(log + line); !slices.Equal(a, b[:3]) || len(b) != 4 {
		t.Errorf("a grown log: %v, %v", a, b)
	}
	// Another log (another first record) with the same later lines.
	other := head + strings.Replace(line, "10:00:00", "10:00:01", 1) + line + line
	if b := read(other); b[1] == a[1] || b[2] == a[1] {
		t.Errorf("another log shares fingerprints: %v, %v", a, b)
	}
}

package main

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

var updateQuery = flag.Bool("update-query", false, "rewrite the golden files of the query tests")

var qNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// queryDB writes a small history: blocks and drops from three apps over
// the two hours before qNow.
func queryDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.db")
	db, err := store.Open(path, store.Options{MaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{PruneInterval: -1})
	apps := []string{`\device\harddiskvolume3\windows\system32\svchost.exe`, `\device\harddiskvolume3\apps\chrome.exe`, `\device\harddiskvolume3\apps\=evil.exe`}
	for i := range 60 {
		e := event.Event{ICMPType: -1, ICMPCode: -1, Sources: event.SourceFile, Host: "WS-01"}
		e.Time = qNow.Add(-2*time.Hour + time.Duration(i)*2*time.Minute)
		e.Code = 5157
		e.Kind = event.KindConnection
		e.Verdict = event.VerdictBlock
		e.Reason = "rule"
		e.RuleName = "Block outbound " + []string{"DNS", "web"}[i%2]
		e.Direction = event.DirectionOutbound
		if i%3 == 0 {
			e.Code, e.Kind, e.Verdict, e.Reason, e.RuleName = 5152, event.KindPacket, event.VerdictDrop, "default:stealth", ""
			e.FilterOrigin = "Stealth"
			e.Direction = event.DirectionInbound
		}
		e.Protocol, e.HasProtocol = 6, true
		e.LocalIP = netip.MustParseAddr("192.168.1.10")
		e.LocalPort, e.HasLocalPort = uint16(50000+i), true
		e.RemoteIP = netip.AddrFrom4([4]byte{10, 0, byte(i % 2), byte(i % 5)})
		e.RemotePort, e.HasRemotePort = []uint16{53, 443}[i%2], true
		e.PID, e.HasPID = uint32(1000+i%3), true
		e.SetExecutable(apps[i%3])
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

func runQueryCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	queryOut = &out
	queryNow = func() time.Time { return qNow }
	defer func() { queryOut = os.Stdout; queryNow = time.Now }()
	code := run(append([]string{"query"}, args...), &out, &errb)
	return out.String(), code
}

func TestQueryGolden(t *testing.T) {
	saved := displayLocation
	displayLocation = time.UTC // the table shows local times
	defer func() { displayLocation = saved }()
	path := queryDB(t)
	tests := []struct {
		name string
		args []string
	}{
		{"top_app", []string{"--top", "app"}},
		{"top_port_blocks", []string{"--top", "port", "--verdict", "block", "--since", "90m"}},
		{"top_remote_csv", []string{"--top", "remote", "--format", "csv", "--limit", "3"}},
		{"top_rule_json", []string{"--top", "rule", "--format", "json", "--direction", "out"}},
		{"events_table", []string{"--app", "CHROME", "--since", "2026-11-26T11:00:00Z", "--limit", "4"}},
		{"events_csv", []string{"--remote", "10.0.1.0/24", "--port", "443", "--until", "100m", "--format", "csv"}},
		{"events_json", []string{"--reason", "default:*", "--since", "30m", "--format", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runQueryCmd(t, append([]string{"--db", path}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, output %q", code, out)
			}
			golden := filepath.Join("testdata", "query", tt.name+".golden")
			if *updateQuery {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestQueryGolden -update-query)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	path := queryDB(t)
	for _, args := range [][]string{
		{"--since", "yesterday"},
		{"--since", "1h", "--until", "2h"},
		{"--port", "http"},
		{"--remote", "10.0.0.0/40"},
		{"--direction", "up"},
		{"--verdict", "maybe"},
		{"--top", "user"},
		{"--format", "xml"},
		{"--limit", "-1"},
		{"extra"},
	} {
		_, code := runQueryCmd(t, append([]string{"--db", path}, args...)...)
		if code != 2 {
			t.Errorf("query %v: exit %d, want 2 (usage)", args, code)
		}
	}
	_, code := runQueryCmd(t, "--db", filepath.Join(t.TempDir(), "missing.db"))
	if code != 1 {
		t.Errorf("missing database: exit %d, want 1", code)
	}
}

func TestParseQueryTime(t *testing.T) {
	now := qNow
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"10m", now.Add(-10 * time.Minute)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"1d12h", now.Add(-36 * time.Hour)},
		{"2026-11-26T08:00:00Z", time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)},
		{"2026-11-26T08:00:00+02:00", time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)},
		{"2026-11-25", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseQueryTime(tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseQueryTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"-5m", "soon", "5x", "d", "99999999d"} {
		if _, err := parseQueryTime(bad, now); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("parseQueryTime(%q) error = %v", bad, err)
		}
	}
}

func FuzzParseQueryTime(f *testing.F) {
	for _, s := range []string{"", "10m", "7d", "1d12h", "2026-11-26T08:00:00Z", "2026-11-25", "-5m", "99999999d", "1d-1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseQueryTime(s, qNow)
		if err == nil && strings.TrimSpace(s) != "" && got.IsZero() {
			t.Errorf("%q parsed to the zero time without an error", s)
		}
	})
}

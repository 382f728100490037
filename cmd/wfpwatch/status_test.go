package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/health"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
)

// A watch run leaves a health snapshot with the counts of its sources,
// the audit policy it changed and its pipeline; status shows it as the
// last run and says nothing is capturing now.
func TestWatchWritesHealth(t *testing.T) {
	h := fakeHost(t, 0, 0, nil)
	feedFixture(t, h, nil)
	netStream = func(ctx context.Context, cfg netevent.Config, emit func(*event.Event)) error {
		e := netEventLike1010()
		emit(&e)
		return nil
	}
	var out, errb bytes.Buffer
	if err := runWatch(context.Background(), []string{"--format", "json", "--packets", "--suppress", "port=5353"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	snaps, err := health.ReadAll(health.DefaultDir())
	if err != nil || len(snaps) != 1 {
		t.Fatalf("ReadAll: %d snapshots, %v", len(snaps), err)
	}
	s := snaps[0]
	if s.Command != "watch" || s.Stopped == nil || len(s.Sources) != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	evt, net := s.Sources[0], s.Sources[1]
	if evt.Name != "evtlog" || evt.Events == 0 || evt.Gaps != 1 || evt.Up || net.Name != "netevent" || net.Events != 1 {
		t.Errorf("sources %+v", s.Sources)
	}
	if s.Audit == nil || !s.Audit.Managed || len(s.Audit.Changed) != 2 {
		t.Errorf("audit %+v", s.Audit)
	}
	if s.Pipeline.Seen == 0 || len(s.Pipeline.Rules) != 1 || s.DB == nil {
		t.Errorf("pipeline %+v db %+v", s.Pipeline, s.DB)
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"status"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no wfpwatch is capturing: the last run (watch") || !strings.Contains(out.String(), "stopped at") {
		t.Errorf("status: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

var updateStatus = flag.Bool("update-status", false, "rewrite testdata/status.golden")

// The table and the exit status for healthy, stale, down and backed-up
// processes.
func TestStatusGolden(t *testing.T) {
	old := time.Local
	time.Local = time.UTC
	defer func() { time.Local = old }()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	healthy := health.Snapshot{Version: 1, PID: 4242, Command: "service", Started: now.Add(-2 * time.Hour), Updated: now.Add(-3 * time.Second),
		Interval: health.Duration(5 * time.Second),
		Sources: []health.Source{{Name: "evtlog", Channel: "Security", Up: true, Events: 12345, Gaps: 1, LastEvent: now.Add(-2 * time.Second)},
			{Name: "netevent", Up: true, Events: 678, LastEvent: now.Add(-9 * time.Second)}},
		Audit:    &health.Audit{Managed: true, On: true, Changed: []string{"Filtering Platform Connection: failure"}, CheckedAt: now.Add(-40 * time.Second)},
		Pipeline: health.Pipeline{Seen: 13023, Suppressed: 40, Passed: 12983, FlowsOpened: 900, FlowsOpen: 12, Rules: []health.Rule{{Label: "port=5353", Source: "--suppress", Hits: 40}}},
		Outputs:  []health.Output{{URL: "syslog+tcp://siem.example:514", Sent: 12980, Retried: 2, Queued: 3, QueueBytes: 2100, OldestAge: health.Duration(time.Second)}},
		DB:       &health.DB{Path: `C:\ProgramData\wfpwatch\history.db`, Bytes: 52 << 20},
	}
	down := healthy
	down.PID = 5000
	down.Command = "watch"
	down.Sources = []health.Source{{Name: "evtlog", Channel: "Security", Up: false, LastError: "EvtSubscribe: access denied", LastErrorAt: now.Add(-time.Minute)}}
	down.Audit = &health.Audit{Managed: true, On: false, Drift: []string{"Filtering Platform Connection is now none (failure needed)"}}
	down.Outputs = []health.Output{{URL: "kafka://k1:9092/wfp", Queued: 5000, OldestAge: health.Duration(time.Hour), LastError: "dial tcp: connection refused", LastErrorAt: now.Add(-time.Second)}}
	stale := healthy
	stale.PID = 6000
	stale.Updated = now.Add(-10 * time.Minute)
	stopped := healthy
	stopped.PID = 7000
	stopAt := now.Add(-time.Hour)
	stopped.Stopped = &stopAt

	var golden strings.Builder
	for _, tc := range []struct {
		name  string
		snaps []health.Snapshot
	}{
		{"healthy", []health.Snapshot{healthy}},
		{"down, drifted, backed up", []health.Snapshot{down}},
		{"not responding", []health.Snapshot{stale}},
		{"only a stopped run", []health.Snapshot{stopped}},
		{"nothing", nil},
	} {
		dir := t.TempDir()
		for _, s := range tc.snaps {
			writeSnapshot(t, filepath.Join(dir, s.Command+"-"+strconv.Itoa(s.PID)+".json"), s)
		}
		var out, errb bytes.Buffer
		err := runStatus(&statusOptions{format: "table", dir: dir, maxAge: 10 * time.Minute}, &out, &errb, now)
		golden.WriteString("## " + tc.name + "\n" + out.String() + "-- stderr\n" + errb.String())
		if (err == nil) != (tc.name == "healthy") {
			t.Errorf("%s: err %v", tc.name, err)
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if len([]rune(l)) > 80 && !strings.Contains(l, "error") {
				t.Errorf("%s: line wider than 80 columns: %q", tc.name, l)
			}
		}
	}
	path := filepath.Join("testdata", "status.golden")
	if *updateStatus {
		os.WriteFile(path, []byte(golden.String()), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestStatusGolden -update-status writes it)", err)
	}
	if golden.String() != string(want) {
		t.Errorf("status output differs from %s (-update-status after checking):\n%s", path, golden.String())
	}
}

func writeSnapshot(t *testing.T, path string, s health.Snapshot) {
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

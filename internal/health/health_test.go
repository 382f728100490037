package health

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReporterRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "status")
	r := NewReporter(dir, "watch")
	n := uint64(0)
	r.Sample(func(s *Snapshot) { n++; s.Pipeline.Seen = n })
	r.Update(func(s *Snapshot) {
		s.Sources = []Source{{Name: "evtlog", Channel: "Security", Up: true, Events: 7}}
		s.Outputs = []Output{{URL: "file:///tmp/x", Sent: 3, OldestAge: Duration(1500 * time.Millisecond)}}
	})
	done := make(chan struct{})
	close(done)
	r.Run(done, time.Hour, func(err error) { t.Error(err) })
	got, err := ReadAll(dir)
	if err != nil || len(got) != 1 {
		t.Fatalf("ReadAll = %d, %v", len(got), err)
	}
	s := got[0]
	if s.Stopped == nil || s.Stale(time.Now().Add(time.Hour)) || s.Pipeline.Seen != 2 || s.Sources[0].Events != 7 ||
		time.Duration(s.Outputs[0].OldestAge) != 1500*time.Millisecond || s.Command != "watch" || s.PID != os.Getpid() {
		t.Errorf("read back %+v", s)
	}
}

func TestReadAllSkipsBadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "1.json"), []byte("{not json"), 0o600)
	os.WriteFile(filepath.Join(dir, "2.json"), []byte(`{"version":99}`), 0o600)
	os.WriteFile(filepath.Join(dir, "3.json"), []byte(`{"version":1,"pid":3,"updated":"2026-01-01T00:00:00Z"}`), 0o600)
	got, err := ReadAll(dir)
	if len(got) != 1 || got[0].PID != 3 || err == nil {
		t.Fatalf("ReadAll = %+v, %v", got, err)
	}
	if !got[0].Stale(time.Now()) {
		t.Error("an old snapshot with no stop time is not stale")
	}
	if s, err := ReadAll(filepath.Join(dir, "missing")); s != nil || err != nil {
		t.Errorf("missing dir: %v %v", s, err)
	}
}

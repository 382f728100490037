package web

import (
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/health"
)

// The health snapshots of running captures show on the Overview, in
// /api/health and as metrics with bounded labels.
func TestCaptureHealth(t *testing.T) {
	db, _ := seed(t, 10)
	dir := t.TempDir()
	r := health.NewReporter(dir, "service")
	r.Update(func(s *health.Snapshot) {
		s.Sources = []health.Source{{Name: "evtlog", Channel: "Security", Up: true, Events: 1200, Gaps: 1}, {Name: "netevent", Up: false, LastError: "FwpmNetEventSubscribe0: access denied"}}
		s.Audit = &health.Audit{Managed: true, On: false, Drift: []string{"Filtering Platform Connection is now none"}}
		s.Pipeline = health.Pipeline{Seen: 1200, Suppressed: 7, Rules: []health.Rule{{Label: "port=5353", Source: "--suppress", Hits: 7}}}
		s.Outputs = []health.Output{{URL: "syslog+tcp://siem:514", Sent: 1190, Queued: 3, QueueBytes: 999, OldestAge: health.Duration(2 * time.Second)}}
	})
	if err := r.Write(); err != nil {
		t.Fatal(err)
	}
	h := newTestServer(t, db, Options{StatusDir: dir, Now: time.Now}).Handler()

	m := get(t, h, "/metrics").Body.String()
	for _, want := range []string{
		`wfpwatch_live_source_up{channel="Security",command="service",source="evtlog"} 1`,
		`wfpwatch_live_source_up{channel="",command="service",source="netevent"} 0`,
		`wfpwatch_live_source_gaps_total{channel="Security",command="service",source="evtlog"} 1`,
		`wfpwatch_audit_policy_on{command="service"} 0`,
		`wfpwatch_suppressed_events_total{command="service",rule="port=5353"} 7`,
		`wfpwatch_output_queued_events{command="service",output="syslog+tcp://siem:514"} 3`,
		`wfpwatch_output_oldest_undelivered_seconds{command="service",output="syslog+tcp://siem:514"} 2`,
		`wfpwatch_capture_running{command="service"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	a := get(t, h, "/api/health").Body.String()
	if !strings.Contains(a, `"capture":{"healthy":false`) || !strings.Contains(a, "netevent is down") {
		t.Errorf("/api/health: %s", a)
	}
	page := get(t, h, "/").Body.String()
	for _, want := range []string{"Live capture", "evtlog (Security): up, 1200 events, 1 gaps", "netevent: down", "audit policy: reset", "1190 sent, 3 queued (oldest 2s)"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q", want)
		}
	}

	// No capture: the panel says so, the metrics have none.
	h = newTestServer(t, db, Options{StatusDir: t.TempDir()}).Handler()
	if page := get(t, h, "/").Body.String(); !strings.Contains(page, "no live capture is running") {
		t.Error("no word of a missing capture")
	}
	if m := get(t, h, "/metrics").Body.String(); strings.Contains(m, "wfpwatch_live_source_up") {
		t.Error("metrics of a capture that does not run")
	}
}

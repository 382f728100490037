package orient_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/ingest"
	"github.com/wfpwatch/wfpwatch/internal/orient"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// readSamples runs every sample file with Security audit events through one
// Orienter per file and returns the events as handed on, and the reports.
func readSamples(t *testing.T) (map[string][]event.Event, map[string][]orient.Report) {
	t.Helper()
	dir := samples.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "evtx", "*.evtx"))
	more, _ := filepath.Glob(filepath.Join(dir, "json", "*.wfp-only.jsonl"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no .evtx or .wfp-only.jsonl samples found; skipping")
	}
	evs := map[string][]event.Event{}
	reps := map[string][]orient.Report{}
	for _, f := range files {
		name := filepath.Base(f)
		o := orient.New(func(e *event.Event) error {
			evs[name] = append(evs[name], *e)
			return nil
		}, 0)
		if _, err := ingest.ReadFile(context.Background(), f, o.Process, func(*ingest.Problem) {}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		reps[name] = o.Reports()
	}
	return evs, reps
}

// TestSamplesServicePortIsLocal checks, over every inbound 5156/5157 of
// the samples (both generations: OTRF JSON written in packet order,
// EVTX-ATTACK-SAMPLES and omerbenamram .evtx written local-first) whose one
// end has a port below 1024 and the other an ephemeral port (49152–65535,
// or 1025–5000 on old hosts), that the port below 1024 is the local port
// and the ECS destination port.
func TestSamplesServicePortIsLocal(t *testing.T) {
	evs, _ := readSamples(t)
	ephemeral := func(p uint16) bool { return p >= 49152 || p >= 1025 && p <= 5000 }
	checked := 0
	for name, list := range evs {
		for i := range list {
			e := &list[i]
			if (e.Code != 5156 && e.Code != 5157) || e.Direction != event.DirectionInbound || !e.HasLocalPort || !e.HasRemotePort {
				continue
			}
			lo, hi := e.LocalPort, e.RemotePort
			if lo > hi {
				lo, hi = hi, lo
			}
			if lo >= 1024 || !ephemeral(hi) {
				continue
			}
			checked++
			if e.LocalPort != lo {
				t.Errorf("%s record %d (%s): local %v, remote %v: the port below 1024 is not local (orientation %s by %s)",
					name, e.RecordID, e.Host, e.Local(), e.Remote(), e.Orient.Order, e.Orient.By)
			}
			if got := ecsDestinationPort(t, e); got != int(lo) {
				t.Errorf("%s record %d: ECS destination.port %d, want %d", name, e.RecordID, got, lo)
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d inbound records with a port below 1024 and an ephemeral one; the samples should have more", checked)
	}
	t.Logf("%d inbound 5156/5157 records checked", checked)
}

// TestSamplesHosts pins what each sample host's log shows: the OTRF hosts
// write packet order, the older ones local-first, each decided by the
// strongest evidence and with no evidence against it.
func TestSamplesHosts(t *testing.T) {
	_, reps := readSamples(t)
	want := map[string]string{
		"PC01.example.corp":           "local-first by multicast",
		"temporal":                    "local-first by address",
		"DC01.pandalab.com":           "packet by multicast",
		"WORKSTATION6.theshire.local": "packet by address",
		"MORDORDC.theshire.local":     "packet by address",
		"HFDC01.shire.com":            "packet by address",
		"HR001.shire.com":             "packet by multicast",
	}
	seen := map[string]bool{}
	for name, rs := range reps {
		for _, r := range rs {
			seen[r.Host] = true
			got := r.Order.String() + " by " + r.By.String()
			if w, ok := want[r.Host]; ok && got != w {
				t.Errorf("%s: %s: %s, want %s", name, r.Host, got, w)
			}
			for _, v := range r.Votes {
				against := v.LocalFirst
				if r.Order == event.OrderLocalFirst {
					against = v.Packet
				}
				if against > 0 && v.By <= event.EvidencePort {
					t.Errorf("%s: %s: %d records show the other order by %s", name, r.Host, against, v.By)
				}
			}
			t.Logf("%s: %s", name, r)
		}
	}
	for h := range want {
		if !seen[h] {
			t.Errorf("host %s not reported", h)
		}
	}
}

// ecsDestinationPort returns destination.port of e's ECS JSON (-1 when
// absent).
func ecsDestinationPort(t *testing.T, e *event.Event) int {
	t.Helper()
	var doc struct {
		Destination struct {
			Port *int `json:"port"`
		} `json:"destination"`
	}
	if err := json.Unmarshal(e.AppendJSON(nil), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Destination.Port == nil {
		return -1
	}
	return *doc.Destination.Port
}

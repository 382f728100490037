package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

func collect(t *testing.T, read func(Emit, Warn) (Format, error)) ([]event.Event, []*Problem, Format) {
	t.Helper()
	var evs []event.Event
	var probs []*Problem
	f, err := read(func(e *event.Event) error { evs = append(evs, *e); return nil },
		func(p *Problem) { probs = append(probs, p) })
	if err != nil {
		t.Fatal(err)
	}
	return evs, probs, f
}

func TestEvtxFormat(t *testing.T) {
	path := samples.Path(t, "evtx/omerbenamram-evtx_Security_short_selected.evtx")
	evs, probs, f := collect(t, func(emit Emit, warn Warn) (Format, error) {
		return ReadFile(context.Background(), path, emit, warn)
	})
	if f.Name != "evtx" {
		t.Fatalf("detected as %q", f.Name)
	}
	if len(probs) > 0 {
		t.Errorf("problems: %v", probs)
	}
	var codes []int
	for _, e := range evs {
		codes = append(codes, e.Code)
		if e.Sources != event.SourceFile || e.FilePath != path {
			t.Errorf("record %d: sources %v path %q", e.RecordID, e.Sources, e.FilePath)
		}
	}
	if want := []int{5152, 5152, 5157}; !reflect.DeepEqual(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	if evs[2].Verdict != event.VerdictBlock || evs[0].Verdict != event.VerdictDrop {
		t.Errorf("verdicts %q %q", evs[0].Verdict, evs[2].Verdict)
	}

	// The same file as a stream (no random access) gives the same events.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs2, _, _ := collect(t, func(emit Emit, warn Warn) (Format, error) {
		return ReadInput(context.Background(), Input{Name: path, R: bytes.NewReader(b), Size: -1}, emit, warn)
	})
	if !reflect.DeepEqual(evs, evs2) {
		t.Errorf("stream and file differ")
	}
}

func TestEvtxFormatCounts(t *testing.T) {
	path := samples.Path(t, "evtx/EVTX-ATTACK-SAMPLES_DE_RDP_Tunnel_5156.evtx")
	evs, probs, _ := collect(t, func(emit Emit, warn Warn) (Format, error) {
		return ReadFile(context.Background(), path, emit, warn)
	})
	if len(probs) > 0 {
		t.Errorf("problems: %v", probs)
	}
	got := map[int]int{}
	var last uint64
	for _, e := range evs {
		got[e.Code]++
		if e.RecordID <= last {
			t.Errorf("record %d after %d", e.RecordID, last)
		}
		last = e.RecordID
		if e.Verdict != event.VerdictPermit {
			t.Errorf("record %d: verdict %q for a permit event", e.RecordID, e.Verdict)
		}
	}
	if want := map[int]int{5156: 63, 5158: 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

func TestEvtxFormatDamaged(t *testing.T) {
	b, err := os.ReadFile(samples.Path(t, "evtx/omerbenamram-evtx_security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.evtx")
	if err := os.WriteFile(path, b[:4096+5*65536+20000], 0o600); err != nil {
		t.Fatal(err)
	}
	_, probs, _ := collect(t, func(emit Emit, warn Warn) (Format, error) {
		return ReadFile(context.Background(), path, emit, warn)
	})
	var where, last string
	for _, p := range probs {
		if p.Path != path {
			t.Errorf("problem without the path: %v", p)
		}
		if strings.HasPrefix(p.Where, "chunk 5 offset 0x") && strings.Contains(p.Err.Error(), "truncated") {
			where = p.Where
		}
		last = p.Error()
	}
	if where == "" {
		t.Errorf("no truncation problem for chunk 5 in %v", probs)
	}
	if !strings.Contains(last, "records could not be read and were skipped") {
		t.Errorf("last problem %q does not count the skipped records", last)
	}
}

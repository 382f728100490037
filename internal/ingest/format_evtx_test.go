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

// TestEvtxFormatWant checks that the .evtx reader skips, undecoded, the
// events Want rejects, and counts them through Unwanted.
func TestEvtxFormatWant(t *testing.T) {
	path := samples.Path(t, "evtx/EVTX-ATTACK-SAMPLES_DE_RDP_Tunnel_5156.evtx")
	for _, c := range []struct {
		name       string
		want       func(int) bool
		events     int
		unwanted   uint64
		walkEvents uint64
	}{
		{"no permits", func(code int) bool { return !event.IsPermitID(code) }, 0, 72, 0},
		{"only 5158", func(code int) bool { return code == 5158 }, 9, 63, 9},
		{"everything", func(int) bool { return true }, 72, 0, 72},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			st, err := WalkWith(context.Background(), []string{path}, WalkOptions{Want: c.want},
				func(e *event.Event) error {
					if !c.want(e.Code) {
						t.Errorf("event %d emitted although Want rejects it", e.Code)
					}
					n++
					return nil
				}, func(p *Problem) { t.Errorf("problem %v", p) })
			if err != nil {
				t.Fatal(err)
			}
			if n != c.events || st.Events != c.walkEvents || st.Unwanted != c.unwanted || st.Files[0].Unwanted != c.unwanted {
				t.Errorf("emitted %d, stats %+v; want %d events, %d unwanted", n, st, c.events, c.unwanted)
			}
		})
	}
}

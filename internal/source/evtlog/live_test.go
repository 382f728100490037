package evtlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

func TestQueryFor(t *testing.T) {
	for _, tc := range []struct {
		drops, permits bool
		want           string
	}{
		{false, false, "*[System[(EventID=5031 or EventID=5155 or EventID=5157 or EventID=5159)]]"},
		{true, false, "*[System[(EventID=5031 or (EventID>=5150 and EventID<=5153) or EventID=5155 or EventID=5157 or EventID=5159)]]"},
		{true, true, "*[System[(EventID=5031 or (EventID>=5150 and EventID<=5159))]]"},
		{false, true, "*[System[(EventID=5031 or (EventID>=5154 and EventID<=5159))]]"},
	} {
		if got := QueryFor(tc.drops, tc.permits); got != tc.want {
			t.Errorf("QueryFor(%v, %v) = %s\nwant %s", tc.drops, tc.permits, got, tc.want)
		}
	}
	got := withSince(QueryFor(false, false), 10*time.Minute)
	want := "*[System[(EventID=5031 or EventID=5155 or EventID=5157 or EventID=5159) and TimeCreated[timediff(@SystemTime) <= 600000]]]"
	if got != want {
		t.Errorf("withSince = %s", got)
	}
}

func TestBookmarkFile(t *testing.T) {
	p := filepath.Join(wbtest.TempDir(t), "state", "bookmark.xml")
	b := BookmarkFile{p}
	if s, err := b.Load(); s != "" || err != nil {
		t.Fatalf("missing file: %q %v", s, err)
	}
	xml := "<BookmarkList>\r\n  <Bookmark Channel='Security' RecordId='4242' IsCurrent='true'/>\r\n</BookmarkList>"
	if err := b.Save(xml); err != nil {
		t.Fatal(err)
	}
	s, err := b.Load()
	if err != nil || s != xml {
		t.Fatalf("round trip: %q %v", s, err)
	}
	if id, ok := BookmarkRecordID(s); !ok || id != 4242 {
		t.Errorf("record id %d %v", id, ok)
	}
	os.WriteFile(p, []byte("garbage"), 0o600)
	if _, err := b.Load(); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("damaged bookmark: %v", err)
	}
	if s, err := (BookmarkFile{}).Load(); s != "" || err != nil {
		t.Error("empty path")
	}
}

func TestSequenceGaps(t *testing.T) {
	var s sequence
	var st Stats
	for _, id := range []uint64{10, 11, 15, 16} {
		if g := s.next(id, &st); g != nil {
			t.Fatalf("unexpected gap at %d: %v", id, g)
		}
	}
	if st.SkippedIDs != 3 {
		t.Errorf("skipped %d, want 3", st.SkippedIDs)
	}
	g := s.next(2, &st)
	if g == nil || g.Known || !strings.Contains(g.String(), "cleared during capture") {
		t.Fatalf("backwards jump: %v", g)
	}
}

func TestStaleGap(t *testing.T) {
	g := staleGap(100, 151)
	if !g.Known || g.Missing != 50 || !strings.Contains(g.String(), "101–150") {
		t.Errorf("%+v %s", g, g)
	}
	g = staleGap(100, 0)
	if g.Known || !strings.Contains(g.String(), "not knowable") {
		t.Errorf("unknown oldest: %s", g)
	}
	if g := staleGap(100, 101); g.Known {
		t.Errorf("adjacent: %s", g)
	}
}

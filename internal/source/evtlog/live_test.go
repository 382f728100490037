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

// TestBookmarkMarkTime: the bookmarked record's time is kept beside the
// bookmark XML, which stays as Windows rendered it; files without the time
// (older ones) and with a damaged time still load.
func TestBookmarkMarkTime(t *testing.T) {
	p := filepath.Join(wbtest.TempDir(t), "bookmark.xml")
	b := BookmarkFile{p}
	xml := "<BookmarkList>\r\n  <Bookmark Channel='Security' RecordId='77' IsCurrent='true'/>\r\n</BookmarkList>"
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456700, time.UTC)
	if err := b.SaveMark(xml, at); err != nil {
		t.Fatal(err)
	}
	got, gotAt, err := b.LoadMark()
	if err != nil || got != xml || !gotAt.Equal(at) {
		t.Fatalf("round trip: %q %v %v", got, gotAt, err)
	}
	if s, _ := b.Load(); s != xml {
		t.Errorf("Load kept the time line: %q", s)
	}
	for _, c := range []struct{ data, want string }{
		{xml + "\n", ""},
		{xml + "\n<!-- wfpwatch record-time: yesterday -->\n", ""},
		{xml + "\n<!-- wfpwatch record-time: 2026-01-02T03:04:05Z -->\n", "2026-01-02T03:04:05Z"},
	} {
		os.WriteFile(p, []byte(c.data), 0o600)
		got, gotAt, err := b.LoadMark()
		if err != nil || got != xml || (c.want == "") != gotAt.IsZero() || (c.want != "" && gotAt.Format(time.RFC3339) != c.want) {
			t.Errorf("%q: %q %v %v", c.data, got, gotAt, err)
		}
	}
	if !sameRecordTime(at, at.Add(99*time.Nanosecond)) || sameRecordTime(at, at.Add(time.Second)) {
		t.Error("sameRecordTime")
	}
}

func TestWithLogCleared(t *testing.T) {
	q := QueryFor(false, false)
	got := withLogCleared(q)
	if !strings.HasPrefix(got, "*[System[(EventID=1102 or ") || !strings.HasSuffix(got, strings.TrimPrefix(q, "*[System[(")) {
		t.Errorf("%s", got)
	}
	if withLogCleared(got) != got || withLogCleared("*") != "*" {
		t.Error("not idempotent, or changed a query it does not know")
	}
	if s := withSince(got, time.Minute); !strings.Contains(s, "EventID=1102 or ") || !strings.Contains(s, "timediff") {
		t.Errorf("with since: %s", s)
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

// FuzzSplitMarkTime: the bookmark file parser never panics and never
// leaves the time line in the XML it hands to EvtCreateBookmark.
func FuzzSplitMarkTime(f *testing.F) {
	f.Add("<BookmarkList>\r\n  <Bookmark Channel='Security' RecordId='77' IsCurrent='true'/>\r\n</BookmarkList>\n<!-- wfpwatch record-time: 2026-01-02T03:04:05.1234567Z -->\n")
	f.Add("<BookmarkList/>\n<!-- wfpwatch record-time: yesterday -->")
	f.Add("")
	f.Fuzz(func(t *testing.T, data string) {
		xml, _ := splitMarkTime(data)
		for _, l := range strings.Split(xml, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), markTimePrefix) {
				t.Errorf("time line kept: %q", xml)
			}
		}
	})
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// orderWriter records, at each write of the output, whether the audit
// policy was already put back.
type orderWriter struct {
	h        *hostPolicy
	restored []bool
}

func (w *orderWriter) Write(p []byte) (int, error) {
	w.restored = append(w.restored, w.h.m[audit.Connection] == 0)
	return len(p), nil
}

// TestWatchRestoresHostBeforeOutputs: on Ctrl+C or console close, watch
// puts the audit policy back before it drains the flows still open and
// closes its outputs (Windows gives a closing console about 5 s).
func TestWatchRestoresHostBeforeOutputs(t *testing.T) {
	h := fakeHost(t, 0, 0, map[int]bool{7000: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feedFixture(t, h, nil)
	feed := evtSubscribe
	evtSubscribe = func(c context.Context, opt evtlog.Options, fn evtlog.Handler) (evtlog.Stats, error) {
		st, err := feed(c, opt, fn)
		cancel() // the console is closed
		return st, err
	}
	state := filepath.Join(wbtest.TempDir(t), "snap.json")
	w := &orderWriter{h: h}
	var errb bytes.Buffer
	// Flows (the default) hold events until the end: they are written
	// while watch drains.
	if err := runWatch(ctx, []string{"--state", state, "--format", "json", "--no-db"}, w, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if len(w.restored) == 0 {
		t.Fatalf("nothing written:\n%s", errb.String())
	}
	if !w.restored[len(w.restored)-1] {
		t.Errorf("the outputs were drained before the audit policy was put back (%d writes, restored at each: %v)\n%s", len(w.restored), w.restored, errb.String())
	}
	if h.m[audit.Connection] != 0 {
		t.Errorf("policy not restored: %v", h.m)
	}
}

type mapOptions map[uint32]uint32

func (m mapOptions) Option(o uint32) (uint32, error) { return m[o], nil }
func (m mapOptions) SetOption(o, v uint32) error     { m[o] = v; return nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// TestAuditRestorePutsBackEngineOptions: 'audit restore' also puts back
// the engine options a killed watch left changed, and leaves those of a
// running one (unless --force).
func TestAuditRestorePutsBackEngineOptions(t *testing.T) {
	fakeHost(t, 0, 0, map[int]bool{7000: true, 4242: true})
	opts := mapOptions{wfp.OptionCollectNetEvents: 1, wfp.OptionNetEventMatchAnyKeyword: 0x1c}
	old := optionEngine
	optionEngine = func() (netevent.OptionStore, io.Closer, error) { return opts, nopCloser{}, nil }
	t.Cleanup(func() { optionEngine = old })
	dir := wbtest.TempDir(t)
	state := filepath.Join(dir, "audit-snapshot.json")
	snap := filepath.Join(dir, "engine-options.json")
	write := func(pid int) {
		s := fmt.Sprintf(`{"version":1,"owner":{"command":"watch","pid":%d},"holders":[{"command":"watch","pid":%d}],"changes":[{"Option":0,"Old":0,"New":1},{"Option":1,"Old":0,"New":28}]}`, pid, pid)
		if err := os.WriteFile(snap, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(4242) // still running
	var out, errb bytes.Buffer
	if err := runAudit(context.Background(), []string{"restore", "--state", state}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "still runs") || opts[wfp.OptionCollectNetEvents] != 1 {
		t.Fatalf("a running holder's options: %v\n%s", opts, out.String())
	}
	write(999) // killed
	out.Reset()
	if err := runAudit(context.Background(), []string{"restore", "--state", state}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if opts[wfp.OptionCollectNetEvents] != 0 || opts[wfp.OptionNetEventMatchAnyKeyword] != 0 || !strings.Contains(out.String(), "put back") {
		t.Fatalf("options %v\n%s", opts, out.String())
	}
	if _, err := os.Stat(snap); err == nil {
		t.Error("engine-option snapshot left")
	}
}

// TestWatchRefusesUntrustedBookmark: a --bookmark that is a link to
// another file is refused before anything on the host is changed.
func TestWatchRefusesUntrustedBookmark(t *testing.T) {
	h := fakeHost(t, 0, 0, map[int]bool{7000: true})
	feedFixture(t, h, nil)
	dir := wbtest.TempDir(t)
	other := filepath.Join(dir, "other.xml")
	os.WriteFile(other, []byte("<BookmarkList><Bookmark Channel='Security' RecordId='99999999'/></BookmarkList>"), 0o600)
	bm := filepath.Join(dir, "bookmark.xml")
	if err := os.Symlink(other, bm); err != nil {
		t.Skipf("no symbolic link: %v", err)
	}
	if fi, err := os.Lstat(bm); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skip("the link does not show as one here (Wine)")
	}
	var out, errb bytes.Buffer
	err := runWatch(context.Background(), []string{"--state", filepath.Join(dir, "snap.json"), "--bookmark", bm, "--no-db"}, &out, &errb)
	if !errors.Is(err, statedir.ErrUntrusted) {
		t.Fatalf("watch with a linked bookmark: %v", err)
	}
	if h.writes != 0 {
		t.Errorf("the audit policy was changed before the bookmark was refused")
	}
}

package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// fakePolicy is an in-memory audit policy. additive makes Set behave like
// LsaSetInformationPolicy (bits are added; None resets), which the manager
// must cope with too; locked makes writes succeed without effect (Group
// Policy holding the setting).
type fakePolicy struct {
	t        *testing.T
	m        map[GUID]Setting
	additive bool
	locked   bool
	failSet  error
	failAt   int // fail the failAt-th Set call (1-based), 0 never
	sets     int
	writes   [][2]any
	legacy   bool
}

func newFake(t *testing.T, conn, drop Setting) *fakePolicy {
	return &fakePolicy{t: t, m: map[GUID]Setting{Connection: conn, PacketDrop: drop}}
}

func (f *fakePolicy) Query(subcats []GUID) ([]Setting, error) {
	out := make([]Setting, len(subcats))
	for i, g := range subcats {
		out[i] = f.m[g]
	}
	return out, nil
}

func (f *fakePolicy) Set(subcats []GUID, settings []Setting) error {
	f.sets++
	if f.failAt != 0 && f.sets == f.failAt {
		return f.failSet
	}
	for i, g := range subcats {
		s := settings[i]
		if s == Unchanged {
			f.t.Fatalf("wrote POLICY_AUDIT_EVENT_UNCHANGED (0) to %s", Name(g))
		}
		f.writes = append(f.writes, [2]any{g, s})
		if f.locked {
			continue
		}
		switch {
		case s&None != 0:
			f.m[g] = s.Audited()
		case f.additive:
			f.m[g] = f.m[g].Audited() | s
		default:
			f.m[g] = s
		}
	}
	return nil
}

func (f *fakePolicy) LegacyMayOverride() (bool, error) { return f.legacy, nil }

type proc struct{ alive map[int]bool }

func (p *proc) Alive(o Owner) bool { return p.alive[o.PID] }

func newManager(t *testing.T, p Policy, pid int, procs *proc) *Manager {
	dir := wbtest.TempDir(t)
	return &Manager{
		Policy: p,
		State:  filepath.Join(dir, "audit-snapshot.json"),
		Self:   Owner{Command: "watch", PID: pid, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Alive:  procs.Alive,
		Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC) },
	}
}

func TestGUIDs(t *testing.T) {
	for _, tc := range []struct {
		g    GUID
		want string
	}{
		{Connection, "{0CCE9226-69AE-11D9-BED3-505054503030}"},
		{PacketDrop, "{0CCE9225-69AE-11D9-BED3-505054503030}"},
		{ObjectAccess, "{6997984A-797A-11D9-BED3-505054503030}"},
	} {
		if got := tc.g.String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
		back, err := ParseGUID(strings.ToLower(tc.want))
		if err != nil || back != tc.g {
			t.Errorf("ParseGUID(%s) = %v, %v", tc.want, back, err)
		}
	}
	for _, bad := range []string{"", "{}", "0CCE9226-69AE-11D9-BED3-50505450303", "{0CCE9226-69AE-11D9-BED3-50505450303G}", "0CCE922669AE11D9BED3505054503030xxxx"} {
		if _, err := ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q) accepted", bad)
		}
	}
}

func TestSettingWriteNeverZero(t *testing.T) {
	for s := Setting(0); s < 8; s++ {
		w := s.Write()
		if w == Unchanged {
			t.Errorf("%d.Write() = 0", s)
		}
		if w.Audited() != s.Audited() {
			t.Errorf("%d.Write() = %d changes what is audited", s, w)
		}
	}
	if None.Write() != None || Setting(0).Write() != None {
		t.Error("no auditing must be written as NONE (4)")
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cur     []Setting
		want    Want
		next    []Setting
		changed []bool
	}{
		{"off, blocks", []Setting{0, 0}, WantFor(false, false), []Setting{Failure, None}, []bool{true, false}},
		{"NONE reported, blocks", []Setting{None, None}, WantFor(false, false), []Setting{Failure, None}, []bool{true, false}},
		{"already failure", []Setting{Failure, 0}, WantFor(false, false), []Setting{Failure, None}, []bool{false, false}},
		{"success only, blocks", []Setting{Success, 0}, WantFor(false, false), []Setting{Success | Failure, None}, []bool{true, false}},
		{"packets", []Setting{Failure, 0}, WantFor(true, false), []Setting{Failure, Failure}, []bool{false, true}},
		{"permits", []Setting{Failure, Success}, WantFor(true, true), []Setting{Success | Failure, Success | Failure}, []bool{true, true}},
		{"all on", []Setting{Success | Failure, Success | Failure}, WantFor(true, true), []Setting{Success | Failure, Success | Failure}, []bool{false, false}},
	} {
		next, changed := Plan(tc.cur, tc.want)
		for i := range next {
			if next[i] != tc.next[i] || changed[i] != tc.changed[i] {
				t.Errorf("%s: %s: got %d/%v, want %d/%v", tc.name, Name(Subcategories[i]), next[i], changed[i], tc.next[i], tc.changed[i])
			}
		}
	}
}

func TestBeginEndRestoresExactly(t *testing.T) {
	for _, additive := range []bool{false, true} {
		for _, start := range [][2]Setting{{0, 0}, {None, None}, {Success, 0}, {Failure, Success}, {Success | Failure, Failure}} {
			f := newFake(t, start[0], start[1])
			f.additive = additive
			m := newManager(t, f, 100, &proc{alive: map[int]bool{100: true}})
			c, err := m.Begin(WantFor(true, true))
			if err != nil {
				t.Fatal(err)
			}
			if f.m[Connection] != Success|Failure || f.m[PacketDrop].Audited()&Failure == 0 {
				t.Fatalf("start %v: not enabled: %v", start, f.m)
			}
			if _, err := os.Stat(m.State); (len(c.Changed) > 0) != (err == nil) {
				t.Fatalf("start %v: snapshot present=%v, changed=%v", start, err == nil, c.Changed)
			}
			if len(c.Changed) > 0 && !strings.Contains(c.Summary("it will be put back on exit"), "put back") {
				t.Errorf("summary: %s", c.Summary("it will be put back on exit"))
			}
			if _, err := m.End(); err != nil {
				t.Fatal(err)
			}
			if f.m[Connection].Audited() != start[0].Audited() || f.m[PacketDrop].Audited() != start[1].Audited() {
				t.Errorf("additive=%v start %v: restored to %v", additive, start, f.m)
			}
			if _, err := os.Stat(m.State); err == nil {
				t.Errorf("snapshot left after End")
			}
		}
	}
}

func TestSnapshotBeforeWrite(t *testing.T) {
	f := newFake(t, 0, 0)
	m := newManager(t, f, 100, &proc{alive: map[int]bool{100: true}})
	// The first Set fails: the snapshot must exist at that moment, and the
	// manager must clean up after itself.
	f.failAt, f.failSet = 1, errors.New("boom")
	var sawSnapshot bool
	wrapped := &hookPolicy{Policy: f, before: func() {
		if _, err := os.Stat(m.State); err == nil {
			sawSnapshot = true
		}
	}}
	m.Policy = wrapped
	if _, err := m.Begin(WantFor(false, false)); err == nil {
		t.Fatal("Begin did not report the failed write")
	}
	if !sawSnapshot {
		t.Error("the policy was written before the snapshot was saved")
	}
	if f.m[Connection] != 0 {
		t.Errorf("policy left changed: %v", f.m)
	}
	if _, err := os.Stat(m.State); err == nil {
		t.Error("snapshot left after a failed, rolled-back change")
	}
}

type hookPolicy struct {
	Policy
	before func()
}

func (h *hookPolicy) Set(g []GUID, s []Setting) error { h.before(); return h.Policy.Set(g, s) }

func TestCrashLeftoverRepairedAtNextStart(t *testing.T) {
	f := newFake(t, Success, 0)
	procs := &proc{alive: map[int]bool{100: true}}
	first := newManager(t, f, 100, procs)
	if _, err := first.Begin(WantFor(true, false)); err != nil {
		t.Fatal(err)
	}
	// The first watch dies without restoring.
	procs.alive[100] = false
	second := newManager(t, f, 200, procs)
	second.State = first.State
	procs.alive[200] = true
	c, err := second.Begin(WantFor(false, false))
	if err != nil {
		t.Fatal(err)
	}
	if c.Repaired == nil || len(c.Repaired.Restored) != 2 {
		t.Fatalf("crash leftover not repaired: %+v", c.Repaired)
	}
	if !strings.Contains(c.Repaired.Summary(), "back to Success") {
		t.Errorf("repair summary: %s", c.Repaired.Summary())
	}
	// The second watch then snapshots the ORIGINAL state, not the crashed
	// watch's.
	snap, err := ReadSnapshot(second.State)
	if err != nil || snap == nil {
		t.Fatal(snap, err)
	}
	if snap.Entries[0].Before != Success || snap.Entries[1].Before != 0 || snap.Owner.PID != 200 {
		t.Errorf("new snapshot: %+v", snap)
	}
	if _, err := second.End(); err != nil {
		t.Fatal(err)
	}
	if f.m[Connection] != Success || f.m[PacketDrop] != 0 {
		t.Errorf("final policy %v", f.m)
	}
}

func TestPidReuseIsNotOwner(t *testing.T) {
	f := newFake(t, 0, 0)
	procs := &proc{alive: map[int]bool{}}
	first := newManager(t, f, 100, procs)
	if _, err := first.Begin(WantFor(false, false)); err != nil {
		t.Fatal(err)
	}
	// A later process with the same pid but another start time: End must
	// not consider itself the owner; Repair treats the owner as dead.
	later := newManager(t, f, 100, procs)
	later.State = first.State
	later.Self.Started = later.Self.Started.Add(time.Hour)
	if r, err := later.End(); err != nil || r != nil {
		t.Fatalf("End by a pid reuser: %v %v", r, err)
	}
	r, err := later.Repair()
	if err != nil || r == nil {
		t.Fatalf("Repair: %v %v", r, err)
	}
	if f.m[Connection] != 0 {
		t.Errorf("not restored: %v", f.m)
	}
}

// TestTwoWatchesShareTheChange: a second watch joins the first one's
// change instead of leaving it to the first, which would otherwise put the
// policy back under the second on exit. The policy goes back when the last
// holder exits, to what was there before the first.
func TestTwoWatchesShareTheChange(t *testing.T) {
	f := newFake(t, 0, 0)
	procs := &proc{alive: map[int]bool{100: true, 200: true}}
	first := newManager(t, f, 100, procs)
	if _, err := first.Begin(WantFor(false, false)); err != nil {
		t.Fatal(err)
	}
	second := newManager(t, f, 200, procs)
	second.State = first.State
	c, err := second.Begin(WantFor(true, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SharedWith) != 1 || c.SharedWith[0].PID != 100 || len(c.Changed) != 1 || f.m[PacketDrop] != Failure {
		t.Fatalf("second watch: %+v, policy %v", c, f.m)
	}
	if !strings.Contains(c.Summary("x"), "last of them exits") {
		t.Errorf("summary: %s", c.Summary("x"))
	}
	if _, err := second.Restore(false); !errors.Is(err, ErrOwnerRunning) {
		t.Errorf("Restore while holders run: %v", err)
	}
	// The first exits: the second still needs the policy.
	r, err := first.End()
	if err != nil || r == nil || len(r.StillHeld) != 1 || r.StillHeld[0].PID != 200 {
		t.Fatalf("first End: %+v %v", r, err)
	}
	if f.m[Connection] != Failure || f.m[PacketDrop] != Failure {
		t.Fatalf("the first watch put the policy back under the second: %v", f.m)
	}
	if !strings.Contains(r.Summary(), "still needs it") {
		t.Errorf("summary: %s", r.Summary())
	}
	procs.alive[100] = false
	r, err = second.End()
	if err != nil || r == nil || len(r.Restored) != 2 {
		t.Fatalf("second End: %+v %v", r, err)
	}
	if f.m[Connection] != 0 || f.m[PacketDrop] != 0 {
		t.Errorf("not restored to the state before the first watch: %v", f.m)
	}
	if _, err := os.Stat(first.State); err == nil {
		t.Error("snapshot left")
	}
}

// TestSharedChangeHolderCrashes: a holder that dies does not keep the
// change alive, and one that dies with the others does not leave it.
func TestSharedChangeHolderCrashes(t *testing.T) {
	f := newFake(t, Success, 0)
	procs := &proc{alive: map[int]bool{100: true, 200: true}}
	a := newManager(t, f, 100, procs)
	b := newManager(t, f, 200, procs)
	b.State = a.State
	if _, err := a.Begin(WantFor(true, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Begin(WantFor(true, false)); err != nil {
		t.Fatal(err)
	}
	procs.alive[200] = false // b is killed
	if r, err := a.End(); err != nil || r == nil || len(r.Restored) != 2 || len(r.StillHeld) != 0 {
		t.Fatalf("End with a dead co-holder: %+v %v", r, err)
	}
	if f.m[Connection] != Success || f.m[PacketDrop] != 0 {
		t.Fatalf("policy %v", f.m)
	}
	// Both die: the next start repairs.
	procs.alive[200] = true
	if _, err := a.Begin(WantFor(true, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Begin(WantFor(true, false)); err != nil {
		t.Fatal(err)
	}
	procs.alive[100], procs.alive[200] = false, false
	c := newManager(t, f, 300, procs)
	c.State = a.State
	procs.alive[300] = true
	ch, err := c.Begin(WantFor(false, false))
	if err != nil || ch.Repaired == nil || len(ch.SharedWith) != 0 {
		t.Fatalf("repair after both died: %+v %v", ch, err)
	}
	if _, err := c.End(); err != nil || f.m[Connection] != Success || f.m[PacketDrop] != 0 {
		t.Fatalf("final %v %v", f.m, err)
	}
}

// TestRestoreKeepsSkippedEntries: a subcategory left alone because someone
// else changed it stays in the snapshot, so that 'audit restore --force'
// can still write back what was there before wfpwatch.
func TestRestoreKeepsSkippedEntries(t *testing.T) {
	f := newFake(t, 0, 0)
	procs := &proc{alive: map[int]bool{100: true}}
	m := newManager(t, f, 100, procs)
	if _, err := m.Begin(WantFor(true, false)); err != nil {
		t.Fatal(err)
	}
	f.m[Connection] = Success | Failure // an administrator, meanwhile
	r, err := m.End()
	if err != nil || len(r.Skipped) != 1 || len(r.Restored) != 1 || f.m[PacketDrop] != 0 {
		t.Fatalf("End: %+v %v %v", r, err, f.m)
	}
	snap, err := ReadSnapshot(m.State)
	if err != nil || snap == nil {
		t.Fatalf("the snapshot is gone (%v): 'audit restore --force' has nothing left to write back", err)
	}
	if !snap.Kept || len(snap.Entries) != 1 || snap.Entries[0].Subcategory != Connection || snap.Entries[0].Before != 0 {
		t.Fatalf("kept snapshot: %+v", snap)
	}
	procs.alive[100] = false
	// A plain restore leaves it again, and keeps it again.
	cmd := newManager(t, f, 0, procs)
	cmd.State, cmd.Self = m.State, Owner{Command: "audit restore"}
	if r, err := cmd.Restore(false); err != nil || len(r.Skipped) != 1 {
		t.Fatalf("restore: %+v %v", r, err)
	}
	if snap, _ := ReadSnapshot(m.State); snap == nil || !snap.Kept {
		t.Fatal("kept entry lost by a second restore")
	}
	st, err := cmd.Status()
	if err != nil || st.OwnerAlive || st.Subcategories[0].Entry == nil {
		t.Fatalf("status of a kept snapshot: %+v %v", st, err)
	}
	// A new watch is not blocked by it, and its exit leaves it kept.
	w := newManager(t, f, 400, procs)
	w.State = m.State
	procs.alive[400] = true
	if c, err := w.Begin(WantFor(false, false)); err != nil || c.ManagedBy != nil {
		t.Fatalf("watch over a kept snapshot: %+v %v", c, err)
	}
	if r, err := w.End(); err != nil || len(r.Skipped) != 1 {
		t.Fatalf("watch End over a kept snapshot: %+v %v", r, err)
	}
	// --force writes back what was there before wfpwatch.
	r, err = cmd.Restore(true)
	if err != nil || len(r.Restored) != 1 || f.m[Connection] != 0 {
		t.Fatalf("forced restore: %+v %v %v", r, err, f.m)
	}
	if _, err := os.Stat(m.State); err == nil {
		t.Error("snapshot left after a forced restore")
	}
}

// TestSnapshotOnlyManagedSubcategories: a planted snapshot naming another
// subcategory (here Logon, with "no auditing") is refused, and nothing is
// written; names always come from the table.
func TestSnapshotOnlyManagedSubcategories(t *testing.T) {
	const logon = "{0CCE9215-69AE-11D9-BED3-505054503030}"
	f := newFake(t, 0, 0)
	m := newManager(t, f, 0, &proc{})
	for _, content := range []string{
		`{"version":1,"owner":{"command":"watch","pid":7},"entries":[{"subcategory":"` + logon + `","name":"Filtering Platform Connection","before":4,"after":3,"changed":true}]}`,
		`{"version":1,"owner":{"command":"watch","pid":7},"entries":[{"subcategory":"{0CCE9226-69AE-11D9-BED3-505054503030}","before":4,"after":2,"changed":true},{"subcategory":"{0CCE9226-69AE-11D9-BED3-505054503030}","before":1,"after":2,"changed":true}]}`,
	} {
		os.WriteFile(m.State, []byte(content), 0o600)
		_, err := m.Restore(true)
		if !errors.Is(err, statedir.ErrUntrusted) {
			t.Errorf("planted snapshot accepted: %v", err)
		}
		if _, err := m.Begin(WantFor(false, false)); err == nil {
			t.Error("Begin with a planted snapshot")
		}
		if f.sets != 0 {
			t.Fatalf("policy written: %v", f.writes)
		}
	}
	os.WriteFile(m.State, []byte(`{"version":1,"owner":{"command":"watch","pid":7},"entries":[{"subcategory":"{0CCE9226-69AE-11D9-BED3-505054503030}","name":"\u001b[2JHacked","before":4,"after":2,"changed":true}]}`), 0o600)
	snap, err := ReadSnapshot(m.State)
	if err != nil || snap.Entries[0].Name != "Filtering Platform Connection" {
		t.Fatalf("name from the file: %+v %v", snap, err)
	}
}

// TestManagerTakesLock: every step that reads and rewrites the snapshot
// runs under the lock shared with other wfpwatch processes.
func TestManagerTakesLock(t *testing.T) {
	f := newFake(t, 0, 0)
	m := newManager(t, f, 100, &proc{alive: map[int]bool{100: true}})
	held, calls := false, 0
	m.Lock = func() (func() error, error) {
		if held {
			t.Fatal("lock taken twice (deadlock with a real lock)")
		}
		held = true
		calls++
		return func() error { held = false; return nil }, nil
	}
	m.Begin(WantFor(true, false))
	m.Recheck(WantFor(true, true), true)
	m.End()
	m.Enable(WantFor(false, false))
	m.Restore(false)
	m.Repair()
	if calls != 6 || held {
		t.Errorf("lock taken %d times (held=%v), want 6", calls, held)
	}
}

func TestRestoreLeavesOthersChangesUnlessForced(t *testing.T) {
	for _, force := range []bool{false, true} {
		f := newFake(t, 0, 0)
		procs := &proc{alive: map[int]bool{}}
		m := newManager(t, f, 100, procs)
		procs.alive[100] = true
		if _, err := m.Begin(WantFor(true, false)); err != nil {
			t.Fatal(err)
		}
		// An administrator sets Connection to Success and Failure meanwhile.
		f.m[Connection] = Success | Failure
		r, err := m.End()
		if !force {
			if err != nil || len(r.Skipped) != 1 || len(r.Restored) != 1 {
				t.Fatalf("End: %+v %v", r, err)
			}
			if f.m[Connection] != Success|Failure || f.m[PacketDrop] != 0 {
				t.Errorf("policy %v", f.m)
			}
			if !strings.Contains(r.Summary(), "--force") {
				t.Errorf("summary %s", r.Summary())
			}
			continue
		}
		_ = r
	}
	// Forced restore through "audit restore --force" of a lasting change.
	f := newFake(t, 0, 0)
	m := newManager(t, f, 0, &proc{})
	if _, err := m.Enable(WantFor(false, false)); err != nil {
		t.Fatal(err)
	}
	f.m[Connection] = Success | Failure
	r, err := m.Restore(true)
	if err != nil || len(r.Restored) != 1 || f.m[Connection] != 0 {
		t.Fatalf("forced restore: %+v %v %v", r, err, f.m)
	}
}

func TestLastingEnableDisableRestore(t *testing.T) {
	f := newFake(t, Success, Failure)
	m := newManager(t, f, 4242, &proc{alive: map[int]bool{4242: true}})
	c, err := m.Enable(WantFor(false, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Changed) != 1 || f.m[Connection] != Success|Failure {
		t.Fatalf("enable: %+v %v", c, f.m)
	}
	snap, _ := ReadSnapshot(m.State)
	if snap == nil || !snap.Owner.Lasting() || snap.Owner.Command != "audit enable" {
		t.Fatalf("snapshot %+v", snap)
	}
	// A watch now leaves it alone, and does not restore it on exit.
	if c, err := m.Begin(WantFor(true, true)); err != nil || c.ManagedBy == nil {
		t.Fatalf("watch over a lasting change: %+v %v", c, err)
	}
	if r, _ := m.End(); r != nil {
		t.Fatal("watch restored a lasting change")
	}
	// Enable more: the original Before values are kept.
	if _, err := m.Enable(WantFor(true, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Disable(); err != nil {
		t.Fatal(err)
	}
	if f.m[Connection] != 0 || f.m[PacketDrop] != 0 {
		t.Fatalf("disable: %v", f.m)
	}
	for _, w := range f.writes {
		if w[1].(Setting) == Unchanged {
			t.Fatal("wrote 0")
		}
	}
	r, err := m.Restore(false)
	if err != nil || len(r.Skipped) != 0 {
		t.Fatalf("restore: %+v %v", r, err)
	}
	if f.m[Connection] != Success || f.m[PacketDrop] != Failure {
		t.Errorf("restore after enable, enable, disable: %v", f.m)
	}
	if r, err := m.Restore(false); r != nil || err != nil {
		t.Errorf("second restore: %v %v", r, err)
	}
}

func TestDisableWritesNone(t *testing.T) {
	f := newFake(t, Success|Failure, Failure)
	m := newManager(t, f, 0, &proc{})
	if _, err := m.Disable(); err != nil {
		t.Fatal(err)
	}
	for _, w := range f.writes {
		if w[1].(Setting) != None {
			t.Errorf("disable wrote %v, want NONE (4)", w[1])
		}
	}
}

func TestLockedPolicy(t *testing.T) {
	f := newFake(t, 0, 0)
	f.locked = true
	m := newManager(t, f, 100, &proc{alive: map[int]bool{100: true}})
	_, err := m.Begin(WantFor(false, false))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Begin on a locked policy: %v", err)
	}
	if _, err := os.Stat(m.State); err == nil {
		t.Error("snapshot left after a locked policy")
	}
}

func TestRecheckDriftAndEnforce(t *testing.T) {
	f := newFake(t, 0, 0)
	m := newManager(t, f, 100, &proc{alive: map[int]bool{100: true}})
	want := WantFor(true, false)
	if _, err := m.Begin(want); err != nil {
		t.Fatal(err)
	}
	if d, err := m.Recheck(want, false); err != nil || len(d) != 0 {
		t.Fatalf("no drift expected: %v %v", d, err)
	}
	// Group Policy refresh resets both.
	f.m[Connection], f.m[PacketDrop] = 0, 0
	d, err := m.Recheck(want, false)
	if err != nil || len(d) != 2 || d[0].Reapplied {
		t.Fatalf("drift: %v %v", d, err)
	}
	if !strings.Contains(d[0].String(), "--enforce") {
		t.Errorf("drift message: %s", d[0])
	}
	if f.m[Connection] != 0 {
		t.Fatal("re-applied without --enforce")
	}
	d, err = m.Recheck(want, true)
	if err != nil || len(d) != 2 || !d[0].Reapplied || f.m[Connection] != Failure || f.m[PacketDrop] != Failure {
		t.Fatalf("enforce: %v %v %v", d, err, f.m)
	}
	if _, err := m.End(); err != nil {
		t.Fatal(err)
	}
	if f.m[Connection] != 0 || f.m[PacketDrop] != 0 {
		t.Errorf("after enforce and End: %v", f.m)
	}
}

func TestDamagedSnapshot(t *testing.T) {
	f := newFake(t, 0, 0)
	m := newManager(t, f, 100, &proc{})
	for _, content := range []string{"{", `{"version":99}`, `{"version":1,"entries":[{"before":77}]}`} {
		os.WriteFile(m.State, []byte(content), 0o600)
		if _, err := m.Begin(WantFor(false, false)); err == nil {
			t.Errorf("damaged snapshot %q accepted", content)
		}
		if f.sets != 0 {
			t.Errorf("policy written with a damaged snapshot present")
		}
	}
}

func TestStatus(t *testing.T) {
	f := newFake(t, Failure, 0)
	f.legacy = true
	m := newManager(t, f, 100, &proc{alive: map[int]bool{100: true}})
	if _, err := m.Begin(WantFor(true, false)); err != nil {
		t.Fatal(err)
	}
	st, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Snapshot == nil || !st.OwnerAlive || st.LegacyMayOverride == nil || !*st.LegacyMayOverride {
		t.Fatalf("status %+v", st)
	}
	if st.Subcategories[1].Current != Failure || st.Subcategories[1].Entry == nil || st.Subcategories[1].Entry.Before != 0 {
		t.Errorf("packet drop status %+v", st.Subcategories[1])
	}
}

func FuzzReadSnapshot(f *testing.F) {
	f.Add([]byte(`{"version":1,"owner":{"command":"watch","pid":5},"entries":[{"subcategory":"{0CCE9226-69AE-11D9-BED3-505054503030}","before":4,"after":2,"changed":true}]}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`{"version":1,"owner":{"command":"watch","pid":7},"entries":[{"subcategory":"{0CCE9215-69AE-11D9-BED3-505054503030}","before":4,"after":3,"changed":true}]}`))
	f.Add([]byte(`{"version":1,"kept":true,"owner":{"command":"watch","pid":7},"holders":[{"command":"watch","pid":8}],"entries":[{"subcategory":"{0CCE9225-69AE-11D9-BED3-505054503030}","before":0,"after":2,"changed":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(wbtest.TempDir(t), "s.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := ReadSnapshot(p)
		if err != nil || s == nil {
			return
		}
		// A snapshot that reads must restore without writing 0.
		for _, e := range s.Entries {
			if !managed(e.Subcategory) || e.Name != Name(e.Subcategory) {
				t.Fatalf("entry %+v accepted", e)
			}
		}
		f := newFake(t, Failure, Failure)
		m := &Manager{Policy: f, State: p, Self: Owner{Command: "audit restore"}}
		_, _ = m.Restore(true)
		for _, w := range f.writes {
			if !managed(w[0].(GUID)) {
				t.Fatalf("wrote %v", w[0])
			}
		}
	})
}

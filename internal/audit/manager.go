package audit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Want is what a view needs audited: the bits that must be set in each
// subcategory. Bits already set are left alone; nothing is ever turned off
// by Begin or Enable.
type Want struct {
	Connection Setting
	PacketDrop Setting
}

// WantFor returns what must be audited to see blocks (always), packet drops
// (drops) and permits (permits).
func WantFor(drops, permits bool) Want {
	w := Want{Connection: Failure}
	if permits {
		w.Connection |= Success
	}
	if drops {
		w.PacketDrop = Failure
	}
	return w
}

func (w Want) of(g GUID) Setting {
	switch g {
	case Connection:
		return w.Connection
	case PacketDrop:
		return w.PacketDrop
	}
	return 0
}

// Plan returns, for each managed subcategory with current setting
// current[i], the setting to write so that want is audited, and whether it
// differs from current. It only adds bits.
func Plan(current []Setting, want Want) (next []Setting, changed []bool) {
	next = make([]Setting, len(Subcategories))
	changed = make([]bool, len(Subcategories))
	for i, g := range Subcategories {
		cur := current[i].Audited()
		n := cur | want.of(g).Audited()
		next[i] = n.Write()
		changed[i] = n != cur
	}
	return next, changed
}

// Manager applies and restores audit policy through a Policy, keeping the
// snapshot in the state file State.
type Manager struct {
	Policy Policy
	// State is the path of the snapshot file.
	State string
	// Self identifies this process; its PID is 0 for lasting changes.
	Self Owner
	// Alive reports whether the process that wrote a snapshot still runs.
	// Nil means "assume it does" (never take over another owner's change).
	Alive func(Owner) bool
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// Lock, when set, takes an exclusive lock that other wfpwatch
	// processes take too (statedir.Lock on the snapshot's lock file), so
	// that reading, changing and writing the snapshot is one step for each.
	// Nil takes no lock (a single process, as in tests).
	Lock func() (unlock func() error, err error)
}

// locked runs f under m.Lock.
func (m *Manager) locked(f func() error) error {
	if m.Lock == nil {
		return f()
	}
	unlock, err := m.Lock()
	if err != nil {
		return fmt.Errorf("audit snapshot: %w", err)
	}
	defer unlock()
	return f()
}

// liveHolders returns the holders of snap that still run (a lasting
// holder always does).
func (m *Manager) liveHolders(snap *Snapshot) []Owner {
	var out []Owner
	for _, o := range snap.holders() {
		if m.alive(o) {
			out = append(out, o)
		}
	}
	return out
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Manager) alive(o Owner) bool {
	if o.Lasting() {
		return true
	}
	if o.Same(m.Self) {
		return true
	}
	if m.Alive == nil {
		return true
	}
	return m.Alive(o)
}

// SubStatus is the state of one subcategory.
type SubStatus struct {
	Subcategory GUID
	Name        string
	Current     Setting
	// Entry is the snapshot entry for it, when a snapshot exists.
	Entry *Entry
}

// Status is what "wfpwatch audit status" shows.
type Status struct {
	Subcategories []SubStatus
	// Snapshot is the outstanding change, or nil.
	Snapshot *Snapshot
	// OwnerAlive says whether a holder of the change still runs (always
	// true for a lasting change; false for a kept snapshot).
	OwnerAlive bool
	// Holders are the holders that still run.
	Holders []Owner
	// LegacyMayOverride is nil when unknown.
	LegacyMayOverride *bool
}

// Status queries the current settings and reads the snapshot.
func (m *Manager) Status() (*Status, error) {
	cur, err := m.Policy.Query(Subcategories)
	if err != nil {
		return nil, err
	}
	snap, err := ReadSnapshot(m.State)
	if err != nil {
		return nil, err
	}
	st := &Status{Snapshot: snap}
	if snap != nil {
		st.Holders = m.liveHolders(snap)
		st.OwnerAlive = len(st.Holders) > 0
	}
	for i, g := range Subcategories {
		s := SubStatus{Subcategory: g, Name: Name(g), Current: cur[i]}
		if snap != nil {
			for j := range snap.Entries {
				if snap.Entries[j].Subcategory == g {
					s.Entry = &snap.Entries[j]
				}
			}
		}
		st.Subcategories = append(st.Subcategories, s)
	}
	if lc, ok := m.Policy.(LegacyChecker); ok {
		if v, err := lc.LegacyMayOverride(); err == nil {
			st.LegacyMayOverride = &v
		}
	}
	return st, nil
}

// Change reports what Begin, Enable or Disable did.
type Change struct {
	// Repaired is the restore of a snapshot left by a process that died
	// without restoring (nil when there was none).
	Repaired *RestoreReport
	// Changed lists the subcategories written, with before and after.
	Changed []Entry
	// ManagedBy is set when a lasting change ("audit enable") was found
	// and the policy was left alone.
	ManagedBy *Owner
	// SharedWith lists the other running wfpwatch processes that already
	// held the change this process joined: the policy is put back when the
	// last of them (or this process) exits.
	SharedWith []Owner
	// Missing lists subcategories that still lack what was wanted (only
	// when ManagedBy is set: a lasting change is not joined).
	Missing []string
}

// Summary is one line for the user: what was changed on the host and that
// it will be put back.
func (c *Change) Summary(restoreHint string) string {
	if c.ManagedBy != nil {
		s := fmt.Sprintf("audit policy: left as is (changed by %s, which will put it back)", c.ManagedBy)
		if c.ManagedBy.Lasting() {
			s = fmt.Sprintf("audit policy: left as is (changed by %s; 'wfpwatch audit restore' puts it back)", c.ManagedBy)
		}
		if len(c.Missing) > 0 {
			s += "; not audited: " + strings.Join(c.Missing, ", ")
		}
		return s
	}
	if len(c.SharedWith) > 0 {
		restoreHint = fmt.Sprintf("shared with %s: put back when the last of them exits", owners(c.SharedWith))
		if len(c.Changed) == 0 {
			return "audit policy: already on (" + restoreHint + ")"
		}
	}
	if len(c.Changed) == 0 {
		return "audit policy: already on, nothing changed on this host"
	}
	var parts []string
	for _, e := range c.Changed {
		parts = append(parts, fmt.Sprintf("%s %s → %s", e.Name, e.Before, e.After))
	}
	return "audit policy changed: " + strings.Join(parts, "; ") + "; " + restoreHint
}

func owners(list []Owner) string {
	var s []string
	for _, o := range list {
		s = append(s, o.String())
	}
	return strings.Join(s, ", ")
}

// RestoreReport says what a restore did.
type RestoreReport struct {
	Owner    Owner
	Restored []Entry // written back to Before
	// Skipped lists entries left alone because someone else changed the
	// subcategory after wfpwatch did (not forced); Found is what was there.
	// They stay in the snapshot (Kept), for 'audit restore --force'.
	Skipped []Skipped
	// StillHeld lists the other running wfpwatch processes that still rely
	// on the change: nothing was put back, the last of them will.
	StillHeld []Owner
}

// Skipped is an entry a restore left alone.
type Skipped struct {
	Entry Entry
	Found Setting
}

// Summary is a line for the user.
func (r *RestoreReport) Summary() string {
	var parts []string
	for _, e := range r.Restored {
		parts = append(parts, fmt.Sprintf("%s back to %s", e.Name, e.Before))
	}
	for _, s := range r.Skipped {
		parts = append(parts, fmt.Sprintf("%s left at %s (changed by someone else since wfpwatch set %s; 'wfpwatch audit restore --force' writes back %s)",
			s.Entry.Name, s.Found, s.Entry.After, s.Entry.Before))
	}
	if len(r.StillHeld) > 0 {
		return fmt.Sprintf("audit policy: left as is for %s, which still needs it and puts it back when it exits", owners(r.StillHeld))
	}
	if len(parts) == 0 {
		return "audit policy: nothing to put back"
	}
	return "audit policy restored: " + strings.Join(parts, "; ")
}

// Repair restores a snapshot whose holders all died without restoring
// (dead holders among live ones are only dropped from it). It returns nil
// when there is nothing to restore: no snapshot, a holder still runs, a
// lasting change, or a kept snapshot (waiting for 'audit restore --force').
func (m *Manager) Repair() (r *RestoreReport, err error) {
	err = m.locked(func() error { r, err = m.repair(); return err })
	return r, err
}

func (m *Manager) repair() (*RestoreReport, error) {
	snap, err := ReadSnapshot(m.State)
	if err != nil || snap == nil || snap.Kept {
		return nil, err
	}
	live := m.liveHolders(snap)
	if len(live) > 0 {
		if len(live) < len(snap.holders()) {
			snap.Holders = live
			if err := WriteSnapshot(m.State, snap); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	r, err := m.restore(snap, false)
	if err != nil {
		return nil, fmt.Errorf("restore audit policy left by %s, which did not exit cleanly: %w", snap.Owner, err)
	}
	return r, nil
}

// Begin makes sure want is audited for the lifetime of this process
// (m.Self): it repairs a crash leftover, snapshots the current policy to the
// state file, and only then writes the bits that were missing. End puts it
// back. When other running wfpwatch processes hold a change, this process
// joins it: it adds itself to the holders and the bits it still misses,
// and the policy is put back when the last holder exits. A kept snapshot
// is joined the same way (its saved values stay the ones to restore). When
// a lasting change ("audit enable") is outstanding, Begin changes nothing
// and says so in the Change.
func (m *Manager) Begin(want Want) (c *Change, err error) {
	err = m.locked(func() error { c, err = m.begin(want); return err })
	return c, err
}

func (m *Manager) begin(want Want) (*Change, error) {
	c := &Change{}
	rep, err := m.repair()
	if err != nil {
		return nil, err
	}
	c.Repaired = rep
	snap, err := ReadSnapshot(m.State)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		changed, err := m.apply(want, nil)
		if err != nil {
			return c, err
		}
		c.Changed = changed
		return c, nil
	}
	cur, err := m.Policy.Query(Subcategories)
	if err != nil {
		return nil, err
	}
	if snap.lasting() {
		owner := snap.Owner
		c.ManagedBy = &owner
		c.Missing = missing(cur, want)
		return c, nil
	}
	for _, o := range m.liveHolders(snap) {
		if !o.Same(m.Self) {
			c.SharedWith = append(c.SharedWith, o)
		}
	}
	if !snap.holds(m.Self) {
		snap.Holders = append(m.liveHolders(snap), m.Self)
	}
	snap.Kept = false
	next, changed := Plan(cur, want)
	if !slices.Contains(changed, true) {
		// Nothing to write, but this process now holds the change.
		return c, WriteSnapshot(m.State, snap)
	}
	out, err := m.write(cur, next, changed, snap)
	if err != nil {
		return c, err
	}
	c.Changed = out
	return c, nil
}

func missing(cur []Setting, want Want) []string {
	var out []string
	for i, g := range Subcategories {
		if w := want.of(g); !cur[i].Has(w) {
			out = append(out, fmt.Sprintf("%s (%s needed, %s set)", Name(g), w, cur[i]))
		}
	}
	return out
}

// apply queries, snapshots (merging into base, a lasting snapshot being
// extended), writes and verifies. It writes nothing and leaves no snapshot
// when nothing needs to change.
func (m *Manager) apply(want Want, base *Snapshot) ([]Entry, error) {
	cur, err := m.Policy.Query(Subcategories)
	if err != nil {
		return nil, err
	}
	next, changed := Plan(cur, want)
	return m.write(cur, next, changed, base)
}

func (m *Manager) write(cur, next []Setting, changed []bool, base *Snapshot) ([]Entry, error) {
	any := false
	for _, c := range changed {
		any = any || c
	}
	if !any {
		return nil, nil
	}
	snap := base
	if snap == nil {
		snap = &Snapshot{Version: snapshotVersion, Owner: m.Self, Holders: []Owner{m.Self}, Created: m.now()}
		for i, g := range Subcategories {
			snap.Entries = append(snap.Entries, Entry{Subcategory: g, Name: Name(g), Before: cur[i]})
		}
	}
	var subs []GUID
	var vals []Setting
	var out []Entry
	for i, g := range Subcategories {
		if !changed[i] {
			continue
		}
		e := entryFor(snap, g, cur[i])
		e.After, e.Changed = next[i], true
		subs = append(subs, g)
		vals = append(vals, next[i])
		out = append(out, Entry{Subcategory: g, Name: Name(g), Before: cur[i], After: next[i], Changed: true})
	}
	// The snapshot is on disk before the first write: a crash from here on
	// is repaired at the next start.
	if err := WriteSnapshot(m.State, snap); err != nil {
		return nil, err
	}
	if err := m.setVerified(subs, vals); err != nil {
		// Put back whatever part of the change was made.
		if _, rerr := m.restore(snap, true); rerr != nil {
			return nil, fmt.Errorf("%w (and putting the policy back failed: %v; run 'wfpwatch audit restore')", err, rerr)
		}
		return nil, err
	}
	return out, nil
}

func entryFor(s *Snapshot, g GUID, cur Setting) *Entry {
	for i := range s.Entries {
		if s.Entries[i].Subcategory == g {
			return &s.Entries[i]
		}
	}
	s.Entries = append(s.Entries, Entry{Subcategory: g, Name: Name(g), Before: cur})
	return &s.Entries[len(s.Entries)-1]
}

// setVerified writes vals and checks by querying that exactly
// vals[i].Audited() is now audited. If not, it clears the subcategory with
// None and writes again (in case a write only adds bits); if it still does
// not stick, the policy is locked.
func (m *Manager) setVerified(subs []GUID, vals []Setting) error {
	if len(subs) == 0 {
		return nil
	}
	for _, v := range vals {
		if v == Unchanged {
			return errors.New("internal error: refusing to write POLICY_AUDIT_EVENT_UNCHANGED")
		}
	}
	if err := m.Policy.Set(subs, vals); err != nil {
		return err
	}
	got, err := m.Policy.Query(subs)
	if err != nil {
		return err
	}
	var rs []GUID
	var rv []Setting
	for i := range subs {
		if got[i].Audited() != vals[i].Audited() {
			rs = append(rs, subs[i])
			rv = append(rv, vals[i])
		}
	}
	if len(rs) == 0 {
		return nil
	}
	none := make([]Setting, len(rs))
	for i := range none {
		none[i] = None
	}
	if err := m.Policy.Set(rs, none); err != nil {
		return err
	}
	if err := m.Policy.Set(rs, rv); err != nil {
		return err
	}
	got, err = m.Policy.Query(rs)
	if err != nil {
		return err
	}
	for i := range rs {
		if got[i].Audited() != rv[i].Audited() {
			return fmt.Errorf("%s: wrote %s, reads back %s: %w", Name(rs[i]), rv[i], got[i], ErrLocked)
		}
	}
	return nil
}

// End lets go of the change this process (m.Self) holds. When no other
// holder still runs, it restores the policy; otherwise it leaves the
// policy and the snapshot to them (StillHeld). It returns nil when this
// process holds no change.
func (m *Manager) End() (r *RestoreReport, err error) {
	err = m.locked(func() error { r, err = m.end(); return err })
	return r, err
}

func (m *Manager) end() (*RestoreReport, error) {
	snap, err := ReadSnapshot(m.State)
	if err != nil || snap == nil {
		return nil, err
	}
	if m.Self.Lasting() || !snap.holds(m.Self) {
		return nil, nil
	}
	var live []Owner
	for _, o := range m.liveHolders(snap) {
		if !o.Same(m.Self) {
			live = append(live, o)
		}
	}
	if len(live) > 0 {
		snap.Holders = live
		if err := WriteSnapshot(m.State, snap); err != nil {
			return nil, err
		}
		return &RestoreReport{Owner: snap.Owner, StillHeld: live}, nil
	}
	return m.restore(snap, false)
}

// ErrOwnerRunning is returned by Restore when the snapshot belongs to a
// watch that still runs.
var ErrOwnerRunning = errors.New("the audit policy change belongs to a running wfpwatch; stop it (it restores on exit) or use --force")

// Restore puts back the outstanding change, whoever made it ("wfpwatch
// audit restore"), including one kept by an earlier restore. A
// subcategory that someone else changed after wfpwatch is left alone, and
// kept in the snapshot, unless force is set. It refuses while a wfpwatch
// that holds the change still runs, unless force is set. It returns nil
// when there is no snapshot.
func (m *Manager) Restore(force bool) (r *RestoreReport, err error) {
	err = m.locked(func() error { r, err = m.restoreCmd(force); return err })
	return r, err
}

func (m *Manager) restoreCmd(force bool) (*RestoreReport, error) {
	snap, err := ReadSnapshot(m.State)
	if err != nil || snap == nil {
		return nil, err
	}
	if !force {
		for _, o := range m.liveHolders(snap) {
			if !o.Lasting() {
				return nil, fmt.Errorf("%s: %w", o, ErrOwnerRunning)
			}
		}
	}
	return m.restore(snap, force)
}

// restore writes back the Before value of every changed entry (those
// someone else changed since are skipped unless force). The snapshot is
// removed, or, when entries were skipped, rewritten with those entries
// only and marked Kept.
func (m *Manager) restore(snap *Snapshot, force bool) (*RestoreReport, error) {
	r := &RestoreReport{Owner: snap.Owner}
	var subs []GUID
	for _, e := range snap.Entries {
		if e.Changed && managed(e.Subcategory) {
			subs = append(subs, e.Subcategory)
		}
	}
	if len(subs) > 0 {
		cur, err := m.Policy.Query(subs)
		if err != nil {
			return nil, err
		}
		var ws []GUID
		var wv []Setting
		i := 0
		for _, e := range snap.Entries {
			if !e.Changed || !managed(e.Subcategory) {
				continue
			}
			found := cur[i]
			i++
			if found.Audited() == e.Before.Audited() {
				r.Restored = append(r.Restored, e) // already back
				continue
			}
			if found.Audited() != e.After.Audited() && !force {
				r.Skipped = append(r.Skipped, Skipped{Entry: e, Found: found})
				continue
			}
			ws = append(ws, e.Subcategory)
			wv = append(wv, e.Before.Write())
			r.Restored = append(r.Restored, e)
		}
		if err := m.setVerified(ws, wv); err != nil {
			return nil, err
		}
	}
	if len(r.Skipped) > 0 {
		kept := *snap
		kept.Kept, kept.Holders, kept.Entries = true, nil, nil
		for _, s := range r.Skipped {
			kept.Entries = append(kept.Entries, s.Entry)
		}
		if err := WriteSnapshot(m.State, &kept); err != nil {
			return r, fmt.Errorf("keep the entries left alone for 'audit restore --force': %w", err)
		}
		return r, nil
	}
	if err := removeSnapshot(m.State); err != nil {
		return r, err
	}
	return r, nil
}

// Drift is a subcategory that lost a wanted bit while watching (Group
// Policy refreshes reset subcategories at any time).
type Drift struct {
	Subcategory GUID
	Name        string
	Want        Setting
	Found       Setting
	Reapplied   bool
}

func (d Drift) String() string {
	s := fmt.Sprintf("%s is now %s (%s needed): reset by Group Policy or another tool?", d.Name, d.Found, d.Want)
	if d.Reapplied {
		return s + " re-applied (--enforce)"
	}
	return s + " events of this kind stop until it is re-applied (run with --enforce to re-apply automatically)"
}

// Recheck queries the policy and returns the subcategories that no longer
// audit what want needs. With enforce, it writes the missing bits again
// (extending this process's snapshot, or taking one if there is none, so
// that End still restores the original).
func (m *Manager) Recheck(want Want, enforce bool) ([]Drift, error) {
	cur, err := m.Policy.Query(Subcategories)
	if err != nil {
		return nil, err
	}
	var drift []Drift
	for i, g := range Subcategories {
		if w := want.of(g); !cur[i].Has(w) {
			drift = append(drift, Drift{Subcategory: g, Name: Name(g), Want: w, Found: cur[i]})
		}
	}
	if len(drift) == 0 || !enforce {
		return drift, nil
	}
	err = m.locked(func() error {
		snap, err := ReadSnapshot(m.State)
		if err != nil {
			return err
		}
		if snap != nil && (!snap.holds(m.Self) || snap.lasting()) {
			return fmt.Errorf("not re-applying: the audit policy change belongs to %s", snap.Owner)
		}
		next, changed := Plan(cur, want)
		_, err = m.write(cur, next, changed, snap)
		return err
	})
	if err != nil {
		return drift, err
	}
	for i := range drift {
		drift[i].Reapplied = true
	}
	return drift, nil
}

// Enable makes a lasting change ("wfpwatch audit enable"): want is audited
// until "wfpwatch audit restore". The first lasting change takes the
// snapshot; later ones extend it, keeping the original Before values.
func (m *Manager) Enable(want Want) (*Change, error) {
	return m.lasting("audit enable", func(cur []Setting) ([]Setting, []bool) { return Plan(cur, want) })
}

// Disable switches both subcategories off as a lasting change ("wfpwatch
// audit disable"), snapshotting first so that "audit restore" can put the
// previous settings back.
func (m *Manager) Disable() (*Change, error) {
	return m.lasting("audit disable", func(cur []Setting) ([]Setting, []bool) {
		next := make([]Setting, len(cur))
		ch := make([]bool, len(cur))
		for i := range cur {
			next[i] = None
			ch[i] = cur[i].Audited() != 0
		}
		return next, ch
	})
}

func (m *Manager) lasting(cmd string, plan func([]Setting) ([]Setting, []bool)) (c *Change, err error) {
	err = m.locked(func() error { c, err = m.lastingLocked(cmd, plan); return err })
	return c, err
}

func (m *Manager) lastingLocked(cmd string, plan func([]Setting) ([]Setting, []bool)) (*Change, error) {
	c := &Change{}
	rep, err := m.repair()
	if err != nil {
		return nil, err
	}
	c.Repaired = rep
	snap, err := ReadSnapshot(m.State)
	if err != nil {
		return nil, err
	}
	if snap != nil && !snap.Kept && !snap.lasting() {
		holder := snap.Owner
		if live := m.liveHolders(snap); len(live) > 0 {
			holder = live[0]
		}
		return c, fmt.Errorf("%s: %w", holder, ErrOwnerRunning)
	}
	saved := m.Self
	m.Self = Owner{Command: cmd}
	defer func() { m.Self = saved }()
	if snap != nil {
		if snap.Kept {
			snap.Owner, snap.Kept = m.Self, false
		}
		snap.Owner.Command = cmd
		snap.Holders = []Owner{m.Self}
	}
	cur, err := m.Policy.Query(Subcategories)
	if err != nil {
		return nil, err
	}
	next, changed := plan(cur)
	out, err := m.write(cur, next, changed, snap)
	if err != nil {
		return c, err
	}
	c.Changed = out
	return c, nil
}

package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// Owner says who changed the audit policy and is responsible for putting it
// back.
type Owner struct {
	// Command is "watch" (restores on exit) or "audit enable" /
	// "audit disable" (a lasting change, put back by "audit restore").
	Command string `json:"command"`
	// PID is the process id of a watch; 0 for a lasting change.
	PID int `json:"pid,omitempty"`
	// Started is the start time of that process, which tells a live owner
	// from a new process that reuses its pid.
	Started time.Time `json:"started,omitempty"`
}

// Lasting reports whether the change was made to last (by "audit enable" or
// "audit disable") rather than for the lifetime of a process.
func (o Owner) Lasting() bool { return o.PID == 0 }

func (o Owner) String() string {
	if o.Lasting() {
		return fmt.Sprintf("'wfpwatch %s'", o.Command)
	}
	return fmt.Sprintf("'wfpwatch %s' (pid %d)", o.Command, o.PID)
}

// Same reports whether o and p are the same process (or the same lasting
// command).
func (o Owner) Same(p Owner) bool {
	if o.Lasting() || p.Lasting() {
		return o.Lasting() && p.Lasting()
	}
	return o.PID == p.PID && o.Started.Equal(p.Started)
}

// Entry records one subcategory in a snapshot.
type Entry struct {
	Subcategory GUID `json:"subcategory"`
	// Name is English, for people reading the file. ReadSnapshot replaces
	// it with the name from this package's table: what the file says is
	// never shown.
	Name string `json:"name"`
	// Before is the setting found before any change, as queried.
	Before Setting `json:"before"`
	// After is the setting written; meaningful when Changed.
	After Setting `json:"after"`
	// Changed says whether this package wrote the subcategory.
	Changed bool `json:"changed"`
}

// Snapshot is the state file: what the policy was before wfpwatch changed
// it, and what it wrote. It exists exactly while a change is outstanding.
type Snapshot struct {
	Version int `json:"version"`
	// Owner is who made the change first (shown to the user).
	Owner Owner `json:"owner"`
	// Holders are the wfpwatch processes that rely on the change, or the
	// lasting command that made it; the policy is put back when the last
	// one lets go (or is found dead). A snapshot written by an older
	// wfpwatch has none: its Owner is the one holder.
	Holders []Owner `json:"holders,omitempty"`
	// Kept marks what a restore left behind: entries of subcategories
	// someone else changed after wfpwatch did, kept so that 'wfpwatch
	// audit restore --force' can still write the saved values back. No
	// one holds a kept snapshot.
	Kept    bool      `json:"kept,omitempty"`
	Created time.Time `json:"created"`
	Entries []Entry   `json:"entries"`
}

// holders returns who holds the change (see Holders).
func (s *Snapshot) holders() []Owner {
	switch {
	case s.Kept:
		return nil
	case len(s.Holders) > 0:
		return s.Holders
	}
	return []Owner{s.Owner}
}

// lasting reports whether a lasting command ("audit enable") holds the
// change.
func (s *Snapshot) lasting() bool {
	return slices.ContainsFunc(s.holders(), Owner.Lasting)
}

// IsLasting reports whether a lasting command ("audit enable" or "audit
// disable") holds the change, which then stays until 'audit restore'.
func (s *Snapshot) IsLasting() bool { return s.lasting() }

// holds reports whether o is one of the holders.
func (s *Snapshot) holds(o Owner) bool {
	return slices.ContainsFunc(s.holders(), o.Same)
}

const snapshotVersion = 1

// ReadSnapshot reads the state file at path. It returns (nil, nil) when
// there is none. The file must pass statedir's checks (a trusted owner, no
// link or reparse point) and name only the two subcategories this package
// manages, each once; entry names are taken from this package's table.
func ReadSnapshot(path string) (*Snapshot, error) {
	b, err := statedir.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit snapshot: %w", err)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("audit snapshot %s is damaged (%v): check the audit policy with 'wfpwatch audit status' and remove the file", path, err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("audit snapshot %s has version %d, this wfpwatch reads %d", path, s.Version, snapshotVersion)
	}
	seen := map[GUID]bool{}
	for i, e := range s.Entries {
		if !managed(e.Subcategory) {
			return nil, fmt.Errorf("audit snapshot %s names the subcategory %s, which wfpwatch never changes, so wfpwatch did not write it: %w; check the audit policy ('auditpol /get /category:*'), delete the file and run again", path, e.Subcategory, statedir.ErrUntrusted)
		}
		if seen[e.Subcategory] {
			return nil, fmt.Errorf("audit snapshot %s names %s twice, so wfpwatch did not write it: %w; check the audit policy with 'wfpwatch audit status', delete the file and run again", path, Name(e.Subcategory), statedir.ErrUntrusted)
		}
		seen[e.Subcategory] = true
		if e.Before&^(Success|Failure|None) != 0 || e.After&^(Success|Failure|None) != 0 {
			return nil, fmt.Errorf("audit snapshot %s is damaged (setting out of range): check the audit policy with 'wfpwatch audit status' and remove the file", path)
		}
		s.Entries[i].Name = Name(e.Subcategory)
	}
	return &s, nil
}

// managed reports whether g is one of Subcategories.
func managed(g GUID) bool { return slices.Contains(Subcategories, g) }

// WriteSnapshot replaces the state file at path atomically, in a state
// directory that statedir has checked (created locked down when missing).
func WriteSnapshot(path string, s *Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := statedir.EnsureFor(path); err != nil {
		return fmt.Errorf("save audit snapshot: %w", err)
	}
	if err := statedir.WriteFile(path, b); err != nil {
		return fmt.Errorf("save audit snapshot: %w", err)
	}
	return nil
}

func removeSnapshot(path string) error {
	if err := statedir.Remove(path); err != nil {
		return fmt.Errorf("remove audit snapshot: %w", err)
	}
	return nil
}

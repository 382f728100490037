package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/atomicfile"
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

// Entry records one subcategory in a snapshot.
type Entry struct {
	Subcategory GUID   `json:"subcategory"`
	Name        string `json:"name"` // English, for people reading the file
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
	Version int       `json:"version"`
	Owner   Owner     `json:"owner"`
	Created time.Time `json:"created"`
	Entries []Entry   `json:"entries"`
}

const snapshotVersion = 1

// ReadSnapshot reads the state file at path. It returns (nil, nil) when
// there is none.
func ReadSnapshot(path string) (*Snapshot, error) {
	b, err := os.ReadFile(path)
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
	for _, e := range s.Entries {
		if e.Before&^(Success|Failure|None) != 0 || e.After&^(Success|Failure|None) != 0 {
			return nil, fmt.Errorf("audit snapshot %s is damaged (setting out of range): check the audit policy with 'wfpwatch audit status' and remove the file", path)
		}
	}
	return &s, nil
}

// WriteSnapshot replaces the state file at path atomically.
func WriteSnapshot(path string, s *Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("save audit snapshot: %w", err)
	}
	return nil
}

func removeSnapshot(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove audit snapshot: %w", err)
	}
	return nil
}

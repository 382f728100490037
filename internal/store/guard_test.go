package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// TestSchemaVersionGuards: a negative user_version (which made the
// migration index -1 and panic) and a future one are refused with the same
// message, for writing and for reading.
func TestSchemaVersionGuards(t *testing.T) {
	for _, v := range []int{-1, -2147483648, SchemaVersion + 1} {
		path := filepath.Join(t.TempDir(), "v.db")
		sdb, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sdb.Exec("CREATE TABLE events(x); PRAGMA user_version = " + strconv.Itoa(v)); err != nil {
			t.Fatal(err)
		}
		sdb.Close()
		want := "database schema version " + strconv.Itoa(v) + " is newer than this wfpwatch understands"
		for _, ro := range []bool{false, true} {
			_, err := Open(path, Options{ReadOnly: ro})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("version %d read-only %v: %v", v, ro, err)
			}
		}
	}
}

// TestForeignDatabase: another application's SQLite file given to --db is
// refused and left byte for byte as it was (no tables added, no WAL).
func TestForeignDatabase(t *testing.T) {
	for _, tt := range []struct {
		name, sql string
	}{
		{"no version", "CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('a')"},
		{"a version of its own", "CREATE TABLE contacts(name TEXT); PRAGMA user_version = 2"},
		{"only an index-less view", "CREATE VIEW v AS SELECT 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			sdb, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sdb.Exec(tt.sql); err != nil {
				t.Fatal(err)
			}
			sdb.Close()
			before, _ := os.ReadFile(path)
			_, err = Open(path, Options{})
			if !errors.Is(err, errForeign) || !strings.Contains(err.Error(), "pass --db with a new file name") {
				t.Fatalf("err = %v", err)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("the foreign database was changed")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Error("the foreign database was switched to WAL")
			}
		})
	}
	// An empty SQLite file (made by sqlite3 or touch) is a new database.
	path := filepath.Join(t.TempDir(), "empty.db")
	os.WriteFile(path, nil, 0o644)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	db.Close()
}

// TestReadOnlyImmutable: a database that cannot be written (evidence on
// read-only media) is opened read-only as immutable, says so, and answers
// queries. The test cannot make a file read-only for root, so it says the
// file cannot be written.
func TestReadOnlyImmutable(t *testing.T) {
	db, path := openTemp(t, Options{MaxAge: -1})
	evs := make([]event.Event, 3)
	for i := range evs {
		evs[i] = event.Event{Time: base.Add(time.Duration(i) * time.Second), Verdict: event.VerdictBlock, Code: 5157}
	}
	writeAll(t, db, evs)
	db.Close()
	old := canWrite
	canWrite = func(string) bool { return false }
	defer func() { canWrite = old }()
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !strings.Contains(r.Note(), "opened read-only as immutable") {
		t.Errorf("note %q", r.Note())
	}
	n, err := r.Count(context.Background(), Filter{})
	if err != nil || n != 3 {
		t.Fatalf("count %d %v", n, err)
	}
	if _, err := r.SQL().Exec("CREATE TABLE x(y)"); err == nil {
		t.Error("wrote to an immutable database")
	}
	// A path with characters a URI escapes.
	dir := filepath.Join(t.TempDir(), "a dir #1 %20")
	os.MkdirAll(dir, 0o755)
	p2 := filepath.Join(dir, "h.db")
	b, _ := os.ReadFile(path)
	os.WriteFile(p2, b, 0o644)
	r2, err := Open(p2, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if n, err := r2.Count(context.Background(), Filter{}); err != nil || n != 3 {
		t.Fatalf("escaped path: count %d %v", n, err)
	}
}

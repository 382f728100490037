package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// futureSchema is the error for a schema version this wfpwatch does not
// know: newer than SchemaVersion, or negative (no wfpwatch writes one; a
// damaged or crafted file).
func futureSchema(v int) error {
	return fmt.Errorf("database schema version %d is newer than this wfpwatch understands (%d): upgrade wfpwatch or use another --db", v, SchemaVersion)
}

// errForeign is wrapped by the error for a SQLite database that another
// application made.
var errForeign = errors.New("not a wfpwatch history database")

// checkOurs refuses a non-empty SQLite database without the wfpwatch
// schema (another application's file given to --db by mistake): writing
// our tables into it and switching it to WAL would change it for its
// owner. An empty database (a new file) is ours to create.
func checkOurs(ctx context.Context, sdb *sql.DB) error {
	var v, tables, events int
	err := sdb.QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'),
		(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events')`).Scan(&v, &tables, &events)
	if err != nil {
		return fmt.Errorf("read the schema: %w", err)
	}
	switch {
	case v < 0 || v > SchemaVersion:
		return futureSchema(v) // said before anything else is touched
	case tables == 0:
		return nil
	case v == 0 || events == 0:
		return fmt.Errorf("%w: it holds %d schema object(s) (tables, indexes, views) of another application (user_version %d) and was left unchanged: pass --db with a new file name", errForeign, tables, v)
	}
	return nil
}

// canWrite is writable; tests replace it (they run as root, for whom no
// file is read-only).
var canWrite = writable

// writable reports whether the database file at path can be opened for
// writing and its directory can take the -shm and -wal files that SQLite
// creates beside a WAL database, even to read it.
func writable(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return !errors.Is(err, os.ErrPermission) && !isReadOnlyFS(err)
	}
	f.Close()
	if _, err := os.Stat(path + "-shm"); err == nil {
		return true // SQLite can use the one there
	}
	probe, err := os.CreateTemp(filepath.Dir(path), ".wfpwatch-probe-*")
	if err != nil {
		return false
	}
	probe.Close()
	os.Remove(probe.Name())
	return true
}

// cacheSize is SQLite's cache_size for a reader or a writer (negative:
// KiB).
// tempStore is where SQLite keeps its temporary tables and sort runs: in
// memory for readers (queries sort small results), in a file for a writer,
// whose index maintenance over a long import otherwise held tens of MB of
// resident memory outside the Go heap (a 1.2-million-line firewall log:
// 224 MB peak RSS with MEMORY, 183 MB with FILE, at the same speed).
func tempStore(readOnly bool) string {
	if readOnly {
		return "MEMORY"
	}
	return "FILE"
}

func cacheSize(readOnly bool) string {
	if readOnly {
		return "-32000"
	}
	return "-8000"
}

// immutableDSN is the name that opens path read-only as immutable: no
// locks, no -shm, no -wal (a URI, so that SQLite reads the parameters).
func immutableDSN(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x → /C:/x
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?mode=ro&immutable=1&_pragma=cache_size(" + cacheSize(true) + ")&_pragma=temp_store(MEMORY)"
}

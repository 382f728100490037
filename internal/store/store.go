// Package store keeps wfpwatch's history in an embedded SQLite database
// (modernc.org/sqlite: pure Go, no cgo) in WAL mode: the events, the flows
// of the pipeline, and rollups that answer top-N questions over millions of
// events in milliseconds.
//
// # Wiring
//
// analyze and watch record history in three steps:
//
//	dbf := store.RegisterFlags(fs)        // --db, --db-keep, --db-max-size
//	pf := pipeline.RegisterFlags(fs)      // --suppress…, --window, --max-flows
//	… parse …
//	path, err := dbf.Path(false)          // analyze: "" unless --db; watch: dbf.Path(true), the default location
//	opt, err := dbf.Options()
//	cfg, err := pf.Config()
//	p := pipeline.New(cfg)
//	p.FirstSight(out)                     // the table/json/csv output.Writer
//	if path != "" {
//		w, err := store.OpenWriter(path, opt, store.WriterOptions{})
//		if err != nil { return err }      // says which file and what to do
//		defer w.Close()                   // commits the rest; closes the DB
//		p.Events(w)                       // every event that passed suppression
//		p.Flows(w)                        // and the flows
//	}
//	… for each event: event.Classify(e); if sel.Includes(e) { p.Process(e) } …
//	p.Close()                             // closes the open flows first,
//	err = w.Close()                       // then the Writer (check its error)
//
// A Writer is an output.Writer (Write, Close) and a pipeline.FlowSink
// (WriteFlow), so it can also be used without a pipeline. Writes are
// buffered and committed in batches (a prepared multi-row INSERT inside one
// transaction per batch) by a background goroutine, at BatchSize events or
// every FlushInterval, whichever comes first. A committed batch survives the
// process being killed; a batch that was being written when it died is
// rolled back as a whole. A Writer that fails stops recording and returns
// the error from every later call: a live view should report it once and
// carry on showing events.
//
// Readers (wfpwatch query, the dashboard) open the same file with Open and
// use Events and Top; WAL lets them read while a writer writes.
//
// Retention by age and by size runs in the writer every PruneInterval
// (Options.MaxAge, Options.MaxBytes) and on demand with Prune.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Defaults of Options.
const (
	DefaultMaxAge   = 30 * 24 * time.Hour
	DefaultMaxBytes = 2 << 30
)

// Options tunes a DB.
type Options struct {
	// MaxAge is how long events are kept (DefaultMaxAge when 0; negative
	// keeps them forever). Retention removes whole hours: up to an hour
	// more than MaxAge may remain.
	MaxAge time.Duration
	// MaxBytes caps the size of the data (DefaultMaxBytes when 0; negative:
	// no cap). When the data grows past it the oldest hours are removed,
	// never the newest hour.
	MaxBytes int64
	// Durable makes every commit wait for the disk (synchronous=FULL), so
	// that a power loss loses no committed batch either. The default
	// (NORMAL) already survives a crash of the process.
	Durable bool
	// ReadOnly opens for reading only (wfpwatch query): the schema must
	// already be current and nothing is written.
	ReadOnly bool
}

// DB is an open history database. It is safe for concurrent use.
type DB struct {
	path string
	opt  Options
	db   *sql.DB
	lock *writerLock // held while open for writing; nil when ReadOnly
	// immutable is set when a ReadOnly database could not be opened the
	// usual way (a read-only file or directory) and was opened as
	// immutable instead.
	immutable bool
}

// Note returns what a user should know about how the database was opened,
// or "": that a read-only file was opened as immutable.
func (db *DB) Note() string {
	if db.immutable {
		return fmt.Sprintf("%s cannot be written (read-only file, directory or medium): opened read-only as immutable; a -wal file left beside it by a crashed writer is not read", db.path)
	}
	return ""
}

// DefaultPath returns the database location for this OS: on Windows
// %ProgramData%\wfpwatch\wfpwatch.db; on macOS ~/Library/Application
// Support/wfpwatch/wfpwatch.db; elsewhere $XDG_DATA_HOME/wfpwatch/wfpwatch.db
// (~/.local/share when XDG_DATA_HOME is unset).
func DefaultPath() (string, error) {
	return defaultPath(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

func defaultPath(goos string, getenv func(string) string, home func() (string, error)) (string, error) {
	switch goos {
	case "windows":
		pd := getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return pd + `\wfpwatch\wfpwatch.db`, nil
	case "darwin", "ios":
		h, err := home()
		if err != nil {
			return "", fmt.Errorf("find the home directory for the default database (use --db FILE): %w", err)
		}
		return filepath.Join(h, "Library", "Application Support", "wfpwatch", "wfpwatch.db"), nil
	}
	if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "wfpwatch", "wfpwatch.db"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("find the home directory for the default database (use --db FILE): %w", err)
	}
	return filepath.Join(h, ".local", "share", "wfpwatch", "wfpwatch.db"), nil
}

// Open opens (creating it and its directory when needed, unless ReadOnly)
// the database at path and migrates its schema to SchemaVersion. The DB
// owns its connections; Close releases them.
func Open(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("open history database: no path (use --db FILE)")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open history database %s: the path must not contain '?'", path)
	}
	if opt.MaxAge == 0 {
		opt.MaxAge = DefaultMaxAge
	}
	if opt.MaxBytes == 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open history database: %w (record history first with analyze --db or watch --db)", err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open history database %s: create its directory: %w", path, err)
	}
	// One recording process per database: a second writer's rollups and
	// retention would work against the first's. Readers need no lock.
	var lock *writerLock
	if !opt.ReadOnly {
		var err error
		if lock, err = lockWriter(path); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok {
			lock.release()
		}
	}()
	sync := "NORMAL"
	if opt.Durable {
		sync = "FULL"
	}
	// A writer's page cache is 8 MB: SQLite's allocations live outside
	// the Go heap, and a 32 MB cache cost a few hundred MB of resident
	// memory on a long import for no measurable gain in speed
	// (BenchmarkIngestMemory reports the peak RSS). Readers keep 32 MB.
	//
	// WAL is set by Open (below), after the page size of a new file: the
	// page size cannot change once a file is in WAL mode. Both persist in
	// the file.
	dsn := path + "?_busy_timeout=10000&_synchronous=" + sync +
		"&_txlock=immediate&_pragma=cache_size(" + cacheSize(opt.ReadOnly) + ")&_pragma=temp_store(" + tempStore(opt.ReadOnly) + ")"
	if opt.ReadOnly {
		dsn += "&_query_only=1"
	}
	immutable := opt.ReadOnly && !canWrite(path)
	if immutable {
		// SQLite would have to create the -shm file of a WAL database
		// beside it, and fails with "unable to open database file".
		dsn = immutableDSN(path)
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open history database %s: %w", path, err)
	}
	db := &DB{path: path, opt: opt, db: sdb, lock: lock, immutable: immutable}
	if opt.ReadOnly {
		sdb.SetMaxOpenConns(4)
	} else {
		// One connection: every write is serialised in this process and
		// statements prepared on it are reused inside transactions.
		sdb.SetMaxOpenConns(1)
	}
	sdb.SetConnMaxIdleTime(0)
	ctx := context.Background()
	if opt.ReadOnly {
		var v int
		if err := sdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			sdb.Close()
			return nil, fmt.Errorf("open history database %s: %w", path, err)
		}
		if v > SchemaVersion || v < 0 {
			sdb.Close()
			return nil, fmt.Errorf("open history database %s: %w", path, futureSchema(v))
		}
		if v != SchemaVersion {
			sdb.Close()
			return nil, fmt.Errorf("history database %s has schema version %d, this wfpwatch reads %d: open it once for writing (analyze --db) to migrate it, or upgrade wfpwatch", path, v, SchemaVersion)
		}
		ok = true
		return db, nil
	}
	// Before anything is written: a database of another application is
	// left as it is (no tables of ours, no switch to WAL).
	if err := checkOurs(ctx, sdb); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open history database %s: %w", path, err)
	}
	for _, p := range []string{"PRAGMA page_size = 16384", "PRAGMA auto_vacuum = INCREMENTAL", "PRAGMA journal_mode = WAL"} {
		// The first two only take effect on a new, empty file.
		if _, err := sdb.ExecContext(ctx, p); err != nil {
			sdb.Close()
			return nil, fmt.Errorf("open history database %s: %s: %w", path, p, err)
		}
	}
	if err := migrate(ctx, sdb); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open history database %s: %w", path, err)
	}
	if err := catchUp(ctx, sdb); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open history database %s: %w", path, err)
	}
	ok = true
	return db, nil
}

// catchUp folds into the rollups the events that a writer committed but
// did not fold before it stopped (killed, or its process crashed).
func catchUp(ctx context.Context, sdb *sql.DB) error {
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := foldEvents(ctx, tx); err != nil {
		return fmt.Errorf("fold events into rollups: %w", err)
	}
	return tx.Commit()
}

// Path returns the file the DB was opened from.
func (db *DB) Path() string { return db.path }

// Close closes the database and, when it was open for writing, gives up
// the writer lock. Close every Writer first.
func (db *DB) Close() error {
	err := db.db.Close()
	if lerr := db.lock.release(); lerr != nil && err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("close history database: %w", err)
	}
	return nil
}

// SQL returns the underlying handle, for tests and maintenance.
func (db *DB) SQL() *sql.DB { return db.db }

// Check runs SQLite's integrity check and returns an error describing the
// damage, if any.
func (db *DB) Check(ctx context.Context) error {
	rows, err := db.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			msgs = append(msgs, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(msgs) > 0 {
		return fmt.Errorf("history database %s is damaged: %s", db.path, strings.Join(msgs, "; "))
	}
	return nil
}

// Size returns the bytes the data uses (pages in use × page size, free
// pages not counted).
func (db *DB) Size(ctx context.Context) (int64, error) {
	return size(ctx, db.db)
}

type execQueryer interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func size(ctx context.Context, q queryer) (int64, error) {
	var pages, free, psize int64
	if err := q.QueryRowContext(ctx, "SELECT * FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()").Scan(&pages, &free, &psize); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return (pages - free) * psize, nil
}

// PruneStats says what Prune removed.
type PruneStats struct {
	Events int64
	Flows  int64
	Hours  int // hours removed by the size cap
}

// Prune applies retention now: it removes the events, flows and rollups
// older than MaxAge before now (whole hours), then, while the data is
// larger than MaxBytes, the oldest hour (never the newest one), and gives
// the freed pages back to the file system.
func (db *DB) Prune(ctx context.Context, now time.Time) (PruneStats, error) {
	if db.opt.ReadOnly {
		return PruneStats{}, errors.New("prune: the database is open read-only")
	}
	return prune(ctx, db.db, db.opt, now)
}

func prune(ctx context.Context, sdb *sql.DB, opt Options, now time.Time) (PruneStats, error) {
	var st PruneStats
	if opt.MaxAge > 0 {
		cut := floorDiv(now.Add(-opt.MaxAge).Unix(), levelHour) * levelHour
		n, f, err := deleteBefore(ctx, sdb, cut)
		if err != nil {
			return st, err
		}
		st.Events += n
		st.Flows += f
	}
	if opt.MaxBytes > 0 {
		for {
			sz, err := size(ctx, sdb)
			if err != nil {
				return st, err
			}
			if sz <= opt.MaxBytes {
				break
			}
			var oldest, newest sql.NullInt64
			if err := sdb.QueryRowContext(ctx, "SELECT min(ts), max(ts) FROM events").Scan(&oldest, &newest); err != nil {
				return st, fmt.Errorf("prune: %w", err)
			}
			if !oldest.Valid {
				break
			}
			oh := floorDiv(floorDiv(oldest.Int64, 1e9), levelHour) * levelHour
			nh := floorDiv(floorDiv(newest.Int64, 1e9), levelHour) * levelHour
			if oh >= nh {
				break // only the newest hour is left: keep it
			}
			n, f, err := deleteBefore(ctx, sdb, oh+levelHour)
			if err != nil {
				return st, err
			}
			st.Events += n
			st.Flows += f
			st.Hours++
		}
	}
	if st.Events > 0 || st.Flows > 0 {
		if _, err := sdb.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
			return st, fmt.Errorf("prune: incremental_vacuum: %w", err)
		}
	}
	return st, nil
}

// deleteBefore removes everything before the Unix second cut (an hour
// boundary, so that rollup buckets go with their events) in one
// transaction.
func deleteBefore(ctx context.Context, sdb *sql.DB, cut int64) (events, flows int64, err error) {
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("prune: begin: %w", err)
	}
	defer tx.Rollback()
	cutNS := int64(math.MaxInt64)
	if cut < math.MaxInt64/int64(time.Second) {
		cutNS = cut * int64(time.Second)
	}
	r, err := tx.ExecContext(ctx, "DELETE FROM events WHERE ts < ?", cutNS)
	if err != nil {
		return 0, 0, fmt.Errorf("prune events: %w", err)
	}
	events, _ = r.RowsAffected()
	r, err = tx.ExecContext(ctx, "DELETE FROM flows WHERE last_ts < ?", cutNS)
	if err != nil {
		return 0, 0, fmt.Errorf("prune flows: %w", err)
	}
	flows, _ = r.RowsAffected()
	if _, err := tx.ExecContext(ctx, "DELETE FROM rollup WHERE bucket < ?", cut); err != nil {
		return 0, 0, fmt.Errorf("prune rollups: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("prune: commit: %w", err)
	}
	return events, flows, nil
}

package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// SchemaVersion is the schema version this code writes (PRAGMA
// user_version). Opening a database migrates it up to this version; a
// database from a newer wfpwatch is refused.
const SchemaVersion = 4

// migration brings the schema from version i to i+1 inside one
// transaction. Each step is SQL, a Go function, or both (SQL first).
type migration struct {
	sql string
	fn  func(ctx context.Context, tx *sql.Tx) error
}

// migrations[i] migrates from version i to i+1. Never edit a released
// step: add a new one.
var migrations = []migration{
	// 0 → 1: events and the string dictionary.
	{sql: `
CREATE TABLE dict(
	id INTEGER PRIMARY KEY,
	s  TEXT NOT NULL UNIQUE
);
CREATE TABLE events(
	id          INTEGER PRIMARY KEY,
	ts          INTEGER NOT NULL, -- Unix time in nanoseconds, UTC; 0 unknown
	verdict     INTEGER NOT NULL, -- 0 unknown, 1 block, 2 drop, 3 permit
	direction   INTEGER NOT NULL, -- 0 unknown, 1 inbound, 2 outbound, 3 forward
	reason      TEXT,
	local_port  INTEGER,          -- NULL unknown
	remote_ip   BLOB,             -- 4 or 16 bytes; NULL unknown
	remote_port INTEGER,
	app         INTEGER,          -- dict: executable path, or process name
	extra       BLOB              -- every other field (see codec.go)
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_app_ts ON events(app, ts);
`},
	// 1 → 2: flows and the rollups behind --top, backfilled from the
	// events already stored.
	{sql: `
CREATE TABLE rollup(
	level     INTEGER NOT NULL, -- 60 minute totals, 3600 hour totals, 3601 hour details, 3602 hour by verdict and direction (rollup.go)
	dim       INTEGER NOT NULL, -- 1 app, 2 port, 3 remote, 4 rule
	verdict   INTEGER NOT NULL, -- totals: 0
	direction INTEGER NOT NULL, -- totals: 0
	bucket    INTEGER NOT NULL, -- Unix seconds of the bucket start
	reason    TEXT NOT NULL,    -- totals and remote details: ''
	value     TEXT NOT NULL,
	n         INTEGER NOT NULL,
	PRIMARY KEY(level, dim, verdict, direction, bucket, reason, value)
) WITHOUT ROWID;
CREATE TABLE flows(
	id          INTEGER PRIMARY KEY,
	run         INTEGER NOT NULL, -- the writer that made it (its open time)
	seq         INTEGER NOT NULL, -- the flow id within that run
	first_ts    INTEGER NOT NULL,
	last_ts     INTEGER NOT NULL,
	count       INTEGER NOT NULL,
	verdict     INTEGER NOT NULL,
	kind        INTEGER NOT NULL,
	reason      TEXT,
	direction   INTEGER NOT NULL,
	protocol    INTEGER,
	local_port  INTEGER,
	remote_ip   BLOB,
	remote_port INTEGER,
	pid         INTEGER,
	app         INTEGER,
	services    TEXT,
	filter_id   INTEGER,
	origin      INTEGER,
	rule_name   INTEGER,
	UNIQUE(run, seq)
);
CREATE INDEX flows_last ON flows(last_ts);
CREATE TABLE meta(
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
-- The rollups count every event with id <= rollup_upto; newer events are
-- counted from the events table until the writer folds them in.
INSERT INTO meta(key, value) VALUES ('rollup_upto', 0);
`, fn: func(ctx context.Context, tx *sql.Tx) error { _, err := foldEvents(ctx, tx); return err }},
	// 2 → 3: the identity of Security-log records (logIdentity), so that
	// importing a file twice stores its events once. The time index
	// becomes the unique index on (time, host, record id): it still
	// serves every time range, and costs no extra B-tree per insert.
	// Events without an identity have NULLs there, which never conflict.
	{sql: `
ALTER TABLE events ADD COLUMN host INTEGER;      -- dict: the computer of a Security-log record; NULL without identity
ALTER TABLE events ADD COLUMN record_id INTEGER; -- its EventRecordID; NULL without identity
DROP INDEX events_ts;
CREATE UNIQUE INDEX events_ts ON events(ts, host, record_id);
`, fn: backfillIdentity},
	// 3 → 4: the rollups gain the host dimension (dim 5: minute and hour
	// totals, hour details) and the per-minute counts by verdict and
	// direction (level 61) that the dashboard's minute series reads. The
	// rollups are rebuilt from the events, in chunks of 50,000 (memory
	// stays bounded; a 10-million-event history takes a few minutes once).
	{sql: `
DELETE FROM rollup;
UPDATE meta SET value = 0 WHERE key = 'rollup_upto';
`, fn: func(ctx context.Context, tx *sql.Tx) error { _, err := foldEvents(ctx, tx); return err }},
}

// backfillIdentity fills host and record_id of the events stored before
// schema 3 from their extra blob. A row whose identity another row has
// already (the same file imported twice before) keeps NULLs: both rows
// stay, as they were, and later imports of that record are skipped.
func backfillIdentity(ctx context.Context, tx *sql.Tx) error {
	upd, err := tx.PrepareContext(ctx, "UPDATE OR IGNORE events SET host = ?, record_id = ? WHERE id = ?")
	if err != nil {
		return err
	}
	defer upd.Close()
	const chunk = 50_000
	type ident struct{ id, host, rec int64 }
	var last int64
	for {
		rows, err := tx.QueryContext(ctx, "SELECT id, extra FROM events WHERE id > ? ORDER BY id LIMIT ?", last, chunk)
		if err != nil {
			return err
		}
		var found []ident
		n := 0
		for rows.Next() {
			var id int64
			var extra []byte
			if err := rows.Scan(&id, &extra); err != nil {
				rows.Close()
				return err
			}
			n++
			last = id
			if host, rec, ok := extraIdentity(extra); ok {
				found = append(found, ident{id, host, rec})
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, f := range found {
			if _, err := upd.ExecContext(ctx, f.host, f.rec, f.id); err != nil {
				return fmt.Errorf("event %d: %w", f.id, err)
			}
		}
		if n < chunk {
			return nil
		}
	}
}

// migrate brings the database to SchemaVersion, one step per transaction,
// so that a crash mid-migration leaves a consistent earlier version.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > SchemaVersion || v < 0 {
		return futureSchema(v)
	}
	for ; v < SchemaVersion; v++ {
		if err := migrateStep(ctx, db, v); err != nil {
			return fmt.Errorf("migrate schema %d → %d: %w", v, v+1, err)
		}
	}
	return nil
}

func migrateStep(ctx context.Context, db *sql.DB, from int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	m := migrations[from]
	if m.sql != "" {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}
	}
	if m.fn != nil {
		if err := m.fn(ctx, tx); err != nil {
			return err
		}
	}
	// PRAGMA cannot take a bound parameter; from+1 is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", from+1)); err != nil {
		return err
	}
	return tx.Commit()
}

// rollupUpto returns the id of the last event the rollups count.
func rollupUpto(ctx context.Context, q queryer) (int64, error) {
	var upto int64
	if err := q.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'rollup_upto'").Scan(&upto); err != nil {
		return 0, fmt.Errorf("read rollup state: %w", err)
	}
	return upto, nil
}

// foldEvents adds the events the rollups do not count yet (id >
// rollup_upto) to the rollups, in chunks so that memory stays bounded, and
// advances rollup_upto. The migration to version 2 uses it to backfill, and
// Open to catch up after a writer died before folding its last events.
// It returns how many events it folded.
func foldEvents(ctx context.Context, tx *sql.Tx) (int64, error) {
	last, err := rollupUpto(ctx, tx)
	if err != nil {
		return 0, err
	}
	var pending bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS(SELECT 1 FROM events WHERE id > ?)", last).Scan(&pending); err != nil || !pending {
		return 0, err
	}
	d := newDictReader()
	if err := loadDict(ctx, tx, d); err != nil {
		return 0, err
	}
	acc := newRollupAcc()
	const chunk = 50_000
	var e event.Event
	var folded int64
	for {
		rows, err := tx.QueryContext(ctx, "SELECT id, "+eventColumns+" FROM events WHERE id > ? ORDER BY id LIMIT ?", last, chunk)
		if err != nil {
			return folded, err
		}
		var batch []storedRow
		for rows.Next() {
			var r storedRow
			if err := rows.Scan(r.dest()...); err != nil {
				rows.Close()
				return folded, err
			}
			batch = append(batch, r)
		}
		if err := rows.Close(); err != nil {
			return folded, err
		}
		for i := range batch {
			if err := batch[i].decode(ctx, tx, d, &e); err != nil {
				return folded, err
			}
			acc.add(&e)
			last = batch[i].id
		}
		folded += int64(len(batch))
		if err := acc.flush(ctx, tx); err != nil {
			return folded, err
		}
		if len(batch) < chunk {
			break
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE meta SET value = ? WHERE key = 'rollup_upto'", last); err != nil {
		return folded, fmt.Errorf("save rollup state: %w", err)
	}
	return folded, nil
}

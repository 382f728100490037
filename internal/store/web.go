package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// This file holds the queries the dashboard (internal/web) needs beyond
// Events and Top: pages of events with their row ids, one event by id, the
// newest events after an id (the live view), counts per time bucket, and
// counts by host.

// Cursor marks a place in the events ordered newest first: the event with
// time TS (Unix nanoseconds) and row id ID. The zero Cursor is "the newest".
type Cursor struct {
	TS, ID int64
}

// IsZero reports whether c is the start (the newest event).
func (c Cursor) IsZero() bool { return c.TS == 0 && c.ID == 0 }

// EventPage calls fn for at most limit events that f selects, newest first,
// starting after the cursor (the zero Cursor starts at the newest). It
// returns the cursor of the next page, or the zero Cursor when no event is
// left. The event passed to fn is only valid during the call.
func (db *DB) EventPage(ctx context.Context, f Filter, after Cursor, limit int, fn func(id int64, e *event.Event) error) (Cursor, error) {
	if limit <= 0 {
		return Cursor{}, errors.New("event page: limit must be positive")
	}
	tx, err := db.readTx(ctx)
	if err != nil {
		return Cursor{}, err
	}
	defer tx.Rollback()
	lo, hi := f.bounds()
	where, args, ok, err := f.where(ctx, tx, lo, hi)
	if err != nil || !ok {
		return Cursor{}, err
	}
	if !after.IsZero() {
		where += " AND (ts < ? OR (ts = ? AND id < ?))"
		args = append(args, after.TS, after.TS, after.ID)
	}
	d := newDictReader()
	q := "SELECT id, " + eventColumns + " FROM events WHERE " + where + " ORDER BY ts DESC, id DESC LIMIT ?"
	args = append(args, limit+1)
	var next, last Cursor
	n := 0
	err = scanRows(ctx, tx, d, q, args, func(r *storedRow, e *event.Event) error {
		n++
		if n > limit {
			next = last
			return errStop
		}
		last = Cursor{TS: r.ts, ID: r.id}
		return fn(r.id, e)
	})
	if err != nil && !errors.Is(err, errStop) {
		return Cursor{}, err
	}
	return next, nil
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

// EventsAfter calls fn for at most limit events that f selects whose row id
// is greater than afterID, in the order they were stored, and returns the
// largest id seen (afterID when none). The live view polls it.
func (db *DB) EventsAfter(ctx context.Context, f Filter, afterID int64, limit int, fn func(id int64, e *event.Event) error) (int64, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return afterID, err
	}
	defer tx.Rollback()
	lo, hi := f.bounds()
	where, args, ok, err := f.where(ctx, tx, lo, hi)
	if err != nil {
		return afterID, err
	}
	maxID := afterID
	if !ok {
		// Nothing can match, but the position still moves on.
		err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), ?) FROM events", afterID).Scan(&maxID)
		return maxID, err
	}
	q := "SELECT id, " + eventColumns + " FROM events WHERE id > ? AND " + where + " ORDER BY id LIMIT ?"
	args = append([]any{afterID}, args...)
	args = append(args, limit)
	err = scanRows(ctx, tx, newDictReader(), q, args, func(r *storedRow, e *event.Event) error {
		maxID = max(maxID, r.id)
		return fn(r.id, e)
	})
	return maxID, err
}

// MaxID returns the largest event row id (0 for an empty history).
func (db *DB) MaxID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&id); err != nil {
		return 0, fmt.Errorf("query history: %w", err)
	}
	return id, nil
}

// EventByID returns the stored event with row id id; ok is false when
// there is none (pruned, or never stored).
func (db *DB) EventByID(ctx context.Context, id int64) (e event.Event, ok bool, err error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return e, false, err
	}
	defer tx.Rollback()
	err = scanRows(ctx, tx, newDictReader(), "SELECT id, "+eventColumns+" FROM events WHERE id = ?", []any{id}, func(r *storedRow, x *event.Event) error {
		e, ok = *x, true
		e.Services = append([]string(nil), x.Services...)
		return nil
	})
	return e, ok, err
}

// scanRows is scanEvents that also hands over the stored row (for its id
// and time).
func scanRows(ctx context.Context, tx *sql.Tx, d *dictReader, q string, args []any, fn func(r *storedRow, e *event.Event) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query history: %w", err)
	}
	defer rows.Close()
	var r storedRow
	var e event.Event
	dest := r.dest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("query history: %w", err)
		}
		if err := r.decode(ctx, tx, d, &e); err != nil {
			return err
		}
		if err := fn(&r, &e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query history: %w", err)
	}
	return nil
}

// SeriesPoint is the number of events of one verdict and direction in the
// time bucket that starts at Bucket.
type SeriesPoint struct {
	Bucket    time.Time
	Verdict   event.Verdict
	Direction event.Direction
	N         int64
}

// Series counts the events f selects per bucket of step (a whole number of
// seconds) by verdict and direction, oldest bucket first. f must have both
// Since and Until. Buckets are aligned to the Unix epoch.
//
// With an hourly step and only time, verdict, direction and reason
// filters, whole hours come from the rollups and only the edges and the
// events the rollups do not count yet are read; every other case counts
// the events of the range.
func (db *DB) Series(ctx context.Context, f Filter, step time.Duration) ([]SeriesPoint, error) {
	if f.Since.IsZero() || f.Until.IsZero() {
		return nil, errors.New("series: give both Since and Until")
	}
	sec := int64(step / time.Second)
	if sec <= 0 || step%time.Second != 0 {
		return nil, fmt.Errorf("series: step %v is not a whole number of seconds", step)
	}
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	type key struct{ b, v, d int64 }
	counts := map[key]int64{}
	lo, hi := f.bounds()
	unit := sec * int64(time.Second)
	fromEvents := func(lo, hi int64, idCond string, id int64) error {
		if lo >= hi {
			return nil
		}
		where, args, ok, err := f.where(ctx, tx, lo, hi)
		if err != nil || !ok {
			return err
		}
		if idCond != "" {
			where += " AND " + idCond
			args = append(args, id)
		}
		from := "events"
		if idCond == "id > ?" {
			// The events the rollups do not count yet are the newest rows:
			// a range of row ids, not of the time index (which would walk
			// the whole time range to find them).
			from = "events NOT INDEXED"
		}
		rows, err := tx.QueryContext(ctx, "SELECT ts / ?, verdict, direction, count(*) FROM "+from+" WHERE "+where+" GROUP BY 1, 2, 3", append([]any{unit}, args...)...)
		if err != nil {
			return fmt.Errorf("query history: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var n int64
			if err := rows.Scan(&k.b, &k.v, &k.d, &n); err != nil {
				return fmt.Errorf("query history: %w", err)
			}
			counts[k] += n
		}
		return rows.Err()
	}
	// Whole hours come from the hour counts by verdict and direction (or
	// the hour details, for a reason filter); whole minutes without a
	// reason filter from the minute counts by verdict and direction; the
	// edges, and what the rollups do not count yet, from the events.
	const hour, minute = int64(time.Hour), int64(time.Minute)
	gran := int64(0)
	switch {
	case sec%3600 == 0:
		gran = hour
	case sec%60 == 0 && len(f.Reasons) == 0:
		gran = minute
	}
	useRollups := gran != 0 && !f.usesEventColumns()
	if useRollups {
		upto, err := rollupUpto(ctx, tx)
		if err != nil {
			return nil, err
		}
		sh, uh := ceilTo(lo, gran), floorTo(hi, gran)
		if sh >= uh {
			useRollups = false
		} else {
			if err := fromEvents(lo, sh, "id <= ?", upto); err != nil {
				return nil, err
			}
			if err := fromEvents(uh, hi, "id <= ?", upto); err != nil {
				return nil, err
			}
			var tail bool
			if err := tx.QueryRowContext(ctx, "SELECT EXISTS(SELECT 1 FROM events WHERE id > ?)", upto).Scan(&tail); err != nil {
				return nil, fmt.Errorf("query history: %w", err)
			}
			if tail {
				if err := fromEvents(lo, hi, "id > ?", upto); err != nil {
					return nil, err
				}
			}
			level, dim := int64(levelHourVD), int64(DimApp)
			if gran == minute {
				level, dim = levelMinuteVD, 0
			}
			q := "SELECT bucket, verdict, direction, SUM(n) FROM rollup WHERE level = ? AND dim = ? AND verdict IN (%s) AND direction IN (%s) AND bucket >= ? AND bucket < ?"
			vs, ds := f.Verdicts, f.Directions
			if len(vs) == 0 {
				vs = allCodes(len(verdicts))
			}
			if len(ds) == 0 {
				ds = allCodes(len(directions))
			}
			if len(f.Reasons) > 0 {
				level = levelHourDetail
			}
			// Every event counts once in each dimension; apps are the
			// dimension with the fewest distinct values on a host (rules
			// and filters, ports under a scan, remotes are many more), so
			// they make the fewest rollup rows to add up.
			args := []any{level, dim}
			for _, v := range vs {
				args = append(args, v)
			}
			for _, d := range ds {
				args = append(args, d)
			}
			args = append(args, sh/int64(time.Second), uh/int64(time.Second))
			q = fmt.Sprintf(q, placeholders(len(vs)), placeholders(len(ds)))
			if len(f.Reasons) > 0 {
				var ors []string
				for _, r := range f.Reasons {
					ors = append(ors, `reason LIKE ? ESCAPE '\'`)
					args = append(args, globToLike(strings.ToLower(r)))
				}
				q += " AND (" + strings.Join(ors, " OR ") + ")"
			}
			q += " GROUP BY 1, 2, 3"
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, fmt.Errorf("query rollups: %w", err)
			}
			for rows.Next() {
				var k key
				var n int64
				if err := rows.Scan(&k.b, &k.v, &k.d, &n); err != nil {
					rows.Close()
					return nil, fmt.Errorf("query rollups: %w", err)
				}
				k.b /= sec
				counts[k] += n
			}
			if err := rows.Err(); err != nil {
				rows.Close()
				return nil, fmt.Errorf("query rollups: %w", err)
			}
			rows.Close()
		}
	}
	if !useRollups {
		if err := fromEvents(lo, hi, "", 0); err != nil {
			return nil, err
		}
	}
	out := make([]SeriesPoint, 0, len(counts))
	for k, n := range counts {
		out = append(out, SeriesPoint{
			Bucket:    time.Unix(k.b*sec, 0).UTC(),
			Verdict:   enumAt(verdicts, k.v),
			Direction: enumAt(directions, k.d),
			N:         n,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Bucket.Equal(b.Bucket) {
			return a.Bucket.Before(b.Bucket)
		}
		if a.Verdict != b.Verdict {
			return a.Verdict < b.Verdict
		}
		return a.Direction < b.Direction
	})
	return out, nil
}

// TopHosts counts the events f selects by host name ("-" when unknown) and
// returns the n largest (n <= 0: all), largest first: Top with DimHost,
// from the rollups when the filter allows (schema 4 on).
func (db *DB) TopHosts(ctx context.Context, f Filter, n int) (TopResult, error) {
	return db.Top(ctx, f, DimHost, n)
}

// CountCapped returns how many events f selects, counting at most limit
// (then exact is false). Without app, port and remote filters it answers
// exactly from the rollups whatever the size.
func (db *DB) CountCapped(ctx context.Context, f Filter, limit int64) (n int64, exact bool, err error) {
	if !f.usesEventColumns() {
		// Apps: the dimension with the fewest rollup rows (see Series).
		res, err := db.Top(ctx, f, DimApp, 1)
		return res.Total, true, err
	}
	tx, err := db.readTx(ctx)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	lo, hi := f.bounds()
	where, args, ok, err := f.where(ctx, tx, lo, hi)
	if err != nil || !ok {
		return 0, true, err
	}
	if limit <= 0 {
		limit = math.MaxInt64
	}
	args = append(args, limit+1)
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM events WHERE "+where+" LIMIT ?)", args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("count events: %w", err)
	}
	if n > limit {
		return limit, false, nil
	}
	return n, true, nil
}

// TimeRange returns the time of the oldest and the newest stored event
// with a known time (zero times for an empty history).
func (db *DB) TimeRange(ctx context.Context) (first, last time.Time, err error) {
	var lo, hi sql.NullInt64
	if err := db.db.QueryRowContext(ctx, "SELECT MIN(ts), MAX(ts) FROM events WHERE ts > 0").Scan(&lo, &hi); err != nil {
		return first, last, fmt.Errorf("query history: %w", err)
	}
	if lo.Valid {
		first = time.Unix(0, lo.Int64).UTC()
	}
	if hi.Valid {
		last = time.Unix(0, hi.Int64).UTC()
	}
	return first, last, nil
}

// extraHost returns the dictionary id of the host in an extra blob, 0 when
// it has none (the walk of extraIdentity, keeping only the host).
func extraHost(x []byte) int64 { return extraDict(x, tagHost) }

// extraDict returns the number stored under the tag want (a dictionary id
// for the dict tags) in an extra blob, 0 when it has none.
func extraDict(x []byte, want byte) int64 {
	for len(x) > 0 {
		tag := x[0]
		x = x[1:]
		v, n := binary.Uvarint(x)
		if n <= 0 {
			return 0
		}
		x = x[n:]
		if tag == 0 || tag > tagRuleName {
			return 0 // a newer writer's tag: decode stops here too
		}
		if tagIsString(tag) {
			if v > uint64(len(x)) {
				return 0
			}
			x = x[v:]
			continue
		}
		if tag == want {
			if v > math.MaxInt64 {
				return 0
			}
			return int64(v)
		}
	}
	return 0
}

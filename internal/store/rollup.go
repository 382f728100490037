package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Rollup levels: bucket widths in seconds. Top-N queries sum whole hours
// from the hourly rollup, the minutes at the edges from the minute rollup,
// and the seconds at the very edges from the events themselves, so the
// answer is exact for any time range. The remote-address dimension, whose
// values are many, is rolled up by the hour only and without the reason:
// its edges are partial hours counted from the events.
const (
	levelMinute = 60
	levelHour   = 3600
)

var levels = [...]int64{levelMinute, levelHour}

type rollKey struct {
	level     int64
	dim       int
	bucket    int64
	verdict   int64
	direction int64
	reason    string
	value     string
}

// rollupAcc accumulates rollup deltas of a batch in memory; flush adds them
// to the rollup table inside the batch's transaction.
type rollupAcc struct {
	m     map[rollKey]int64
	args  []any
	keys  []rollKey
	hours []rollCount
}

func newRollupAcc() *rollupAcc { return &rollupAcc{m: make(map[rollKey]int64)} }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// add counts e in every dimension. Only the finest level is counted here
// (four map updates per event); flush derives the hourly counts.
func (a *rollupAcc) add(e *event.Event) {
	sec := floorDiv(tsOf(e.Time), 1e9)
	v, d := verdictCode(e.Verdict), directionCode(e.Direction)
	minute := floorDiv(sec, levelMinute) * levelMinute
	for dim := DimApp; dim <= DimRule; dim++ {
		if dim == DimRemote {
			// Remote addresses are many: hourly only and without the
			// reason, to keep ingest fast (see finestLevel).
			a.m[rollKey{levelHour, dim, floorDiv(sec, levelHour) * levelHour, v, d, "", dimValue(e, dim)}]++
			continue
		}
		a.m[rollKey{levelMinute, dim, minute, v, d, e.Reason, dimValue(e, dim)}]++
	}
}

// deriveHours adds the hourly counts of the minute counts.
func (a *rollupAcc) deriveHours() {
	for k, c := range a.m {
		if k.level == levelMinute {
			k.level, k.bucket = levelHour, floorDiv(k.bucket, levelHour)*levelHour
			a.hours = append(a.hours, rollCount{k, c})
		}
	}
	for _, h := range a.hours {
		a.m[h.k] += h.n
	}
	a.hours = a.hours[:0]
}

type rollCount struct {
	k rollKey
	n int64
}

// finestLevel is the finest rollup level kept for a dimension, and whether
// the rollups of the dimension carry the reason.
func finestLevel(dim int) (level int64, hasReason bool) {
	if dim == DimRemote {
		return levelHour, false
	}
	return levelMinute, true
}

const rollupRowsPerStmt = 64

// flush writes the accumulated deltas and empties the accumulator.
func (a *rollupAcc) flush(ctx context.Context, tx *sql.Tx) error {
	if len(a.m) == 0 {
		return nil
	}
	a.deriveHours()
	var full *sql.Stmt
	args := a.args[:0]
	n := 0
	exec := func(rows int) error {
		var st *sql.Stmt
		var err error
		if rows == rollupRowsPerStmt && full != nil {
			st = full
		} else {
			st, err = tx.PrepareContext(ctx, rollupInsertSQL(rows))
			if err != nil {
				return fmt.Errorf("prepare rollup insert: %w", err)
			}
			if rows == rollupRowsPerStmt {
				full = st
			} else {
				defer st.Close()
			}
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert rollup: %w", err)
		}
		args = args[:0]
		return nil
	}
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	// Upsert in primary-key order: neighbouring rows share B-tree pages,
	// which is several times faster than the map's random order.
	keys := a.keys[:0]
	for k := range a.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y rollKey) int {
		return cmp.Or(cmp.Compare(x.level, y.level), cmp.Compare(x.dim, y.dim), cmp.Compare(x.bucket, y.bucket),
			cmp.Compare(x.verdict, y.verdict), cmp.Compare(x.direction, y.direction),
			strings.Compare(x.reason, y.reason), strings.Compare(x.value, y.value))
	})
	a.keys = keys[:0]
	for _, k := range keys {
		c := a.m[k]
		args = append(args, k.level, k.dim, k.bucket, k.verdict, k.direction, k.reason, k.value, c)
		n++
		if n == rollupRowsPerStmt {
			if err := exec(n); err != nil {
				return err
			}
			n = 0
		}
	}
	if n > 0 {
		if err := exec(n); err != nil {
			return err
		}
	}
	clear(a.m)
	a.args = args[:0]
	return nil
}

func rollupInsertSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO rollup(level, dim, bucket, verdict, direction, reason, value, n) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	b.WriteString(" ON CONFLICT(level, dim, bucket, verdict, direction, reason, value) DO UPDATE SET n = n + excluded.n")
	return b.String()
}

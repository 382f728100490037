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

// Rollup levels: bucket widths in seconds.
//
// The hourly rollup counts every dimension by verdict, direction and
// reason (remote addresses, which are many, without the reason). The
// minute rollup counts app, port and rule totals only (verdict, direction
// and reason stored as 0, 0, ""), so that it stays small however rich the
// traffic. Top-N queries sum whole hours, then whole minutes when no
// verdict/direction/reason filter is given, and count the rest at the
// edges from the events themselves: the answer is exact for any range.
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
	m    map[rollKey]int64
	args []any
	keys []rollKey
}

func newRollupAcc() *rollupAcc { return &rollupAcc{m: make(map[rollKey]int64)} }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// add counts e in every dimension at both levels.
func (a *rollupAcc) add(e *event.Event) { addRollup(a.m, e) }

// addRollup counts e in m: seven map updates.
func addRollup(m map[rollKey]int64, e *event.Event) {
	sec := floorDiv(tsOf(e.Time), 1e9)
	v, d := verdictCode(e.Verdict), directionCode(e.Direction)
	minute := floorDiv(sec, levelMinute) * levelMinute
	hour := floorDiv(sec, levelHour) * levelHour
	for dim := DimApp; dim <= DimRule; dim++ {
		val := dimValue(e, dim)
		if dim == DimRemote {
			m[rollKey{levelHour, dim, hour, v, d, "", val}]++
			continue
		}
		m[rollKey{levelHour, dim, hour, v, d, e.Reason, val}]++
		m[rollKey{levelMinute, dim, minute, 0, 0, "", val}]++
	}
}

// finestLevel is the finest rollup level that can answer a top-N over dim
// with or without verdict/direction/reason filters, and whether the
// rollups of dim carry the reason at all.
func finestLevel(dim int, enumFiltered bool) (level int64, hasReason bool) {
	if dim == DimRemote {
		return levelHour, false
	}
	if enumFiltered {
		return levelHour, true
	}
	return levelMinute, true
}

const rollupRowsPerStmt = 64

// flush writes the accumulated deltas and empties the accumulator.
func (a *rollupAcc) flush(ctx context.Context, tx *sql.Tx) error {
	if len(a.m) == 0 {
		return nil
	}
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

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

// Rollup levels (the level column).
//
//   - levelMinute: per-minute totals of app, port and rule (verdict,
//     direction and reason stored as 0, 0, "").
//   - levelHour: per-hour totals of every dimension (0, 0, "" too).
//   - levelHourDetail: per-hour counts of every dimension by verdict,
//     direction and reason (remote addresses, which are many, without the
//     reason).
//   - levelHourVD: per-hour counts of app, port and rule by verdict and
//     direction only (the details summed over the reason).
//
// A top-N without verdict/direction/reason filters sums hour totals for
// whole hours and minute totals at the edges; with verdict or direction
// filters it sums hour counts by verdict and direction, and with a reason
// filter the hour details. What is left at the edges is counted from
// the events themselves, so the answer is exact for any range. The primary
// key puts verdict and direction before the bucket, so that each
// (verdict, direction) pair asked for is one contiguous range of buckets.
const (
	levelMinute     = 60
	levelHour       = 3600
	levelHourDetail = 3601
	levelHourVD     = 3602
)

// levelWidth returns the bucket width of a level in seconds.
func levelWidth(level int64) int64 {
	if level == levelMinute {
		return 60
	}
	return 3600
}

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
	m       map[rollKey]int64
	args    []any
	keys    []rollKey
	derived []rollCount
}

func newRollupAcc() *rollupAcc { return &rollupAcc{m: make(map[rollKey]int64)} }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// add counts e in every dimension.
func (a *rollupAcc) add(e *event.Event) { addRollup(a.m, e) }

// addRollup counts e in m: minute totals, hour totals and hour details
// (eleven map updates, on the caller's goroutine). The counts by verdict
// and direction are derived from the details when they are written.
func addRollup(m map[rollKey]int64, e *event.Event) {
	sec := floorDiv(tsOf(e.Time), 1e9)
	v, d := verdictCode(e.Verdict), directionCode(e.Direction)
	minute := floorDiv(sec, 60) * 60
	hour := floorDiv(sec, 3600) * 3600
	for dim := DimApp; dim <= DimRule; dim++ {
		val := dimValue(e, dim)
		m[rollKey{levelHour, dim, hour, 0, 0, "", val}]++
		if dim == DimRemote {
			m[rollKey{levelHourDetail, dim, hour, v, d, "", val}]++
			continue
		}
		m[rollKey{levelHourDetail, dim, hour, v, d, e.Reason, val}]++
		m[rollKey{levelMinute, dim, minute, 0, 0, "", val}]++
	}
}

// deriveVD adds the hour counts by verdict and direction of app, port and
// rule: the hour details summed over the reason (few keys).
func (a *rollupAcc) deriveVD() {
	for k, c := range a.m {
		if k.level != levelHourDetail || k.dim == DimRemote {
			continue
		}
		k.level, k.reason = levelHourVD, ""
		a.derived = append(a.derived, rollCount{k, c})
	}
	for _, r := range a.derived {
		a.m[r.k] += r.n
	}
	a.derived = a.derived[:0]
}

type rollCount struct {
	k rollKey
	n int64
}

// canUseRollups reports whether the rollups can count dim under the
// verdict/direction/reason filters (remote addresses carry no reason).
func canUseRollups(dim int, hasReasonFilter bool) bool {
	return !(dim == DimRemote && hasReasonFilter)
}

const rollupRowsPerStmt = 64

// flush writes the accumulated deltas and empties the accumulator.
func (a *rollupAcc) flush(ctx context.Context, tx *sql.Tx) error {
	if len(a.m) == 0 {
		return nil
	}
	a.deriveVD()
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
		return cmp.Or(cmp.Compare(x.level, y.level), cmp.Compare(x.dim, y.dim),
			cmp.Compare(x.verdict, y.verdict), cmp.Compare(x.direction, y.direction), cmp.Compare(x.bucket, y.bucket),
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
	b.WriteString(" ON CONFLICT(level, dim, verdict, direction, bucket, reason, value) DO UPDATE SET n = n + excluded.n")
	return b.String()
}

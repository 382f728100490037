package event

import (
	"fmt"
	"io"
	"sort"
	"strconv"
)

// maxOriginTally bounds the distinct values an OriginTally keeps; later
// new values are only counted.
const maxOriginTally = 100

// OriginTally counts the Filter Origin values that matched neither a
// default block (DefaultBlocks) nor a resolvable rule: not a rule id in
// shape (OriginKnown) and not resolved to a rule name. They are classified
// as rules, but may be a default this version does not know; analyze -v
// lists them so that the table can grow. The zero value is ready to use;
// it is not safe for concurrent use.
type OriginTally struct {
	n     map[string]int
	other int // events whose value came after the bound
}

// Add counts e's Filter Origin if it is one of the unmatched ones.
func (t *OriginTally) Add(e *Event) {
	if e.FilterOrigin == "" || e.RuleName != "" || OriginKnown(e.FilterOrigin) {
		return
	}
	if t.n == nil {
		t.n = make(map[string]int)
	}
	if _, ok := t.n[e.FilterOrigin]; !ok && len(t.n) >= maxOriginTally {
		t.other++
		return
	}
	t.n[e.FilterOrigin]++
}

// Len returns how many distinct values were counted.
func (t *OriginTally) Len() int { return len(t.n) }

// WriteTo writes one line per value, most frequent first, after a line
// that says what they are; nothing when there are none.
func (t *OriginTally) WriteTo(w io.Writer) (int64, error) {
	if len(t.n) == 0 {
		return 0, nil
	}
	vals := make([]string, 0, len(t.n))
	for v := range t.n {
		vals = append(vals, v)
	}
	sort.Slice(vals, func(i, j int) bool {
		if t.n[vals[i]] != t.n[vals[j]] {
			return t.n[vals[i]] > t.n[vals[j]]
		}
		return vals[i] < vals[j]
	})
	var total int64
	n, err := fmt.Fprintf(w, "Filter Origin values that are neither a default block nor a rule id (counted as rules):\n")
	total += int64(n)
	for _, v := range vals {
		if err != nil {
			return total, err
		}
		n, err = fmt.Fprintf(w, "  %s: %d event(s)\n", strconv.Quote(v), t.n[v])
		total += int64(n)
	}
	if t.other > 0 && err == nil {
		n, err = fmt.Fprintf(w, "  and %d event(s) with other values\n", t.other)
		total += int64(n)
	}
	return total, err
}

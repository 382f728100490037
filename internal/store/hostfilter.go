package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"modernc.org/sqlite"

	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// extraHostFunc is the SQL function that returns the host's dictionary id
// kept in an event's extra blob (records identified by their fingerprint
// have no host column; see recordIdentity), 0 when it has none.
const extraHostFunc = "wfpwatch_extra_host"

// extraProviderFunc returns the dictionary id of the blocking filter's
// provider in an event's extra blob, 0 when it has none.
const extraProviderFunc = "wfpwatch_extra_provider"

func init() {
	for name, tag := range map[string]byte{extraHostFunc: tagHost, extraProviderFunc: tagFilterProvider} {
		if err := sqlite.RegisterDeterministicScalarFunction(name, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			b, _ := args[0].([]byte)
			return extraDict(b, tag), nil
		}); err != nil {
			panic(fmt.Sprintf("register %s: %v", name, err))
		}
	}
}

// providerIDs returns the dictionary ids of the strings that match one of
// the provider patterns: a glob the whole name, a plain value a part of it
// (case-insensitive, as --app).
func (f *Filter) providerIDs(ctx context.Context, tx *sql.Tx) ([]any, error) {
	pats := make([]string, len(f.Providers))
	for i, p := range f.Providers {
		pats[i] = strings.ToLower(p)
	}
	return dictIDs(ctx, tx, func(s string) bool {
		ls := strings.ToLower(s)
		for _, p := range pats {
			if strings.ContainsAny(p, "*?") && pipeline.GlobMatch(p, ls) || !strings.ContainsAny(p, "*?") && strings.Contains(ls, p) {
				return true
			}
		}
		return false
	})
}

// hostMatch reports whether the stored host name s matches the pattern g
// (lower case): a glob matches the whole name; a plain name matches the
// whole name or its first DNS label ("ws7" is "WS7.corp.example").
func hostMatch(g, s string) bool {
	s = strings.ToLower(s)
	if strings.ContainsAny(g, "*?") {
		return pipeline.GlobMatch(g, s)
	}
	if s == g {
		return true
	}
	first, _, _ := strings.Cut(s, ".")
	return first == g
}

// hostIDs returns the dictionary ids of the strings that match one of the
// host patterns (the dictionary holds every string once; only host ids
// appear in the host column).
func (f *Filter) hostIDs(ctx context.Context, tx *sql.Tx) ([]any, error) {
	pats := make([]string, len(f.Hosts))
	for i, h := range f.Hosts {
		pats[i] = strings.ToLower(h)
	}
	return dictIDs(ctx, tx, func(s string) bool {
		for _, p := range pats {
			if hostMatch(p, s) {
				return true
			}
		}
		return false
	})
}

// hostCond is the condition on the host of f.Hosts' dictionary ids: the
// host column, or for events without one the host in their extra blob.
func hostCond(ids []any) (string, []any) {
	ph := placeholders(len(ids))
	args := append(append([]any{}, ids...), ids...)
	return "(host IN (" + ph + ") OR (coalesce(host, 0) = 0 AND " + extraHostFunc + "(extra) IN (" + ph + ")))", args
}

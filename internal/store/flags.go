package store

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Flags are the history flags shared by analyze and watch: --db,
// --db-keep and --db-max-size. Register them with RegisterFlags and, after
// parsing, call Path and Options.
type Flags struct {
	// DB is the --db value ("" when not given).
	DB      string
	Keep    time.Duration
	MaxSize string
}

// RegisterFlags defines --db, --db-keep and --db-max-size on fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.DB, "db", "", "record history in the database `FILE` (see docs/history.md for the default location)")
	fs.DurationVar(&f.Keep, "db-keep", DefaultMaxAge, "keep history for `DURATION` (whole hours; 0 keeps it forever)")
	fs.StringVar(&f.MaxSize, "db-max-size", "2GiB", "remove the oldest hours of history beyond `SIZE` (e.g. 500MB, 2GiB; 0: no cap)")
	return f
}

// Path returns the database file: --db when given; otherwise DefaultPath
// when useDefault is set (watch and the service record by default), or ""
// (analyze records only when asked).
func (f *Flags) Path(useDefault bool) (string, error) {
	if f.DB != "" || !useDefault {
		return f.DB, nil
	}
	return DefaultPath()
}

// Options returns the retention options the flags ask for.
func (f *Flags) Options() (Options, error) {
	var o Options
	switch {
	case f.Keep < 0:
		return o, fmt.Errorf("--db-keep %v: want a positive duration such as 720h, or 0 to keep everything", f.Keep)
	case f.Keep == 0:
		o.MaxAge = -1
	default:
		o.MaxAge = f.Keep
	}
	n, err := ParseSize(f.MaxSize)
	if err != nil {
		return o, fmt.Errorf("--db-max-size %q: %w", f.MaxSize, err)
	}
	if n == 0 {
		o.MaxBytes = -1
	} else {
		o.MaxBytes = n
	}
	return o, nil
}

// ParseSize parses a byte size: a number with an optional unit B, KB, MB,
// GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), case
// insensitive, optional space.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want a size such as 500MB or 2GiB")
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q: want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", unit)
	}
	n := v * mult
	if n >= 1<<62 {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return int64(n), nil
}

// OpenWriter opens the database at path and starts a Writer on it that
// owns the database: closing the Writer closes the database too. It is the
// one call analyze and watch need.
func OpenWriter(path string, opt Options, wopt WriterOptions) (*Writer, error) {
	db, err := Open(path, opt)
	if err != nil {
		return nil, err
	}
	w := db.NewWriter(wopt)
	w.ownsDB = true
	return w, nil
}

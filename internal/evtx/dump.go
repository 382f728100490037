package evtx

import (
	"context"
	"io"
	"strconv"
	"sync"
)

// outPool holds the per-chunk output buffers of Dump.
var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 4*ChunkSize); return &b }}

// DumpFormat is the output of Dump.
type DumpFormat int

// The dump formats.
const (
	DumpXML  DumpFormat = iota // <Events>, one <Event> per line
	DumpJSON                   // one JSON object per line
)

// DumpOptions tune Dump.
type DumpOptions struct {
	Format DumpFormat
	Opts   Options
	// Warn receives every problem, in file order. May be nil.
	Warn func(p *Problem)
}

// DumpResult counts what Dump did.
type DumpResult struct {
	Records  int // records written
	Skipped  int // records that could not be read
	Problems int // problems reported
}

// Dump renders every record of the .evtx file behind r (size bytes) to w,
// in record order, parsing chunks in parallel. Damage is reported to
// opts.Warn and skipped. It returns an error only when r cannot be read at
// all, or w fails.
func Dump(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, opts DumpOptions) (DumpResult, error) {
	var res DumpResult
	warn := func(p *Problem) {
		res.Problems++
		if opts.Warn != nil {
			opts.Warn(p)
		}
	}
	f, err := Open(r, size)
	if err != nil {
		return res, err
	}
	for i := range f.Problems {
		warn(&f.Problems[i])
	}
	if opts.Format == DumpXML {
		if _, err := io.WriteString(w, "<?xml version='1.0' encoding='utf-8'?>\n<Events>\n"); err != nil {
			return res, err
		}
	}
	type out struct {
		b []byte
		n int
	}
	err = Each(ctx, f, opts.Opts, func(c *Chunk) out {
		var o out
		o.b = (*outPool.Get().(*[]byte))[:0]
		c.Records(func(r *Record) bool {
			var err error
			n := len(o.b)
			if opts.Format == DumpJSON {
				o.b, err = r.AppendJSON(o.b)
			} else {
				o.b, err = r.AppendXML(o.b)
			}
			if err != nil {
				o.b = o.b[:n]
				c.Fail(r, err)
				return true
			}
			o.b = append(o.b, '\n')
			o.n++
			return true
		})
		return o
	}, func(c *Chunk, o out) error {
		for i := range c.Problems() {
			warn(&c.Problems()[i])
		}
		res.Skipped += c.Skipped()
		res.Records += o.n
		_, err := w.Write(o.b)
		outPool.Put(&o.b)
		return err
	})
	if err != nil {
		return res, err
	}
	if opts.Format == DumpXML {
		if _, err := io.WriteString(w, "</Events>\n"); err != nil {
			return res, err
		}
	}
	return res, nil
}

// AppendJSON appends the record as one JSON object: {"record_id":…,
// "written":…,"Event":{…}} where elements become objects, attributes
// "#attributes", text "#text" (or the value itself for a leaf), and
// EventData's <Data Name='X'>v</Data> items "X": "v".
func (r *Record) AppendJSON(dst []byte) ([]byte, error) {
	t, vals, err := r.doc()
	if err != nil {
		return dst, err
	}
	r.c.jarena.reset()
	root := r.c.jarena.node("")
	r.c.outStart = 0 // counts down the bytes of values placed in the tree
	if err := r.c.buildTree(root, t, vals, 0); err != nil {
		return dst, err
	}
	n := len(dst)
	dst = append(dst, `{"record_id":`...)
	dst = strconv.AppendUint(dst, r.ID, 10)
	dst = append(dst, `,"written":"`...)
	dst = appendTime7(dst, r.Written)
	dst = append(dst, '"')
	for _, ch := range root.children {
		dst = append(dst, ',')
		dst = appendJSONString(dst, ch.name)
		dst = append(dst, ':')
		dst = ch.appendJSON(dst)
	}
	if len(root.children) == 0 {
		dst = dst[:n]
		return dst, errEmptyRecord
	}
	return append(dst, '}'), nil
}

package evtlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// MaxEventXML is the largest single <Event> element ReadXML accepts. Real
// Security events are a few KiB; anything larger is damage or not an event.
const MaxEventXML = 4 << 20

// XMLStats counts what ReadXML saw.
type XMLStats struct {
	Events  int // <Event> elements found
	Skipped int // of which could not be parsed (reported through warn)
}

// ReadXML reads Security events as XML from r and calls fn for each one
// that parses, with its byte offset. It accepts what Windows produces: a
// single <Event>, a stream of <Event> elements with no root (wevtutil qe
// /f:xml), or events wrapped in <Events>; with or without <RenderingInfo>;
// UTF-8 (with or without BOM) or UTF-16 LE/BE (with a BOM, or LE without
// one as some tools write it). Invalid UTF-16 becomes U+FFFD.
//
// An event that cannot be parsed is reported to warn with its offset and
// the reason, and reading goes on with the next. Offsets count bytes of the
// input after decoding to UTF-8 (for UTF-8 input, file offsets). The
// Record passed to fn is reused: fn must copy what it keeps. An error from
// fn stops reading and is returned.
func ReadXML(r io.Reader, fn func(rec *Record, off int64) error, warn func(off int64, err error)) (XMLStats, error) {
	var st XMLStats
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	var src io.Reader = br
	switch {
	case len(head) >= 2 && (head[0] == 0xFF && head[1] == 0xFE || head[0] == 0xFE && head[1] == 0xFF):
		src = transform.NewReader(br, unicode.BOMOverride(unicode.UTF8.NewDecoder()))
	case len(head) >= 4 && head[0] == '<' && head[1] == 0 && head[2] != 0 && head[3] == 0:
		src = transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder())
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		br.Discard(3)
	}

	var (
		rec   Record
		back  = make([]byte, 256<<10) // the array buf lies in
		buf   = back[:0]
		base  int64 // stream offset of buf[0]
		eof   bool
		chunk = make([]byte, 128<<10)
		// searched is how far into buf the search for "</Event>" has
		// already looked without finding one: a start tag that has not
		// closed yet is searched from there after the next read, never
		// again from its start, so that the scan stays linear.
		searched int
		// garbage is set while skipping a run of start tags that do not
		// close within MaxEventXML: the run is reported once.
		garbage bool
	)
	startTag := []byte("<Event")
	endTag := []byte("</Event>")
	read := func() error {
		if cap(buf)-len(buf) < len(chunk) {
			// Move what is left to the front of the array, or to a new
			// one twice as large as needed: either way each byte is
			// moved a bounded number of times on average.
			if need := len(buf) + len(chunk); cap(back) < 2*need {
				back = make([]byte, 2*need)
			}
			buf = back[:copy(back, buf)]
		}
		n, err := src.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err == io.EOF {
			eof = true
		} else if err != nil {
			return fmt.Errorf("read at offset %d: %w", base+int64(len(buf)), err)
		}
		return nil
	}
	for {
		// Find the next event start in buf.
		s := findEventStart(buf, startTag)
		if s < 0 {
			// Keep a tail that could hold the start of "<Event" (or all of
			// it, when it ends the buffer and its next byte is unknown).
			keep := len(startTag)
			if len(buf) > keep {
				base += int64(len(buf) - keep)
				buf = append(buf[:0], buf[len(buf)-keep:]...)
			}
			searched = 0
			if eof {
				return st, nil
			}
			if err := read(); err != nil {
				return st, err
			}
			continue
		}
		// Find its end, from where the last search stopped.
		from := max(s, searched-(len(endTag)-1))
		e := bytes.Index(buf[from:], endTag)
		if e < 0 {
			searched = len(buf)
			if len(buf)-s > MaxEventXML {
				// No start tag that lies more than MaxEventXML before the
				// end of buf can close in time: drop them all at once.
				if !garbage {
					garbage = true
					st.Events++
					st.Skipped++
					warn(base+int64(s), fmt.Errorf("<Event> not closed within %d bytes; skipped to the next event that closes", MaxEventXML))
				}
				cut := len(buf) - MaxEventXML
				base += int64(cut)
				buf = buf[cut:] // no copy: read moves it when it needs room
				searched -= cut
				continue
			}
			if eof {
				if !garbage {
					st.Events++
					st.Skipped++
					warn(base+int64(s), errors.New("truncated: the input ends inside an <Event> element"))
				}
				return st, nil
			}
			if s > 0 {
				base += int64(s)
				buf = append(buf[:0], buf[s:]...)
				searched -= s
			}
			if err := read(); err != nil {
				return st, err
			}
			continue
		}
		end := from + e + len(endTag)
		if last := lastEventStart(buf[s:from+e], startTag); last > 0 {
			// Start tags that did not close before this event's start:
			// an event is the last start before its end tag (a real one
			// holds no other, its text escapes '<'). Skip them as one.
			if !garbage {
				st.Events++
				st.Skipped++
				warn(base+int64(s), errors.New("<Event> not closed before the next event; skipped"))
			}
			s += last
		}
		garbage = false
		searched = 0
		st.Events++
		off := base + int64(s)
		if err := ParseEventXML(buf[s:end], &rec); err != nil {
			st.Skipped++
			warn(off, err)
		} else if err := fn(&rec, off); err != nil {
			return st, err
		}
		base += int64(end)
		buf = buf[end:]
	}
}

// lastEventStart returns the index of the last "<Event" in b that starts an
// <Event> element, or -1.
func lastEventStart(b, tag []byte) int {
	hi := len(b)
	for {
		i := bytes.LastIndex(b[:hi], tag)
		if i < 0 {
			return -1
		}
		if j := i + len(tag); j < len(b) {
			switch b[j] {
			case ' ', '\t', '\r', '\n', '>', '/':
				return i
			}
		}
		hi = i
	}
}

// findEventStart returns the index of the first "<Event" in b that starts an
// <Event> element (not <Events> or <EventData>), or -1.
func findEventStart(b, tag []byte) int {
	off := 0
	for {
		i := bytes.Index(b[off:], tag)
		if i < 0 {
			return -1
		}
		i += off
		j := i + len(tag)
		if j >= len(b) {
			return -1 // can't tell yet
		}
		switch b[j] {
		case ' ', '\t', '\r', '\n', '>', '/':
			return i
		}
		off = j
	}
}

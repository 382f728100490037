package xmlguard

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

var tests = []struct {
	name string
	in   string
	want error
}{
	{"document", `<?xml version="1.0"?><!DOCTYPE x><a b="1"><c/><d>text</d></a>`, nil},
	{"depth at the bound", strings.Repeat("<a>", 8) + strings.Repeat("</a>", 8), nil},
	{"depth past the bound", strings.Repeat("<a>", 9), ErrTooDeep},
	{"siblings do not nest", strings.Repeat("<a></a>", 100), nil},
	{"empty elements do not nest", "<r>" + strings.Repeat("<a x='1'/>", 100) + "</r>", nil},
	{"quoted > and / in a tag", strings.Repeat(`<a x="/>" y='>'>`, 8) + strings.Repeat("</a>", 8), nil},
	{"CDATA holds no elements", "<r>" + strings.Repeat("<![CDATA[ > <b> ]]>", 100) + "</r>", nil},
	{"comments hold no elements", "<r>" + strings.Repeat("<!-- <b> > -->", 100) + "</r>", nil},
	{"PIs hold no elements", "<r>" + strings.Repeat("<?pi <b> > ?>", 100) + "</r>", nil},
	{"long text", "<a>" + strings.Repeat("x", 65) + "</a>", ErrTokenTooLarge},
	{"long tag", "<a " + strings.Repeat("x", 65) + ">", ErrTokenTooLarge},
	{"long attribute with >", `<a x="` + strings.Repeat(">", 65) + `">`, ErrTokenTooLarge},
	{"long comment", "<!--" + strings.Repeat("<x>", 30) + "-->", ErrTokenTooLarge},
	{"long CDATA", "<![CDATA[" + strings.Repeat("]>", 40) + "]]>", ErrTokenTooLarge},
	{"text at the bound", "<a>" + strings.Repeat("x", 64) + "</a>", nil},
}

var limits = Limits{MaxToken: 64, MaxDepth: 8, What: "test XML"}

func TestReader(t *testing.T) {
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			g := NewReader(r, limits)
			out, err := io.ReadAll(g)
			if !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Errorf("%s (one byte %v): %v, want %v", tc.name, oneByte, err, tc.want)
				continue
			}
			if !strings.HasPrefix(tc.in, string(out)) {
				t.Errorf("%s: read %q, not a prefix of the input", tc.name, out)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "not test XML") {
					t.Errorf("%s: %q does not name the input", tc.name, err)
				}
				if _, again := g.Read(make([]byte, 8)); again != err {
					t.Errorf("%s: the error is not sticky: %v", tc.name, again)
				}
			}
		}
	}
}

func TestNoDepthBound(t *testing.T) {
	in := strings.Repeat("<a>", 1000)
	if _, err := io.ReadAll(NewReader(strings.NewReader(in), Limits{MaxToken: 64, What: "x"})); err != nil {
		t.Fatal(err)
	}
}

// FuzzReader: whatever the input, the Reader hands on a prefix of it, all
// of it when it reports no error, and only its own errors.
func FuzzReader(f *testing.F) {
	for _, tc := range tests {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(NewReader(bytes.NewReader(in), limits))
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("read %q of %q", out, in)
		}
		switch {
		case err == nil:
			if len(out) != len(in) {
				t.Fatalf("read %d of %d bytes without an error", len(out), len(in))
			}
		case !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTokenTooLarge):
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// refScan is the Reader's rule written the slow, obvious way, one byte at
// a time over the whole input: how many bytes pass, and the error.
func refScan(in []byte, lim Limits) (int, error) {
	state, quote, first := inText, byte(0), byte(0)
	var run int64
	depth := 0
	at := func(i, back int) byte { // the byte back places before i
		if i-back < 0 {
			return 0
		}
		return in[i-back]
	}
	for i, c := range in {
		run++
		switch state {
		case inText:
			if c == '<' {
				state, run, quote, first = inTag, 1, 0, 0
			}
		case inTag:
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case run == 2 && c == '?':
				state = inPI
			case run == 2:
				first = c
				if c == '"' || c == '\'' {
					quote = c
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '>':
				switch {
				case first == '!':
				case first == '/':
					if depth > 0 {
						depth--
					}
				case at(i, 1) != '/':
					depth++
					if lim.MaxDepth > 0 && depth > lim.MaxDepth {
						return i, ErrTooDeep
					}
				}
				state, run = inText, 0
			case run == 4 && string(in[i-2:i+1]) == "!--":
				state = inComment
			case run == 9 && string(in[i-7:i+1]) == "![CDATA[":
				state = inCDATA
			}
		case inComment:
			if c == '>' && at(i, 1) == '-' && at(i, 2) == '-' && run >= 7 {
				state, run = inText, 0
			}
		case inCDATA:
			if c == '>' && at(i, 1) == ']' && at(i, 2) == ']' {
				state, run = inText, 0
			}
		case inPI:
			if c == '>' && at(i, 1) == '?' {
				state, run = inText, 0
			}
		}
		if run > lim.MaxToken {
			return i, ErrTokenTooLarge
		}
	}
	return len(in), nil
}

// FuzzReaderMatchesReference: the Reader, fed in pieces of any size, lets
// exactly as many bytes through as the byte-at-a-time rule, with the same
// error.
func FuzzReaderMatchesReference(f *testing.F) {
	for _, tc := range tests {
		f.Add([]byte(tc.in), uint8(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, piece uint8) {
		var r io.Reader = bytes.NewReader(in)
		if piece%3 == 0 {
			r = iotest.OneByteReader(r)
		} else if piece%3 == 1 {
			r = iotest.HalfReader(r)
		}
		out, err := io.ReadAll(NewReader(r, limits))
		wantN, wantErr := refScan(in, limits)
		if len(out) != wantN || !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
			t.Fatalf("Reader: %d bytes, %v; reference: %d bytes, %v", len(out), err, wantN, wantErr)
		}
	})
}

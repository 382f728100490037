package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func le16(s string, bom bool) []byte {
	var b bytes.Buffer
	if bom {
		b.Write([]byte{0xFF, 0xFE})
	}
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&b, binary.LittleEndian, u)
	}
	return b.Bytes()
}

func TestFirstElement(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		want string
	}{
		{[]byte("<Event xmlns='x'>"), "Event"},
		{[]byte("\xEF\xBB\xBF<?xml version='1.0'?>\r\n<!-- c --><Events>"), "Events"},
		{le16("<?xml version=\"1.0\" encoding=\"UTF-16\"?><Events><Event>", true), "Events"},
		{le16("<Event>", false), "Event"},
		{[]byte("  <netEvents>"), "netEvents"},
		{[]byte("#Version: 1.5"), ""},
		{[]byte("ElfFile\x00"), ""},
		{nil, ""},
	} {
		if got := FirstElement(tt.in); got != tt.want {
			t.Errorf("FirstElement(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadInputXML(t *testing.T) {
	in := `<Event><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>5157</EventID></System><EventData><Data Name='Direction'>%%14593</Data><Data Name='DestPort'>99999</Data></EventData></Event>`
	var got []event.Event
	var problems []string
	f, err := ReadInput(context.Background(), Input{Name: "x.xml", R: strings.NewReader(in), Size: -1},
		func(e *event.Event) error { got = append(got, *e); return nil },
		func(p *Problem) { problems = append(problems, p.Error()) })
	if err != nil || f.Name != "xml" {
		t.Fatalf("%v %q", err, f.Name)
	}
	if len(got) != 1 || got[0].Sources != event.SourceFile || got[0].FilePath != "x.xml" {
		t.Fatalf("events %+v", got)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], `x.xml: offset 0: event 5157 record 0: DestPort: "99999" is not a port`) {
		t.Errorf("problems %q", problems)
	}
}

func TestReadInputUnknown(t *testing.T) {
	_, err := ReadInput(context.Background(), Input{Name: "y", R: strings.NewReader("hello"), Size: -1},
		func(*event.Event) error { return nil }, func(*Problem) {})
	if !errors.Is(err, ErrUnknownFormat) || !strings.HasPrefix(err.Error(), "y: ") {
		t.Errorf("err %v", err)
	}
}

package fwlog

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// TestNULPadding is the crash recipe: the log ends in NUL padding and the
// firewall, restarted, writes its next line right after it. Every line is
// read, whatever the length of the run, and the runs are reported once.
func TestNULPadding(t *testing.T) {
	line1 := "2024-03-01 09:15:02 DROP TCP 203.0.113.7 192.0.2.10 51522 3389 52 S 1 0 64240 - - - RECEIVE\n"
	line2 := "2024-03-01 09:16:02 DROP UDP 192.0.2.33 224.0.0.251 5353 5353 73 - - - - - - - RECEIVE\n"
	for _, tt := range []struct {
		name string
		in   string
		runs string
	}{
		{"short run", hdr + "\n" + line1 + strings.Repeat("\x00", 512) + line2, "512 NUL bytes in 1 runs"},
		{"run longer than a line may be", hdr + "\n" + line1 + strings.Repeat("\x00", 3*MaxLine) + line2, "196608 NUL bytes in 1 runs"},
		{"runs before and inside lines", strings.Repeat("\x00", 10) + hdr + "\n" + line1[:20] + "\x00\x00" + line1[20:] + line2, "12 NUL bytes in 2 runs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ports []uint16
			var probs []string
			p := Parser{Location: time.UTC}
			st, err := Read(context.Background(), bytes.NewReader([]byte(tt.in)), &p, func(e *event.Event) error {
				ports = append(ports, e.LocalPort)
				return nil
			}, func(err error) { probs = append(probs, err.Error()) })
			if err != nil {
				t.Fatal(err)
			}
			if st.Events != 2 || st.Bad != 0 {
				t.Errorf("stats %+v, ports %v", st, ports)
			}
			if len(probs) != 1 || !strings.Contains(probs[0], tt.runs) {
				t.Errorf("problems %q, want one saying %q", probs, tt.runs)
			}
		})
	}
}

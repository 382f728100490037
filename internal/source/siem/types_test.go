package siem

import (
	"bytes"
	"strings"
	"testing"
)

// TestWrongTypes: a field whose value has the wrong type is left out with
// a warning, like a bad string, and the rest of the event is read.
func TestWrongTypes(t *testing.T) {
	for _, tt := range []struct {
		name, line, want string
	}{
		{"winlogbeat data object", `{"@timestamp":"2024-05-02T10:00:01Z","winlog":{"event_id":5157,"record_id":7,"event_data":{"SourceAddress":"10.0.0.5","DestPort":{"n":443},"Direction":"%%14593"}}}`,
			"DestPort is an object, not a string or number"},
		{"winlogbeat data array", `{"@timestamp":"2024-05-02T10:00:01Z","winlog":{"event_id":5157,"event_data":{"SourceAddress":["10.0.0.5"]}}}`,
			"SourceAddress is an array, not a string or number"},
		{"winlogbeat record id", `{"@timestamp":"2024-05-02T10:00:01Z","winlog":{"event_id":5157,"record_id":true,"event_data":{}}}`,
			`record_id "true" is not a number`},
		{"winlogbeat header object", `{"@timestamp":"2024-05-02T10:00:01Z","winlog":{"event_id":5157,"computer_name":{"a":1},"event_data":{}}}`,
			"computer_name is an object"},
		{"winlogbeat 6", `{"@timestamp":"2024-05-02T10:00:01Z","event_id":5157,"source_name":"Microsoft-Windows-Security-Auditing","record_number":"x7","event_data":{"DestPort":[1]}}`,
			`record_number "x7" is not a number; DestPort is an array`},
		{"nxlog", `{"EventTime":"2024-05-02 12:00:01","EventReceivedTime":"2024-05-02 12:00:02","@timestamp":"2024-05-02T10:00:02Z","EventID":5157,"RecordNumber":"abc","SourcePort":{"v":1},"tags":["x"],"host":{"name":"a"}}`,
			`RecordNumber "abc" is not a number; SourcePort is an object`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evs, probs, _, err := decodeAll(t, bytes.NewReader([]byte(tt.line+"\n")))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("%d events, problems %q", len(evs), probs)
			}
			if len(probs) == 0 || !strings.Contains(probs[0], tt.want) {
				t.Errorf("problems %q, want one with %q", probs, tt.want)
			}
			if strings.Contains(strings.Join(probs, "\n"), "tags") || strings.Contains(strings.Join(probs, "\n"), "host is") {
				t.Errorf("a shipper's own field was reported: %q", probs)
			}
		})
	}
}

// TestNXLogAssumedUTC: an EventTime with nothing to recover its zone from
// is read as UTC, and that is said once per input.
func TestNXLogAssumedUTC(t *testing.T) {
	line := `{"EventTime":"2024-05-02 12:00:01","EventID":5157,"SourceName":"Microsoft-Windows-Security-Auditing","SourceAddress":"10.0.0.5","Direction":"%%14593"}` + "\n"
	evs, probs, _, err := decodeAll(t, bytes.NewReader([]byte(line+line+line)))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Time.Hour() != 12 {
		t.Fatalf("events %d, time %v", len(evs), evs[0].Time)
	}
	n := 0
	for _, p := range probs {
		if strings.Contains(p, "read as UTC") {
			n++
			if !strings.HasPrefix(p, "line 1:") {
				t.Errorf("said at %q", p)
			}
		}
	}
	if n != 1 {
		t.Errorf("problems %q: want the UTC note once", probs)
	}
	// With EventReceivedTime and @timestamp the offset is recovered:
	// nothing to say.
	ok := `{"EventTime":"2024-05-02 12:00:01","EventReceivedTime":"2024-05-02 12:00:02","@timestamp":"2024-05-02T10:00:02Z","EventID":5157,"SourceAddress":"10.0.0.5"}` + "\n"
	if _, probs, _, _ := decodeAll(t, bytes.NewReader([]byte(ok))); len(probs) != 0 {
		t.Errorf("recovered zone: problems %q", probs)
	}
}

// TestDuplicateKeys: a key given twice counts by its last value, the
// event id included (docs/inputs.md says so).
func TestDuplicateKeys(t *testing.T) {
	line := `{"@timestamp":"2024-05-02T10:00:01Z","winlog":{"event_id":4624,"event_id":5157,"record_id":1,"record_id":2,"event_data":{"SourceAddress":"10.0.0.5","SourceAddress":"10.0.0.6","DestPort":"443","DestPort":"444","Direction":"%%14593"}}}` + "\n"
	evs, probs, _, err := decodeAll(t, bytes.NewReader([]byte(line)))
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d events, %v %q", len(evs), err, probs)
	}
	e := evs[0]
	if e.Code != 5157 || e.RecordID != 2 || e.LocalIP.String() != "10.0.0.6" || e.RemotePort != 444 {
		t.Errorf("not the last values: code %d record %d local %v remote port %d", e.Code, e.RecordID, e.LocalIP, e.RemotePort)
	}
}

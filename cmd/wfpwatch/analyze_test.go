package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const fixture = "../../testdata/security-wfp.xml"

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update after checking the change):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestAnalyzeGolden(t *testing.T) {
	displayLocation = time.UTC
	tests := []struct {
		name string
		args []string
	}{
		{"analyze-blocks.txt", []string{fixture}},
		{"analyze-all.json", []string{"--format", "json", "--packets", "--permits", fixture}},
		{"analyze-all.csv", []string{"--format", "csv", "--packets", "--permits", fixture}},
		{"analyze-summary.txt", []string{"--summary", "--packets", fixture}},
		{"analyze-summary.json", []string{"--summary", "--format", "json", "--packets", fixture}},
		{"analyze-summary.csv", []string{"--summary", "--format", "csv", "--packets", fixture}},
		{"analyze-filtered.txt", []string{"--app", "AGENT", "--direction", "outbound", "--packets", fixture}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runAnalyze(context.Background(), tt.args, &out, &errOut); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			if errOut.Len() > 0 {
				t.Errorf("unexpected stderr: %s", errOut.String())
			}
			golden(t, tt.name, out.Bytes())
		})
	}
}

// TestAnalyzeJSONIsECS checks every NDJSON line is valid JSON with the ECS
// fields a SIEM keys on.
func TestAnalyzeJSONIsECS(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runAnalyze(context.Background(), []string{"--format", "json", "--packets", "--permits", fixture}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 14 {
		t.Fatalf("%d lines, want 14", len(lines))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		for _, k := range []string{"@timestamp", "event", "network", "wfp", "host"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d: no %q", i+1, k)
			}
		}
	}
}

// tempDir is t.TempDir without failing the test when the directory cannot
// be removed: under Wine 8, Go's RemoveAll fails with "Invalid function".
func tempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "wfpwatch-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestAnalyzeProblems(t *testing.T) {
	dir := tempDir(t)
	good, _ := os.ReadFile(fixture)
	broken := filepath.Join(dir, "broken.xml")
	// A valid stream with one event damaged in the middle and a truncated
	// tail: the rest must still come out, and the problems be named.
	s := string(good)
	s = strings.Replace(s, "<EventRecordID>1010</EventRecordID>", "<EventRecordID>1010</EventRecordI>", 1)
	s = s[:len(s)-200]
	os.WriteFile(broken, []byte(s), 0o644)
	junk := filepath.Join(dir, "junk.bin")
	os.WriteFile(junk, []byte("\x00\x01 not a log"), 0o644)

	var out, errOut bytes.Buffer
	err := runAnalyze(context.Background(), []string{"--format", "json", "--packets", "--permits", broken, junk}, &out, &errOut)
	if ee, ok := err.(exitError); !ok || ee.code != 1 {
		t.Errorf("err %v, want exit 1 for the unreadable file", err)
	}
	if n := strings.Count(out.String(), "\n"); n != 12 {
		t.Errorf("%d events, want 12 (14 less one damaged, one truncated)", n)
	}
	msg := errOut.String()
	for _, want := range []string{"broken.xml: offset ", "</EventRecordI> found where </EventRecordID> was expected", "truncated", "junk.bin: unrecognized format", "3 problem(s) reported", "1 input(s) could not be read"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msg)
		}
	}
}

func TestAnalyzeUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--format", "yaml", fixture}, {"--direction", "sideways", fixture}, {"testdata"}} {
		var out, errOut bytes.Buffer
		err := runAnalyze(context.Background(), args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
}

// TestAnalyzeNoiseControl checks repeats fold into one line per flow,
// suppression rules drop and count, and --db records every event.
func TestAnalyzeNoiseControl(t *testing.T) {
	dir := tempDir(t)
	good, _ := os.ReadFile(fixture)
	var b strings.Builder
	for i := 0; i < 3; i++ {
		// The same events three times (as other records: the database
		// stores a record once): one flow each.
		b.WriteString(strings.ReplaceAll(string(good), "<EventRecordID>", fmt.Sprintf("<EventRecordID>%d", i+1)))
	}
	in := filepath.Join(dir, "repeated.xml")
	os.WriteFile(in, []byte(b.String()), 0o644)
	db := filepath.Join(dir, "h.db")

	var out, errOut bytes.Buffer
	err := runAnalyze(context.Background(), []string{"--format", "json", "--packets", "--permits", "--suppress", "app=svchost.exe", "--db", db, in}, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 12 {
		t.Errorf("%d lines, want 12 (14 distinct events less 2 of svchost.exe, each shown once)", n)
	}
	if !strings.Contains(errOut.String(), "42 events: 6 suppressed, 36 passed, 12 flows") {
		t.Errorf("stderr: %s", errOut.String())
	}
	// The database holds every event that passed, not only first sights.
	got, code := runQueryCmd(t, "--db", db, "--format", "json", "--verdict", "block")
	if code != 0 {
		t.Fatalf("query exit %d", code)
	}
	if n := strings.Count(got, "\n"); n != 18 {
		t.Errorf("query: %d blocks stored, want 18 (6 × 3)\n%s", n, got)
	}

	// Importing the same file again stores nothing twice, and says so.
	out.Reset()
	errOut.Reset()
	if err := runAnalyze(context.Background(), []string{"--format", "json", "--packets", "--permits", "--suppress", "app=svchost.exe", "--db", db, in}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "36 event(s) were already in the database "+db+" and were skipped") {
		t.Errorf("second import, stderr: %s", errOut.String())
	}
	got, _ = runQueryCmd(t, "--db", db, "--format", "json", "--verdict", "block")
	if n := strings.Count(got, "\n"); n != 18 {
		t.Errorf("query after a second import: %d blocks stored, want 18", n)
	}
}

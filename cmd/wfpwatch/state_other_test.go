//go:build !windows

package main

import (
	"strings"
	"testing"
)

func TestStateLiveNeedsWindows(t *testing.T) {
	_, stderr, code := runCLI(t, "state", "--live")
	if code != 1 || !strings.Contains(stderr, "netsh wfp show state") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

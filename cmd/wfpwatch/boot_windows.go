package main

import (
	"time"

	"golang.org/x/sys/windows"
)

// bootTime is when this host last started (GetTickCount64 counts from
// there, sleep included), and whether it is known.
func bootTime() (time.Time, bool) {
	return time.Now().Add(-windows.DurationSinceBoot()), true
}

//go:build !windows

package main

import "time"

// bootTime is not needed where the engine cannot be read (state --live
// and analyze --state live need Windows).
func bootTime() (time.Time, bool) { return time.Time{}, false }

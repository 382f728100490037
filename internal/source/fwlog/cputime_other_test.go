//go:build !unix

package fwlog

import "time"

func cpuTime() time.Duration { return 0 }

//go:build !unix

package store

import "time"

// processCPU is not measured here; benchmarks then report no CPU cost.
func processCPU() time.Duration { return 0 }

package store

import (
	"os"
	"runtime/debug"
)

// MemoryLimit is the soft limit BoundMemory gives the Go heap of a process
// that records to a database. What a Writer holds is bounded (batches,
// rollup counts, value tables and caches all have caps: some 80 MB in the
// worst case, a storm of distinct addresses, apps and flows), but the
// collector by default lets the heap grow to twice what is live before it
// collects; with the limit it collects sooner, so the peak stays near what
// is live whatever the size of the input. At 80 MiB, with SQLite's page
// cache (8 MB) and temporary store (a file) outside it, a 1.2-million-line
// firewall log imports with a peak RSS of 146 MB (224 MB with 128 MiB and
// temporary tables in memory), in the same time within the noise of this
// machine; a storm that keeps more than 80 MB live makes the collector work
// harder (its CPU share is capped) rather than grow without bound.
const MemoryLimit = 80 << 20

// BoundMemory sets the Go runtime's soft memory limit to MemoryLimit,
// unless the user chose one with GOMEMLIMIT. It is for commands that
// record to a database (analyze --db). The limit is soft: a heap that
// must be larger grows past it, with the collector's CPU use capped.
func BoundMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(MemoryLimit)
}

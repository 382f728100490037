//go:build !unix

package evtx

func cpuSeconds() float64 { return -1 }

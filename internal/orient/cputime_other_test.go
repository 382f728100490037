//go:build !unix

package orient_test

func cpuSeconds() float64 { return -1 }

//go:build !unix

package main

// lockFile is a no-op where there is no flock: the bench only runs on Linux
// (main refuses to start on Windows).
func lockFile(path string) (func(), error) { return func() {}, nil }

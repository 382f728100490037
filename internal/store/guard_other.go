//go:build !unix

package store

func isReadOnlyFS(err error) bool { return false }

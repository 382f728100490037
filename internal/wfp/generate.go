package wfp

// The bindings are generated on any OS: `go generate ./internal/wfp`.
//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go fwpuclnt_windows.go rules_windows.go

// Package smoke proves the Windows ABI bench (internal/winbench) end to end.
// Its Windows tests, cross-compiled and run under Wine by
// `go run ./internal/winbench`, call a real Windows API through
// golang.org/x/sys/windows, the fake wfpwatchsmoke.dll built from
// internal/winbench/fakes/wfpwatchsmoke (arguments, a C struct decoded by a Go
// mirror, a Go callback called from C, a scenario file), and advapi32's
// AuditQuerySystemPolicy. The package has no code for other systems.
package smoke

// The go:generate line sits in this portable file so that `go generate` runs
// it on any system (in smoke_windows.go it would only run with GOOS=windows,
// and then `go run` would build the generator for Windows).

//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go smoke_windows.go
//go:generate go run github.com/wfpwatch/wfpwatch/internal/winbench/layoutcheck -pins .

//go:build !windows

package netevent

// NewWatcher returns ErrNeedsWindows.
func NewWatcher(cfg Config) (*Watcher, error) { return nil, ErrNeedsWindows }

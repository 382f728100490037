//go:build !windows

package netevent

import (
	"context"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// NewWatcher returns ErrNeedsWindows.
func NewWatcher(cfg Config) (*Watcher, error) { return nil, ErrNeedsWindows }

// Stream returns ErrNeedsWindows.
func Stream(ctx context.Context, cfg Config, emit func(*event.Event)) error { return ErrNeedsWindows }

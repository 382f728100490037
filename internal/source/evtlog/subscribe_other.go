//go:build !windows

package evtlog

import "context"

// Subscribe returns ErrNeedsWindows: the live Security log exists only on
// Windows.
func Subscribe(ctx context.Context, opt Options, h Handler) (Stats, error) {
	return Stats{}, ErrNeedsWindows
}

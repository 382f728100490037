//go:build !windows

package service

import (
	"io"
	"time"
)

// Install needs Windows.
func Install(o InstallOptions, w io.Writer) error { return ErrNeedsWindows }

// Remove needs Windows.
func Remove(w io.Writer) error { return ErrNeedsWindows }

// Start needs Windows.
func Start(timeout time.Duration) error { return ErrNeedsWindows }

// Stop needs Windows.
func Stop(timeout time.Duration) (bool, error) { return false, ErrNeedsWindows }

// Query needs Windows.
func Query() (*Status, error) { return nil, ErrNeedsWindows }

// IsService is false: only Windows has a service control manager.
func IsService() (bool, error) { return false, nil }

// OpenEventLog needs Windows.
func OpenEventLog() (EventSink, io.Closer, error) { return nil, nil, ErrNeedsWindows }

// Run needs Windows.
func Run(h *Handler) error { return ErrNeedsWindows }

package service

import "context"

// Handler is what the service runs under the SCM (see Run; its Execute
// method is in service_windows.go).
type Handler struct {
	// Prepare is called while the service reports StartPending: it reads
	// and checks the configuration and returns the function that runs the
	// pipeline until its context ends. An error stops the service with
	// the service-specific exit code ExitBadConfig, before anything on the
	// host has changed.
	Prepare func() (run func(ctx context.Context) error, err error)
	// Log receives the handler's own messages.
	Log *Logger
}

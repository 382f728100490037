//go:build !windows

package wfp

import (
	"context"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

// Engine is an open handle to the base filtering engine (Windows only).
type Engine struct{}

// OpenOptions says how to open the engine.
type OpenOptions struct {
	Dynamic bool
	Name    string
}

// Subscription is a live subscription (Windows only).
type Subscription struct{}

// Open returns ErrNeedsWindows.
func Open(OpenOptions) (*Engine, error) { return nil, ErrNeedsWindows }

// Close does nothing.
func (e *Engine) Close() error { return nil }

// Option returns ErrNeedsWindows.
func (e *Engine) Option(uint32) (uint32, error) { return 0, ErrNeedsWindows }

// SetOption returns ErrNeedsWindows.
func (e *Engine) SetOption(uint32, uint32) error { return ErrNeedsWindows }

// FilterByID returns ErrNeedsWindows.
func (e *Engine) FilterByID(uint64) (FilterInfo, error) { return FilterInfo{}, ErrNeedsWindows }

// LayerByID returns ErrNeedsWindows.
func (e *Engine) LayerByID(uint16) (LayerInfo, error) { return LayerInfo{}, ErrNeedsWindows }

// ProviderName returns ErrNeedsWindows.
func (e *Engine) ProviderName(GUID) (string, error) { return "", ErrNeedsWindows }

// HasNetEventSubscribe is false.
func HasNetEventSubscribe(int) bool { return false }

// HasNetEventEnum is false.
func HasNetEventEnum(int) bool { return false }

// SubscribeNetEvents returns ErrNeedsWindows.
func (e *Engine) SubscribeNetEvents(int, []Condition, func(uintptr)) (*Subscription, error) {
	return nil, ErrNeedsWindows
}

// EnumNetEvents returns ErrNeedsWindows.
func (e *Engine) EnumNetEvents(int, time.Time, time.Time, []Condition, func(uintptr)) error {
	return ErrNeedsWindows
}

// SubscribeFilterChanges returns ErrNeedsWindows.
func (e *Engine) SubscribeFilterChanges(func(FilterChange)) (*Subscription, error) {
	return nil, ErrNeedsWindows
}

// Close does nothing.
func (s *Subscription) Close() error { return nil }

// Begin returns ErrNeedsWindows.
func (e *Engine) Begin() error { return ErrNeedsWindows }

// Commit returns ErrNeedsWindows.
func (e *Engine) Commit() error { return ErrNeedsWindows }

// Abort returns ErrNeedsWindows.
func (e *Engine) Abort() error { return ErrNeedsWindows }

// AddFilter returns ErrNeedsWindows.
func (e *Engine) AddFilter(Filter) (uint64, error) { return 0, ErrNeedsWindows }

// AddSubLayer returns ErrNeedsWindows.
func (e *Engine) AddSubLayer(SubLayer) error { return ErrNeedsWindows }

// DeleteFilter returns ErrNeedsWindows.
func (e *Engine) DeleteFilter(uint64) error { return ErrNeedsWindows }

// AppIDFromFileName returns ErrNeedsWindows.
func AppIDFromFileName(string) ([]byte, error) { return nil, ErrNeedsWindows }

// State needs Windows.
func (e *Engine) State(context.Context) (*wfpstate.Dump, error) { return nil, ErrNeedsWindows }

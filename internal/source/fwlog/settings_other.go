//go:build !windows

package fwlog

import "errors"

// ErrNeedsWindows is returned by SystemConfig's methods on other systems.
var ErrNeedsWindows = errors.New("reading or changing the Windows Firewall's settings needs Windows (analyse a copied pfirewall.log with 'wfpwatch analyze' instead)")

// SystemConfig returns a Config whose methods fail with ErrNeedsWindows:
// the firewall's settings exist only on Windows.
func SystemConfig() Config { return noConfig{} }

type noConfig struct{}

func (noConfig) Get() (local, effective []ProfileLog, err error) { return nil, nil, ErrNeedsWindows }
func (noConfig) Set(string, Setting, any) error                  { return ErrNeedsWindows }

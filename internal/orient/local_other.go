//go:build !windows

package orient

import "errors"

// LocalFacts needs Windows: elsewhere there is no live Security log whose
// host it would describe.
func LocalFacts() (Facts, error) {
	return Facts{}, errors.New("orient.LocalFacts needs Windows")
}

//go:build !windows

package main

import (
	"context"
	"errors"
	"io"
)

func selftest(ctx context.Context, o selftestOptions, w io.Writer) (bool, error) {
	return false, errors.New("selftest needs Windows (it adds WFP filters and watches for their blocks); run it in an elevated prompt on the machine to check")
}

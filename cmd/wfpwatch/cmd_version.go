package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); without
// it, the module version or VCS revision from the build info is shown.
var version = ""

func init() {
	register(&command{name: "version", summary: "print the version", new: func(stdout, stderr io.Writer) *cobra.Command {
		return &cobra.Command{
			Use:   "version",
			Short: "print the version",
			Long:  "Prints the version of wfpwatch, its VCS revision and the Go toolchain.",
			Args:  noArgs,
			RunE: func(c *cobra.Command, args []string) error {
				fmt.Fprintln(stdout, versionString())
				return nil
			},
		}
	}})
}

func versionString() string {
	v, rev, dirty := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	s := "wfpwatch " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " (" + rev
		if dirty {
			s += ", modified"
		}
		s += ")"
	}
	return fmt.Sprintf("%s %s %s/%s", s, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

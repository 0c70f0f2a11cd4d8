package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// versionInfo is what tenantml version prints.
type versionInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
}

func newVersionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the tenantml version",
		Example: "  tenantml version\n  tenantml version -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionInfo{Version: version, GoVersion: "unknown"}
			if bi, ok := debug.ReadBuildInfo(); ok {
				v.GoVersion = bi.GoVersion
			}
			return printOutput(cmd, v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "tenantml %s (%s)\n", v.Version, v.GoVersion)
				return err
			})
		},
	}
	addOutputFlag(cmd, "table")
	return cmd
}

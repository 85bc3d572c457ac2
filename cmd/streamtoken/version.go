package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/internal/buildinfo"
)

// versionView is what version prints: the build, and the RSA it signs
// with here.
type versionView struct {
	buildinfo.Info
	Crypto struct {
		Use     string `json:"use"`     // openssl or go
		Version string `json:"version"` // OpenSSL's, or Go's
	} `json:"crypto"`
}

func newVersionCmd(e env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the build's version, revision and crypto",
		Long: `Print which build of streamtoken this is, from the binary's own build
information: the module's version (a release's tag, or the go command's
pseudo-version for a build from a checkout), the VCS revision and time it
was built from and whether the tree had changes, the Go version, and the
RSA implementation it signs with on this machine (OpenSSL's libcrypto where
the build has cgo and the library loads, else Go's).`,
		Example: `  streamtoken version
  streamtoken version --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionView{Info: buildinfo.Read()}
			choice, _ := cmd.Flags().GetString("crypto")
			use, version, err := chooseCrypto(choice)
			if err != nil {
				return err
			}
			v.Crypto.Use, v.Crypto.Version = string(use), version
			w := cmd.OutOrStdout()
			if out.json() {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
			fmt.Fprintf(tw, "version\t%s\n", v.Version)
			if v.Revision != "" {
				modified := ""
				if v.Modified {
					modified = " (modified)"
				}
				fmt.Fprintf(tw, "revision\t%s%s\n", v.Revision, modified)
			}
			if !v.Time.IsZero() {
				fmt.Fprintf(tw, "built from\t%s\n", v.Time.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(tw, "go\t%s\n", v.GoVersion)
			fmt.Fprintf(tw, "crypto\t%s (%s)\n", v.Crypto.Use, v.Crypto.Version)
			return tw.Flush()
		},
	}
	outputFlag(cmd.Flags(), &out, "text or json")
	_ = e
	return cmd
}

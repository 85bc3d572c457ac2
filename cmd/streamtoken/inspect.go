package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/token"
)

func newInspectCmd(e env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "inspect TOKEN",
		Short: "Decode a token without checking it",
		Long: `Decode a token's header and claims, with exp and nbf also as RFC 3339
times. Nothing is checked: not the signature, not the algorithm, not the
times. Use verify for that. TOKEN may be - to read it from standard input.`,
		Example: `  streamtoken inspect "$TOKEN"
  streamtoken inspect "$TOKEN" --output json`,
		Args: exactArgs(1, "TOKEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := tokenArg(e, args[0])
			if err != nil {
				return err
			}
			d, err := token.Decode(tok)
			if err != nil {
				return badInput("TOKEN: %v", err)
			}
			return printInspection(cmd.OutOrStdout(), d, out)
		},
	}
	outputFlag(cmd.Flags(), &out, "text or json")
	return cmd
}

// inspection is what inspect prints with --output json.
type inspection struct {
	Verified bool `json:"verified"` // always false: said for the reader
	decodedView
}

func printInspection(w io.Writer, d *token.Decoded, out output) error {
	in := inspection{decodedView: viewOf(d)}
	if out.json() {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	fmt.Fprintln(w, "NOT VERIFIED: decoded only; signature, algorithm and times unchecked")
	fmt.Fprintf(w, "header:  %s\n", indent(d.RawHeader))
	fmt.Fprintf(w, "claims:  %s\n", indent(d.RawClaims))
	if in.ExpiresAt != "" {
		fmt.Fprintf(w, "exp:     %d (%s)\n", d.Claims.ExpiresAt.Unix(), in.ExpiresAt)
	}
	if in.NotBefore != "" {
		fmt.Fprintf(w, "nbf:     %d (%s)\n", d.Claims.NotBefore.Unix(), in.NotBefore)
	}
	return nil
}

func indent(raw []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "         ", "  ") == nil {
		return b.String()
	}
	return fmt.Sprintf("%q", raw)
}

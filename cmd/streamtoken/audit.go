package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
)

// exitUnprotected is audit's code when media play without a token or on
// any site: so that a CI job can gate on it.
const exitUnprotected = 6

// The problems audit finds.
const (
	problemNoToken = "plays without a token"
	problemAnySite = "plays on any site"
)

// finding is a medium that audit finds not protected.
type finding struct {
	Kind              string   `json:"kind"` // "video" or "live input"
	ID                string   `json:"id"`
	Name              string   `json:"name,omitempty"`
	Creator           string   `json:"creator,omitempty"`
	RequireSignedURLs bool     `json:"requireSignedURLs"`
	AllowedOrigins    []string `json:"allowedOrigins"`
	Problems          []string `json:"problems"`
	// Fixed says what --fix changed; Left what it could not.
	Fixed []string `json:"fixed,omitempty"`
	Left  []string `json:"left,omitempty"`
}

// auditReport is what audit prints as JSON.
type auditReport struct {
	Account    string    `json:"account"`
	Videos     int       `json:"videos"`
	LiveInputs int       `json:"liveInputs"`
	Findings   []finding `json:"findings"`
	// Unprotected counts the media that are still not protected once
	// --fix has run (without it: every finding).
	Unprotected int `json:"unprotected"`
}

func newAuditCmd(e env) *cobra.Command {
	var (
		f       apiFlags
		out     output
		fix     bool
		origins []string
	)
	cmd := &cobra.Command{
		Use:   "audit --account ID",
		Short: "List the videos and live inputs that play without a token or on any site",
		Long: `List the account's videos and live inputs that are not protected: those
that play without a token (requireSignedURLs off: a signed URL protects
nothing then) and those that play on any site (no allowedOrigins). One line
each, with the video's name and creator when it has them, then a summary.

Exit codes: 0 when every video and live input is protected, 6 when any is
not (so that a CI job can fail on it), 1 when the API fails, 2 for bad
input.

--fix secures what it finds: it prints each change first, then makes it:
requireSignedURLs on, and, with --allowed-origin, the sites that may show
the medium where it had none. A medium that plays on any site stays so
without --allowed-origin (and audit still exits 6). Running it again
changes nothing: what it secured is no longer found.

Live inputs are read one by one, for their recording settings: the list of
live inputs does not have them. Credentials come from the environment
(CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY).`,
		Example: `  streamtoken audit --account ` + exampleAccount + `
  streamtoken audit --account ` + exampleAccount + ` --output json
  streamtoken audit --account ` + exampleAccount + ` --fix --allowed-origin example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !fix && len(origins) > 0 {
				return badInput("--allowed-origin: only with --fix")
			}
			if err := checkOriginFlags(origins); err != nil {
				return err
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			report, err := audit(cmd.Context(), c, f.account)
			if err != nil {
				return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account"})
			}
			w := cmd.OutOrStdout()
			if fix {
				if err := fixAll(cmd.Context(), c, &report, origins, w, out); err != nil {
					return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account"})
				}
			}
			report.Unprotected = 0
			for _, fd := range report.Findings {
				if !fix || len(fd.Left) > 0 {
					report.Unprotected++
				}
			}
			if err := printAudit(w, report, out); err != nil {
				return err
			}
			if report.Unprotected > 0 {
				return &exitError{code: exitUnprotected, err: fmt.Errorf("%s not protected", count(report.Unprotected, "medium is", "media are"))}
			}
			return nil
		},
	}
	f.register(cmd)
	outputFlag(cmd.Flags(), &out, "text or json")
	cmd.Flags().BoolVar(&fix, "fix", false, "secure what is found (printing each change first)")
	cmd.Flags().StringArrayVar(&origins, "allowed-origin", nil, "with --fix: an `ORIGIN` that may show the media that play on any site (repeatable)")
	return cmd
}

// checkOriginFlags checks --allowed-origin values by the API's rules.
func checkOriginFlags(origins []string) error {
	if len(origins) > streamtoken.MaxAllowedOrigins {
		return badInput("--allowed-origin: at most %d", streamtoken.MaxAllowedOrigins)
	}
	for _, o := range origins {
		if why := wire.CheckOrigin(o); why != "" {
			return badInput("--allowed-origin %q: %s", o, why)
		}
	}
	return nil
}

// audit lists the account's media and finds those not protected.
func audit(ctx context.Context, c *streamtoken.Client, account string) (auditReport, error) {
	r := auditReport{Account: account, Findings: []finding{}}
	for v, err := range c.ListVideos(ctx, account, streamtoken.VideoFilter{Asc: true}) {
		if err != nil {
			return r, err
		}
		r.Videos++
		if fd, ok := check("video", v.ID, v.Name, v.Creator, v.RequireSignedURLs, v.AllowedOrigins); ok {
			r.Findings = append(r.Findings, fd)
		}
	}
	for li, err := range c.ListLiveInputs(ctx, account) {
		if err != nil {
			return r, err
		}
		r.LiveInputs++
		if fd, ok := check("live input", li.ID, li.Name, "", li.RequireSignedURLs, li.AllowedOrigins); ok {
			r.Findings = append(r.Findings, fd)
		}
	}
	return r, nil
}

// check is the finding of a medium, if it is not protected.
func check(kind, id, name, creator string, require bool, origins []string) (finding, bool) {
	fd := finding{Kind: kind, ID: id, Name: name, Creator: creator, RequireSignedURLs: require, AllowedOrigins: origins}
	if fd.AllowedOrigins == nil {
		fd.AllowedOrigins = []string{}
	}
	if !require {
		fd.Problems = append(fd.Problems, problemNoToken)
	}
	if len(origins) == 0 {
		fd.Problems = append(fd.Problems, problemAnySite)
	}
	return fd, len(fd.Problems) > 0
}

// fixAll secures each finding, printing (as text) what it changes before
// it changes it.
func fixAll(ctx context.Context, c *streamtoken.Client, r *auditReport, origins []string, w io.Writer, out output) error {
	for i := range r.Findings {
		fd := &r.Findings[i]
		var s streamtoken.Security
		var changes []string
		if !fd.RequireSignedURLs {
			s.RequireSignedURLs = new(true)
			changes = append(changes, "requireSignedURLs false -> true")
		}
		if len(fd.AllowedOrigins) == 0 {
			if len(origins) > 0 {
				s.AllowedOrigins = streamtoken.Origins(origins...)
				changes = append(changes, "allowedOrigins any -> "+strings.Join(origins, ", "))
			} else {
				fd.Left = append(fd.Left, problemAnySite+" (no --allowed-origin given)")
			}
		}
		if changes == nil {
			continue
		}
		if !out.json() {
			fmt.Fprintf(w, "fixing %s %s: %s\n", fd.Kind, fd.ID, strings.Join(changes, "; "))
		}
		var err error
		if fd.Kind == "video" {
			_, err = c.SecureVideo(ctx, r.Account, fd.ID, s)
		} else {
			_, err = c.SecureLiveInput(ctx, r.Account, fd.ID, s)
		}
		if err != nil {
			return fmt.Errorf("securing %s %s: %w", fd.Kind, fd.ID, err)
		}
		fd.Fixed = changes
	}
	return nil
}

// printAudit prints the report: as text, one line a finding and a
// summary; or as JSON.
func printAudit(w io.Writer, r auditReport, out output) error {
	if out.json() {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	for _, fd := range r.Findings {
		state := strings.Join(fd.Problems, ", ")
		if fd.Fixed != nil && len(fd.Left) == 0 {
			state = "secured (was: " + state + ")"
		}
		line := fmt.Sprintf("%-10s %s  %s", fd.Kind, fd.ID, state)
		if fd.Name != "" {
			line += "  name " + strconv.Quote(fd.Name)
		}
		if fd.Creator != "" {
			line += "  creator " + strconv.Quote(fd.Creator)
		}
		if len(fd.Left) > 0 {
			line += "  [left: " + strings.Join(fd.Left, "; ") + "]"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "%s and %s audited: ", count(r.Videos, "video", "videos"), count(r.LiveInputs, "live input", "live inputs"))
	switch {
	case len(r.Findings) == 0:
		fmt.Fprintln(w, "all protected")
	case r.Unprotected == 0:
		fmt.Fprintf(w, "%s secured, all protected now\n", count(len(r.Findings), "medium", "media"))
	default:
		fmt.Fprintf(w, "%s not protected\n", count(r.Unprotected, "medium", "media"))
	}
	return nil
}

// count is n with the noun's singular or plural.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
